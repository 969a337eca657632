//! Write Erlang port drivers in safe Rust.
//!
//! A driver is a type implementing [`Driver`]; [`driver!`] makes the
//! library's `driver_init` and its `ErlDrvEntry`, so the library built as a
//! `cdylib` named after [`Driver::NAME`] loads in porthost and in ERTS 25
//! alike (the ABI is `erl_driver.h`'s). The crate has no dependencies: the
//! host's functions (`driver_output`, ...) are resolved when the host loads
//! the library. A driver written with it needs no `unsafe`.
//!
//! What a driver gets, by `erl_driver` concept:
//! - callbacks ([`Driver`]): `start`, `stop`, `output`, `outputv` (a safe
//!   [`IoVec`] view; set [`Driver::OUTPUTV`]), `control`, `call` (with
//!   typed [`Term`]s in and out), `timeout`, `ready_input` /
//!   `ready_output` / `stop_select`, `flush`, `process_exit`; async jobs
//!   complete in a closure ([`Port::async_job`]) instead of `ready_async`;
//! - on a [`Port`]: output (`output`, `output_term` and `send_term` with a
//!   [`Term`] built by its constructors), timers, `driver_select`, the
//!   driver queue, async jobs, monitors ([`Monitor`]), `driver_caller`
//!   and `driver_connected` ([`Pid`]), failure.
//!
//! No panic crosses into C: every callback runs under `catch_unwind`. A
//! panic in any callback but `start` and `stop` makes the port fail with
//! the exit reason `driver_panic` (`driver_failure_atom`); a panic in
//! `start` makes `open_port` raise `badarg`; one in `stop` or
//! `stop_select` is reported on stderr; a panic in an async job's work
//! fails its port when the job completes. The host, porthost or ERTS, goes
//! on.
//!
//! ```ignore
//! use porthost_driver::{driver, Driver, Port, StartError};
//!
//! struct Echo;
//!
//! impl Driver for Echo {
//!     const NAME: &'static str = "rs_echo_drv";
//!     fn start(_port: Port, _command: &str) -> Result<Self, StartError> {
//!         Ok(Echo)
//!     }
//!     fn output(&mut self, port: Port, data: &[u8]) {
//!         port.output(data);
//!     }
//! }
//!
//! driver!(Echo);
//! ```
#![deny(missing_docs)]

use std::any::Any;
use std::ffi::{c_void, CStr, CString};
use std::os::raw::{c_char, c_int, c_uint};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Duration;

/// The C types and host functions of `erl_driver.h`: a copy of porthost's
/// bindgen output (`host/ffi/bindings.rs`), kept in this crate so that it
/// builds on its own (porthost's tests check that the two are the same).
#[allow(missing_docs, non_upper_case_globals, non_camel_case_types, non_snake_case, dead_code, clippy::all)]
pub mod ffi {
    include!("bindings.rs");
}

mod term;
pub use term::{decode, encode, Term, TermError};

/// `erl_drv_output_term` spec tags (`ERL_DRV_*` in `erl_driver.h`).
mod spec {
    use crate::ffi::ErlDrvTermData as T;
    pub const NIL: T = 1;
    pub const ATOM: T = 2;
    pub const INT: T = 3;
    pub const PORT: T = 4;
    pub const TUPLE: T = 7;
    pub const LIST: T = 8;
    pub const PID: T = 10;
    pub const FLOAT: T = 11;
    pub const BUF2BINARY: T = 14;
    pub const MAP: T = 17;
}

/// A port of this driver: the handle the host gave `start`. Valid while the
/// port lives (until `stop` returns); use it only in the port's callbacks.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Port(ffi::ErlDrvPort);

/// A process identifier, as the host gives it (`driver_caller`,
/// `driver_connected`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Pid(pub ffi::ErlDrvTermData);

/// A file descriptor watched by `driver_select`.
pub type Fd = std::os::fd::RawFd;

/// `driver_select` modes; combine with `|`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mode(c_int);

impl Mode {
    /// `ERL_DRV_READ`: call `ready_input` when readable.
    pub const READ: Mode = Mode(ffi::ErlNifSelectFlags_ERL_NIF_SELECT_READ as c_int);
    /// `ERL_DRV_WRITE`: call `ready_output` when writable.
    pub const WRITE: Mode = Mode(ffi::ErlNifSelectFlags_ERL_NIF_SELECT_WRITE as c_int);
    /// `ERL_DRV_USE`: the descriptor is in use; clearing it (with `on`
    /// false) ends the use, and `stop_select` runs when it may be closed.
    pub const USE: Mode = Mode(ffi::ErlNifSelectFlags_ERL_NIF_SELECT_STOP as c_int);
}

