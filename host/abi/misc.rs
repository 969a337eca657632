//! Port facts and term handles: `set_port_control_flags`, `get_port_flags`,
//! `driver_connected`, `driver_caller`, `driver_mk_port`, `driver_mk_atom`,
//! `erl_errno_id` (see `include/erl_driver.h`).
//!
//! `ErlDrvTermData` handles use ERTS's immediate tagging, so they are small
//! integers a driver can store: a pid is `(n << 4) | 0x3`, a port
//! `(id << 4) | 0x7`, an atom `(index << 6) | 0xB`.
#![allow(clippy::missing_safety_doc)]

use std::ffi::CStr;
use std::os::raw::{c_char, c_int};
use std::sync::atomic::Ordering;

use crate::ffi::{ErlDrvPort, ErlDrvTermData};
use crate::term::{Atom, Pid, PortId};

/// The `ErlDrvTermData` of `[]` (`driver_term_nil`; ERTS's NIL immediate).
pub const NIL_TERM_DATA: ErlDrvTermData = 0x3B;

const TAG_PID: usize = 0x3;
const TAG_PORT: usize = 0x7;
const TAG_ATOM: usize = 0xB;

/// The `ErlDrvTermData` of a pid.
pub fn pid_term_data(pid: Pid) -> ErlDrvTermData {
    (((pid.0 as usize) << 4) | TAG_PID) as ErlDrvTermData
}

/// The `ErlDrvTermData` of a port.
pub fn port_term_data(id: PortId) -> ErlDrvTermData {
    (((id.0 as usize) << 4) | TAG_PORT) as ErlDrvTermData
}

/// The `ErlDrvTermData` of an atom.
pub fn atom_term_data(a: Atom) -> ErlDrvTermData {
    (((a.index() as usize) << 6) | TAG_ATOM) as ErlDrvTermData
}

/// The pid behind a pid handle.
pub fn term_data_pid(t: ErlDrvTermData) -> Option<Pid> {
    (t as usize & 0xF == TAG_PID).then_some(Pid((t as usize >> 4) as u32))
}

/// The port id behind a port handle (the port need not be open).
pub fn term_data_port(t: ErlDrvTermData) -> Option<PortId> {
    (t as usize & 0xF == TAG_PORT).then_some(PortId((t as usize >> 4) as u64))
}

/// The atom behind an atom handle; `None` for other handles and for an
/// index no atom has.
pub fn term_data_atom(t: ErlDrvTermData) -> Option<Atom> {
    if t as usize & 0x3F != TAG_ATOM {
        return None;
    }
    Atom::from_index(u32::try_from(t as usize >> 6).ok()?)
}

/// `set_port_control_flags(port, flags)`: `PORT_CONTROL_FLAG_BINARY` makes
/// `port_control` answer with binaries.
#[no_mangle]
pub unsafe extern "C" fn set_port_control_flags(port: ErlDrvPort, flags: c_int) {
    super::hooked("set_port_control_flags", port, crate::check::Thread::Callback, || flags.to_string(), (), || {
        // SAFETY: live port by contract.
        if let Some(p) = unsafe { super::port_ref(port) } {
            p.control_flags.store(flags, Ordering::Relaxed);
        }
    })
}

/// `get_port_flags(port)`: `PORT_FLAG_BINARY` if opened with `binary`
/// (`PORT_FLAG_LINE` never: line mode is for spawned programs).
#[no_mangle]
pub unsafe extern "C" fn get_port_flags(port: ErlDrvPort) -> c_int {
    // SAFETY: live port by contract.
    match unsafe { super::port_ref(port) } {
        Some(p) => p.binary_mode() as c_int,
        None => 0,
    }
}

/// `driver_connected(port)`: the port owner.
#[no_mangle]
pub unsafe extern "C" fn driver_connected(port: ErlDrvPort) -> ErlDrvTermData {
    // SAFETY: live port by contract.
    match unsafe { super::port_ref(port) } {
        Some(p) => pid_term_data(p.owner_pid()),
        None => 0,
    }
}

/// `driver_caller(port)`: the process whose call into the port runs the
/// current callback.
#[no_mangle]
pub unsafe extern "C" fn driver_caller(port: ErlDrvPort) -> ErlDrvTermData {
    super::hooked("driver_caller", port, crate::check::Thread::Callback, String::new, 0, || {
        // SAFETY: live port by contract.
        match unsafe { super::port_ref(port) } {
            Some(p) => pid_term_data(p.state.lock().borrow().caller),
            None => 0,
        }
    })
}

/// `driver_mk_port(port)`: the port's id as term data.
#[no_mangle]
pub unsafe extern "C" fn driver_mk_port(port: ErlDrvPort) -> ErlDrvTermData {
    // SAFETY: live port by contract.
    match unsafe { super::port_ref(port) } {
        Some(p) => {
            // erl_drv_output_term finds the port again from this handle.
            super::terms::note_host(p);
            port_term_data(p.id())
        }
        None => 0,
    }
}

/// `driver_mk_atom(string)`: interns the atom.
#[no_mangle]
pub unsafe extern "C" fn driver_mk_atom(string: *mut c_char) -> ErlDrvTermData {
    if string.is_null() {
        return 0;
    }
    // SAFETY: NUL-terminated by contract.
    let name = unsafe { CStr::from_ptr(string) }.to_string_lossy();
    atom_term_data(Atom::new(&name))
}

