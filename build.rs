//! Builds what the `porthost` library embeds (see `host/kit/`): the bundled
//! C drivers (`drivers/c/*.c`) as shared objects, and the API shim
//! `libporthost_erl_driver.so`, which re-exports every `erl_driver` symbol
//! of `host/abi/` by jumping through a table the host fills at startup (so
//! a binary that does not export its own symbols can still load drivers).
//! Also exports the host's `erl_driver` symbols from porthost's own
//! binaries.
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    export_driver_api();
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    let compiler = cc::Build::new().cargo_metadata(false).get_compiler();
    let mut files: Vec<(String, PathBuf)> =
        build_bundled_drivers(&compiler, &out).into_iter().map(|f| (rel("drivers", &f), f)).collect();
    let shim = build_api_shim(&compiler, &out);
    files.push((rel("lib", &shim), shim));
    for h in ["erl_driver.h", "erl_drv_nif.h"] {
        files.push((format!("include/{h}"), Path::new("include").join(h).canonicalize().unwrap()));
    }
    write_embedded_list(&out, &files);
}

/// `-Wl,--export-dynamic` makes the binary's `#[no_mangle]` functions (the
/// erl_driver API in `host/abi/`) visible to drivers loaded with `dlopen`.
fn export_driver_api() {
    println!("cargo:rustc-link-arg=-Wl,--export-dynamic");
}

/// Compiles each `drivers/c/NAME.c` against `include/` into
/// `$OUT_DIR/drivers/NAME.so`; returns the files.
fn build_bundled_drivers(compiler: &cc::Tool, out: &Path) -> Vec<PathBuf> {
    let out = out.join("drivers");
    std::fs::create_dir_all(&out).unwrap();
    println!("cargo:rerun-if-changed=include");
    println!("cargo:rerun-if-changed=drivers/c");
    let mut sources: Vec<PathBuf> = std::fs::read_dir("drivers/c")
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "c"))
        .collect();
    sources.sort();
    sources
        .iter()
        .map(|src| {
            let so = out.join(src.file_stem().unwrap()).with_extension("so");
            compile(compiler, std::slice::from_ref(src), &so, &["-O2", "-Wall", "-Werror", "-Wno-unused-parameter", "-Iinclude"]);
            so
        })
        .collect()
}

/// The names of the `#[no_mangle]` functions in `host/abi/*.rs`, in file
/// then source order.
fn abi_symbols() -> Vec<(String, String)> {
    println!("cargo:rerun-if-changed=host/abi");
    let mut files: Vec<PathBuf> = std::fs::read_dir("host/abi").unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    let mut syms = Vec::new();
    // cov.rs holds the sanitizer-coverage callbacks of the fuzzer, not
    // erl_driver's API: coverage builds of drivers run under `porthost
    // fuzz`, whose binary exports them itself.
    for f in files.iter().filter(|p| p.extension().is_some_and(|e| e == "rs") && !p.ends_with("cov.rs")) {
        let text = std::fs::read_to_string(f).unwrap();
        let mut after_attr = false;
        for line in text.lines().map(str::trim) {
            if line == "#[no_mangle]" || line == "#[unsafe(no_mangle)]" {
                after_attr = true;
            } else if after_attr && line.contains("extern \"C\" fn ") {
                let name = line.split("fn ").nth(1).unwrap().split(['(', '<']).next().unwrap().trim();
                syms.push((f.file_stem().unwrap().to_str().unwrap().to_owned(), name.to_owned()));
                after_attr = false;
            } else if after_attr && !line.starts_with("#[") && !line.starts_with("///") {
                after_attr = false;
            }
        }
    }
    // Each symbol once, and only plain names (not a macro's `$name`).
    let mut seen = std::collections::HashSet::new();
    syms.retain(|(_, name)| !name.starts_with('$') && seen.insert(name.clone()));
    syms
}

/// The shim: one trampoline per symbol (`jmp *table[i]`, so no signature
/// is needed and variadic functions pass through), the table, and
/// `porthost_shim_install(fns, n)` that fills it. Also writes
/// `abi_table.rs`: the host's functions in the same order.
fn build_api_shim(compiler: &cc::Tool, out: &Path) -> PathBuf {
    let syms = abi_symbols();
    let mut asm = String::from("\t.text\n");
    for (i, (_, name)) in syms.iter().enumerate() {
        writeln!(asm, "\t.globl {name}\n\t.type {name},@function\n{name}:").unwrap();
        if std::env::var("CARGO_CFG_TARGET_ARCH").unwrap() == "aarch64" {
            writeln!(asm, "\tadrp x16, porthost_shim_table+{o}\n\tldr x16, [x16, :lo12:porthost_shim_table+{o}]\n\tbr x16", o = 8 * i).unwrap();
        } else {
            writeln!(asm, "\tjmp *porthost_shim_table+{}(%rip)", 8 * i).unwrap();
        }
    }
    asm.push_str("\t.section .note.GNU-stack,\"\",@progbits\n");
    let c = format!(
        "#include <stddef.h>\n\
         __attribute__((visibility(\"hidden\"))) void *porthost_shim_table[{n}];\n\
         int porthost_shim_install(void *const *fns, size_t n) {{\n\
         \tif (n != {n}) return -1;\n\
         \tfor (size_t i = 0; i < n; i++) porthost_shim_table[i] = fns[i];\n\
         \treturn 0;\n}}\n",
        n = syms.len()
    );
    std::fs::write(out.join("shim.S"), asm).unwrap();
    std::fs::write(out.join("shim.c"), c).unwrap();
    let so = out.join("libporthost_erl_driver.so");
    compile(compiler, &[out.join("shim.c"), out.join("shim.S")], &so, &["-O2", "-nostdlib"]);
    let mut rs = format!("/// The host's `erl_driver` functions, in the shim's order.\npub(crate) fn shim_table() -> [*const (); {}] {{\n    [\n", syms.len());
    for (module, name) in &syms {
        writeln!(rs, "        {module}::{name} as *const (),").unwrap();
    }
    rs.push_str("    ]\n}\n");
    std::fs::write(out.join("abi_table.rs"), rs).unwrap();
    so
}

/// `dir/NAME` for the file `f`.
fn rel(dir: &str, f: &Path) -> String {
    format!("{dir}/{}", f.file_name().unwrap().to_str().unwrap())
}

/// `embedded.rs`: `(relative path, bytes)` for each file the library writes
/// out at run time, and `KIT_HASH`, a hash of them all (the run-time
/// directory's name).
fn write_embedded_list(out: &Path, files: &[(String, PathBuf)]) {
    let mut hash: u64 = 0xcbf29ce484222325;
    let mut rs = String::from("pub(crate) const EMBEDDED: &[(&str, &[u8])] = &[\n");
    for (name, f) in files {
        for b in name.bytes().chain(std::fs::read(f).unwrap()) {
            hash = (hash ^ u64::from(b)).wrapping_mul(0x100000001b3);
        }
        writeln!(rs, "    ({name:?}, include_bytes!({:?})),", f.display().to_string()).unwrap();
    }
    writeln!(rs, "];\npub(crate) const KIT_HASH: &str = \"{hash:016x}\";").unwrap();
    std::fs::write(out.join("embedded.rs"), rs).unwrap();
}

fn compile(compiler: &cc::Tool, srcs: &[PathBuf], so: &Path, flags: &[&str]) {
    let status = compiler
        .to_command()
        .args(["-shared", "-fPIC"])
        .args(flags)
        .arg("-o")
        .arg(so)
        .args(srcs)
        .status()
        .expect("running the C compiler");
    assert!(status.success(), "compiling {} failed", so.display());
}