impl std::ops::BitOr for Mode {
    type Output = Mode;
    fn bitor(self, o: Mode) -> Mode {
        Mode(self.0 | o.0)
    }
}

/// A process monitor made by [`Port::monitor`]; [`Driver::process_exit`]
/// gets it back when the process exits.
#[derive(Clone, Copy)]
pub struct Monitor(ffi::ErlDrvMonitor);

impl PartialEq for Monitor {
    fn eq(&self, o: &Monitor) -> bool {
        // SAFETY: two monitors' storage, compared by the host.
        unsafe { ffi::driver_compare_monitors(&self.0, &o.0) == 0 }
    }
}

impl std::fmt::Debug for Monitor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Monitor")
    }
}

/// A failed host call (a negative return from the `erl_driver` function).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostError;

impl Port {
    /// Sends `data` to the port owner (`driver_output`): `{Port, {data, D}}`.
    pub fn output(&self, data: &[u8]) {
        // SAFETY: a live port handle and a buffer of data.len() bytes.
        unsafe { ffi::driver_output(self.0, data.as_ptr() as *mut c_char, data.len()) };
    }

    /// Sends `term` to the port owner (`erl_drv_output_term`): the term as
    /// built, e.g. `{Port, {data, ...}}` if the driver builds that.
    ///
    /// # Errors
    /// The host refused the term (the port is closing).
    pub fn output_term(&self, term: &Term) -> Result<(), HostError> {
        let mut s = Vec::new();
        self.spec(term, &mut s);
        // SAFETY: a live port; `s` is a well-formed spec whose pointers
        // (atom names made by the host, binaries and floats borrowed from
        // `term`) live through the call.
        let r = unsafe { ffi::erl_drv_output_term(ffi::driver_mk_port(self.0), s.as_mut_ptr(), s.len() as c_int) };
        if r < 0 { Err(HostError) } else { Ok(()) }
    }

    /// Sends `term` to the process `to` (`erl_drv_send_term`).
    ///
    /// # Errors
    /// The host refused (the process is gone or the port is closing).
    pub fn send_term(&self, to: Pid, term: &Term) -> Result<(), HostError> {
        let mut s = Vec::new();
        self.spec(term, &mut s);
        // SAFETY: as in output_term.
        let r = unsafe { ffi::erl_drv_send_term(ffi::driver_mk_port(self.0), to.0, s.as_mut_ptr(), s.len() as c_int) };
        if r <= 0 { Err(HostError) } else { Ok(()) }
    }

    /// Appends the `erl_drv_output_term` spec of `t` to `s` (elements
    /// first, then the constructor, as `erl_driver.h` describes).
    fn spec(&self, t: &Term, s: &mut Vec<ffi::ErlDrvTermData>) {
        match t {
            Term::Atom(a) => {
                let name = CString::new(a.as_str()).unwrap_or_else(|_| CString::from(c"invalid_atom"));
                // SAFETY: a NUL-terminated name the host copies.
                s.extend([spec::ATOM, unsafe { ffi::driver_mk_atom(name.as_ptr() as *mut c_char) }]);
            }
            Term::Int(i) => s.extend([spec::INT, *i as ffi::ErlDrvTermData]),
            Term::Float(f) => s.extend([spec::FLOAT, f as *const f64 as ffi::ErlDrvTermData]),
            Term::Binary(b) => s.extend([spec::BUF2BINARY, b.as_ptr() as ffi::ErlDrvTermData, b.len() as ffi::ErlDrvTermData]),
            Term::List(v) => {
                for x in v {
                    self.spec(x, s);
                }
                s.extend([spec::NIL, spec::LIST, v.len() as ffi::ErlDrvTermData + 1]);
            }
            Term::Tuple(v) => {
                for x in v {
                    self.spec(x, s);
                }
                s.extend([spec::TUPLE, v.len() as ffi::ErlDrvTermData]);
            }
            Term::Map(pairs) => {
                for (k, v) in pairs {
                    self.spec(k, s);
                    self.spec(v, s);
                }
                s.extend([spec::MAP, pairs.len() as ffi::ErlDrvTermData]);
            }
            Term::Pid(p) => s.extend([spec::PID, p.0]),
            // SAFETY: a live port handle.
            Term::Port(p) => s.extend([spec::PORT, unsafe { ffi::driver_mk_port(p.0) }]),
        }
    }

