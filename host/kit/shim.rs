//! The API shim, `libporthost_erl_driver.so`: how a program that depends on
//! the porthost library loads drivers in-process with no link flags of its
//! own.
//!
//! A driver resolves `driver_alloc`, `driver_output` and the rest when it
//! is `dlopen`ed, from the global symbol scope. porthost's own binaries
//! export their `host/abi/` functions (`-Wl,--export-dynamic` in
//! `build.rs`), but a link argument in a library's build script does not
//! reach the binaries of the crates that depend on it: in their test or
//! program the functions exist but are not exported, and a driver fails
//! with `undefined symbol: driver_alloc`.
//!
//! So the library carries a tiny shared object (built by `build.rs`) that
//! defines every `erl_driver` symbol as a one-instruction trampoline,
//! `jmp *table[i]`, through a table it leaves empty. Before the first
//! driver is loaded, [`ensure_loaded`] writes it out (see [`super`]), opens
//! it with `RTLD_GLOBAL` (its symbols join the global scope) and fills the
//! table with the host's functions. A driver then resolves its calls to the
//! shim, which jumps to the host: no signature is involved, so variadic
//! functions pass through too. In a binary that exports the symbols itself
//! the executable comes first in the lookup order, and the shim goes
//! unused. It works in any binary, with any linker, and costs one indirect
//! jump per call where the binary does not export the API.
#![allow(unsafe_code)]

use std::sync::OnceLock;

/// Loads the shim once per process (see the module docs). Failures are
/// kept and returned again: a driver then fails to load with `dlerror`'s
/// `undefined symbol` text, unless the binary exports the API itself.
///
/// # Errors
/// The kit directory could not be written or the shim not loaded.
pub(crate) fn ensure_loaded() -> Result<(), String> {
    static DONE: OnceLock<Result<(), String>> = OnceLock::new();
    DONE.get_or_init(|| {
        let path = super::kit_dir().map_err(|e| e.to_string())?.join("lib/libporthost_erl_driver.so");
        // SAFETY: the shim has no initialisers; RTLD_GLOBAL puts its
        // trampolines in the global scope for drivers loaded later.
        let lib = unsafe { libloading::os::unix::Library::open(Some(&path), libc::RTLD_NOW | libc::RTLD_GLOBAL) }
            .map_err(|e| format!("loading {}: {e}", path.display()))?;
        type Install = unsafe extern "C" fn(*const *const (), usize) -> i32;
        // SAFETY: `porthost_shim_install` is defined by the shim's C part
        // with this signature (see build.rs).
        let install: libloading::os::unix::Symbol<Install> =
            unsafe { lib.get(b"porthost_shim_install\0") }.map_err(|e| format!("{}: {e}", path.display()))?;
        let table = crate::abi::shim_table();
        // SAFETY: `table` holds the addresses of the host's exported
        // functions, in the order the trampolines were generated in (both
        // come from the same list in build.rs); the shim copies them.
        if unsafe { install(table.as_ptr(), table.len()) } != 0 {
            return Err(format!("{}: the shim does not match this porthost", path.display()));
        }
        // The shim stays loaded for the life of the process: drivers jump
        // through it.
        std::mem::forget(lib);
        Ok(())
    })
    .clone()
}
