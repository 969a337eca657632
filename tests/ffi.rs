//! The C contract: `include/erl_driver.h` against OTP 25's header, and the
//! Rust FFI that bindgen makes from it.
//!
//! - `ffi_bindings_are_current` regenerates `host/ffi/bindings.rs` from
//!   `include/erl_driver.h` and fails on any difference
//!   (`PORTHOST_BLESS=1` rewrites the file instead).
//! - `headers_are_abi_identical_to_otp` compiles probes against our headers
//!   and against OTP's installed ones and requires identical results: the
//!   same macro names, declarations, layouts and constant values, and
//!   prototypes that C accepts as redeclarations of OTP's.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

const MANIFEST_DIR: &str = env!("CARGO_MANIFEST_DIR");

/// Functions OTP's header declares that ours leaves out on purpose.
/// `dtrace_drvport_str` sits outside OTP's API section, is an ERTS internal
/// and is not exported by beam.smp, so a driver cannot use it.
const OTP_ONLY_FUNCTIONS: &[&str] = &["dtrace_drvport_str"];

/// How many API functions OTP 25's erl_driver.h declares (`EXTERN`).
const API_FUNCTION_COUNT: usize = 111;

fn our_include() -> PathBuf {
    Path::new(MANIFEST_DIR).join("include")
}

// ---------------------------------------------------------------------------
// bindgen
// ---------------------------------------------------------------------------

/// The one bindgen configuration behind `host/ffi/bindings.rs`. The
/// `SIZEOF_*` macros (type sizes for C preprocessor tests, which OTP keeps in
/// a separate configure header) have no use in Rust.
fn bindgen_builder(include: &Path) -> bindgen::Builder {
    bindgen::Builder::default()
        .header(include.join("erl_driver.h").to_string_lossy())
        .clang_arg(format!("-I{}", include.display()))
        .allowlist_file(".*erl_dr.*")
        .blocklist_item("SIZEOF_.*")
        .layout_tests(false)
}

/// Runs [`bindgen_builder`] over `include/`, failing loudly without libclang.
fn generate_bindings() -> String {
    // bindgen formats its output with rustfmt; without it the text differs.
    let rustfmt = std::env::var("RUSTFMT").unwrap_or_else(|_| "rustfmt".to_string());
    match Command::new(&rustfmt).arg("--version").output() {
        Ok(out) if out.status.success() => {}
        _ => panic!("bindgen needs `{rustfmt}`: run `rustup component add rustfmt`"),
    }
    let include = our_include();
    let generated = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        bindgen_builder(&include).generate()
    }));
    match generated {
        Ok(Ok(bindings)) => bindings.to_string(),
        Ok(Err(e)) => panic!("bindgen failed on include/erl_driver.h: {e}"),
        Err(payload) => {
            let msg = payload
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| payload.downcast_ref::<&str>().copied())
                .unwrap_or("");
            if msg.contains("libclang") {
                panic!(
                    "bindgen cannot run: {msg}. Install libclang \
                     (Debian/Ubuntu: `apt-get install libclang-dev`), \
                     or set LIBCLANG_PATH to the directory holding libclang.so"
                );
            }
            std::panic::resume_unwind(payload)
        }
    }
}