    /// Ends the port with the exit reason `reason` (`driver_failure_atom`).
    pub fn fail(&self, reason: &str) {
        let reason = CString::new(reason).unwrap_or_else(|_| CString::from(c"driver_failure"));
        // SAFETY: a live port handle and a NUL-terminated name.
        unsafe { ffi::driver_failure_atom(self.0, reason.as_ptr() as *mut c_char) };
    }

    /// Ends the port with reason `normal` once its queue is empty
    /// (`driver_failure_eof`).
    pub fn eof(&self) {
        // SAFETY: a live port handle.
        unsafe { ffi::driver_failure_eof(self.0) };
    }

    /// The process whose call runs the current callback (`driver_caller`;
    /// meaningful in `start`, `output`, `outputv`, `control` and `call`).
    pub fn caller(&self) -> Pid {
        // SAFETY: a live port handle.
        Pid(unsafe { ffi::driver_caller(self.0) })
    }

    /// The port owner (`driver_connected`).
    pub fn connected(&self) -> Pid {
        // SAFETY: a live port handle.
        Pid(unsafe { ffi::driver_connected(self.0) })
    }

    /// `port_control` answers arrive as binaries from now on
    /// (`set_port_control_flags(PORT_CONTROL_FLAG_BINARY)`), or as lists.
    pub fn control_answers_binary(&self, binary: bool) {
        let flags = if binary { ffi::PORT_CONTROL_FLAG_BINARY as c_int } else { 0 };
        // SAFETY: a live port handle.
        unsafe { ffi::set_port_control_flags(self.0, flags) };
    }

    /// Starts (or restarts) the port's timer: [`Driver::timeout`] runs
    /// after `after` (`driver_set_timer`, milliseconds).
    pub fn set_timer(&self, after: Duration) {
        let ms = after.as_millis().min(u128::from(u32::MAX)) as std::os::raw::c_ulong;
        // SAFETY: a live port handle.
        unsafe { ffi::driver_set_timer(self.0, ms) };
    }

    /// Stops the port's timer (`driver_cancel_timer`).
    pub fn cancel_timer(&self) {
        // SAFETY: a live port handle.
        unsafe { ffi::driver_cancel_timer(self.0) };
    }

    /// The time left on the port's timer, zero if none (`driver_read_timer`).
    pub fn timer_left(&self) -> Duration {
        let mut left: std::os::raw::c_ulong = 0;
        // SAFETY: a live port handle and a place for the answer.
        unsafe { ffi::driver_read_timer(self.0, &mut left) };
        Duration::from_millis(left as u64)
    }

    /// Watches (`on`) or stops watching `fd` for `mode` (`driver_select`).
    /// Clearing [`Mode::USE`] ends the use: [`Driver::stop_select`] runs
    /// when `fd` may be closed; until then, keep it open.
    ///
    /// # Errors
    /// The host refused.
    pub fn select(&self, fd: Fd, mode: Mode, on: bool) -> Result<(), HostError> {
        // SAFETY: a live port handle; the event is a descriptor number.
        let r = unsafe { ffi::driver_select(self.0, fd as isize as ffi::ErlDrvEvent, mode.0, c_int::from(on)) };
        if r < 0 { Err(HostError) } else { Ok(()) }
    }

    /// Stops watching `fd` and ends its use (clears [`Mode::READ`],
    /// [`Mode::WRITE`] and [`Mode::USE`]); the SDK keeps `fd` open until
    /// the host calls `stop_select` for it, then closes it, as
    /// `driver_select`'s contract requires. Call it in `stop` for each
    /// descriptor the port watched.
    pub fn deselect_and_close(&self, fd: std::os::fd::OwnedFd) {
        use std::os::fd::AsRawFd;
        let raw = fd.as_raw_fd();
        closing().lock().unwrap_or_else(|e| e.into_inner()).push(fd);
        if self.select(raw, Mode::READ | Mode::WRITE | Mode::USE, false).is_err() {
            closing().lock().unwrap_or_else(|e| e.into_inner()).retain(|f| f.as_raw_fd() != raw);
        }
    }

