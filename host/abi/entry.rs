//! The one choke point for calls into a driver: every driver entry callback
//! (`start`, `stop`, `output`, `outputv`, `control`, `call`, `flush`,
//! `timeout`, `ready_input`, `ready_output`, `ready_async`, `process_exit`,
//! `stop_select`) is called from here, and only from here, each with the
//! port it runs for. The caller (the driver backend,
//! `crate::port::backend::driver`, or an event through
//! `crate::port::run_callback`) is inside the port's callback scope: it
//! holds the driver and port locks.

use std::ffi::CStr;
use std::os::raw::{c_char, c_uint};

use crate::binary::{self, Bin};
use crate::check::{self, trace};
use crate::error::BifError;
use crate::abi::sys::{spent, Timeslice};
use crate::ddll::Driver;
use crate::ffi::{ErlDrvBinary, ErlDrvData, ErlDrvEvent, ErlDrvThreadData, ErlIOVec};
use crate::port::{Port, CALL_RLEN, CONTROL_RLEN, PORT_CONTROL_FLAG_BINARY};
use crate::term::{Atom, Term};

/// `ERL_DRV_ERROR_GENERAL`, `ERL_DRV_ERROR_ERRNO`, `ERL_DRV_ERROR_BADARG`.
const ERROR_GENERAL: isize = -1;
const ERROR_ERRNO: isize = -2;
const ERROR_BADARG: isize = -3;

/// Calls `start(port, command)`. The errors are what ERTS's `open_port/2`
/// raises for the three `ERL_DRV_ERROR_*` returns.
pub(crate) fn start(port: &Port, driver: &Driver, command: &CStr) -> Result<ErlDrvData, BifError> {
    // Watched by the parent's watchdog in a worker (`crate::isolate::clock`).
    let _busy = crate::isolate::clock::Busy::begin();
    let Some(start) = driver.entry().start else { return Ok(std::ptr::null_mut()) };
    let _cb = hook(port, driver, "start", || {
        let opts = if port.binary_mode() { "[binary]" } else { "[]" };
        format!("{:?}, {opts}", command.to_string_lossy())
    });
    // SAFETY: `start` is the driver's callback, called as erl_driver.h
    // specifies, with a live port handle and a NUL-terminated command that
    // outlives the call.
    let data = unsafe { start(port.handle(), command.as_ptr() as *mut c_char) };
    start_result(port, data)
}

/// What `open_port/2` makes of a start result (`start`'s return, or the
/// value given to `erl_drv_init_ack`): the three `ERL_DRV_ERROR_*` values
/// are errors (with `errno` for `ERL_DRV_ERROR_ERRNO`), anything else is
/// the port's data.
pub(crate) fn start_result(port: &Port, data: ErlDrvData) -> Result<ErlDrvData, BifError> {
    let errno = std::io::Error::last_os_error().raw_os_error().unwrap_or(0);
    match data as isize {
        ERROR_GENERAL => Err(BifError::Posix(Atom::new("einval"))),
        ERROR_ERRNO => Err(BifError::Posix(Atom::new(super::misc::errno_name(errno)))),
        ERROR_BADARG => Err(BifError::badarg(format!(
            "driver {} refused to start (ERL_DRV_ERROR_BADARG)",
            port.driver_name()
        ))),
        _ => Ok(data),
    }
}

/// Calls `stop(drv_data)`.
pub(crate) fn stop(port: &Port, driver: &Driver, data: ErlDrvData) {
    let _busy = crate::isolate::clock::Busy::begin();
    if let Some(stop) = driver.entry().stop {
        let _cb = hook(port, driver, "stop", String::new);
        // SAFETY: the driver's callback with the data its start returned.
        unsafe { stop(data) }
    }
}

