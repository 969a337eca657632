//! System facts and services: `driver_system_info`, time
//! (`erl_drv_monotonic_time`, `erl_drv_time_offset`,
//! `erl_drv_convert_time_unit`, `driver_get_now`), the environment
//! (`erl_drv_getenv`, `erl_drv_putenv`), `driver_dl_*`, `null_func` and
//! `erl_drv_consume_timeslice` (see `include/erl_driver.h`). ERTS: `io.c`,
//! `erl_time_sup.c`, `sys/unix/sys_env.c`, `sys/unix/erl_unix_sys_ddll.c`.
//!
//! # Time
//!
//! As in ERTS 25 (native unit: nanoseconds, no time warp): Erlang monotonic
//! time starts at [`MONOTONIC_BEGIN_NS`] (-576460752 s, far below zero) when
//! the clock starts ([`start_clock`], or the first time function a driver
//! calls) and follows the OS monotonic clock from there. The time offset is
//! fixed when the clock starts: Erlang system time is monotonic time plus
//! it. Conversions to coarser units round towards minus infinity.
//!
//! # Environment
//!
//! ERTS keeps its own copy of the OS environment, taken at start; the
//! driver functions (like `os:getenv`/`os:putenv`) read and change that
//! copy, never the C library's `environ` (which `setenv` would make unsafe
//! to touch from several threads). porthost does the same: [`environment`]
//! is the copy, for whoever starts OS processes.
//!
//! # `driver_dl_*`
//!
//! `driver_dl_open(path)` opens `path` with ".so" appended (always), with
//! `RTLD_NOW`. `driver_dl_error()` follows ERTS 25 to the letter, quirks
//! included: it reports the last failed `driver_dl_sym` *of the calling
//! thread*, or "Unspecified dynamic library error" if there was none; a
//! failed `driver_dl_open` does not change it (ERTS records that failure
//! where `driver_dl_error` does not look). The texts are `dlerror()`'s,
//! interned for the life of the host, so the returned pointer stays valid.
//!
//! # Timeslices
//!
//! ERTS counts reductions per port: a callback starts with what the
//! operation that runs it has already cost (a [`Timeslice`] scope carries
//! it here), `erl_drv_consume_timeslice(port, percent)` adds `percent`
//! (clamped to 1..100) times 40 and reports exhaustion at 4000. Outside a
//! scope for that port on the calling thread, each call counts as the first
//! of a fresh slice.
#![allow(clippy::missing_safety_doc)]

use std::cell::Cell;
use std::collections::BTreeMap;
use std::ffi::{CStr, CString, OsString};
use std::os::raw::{c_char, c_int, c_void};
use std::os::unix::ffi::OsStringExt;
use std::ptr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::OnceLock;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use crate::ffi::{
    ErlDrvNowData, ErlDrvPort, ErlDrvSysInfo, ErlDrvTime, ErlDrvTimeUnit, ERTS_NAPI_MSEC__, ERTS_NAPI_NSEC__,
    ERTS_NAPI_SEC__, ERTS_NAPI_TIME_ERROR__, ERTS_NAPI_USEC__,
};

// ---------------------------------------------------------------------------
// driver_system_info

/// `erlang:system_info(version)` of the ERTS porthost stands in for.
pub const ERTS_VERSION: &CStr = c"13.1.5";
/// `erlang:system_info(otp_release)`.
pub const OTP_RELEASE: &CStr = c"25";
/// The NIF API version of OTP 25 (`ERL_NIF_MAJOR_VERSION`, `_MINOR_`).
pub const NIF_VERSION: (c_int, c_int) = (2, 16);
/// The async thread pool size reported to drivers (ERTS's default `+A 1`).
pub const ASYNC_THREADS: c_int = 1;

/// The number of scheduler threads reported to drivers: as ERTS's default,
/// one per logical processor available.
pub fn scheduler_threads() -> c_int {
    std::thread::available_parallelism().map_or(1, |n| c_int::try_from(n.get()).unwrap_or(c_int::MAX))
}