    /// Appends a copy of `data` to the port's driver queue (`driver_enq`).
    pub fn enqueue(&self, data: &[u8]) {
        // SAFETY: a live port handle and data.len() readable bytes.
        unsafe { ffi::driver_enq(self.0, data.as_ptr() as *mut c_char, data.len()) };
    }

    /// Appends `data` after its first `skip` bytes to the queue, sharing
    /// its binaries (`driver_enqv`).
    pub fn enqueue_iovec(&self, data: &IoVec<'_>, skip: usize) {
        // SAFETY: a live port handle and the host's ErlIOVec of the running
        // outputv (the host does not modify it).
        unsafe { ffi::driver_enqv(self.0, data.ev as *const _ as *mut _, skip) };
    }

    /// Bytes in the driver queue (`driver_sizeq`).
    pub fn queue_len(&self) -> usize {
        // SAFETY: a live port handle.
        let n = unsafe { ffi::driver_sizeq(self.0) };
        if n == usize::MAX { 0 } else { n }
    }

    /// A copy of the queue's contents, in order (`driver_peekq`).
    pub fn peek_queue(&self) -> Vec<u8> {
        let mut n: c_int = 0;
        // SAFETY: a live port handle; the host returns `n` segments that
        // stay valid until the queue changes, which it does not here.
        unsafe {
            let v = ffi::driver_peekq(self.0, &mut n);
            if v.is_null() || n <= 0 {
                return Vec::new();
            }
            let mut out = Vec::new();
            for s in std::slice::from_raw_parts(v, n as usize) {
                if s.iov_len > 0 {
                    out.extend_from_slice(std::slice::from_raw_parts(s.iov_base as *const u8, s.iov_len));
                }
            }
            out
        }
    }

    /// Removes the first `n` bytes of the queue (`driver_deq`); the bytes
    /// left.
    pub fn dequeue(&self, n: usize) -> usize {
        // SAFETY: a live port handle.
        unsafe { ffi::driver_deq(self.0, n.min(self.queue_len())) }
    }

    /// Monitors process `pid` (`driver_monitor_process`):
    /// [`Driver::process_exit`] runs with the monitor when it exits.
    /// `None` if it is not alive.
    pub fn monitor(&self, pid: Pid) -> Option<Monitor> {
        // SAFETY: zeroed monitor storage filled by the host.
        let mut m: ffi::ErlDrvMonitor = unsafe { std::mem::zeroed() };
        // SAFETY: a live port handle.
        (unsafe { ffi::driver_monitor_process(self.0, pid.0, &mut m) } == 0).then_some(Monitor(m))
    }

    /// Cancels a monitor (`driver_demonitor_process`).
    pub fn demonitor(&self, m: &Monitor) {
        // SAFETY: a live port handle and a monitor's storage.
        unsafe { ffi::driver_demonitor_process(self.0, &m.0) };
    }

    /// The process a live monitor watches (`driver_get_monitored_process`).
    pub fn monitored(&self, m: &Monitor) -> Option<Pid> {
        // SAFETY: a live port handle and a monitor's storage.
        let p = unsafe { ffi::driver_get_monitored_process(self.0, &m.0) };
        // SAFETY: reads the host's constant.
        (p != unsafe { ffi::driver_mk_term_nil() }).then_some(Pid(p))
    }

    /// Runs `work` on the host's async pool (`driver_async`), then `done`
    /// with its result in the port's context (in `ready_async`), with the
    /// driver's state: `port.async_job(move || compress(data), |drv: &mut
    /// MyDriver, port, out| port.output(&out))`. If the port closes first,
    /// `done` is dropped uncalled. A panic in `work` fails the port with
    /// `driver_panic` when the job completes.
    ///
    /// # Errors
    /// The host could not queue the job.
    pub fn async_job<D, R, W, F>(&self, work: W, done: F) -> Result<(), HostError>
    where
        D: Driver,
        R: Send + 'static,
        W: FnOnce() -> R + Send + 'static,
        F: FnOnce(&mut D, Port, R) + Send + 'static,
    {
        let job: Box<AsyncJob> = Box::new(AsyncJob {
            work: Some(Box::new(move || {
                let r = work();
                Box::new(move |d: &mut dyn Any, port: Port| {
                    if let Some(d) = d.downcast_mut::<D>() {
                        done(d, port, r);
                    }
                }) as Completion
            })),
            done: None,
            panicked: false,
        });
        let data = Box::into_raw(job) as *mut c_void;
        // SAFETY: a live port handle; `data` is a leaked Box<AsyncJob> that
        // async_invoke fills and ready_async or async_free takes back.
        let r = unsafe { ffi::driver_async(self.0, std::ptr::null_mut(), Some(async_invoke), data, Some(async_free)) };
        if r < 0 {
            // SAFETY: the host did not take the job: it is ours again.
            drop(unsafe { Box::from_raw(data as *mut AsyncJob) });
            return Err(HostError);
        }
        Ok(())
    }
}

