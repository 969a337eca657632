//! `porthost test [DIR]`: runs every port script `DIR/*.erl` with
//! `porthost run` (a child process each, so a crashing driver fails its
//! script only) and compares its standard output with `DIR/NAME.out`.
//!
//! `NAME.out` holds exactly what `porthost run NAME.erl` prints (a script
//! that ends with an uncaught exception ends with its `error: ...` line).
//! Both sides are normalised before comparing: `#Port<0.N>` and `<0.N.0>`
//! are renumbered by first appearance (`porthost::testing::normalize`), so
//! port and pid numbers may differ. `--bless` writes the `.out` files from
//! the current run; `--against-erts` also runs each script under real ERTS
//! (an escript of our own, `erts_run.escript`, with the drivers the script
//! names preloaded from the driver path) and fails where the two differ.
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;
use porthost::testing::{line_diff, normalize};

/// How long a script may run.
const TIMEOUT: Duration = Duration::from_secs(60);

/// What `porthost test` was asked.
pub struct Options {
    /// The directory of the scripts.
    pub dir: PathBuf,
    /// Record the outputs instead of comparing.
    pub bless: bool,
    /// Also run each script under ERTS.
    pub against_erts: bool,
    /// Run drivers isolated.
    pub isolate: bool,
    /// `--driver-path` directories.
    pub driver_paths: Vec<PathBuf>,
    /// Whether `porthost run` may busy-wait.
    pub no_busy_wait: bool,
}

struct Run {
    stdout: String,
    stderr: String,
    status: Option<i32>,
}

/// Runs the suite; the exit code is 1 if any script failed.
pub fn run(opts: Options) -> anyhow::Result<ExitCode> {
    let me = std::env::current_exe().context("finding the porthost executable")?;
    let cwd = std::env::current_dir()?;
    let driver_paths: Vec<PathBuf> = opts.driver_paths.iter().map(|d| cwd.join(d)).collect();
    let mut scripts: Vec<PathBuf> = std::fs::read_dir(&opts.dir)
        .with_context(|| format!("reading {}", opts.dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "erl") && p.is_file())
        .collect();
    scripts.sort();
    if scripts.is_empty() {
        anyhow::bail!("no port scripts (*.erl) in {}", opts.dir.display());
    }
    let erts = if opts.against_erts { Erts::new(&driver_paths)? } else { None };
    let (mut failed, mut blessed) = (Vec::new(), 0);
    for script in &scripts {
        let name = script.file_name().unwrap().to_string_lossy().into_owned();
        let mut cmd = Command::new(&me);
        for d in &driver_paths {
            cmd.arg("--driver-path").arg(d);
        }
        if opts.isolate {
            cmd.arg("--isolate");
        }
        if opts.no_busy_wait {
            cmd.arg("--no-busy-wait");
        }
        cmd.arg("run").arg(script);
        let ours = run_child(cmd)?;
        let expected = script.with_extension("out");
        let mut problems = Vec::new();
        if ours.status.is_none() {
            problems.push(format!("timed out after {TIMEOUT:?} or died by a signal"));
        }
        if opts.bless {
            std::fs::write(&expected, &ours.stdout).with_context(|| format!("writing {}", expected.display()))?;
            blessed += 1;
        } else {
            match std::fs::read_to_string(&expected) {
                Err(_) => problems.push(format!("no {} (porthost test --bless records it)", expected.display())),
                Ok(want) => {
                    let (want, got) = (normalize(&want), normalize(&ours.stdout));
                    if want != got {
                        problems.push(format!(
                            "output differs from {} (- expected, + porthost):\n{}",
                            expected.display(),
                            line_diff(&want, &got)
                        ));
                    }
                }
            }
        }
        if let Some(erts) = &erts {
            let theirs = erts.run(script)?;
            let (a, b) = (normalize(&theirs.stdout), normalize(&ours.stdout));
            if a != b || theirs.status != ours.status {
                problems.push(format!(
                    "porthost and ERTS differ (- ERTS, exit {:?}; + porthost, exit {:?}):\n{}{}",
                    theirs.status,
                    ours.status,
                    line_diff(&a, &b),
                    excerpt("ERTS stderr", &theirs.stderr)
                ));
            }
        }
        if problems.is_empty() {
            println!("ok    {name}");
        } else {
            println!("FAIL  {name}");
            for p in &problems {
                for line in p.lines() {
                    println!("      {line}");
                }
            }
            print!("{}", excerpt("      porthost stderr", &ours.stderr));
            failed.push(name);
        }
    }
    if opts.bless {
        println!("blessed {blessed} expected output(s) in {}", opts.dir.display());
    }
    println!("{} script(s): {} passed, {} failed", scripts.len(), scripts.len() - failed.len(), failed.len());
    Ok(if failed.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

fn excerpt(who: &str, text: &str) -> String {
    let text = text.trim();
    if text.is_empty() {
        return String::new();
    }
    let lines: Vec<&str> = text.lines().take(20).collect();
    format!("{who}:\n{}\n", lines.iter().map(|l| format!("      | {l}")).collect::<Vec<_>>().join("\n"))
}

/// Runs `cmd` with a timeout, capturing its output.
fn run_child(mut cmd: Command) -> anyhow::Result<Run> {
    let mut child = cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().context("starting a script run")?;
    let (mut out, mut err) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let errs = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = err.read_to_end(&mut s);
        s
    });
    let outs = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = out.read_to_end(&mut s);
        s
    });
    let start = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait()? {
            break st.code();
        }
        if start.elapsed() > TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let stdout = String::from_utf8_lossy(&outs.join().unwrap_or_default()).into_owned();
    let stderr = String::from_utf8_lossy(&errs.join().unwrap_or_default()).into_owned();
    Ok(Run { stdout, stderr, status })
}