/// The sizes of the four versions of `ErlDrvSysInfo`: through
/// `smp_support`, `scheduler_threads`, `nif_minor_version` and
/// `dirty_scheduler_support` (all `int`s).
const SYS_INFO_SIZES: [usize; 4] = {
    use std::mem::{offset_of, size_of};
    [
        offset_of!(ErlDrvSysInfo, smp_support) + size_of::<c_int>(),
        offset_of!(ErlDrvSysInfo, scheduler_threads) + size_of::<c_int>(),
        offset_of!(ErlDrvSysInfo, nif_minor_version) + size_of::<c_int>(),
        offset_of!(ErlDrvSysInfo, dirty_scheduler_support) + size_of::<c_int>(),
    ]
};

/// `driver_system_info(sip, si_size)`: fills the fields that fit in
/// `si_size` bytes, by struct version (through `smp_support`, through
/// `scheduler_threads`, through `nif_minor_version`, through
/// `dirty_scheduler_support`). As in ERTS, a NULL `sip` or a size below the
/// first version ends the host with status 1.
#[no_mangle]
pub unsafe extern "C" fn driver_system_info(sip: *mut ErlDrvSysInfo, si_size: usize) {
    if sip.is_null() || si_size < SYS_INFO_SIZES[0] {
        // ERTS: erts_exit(ERTS_ABORT_EXIT, ...), which ends in abort().
        eprintln!("driver_system_info({sip:p}, {si_size}) called with invalid arguments");
        std::process::abort();
    }
    // SAFETY: `sip` points to at least `si_size` writable bytes (the
    // contract); each field is written only when it lies within them, and
    // through a raw pointer, since an older driver's struct is shorter
    // than ours.
    unsafe {
        ptr::addr_of_mut!((*sip).driver_major_version).write(crate::ffi::ERL_DRV_EXTENDED_MAJOR_VERSION as c_int);
        ptr::addr_of_mut!((*sip).driver_minor_version).write(crate::ffi::ERL_DRV_EXTENDED_MINOR_VERSION as c_int);
        ptr::addr_of_mut!((*sip).erts_version).write(ERTS_VERSION.as_ptr() as *mut c_char);
        ptr::addr_of_mut!((*sip).otp_release).write(OTP_RELEASE.as_ptr() as *mut c_char);
        ptr::addr_of_mut!((*sip).thread_support).write(1);
        ptr::addr_of_mut!((*sip).smp_support).write(1);
        if si_size >= SYS_INFO_SIZES[1] {
            ptr::addr_of_mut!((*sip).async_threads).write(ASYNC_THREADS);
            ptr::addr_of_mut!((*sip).scheduler_threads).write(scheduler_threads());
        }
        if si_size >= SYS_INFO_SIZES[2] {
            ptr::addr_of_mut!((*sip).nif_major_version).write(NIF_VERSION.0);
            ptr::addr_of_mut!((*sip).nif_minor_version).write(NIF_VERSION.1);
        }
        if si_size >= SYS_INFO_SIZES[3] {
            ptr::addr_of_mut!((*sip).dirty_scheduler_support).write(1);
        }
    }
}

/// `null_func()`: 0.
#[no_mangle]
pub unsafe extern "C" fn null_func() -> c_int {
    0
}

// ---------------------------------------------------------------------------
// Time

/// Where Erlang monotonic time starts, in nanoseconds (ERTS 25, 64-bit).
pub const MONOTONIC_BEGIN_NS: i64 = -576_460_752_000_000_000;

/// `ERL_DRV_TIME_ERROR`.
const TIME_ERROR: ErlDrvTime = ERTS_NAPI_TIME_ERROR__;

/// The clock's fixed points.
struct Clock {
    start: Instant,
    /// Erlang system time minus Erlang monotonic time, in nanoseconds.
    offset_ns: i64,
}

static CLOCK: OnceLock<Clock> = OnceLock::new();

fn clock() -> &'static Clock {
    CLOCK.get_or_init(|| {
        let start = Instant::now();
        let system_ns = match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_nanos()).unwrap_or(i64::MAX),
            Err(e) => -i64::try_from(e.duration().as_nanos()).unwrap_or(i64::MAX),
        };
        Clock { start, offset_ns: system_ns.saturating_sub(MONOTONIC_BEGIN_NS) }
    })
}

/// Starts Erlang monotonic time now, if it has not started (the host calls
/// this when it starts, as ERTS starts its clock at boot).
pub fn start_clock() {
    clock();
}

/// Erlang monotonic time in nanoseconds.
pub fn monotonic_ns() -> i64 {
    let elapsed = i64::try_from(clock().start.elapsed().as_nanos()).unwrap_or(i64::MAX);
    MONOTONIC_BEGIN_NS.saturating_add(elapsed)
}