/// Descriptors handed to [`Port::deselect_and_close`], closed when the
/// host calls `stop_select` for them.
fn closing() -> &'static std::sync::Mutex<Vec<std::os::fd::OwnedFd>> {
    static FDS: std::sync::OnceLock<std::sync::Mutex<Vec<std::os::fd::OwnedFd>>> = std::sync::OnceLock::new();
    FDS.get_or_init(Default::default)
}

/// What an async job's work returns: the completion, run in `ready_async`.
type Completion = Box<dyn FnOnce(&mut dyn Any, Port) + Send>;

struct AsyncJob {
    work: Option<Box<dyn FnOnce() -> Completion + Send>>,
    done: Option<Completion>,
    panicked: bool,
}

unsafe extern "C" fn async_invoke(data: *mut c_void) {
    // SAFETY: the Box<AsyncJob> from async_job, ours on this pool thread
    // until ready_async.
    let job = unsafe { &mut *(data as *mut AsyncJob) };
    if let Some(work) = job.work.take() {
        match catch_unwind(AssertUnwindSafe(work)) {
            Ok(done) => job.done = Some(done),
            Err(_) => {
                eprintln!("porthost-driver: a panic in an async job");
                job.panicked = true;
            }
        }
    }
}

unsafe extern "C" fn async_free(data: *mut c_void) {
    // SAFETY: the Box<AsyncJob> from async_job; the host is done with it.
    drop(unsafe { Box::from_raw(data as *mut AsyncJob) });
}

/// `outputv`'s data: a safe view of the host's `ErlIOVec` (segments in
/// order, `len` bytes in all), valid during the callback.
pub struct IoVec<'a> {
    ev: &'a ffi::ErlIOVec,
}

impl IoVec<'_> {
    /// The bytes in all segments.
    pub fn len(&self) -> usize {
        self.ev.size
    }
    /// No bytes.
    pub fn is_empty(&self) -> bool {
        self.ev.size == 0
    }
    /// The segments, in order.
    pub fn segments(&self) -> impl Iterator<Item = &[u8]> {
        let iov: &[ffi::SysIOVec] = if self.ev.iov.is_null() || self.ev.vsize <= 0 {
            &[]
        } else {
            // SAFETY: the host's vector of `vsize` segments, each of
            // `iov_len` readable bytes, valid during the callback.
            unsafe { std::slice::from_raw_parts(self.ev.iov, self.ev.vsize as usize) }
        };
        iov.iter().filter(|s| s.iov_len > 0 && !s.iov_base.is_null()).map(|s| {
            // SAFETY: as above.
            unsafe { std::slice::from_raw_parts(s.iov_base as *const u8, s.iov_len) }
        })
    }
    /// All the bytes, copied into one vector.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(self.len());
        for s in self.segments() {
            v.extend_from_slice(s);
        }
        v
    }
}

/// Why `start` refused a port; `open_port` raises accordingly.
#[derive(Debug, Clone, Copy)]
pub enum StartError {
    /// `ERL_DRV_ERROR_GENERAL`: `open_port` raises `einval`.
    General,
    /// `ERL_DRV_ERROR_BADARG`: `open_port` raises `badarg`.
    Badarg,
}

/// A refusal of `port_control` or `port_call`: the caller gets `badarg`
/// (a negative return from the callback).
#[derive(Debug, Clone, Copy)]
pub struct Badarg;

