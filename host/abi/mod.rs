//! The C ABI: every `erl_driver` symbol porthost exports, one file per
//! area, and [`entry`], the one place that calls into a driver's entry.
//!
//! This is the only module with `extern "C"` functions. The contract of
//! each function (ownership, threads, ERTS behaviour) is documented in
//! `include/erl_driver.h`; the Rust side refers there. No panic crosses the
//! boundary: each exported function runs its body under `guard`, which
//! turns a panic into the function's error value and a message on stderr.

pub mod binary;
pub mod cov;
pub mod ddll;
pub mod entry;
pub mod failure;
pub mod misc;
pub mod output;
pub mod pdl;
pub mod ports;
pub mod queue;
pub mod select;
pub mod sys;
pub mod terms;
pub mod thread;

use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::ffi::ErlDrvPort;
use crate::port::Port;

/// Runs `f`, returning `fail` if it panics (the panic is reported on stderr
/// with the function's name).
pub(crate) fn guard<R>(name: &str, fail: R, f: impl FnOnce() -> R) -> R {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(e) => {
            let msg = e
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| e.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            eprintln!("porthost: internal error in {name}: {msg}");
            fail
        }
    }
}

/// Runs `f`, the body of `erl_driver` function `name` called with port
/// handle `port` (NULL for none), under [`guard`], and hands it to the
/// checker and the trace when they are on: the one way out of a driver.
/// With both off this is `guard` after one relaxed load. With the checker
/// on, a handle that is no live port is reported and `f` does not run
/// (`fail` is returned); a call from a thread `thread` does not allow is
/// reported and runs.
#[inline(always)]
pub(crate) fn hooked<R: std::fmt::Debug>(
    name: &'static str,
    port: ErlDrvPort,
    thread: crate::check::Thread,
    args: impl FnOnce() -> String,
    fail: R,
    f: impl FnOnce() -> R,
) -> R {
    if crate::check::hooks() == 0 {
        return guard(name, fail, f);
    }
    hooked_slow(name, port, thread, args, fail, f)
}

#[cold]
fn hooked_slow<R: std::fmt::Debug>(
    name: &'static str,
    port: ErlDrvPort,
    thread: crate::check::Thread,
    args: impl FnOnce() -> String,
    fail: R,
    f: impl FnOnce() -> R,
) -> R {
    use crate::check;
    let pdl = || {
        // SAFETY: only called once the checker found `port` live.
        unsafe { port_ref(port) }.map_or(0, |p| p.pdl.load(std::sync::atomic::Ordering::Acquire) as usize)
    };
    if !check::check_call(name, port as usize, thread, pdl) {
        return fail;
    }
    if check::hooks() & check::TRACE == 0 {
        return guard(name, fail, f);
    }
    let args = args();
    // SAFETY: the checker (if on) found it live; otherwise by contract.
    let id = unsafe { port_ref(port) }.map_or(0, |p| p.id().0);
    let t = std::time::Instant::now();
    let r = guard(name, fail, f);
    check::trace::call(id, name, &args, &format!("{r:?}"), t.elapsed());
    r
}

/// The port behind a driver's `ErlDrvPort`, `None` for NULL.
///
/// # Safety
/// A non-null `h` must be the handle of a live port (ERTS has the same
/// contract: drivers only use handles of their own open ports).
pub(crate) unsafe fn port_ref<'a>(h: ErlDrvPort) -> Option<&'a Port> {
    // SAFETY: by contract.
    (!h.is_null()).then(|| unsafe { Port::from_handle(h) })
}

/// A byte slice from a driver's pointer and length (empty for NULL).
///
/// # Safety
/// `p` must be valid for reads of `len` bytes, or `len` must be 0.
pub(crate) unsafe fn bytes<'a>(p: *const std::os::raw::c_char, len: usize) -> &'a [u8] {
    if p.is_null() || len == 0 {
        &[]
    } else {
        // SAFETY: by contract.
        unsafe { std::slice::from_raw_parts(p as *const u8, len) }
    }
}
