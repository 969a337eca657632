//! Port state a driver sets, and the processes it watches:
//! `set_busy_port`, `erl_drv_busy_msgq_limits`, `erl_drv_set_os_pid`,
//! `erl_drv_init_ack`, `driver_monitor_process`,
//! `driver_demonitor_process`, `driver_get_monitored_process`,
//! `driver_compare_monitors`, `driver_create_port` (see
//! `include/erl_driver.h`).
//!
//! An `ErlDrvMonitor` holds porthost's monitor id in its first 8 bytes (the
//! rest is zero), so monitors compare with `memcmp` order.
#![allow(clippy::missing_safety_doc)]

use std::ffi::CStr;
use std::os::raw::{c_char, c_int};
use std::sync::atomic::{AtomicU64, Ordering};

use super::misc::{pid_term_data, term_data_pid, NIL_TERM_DATA};
use crate::ffi::{ErlDrvData, ErlDrvMonitor, ErlDrvPort, ErlDrvSInt, ErlDrvSizeT, ErlDrvTermData};
use crate::port::{self as port_mod, BUSY_MSGQ_DISABLED};

/// `ERL_DRV_BUSY_MSGQ_READ_ONLY`.
const MSGQ_READ_ONLY: usize = 0;

/// `set_busy_port(port, on)`: while set, senders of command data wait
/// (`port_command/3` with `nosuspend` returns `false`).
#[no_mangle]
pub unsafe extern "C" fn set_busy_port(port: ErlDrvPort, on: c_int) {
    // SAFETY: live port by contract.
    if let Some(p) = unsafe { super::port_ref(port) } {
        *p.busy.lock() = on != 0;
        if on == 0 {
            p.busy_cv.notify_all();
        }
    }
}

/// `erl_drv_busy_msgq_limits(port, &low, &high)`: reads or sets the busy
/// message queue limits. porthost runs commands synchronously, so a port's
/// message queue never holds data and the limits never make a sender wait;
/// they are kept and reported as ERTS keeps them.
#[no_mangle]
pub unsafe extern "C" fn erl_drv_busy_msgq_limits(port: ErlDrvPort, low: *mut ErlDrvSizeT, high: *mut ErlDrvSizeT) {
    // SAFETY: live port by contract.
    let Some(p) = (unsafe { super::port_ref(port) }) else { return };
    let mut lim = p.msgq_limits.lock();
    let disabled = lim.1 == BUSY_MSGQ_DISABLED && p.driver.entry().driver_flags & port_mod::FLAG_NO_BUSY_MSGQ != 0;
    for (ptr, slot) in [(low, 0), (high, 1)] {
        if ptr.is_null() {
            continue;
        }
        // SAFETY: the caller's ErlDrvSizeT, by contract.
        let want = unsafe { *ptr };
        let cur = if slot == 0 { &mut lim.0 } else { &mut lim.1 };
        if want != MSGQ_READ_ONLY && !disabled {
            *cur = want;
        }
        // SAFETY: as above.
        unsafe { *ptr = *cur };
    }
}

/// `erl_drv_set_os_pid(port, pid)`: what `port_info(Port, os_pid)` reports.
#[no_mangle]
pub unsafe extern "C" fn erl_drv_set_os_pid(port: ErlDrvPort, pid: ErlDrvSInt) {
    // SAFETY: live port by contract.
    if let Some(p) = unsafe { super::port_ref(port) } {
        p.os_pid.store(pid as i64, Ordering::Relaxed);
    }
}

/// `erl_drv_init_ack(port, res)`: completes the start of a port whose
/// driver has `ERL_DRV_FLAG_USE_INIT_ACK`; `open_port` returns (or raises,
/// for an `ERL_DRV_ERROR_*` value) now.
#[no_mangle]
pub unsafe extern "C" fn erl_drv_init_ack(port: ErlDrvPort, res: ErlDrvData) {
    // SAFETY: live port by contract.
    if let Some(p) = unsafe { super::port_ref(port) } {
        *p.init_ack.lock() = Some(res as usize);
        p.init_cv.notify_all();
    }
}

static MONITOR_IDS: AtomicU64 = AtomicU64::new(1);

fn monitor_id(m: *const ErlDrvMonitor) -> Option<u64> {
    // SAFETY: a caller's ErlDrvMonitor, by contract.
    (!m.is_null()).then(|| u64::from_ne_bytes(unsafe { (*m).data }[..8].try_into().expect("8 bytes")))
}