#[test]
fn ffi_bindings_are_current() {
    let fresh = generate_bindings();
    let path = Path::new(MANIFEST_DIR).join("host/ffi/bindings.rs");
    if std::env::var_os("PORTHOST_BLESS").is_some_and(|v| v == "1") {
        std::fs::write(&path, &fresh).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed != fresh {
        let (line, ours, theirs) = committed
            .lines()
            .map(Some)
            .chain(std::iter::repeat(None))
            .zip(fresh.lines().map(Some).chain(std::iter::repeat(None)))
            .enumerate()
            .find(|(_, (a, b))| a != b)
            .map(|(i, (a, b))| {
                (
                    i + 1,
                    a.unwrap_or("<end of file>"),
                    b.unwrap_or("<end of file>"),
                )
            })
            .unwrap_or((0, "", ""));
        panic!(
            "host/ffi/bindings.rs is not bindgen's output over include/erl_driver.h \
             (first difference at line {line}):\n  committed: {ours}\n  generated: {theirs}\n\
             Run `PORTHOST_BLESS=1 cargo test --test tests ffi_bindings_are_current` to regenerate it."
        );
    }
}

// ---------------------------------------------------------------------------
// Our header against OTP's
// ---------------------------------------------------------------------------

/// The C compiler: `$CC`, or `cc` on PATH.
fn c_compiler() -> String {
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_string());
    match Command::new(&cc).arg("--version").output() {
        Ok(out) if out.status.success() => cc,
        _ => panic!("no working C compiler `{cc}`: install one (e.g. gcc) or set CC"),
    }
}

/// OTP's include directory: `usr/include` under `code:root_dir()`.
fn otp_include() -> PathBuf {
    let out = Command::new("erl")
        .args([
            "-noshell",
            "-eval",
            "io:format(\"~s\",[code:root_dir()]),halt().",
        ])
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run `erl` ({e}): this test compares include/ with OTP 25's headers; \
                 install Erlang/OTP 25 and its headers (Debian: erlang-nox erlang-dev)"
            )
        });
    assert!(
        out.status.success(),
        "`erl` failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dir = PathBuf::from(String::from_utf8(out.stdout).unwrap().trim()).join("usr/include");
    assert!(
        dir.join("erl_driver.h").is_file(),
        "{} has no erl_driver.h: install OTP's headers (Debian: erlang-dev)",
        dir.display()
    );
    dir
}

/// Runs `cmd`, returning its stdout; panics with its stderr on failure.
fn run(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// One side of the comparison: a C compiler with an include directory and
/// preprocessor definitions.
struct Side<'a> {
    name: &'static str,
    cc: &'a str,
    include: &'a Path,
    defines: &'a [&'a str],
    work: &'a Path,
}

impl Side<'_> {
    fn command(&self) -> Command {
        let mut cmd = Command::new(self.cc);
        cmd.arg("-std=gnu11")
            .arg(format!("-I{}", self.include.display()));
        cmd.args(self.defines.iter().map(|d| format!("-D{d}")));
        cmd
    }

    fn write(&self, file: &str, text: &str) -> PathBuf {
        let path = self.work.join(format!("{}-{file}", self.name));
        std::fs::write(&path, text).unwrap();
        path
    }

    /// Every macro defined after including `text`, name -> definition line.
    fn macros(&self, text: &str) -> BTreeMap<String, String> {
        let src = self.write("macros.c", text);
        let out = run(self.command().args(["-dM", "-E"]).arg(&src));
        out.lines()
            .filter_map(|l| l.strip_prefix("#define "))
            .map(|l| {
                let end = l.find([' ', '(']).unwrap_or(l.len());
                (l[..end].to_string(), l.to_string())
            })
            .collect()
    }

    /// The preprocessed text of erl_driver.h and erl_drv_nif.h themselves.
    fn preprocessed_header(&self) -> String {
        let src = self.write("pp.c", "#include <erl_driver.h>\n");
        let out = run(self.command().arg("-E").arg(&src));
        let mut keep = false;
        let mut text = String::new();
        for line in out.lines() {
            if let Some(marker) = line.strip_prefix("# ") {
                let file = marker.split('"').nth(1).unwrap_or("");
                let base = Path::new(file)
                    .file_name()
                    .and_then(|f| f.to_str())
                    .unwrap_or("");
                keep = base == "erl_driver.h" || base == "erl_drv_nif.h";
            } else if keep && !line.starts_with('#') {
                text.push_str(line);
                text.push('\n');
            }
        }
        text
    }

    /// Compiles and runs `src`, returning what it prints, or the compiler's
    /// complaint.
    fn compile_and_run(&self, src: &str) -> Result<String, String> {
        let c = self.write("probe.c", src);
        let exe = self.work.join(format!("{}-probe", self.name));
        let out = self
            .command()
            .args(["-w", "-o"])
            .arg(&exe)
            .arg(&c)
            .output()
            .unwrap();
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            return Err(format!(
                "the probe does not compile against {}'s header:\n{err}",
                self.name
            ));
        }
        Ok(run(&mut Command::new(&exe)))
    }

    /// Whether `src` compiles (syntax and types only); the error text if not.
    fn check(&self, file: &str, src: &str) -> Result<(), String> {
        let c = self.write(file, src);
        let out = self
            .command()
            .arg("-fsyntax-only")
            .arg(&c)
            .output()
            .unwrap();
        if out.status.success() {
            Ok(())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }
}

