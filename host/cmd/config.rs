//! `porthost config`: what a C compiler needs to build a driver against
//! porthost's `erl_driver.h`.
use std::path::Path;

/// `--cflags`: the flags for the compiler.
pub fn cflags(include: &Path) -> String {
    format!("-I{}", include.display())
}

/// `--pkg-config`: a pkg-config file (save it as `porthost.pc` in a
/// directory on `PKG_CONFIG_PATH`, then `pkg-config --cflags porthost`).
pub fn pkg_config(include: &Path) -> String {
    format!(
        "includedir={}\n\n\
         Name: porthost\n\
         Description: erl_driver.h for Erlang port drivers (porthost and ERTS 25)\n\
         Version: {}\n\
         Cflags: -I${{includedir}}\n\
         Libs:\n",
        include.display(),
        env!("CARGO_PKG_VERSION")
    )
}