/// Erlang system time minus Erlang monotonic time, in nanoseconds.
pub fn time_offset_ns() -> i64 {
    clock().offset_ns
}

/// Ticks per second of an `ErlDrvTimeUnit`, `None` for a bad unit.
fn unit_freq(unit: ErlDrvTimeUnit) -> Option<i64> {
    match unit {
        ERTS_NAPI_SEC__ => Some(1),
        ERTS_NAPI_MSEC__ => Some(1_000),
        ERTS_NAPI_USEC__ => Some(1_000_000),
        ERTS_NAPI_NSEC__ => Some(1_000_000_000),
        _ => None,
    }
}

/// ERTS's `erl_drv_convert_time_unit`: exact scaling up (wrapping on
/// overflow, where ERTS's C overflows), flooring division down. `None` for
/// a bad unit.
pub fn convert_time_unit(val: i64, from: ErlDrvTimeUnit, to: ErlDrvTimeUnit) -> Option<i64> {
    let (ffreq, tfreq) = (unit_freq(from)?, unit_freq(to)?);
    Some(if tfreq >= ffreq { val.wrapping_mul(tfreq / ffreq) } else { val.div_euclid(ffreq / tfreq) })
}

/// `erl_drv_convert_time_unit(val, from, to)`.
#[no_mangle]
pub unsafe extern "C" fn erl_drv_convert_time_unit(
    val: ErlDrvTime,
    from: ErlDrvTimeUnit,
    to: ErlDrvTimeUnit,
) -> ErlDrvTime {
    convert_time_unit(val, from, to).unwrap_or(TIME_ERROR)
}

/// `erl_drv_monotonic_time(unit)`.
#[no_mangle]
pub unsafe extern "C" fn erl_drv_monotonic_time(time_unit: ErlDrvTimeUnit) -> ErlDrvTime {
    super::guard("erl_drv_monotonic_time", TIME_ERROR, || {
        convert_time_unit(monotonic_ns(), ERTS_NAPI_NSEC__, time_unit).unwrap_or(TIME_ERROR)
    })
}

/// `erl_drv_time_offset(unit)`.
#[no_mangle]
pub unsafe extern "C" fn erl_drv_time_offset(time_unit: ErlDrvTimeUnit) -> ErlDrvTime {
    super::guard("erl_drv_time_offset", TIME_ERROR, || {
        convert_time_unit(time_offset_ns(), ERTS_NAPI_NSEC__, time_unit).unwrap_or(TIME_ERROR)
    })
}

/// The last `driver_get_now` answer, in microseconds of system time.
static LAST_NOW_US: AtomicI64 = AtomicI64::new(i64::MIN);

/// `erlang:now()` in microseconds: Erlang system time, but strictly greater
/// than the previous answer (process-wide), as ERTS's `get_now`.
pub fn now_us() -> i64 {
    let now = monotonic_ns().saturating_add(time_offset_ns()).div_euclid(1000);
    let prev = LAST_NOW_US
        .fetch_update(Ordering::AcqRel, Ordering::Acquire, |last| Some(now.max(last.saturating_add(1))))
        .unwrap_or_else(|last| last);
    now.max(prev.saturating_add(1))
}

/// `driver_get_now(now)`: `erlang:now()` as megaseconds, seconds and
/// microseconds; -1 for a NULL `now`.
#[no_mangle]
pub unsafe extern "C" fn driver_get_now(now: *mut ErlDrvNowData) -> c_int {
    if now.is_null() {
        return -1;
    }
    super::guard("driver_get_now", -1, || {
        let us = now_us().max(0) as u64;
        let n = ErlDrvNowData {
            megasecs: (us / 1_000_000_000_000) as _,
            secs: (us / 1_000_000 % 1_000_000) as _,
            microsecs: (us % 1_000_000) as _,
        };
        // SAFETY: `now` is valid for writes (contract; checked non-null).
        unsafe { now.write(n) };
        0
    })
}

// ---------------------------------------------------------------------------
// Environment

/// The host's environment: a copy of the OS environment taken at first use.
fn env() -> &'static parking_lot::RwLock<BTreeMap<Vec<u8>, Vec<u8>>> {
    static ENV: OnceLock<parking_lot::RwLock<BTreeMap<Vec<u8>, Vec<u8>>>> = OnceLock::new();
    ENV.get_or_init(|| {
        let vars = std::env::vars_os().map(|(k, v)| (k.into_vec(), v.into_vec())).collect();
        parking_lot::RwLock::new(vars)
    })
}