/// Calls `flush(drv_data)`.
pub(crate) fn flush(port: &Port, driver: &Driver, data: ErlDrvData) {
    let _busy = crate::isolate::clock::Busy::begin();
    if let Some(flush) = driver.entry().flush {
        let _cb = hook(port, driver, "flush", String::new);
        // SAFETY: as for stop.
        unsafe { flush(data) }
    }
}

/// Calls `timeout(drv_data)`.
pub(crate) fn timeout(port: &Port, driver: &Driver, data: ErlDrvData) {
    let _busy = crate::isolate::clock::Busy::begin();
    let _slice = Timeslice::begin(port.handle(), spent::TIMEOUT);
    if let Some(timeout) = driver.entry().timeout {
        let _cb = hook(port, driver, "timeout", String::new);
        // SAFETY: as for stop.
        unsafe { timeout(data) }
    }
}

/// Calls `ready_input(drv_data, event)`.
pub(crate) fn ready_input(port: &Port, driver: &Driver, data: ErlDrvData, fd: i32) {
    let _busy = crate::isolate::clock::Busy::begin();
    if let Some(f) = driver.entry().ready_input {
        let _cb = hook(port, driver, "ready_input", || fd.to_string());
        // SAFETY: the driver's callback for an event it selected.
        unsafe { f(data, fd as isize as ErlDrvEvent) }
    }
}

/// Calls `ready_output(drv_data, event)`.
pub(crate) fn ready_output(port: &Port, driver: &Driver, data: ErlDrvData, fd: i32) {
    let _busy = crate::isolate::clock::Busy::begin();
    if let Some(f) = driver.entry().ready_output {
        let _cb = hook(port, driver, "ready_output", || fd.to_string());
        // SAFETY: as for ready_input.
        unsafe { f(data, fd as isize as ErlDrvEvent) }
    }
}

/// Calls `stop_select(event, NULL)`: the driver may now close the event.
pub(crate) fn stop_select(driver: &Driver, fd: i32) {
    let _busy = crate::isolate::clock::Busy::begin();
    if let Some(f) = driver.entry().stop_select {
        let _guard = driver.driver_lock.lock();
        check::stop_select(fd);
        let _cb = check::callback(0, 0, driver.name(), "stop_select", || fd.to_string());
        // SAFETY: the driver's callback for an event it marked in use.
        unsafe { f(fd as isize as ErlDrvEvent, std::ptr::null_mut()) }
    }
}

/// Calls `process_exit(drv_data, monitor)`.
pub(crate) fn process_exit(port: &Port, driver: &Driver, data: ErlDrvData, monitor: &mut crate::ffi::ErlDrvMonitor) {
    let _busy = crate::isolate::clock::Busy::begin();
    if let Some(f) = driver.entry().process_exit {
        let _cb = hook(port, driver, "process_exit", String::new);
        // SAFETY: the driver's callback with a monitor it made.
        unsafe { f(data, monitor) }
    }
}

/// Calls `ready_async(drv_data, async_data)`.
pub(crate) fn ready_async(port: &Port, driver: &Driver, data: ErlDrvData, async_data: *mut std::ffi::c_void) {
    let _busy = crate::isolate::clock::Busy::begin();
    if let Some(f) = driver.entry().ready_async {
        let _cb = hook(port, driver, "ready_async", || format!("{async_data:p}"));
        // SAFETY: the driver's callback with the data of its finished job.
        unsafe { f(data, async_data as ErlDrvThreadData) }
    }
}

/// Calls `output(drv_data, buf, len)`.
pub(crate) fn output(port: &Port, driver: &Driver, data: ErlDrvData, buf: &[u8]) {
    let _busy = crate::isolate::clock::Busy::begin();
    let _slice = Timeslice::begin(port.handle(), spent::OUTPUT);
    if let Some(output) = driver.entry().output {
        let _cb = hook(port, driver, "output", || trace::payload(buf));
        // SAFETY: the buffer is valid for `len` bytes during the call; the
        // driver may not keep it (erl_driver.h).
        unsafe { output(data, buf.as_ptr() as *mut c_char, buf.len()) }
    }
}