/// Real ERTS: `escript` and our runner, written to a temporary directory
/// with links `NAME.so` to drivers found as `libNAME.so`.
struct Erts {
    escript: PathBuf,
    dir: PathBuf,
    /// Every driver in the driver path, first found first: (dir, name).
    drivers: Vec<(PathBuf, String)>,
}

impl Erts {
    fn new(driver_paths: &[PathBuf]) -> anyhow::Result<Option<Erts>> {
        let Some(escript) = which("escript") else {
            println!("note: escript is not installed; --against-erts compares nothing");
            return Ok(None);
        };
        let dir = std::env::temp_dir().join(format!("porthost-erts-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("lib"))?;
        std::fs::write(dir.join("erts_run.escript"), include_str!("erts_run.escript"))?;
        let mut search: Vec<PathBuf> = driver_paths.to_vec();
        search.extend(porthost::kit::bundled_drivers_dir().ok());
        let mut drivers: Vec<(PathBuf, String)> = Vec::new();
        for d in &search {
            let Ok(entries) = std::fs::read_dir(d) else { continue };
            let mut files: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
            files.sort();
            for f in files {
                let Some(file) = f.file_name().and_then(|n| n.to_str()).and_then(|n| n.strip_suffix(".so")) else { continue };
                let (name, at) = match file.strip_prefix("lib") {
                    Some(n) if !d.join(format!("{n}.so")).exists() => {
                        let link = dir.join("lib").join(format!("{n}.so"));
                        let _ = std::fs::remove_file(&link);
                        std::os::unix::fs::symlink(&f, &link)?;
                        (n.to_owned(), dir.join("lib"))
                    }
                    _ => (file.to_owned(), d.clone()),
                };
                if !drivers.iter().any(|(_, n)| *n == name) {
                    drivers.push((at, name));
                }
            }
        }
        Ok(Some(Erts { escript, dir, drivers }))
    }

    /// Runs `script` under ERTS, preloading the drivers whose names it
    /// mentions in a string (`"NAME"` or `"NAME ...`).
    fn run(&self, script: &Path) -> anyhow::Result<Run> {
        let text = String::from_utf8_lossy(&std::fs::read(script)?).into_owned();
        let mut cmd = Command::new(&self.escript);
        cmd.arg(self.dir.join("erts_run.escript")).arg(script);
        for (dir, name) in &self.drivers {
            if text.contains(&format!("\"{name}\"")) || text.contains(&format!("\"{name} ")) {
                cmd.arg(dir).arg(name);
            }
        }
        run_child(cmd)
    }
}

impl Drop for Erts {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn which(prog: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?).map(|d| d.join(prog)).find(|p| p.is_file())
}