/// The host's environment as `erl_drv_putenv` left it: what an OS process
/// the host starts should get (ERTS's global environment).
pub fn environment() -> Vec<(OsString, OsString)> {
    env().read().iter().map(|(k, v)| (OsString::from_vec(k.clone()), OsString::from_vec(v.clone()))).collect()
}

/// The value of `key` in the host environment (`os:getenv/1`).
pub fn host_getenv(key: &[u8]) -> Option<Vec<u8>> {
    env().read().get(key).cloned()
}

/// Sets (`Some`) or removes (`None`) `key` in the host environment
/// (`os:putenv/2`, `os:unsetenv/1`): what drivers then read with
/// `erl_drv_getenv`, as in ERTS.
pub fn host_putenv(key: &[u8], value: Option<&[u8]>) {
    match value {
        Some(v) => env().write().insert(key.to_vec(), v.to_vec()),
        None => env().write().remove(key),
    };
}

/// What `erl_drv_getenv` does with the host environment, without the C
/// strings: ERTS's return values (0 found, 1 buffer too small, -1 not
/// found) and new `*value_size`. As in ERTS, the size is the value's length
/// when it fits in `size - 1` bytes, and `size - 1` otherwise (too small
/// *or* not found: not the size needed); a zero `size` reads as a huge
/// one minus nothing, i.e. too small (ERTS's arithmetic wraps the same way).
fn getenv(key: &[u8], size: usize, out: &mut dyn FnMut(&[u8])) -> (c_int, usize) {
    let room = size.wrapping_sub(1);
    match env().read().get(key) {
        None => (-1, room),
        Some(v) if size == 0 || v.len() > room => (1, room),
        Some(v) => {
            out(v);
            (0, v.len())
        }
    }
}

/// `erl_drv_getenv(key, value, &size)`: see `getenv`; the value is
/// copied with its NUL.
#[no_mangle]
pub unsafe extern "C" fn erl_drv_getenv(key: *const c_char, value: *mut c_char, value_size: *mut usize) -> c_int {
    if key.is_null() || value_size.is_null() {
        return -1;
    }
    super::guard("erl_drv_getenv", -1, || {
        // SAFETY: `key` is NUL-terminated, `value_size` valid (contract).
        let (key, size) = unsafe { (CStr::from_ptr(key).to_bytes(), *value_size) };
        let size = if value.is_null() { 0 } else { size };
        let (res, new_size) = getenv(key, size, &mut |v| {
            // SAFETY: `value` has `size` > v.len() bytes (checked by
            // getenv), so the value and its NUL fit.
            unsafe {
                ptr::copy_nonoverlapping(v.as_ptr(), value as *mut u8, v.len());
                *value.add(v.len()) = 0;
            }
        });
        // SAFETY: as above.
        unsafe { *value_size = new_size };
        res
    })
}

/// `erl_drv_putenv(key, value)`: sets `key` in the host environment (not
/// the C library's). 0 on success, -1 for a NULL argument.
#[no_mangle]
pub unsafe extern "C" fn erl_drv_putenv(key: *const c_char, value: *mut c_char) -> c_int {
    if key.is_null() || value.is_null() {
        return -1;
    }
    super::guard("erl_drv_putenv", -1, || {
        // SAFETY: both NUL-terminated (contract).
        let (k, v) = unsafe { (CStr::from_ptr(key), CStr::from_ptr(value)) };
        env().write().insert(k.to_bytes().to_vec(), v.to_bytes().to_vec());
        0
    })
}

// ---------------------------------------------------------------------------
// driver_dl_*

/// ERTS's `ERL_DE_DYNAMIC_ERROR_OFFSET`: dynamic-linker errors are
/// reported as this minus the error text's number.
const DYNAMIC_ERROR_OFFSET: c_int = -10;

/// What `driver_dl_error` says before any `driver_dl_sym` failed.
const UNSPECIFIED: &CStr = c"Unspecified dynamic library error";

/// The dynamic-linker error texts seen so far, by number (ERTS's
/// `errcodes`); never freed, so their pointers stay valid.
static ERROR_TEXTS: parking_lot::Mutex<Vec<&'static CStr>> = parking_lot::const_mutex(Vec::new());