/// Calls `outputv(drv_data, ev)`.
pub(crate) fn outputv(port: &Port, driver: &Driver, data: ErlDrvData, ev: *mut ErlIOVec) {
    let _busy = crate::isolate::clock::Busy::begin();
    let _slice = Timeslice::begin(port.handle(), spent::OUTPUT);
    if let Some(outputv) = driver.entry().outputv {
        // SAFETY: `ev` is the live ErlIOVec the caller built.
        let _cb = hook(port, driver, "outputv", || trace::payload(&unsafe { iovec_bytes(ev) }));
        // SAFETY: `ev` and everything it points to live during the call.
        unsafe { outputv(data, ev) }
    }
}

/// Calls `control(drv_data, op, buf, len, &rbuf, 64)` and makes its answer
/// into the term `port_control` returns, as ERTS does: a negative return is
/// `badarg`; `*rbuf` set to NULL is `[]`; in binary mode
/// (`PORT_CONTROL_FLAG_BINARY`) an answer in a new `ErlDrvBinary` is that
/// binary with its `orig_size` as the length (the reference passes to the
/// term), an answer left in the offered buffer a binary of `ret` bytes;
/// otherwise a list of `ret` bytes, a buffer the driver allocated in place of
/// the offered one being freed with `driver_free`.
pub(crate) fn control(port: &Port, driver: &Driver, data: ErlDrvData, op: u32, input: &[u8]) -> Result<Term, BifError> {
    // Under the port lock: a caller that waited for it may find the port
    // closed (here rather than around the callback: a `Result` more around
    // the answer costs a copy of it).
    crate::port::scope::still_open(port)?;
    // The driver may write into its input: it gets a copy, on the stack
    // when small. Not zeroed first: only the bytes copied in are read.
    const STACK: usize = 256;
    let mut stack = [std::mem::MaybeUninit::<u8>::uninit(); STACK];
    let mut heap;
    let input: &mut [u8] = if input.len() <= STACK {
        // SAFETY: `[MaybeUninit<u8>]` has the layout of `[u8]`; the copy
        // initialises the first `input.len()` bytes, all the slice covers.
        unsafe {
            let p = stack.as_mut_ptr() as *mut u8;
            std::ptr::copy_nonoverlapping(input.as_ptr(), p, input.len());
            std::slice::from_raw_parts_mut(p, input.len())
        }
    } else {
        heap = input.to_vec();
        &mut heap
    };
    let _busy = crate::isolate::clock::Busy::begin();
    let _slice = Timeslice::begin(port.handle(), spent::CONTROL);
    let Some(control) = driver.entry().control else {
        return Err(BifError::badarg(format!("driver {} has no control callback", driver.name())));
    };
    let mut cb = hook(port, driver, "control", || format!("{op}, {}", trace::payload(input)));
    let mut offered = [0u8; CONTROL_RLEN];
    let orig = offered.as_mut_ptr() as *mut c_char;
    let mut rbuf = orig;
    // SAFETY: the driver's callback, with a buffer of `len` bytes and an
    // answer buffer of CONTROL_RLEN bytes, both live during the call.
    let ret = unsafe {
        control(data, op as c_uint, input.as_mut_ptr() as *mut c_char, input.len(), &mut rbuf, CONTROL_RLEN)
    };
    let binary = port.control_flags.load(std::sync::atomic::Ordering::Relaxed) & PORT_CONTROL_FLAG_BINARY != 0;
    let binary = if check::hooks() & check::CHECK != 0 && !rbuf.is_null() && rbuf != orig {
        control_mode(port, binary, rbuf as usize)
    } else {
        binary
    };
    if let Some(cb) = &mut cb {
        cb.result(|| match ret {
            r if r < 0 => format!("{r} (badarg)"),
            _ if rbuf.is_null() => "[]".to_owned(),
            _ if rbuf == orig => trace::payload(&offered[..(ret as usize).min(CONTROL_RLEN)]),
            // SAFETY: the driver's answer: a binary (orig_size bytes) or a
            // driver_alloc'ed buffer of `ret` bytes.
            _ if binary => trace::payload(unsafe { binary::bytes_of(rbuf as *mut ErlDrvBinary) }),
            // SAFETY: as above.
            _ => trace::payload(unsafe { super::bytes(rbuf, ret as usize) }),
        });
    }
    if ret < 0 {
        release(rbuf, orig, binary);
        return Err(BifError::badarg(format!(
            "driver {} returned {ret} from control({op})",
            driver.name()
        )));
    }
    let ret = ret as usize;
    if rbuf.is_null() {
        return Ok(Term::nil());
    }
    let bytes_term = |b: &[u8]| if binary { Term::binary(b) } else { Term::compact_byte_list(b) };
    if rbuf == orig {
        return Ok(bytes_term(&offered[..ret.min(CONTROL_RLEN)]));
    }
    if binary {
        let bin = rbuf as *mut ErlDrvBinary;
        // SAFETY: in binary mode the driver hands over one reference to an
        // ErlDrvBinary from driver_alloc_binary (the control contract).
        let size = unsafe { (*bin).orig_size } as usize;
        // SAFETY: as above; the range is the whole binary.
        return Ok(Term::Binary(unsafe { Bin::from_raw(bin, 0, size) }));
    }
    // SAFETY: the driver allocated `rbuf` with driver_alloc and wrote `ret`
    // bytes; we own it now.
    let t = bytes_term(unsafe { super::bytes(rbuf, ret) });
    free_answer(rbuf);
    Ok(t)
}

