//! Ending a port from the driver: `driver_failure`, `driver_failure_atom`,
//! `driver_failure_posix`, `driver_failure_eof`, `driver_exit` (see
//! `include/erl_driver.h`). The exit reasons are ERTS's: the integer for
//! `driver_failure`, the atom for `driver_failure_atom`, the errno atom for
//! `driver_failure_posix`, `normal` for `driver_failure_eof`. A failure
//! discards the driver queue; `driver_exit` unlinks the owner first, so no
//! exit signal reaches it, and exits with `normal` (err 0) or the errno atom.
#![allow(clippy::missing_safety_doc)]

use std::ffi::CStr;
use std::os::raw::{c_char, c_int};

use crate::ffi::ErlDrvPort;
use crate::port as port_mod;
use crate::term::Term;

fn fail(name: &'static str, port: ErlDrvPort, reason: impl FnOnce() -> Term) -> c_int {
    super::hooked(name, port, crate::check::Thread::Callback, String::new, -1, || {
        // SAFETY: live port by contract.
        let Some(p) = (unsafe { super::port_ref(port) }) else { return -1 };
        port_mod::request_exit(p, reason(), true);
        0
    })
}

/// `driver_failure(port, error)`: exit reason `error` (an integer; 0 is
/// `normal`, as in ERTS).
#[no_mangle]
pub unsafe extern "C" fn driver_failure(port: ErlDrvPort, error: c_int) -> c_int {
    fail("driver_failure", port, || if error == 0 { Term::atom("normal") } else { Term::Int(error as i64) })
}

/// `driver_failure_atom(port, string)`: exit reason `list_to_atom(string)`.
#[no_mangle]
pub unsafe extern "C" fn driver_failure_atom(port: ErlDrvPort, string: *mut c_char) -> c_int {
    if string.is_null() {
        return -1;
    }
    // SAFETY: a NUL-terminated string by contract.
    let name = unsafe { CStr::from_ptr(string) }.to_string_lossy().into_owned();
    fail("driver_failure_atom", port, || Term::atom(&name))
}

/// `driver_failure_posix(port, error)`: exit reason `erl_errno_id(error)`.
#[no_mangle]
pub unsafe extern "C" fn driver_failure_posix(port: ErlDrvPort, error: c_int) -> c_int {
    fail("driver_failure_posix", port, || Term::atom(super::misc::errno_name(error)))
}

/// `driver_failure_eof(port)`: `{Port, eof}` to the owner if the port was
/// opened with `eof`, else the port closes with reason `normal`.
#[no_mangle]
pub unsafe extern "C" fn driver_failure_eof(port: ErlDrvPort) -> c_int {
    super::hooked("driver_failure_eof", port, crate::check::Thread::Callback, String::new, -1, || {
        // SAFETY: live port by contract.
        let Some(p) = (unsafe { super::port_ref(port) }) else { return -1 };
        if p.options.eof {
            port_mod::send_owner(p, Term::Tuple(vec![Term::Port(p.id()), Term::atom("eof")]));
        } else {
            port_mod::request_exit(p, Term::atom("normal"), true);
        }
        0
    })
}

/// `driver_exit(port, err)`: unlinks the owner, then exits with `normal`
/// (`err` 0) or `erl_errno_id(err)`.
#[no_mangle]
pub unsafe extern "C" fn driver_exit(port: ErlDrvPort, err: c_int) -> c_int {
    super::hooked("driver_exit", port, crate::check::Thread::Callback, || err.to_string(), -1, || {
        // SAFETY: live port by contract.
        let Some(p) = (unsafe { super::port_ref(port) }) else { return -1 };
        port_mod::unlink_owner(p);
        let reason = if err == 0 { Term::atom("normal") } else { Term::atom(super::misc::errno_name(err)) };
        port_mod::request_exit(p, reason, true);
        0
    })
}