thread_local! {
    /// The text of the calling thread's last failed `driver_dl_sym`.
    static LAST_SYM_ERROR: Cell<Option<&'static CStr>> = const { Cell::new(None) };
}

/// Interns an error text: its number and its lasting copy.
fn intern_error(text: &CStr) -> (usize, &'static CStr) {
    let mut texts = ERROR_TEXTS.lock();
    if let Some(i) = texts.iter().position(|t| *t == text) {
        return (i, texts[i]);
    }
    let copy: &'static CStr = Box::leak(text.to_owned().into_boxed_c_str());
    texts.push(copy);
    (texts.len() - 1, copy)
}

/// The pending `dlerror()` text, interned; `None` if there is none.
fn take_dlerror() -> Option<(usize, &'static CStr)> {
    // SAFETY: dlerror is thread-safe in glibc; its text is valid until the
    // next dl* call on this thread, and we copy it at once.
    let e = unsafe { libc::dlerror() };
    // SAFETY: a non-null dlerror() is a NUL-terminated string.
    (!e.is_null()).then(|| intern_error(unsafe { CStr::from_ptr(e) }))
}

/// ERTS's error code for an interned text.
fn dynamic_error(index: usize) -> c_int {
    DYNAMIC_ERROR_OFFSET.saturating_sub(c_int::try_from(index).unwrap_or(c_int::MAX))
}

/// `driver_dl_open(path)`: `dlopen(path ++ ".so", RTLD_NOW)`; NULL on
/// failure (which `driver_dl_error` does not report: see the module docs).
#[no_mangle]
pub unsafe extern "C" fn driver_dl_open(path: *mut c_char) -> *mut c_void {
    if path.is_null() {
        return ptr::null_mut();
    }
    super::guard("driver_dl_open", ptr::null_mut(), || {
        // SAFETY: NUL-terminated by contract.
        let mut name = unsafe { CStr::from_ptr(path) }.to_bytes().to_vec();
        name.extend_from_slice(b".so");
        let Ok(name) = CString::new(name) else { return ptr::null_mut() };
        // SAFETY: clearing a pending error, then a plain dlopen of a
        // NUL-terminated path.
        let h = unsafe {
            libc::dlerror();
            libc::dlopen(name.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL)
        };
        if h.is_null() {
            // ERTS keeps this error where driver_dl_error never looks.
            let _ = take_dlerror();
        }
        h
    })
}

/// `driver_dl_sym(handle, symbol)`: the symbol's address; NULL if missing,
/// and then `driver_dl_error` reports `dlerror()`'s text.
#[no_mangle]
pub unsafe extern "C" fn driver_dl_sym(handle: *mut c_void, symbol: *mut c_char) -> *mut c_void {
    if symbol.is_null() {
        return ptr::null_mut();
    }
    super::guard("driver_dl_sym", ptr::null_mut(), || {
        // SAFETY: clearing a pending error, then dlsym on the driver's
        // handle (from driver_dl_open, by contract) with a NUL-terminated
        // name.
        let sym = unsafe {
            libc::dlerror();
            libc::dlsym(handle, symbol)
        };
        // A symbol may be NULL: dlerror tells whether it failed.
        match take_dlerror() {
            Some((_, text)) => {
                let _ = LAST_SYM_ERROR.try_with(|e| e.set(Some(text)));
                ptr::null_mut()
            }
            None => sym,
        }
    })
}

/// `driver_dl_close(handle)`: 0, or ERTS's negative dynamic error code.
#[no_mangle]
pub unsafe extern "C" fn driver_dl_close(handle: *mut c_void) -> c_int {
    super::guard("driver_dl_close", DYNAMIC_ERROR_OFFSET, || {
        if handle.is_null() {
            // glibc would dereference it.
            return dynamic_error(intern_error(c"invalid handle").0);
        }
        // SAFETY: a handle from driver_dl_open, closed once (contract).
        if unsafe { libc::dlclose(handle) } == 0 {
            return 0;
        }
        take_dlerror().map_or(DYNAMIC_ERROR_OFFSET, |(i, _)| dynamic_error(i))
    })
}