/// Frees an answer buffer the driver allocated with `driver_alloc` (out of
/// line: the common answer fits the offered buffer).
#[cold]
#[inline(never)]
fn free_answer(rbuf: *mut c_char) {
    // The host frees it, not the driver: the checker must not count it as
    // the driver's free.
    check::host_frees(rbuf as usize);
    // SAFETY: a driver_alloc'ed answer buffer the driver handed over.
    unsafe { super::binary::free_unhooked(rbuf as *mut _) }
}

fn release(rbuf: *mut c_char, orig: *mut c_char, binary: bool) {
    if rbuf.is_null() || rbuf == orig {
        return;
    }
    if binary {
        // SAFETY: a binary-mode answer is a driver binary we now own.
        unsafe { binary::release_raw(rbuf as *mut ErlDrvBinary) }
    } else {
        free_answer(rbuf);
    }
}

/// Calls `call(drv_data, op, buf, len, &rbuf, 255, &flags)` with `arg` (an
/// external-format term) and returns what `answer` makes of the `ret`
/// bytes of its answer, read where the driver left them (no copy); a
/// buffer the driver allocated in place of the offered one is freed with
/// `driver_free` after that. A negative return is `badarg`.
pub(crate) fn call<R>(
    port: &Port,
    driver: &Driver,
    data: ErlDrvData,
    op: u32,
    arg: &mut [u8],
    answer: impl FnOnce(&[u8]) -> R,
) -> Result<R, BifError> {
    // As in `control`.
    crate::port::scope::still_open(port)?;
    let _busy = crate::isolate::clock::Busy::begin();
    let _slice = Timeslice::begin(port.handle(), spent::CALL);
    let Some(call) = driver.entry().call else {
        return Err(BifError::badarg(format!("driver {} has no call callback", driver.name())));
    };
    let mut cb = hook(port, driver, "call", || {
        let t = crate::term::ext::binary_to_term(arg).map_or_else(|| trace::payload(arg), |t| t.to_string());
        format!("{op}, {t}")
    });
    let mut offered = [0u8; CALL_RLEN];
    let orig = offered.as_mut_ptr() as *mut c_char;
    let mut rbuf = orig;
    let mut flags: c_uint = 0;
    // SAFETY: the driver's callback with live buffers, as for control.
    let ret = unsafe {
        call(data, op as c_uint, arg.as_mut_ptr() as *mut c_char, arg.len(), &mut rbuf, CALL_RLEN, &mut flags)
    };
    if let Some(cb) = &mut cb {
        cb.result(|| match ret {
            r if r < 0 => format!("{r} (badarg)"),
            _ if rbuf.is_null() => "[]".to_owned(),
            _ => {
                // SAFETY: the driver's answer of `ret` bytes (in the
                // offered buffer, or one it allocated).
                let b = unsafe { super::bytes(rbuf, (ret as usize).min(if rbuf == orig { CALL_RLEN } else { usize::MAX })) };
                crate::term::ext::binary_to_term(b).map_or_else(|| trace::payload(b), |t| t.to_string())
            }
        });
    }
    if ret < 0 {
        release(rbuf, orig, false);
        return Err(BifError::badarg(format!("driver {} returned {ret} from call({op})", driver.name())));
    }
    let ret = ret as usize;
    if rbuf.is_null() {
        return Ok(answer(&[]));
    }
    if rbuf == orig {
        return Ok(answer(&offered[..ret.min(CALL_RLEN)]));
    }
    // SAFETY: a driver_alloc'ed answer of `ret` bytes, now ours (freed
    // below, after its last use).
    let r = answer(unsafe { super::bytes(rbuf, ret) });
    release(rbuf, orig, false);
    Ok(r)
}

