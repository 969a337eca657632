//! The driver registry from a driver's side: `driver_lock_driver`,
//! `add_driver_entry`, `remove_driver_entry` (see `include/erl_driver.h`
//! and [`crate::ddll`]).
#![allow(clippy::missing_safety_doc)]

use std::os::raw::c_int;

use crate::ffi::{ErlDrvEntry, ErlDrvPort};

/// `driver_lock_driver(port)`: the port's driver stays loaded for the life
/// of the host (it becomes `permanent`). Returns 0.
#[no_mangle]
pub unsafe extern "C" fn driver_lock_driver(port: ErlDrvPort) -> c_int {
    // SAFETY: live port by contract.
    let Some(p) = (unsafe { super::port_ref(port) }) else { return -1 };
    if let Some(host) = p.host.upgrade() {
        host.ddll.lock().make_permanent(p.driver.name());
    }
    0
}

/// `add_driver_entry(de)`: registers `de` as a driver (its `init` runs) in
/// every host, so `open_port` can name it. The entry must outlive its
/// registration.
#[no_mangle]
pub unsafe extern "C" fn add_driver_entry(de: *mut ErlDrvEntry) {
    super::guard("add_driver_entry", (), || {
        if let Some(de) = std::ptr::NonNull::new(de) {
            crate::ddll::add_static_entry(de);
        }
    })
}

/// `remove_driver_entry(de)`: 1 if removed, 0 if unknown, -1 for a driver
/// loaded by `erl_ddll`.
#[no_mangle]
pub unsafe extern "C" fn remove_driver_entry(de: *mut ErlDrvEntry) -> c_int {
    super::guard("remove_driver_entry", -1, || crate::ddll::remove_static_entry(de))
}