/// `driver_dl_error()`: the calling thread's last `driver_dl_sym` failure
/// (see the module docs), owned by the host for its whole life.
#[no_mangle]
pub unsafe extern "C" fn driver_dl_error() -> *mut c_char {
    let text = LAST_SYM_ERROR.try_with(Cell::get).ok().flatten().unwrap_or(UNSPECIFIED);
    text.as_ptr() as *mut c_char
}

// ---------------------------------------------------------------------------
// Timeslices

/// ERTS's `CONTEXT_REDS`: the reductions in one time slice.
pub const CONTEXT_REDS: i32 = 4000;

/// Reductions one percent of a slice is worth (`(CONTEXT_REDS + 99) / 100`).
const REDS_PER_PERCENT: i32 = (CONTEXT_REDS + 99) / 100;

/// What ERTS 25 has counted against a port when its callback starts, by
/// kind of callback. Measured with `erl_drv_consume_timeslice(port, 1)`
/// calls until exhaustion (93 from `call`, 95 from `control`, 96 from
/// `output`, 70 from `timeout`): the values are exact to the 40-reduction
/// step that is all a driver can observe.
pub mod spent {
    /// Before `call` (`erlang:port_call`).
    pub const CALL: i32 = 280;
    /// Before `control` (`port_control`).
    pub const CONTROL: i32 = 200;
    /// Before `output`/`outputv` (`port_command`).
    pub const OUTPUT: i32 = 160;
    /// Before `timeout` (a scheduled port task).
    pub const TIMEOUT: i32 = 1200;
}

thread_local! {
    /// The port whose callback runs on this thread (its handle as an
    /// address; 0 for none) and the reductions it has used.
    static SLICE: Cell<(usize, i32)> = const { Cell::new((0, 0)) };
}

/// The time slice of one callback: made by the code that calls into the
/// driver, before the callback, with what the operation has already cost
/// (see [`spent`]); the previous slice of the thread comes back when it is
/// dropped (callbacks may nest).
#[must_use = "the slice ends when this is dropped"]
pub struct Timeslice {
    prev: (usize, i32),
}

impl Timeslice {
    /// Starts a slice for a callback of `port`, with `spent` reductions
    /// already used.
    pub fn begin(port: ErlDrvPort, spent: i32) -> Timeslice {
        let prev = SLICE.try_with(|s| s.replace((port as usize, spent))).unwrap_or((0, 0));
        Timeslice { prev }
    }
}

impl Drop for Timeslice {
    fn drop(&mut self) {
        let _ = SLICE.try_with(|s| s.set(self.prev));
    }
}

/// One `erl_drv_consume_timeslice` step: the reductions after it and
/// whether the slice is used up (ERTS clamps the count at the limit).
fn consume(used: i32, percent: c_int) -> (i32, bool) {
    let used = used.saturating_add(percent.clamp(1, 100) * REDS_PER_PERCENT);
    if used < CONTEXT_REDS {
        (used, false)
    } else {
        (CONTEXT_REDS, true)
    }
}