/// The term `Term::Binary` or list for `bytes` in the port's data mode.
pub(crate) fn data_term(port: &Port, bytes: &[u8]) -> Term {
    if port.binary_mode() {
        Term::binary(bytes)
    } else {
        Term::compact_byte_list(bytes)
    }
}

/// Enters callback `cb` for the checker and the trace (nothing, one relaxed
/// load, when both are off).
#[inline(always)]
fn hook(port: &Port, driver: &Driver, cb: &'static str, args: impl FnOnce() -> String) -> Option<check::Callback> {
    check::callback(port.handle() as usize, port.id().0, driver.name(), cb, args)
}

/// The bytes of an `ErlIOVec`, for the trace.
///
/// # Safety
/// `ev` must be a live ErlIOVec whose `iov` entries are readable.
unsafe fn iovec_bytes(ev: *const ErlIOVec) -> Vec<u8> {
    let mut v = Vec::new();
    if ev.is_null() {
        return v;
    }
    // SAFETY: by contract: `vsize` entries, each `iov_len` readable bytes.
    unsafe {
        let ev = &*ev;
        for i in 0..ev.vsize.max(0) as usize {
            let io = &*ev.iov.add(i);
            v.extend_from_slice(super::bytes(io.iov_base as *const c_char, io.iov_len));
        }
    }
    v
}

/// Checks the mode of a control answer the driver allocated: in binary mode
/// it must be an `ErlDrvBinary`, otherwise `driver_alloc`'ed memory.
/// Returns the mode to release it in (what it really is).
fn control_mode(port: &Port, binary: bool, rbuf: usize) -> bool {
    let is_bin = check::is_binary(rbuf);
    if binary && !is_bin && check::is_alloc(rbuf) {
        check::report(
            "control",
            format_args!(
                "control of port {} returned a driver_alloc'ed buffer in binary mode (PORT_CONTROL_FLAG_BINARY): the answer must be an ErlDrvBinary from driver_alloc_binary",
                Term::Port(port.id())
            ),
        );
        return false;
    }
    if !binary && is_bin {
        check::report(
            "control",
            format_args!(
                "control of port {} returned an ErlDrvBinary without PORT_CONTROL_FLAG_BINARY: in list mode the answer must be a driver_alloc'ed buffer",
                Term::Port(port.id())
            ),
        );
        return true;
    }
    binary
}