/// A port driver. One value per port, made by `start`; every callback but
/// `start` has a default that does nothing (or refuses).
pub trait Driver: Sized + 'static {
    /// The driver name: the first word of `open_port`'s command string, and
    /// the library's file name without `.so`.
    const NAME: &'static str;

    /// Whether `port_command` data arrives in [`outputv`](Self::outputv)
    /// as an [`IoVec`] (binaries shared, not copied) instead of in
    /// [`output`](Self::output). Default: `false`.
    const OUTPUTV: bool = false;

    /// A port opens: `command` is the whole command string.
    ///
    /// # Errors
    /// A [`StartError`] makes `open_port` fail.
    fn start(port: Port, command: &str) -> Result<Self, StartError>;

    /// `port_command` data, flattened.
    fn output(&mut self, _port: Port, _data: &[u8]) {}

    /// `port_command` data as the host holds it (with
    /// [`OUTPUTV`](Self::OUTPUTV)). Default: [`output`](Self::output) of
    /// the bytes.
    fn outputv(&mut self, port: Port, data: &IoVec<'_>) {
        let bytes = data.to_vec();
        self.output(port, &bytes);
    }

    /// `port_control(Port, Op, Data)`: the bytes to answer with (a list in
    /// the caller, or a binary after
    /// [`Port::control_answers_binary`]), or [`Badarg`].
    ///
    /// # Errors
    /// [`Badarg`] makes `port_control` raise `badarg` (the default for every
    /// operation).
    fn control(&mut self, _port: Port, _op: u32, _data: &[u8]) -> Result<Vec<u8>, Badarg> {
        Err(Badarg)
    }

    /// `erlang:port_call(Port, Op, Term)`: the answer term.
    ///
    /// # Errors
    /// [`Badarg`] makes `port_call` raise `badarg` (the default; also when
    /// the argument cannot be decoded or the answer encoded, see
    /// [`decode`]).
    fn call(&mut self, _port: Port, _op: u32, _arg: Term) -> Result<Term, Badarg> {
        Err(Badarg)
    }

    /// The port's timer ran out ([`Port::set_timer`]).
    fn timeout(&mut self, _port: Port) {}

    /// `fd` is readable ([`Port::select`] with [`Mode::READ`]).
    fn ready_input(&mut self, _port: Port, _fd: Fd) {}

    /// `fd` is writable ([`Port::select`] with [`Mode::WRITE`]).
    fn ready_output(&mut self, _port: Port, _fd: Fd) {}

    /// `fd`, no longer in use ([`Mode::USE`] cleared), may be closed now
    /// (one given to [`Port::deselect_and_close`] is closed already).
    /// No port: it may run after the port is gone.
    fn stop_select(_fd: Fd) {}

    /// The port is closing with data in its queue; the port closes when
    /// the queue is empty.
    fn flush(&mut self, _port: Port) {}

    /// A process monitored with [`Port::monitor`] exited.
    fn process_exit(&mut self, _port: Port, _monitor: Monitor) {}

    /// The port closes.
    fn stop(self, _port: Port) {}
}

/// What a port's `ErlDrvData` points to.
struct State<D> {
    port: Port,
    driver: D,
}

fn panicked(port: Port, what: &str) {
    eprintln!("porthost-driver: a panic in {what}: the port fails with driver_panic");
    port.fail("driver_panic");
}

/// The state behind `data`.
///
/// # Safety
/// `data` must come from `start::<D>` and the port must be live.
unsafe fn state<'a, D>(data: ffi::ErlDrvData) -> &'a mut State<D> {
    // SAFETY: by contract; the host serialises a port's callbacks.
    unsafe { &mut *(data as *mut State<D>) }
}

/// Runs `f` on the port's state, failing the port on a panic.
///
/// # Safety
/// As [`state`].
unsafe fn with<D: Driver, R>(data: ffi::ErlDrvData, what: &str, fail: R, f: impl FnOnce(&mut D, Port) -> R) -> R {
    // SAFETY: by contract.
    let st = unsafe { state::<D>(data) };
    let port = st.port;
    match catch_unwind(AssertUnwindSafe(|| f(&mut st.driver, port))) {
        Ok(r) => r,
        Err(_) => {
            panicked(port, what);
            fail
        }
    }
}

/// `len` bytes at `buf` (empty for none).
///
/// # Safety
/// `buf` must be readable for `len` bytes when `len > 0`.
unsafe fn bytes<'a>(buf: *const c_char, len: usize) -> &'a [u8] {
    if len == 0 || buf.is_null() {
        &[]
    } else {
        // SAFETY: by contract.
        unsafe { std::slice::from_raw_parts(buf as *const u8, len) }
    }
}

