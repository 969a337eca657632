//! `porthost new-driver NAME --lang rust|c [DIR]`: scaffolds a driver
//! project (sources, build, tests with expected outputs, a README) from
//! the templates in `templates/`, which pass their own tests as created.
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

/// The language of a new driver.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum Lang {
    /// A crate using the porthost-driver SDK.
    Rust,
    /// A C source, a Makefile.
    C,
}

/// Writes the project for driver `name` into `dir` (default `./NAME`);
/// returns the directory.
pub fn run(name: &str, lang: Lang, dir: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    let valid = name.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !valid {
        bail!("{name:?}: a driver name here is a lowercase letter, then lowercase letters, digits and _ (a C identifier, a crate name and an Erlang atom alike)");
    }
    let dir = dir.unwrap_or_else(|| PathBuf::from(name));
    if dir.read_dir().is_ok_and(|mut d| d.next().is_some()) {
        bail!("{} exists and is not empty", dir.display());
    }
    let script = include_str!("templates/script.erl");
    let out = include_str!("templates/script.out");
    let files: Vec<(String, String)> = match lang {
        Lang::C => vec![
            (format!("{name}.c"), include_str!("templates/c/driver.c").into()),
            ("Makefile".into(), include_str!("templates/c/Makefile").into()),
            ("README.md".into(), include_str!("templates/c/README.md").into()),
            (".gitignore".into(), include_str!("templates/c/gitignore").into()),
            (format!("tests/{name}.erl"), script.into()),
            (format!("tests/{name}.out"), out.into()),
        ],
        Lang::Rust => vec![
            ("Cargo.toml".into(), include_str!("templates/rust/Cargo.toml").into()),
            ("src/lib.rs".into(), include_str!("templates/rust/lib.rs").into()),
            ("tests/driver.rs".into(), include_str!("templates/rust/test.rs").into()),
            ("README.md".into(), include_str!("templates/rust/README.md").into()),
            (".gitignore".into(), include_str!("templates/rust/gitignore").into()),
            (format!("tests/{name}.erl"), script.into()),
            (format!("tests/{name}.out"), out.into()),
        ],
    };
    let (sdk, porthost, note) = dependencies();
    for (path, text) in files {
        let text = text
            .replace("{{NAME}}", name)
            .replace("{{SDK_DEP}}", &sdk)
            .replace("{{PORTHOST_DEP}}", &porthost)
            .replace("{{DEPS_NOTE}}", &note);
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().unwrap())?;
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(dir)
}

/// The two dependencies of a Rust driver crate: by absolute path to the
/// checkout this porthost was built from while it exists (the crates are
/// not published yet), else by version from crates.io; and a note for the
/// README saying which, and how to switch.
fn dependencies() -> (String, String, String) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let sdk = root.join("drivers/rust/porthost-driver");
    let version = env!("CARGO_PKG_VERSION");
    if sdk.join("Cargo.toml").is_file() {
        (
            format!("# From the porthost checkout until published; then: porthost-driver = \"{version}\"\nporthost-driver = {{ path = {:?} }}", sdk.display().to_string()),
            format!("# From the porthost checkout until published; then: porthost = \"{version}\"\nporthost = {{ path = {:?} }}", root.display().to_string()),
            format!(
                "`Cargo.toml` takes `porthost-driver` and `porthost` from the porthost checkout at `{}`, by path, \
                 until they are published on crates.io; then replace each `{{ path = ... }}` with the version, \
                 `\"{version}\"`.",
                root.display()
            ),
        )
    } else {
        (
            format!("porthost-driver = \"{version}\""),
            format!("porthost = \"{version}\""),
            "`Cargo.toml` takes `porthost-driver` and `porthost` from crates.io.".into(),
        )
    }
}