/// `driver_monitor_process(port, process, &monitor)`: 0, `1` if the
/// process is not alive, `-1` if the driver has no `process_exit`.
#[no_mangle]
pub unsafe extern "C" fn driver_monitor_process(port: ErlDrvPort, process: ErlDrvTermData, monitor: *mut ErlDrvMonitor) -> c_int {
    super::guard("driver_monitor_process", -1, || {
        // SAFETY: live port by contract.
        let Some(p) = (unsafe { super::port_ref(port) }) else { return -1 };
        if p.driver.entry().process_exit.is_none() || monitor.is_null() {
            return -1;
        }
        let Some(host) = p.host.upgrade() else { return -1 };
        let Some(pid) = term_data_pid(process) else { return 1 };
        let procs = host.procs.read();
        let Some(proc_) = procs.get(&pid) else { return 1 };
        let id = MONITOR_IDS.fetch_add(1, Ordering::Relaxed);
        let mut data = [0u8; 32];
        data[..8].copy_from_slice(&id.to_ne_bytes());
        // SAFETY: the caller's storage, by contract.
        unsafe { (*monitor).data = data };
        p.monitors.lock().insert(id, pid);
        proc_.monitored_by.lock().push((id, p.id()));
        0
    })
}

/// `driver_demonitor_process(port, &monitor)`: 0, or 1 if it was gone.
#[no_mangle]
pub unsafe extern "C" fn driver_demonitor_process(port: ErlDrvPort, monitor: *const ErlDrvMonitor) -> c_int {
    // SAFETY: live port by contract.
    let Some(p) = (unsafe { super::port_ref(port) }) else { return -1 };
    let Some(id) = monitor_id(monitor) else { return -1 };
    let Some(pid) = p.monitors.lock().remove(&id) else { return 1 };
    if let Some(host) = p.host.upgrade() {
        if let Some(proc_) = host.procs.read().get(&pid) {
            proc_.monitored_by.lock().retain(|(m, _)| *m != id);
        }
    }
    0
}

/// `driver_get_monitored_process(port, &monitor)`: the pid, or
/// `driver_term_nil` if the monitor is gone.
#[no_mangle]
pub unsafe extern "C" fn driver_get_monitored_process(port: ErlDrvPort, monitor: *const ErlDrvMonitor) -> ErlDrvTermData {
    // SAFETY: live port by contract.
    let Some(p) = (unsafe { super::port_ref(port) }) else { return NIL_TERM_DATA };
    match monitor_id(monitor).and_then(|id| p.monitors.lock().get(&id).copied()) {
        Some(pid) => pid_term_data(pid),
        None => NIL_TERM_DATA,
    }
}

/// `driver_compare_monitors(m1, m2)`: `memcmp` order of the two monitors.
#[no_mangle]
pub unsafe extern "C" fn driver_compare_monitors(m1: *const ErlDrvMonitor, m2: *const ErlDrvMonitor) -> c_int {
    // SAFETY: two monitors of the caller, by contract.
    let (a, b) = unsafe { ((*m1).data, (*m2).data) };
    match a.cmp(&b) {
        std::cmp::Ordering::Less => -1,
        std::cmp::Ordering::Equal => 0,
        std::cmp::Ordering::Greater => 1,
    }
}

/// `driver_create_port(creator, owner_pid, name, drv_data)`: a new port on
/// the creator's driver, owned by and linked to `owner_pid`, named `name`,
/// with `drv_data` as its data (`start` is not called). NULL if the owner
/// is not alive.
#[no_mangle]
pub unsafe extern "C" fn driver_create_port(
    creator: ErlDrvPort,
    owner_pid: ErlDrvTermData,
    name: *mut c_char,
    drv_data: ErlDrvData,
) -> ErlDrvPort {
    super::guard("driver_create_port", std::ptr::null_mut(), || {
        // SAFETY: live port by contract.
        let Some(p) = (unsafe { super::port_ref(creator) }) else { return std::ptr::null_mut() };
        let Some(owner) = term_data_pid(owner_pid) else { return std::ptr::null_mut() };
        let name = if name.is_null() {
            p.driver.name().to_owned()
        } else {
            // SAFETY: NUL-terminated, by contract.
            unsafe { CStr::from_ptr(name) }.to_string_lossy().into_owned()
        };
        match port_mod::create(p, owner, &name, drv_data) {
            Some(new) => new.handle(),
            None => std::ptr::null_mut(),
        }
    })
}
