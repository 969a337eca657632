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
use crate::error::BifError;
use crate::ffi::{ErlDrvData, ErlDrvMonitor, ErlDrvPort, ErlDrvSInt, ErlDrvSizeT, ErlDrvTermData};
use crate::port::{self as port_mod, Port, BUSY_MSGQ_DISABLED};
use crate::term::Atom;

/// `ERL_DRV_BUSY_MSGQ_READ_ONLY`.
const MSGQ_READ_ONLY: usize = 0;
/// `ERL_DRV_ERROR_ERRNO`.
const ERL_DRV_ERROR_ERRNO: isize = -2;

/// `set_busy_port(port, on)`: while set, senders of command data wait
/// (`port_command/3` with `nosuspend` returns `false`).
#[no_mangle]
pub unsafe extern "C" fn set_busy_port(port: ErlDrvPort, on: c_int) {
    super::hooked("set_busy_port", port, crate::check::Thread::Callback, || on.to_string(), (), || {
        // SAFETY: live port by contract.
        if let Some(p) = unsafe { super::port_ref(port) } {
            p.set_busy(on != 0);
            if on == 0 {
                p.busy_cv.notify_all();
            }
        }
    })
}

/// `erl_drv_busy_msgq_limits(port, &low, &high)`: reads or sets the busy
/// message queue limits, as ERTS's `erl_drv_busy_msgq_limits` does (see
/// `msgq_limits_update`). porthost runs commands synchronously, so a
/// port's message queue never holds data and the limits never make a sender
/// wait; they are kept and reported as ERTS keeps them.
#[no_mangle]
pub unsafe extern "C" fn erl_drv_busy_msgq_limits(port: ErlDrvPort, low: *mut ErlDrvSizeT, high: *mut ErlDrvSizeT) {
    // SAFETY: live port by contract.
    let p = unsafe { super::port_ref(port) };
    // SAFETY: the caller's ErlDrvSizeTs (or NULL), by contract.
    let (want_low, want_high) = unsafe { (low.as_ref().copied(), high.as_ref().copied()) };
    let (got_low, got_high) = match p {
        Some(p) => msgq_limits_update(&mut p.msgq_limits.lock(), want_low.unwrap_or(0), want_high.unwrap_or(0)),
        None => (BUSY_MSGQ_DISABLED, BUSY_MSGQ_DISABLED),
    };
    // SAFETY: as above.
    unsafe {
        if let Some(l) = low.as_mut() {
            *l = got_low;
        }
        if let Some(h) = high.as_mut() {
            *h = got_high;
        }
    }
}

/// ERTS's arithmetic of `erl_drv_busy_msgq_limits` on a port's limits
/// `cur` (low, high; both [`BUSY_MSGQ_DISABLED`] once disabled, for good):
/// `low` and `high` are the values asked for (`0`,
/// `ERL_DRV_BUSY_MSGQ_READ_ONLY`, reads). Returns what the driver reads
/// back. Measured with OTP 25:
/// - on a disabled port every call reads back `DISABLED`, `DISABLED`;
/// - either value `DISABLED` disables the port's limits, and the call reads
///   back the two values it was given;
/// - otherwise a new low above the current high raises the high to it, and a
///   new high below the low lowers the low to it.
pub(crate) fn msgq_limits_update(cur: &mut (usize, usize), low: usize, high: usize) -> (usize, usize) {
    if cur.1 == BUSY_MSGQ_DISABLED {
        return (BUSY_MSGQ_DISABLED, BUSY_MSGQ_DISABLED);
    }
    if low == BUSY_MSGQ_DISABLED || high == BUSY_MSGQ_DISABLED {
        *cur = (BUSY_MSGQ_DISABLED, BUSY_MSGQ_DISABLED);
        return (low, high);
    }
    let mut low = low;
    if low == MSGQ_READ_ONLY {
        low = cur.0;
    } else {
        cur.1 = cur.1.max(low);
        cur.0 = low;
    }
    let mut high = high;
    if high == MSGQ_READ_ONLY {
        high = cur.1;
    } else {
        if low > high {
            low = high;
            cur.0 = low;
        }
        cur.1 = high;
    }
    (low, high)
}

/// `erl_drv_set_os_pid(port, pid)`: what `port_info(Port, os_pid)` reports
/// (`undefined` for a negative pid, as in ERTS).
#[no_mangle]
pub unsafe extern "C" fn erl_drv_set_os_pid(port: ErlDrvPort, pid: ErlDrvSInt) {
    // SAFETY: live port by contract.
    if let Some(p) = unsafe { super::port_ref(port) } {
        p.os_pid.store(pid.max(-1), Ordering::Relaxed);
    }
}

