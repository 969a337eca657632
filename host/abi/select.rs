//! I/O events and async jobs: `driver_select`, `driver_async`,
//! `driver_async_port_key` (see `include/erl_driver.h`, [`crate::poll`] and
//! [`crate::async_pool`]).
#![allow(clippy::missing_safety_doc)]

use std::os::raw::{c_int, c_long, c_uint, c_void};

use crate::async_pool::Job;
use crate::ffi::{ErlDrvEvent, ErlDrvPort};
use crate::poll::Outcome;

/// `driver_select(port, event, mode, on)`: selects (`on` 1) or deselects
/// the descriptor `event` for `ERL_DRV_READ`/`ERL_DRV_WRITE`, and marks it
/// in use or releases it (`ERL_DRV_USE`, `ERL_DRV_USE_NO_CALLBACK`); see
/// [`crate::poll`] for ERTS's rules (another port's event is stolen,
/// `stop_select` runs from inside the releasing call). Returns 0, or -1 for
/// a negative descriptor or one epoll rejects other than with EPERM (a
/// closed descriptor; regular files are accepted, always ready).
#[no_mangle]
pub unsafe extern "C" fn driver_select(port: ErlDrvPort, event: ErlDrvEvent, mode: c_int, on: c_int) -> c_int {
    super::hooked("driver_select", port, crate::check::Thread::Callback, || format!("{}, {mode}, {on}", event as isize), -1, || {
        // SAFETY: live port by contract.
        let Some(p) = (unsafe { super::port_ref(port) }) else { return -1 };
        let Some(host) = p.host.upgrade() else { return -1 };
        let fd = event as isize as i32;
        if fd < 0 {
            return -1;
        }
        crate::check::select(port as usize, fd, mode, on != 0);
        match host.poll.select(&host, p, fd, mode, on != 0) {
            Ok(Outcome::Done) => 0,
            Ok(Outcome::StopSelect) => {
                if let Some(driver) = p.driver() {
                    super::entry::stop_select(driver, fd);
                }
                0
            }
            Err(()) => -1,
        }
    })
}

/// `driver_async(port, key, async_invoke, async_data, async_free)`: runs
/// `async_invoke(async_data)` on an async thread (`*key % threads` if `key`
/// is not NULL; as ERTS, that queue number is written back into `*key`),
/// then `ready_async` on the port. Returns the job's id (> 0; 0 without
/// async threads, the job then done), or -1 for a bad port.
#[no_mangle]
pub unsafe extern "C" fn driver_async(
    port: ErlDrvPort,
    key: *mut c_uint,
    async_invoke: Option<unsafe extern "C" fn(*mut c_void)>,
    async_data: *mut c_void,
    async_free: Option<unsafe extern "C" fn(*mut c_void)>,
) -> c_long {
    super::hooked("driver_async", port, crate::check::Thread::Any, String::new, -1, || {
        // SAFETY: live port by contract.
        let Some(p) = (unsafe { super::port_ref(port) }) else { return -1 };
        let Some(invoke) = async_invoke else { return -1 };
        let Some(host) = p.host.upgrade() else { return -1 };
        let Some(arc) = host.ports.get(p.id()) else { return -1 };
        // SAFETY: `key` points to an unsigned int if not NULL.
        let key = (!key.is_null()).then(|| unsafe {
            let k = *key;
            *key = host.async_pool.queue_of(k);
            k
        });
        let job = Job { port: p.id(), invoke, data: async_data, free: async_free };
        crate::check::async_submitted(p.id().0, port as usize, async_free.is_some());
        host.async_pool.submit(&host, &arc, key, job) as c_long
    })
}

/// `driver_async_port_key(port)`: a key that sends every job of this port
/// to the same async thread (the port number).
#[no_mangle]
pub unsafe extern "C" fn driver_async_port_key(port: ErlDrvPort) -> c_uint {
    // SAFETY: live port by contract.
    match unsafe { super::port_ref(port) } {
        Some(p) => p.id().0 as c_uint,
        None => 0,
    }
}