/// `erl_drv_consume_timeslice(port, percent)`: 1 when the callback's slice
/// is used up, else 0; -1 for a NULL port.
#[no_mangle]
pub unsafe extern "C" fn erl_drv_consume_timeslice(port: ErlDrvPort, percent: c_int) -> c_int {
    if port.is_null() {
        return -1;
    }
    let (owner, used) = SLICE.try_with(Cell::get).unwrap_or((0, 0));
    let used = if owner == port as usize { used } else { 0 };
    let (used, exhausted) = consume(used, percent);
    if owner == port as usize {
        let _ = SLICE.try_with(|s| s.set((owner, used)));
    }
    exhausted as c_int
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: ErlDrvTimeUnit = ERTS_NAPI_SEC__;
    const MS: ErlDrvTimeUnit = ERTS_NAPI_MSEC__;
    const US: ErlDrvTimeUnit = ERTS_NAPI_USEC__;
    const NS: ErlDrvTimeUnit = ERTS_NAPI_NSEC__;

    #[test]
    fn convert_time_unit_scales_and_floors() {
        assert_eq!(convert_time_unit(1, S, MS), Some(1000));
        assert_eq!(convert_time_unit(3, S, NS), Some(3_000_000_000));
        assert_eq!(convert_time_unit(-7, MS, US), Some(-7000));
        assert_eq!(convert_time_unit(1999, MS, S), Some(1));
        assert_eq!(convert_time_unit(-1, MS, S), Some(-1));
        assert_eq!(convert_time_unit(-1000, MS, S), Some(-1));
        assert_eq!(convert_time_unit(-1001, MS, S), Some(-2));
        assert_eq!(convert_time_unit(123_456_789, NS, US), Some(123_456));
        assert_eq!(convert_time_unit(-42, US, US), Some(-42));
        assert_eq!(convert_time_unit(1, 4, S), None);
        assert_eq!(convert_time_unit(1, S, u32::MAX), None);
        assert_eq!(convert_time_unit(MONOTONIC_BEGIN_NS + 1, NS, S), Some(-576_460_752));
    }

    #[test]
    fn monotonic_time_starts_far_below_zero_and_now_increases() {
        start_clock();
        let m = monotonic_ns();
        assert!((MONOTONIC_BEGIN_NS..0).contains(&m));
        let a = now_us();
        let b = now_us();
        assert!(b > a);
        let sys = (m + time_offset_ns()) / 1000;
        assert!((a - sys).abs() < 10_000_000);
    }

    #[test]
    fn getenv_follows_erts_sizes() {
        // SAFETY: NUL-terminated literals.
        assert_eq!(unsafe { erl_drv_putenv(c"PORTHOST_UNIT_VAR".as_ptr(), c"hello".as_ptr() as *mut c_char) }, 0);
        let mut got = Vec::new();
        let mut out = |v: &[u8]| got = v.to_vec();
        assert_eq!(getenv(b"PORTHOST_UNIT_VAR", 6, &mut out), (0, 5));
        assert_eq!(got, b"hello");
        assert_eq!(getenv(b"PORTHOST_UNIT_VAR", 5, &mut |_| panic!()), (1, 4));
        assert_eq!(getenv(b"PORTHOST_UNIT_VAR", 0, &mut |_| panic!()), (1, usize::MAX));
        assert_eq!(getenv(b"PORTHOST_UNIT_NO_VAR", 64, &mut |_| panic!()), (-1, 63));
        assert!(std::env::var_os("PORTHOST_UNIT_VAR").is_none());
        assert!(environment().iter().any(|(k, v)| k == "PORTHOST_UNIT_VAR" && v == "hello"));
    }

    #[test]
    fn timeslice_counts_like_erts() {
        let calls = |spent: i32, percent: c_int| {
            let port = 0x1000 as ErlDrvPort;
            let _slice = Timeslice::begin(port, spent);
            // SAFETY: a non-null handle; consume_timeslice only compares it.
            (1..=1000).find(|_| unsafe { erl_drv_consume_timeslice(port, percent) } == 1).unwrap()
        };
        assert_eq!(calls(spent::CALL, 1), 93);
        assert_eq!(calls(spent::CONTROL, 1), 95);
        assert_eq!(calls(spent::OUTPUT, 1), 96);
        assert_eq!(calls(spent::TIMEOUT, 1), 70);
        assert_eq!(calls(spent::CALL, 10), 10);
        assert_eq!(calls(spent::CALL, 0), 93);
        assert_eq!(calls(spent::CALL, 100), 1);
        assert_eq!(calls(spent::CALL, 250), 1);
        assert_eq!(consume(3990, 1), (CONTEXT_REDS, true));
    }

    #[test]
    fn dl_error_reports_only_sym_failures() {
        std::thread::spawn(|| {
            // SAFETY: test-only calls with NUL-terminated strings; a NULL
            // handle is RTLD_DEFAULT for dlsym.
            unsafe {
                let missing = c"/nonexistent/porthost_unit_lib".as_ptr() as *mut c_char;
                assert!(driver_dl_open(missing).is_null());
                assert_eq!(CStr::from_ptr(driver_dl_error()), UNSPECIFIED);
                let nosym = c"porthost_unit_no_such_symbol".as_ptr() as *mut c_char;
                assert!(driver_dl_sym(ptr::null_mut(), nosym).is_null());
                let text = CStr::from_ptr(driver_dl_error()).to_str().unwrap().to_owned();
                assert!(text.contains("porthost_unit_no_such_symbol"), "{text}");
                assert!(!driver_dl_sym(ptr::null_mut(), c"malloc".as_ptr() as *mut c_char).is_null());
                assert!(driver_dl_open(missing).is_null());
                assert_eq!(CStr::from_ptr(driver_dl_error()).to_str().unwrap(), text);
            }
        })
        .join()
        .unwrap();
    }
}
