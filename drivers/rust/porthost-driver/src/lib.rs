//! Write Erlang port drivers in safe Rust.
//!
//! A driver is a type implementing [`Driver`]; [`driver!`] makes the
//! library's `driver_init` and its `ErlDrvEntry`, so the library built as a
//! `cdylib` named after [`Driver::NAME`] loads in porthost and in ERTS 25
//! alike (the ABI is `include/erl_driver.h`'s). The crate has no
//! dependencies: the host's functions (`driver_output`, ...) are resolved
//! when the host loads the library.
//!
//! No panic crosses into C: every callback runs under `catch_unwind`. A
//! panic in `output`, `control` or a later callback makes the port fail with
//! the exit reason `driver_panic` (`driver_failure_atom`); a panic in
//! `start` makes `open_port` raise `badarg`; one in `stop` is reported on
//! stderr. The host, porthost or ERTS, goes on.
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

use std::ffi::{CStr, CString};
use std::os::raw::{c_char, c_uint};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// The C types and host functions of `erl_driver.h`: a copy of porthost's
/// bindgen output (`host/ffi/bindings.rs`), kept in this crate so that it
/// builds on its own (porthost's tests check that the two are the same).
#[allow(missing_docs, non_upper_case_globals, non_camel_case_types, non_snake_case, dead_code, clippy::all)]
pub mod ffi {
    include!("bindings.rs");
}

/// A port of this driver: the handle the host gave `start`. Valid while the
/// port lives (until `stop` returns).
#[derive(Clone, Copy, Debug)]
pub struct Port(ffi::ErlDrvPort);

impl Port {
    /// Sends `data` to the port owner (`driver_output`): `{Port, {data, D}}`.
    pub fn output(&self, data: &[u8]) {
        // SAFETY: a live port handle and a buffer of data.len() bytes.
        unsafe { ffi::driver_output(self.0, data.as_ptr() as *mut c_char, data.len()) };
    }

    /// Ends the port with the exit reason `reason` (`driver_failure_atom`).
    pub fn fail(&self, reason: &str) {
        let reason = CString::new(reason).unwrap_or_else(|_| CString::from(c"driver_failure"));
        // SAFETY: a live port handle and a NUL-terminated name.
        unsafe { ffi::driver_failure_atom(self.0, reason.as_ptr() as *mut c_char) };
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

/// A refusal of `port_control`: the caller gets `badarg` (a negative
/// return from the `control` callback).
#[derive(Debug, Clone, Copy)]
pub struct Badarg;

/// A port driver. One value per port, made by `start`.
pub trait Driver: Sized + 'static {
    /// The driver name: the first word of `open_port`'s command string, and
    /// the library's file name without `.so`.
    const NAME: &'static str;

    /// A port opens: `command` is the whole command string.
    ///
    /// # Errors
    /// A [`StartError`] makes `open_port` fail.
    fn start(port: Port, command: &str) -> Result<Self, StartError>;

    /// `port_command` data, flattened.
    fn output(&mut self, _port: Port, _data: &[u8]) {}

    /// `port_control(Port, Op, Data)`: the bytes to answer with (a list in
    /// the caller), or [`Badarg`].
    ///
    /// # Errors
    /// [`Badarg`] makes `port_control` raise `badarg` (the default for every
    /// operation).
    fn control(&mut self, _port: Port, _op: u32, _data: &[u8]) -> Result<Vec<u8>, Badarg> {
        Err(Badarg)
    }

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

unsafe extern "C" fn start<D: Driver>(port: ffi::ErlDrvPort, command: *mut c_char) -> ffi::ErlDrvData {
    let p = Port(port);
    // SAFETY: the host passes a NUL-terminated command string.
    let command = unsafe { CStr::from_ptr(command) }.to_string_lossy().into_owned();
    match catch_unwind(AssertUnwindSafe(|| D::start(p, &command))) {
        Ok(Ok(driver)) => Box::into_raw(Box::new(State { port: p, driver })) as ffi::ErlDrvData,
        Ok(Err(StartError::General)) => -1isize as ffi::ErlDrvData,
        Ok(Err(StartError::Badarg)) | Err(_) => -3isize as ffi::ErlDrvData,
    }
}

/// The state behind `data`.
///
/// # Safety
/// `data` must come from `start::<D>` and the port must be live.
unsafe fn state<'a, D>(data: ffi::ErlDrvData) -> &'a mut State<D> {
    // SAFETY: by contract; the host serialises a port's callbacks.
    unsafe { &mut *(data as *mut State<D>) }
}

unsafe extern "C" fn stop<D: Driver>(data: ffi::ErlDrvData) {
    // SAFETY: the last callback of the port: the state is ours again.
    let st = unsafe { Box::from_raw(data as *mut State<D>) };
    let port = st.port;
    if catch_unwind(AssertUnwindSafe(move || st.driver.stop(port))).is_err() {
        eprintln!("porthost-driver: a panic in stop (ignored: the port is closing)");
    }
}

unsafe extern "C" fn output<D: Driver>(data: ffi::ErlDrvData, buf: *mut c_char, len: ffi::ErlDrvSizeT) {
    // SAFETY: a live port's state and a buffer of `len` bytes.
    let st = unsafe { state::<D>(data) };
    let bytes = if len == 0 { &[][..] } else { unsafe { std::slice::from_raw_parts(buf as *const u8, len) } };
    let port = st.port;
    if catch_unwind(AssertUnwindSafe(|| st.driver.output(port, bytes))).is_err() {
        panicked(port, "output");
    }
}

unsafe extern "C" fn control<D: Driver>(
    data: ffi::ErlDrvData,
    op: c_uint,
    buf: *mut c_char,
    len: ffi::ErlDrvSizeT,
    rbuf: *mut *mut c_char,
    rlen: ffi::ErlDrvSizeT,
) -> ffi::ErlDrvSSizeT {
    // SAFETY: a live port's state and a buffer of `len` bytes.
    let st = unsafe { state::<D>(data) };
    let bytes = if len == 0 { &[][..] } else { unsafe { std::slice::from_raw_parts(buf as *const u8, len) } };
    let port = st.port;
    match catch_unwind(AssertUnwindSafe(|| st.driver.control(port, op, bytes))) {
        Ok(Ok(answer)) => {
            // SAFETY: the host offers `rlen` bytes at *rbuf; a longer answer
            // goes in driver_alloc'ed memory, which the host frees.
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
        Ok(Err(Badarg)) => -1,
        Err(_) => {
            panicked(port, "control");
            -1
        }
    }
}

/// The driver entry of `D` (what `driver_init` returns), made once.
pub fn entry_for<D: Driver>() -> *mut ffi::ErlDrvEntry {
    // SAFETY: ErlDrvEntry is plain data: all-zero is no callbacks.
    let mut e: ffi::ErlDrvEntry = unsafe { std::mem::zeroed() };
    e.start = Some(start::<D>);
    e.stop = Some(stop::<D>);
    e.output = Some(output::<D>);
    e.control = Some(control::<D>);
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
