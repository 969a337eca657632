//! Builds the bundled C drivers (`drivers/c/*.c`) into `$OUT_DIR/drivers/`
//! as shared objects, so that `porthost` finds them by name, and exports the
//! host's `erl_driver` symbols from every binary so that a `dlopen`ed driver
//! resolves them.
use std::path::{Path, PathBuf};

fn main() {
    export_driver_api();
    build_bundled_drivers();
}

/// `-Wl,--export-dynamic` makes the binary's `#[no_mangle]` functions (the
/// erl_driver API in `host/abi/`) visible to drivers loaded with `dlopen`.
fn export_driver_api() {
    println!("cargo:rustc-link-arg=-Wl,--export-dynamic");
}

/// Compiles each `drivers/c/NAME.c` against `include/` into
/// `$OUT_DIR/drivers/NAME.so`; the directory is passed to the crate as
/// `PORTHOST_BUNDLED_DRIVERS`.
fn build_bundled_drivers() {
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("drivers");
    std::fs::create_dir_all(&out).unwrap();
    println!("cargo:rerun-if-changed=include");
    println!("cargo:rerun-if-changed=drivers/c");
    let compiler = cc::Build::new().cargo_metadata(false).get_compiler();
    let mut sources: Vec<PathBuf> = std::fs::read_dir("drivers/c")
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "c"))
        .collect();
    sources.sort();
    for src in sources {
        compile_driver(&compiler, &src, &out);
    }
    println!("cargo:rustc-env=PORTHOST_BUNDLED_DRIVERS={}", out.display());
}

fn compile_driver(compiler: &cc::Tool, src: &Path, out: &Path) {
    let so = out.join(src.file_stem().unwrap()).with_extension("so");
    let status = compiler
        .to_command()
        .args(["-shared", "-fPIC", "-O2", "-Wall", "-Werror", "-Wno-unused-parameter", "-Iinclude", "-o"])
        .arg(&so)
        .arg(src)
        .status()
        .expect("running the C compiler");
    assert!(status.success(), "compiling {} failed", src.display());
}