/// Writes `answer` where the host offers `rlen` bytes at `*rbuf`, or in
/// `driver_alloc`ed memory (which the host frees) when longer.
///
/// # Safety
/// `rbuf` must be the host's answer buffer pointer of `rlen` bytes.
unsafe fn answer(answer: &[u8], rbuf: *mut *mut c_char, rlen: usize) -> ffi::ErlDrvSSizeT {
    // SAFETY: by contract.
    unsafe {
        if answer.len() > rlen {
            let mem = ffi::driver_alloc(answer.len()) as *mut c_char;
            if mem.is_null() {
                return -1;
            }
            *rbuf = mem;
        }
        std::ptr::copy_nonoverlapping(answer.as_ptr(), *rbuf as *mut u8, answer.len());
    }
    answer.len() as ffi::ErlDrvSSizeT
}

mod callbacks {
    use super::*;

    pub unsafe extern "C" fn start<D: Driver>(port: ffi::ErlDrvPort, command: *mut c_char) -> ffi::ErlDrvData {
        let p = Port(port);
        // SAFETY: the host passes a NUL-terminated command string.
        let command = unsafe { CStr::from_ptr(command) }.to_string_lossy().into_owned();
        match catch_unwind(AssertUnwindSafe(|| D::start(p, &command))) {
            Ok(Ok(driver)) => Box::into_raw(Box::new(State { port: p, driver })) as ffi::ErlDrvData,
            Ok(Err(StartError::General)) => -1isize as ffi::ErlDrvData,
            Ok(Err(StartError::Badarg)) => -3isize as ffi::ErlDrvData,
            Err(_) => {
                eprintln!("porthost-driver: a panic in start: open_port raises badarg");
                -3isize as ffi::ErlDrvData
            }
        }
    }

    pub unsafe extern "C" fn stop<D: Driver>(data: ffi::ErlDrvData) {
        // SAFETY: the last callback of the port: the state is ours again.
        let st = unsafe { Box::from_raw(data as *mut State<D>) };
        let port = st.port;
        if catch_unwind(AssertUnwindSafe(move || st.driver.stop(port))).is_err() {
            eprintln!("porthost-driver: a panic in stop (ignored: the port is closing)");
        }
    }

    pub unsafe extern "C" fn output<D: Driver>(data: ffi::ErlDrvData, buf: *mut c_char, len: ffi::ErlDrvSizeT) {
        // SAFETY: a live port's state and a buffer of `len` bytes.
        unsafe { with::<D, _>(data, "output", (), |d, p| d.output(p, bytes(buf, len))) }
    }

    pub unsafe extern "C" fn outputv<D: Driver>(data: ffi::ErlDrvData, ev: *mut ffi::ErlIOVec) {
        if ev.is_null() {
            return;
        }
        // SAFETY: a live port's state and the host's ErlIOVec, valid
        // during the callback.
        unsafe { with::<D, _>(data, "outputv", (), |d, p| d.outputv(p, &IoVec { ev: &*ev })) }
    }

    pub unsafe extern "C" fn control<D: Driver>(
        data: ffi::ErlDrvData,
        op: c_uint,
        buf: *mut c_char,
        len: ffi::ErlDrvSizeT,
        rbuf: *mut *mut c_char,
        rlen: ffi::ErlDrvSizeT,
    ) -> ffi::ErlDrvSSizeT {
        // SAFETY: a live port's state, a buffer of `len` bytes, the host's
        // answer buffer.
        unsafe {
            with::<D, _>(data, "control", -1, |d, p| match d.control(p, op, bytes(buf, len)) {
                Ok(a) => answer(&a, rbuf, rlen),
                Err(Badarg) => -1,
            })
        }
    }

    pub unsafe extern "C" fn call<D: Driver>(
        data: ffi::ErlDrvData,
        op: c_uint,
        buf: *mut c_char,
        len: ffi::ErlDrvSizeT,
        rbuf: *mut *mut c_char,
        rlen: ffi::ErlDrvSizeT,
        _flags: *mut c_uint,
    ) -> ffi::ErlDrvSSizeT {
        // SAFETY: as in control.
        unsafe {
            with::<D, _>(data, "call", -1, |d, p| {
                let Ok(arg) = decode(bytes(buf, len)) else { return -1 };
                match d.call(p, op, arg).map(|t| encode(&t)) {
                    Ok(Ok(a)) => answer(&a, rbuf, rlen),
                    _ => -1,
                }
            })
        }
    }

    pub unsafe extern "C" fn timeout<D: Driver>(data: ffi::ErlDrvData) {
        // SAFETY: a live port's state.
        unsafe { with::<D, _>(data, "timeout", (), |d, p| d.timeout(p)) }
    }