/// `erl_errno_id(error)`: the POSIX name of an errno value, as an atom text
/// (`"einval"`), `"unknown"` for values without one.
#[no_mangle]
pub unsafe extern "C" fn erl_errno_id(error: c_int) -> *mut c_char {
    errno_cstr(error).as_ptr() as *mut c_char
}

/// The lower-case POSIX name of `errno` (`"enoent"`), `"unknown"` if none.
pub fn errno_name(errno: c_int) -> &'static str {
    errno_cstr(errno).to_str().expect("ASCII names")
}

fn errno_cstr(e: c_int) -> &'static CStr {
    macro_rules! names {
        ($($n:ident),* $(,)?) => {
            match e {
                $(libc::$n => lower_name(concat!(stringify!($n), "\0")),)*
                _ => c"unknown",
            }
        };
    }
    names!(
        EPERM, ENOENT, ESRCH, EINTR, EIO, ENXIO, E2BIG, ENOEXEC, EBADF, ECHILD, EAGAIN, ENOMEM,
        EACCES, EFAULT, ENOTBLK, EBUSY, EEXIST, EXDEV, ENODEV, ENOTDIR, EISDIR, EINVAL, ENFILE,
        EMFILE, ENOTTY, ETXTBSY, EFBIG, ENOSPC, ESPIPE, EROFS, EMLINK, EPIPE, EDOM, ERANGE,
        EDEADLK, ENAMETOOLONG, ENOLCK, ENOSYS, ENOTEMPTY, ELOOP, ENOMSG, EIDRM, ENOSTR, ENODATA,
        ETIME, ENOSR, EREMOTE, ENOLINK, EPROTO, EMULTIHOP, EBADMSG, EOVERFLOW, EILSEQ, EUSERS,
        ENOTSOCK, EDESTADDRREQ, EMSGSIZE, EPROTOTYPE, ENOPROTOOPT, EPROTONOSUPPORT,
        ESOCKTNOSUPPORT, EOPNOTSUPP, EPFNOSUPPORT, EAFNOSUPPORT, EADDRINUSE, EADDRNOTAVAIL,
        ENETDOWN, ENETUNREACH, ENETRESET, ECONNABORTED, ECONNRESET, ENOBUFS, EISCONN, ENOTCONN,
        ESHUTDOWN, ETOOMANYREFS, ETIMEDOUT, ECONNREFUSED, EHOSTDOWN, EHOSTUNREACH, EALREADY,
        EINPROGRESS, ESTALE, EDQUOT, ECANCELED,
    )
}

/// The lower-case, NUL-terminated copy of an upper-case errno name, made
/// once per name and kept for the life of the process.
fn lower_name(upper: &'static str) -> &'static CStr {
    use std::collections::HashMap;
    use std::sync::OnceLock;
    static NAMES: OnceLock<parking_lot::Mutex<HashMap<&'static str, &'static CStr>>> = OnceLock::new();
    let mut m = NAMES.get_or_init(Default::default).lock();
    m.entry(upper).or_insert_with(|| {
        let lower = upper.to_ascii_lowercase();
        let leaked: &'static [u8] = Box::leak(lower.into_bytes().into_boxed_slice());
        CStr::from_bytes_with_nul(leaked).expect("one NUL at the end")
    })
}

/// `driver_set_timer(port, timeout)`: arms the port's one timer; `timeout`
/// is in milliseconds. Returns 0 (also for a driver without a `timeout`
/// callback, as ERTS 25 does: nothing fires), or -1 for a bad port.
#[no_mangle]
pub unsafe extern "C" fn driver_set_timer(port: ErlDrvPort, timeout: std::os::raw::c_ulong) -> c_int {
    super::hooked("driver_set_timer", port, crate::check::Thread::Callback, || timeout.to_string(), -1, || {
        // SAFETY: live port by contract.
        let Some(p) = (unsafe { super::port_ref(port) }) else { return -1 };
        let Some(host) = p.host.upgrade() else { return -1 };
        host.timers.set(&host, p, timeout);
        0
    })
}

/// `driver_cancel_timer(port)`: disarms the port's timer. Returns 0.
#[no_mangle]
pub unsafe extern "C" fn driver_cancel_timer(port: ErlDrvPort) -> c_int {
    super::hooked("driver_cancel_timer", port, crate::check::Thread::Callback, String::new, -1, || {
        // SAFETY: live port by contract.
        let Some(p) = (unsafe { super::port_ref(port) }) else { return -1 };
        if let Some(host) = p.host.upgrade() {
            host.timers.cancel(p);
        }
        0
    })
}

/// `driver_read_timer(port, &time_left)`: milliseconds until the timer
/// fires (0 if none is armed). Returns 0.
#[no_mangle]
pub unsafe extern "C" fn driver_read_timer(port: ErlDrvPort, time_left: *mut std::os::raw::c_ulong) -> c_int {
    // SAFETY: live port by contract.
    let Some(p) = (unsafe { super::port_ref(port) }) else { return -1 };
    let left = p.host.upgrade().map(|h| h.timers.left(p)).unwrap_or(0);
    if !time_left.is_null() {
        // SAFETY: points to an unsigned long, by contract.
        unsafe { *time_left = left as std::os::raw::c_ulong };
    }
    0
}
