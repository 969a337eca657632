//! The driver registry from a driver's side: `driver_lock_driver`,
//! `add_driver_entry`, `remove_driver_entry` (see `include/erl_driver.h`
//! and [`crate::ddll`]).
#![allow(clippy::missing_safety_doc)]

use std::collections::HashSet;
use std::os::raw::c_int;
use std::path::{Path, PathBuf};

use crate::ffi::{ErlDrvEntry, ErlDrvPort};

/// `driver_lock_driver(port)`: the port's driver becomes `permanent` (it
/// cannot be unloaded, `erl_ddll:info/2` says so) and its library stays
/// mapped for the life of the process, as in ERTS, so that the threads and
/// the entries (`add_driver_entry`) of a locked driver never outlive its
/// code. Returns 0.
#[no_mangle]
pub unsafe extern "C" fn driver_lock_driver(port: ErlDrvPort) -> c_int {
    super::guard("driver_lock_driver", -1, || {
        // SAFETY: live port by contract.
        let Some(p) = (unsafe { super::port_ref(port) }) else { return -1 };
        let Some(driver) = p.driver() else { return -1 };
        if let Some(host) = p.host.upgrade() {
            host.ddll.lock().make_permanent(driver.name());
        }
        crate::ddll::notice("locked", driver.name());
        keep_mapped(driver.path());
        0
    })
}

/// Takes a reference to the already loaded library at `path` that is never
/// released (`RTLD_NOLOAD`: it only finds the loaded one), once per path.
fn keep_mapped(path: &Path) {
    static KEPT: std::sync::OnceLock<parking_lot::Mutex<HashSet<PathBuf>>> = std::sync::OnceLock::new();
    if path.as_os_str().is_empty() {
        return; // an entry added by add_driver_entry: no library of its own
    }
    let mut kept = KEPT.get_or_init(Default::default).lock();
    if kept.contains(path) {
        return;
    }
    // SAFETY: the library is loaded already (NOLOAD), so no initialiser
    // runs; the handle is leaked on purpose.
    if let Ok(lib) = unsafe { libloading::os::unix::Library::open(Some(path), libc::RTLD_NOW | libc::RTLD_NOLOAD) } {
        std::mem::forget(lib);
        kept.insert(path.to_owned());
    }
}

/// `add_driver_entry(de)`: registers `de` as a driver (its `init` runs) in
/// every host, so `open_port` can name it. The entry must outlive its
/// registration.
#[no_mangle]
pub unsafe extern "C" fn add_driver_entry(de: *mut ErlDrvEntry) {
    super::guard("add_driver_entry", (), || {
        if let Some(de) = std::ptr::NonNull::new(de) {
            // SAFETY: the driver's entry, which erl_driver.h requires to
            // outlive its registration.
            unsafe { crate::ddll::add_static_entry(de) };
        }
    })
}

/// `remove_driver_entry(de)`: 1 if removed, 0 if unknown, -1 for the entry
/// of a driver loaded by `erl_ddll` (as ERTS 25 answers).
#[no_mangle]
pub unsafe extern "C" fn remove_driver_entry(de: *mut ErlDrvEntry) -> c_int {
    super::guard("remove_driver_entry", -1, || crate::ddll::remove_static_entry(de))
}