    pub unsafe extern "C" fn ready_input<D: Driver>(data: ffi::ErlDrvData, ev: ffi::ErlDrvEvent) {
        // SAFETY: a live port's state.
        unsafe { with::<D, _>(data, "ready_input", (), |d, p| d.ready_input(p, ev as isize as Fd)) }
    }

    pub unsafe extern "C" fn ready_output<D: Driver>(data: ffi::ErlDrvData, ev: ffi::ErlDrvEvent) {
        // SAFETY: a live port's state.
        unsafe { with::<D, _>(data, "ready_output", (), |d, p| d.ready_output(p, ev as isize as Fd)) }
    }

    pub unsafe extern "C" fn stop_select<D: Driver>(ev: ffi::ErlDrvEvent, _reserved: *mut c_void) {
        use std::os::fd::AsRawFd;
        let fd = ev as isize as Fd;
        // Close a descriptor the SDK kept for deselect_and_close.
        closing().lock().unwrap_or_else(|e| e.into_inner()).retain(|f| f.as_raw_fd() != fd);
        if catch_unwind(|| D::stop_select(fd)).is_err() {
            eprintln!("porthost-driver: a panic in stop_select (ignored)");
        }
    }

    pub unsafe extern "C" fn flush<D: Driver>(data: ffi::ErlDrvData) {
        // SAFETY: a live port's state.
        unsafe { with::<D, _>(data, "flush", (), |d, p| d.flush(p)) }
    }

    pub unsafe extern "C" fn process_exit<D: Driver>(data: ffi::ErlDrvData, m: *mut ffi::ErlDrvMonitor) {
        if m.is_null() {
            return;
        }
        // SAFETY: a live port's state and the host's monitor storage.
        unsafe {
            let m = Monitor(*m);
            with::<D, _>(data, "process_exit", (), |d, p| d.process_exit(p, m))
        }
    }

    pub unsafe extern "C" fn ready_async<D: Driver>(data: ffi::ErlDrvData, job: ffi::ErlDrvThreadData) {
        // SAFETY: the Box<AsyncJob> from Port::async_job, handed back once.
        let job = unsafe { Box::from_raw(job as *mut AsyncJob) };
        // SAFETY: a live port's state.
        unsafe {
            with::<D, _>(data, "ready_async", (), |d, p| {
                if job.panicked {
                    panic!("the async job's work panicked");
                }
                if let Some(done) = job.done {
                    done(d, p);
                }
            })
        }
    }
}

/// The driver entry of `D` (what `driver_init` returns), made once.
pub fn entry_for<D: Driver>() -> *mut ffi::ErlDrvEntry {
    // SAFETY: ErlDrvEntry is plain data: all-zero is no callbacks.
    let mut e: ffi::ErlDrvEntry = unsafe { std::mem::zeroed() };
    e.start = Some(callbacks::start::<D>);
    e.stop = Some(callbacks::stop::<D>);
    if D::OUTPUTV {
        e.outputv = Some(callbacks::outputv::<D>);
    } else {
        e.output = Some(callbacks::output::<D>);
    }
    e.control = Some(callbacks::control::<D>);
    e.call = Some(callbacks::call::<D>);
    e.timeout = Some(callbacks::timeout::<D>);
    e.ready_input = Some(callbacks::ready_input::<D>);
    e.ready_output = Some(callbacks::ready_output::<D>);
    e.stop_select = Some(callbacks::stop_select::<D>);
    e.flush = Some(callbacks::flush::<D>);
    e.process_exit = Some(callbacks::process_exit::<D>);
    e.ready_async = Some(callbacks::ready_async::<D>);
    e.driver_name = CString::new(D::NAME).expect("a driver name without NUL").into_raw();
    e.extended_marker = ffi::ERL_DRV_EXTENDED_MARKER as _;
    e.major_version = ffi::ERL_DRV_EXTENDED_MAJOR_VERSION as _;
    e.minor_version = ffi::ERL_DRV_EXTENDED_MINOR_VERSION as _;
    // The entry lives as long as the library: the host reads it until it
    // unloads the driver.
    Box::into_raw(Box::new(e))
}

/// Defines the library's `driver_init` for the [`Driver`] type `$t`.
#[macro_export]
macro_rules! driver {
    ($t:ty) => {
        /// The driver's entry point, as `DRIVER_INIT` makes it in C.
        #[no_mangle]
        pub extern "C" fn driver_init() -> *mut $crate::ffi::ErlDrvEntry {
            $crate::entry_for::<$t>()
        }
    };
}