/// The declarations of one header, parsed from its preprocessed text.
#[derive(Default, Debug, PartialEq)]
struct Decls {
    /// Function name -> declaration.
    functions: BTreeMap<String, String>,
    /// Data object name -> declaration.
    variables: BTreeMap<String, String>,
    /// Typedefs without a body (`typedef X Name;`): name -> declaration.
    typedefs: BTreeMap<String, String>,
    /// `typedef struct tag {...} Name;`: Name -> `struct tag`.
    tagged: BTreeMap<String, String>,
    /// Struct type (typedef name or `struct tag`) -> fields (name, declaration).
    structs: BTreeMap<String, Vec<(String, String)>>,
    /// Enum type (typedef name or `enum tag`) -> enumerators.
    enums: BTreeMap<String, Vec<String>>,
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The byte range of the last identifier in `s`.
fn last_ident(s: &str) -> std::ops::Range<usize> {
    let end = s.rfind(is_ident_char).map_or(0, |i| i + 1);
    let start = s[..end]
        .rfind(|c: char| !is_ident_char(c))
        .map_or(0, |i| i + 1);
    start..end
}

/// Splits `text` at `sep` where no bracket is open.
fn split_top(text: &str, sep: char) -> Vec<String> {
    let (mut depth, mut cur, mut out) = (0i32, String::new(), Vec::new());
    for c in text.chars() {
        match c {
            '(' | '{' | '[' => depth += 1,
            ')' | '}' | ']' => depth -= 1,
            _ => {}
        }
        if c == sep && depth == 0 {
            out.push(std::mem::take(&mut cur));
        } else {
            cur.push(c);
        }
    }
    out.push(cur);
    out.into_iter()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

/// The declared name of a struct field: the identifier inside `(*name)`, or
/// the last identifier before any array bounds.
fn field_name(decl: &str) -> std::ops::Range<usize> {
    if let Some(p) = decl.find("(*") {
        let start = p + 2;
        let len = decl[start..].find(|c: char| !is_ident_char(c)).unwrap();
        start..start + len
    } else {
        last_ident(&decl[..decl.find('[').unwrap_or(decl.len())])
    }
}

impl Decls {
    fn parse(preprocessed: &str) -> Decls {
        let text = preprocessed
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        let mut d = Decls::default();
        for stmt in split_top(&text, ';') {
            d.add(&stmt);
        }
        d
    }

    fn add(&mut self, s: &str) {
        if let (Some(open), Some(close)) = (s.find('{'), s.rfind('}')) {
            let head = s[..open].trim();
            let typedef = head.starts_with("typedef ");
            let head = head.trim_start_matches("typedef ").trim();
            let (kind, tag) = head.split_once(' ').unwrap_or((head, ""));
            let tagged = format!("{kind} {tag}");
            let name = if typedef {
                s[close + 1..].trim().to_string()
            } else {
                tagged.clone()
            };
            if typedef && !tag.is_empty() {
                self.tagged.insert(name.clone(), tagged);
            }
            let body = &s[open + 1..close];
            if kind == "struct" {
                let fields = split_top(body, ';')
                    .into_iter()
                    .map(|f| (f[field_name(&f)].to_string(), f))
                    .collect();
                self.structs.insert(name, fields);
            } else {
                let items = split_top(body, ',')
                    .iter()
                    .map(|e| e.split('=').next().unwrap().trim().to_string())
                    .collect();
                self.enums.insert(name, items);
            }
        } else if s.starts_with("typedef ") {
            self.typedefs
                .insert(s[last_ident(s)].to_string(), s.to_string());
        } else {
            let decl = s.trim_start_matches("extern ");
            match decl.find('(') {
                Some(p) => self
                    .functions
                    .insert(decl[last_ident(&decl[..p])].to_string(), s.to_string()),
                None => self
                    .variables
                    .insert(decl[last_ident(decl)].to_string(), s.to_string()),
            };
        }
    }

    /// Every type name the header defines.
    fn type_names(&self) -> BTreeSet<String> {
        let bodies = self.structs.keys().chain(self.enums.keys());
        self.typedefs.keys().chain(bodies).cloned().collect()
    }

    /// The `__attribute__((...))` parts of a function's declaration.
    fn attributes(decl: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut rest = decl;
        while let Some(p) = rest.find("__attribute__") {
            let after = &rest[p..];
            let (mut depth, mut end) = (0, after.len());
            for (i, c) in after.char_indices() {
                match c {
                    '(' => depth += 1,
                    ')' => {
                        depth -= 1;
                        if depth == 0 {
                            end = i + 1;
                            break;
                        }
                    }
                    _ => {}
                }
            }
            out.push(after[..end].split_whitespace().collect());
            rest = &after[end..];
        }
        out.sort();
        out
    }
}

/// Sets `a` and `b` must be equal; describes what differs.
fn same_names<'a>(
    what: &str,
    ours: impl IntoIterator<Item = &'a String>,
    otp: impl IntoIterator<Item = &'a String>,
) -> Result<(), String> {
    let ours: BTreeSet<&String> = ours.into_iter().collect();
    let otp: BTreeSet<&String> = otp.into_iter().collect();
    if ours == otp {
        return Ok(());
    }
    Err(format!(
        "{what} differ: only in ours: {:?}; only in OTP's: {:?}",
        ours.difference(&otp).collect::<Vec<_>>(),
        otp.difference(&ours).collect::<Vec<_>>()
    ))
}

/// Function-like macros a driver can use, with an invocation that shows what
/// they do, and whether that shows as a value (`true`) or as its expansion.
const FUNCTION_MACROS: &[(&str, &str, bool)] = &[
    ("DRIVER_INIT", "DRIVER_INIT(echo_drv)", false),
    ("ERLANG_DRIVER_NAME", "ERLANG_DRIVER_NAME(echo_drv)", false),
    ("TERM_DATA", "TERM_DATA(-1)", true),
    (
        "ERL_NAPI_ATTR_ALLOC_SIZE",
        "ERL_NAPI_ATTR_ALLOC_SIZE(2)",
        false,
    ),
    (
        "ERL_NAPI_ATTR_MALLOC_US",
        "ERL_NAPI_ATTR_MALLOC_US(1)",
        false,
    ),
    (
        "ERL_NAPI_ATTR_MALLOC_D",
        "ERL_NAPI_ATTR_MALLOC_D(free, 1)",
        false,
    ),
    (
        "ERL_NAPI_ATTR_MALLOC_UD",
        "ERL_NAPI_ATTR_MALLOC_UD(free, 1)",
        false,
    ),
    (
        "ERL_NAPI_ATTR_MALLOC_USD",
        "ERL_NAPI_ATTR_MALLOC_USD(1, free, 1)",
        false,
    ),
];

/// The C type of an expression, by name, for the probe's output.
const KIND_MACRO: &str = "#define PH_KIND(x) _Generic((x), _Bool: \"_Bool\", char: \"char\", \
    signed char: \"signed char\", unsigned char: \"unsigned char\", short: \"short\", \
    unsigned short: \"unsigned short\", int: \"int\", unsigned int: \"unsigned int\", \
    long: \"long\", unsigned long: \"unsigned long\", long long: \"long long\", \
    unsigned long long: \"unsigned long long\", float: \"float\", double: \"double\", \
    ErlDrvData: \"ErlDrvData\", default: \"other\")\n";

/// A C program that prints the layout of every type and field, the value and
/// type of every constant, and the expansion of every attribute-like macro.
/// It also names every function and data object, so that it compiles only
/// against a header that declares them all.
fn probe_program(
    decls: &Decls,
    functions: &BTreeSet<String>,
    macros: &BTreeMap<String, String>,
) -> Result<String, String> {
    let mut c = String::from(
        "#include <erl_driver.h>\n#include <stdio.h>\n#include <stddef.h>\n#include <stdint.h>\n\
         #define PH_STR_(x) #x\n#define PH_STR(x) PH_STR_(x)\n",
    );
    c.push_str(KIND_MACRO);
    c.push_str(
        "static void ph_text(const char *name, const char *text) {\n\
         \x20   printf(\"expansion %s = \", name);\n\
         \x20   for (; *text; text++) if (*text != ' ') putchar(*text);\n\
         \x20   putchar('\\n');\n}\n\
         int main(void) {\n",
    );
    for name in functions.iter().chain(decls.variables.keys()) {
        c.push_str(&format!("    (void)sizeof(&{name});\n"));
    }
    for (ty, fields) in &decls.structs {
        c.push_str(&format!(
            "    printf(\"type %s size %zu align %zu\\n\", \"{ty}\", sizeof({ty}), _Alignof({ty}));\n"
        ));
        for (f, _) in fields {
            c.push_str(&format!(
                "    printf(\"field %s.%s offset %zu size %zu kind %s\\n\", \"{ty}\", \"{f}\", \
                 offsetof({ty}, {f}), sizeof((({ty} *)0)->{f}), PH_KIND((({ty} *)0)->{f}));\n"
            ));
        }
    }
    for (name, text) in &decls.typedefs {
        // `typedef struct tag Name;` without a pointer names an incomplete
        // type unless the header defines the struct.
        let words: Vec<&str> = text.split(' ').collect();
        let opaque = !text.contains('*')
            && words.len() == 4
            && words[1] == "struct"
            && !decls
                .tagged
                .values()
                .any(|t| *t == format!("struct {}", words[2]));
        if !opaque {
            c.push_str(&format!(
                "    printf(\"type %s size %zu align %zu kind %s\\n\", \"{name}\", sizeof({name}), \
                 _Alignof({name}), PH_KIND(*({name} *)0));\n"
            ));
        }
    }
    for ty in decls.enums.keys() {
        c.push_str(&format!(
            "    printf(\"type %s size %zu kind %s\\n\", \"{ty}\", sizeof({ty}), PH_KIND(*({ty} *)0));\n"
        ));
    }
    let constant = |name: &str, expr: &str| {
        format!(
            "    printf(\"constant %s = %llu kind %s\\n\", \"{name}\", \
             (unsigned long long)(uintptr_t)({expr}), PH_KIND({expr}));\n"
        )
    };
    for items in decls.enums.values() {
        for e in items {
            c.push_str(&constant(e, e));
        }
    }
    for (name, def) in macros {
        let body = def[name.len()..].trim();
        if def[name.len()..].starts_with('(') {
            let Some((_, call, value)) = FUNCTION_MACROS.iter().find(|m| m.0 == name) else {
                return Err(format!(
                    "the header defines the function-like macro {name}: add it to FUNCTION_MACROS in tests/ffi.rs"
                ));
            };
            c.push_str(&if *value {
                constant(call, call)
            } else {
                format!("    ph_text(\"{call}\", PH_STR({call}));\n")
            });
        } else if body.is_empty() || body.contains("__attribute__") || body.contains("extern") {
            c.push_str(&format!("    ph_text(\"{name}\", PH_STR({name}));\n"));
        } else {
            c.push_str(&constant(name, name));
        }
    }
    c.push_str("    return 0;\n}\n");
    Ok(c)
}

/// A C file for OTP's header that declares again, in our header's words,
/// every function, data object, typedef and struct field. C rejects a
/// redeclaration with a different type, so it compiles only if each of ours
/// has the type OTP gives it.
fn redeclarations(ours: &Decls) -> String {
    let mut c = String::from("#include <erl_driver.h>\n");
    for decl in ours
        .functions
        .values()
        .chain(ours.variables.values())
        .chain(ours.typedefs.values())
    {
        c.push_str(decl);
        c.push_str(";\n");
    }
    for (name, tagged) in &ours.tagged {
        c.push_str(&format!("typedef {tagged} {name};\n"));
    }
    for (ty, fields) in &ours.structs {
        for (f, decl) in fields {
            let var = format!("porthost_field_{}_{f}", ty.replace(' ', "_"));
            let range = field_name(decl);
            c.push_str(&format!("extern __typeof__((({ty} *)0)->{f}) {var};\n"));
            c.push_str(&format!(
                "extern {}{var}{};\n",
                &decl[..range.start],
                &decl[range.end..]
            ));
        }
    }
    c
}

/// Lines that only one of two outputs has.
fn output_difference(ours: &str, otp: &str) -> String {
    let a: BTreeSet<&str> = ours.lines().collect();
    let b: BTreeSet<&str> = otp.lines().collect();
    let mut s = String::new();
    for l in a.difference(&b) {
        s.push_str(&format!("  ours: {l}\n"));
    }
    for l in b.difference(&a) {
        s.push_str(&format!("  OTP:  {l}\n"));
    }
    s
}

#[test]
fn headers_are_abi_identical_to_otp() {
    let cc = c_compiler();
    let otp_dir = otp_include();
    let our_dir = our_include();
    let work = Path::new(env!("CARGO_TARGET_TMPDIR")).join("ffi-abi");
    std::fs::create_dir_all(&work).unwrap();
    let mut failures = Vec::new();

    // The same macros, by name, in every configuration a driver may choose.
    let configs: &[&[&str]] = &[
        &[],
        &["ERL_DRIVER_TYPES_ONLY"],
        &["STATIC_ERLANG_DRIVER"],
        &["HAVE_SYS_UIO_H"],
        &["HAVE_SYS_UIO_H", "STATIC_ERLANG_DRIVER"],
    ];
    for defines in configs {
        let ours = Side {
            name: "ours",
            cc: &cc,
            include: &our_dir,
            defines,
            work: &work,
        };
        let otp = Side {
            name: "otp",
            cc: &cc,
            include: &otp_dir,
            defines,
            work: &work,
        };
        let ours = ours.macros("#include <erl_driver.h>\n");
        let otp = otp.macros("#include <erl_driver.h>\n");
        if let Err(e) = same_names(&format!("macros with {defines:?}"), ours.keys(), otp.keys()) {
            failures.push(e);
        }
    }

    // Declarations, layouts, values and prototypes, in the configurations
    // that declare the API.
    for defines in configs {
        if defines.contains(&"ERL_DRIVER_TYPES_ONLY") {
            continue;
        }
        let ours = Side {
            name: "ours",
            cc: &cc,
            include: &our_dir,
            defines,
            work: &work,
        };
        let otp = Side {
            name: "otp",
            cc: &cc,
            include: &otp_dir,
            defines,
            work: &work,
        };
        let our_decls = Decls::parse(&ours.preprocessed_header());
        let otp_decls = Decls::parse(&otp.preprocessed_header());

        let mut otp_functions: BTreeSet<String> = otp_decls.functions.keys().cloned().collect();
        for f in OTP_ONLY_FUNCTIONS {
            otp_functions.remove(*f);
        }
        let our_functions: BTreeSet<String> = our_decls.functions.keys().cloned().collect();
        let checks = [
            same_names("functions", &our_functions, &otp_functions),
            same_names(
                "data objects",
                our_decls.variables.keys(),
                otp_decls.variables.keys(),
            ),
            same_names("types", &our_decls.type_names(), &otp_decls.type_names()),
        ];
        failures.extend(checks.into_iter().filter_map(Result::err));
        if our_functions.len() != API_FUNCTION_COUNT {
            failures.push(format!(
                "ours declares {} functions, not {API_FUNCTION_COUNT}",
                our_functions.len()
            ));
        }
        for (ty, fields) in &our_decls.structs {
            let names =
                |f: &Vec<(String, String)>| f.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
            let theirs = otp_decls.structs.get(ty).map(names);
            if theirs.as_ref() != Some(&names(fields)) {
                failures.push(format!(
                    "{ty}: fields {:?} in ours, {theirs:?} in OTP's",
                    names(fields)
                ));
            }
        }
        if our_decls.enums != otp_decls.enums || our_decls.tagged != otp_decls.tagged {
            failures.push(format!(
                "enums or struct tags differ: ours {:?} {:?}, OTP's {:?} {:?}",
                our_decls.enums, our_decls.tagged, otp_decls.enums, otp_decls.tagged
            ));
        }
        for f in &our_functions {
            let (a, b) = (&our_decls.functions[f], otp_decls.functions.get(f));
            let theirs = b.map(|b| Decls::attributes(b));
            if Some(Decls::attributes(a)) != theirs {
                failures.push(format!(
                    "{f}: attributes {:?} in ours, {theirs:?} in OTP's",
                    Decls::attributes(a)
                ));
            }
        }

        // Every prototype, typedef and field of ours is a valid redeclaration
        // of OTP's.
        if let Err(e) = otp.check("redeclare.c", &redeclarations(&our_decls)) {
            failures.push(format!(
                "with {defines:?}, our declarations conflict with OTP's:\n{e}"
            ));
        }

        // Layouts, constants and expansions print the same.
        let baseline = "#include <stdlib.h>\n#include <sys/types.h>\n#include <sys/uio.h>\n";
        let system = ours.macros(baseline);
        let mut macros = otp.macros("#include <erl_driver.h>\n");
        macros.extend(ours.macros("#include <erl_driver.h>\n"));
        macros.retain(|name, _| !system.contains_key(name));
        let all_functions = our_functions.union(&otp_functions).cloned().collect();
        match probe_program(&our_decls, &all_functions, &macros) {
            Err(e) => failures.push(e),
            Ok(probe) => match (ours.compile_and_run(&probe), otp.compile_and_run(&probe)) {
                (Ok(a), Ok(b)) => {
                    assert!(
                        a.lines().count() > 100,
                        "the probe printed too little:\n{a}"
                    );
                    if a != b {
                        failures.push(format!(
                            "with {defines:?}, the probe prints differently:\n{}",
                            output_difference(&a, &b)
                        ));
                    }
                }
                (a, b) => failures.extend(a.err().into_iter().chain(b.err())),
            },
        }
    }

    // The redeclaration check does catch a different prototype or field.
    let otp = Side {
        name: "otp-mutant",
        cc: &cc,
        include: &otp_dir,
        defines: &[],
        work: &work,
    };
    let mutants = [
        "int driver_output(ErlDrvPort port, char *buf, int len);",
        "void driver_free(const void *ptr);",
        "extern __typeof__(((ErlDrvEntry *)0)->start) m;\nextern ErlDrvData (*m)(ErlDrvPort port, const char *command);",
        "extern __typeof__(((ErlDrvBinary *)0)->orig_size) m;\nextern long long m;",
    ];
    for m in mutants {
        let src = format!("#include <erl_driver.h>\n{m}\n");
        assert!(
            otp.check("mutant.c", &src).is_err(),
            "the redeclaration check accepts a wrong declaration: {m}"
        );
    }

    assert!(
        failures.is_empty(),
        "include/ differs from OTP 25's headers:\n{}",
        failures.join("\n")
    );
}