/// `erl_drv_init_ack(port, res)`: completes the start of a port whose
/// driver has `ERL_DRV_FLAG_USE_INIT_ACK`; `open_port` returns (or raises,
/// for an `ERL_DRV_ERROR_*` value) now. `errno` is read here, in the acking
/// thread, for `ERL_DRV_ERROR_ERRNO` (see `init_ack_result`).
#[no_mangle]
pub unsafe extern "C" fn erl_drv_init_ack(port: ErlDrvPort, res: ErlDrvData) {
    let errno = std::io::Error::last_os_error().raw_os_error().unwrap_or(0);
    // SAFETY: live port by contract.
    if let Some(p) = unsafe { super::port_ref(port) } {
        let mut ack = p.init_ack.lock();
        if ack.is_none() {
            *ack = Some((res as usize, errno));
            p.init_cv.notify_all();
        }
    }
}

/// What `open_port` makes of an `erl_drv_init_ack(port, res)` made while
/// `errno` was `errno`: as a start result (`ERL_DRV_ERROR_ERRNO` names that
/// errno, not the waiting thread's).
pub(crate) fn init_ack_result(port: &Port, res: usize, errno: i32) -> Result<ErlDrvData, BifError> {
    if res as isize == ERL_DRV_ERROR_ERRNO {
        return Err(BifError::Posix(Atom::new(super::misc::errno_name(errno))));
    }
    super::entry::start_result(port, res as ErlDrvData)
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
    super::hooked("driver_monitor_process", port, crate::check::Thread::Callback, || format!("{process:#x}"), -1, || {
        // SAFETY: live port by contract.
        let Some(p) = (unsafe { super::port_ref(port) }) else { return -1 };
        if p.driver().is_none_or(|d| d.entry().process_exit.is_none()) || monitor.is_null() {
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

/// What `driver_create_port` returns when it fails: ERTS 25's
/// `ERTS_INVALID_ERL_DRV_PORT`, `(ErlDrvPort)-1` (measured), not NULL.
const INVALID_PORT: ErlDrvPort = usize::MAX as ErlDrvPort;

/// `driver_create_port(creator, owner_pid, name, drv_data)`: a new port on
/// the creator's driver, owned by and linked to `owner_pid`, named `name`
/// (the driver's name if NULL), with `drv_data` as its data (`start` is not
/// called; the new port is not in binary mode). `(ErlDrvPort)-1`, as in
/// ERTS, if the owner is not alive.
#[no_mangle]
pub unsafe extern "C" fn driver_create_port(
    creator: ErlDrvPort,
    owner_pid: ErlDrvTermData,
    name: *mut c_char,
    drv_data: ErlDrvData,
) -> ErlDrvPort {
    super::hooked("driver_create_port", creator, crate::check::Thread::Callback, || format!("{owner_pid:#x}"), INVALID_PORT, || {
        // SAFETY: live port by contract.
        let Some(p) = (unsafe { super::port_ref(creator) }) else { return INVALID_PORT };
        let Some(owner) = term_data_pid(owner_pid) else { return INVALID_PORT };
        let name = if name.is_null() {
            p.driver_name().to_owned()
        } else {
            // SAFETY: NUL-terminated, by contract.
            unsafe { CStr::from_ptr(name) }.to_string_lossy().into_owned()
        };
        match port_mod::create(p, owner, &name, drv_data) {
            Some(new) => new.handle(),
            None => INVALID_PORT,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: usize = BUSY_MSGQ_DISABLED;

    /// Each case: the call's (low, high) and what the driver reads back,
    /// in sequence on one port, as ERTS 25 answered them
    /// (tests/scripts/busy_msgq.erl).
    #[test]
    fn msgq_limits_follow_erts() {
        let mut lim = crate::port::DEFAULT_MSGQ_LIMITS;
        for (ask, got) in [
            ((0, 0), (4096, 8192)),
            ((100, 200), (100, 200)),
            ((300, 0), (300, 300)),
            ((0, 50), (50, 50)),
            ((70, 60), (60, 60)),
            ((1, D - 1), (1, D - 1)),
            ((0, D), (0, D)),
            ((0, 0), (D, D)),
            ((10, 20), (D, D)),
        ] {
            assert_eq!(msgq_limits_update(&mut lim, ask.0, ask.1), got, "asked {ask:?}");
        }
        let mut lim = crate::port::DEFAULT_MSGQ_LIMITS;
        assert_eq!(msgq_limits_update(&mut lim, D, 5), (D, 5));
        assert_eq!(msgq_limits_update(&mut lim, 0, 0), (D, D));
    }
}
