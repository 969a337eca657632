//! Driver threads and their synchronisation objects: `erl_drv_thread_*`,
//! `erl_drv_mutex_*`, `erl_drv_cond_*`, `erl_drv_rwlock_*`, `erl_drv_tsd_*`
//! (see `include/erl_driver.h`, "Threads"). ERTS: `erl_drv_thread.c`.
//!
//! # Objects
//!
//! A mutex, condition variable or rwlock is a boxed POSIX object
//! (`pthread_mutex_t`, `pthread_cond_t`, `pthread_rwlock_t`: a condition
//! variable must wait on a pthread mutex) with the name it was created with.
//! The `ErlDrv*` pointer the driver holds is the box; `*_destroy` frees it.
//! Names are copied; a NULL name reads back as `"unknown"`, as in ERTS.
//!
//! # Thread ids
//!
//! An `ErlDrvTid` points to a [`DrvThread`] record: the `pthread_t`, the
//! name, and for driver threads the function and argument to run. Who owns
//! it:
//! - for a thread made by `erl_drv_thread_create`, the driver does, through
//!   the tid: `erl_drv_thread_join` frees the record once the thread is
//!   joined (a thread never joined leaks it, as in ERTS);
//! - for any other thread (host threads that run callbacks, threads the
//!   driver made itself), `erl_drv_thread_self` makes a record on first use
//!   that the thread owns: it is freed when the thread exits, and cannot be
//!   joined (`EINVAL`).
//!
//! Each thread knows its own record through a thread-local pointer, so
//! `erl_drv_thread_self` inside a driver thread returns the very tid
//! `erl_drv_thread_create` gave its creator, and `erl_drv_equal_tids`
//! compares records, as ERTS does.
//!
//! # Ending a thread early
//!
//! Driver threads are raw pthreads, started by `pthread_create` on
//! `driver_thread_main`, not `std::thread`s: `erl_drv_thread_exit` is
//! `pthread_exit`, which unwinds the thread's stack with a *forced unwind*
//! to the bottom frame of glibc's `start_thread`, and `pthread_join` hands
//! its value to the joiner. Rust allows a forced unwind only across frames
//! that have nothing to clean up. The Rust frames on a driver thread's
//! stack are two, and both are kept that way: `driver_thread_main` and
//! `erl_drv_thread_exit` own nothing, and call only `extern "C"` functions
//! (which Rust compiles as calls that do not unwind), so neither has a
//! landing pad the unwinder could stop at. A `std::thread` would put
//! `catch_unwind` and owned values (its packet, its `Thread`) on that path.
//! `pthread_exit` on a thread porthost did not start is a fatal error, as in
//! ERTS.
//!
//! # Thread-specific data
//!
//! Keys are small integers from one process-wide table, the lowest free one
//! first (ERTS's numbering: a destroyed key is reused at once). Values live
//! in a per-thread vector indexed by key, freed when the thread exits.
//!
//! # Misuse
//!
//! Where ERTS ends the VM with "Fatal error in ..." (a NULL object, an
//! unknown TSD key, destroying a locked mutex, `erl_drv_thread_exit` outside
//! a driver thread), porthost prints the same kind of message and aborts.
#![allow(clippy::missing_safety_doc)]

use std::cell::{Cell, OnceCell, RefCell, UnsafeCell};
use std::ffi::{CStr, CString};
use std::io::Write as _;
use std::os::raw::{c_char, c_int, c_void};
use std::ptr;

use crate::ffi::{ErlDrvCond, ErlDrvMutex, ErlDrvRWLock, ErlDrvTSDKey, ErlDrvThreadOpts, ErlDrvTid};

/// What a NULL name reads back as (ERTS's `no_name`).
const NO_NAME: &CStr = c"unknown";

/// Reports a misuse that ERTS treats as fatal (`fatal_error()` in
/// `erl_drv_thread.c`) and aborts the host.
#[cold]
pub(crate) fn fatal(func: &str, err: c_int) -> ! {
    let text = std::io::Error::from_raw_os_error(err);
    let _ = writeln!(std::io::stderr(), "porthost: fatal error in {func}: {text} [{err}]");
    std::process::abort()
}

/// An object's name: a copy of the driver's string, or none ("unknown").
struct Name(Option<CString>);

impl Name {
    /// Copies a driver's name (NULL for none).
    ///
    /// # Safety
    /// `p` is NULL or a NUL-terminated string.
    unsafe fn copy(p: *const c_char) -> Name {
        if p.is_null() {
            Name(None)
        } else {
            // SAFETY: NUL-terminated by contract.
            Name(Some(unsafe { CStr::from_ptr(p) }.to_owned()))
        }
    }

    fn as_cstr(&self) -> &CStr {
        self.0.as_deref().unwrap_or(NO_NAME)
    }

    /// The name as the API returns it: owned by the object.
    fn as_ptr(&self) -> *mut c_char {
        self.as_cstr().as_ptr() as *mut c_char
    }
}

// ---------------------------------------------------------------------------
// Mutexes

/// What an `ErlDrvMutex *` points to.
pub struct DrvMutex {
    raw: UnsafeCell<libc::pthread_mutex_t>,
    name: Name,
}

// SAFETY: the pthread mutex is made to be shared between threads; the name
// is immutable.
unsafe impl Sync for DrvMutex {}
// SAFETY: as above; nothing in it is tied to a thread.
unsafe impl Send for DrvMutex {}

/// The mutex behind a handle; fatal for NULL.
///
/// # Safety
/// A non-null `m` comes from `erl_drv_mutex_create` and is not destroyed.
unsafe fn mutex<'a>(m: *mut ErlDrvMutex, func: &str) -> &'a DrvMutex {
    if m.is_null() {
        fatal(func, libc::EINVAL);
    }
    // SAFETY: by contract.
    unsafe { &*(m as *const DrvMutex) }
}

/// `erl_drv_mutex_create(name)`: a new unlocked, non-recursive mutex.
#[no_mangle]
pub unsafe extern "C" fn erl_drv_mutex_create(name: *mut c_char) -> *mut ErlDrvMutex {
    super::guard("erl_drv_mutex_create", ptr::null_mut(), || {
        // SAFETY: a name is NULL or NUL-terminated (the API contract).
        let name = unsafe { Name::copy(name) };
        // A statically initialised mutex may be moved until first use: the
        // box is its final place.
        let m = Box::new(DrvMutex { raw: UnsafeCell::new(libc::PTHREAD_MUTEX_INITIALIZER), name });
        Box::into_raw(m) as *mut ErlDrvMutex
    })
}

/// `erl_drv_mutex_destroy(mtx)`: frees an unlocked mutex.
#[no_mangle]
pub unsafe extern "C" fn erl_drv_mutex_destroy(mtx: *mut ErlDrvMutex) {
    // SAFETY: a live mutex by contract (NULL is fatal).
    let m = unsafe { mutex(mtx, "erl_drv_mutex_destroy()") };
    if crate::check::hooks() != 0 && !crate::check::mutex_destroying(mtx as usize, &m.name.as_cstr().to_string_lossy()) {
        return;
    }
    // SAFETY: an initialised mutex; an error (EBUSY: locked) leaves it alone.
    let res = unsafe { libc::pthread_mutex_destroy(m.raw.get()) };
    if res != 0 {
        fatal("erl_drv_mutex_destroy()", res);
    }
    // SAFETY: made by Box::into_raw in erl_drv_mutex_create; the driver
    // gives it up here.
    drop(unsafe { Box::from_raw(mtx as *mut DrvMutex) });
}

/// `erl_drv_mutex_lock(mtx)`.
#[no_mangle]
pub unsafe extern "C" fn erl_drv_mutex_lock(mtx: *mut ErlDrvMutex) {
    // SAFETY: a live mutex by contract.
    let m = unsafe { mutex(mtx, "erl_drv_mutex_lock()") };
    // SAFETY: an initialised mutex at a fixed address.
    let res = unsafe { libc::pthread_mutex_lock(m.raw.get()) };
    if res != 0 {
        fatal("erl_drv_mutex_lock()", res);
    }
    if crate::check::hooks() != 0 {
        crate::check::mutex_locked(mtx as usize, &m.name.as_cstr().to_string_lossy());
    }
}

/// `erl_drv_mutex_trylock(mtx)`: 0, or `EBUSY` when it is held (also by
/// the calling thread).
#[no_mangle]
pub unsafe extern "C" fn erl_drv_mutex_trylock(mtx: *mut ErlDrvMutex) -> c_int {
    // SAFETY: a live mutex by contract.
    let m = unsafe { mutex(mtx, "erl_drv_mutex_trylock()") };
    // SAFETY: an initialised mutex at a fixed address.
    let r = unsafe { libc::pthread_mutex_trylock(m.raw.get()) };
    if r == 0 && crate::check::hooks() != 0 {
        crate::check::mutex_locked(mtx as usize, &m.name.as_cstr().to_string_lossy());
    }
    r
}

/// `erl_drv_mutex_unlock(mtx)`.
#[no_mangle]
pub unsafe extern "C" fn erl_drv_mutex_unlock(mtx: *mut ErlDrvMutex) {
    // SAFETY: a live mutex by contract.
    let m = unsafe { mutex(mtx, "erl_drv_mutex_unlock()") };
    if crate::check::hooks() != 0 && !crate::check::mutex_unlocking(mtx as usize, &m.name.as_cstr().to_string_lossy()) {
        return;
    }
    // SAFETY: an initialised mutex the caller holds.
    let res = unsafe { libc::pthread_mutex_unlock(m.raw.get()) };
    if res != 0 {
        fatal("erl_drv_mutex_unlock()", res);
    }
}

/// `erl_drv_mutex_name(mtx)`: the creation name ("unknown" if none), NULL
/// for a NULL mutex.
#[no_mangle]
pub unsafe extern "C" fn erl_drv_mutex_name(mtx: *mut ErlDrvMutex) -> *mut c_char {
    if mtx.is_null() {
        return ptr::null_mut();
    }
    // SAFETY: a live mutex by contract.
    unsafe { mutex(mtx, "erl_drv_mutex_name()") }.name.as_ptr()
}

// ---------------------------------------------------------------------------
// Condition variables

/// What an `ErlDrvCond *` points to.
pub struct DrvCond {
    raw: UnsafeCell<libc::pthread_cond_t>,
    name: Name,
}

// SAFETY: as for DrvMutex.
unsafe impl Sync for DrvCond {}
// SAFETY: as for DrvMutex.
unsafe impl Send for DrvCond {}

/// The condition variable behind a handle; fatal for NULL.
///
/// # Safety
/// A non-null `c` comes from `erl_drv_cond_create` and is not destroyed.
unsafe fn cond<'a>(c: *mut ErlDrvCond, func: &str) -> &'a DrvCond {
    if c.is_null() {
        fatal(func, libc::EINVAL);
    }
    // SAFETY: by contract.
    unsafe { &*(c as *const DrvCond) }
}

/// `erl_drv_cond_create(name)`.
#[no_mangle]
pub unsafe extern "C" fn erl_drv_cond_create(name: *mut c_char) -> *mut ErlDrvCond {
    super::guard("erl_drv_cond_create", ptr::null_mut(), || {
        // SAFETY: a name is NULL or NUL-terminated.
        let name = unsafe { Name::copy(name) };
        let c = Box::new(DrvCond { raw: UnsafeCell::new(libc::PTHREAD_COND_INITIALIZER), name });
        Box::into_raw(c) as *mut ErlDrvCond
    })
}

/// `erl_drv_cond_destroy(cnd)`.
#[no_mangle]
pub unsafe extern "C" fn erl_drv_cond_destroy(cnd: *mut ErlDrvCond) {
    // SAFETY: a live condition variable by contract.
    let c = unsafe { cond(cnd, "erl_drv_cond_destroy()") };
    // SAFETY: initialised, at a fixed address.
    let res = unsafe { libc::pthread_cond_destroy(c.raw.get()) };
    if res != 0 {
        fatal("erl_drv_cond_destroy()", res);
    }
    // SAFETY: from Box::into_raw in erl_drv_cond_create, given up here.
    drop(unsafe { Box::from_raw(cnd as *mut DrvCond) });
}

/// `erl_drv_cond_signal(cnd)`.
#[no_mangle]
pub unsafe extern "C" fn erl_drv_cond_signal(cnd: *mut ErlDrvCond) {
    // SAFETY: a live condition variable by contract.
    let c = unsafe { cond(cnd, "erl_drv_cond_signal()") };
    // SAFETY: initialised, at a fixed address.
    unsafe { libc::pthread_cond_signal(c.raw.get()) };
}

/// `erl_drv_cond_broadcast(cnd)`.
#[no_mangle]
pub unsafe extern "C" fn erl_drv_cond_broadcast(cnd: *mut ErlDrvCond) {
    // SAFETY: a live condition variable by contract.
    let c = unsafe { cond(cnd, "erl_drv_cond_broadcast()") };
    // SAFETY: initialised, at a fixed address.
    unsafe { libc::pthread_cond_broadcast(c.raw.get()) };
}

/// `erl_drv_cond_wait(cnd, mtx)`: `mtx` is held by the caller.
#[no_mangle]
pub unsafe extern "C" fn erl_drv_cond_wait(cnd: *mut ErlDrvCond, mtx: *mut ErlDrvMutex) {
    // SAFETY: live objects by contract.
    let (c, m) = unsafe { (cond(cnd, "erl_drv_cond_wait()"), mutex(mtx, "erl_drv_cond_wait()")) };
    // The wait lets go of the mutex and takes it again.
    let hooked = crate::check::hooks() != 0;
    if hooked {
        crate::check::mutex_unlocking(mtx as usize, &m.name.as_cstr().to_string_lossy());
    }
    // SAFETY: both initialised; the caller holds the mutex.
    let res = unsafe { libc::pthread_cond_wait(c.raw.get(), m.raw.get()) };
    if res != 0 {
        fatal("erl_drv_cond_wait()", res);
    }
    if hooked {
        crate::check::mutex_relocked(mtx as usize);
    }
}

/// `erl_drv_cond_name(cnd)`: as `erl_drv_mutex_name`.
#[no_mangle]
pub unsafe extern "C" fn erl_drv_cond_name(cnd: *mut ErlDrvCond) -> *mut c_char {
    if cnd.is_null() {
        return ptr::null_mut();
    }
    // SAFETY: a live condition variable by contract.
    unsafe { cond(cnd, "erl_drv_cond_name()") }.name.as_ptr()
}

// ---------------------------------------------------------------------------
// Read/write locks

/// What an `ErlDrvRWLock *` points to.
pub struct DrvRwLock {
    raw: UnsafeCell<libc::pthread_rwlock_t>,
    name: Name,
}

// SAFETY: as for DrvMutex.
unsafe impl Sync for DrvRwLock {}
// SAFETY: as for DrvMutex.
unsafe impl Send for DrvRwLock {}

/// The rwlock behind a handle; fatal for NULL.
///
/// # Safety
/// A non-null `l` comes from `erl_drv_rwlock_create` and is not destroyed.
unsafe fn rwlock<'a>(l: *mut ErlDrvRWLock, func: &str) -> &'a DrvRwLock {
    if l.is_null() {
        fatal(func, libc::EINVAL);
    }
    // SAFETY: by contract.
    unsafe { &*(l as *const DrvRwLock) }
}

/// Aborts on a nonzero result of a locking call that cannot fail sensibly.
fn check(res: c_int, func: &str) {
    if res != 0 {
        fatal(func, res);
    }
}

/// `erl_drv_rwlock_create(name)`.
#[no_mangle]
pub unsafe extern "C" fn erl_drv_rwlock_create(name: *mut c_char) -> *mut ErlDrvRWLock {
    super::guard("erl_drv_rwlock_create", ptr::null_mut(), || {
        // SAFETY: a name is NULL or NUL-terminated.
        let name = unsafe { Name::copy(name) };
        let l = Box::new(DrvRwLock { raw: UnsafeCell::new(libc::PTHREAD_RWLOCK_INITIALIZER), name });
        Box::into_raw(l) as *mut ErlDrvRWLock
    })
}

/// `erl_drv_rwlock_destroy(rwlck)`.
#[no_mangle]
pub unsafe extern "C" fn erl_drv_rwlock_destroy(rwlck: *mut ErlDrvRWLock) {
    // SAFETY: a live rwlock by contract.
    let l = unsafe { rwlock(rwlck, "erl_drv_rwlock_destroy()") };
    // SAFETY: initialised, at a fixed address.
    check(unsafe { libc::pthread_rwlock_destroy(l.raw.get()) }, "erl_drv_rwlock_destroy()");
    // SAFETY: from Box::into_raw in erl_drv_rwlock_create, given up here.
    drop(unsafe { Box::from_raw(rwlck as *mut DrvRwLock) });
}

/// `erl_drv_rwlock_rlock(rwlck)`.
#[no_mangle]
pub unsafe extern "C" fn erl_drv_rwlock_rlock(rwlck: *mut ErlDrvRWLock) {
    // SAFETY: a live rwlock by contract.
    let l = unsafe { rwlock(rwlck, "erl_drv_rwlock_rlock()") };
    // SAFETY: initialised, at a fixed address.
    check(unsafe { libc::pthread_rwlock_rdlock(l.raw.get()) }, "erl_drv_rwlock_rlock()");
}

/// `erl_drv_rwlock_tryrlock(rwlck)`: 0, or `EBUSY` while write-locked.
#[no_mangle]
pub unsafe extern "C" fn erl_drv_rwlock_tryrlock(rwlck: *mut ErlDrvRWLock) -> c_int {
    // SAFETY: a live rwlock by contract.
    let l = unsafe { rwlock(rwlck, "erl_drv_rwlock_tryrlock()") };
    // SAFETY: initialised, at a fixed address.
    unsafe { libc::pthread_rwlock_tryrdlock(l.raw.get()) }
}

/// `erl_drv_rwlock_runlock(rwlck)`.
#[no_mangle]
pub unsafe extern "C" fn erl_drv_rwlock_runlock(rwlck: *mut ErlDrvRWLock) {
    // SAFETY: a live rwlock by contract.
    let l = unsafe { rwlock(rwlck, "erl_drv_rwlock_runlock()") };
    // SAFETY: read-locked by the caller.
    check(unsafe { libc::pthread_rwlock_unlock(l.raw.get()) }, "erl_drv_rwlock_runlock()");
}

/// `erl_drv_rwlock_rwlock(rwlck)`.
#[no_mangle]
pub unsafe extern "C" fn erl_drv_rwlock_rwlock(rwlck: *mut ErlDrvRWLock) {
    // SAFETY: a live rwlock by contract.
    let l = unsafe { rwlock(rwlck, "erl_drv_rwlock_rwlock()") };
    // SAFETY: initialised, at a fixed address.
    check(unsafe { libc::pthread_rwlock_wrlock(l.raw.get()) }, "erl_drv_rwlock_rwlock()");
}

/// `erl_drv_rwlock_tryrwlock(rwlck)`: 0, or `EBUSY` while locked in any
/// mode (also by the calling thread).
#[no_mangle]
pub unsafe extern "C" fn erl_drv_rwlock_tryrwlock(rwlck: *mut ErlDrvRWLock) -> c_int {
    // SAFETY: a live rwlock by contract.
    let l = unsafe { rwlock(rwlck, "erl_drv_rwlock_tryrwlock()") };
    // SAFETY: initialised, at a fixed address.
    unsafe { libc::pthread_rwlock_trywrlock(l.raw.get()) }
}

/// `erl_drv_rwlock_rwunlock(rwlck)`.
#[no_mangle]
pub unsafe extern "C" fn erl_drv_rwlock_rwunlock(rwlck: *mut ErlDrvRWLock) {
    // SAFETY: a live rwlock by contract.
    let l = unsafe { rwlock(rwlck, "erl_drv_rwlock_rwunlock()") };
    // SAFETY: write-locked by the caller.
    check(unsafe { libc::pthread_rwlock_unlock(l.raw.get()) }, "erl_drv_rwlock_rwunlock()");
}

/// `erl_drv_rwlock_name(rwlck)`: as `erl_drv_mutex_name`.
#[no_mangle]
pub unsafe extern "C" fn erl_drv_rwlock_name(rwlck: *mut ErlDrvRWLock) -> *mut c_char {
    if rwlck.is_null() {
        return ptr::null_mut();
    }
    // SAFETY: a live rwlock by contract.
    unsafe { rwlock(rwlck, "erl_drv_rwlock_name()") }.name.as_ptr()
}

// ---------------------------------------------------------------------------
// Thread-specific data

/// The TSD keys in use, by number, with their names.
static TSD_KEYS: parking_lot::RwLock<Vec<Option<Name>>> = parking_lot::const_rwlock(Vec::new());

thread_local! {
    /// This thread's TSD values, by key number.
    static TSD: RefCell<Vec<*mut c_void>> = const { RefCell::new(Vec::new()) };
}

/// How many slots a thread's TSD vector grows past the key it must hold
/// (ERTS's `ERL_DRV_TSD_EXTRA`).
const TSD_EXTRA: usize = 10;

/// The lowest free slot of a key table (a new key number).
fn lowest_free<T>(slots: &[Option<T>]) -> usize {
    slots.iter().position(Option::is_none).unwrap_or(slots.len())
}

/// `key` as an index if it names a live key; fatal otherwise (ERTS's
/// check in `erl_drv_tsd_set`/`_get`/`_key_destroy`).
fn live_key(key: ErlDrvTSDKey, func: &str) -> usize {
    let keys = TSD_KEYS.read();
    match usize::try_from(key) {
        Ok(i) if keys.get(i).is_some_and(Option::is_some) => i,
        _ => fatal(func, libc::EINVAL),
    }
}

/// `erl_drv_tsd_key_create(name, &key)`: the lowest free key number.
#[no_mangle]
pub unsafe extern "C" fn erl_drv_tsd_key_create(name: *mut c_char, key: *mut ErlDrvTSDKey) -> c_int {
    if key.is_null() {
        fatal("erl_drv_tsd_key_create()", libc::EINVAL);
    }
    super::guard("erl_drv_tsd_key_create", libc::ENOMEM, || {
        // SAFETY: a name is NULL or NUL-terminated.
        let name = unsafe { Name::copy(name) };
        let mut keys = TSD_KEYS.write();
        let i = lowest_free(&keys);
        let Ok(k) = ErlDrvTSDKey::try_from(i) else {
            // SAFETY: `key` is valid for writes by contract.
            unsafe { *key = -1 };
            return libc::ENOMEM;
        };
        if i == keys.len() {
            keys.push(Some(name));
        } else {
            keys[i] = Some(name);
        }
        // SAFETY: `key` is valid for writes by contract.
        unsafe { *key = k };
        0
    })
}

/// `erl_drv_tsd_key_destroy(key)`: frees the number for reuse. Values
/// threads still hold for it are not cleared (the caller must have).
#[no_mangle]
pub unsafe extern "C" fn erl_drv_tsd_key_destroy(key: ErlDrvTSDKey) {
    let i = live_key(key, "erl_drv_tsd_key_destroy()");
    TSD_KEYS.write()[i] = None;
}

/// `erl_drv_tsd_set(key, data)`: the calling thread's value.
#[no_mangle]
pub unsafe extern "C" fn erl_drv_tsd_set(key: ErlDrvTSDKey, data: *mut c_void) {
    let i = live_key(key, "erl_drv_tsd_set()");
    super::guard("erl_drv_tsd_set", (), || {
        // Fails only while the thread's thread-locals are being destroyed.
        let _ = TSD.try_with(|v| {
            let mut v = v.borrow_mut();
            if v.len() <= i {
                v.resize(i + TSD_EXTRA, ptr::null_mut());
            }
            v[i] = data;
        });
    })
}

/// `erl_drv_tsd_get(key)`: the calling thread's value, NULL if unset.
#[no_mangle]
pub unsafe extern "C" fn erl_drv_tsd_get(key: ErlDrvTSDKey) -> *mut c_void {
    let i = live_key(key, "erl_drv_tsd_get()");
    super::guard("erl_drv_tsd_get", ptr::null_mut(), || {
        TSD.try_with(|v| v.borrow().get(i).copied().unwrap_or(ptr::null_mut())).unwrap_or(ptr::null_mut())
    })
}

// ---------------------------------------------------------------------------
// Threads

/// A driver thread's start function.
type StartFn = unsafe extern "C" fn(*mut c_void) -> *mut c_void;

/// What an `ErlDrvTid` points to (see the module docs for who owns it).
pub struct DrvThread {
    /// The thread; written by `pthread_create` (which may still be writing
    /// it while the new thread reads the other fields) or, for a host
    /// thread, when the record is made. Read only by joiners.
    pthread: UnsafeCell<libc::pthread_t>,
    /// The function and argument a driver thread runs; `None` for threads
    /// porthost did not create (they cannot be joined).
    start: Option<(StartFn, *mut c_void)>,
    name: Name,
}

// SAFETY: a record is shared between its thread and the joiner; `pthread`
// is written once before the joiner can read it (the tid reaches other
// threads only after pthread_create returns), the rest never changes.
unsafe impl Sync for DrvThread {}
// SAFETY: as above.
unsafe impl Send for DrvThread {}

/// The record of a host thread (one that `erl_drv_thread_create` did not
/// start), owned by the thread. Dropping it clears [`CURRENT`], so that no
/// later thread-local destructor sees a freed tid.
struct HostThread(Box<DrvThread>);

impl Drop for HostThread {
    fn drop(&mut self) {
        let _ = CURRENT.try_with(|c| c.set(ptr::null()));
    }
}

thread_local! {
    /// The calling thread's record, null until it has one.
    static CURRENT: Cell<*const DrvThread> = const { Cell::new(ptr::null()) };
    /// The record of a host thread, made by `erl_drv_thread_self`.
    static HOST_THREAD: OnceCell<HostThread> = const { OnceCell::new() };
}

/// Page size in bytes.
fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if p > 0 {
        p as usize
    } else {
        4096
    }
}

/// The stack size ERTS's `ethr_thr_create` asks pthreads for, given
/// `suggested_stack_size` in kilowords: `None` (the system default) for a
/// negative suggestion; otherwise the words in bytes, page-aligned, plus a
/// page for the system and a guard page, clamped to ethread's bounds (at
/// least 12 KiB + `SIGSTKSZ`, `PTHREAD_STACK_MIN` and a guard page; at most
/// 64 MiB on 64-bit).
fn stack_size(suggested_kw: c_int, page: usize) -> Option<usize> {
    let kw = usize::try_from(suggested_kw).ok()?;
    let align = |n: usize| n.div_ceil(page) * page;
    let min = align((2 * 4096 + 4096 + libc::SIGSTKSZ).max(libc::PTHREAD_STACK_MIN) + page);
    let max = align(32 * 1024 * 1024 * (std::mem::size_of::<usize>() / 4));
    let bytes = align(kw.saturating_mul(std::mem::size_of::<usize>() * 1024)).saturating_add(2 * page);
    Some(bytes.clamp(min, max))
}

/// `erl_drv_thread_opts_create(name)`: options holding the defaults
/// (`suggested_stack_size` -1: the system's). The name is unused, as in
/// ERTS.
#[no_mangle]
pub unsafe extern "C" fn erl_drv_thread_opts_create(_name: *mut c_char) -> *mut ErlDrvThreadOpts {
    super::guard("erl_drv_thread_opts_create", ptr::null_mut(), || {
        Box::into_raw(Box::new(ErlDrvThreadOpts { suggested_stack_size: -1 }))
    })
}

/// `erl_drv_thread_opts_destroy(opts)`.
#[no_mangle]
pub unsafe extern "C" fn erl_drv_thread_opts_destroy(opts: *mut ErlDrvThreadOpts) {
    if opts.is_null() {
        fatal("erl_drv_thread_opts_destroy()", libc::EINVAL);
    }
    // SAFETY: from Box::into_raw in erl_drv_thread_opts_create, given up.
    drop(unsafe { Box::from_raw(opts) });
}

/// Records `rec` as the calling thread's and names the OS thread after it
/// (cut to the 15 bytes Linux keeps, as ERTS does). An `extern "C"` call,
/// so that [`driver_thread_main`] makes no call that could unwind (and not
/// inlined, so that its body does not become part of that frame).
#[inline(never)]
extern "C" fn enter_driver_thread(rec: *const DrvThread) {
    let _ = CURRENT.try_with(|c| c.set(rec));
    // SAFETY: `rec` is the live record this thread was started with.
    let rec = unsafe { &*rec };
    if let Some(name) = &rec.name.0 {
        let mut short = [0u8; 16];
        let bytes = name.as_bytes();
        let n = bytes.len().min(15);
        short[..n].copy_from_slice(&bytes[..n]);
        // SAFETY: `short` is NUL-terminated; naming oneself has no other
        // precondition (a failure only leaves the name unchanged).
        unsafe { libc::pthread_setname_np(libc::pthread_self(), short.as_ptr() as *const c_char) };
    }
}

/// The start routine of every driver thread: runs the driver's function
/// and returns its result as the thread's exit value.
///
/// This frame must stay without anything to clean up (see the module docs,
/// "Ending a thread early"): it calls only `extern "C"` functions and owns
/// no value with a destructor.
extern "C" fn driver_thread_main(rec: *mut c_void) -> *mut c_void {
    let rec = rec as *const DrvThread;
    enter_driver_thread(rec);
    // SAFETY: the record outlives its thread: only a join, which waits for
    // the thread to end, frees it. `start` never changes.
    match unsafe { (*rec).start } {
        // SAFETY: the driver's thread function with its own argument, as
        // erl_drv_thread_create was asked to run.
        Some((func, arg)) => unsafe { func(arg) },
        None => ptr::null_mut(),
    }
}

/// `erl_drv_thread_create(name, &tid, func, arg, opts)`: starts a joinable
/// thread running `func(arg)`. Returns 0 or an errno value (`EINVAL` for a
/// NULL `tid` or `func`, `EAGAIN` when out of threads).
#[no_mangle]
pub unsafe extern "C" fn erl_drv_thread_create(
    name: *mut c_char,
    tid: *mut ErlDrvTid,
    func: Option<StartFn>,
    arg: *mut c_void,
    opts: *mut ErlDrvThreadOpts,
) -> c_int {
    let (Some(func), false) = (func, tid.is_null()) else { return libc::EINVAL };
    super::guard("erl_drv_thread_create", libc::ENOMEM, || {
        // SAFETY: NULL or options from erl_drv_thread_opts_create.
        let suggested = if opts.is_null() { -1 } else { unsafe { (*opts).suggested_stack_size } };
        let rec = Box::into_raw(Box::new(DrvThread {
            // SAFETY: pthread_t is a plain integer; pthread_create sets it.
            pthread: UnsafeCell::new(unsafe { std::mem::zeroed() }),
            start: Some((func, arg)),
            // SAFETY: a name is NULL or NUL-terminated.
            name: unsafe { Name::copy(name) },
        }));
        let page = page_size();
        // SAFETY: the attribute object is initialised before use and
        // destroyed after; `rec` stays valid for the thread (only a join
        // frees it); pthread_create writes the id through the UnsafeCell.
        let res = unsafe {
            let mut attr: libc::pthread_attr_t = std::mem::zeroed();
            let mut res = libc::pthread_attr_init(&mut attr);
            if res == 0 {
                libc::pthread_attr_setguardsize(&mut attr, page);
                if let Some(bytes) = stack_size(suggested, page) {
                    libc::pthread_attr_setstacksize(&mut attr, bytes);
                }
                res = libc::pthread_create((*rec).pthread.get(), &attr, driver_thread_main, rec as *mut c_void);
                libc::pthread_attr_destroy(&mut attr);
            }
            res
        };
        if res != 0 {
            // SAFETY: no thread was started: the record is still ours.
            drop(unsafe { Box::from_raw(rec) });
            return res;
        }
        // SAFETY: `tid` is valid for writes (checked non-null; contract).
        unsafe { *tid = rec as ErlDrvTid };
        0
    })
}

/// `erl_drv_thread_self()`: the calling thread's tid; a host thread gets a
/// record of its own on first call (named "unknown", not joinable).
#[no_mangle]
pub unsafe extern "C" fn erl_drv_thread_self() -> ErlDrvTid {
    super::guard("erl_drv_thread_self", ptr::null_mut(), || {
        let cur = CURRENT.try_with(Cell::get).unwrap_or(ptr::null());
        if !cur.is_null() {
            return cur as ErlDrvTid;
        }
        HOST_THREAD
            .try_with(|h| {
                let rec: *const DrvThread = &*h
                    .get_or_init(|| {
                        HostThread(Box::new(DrvThread {
                            // SAFETY: no preconditions.
                            pthread: UnsafeCell::new(unsafe { libc::pthread_self() }),
                            start: None,
                            name: Name(None),
                        }))
                    })
                    .0;
                let _ = CURRENT.try_with(|c| c.set(rec));
                rec as ErlDrvTid
            })
            .unwrap_or(ptr::null_mut())
    })
}

/// The record behind a tid; fatal for NULL.
///
/// # Safety
/// A non-null `tid` is a live record (not yet joined).
unsafe fn thread<'a>(tid: ErlDrvTid, func: &str) -> &'a DrvThread {
    if tid.is_null() {
        fatal(func, libc::EINVAL);
    }
    // SAFETY: by contract.
    unsafe { &*(tid as *const DrvThread) }
}

/// `erl_drv_equal_tids(a, b)`: whether both name the same thread.
#[no_mangle]
pub unsafe extern "C" fn erl_drv_equal_tids(tid1: ErlDrvTid, tid2: ErlDrvTid) -> c_int {
    if tid1.is_null() || tid2.is_null() {
        fatal("erl_drv_equal_tids()", libc::EINVAL);
    }
    (tid1 == tid2) as c_int
}

/// `erl_drv_thread_name(tid)`: the name it was created with ("unknown" if
/// none, and for host threads); NULL for a NULL tid.
#[no_mangle]
pub unsafe extern "C" fn erl_drv_thread_name(tid: ErlDrvTid) -> *mut c_char {
    if tid.is_null() {
        return ptr::null_mut();
    }
    // SAFETY: a live record by contract.
    unsafe { thread(tid, "erl_drv_thread_name()") }.name.as_ptr()
}

/// `erl_drv_thread_join(tid, &resp)`: waits for a driver thread, stores its
/// result (what its function returned or what it gave
/// `erl_drv_thread_exit`) and frees its record. `EINVAL` for a thread
/// `erl_drv_thread_create` did not start.
#[no_mangle]
pub unsafe extern "C" fn erl_drv_thread_join(tid: ErlDrvTid, respp: *mut *mut c_void) -> c_int {
    if tid.is_null() {
        return libc::EINVAL;
    }
    // SAFETY: a live record by contract.
    let rec = unsafe { thread(tid, "erl_drv_thread_join()") };
    if rec.start.is_none() {
        return libc::EINVAL;
    }
    // SAFETY: `pthread` was written by pthread_create before the tid was
    // handed out; `respp` is NULL or valid for writes.
    let res = unsafe { libc::pthread_join(*rec.pthread.get(), respp) };
    if res == 0 {
        // SAFETY: the thread has ended and the driver gives up the tid:
        // nothing else refers to the record.
        drop(unsafe { Box::from_raw(tid as *mut DrvThread) });
    }
    res
}

/// Whether the calling thread was started by `erl_drv_thread_create`. An
/// `extern "C"` call, never inlined, for `erl_drv_thread_exit`'s sake.
#[inline(never)]
extern "C" fn on_driver_thread() -> bool {
    let cur = CURRENT.try_with(Cell::get).unwrap_or(ptr::null());
    // SAFETY: a thread's own record lives as long as the thread.
    !cur.is_null() && unsafe { (*cur).start.is_some() }
}

/// `erl_drv_thread_exit` called on a thread porthost did not start.
#[inline(never)]
extern "C" fn exit_from_foreign_thread() -> ! {
    fatal("erl_drv_thread_exit()", libc::EACCES)
}

/// `erl_drv_thread_exit(resp)`: ends the calling driver thread; its joiner
/// gets `resp`. Fatal on a thread `erl_drv_thread_create` did not start.
///
/// This frame must stay without anything to clean up: `pthread_exit`
/// unwinds through it (see the module docs).
#[no_mangle]
pub unsafe extern "C" fn erl_drv_thread_exit(resp: *mut c_void) {
    if !on_driver_thread() {
        exit_from_foreign_thread();
    }
    // SAFETY: a thread started by driver_thread_main, whose Rust frames
    // (this one and driver_thread_main) have nothing to unwind.
    unsafe { libc::pthread_exit(resp) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stack_size_follows_ethread() {
        let page = 4096;
        assert_eq!(stack_size(-1, page), None);
        // 64 kilowords = 512 KiB, plus a system page and a guard page.
        assert_eq!(stack_size(64, page), Some(512 * 1024 + 2 * page));
        // Tiny suggestions get ethread's minimum.
        let min = stack_size(0, page).unwrap();
        assert!(min >= libc::PTHREAD_STACK_MIN + page && min % page == 0);
        assert_eq!(stack_size(1, page), Some(min));
        // Huge ones its maximum.
        assert_eq!(stack_size(c_int::MAX, page), Some(64 * 1024 * 1024));
    }

    #[test]
    fn tsd_keys_take_the_lowest_free_number() {
        assert_eq!(lowest_free::<u8>(&[]), 0);
        assert_eq!(lowest_free(&[Some(1), None, Some(3)]), 1);
        assert_eq!(lowest_free(&[Some(1), Some(2)]), 2);
    }

    /// A thread function that leaves with erl_drv_thread_exit. Like every
    /// Rust frame a forced unwind crosses, it must have nothing to clean
    /// up, not even an overflow check's panic path (whose abort guard would
    /// stop the unwind): hence `wrapping_add`.
    extern "C" fn exits_early(arg: *mut c_void) -> *mut c_void {
        // SAFETY: a driver thread.
        unsafe { erl_drv_thread_exit((arg as usize).wrapping_add(1) as *mut c_void) };
        ptr::null_mut()
    }

    extern "C" fn returns(arg: *mut c_void) -> *mut c_void {
        // SAFETY: test-only: the tid of a driver thread is its own.
        let me = unsafe { erl_drv_thread_self() };
        // SAFETY: as above.
        assert_eq!(unsafe { CStr::from_ptr(erl_drv_thread_name(me)) }, c"returns");
        arg
    }

    #[test]
    fn threads_return_or_exit_with_a_value_for_join() {
        // SAFETY: the API used as erl_driver.h documents it.
        unsafe {
            let mut tid: ErlDrvTid = ptr::null_mut();
            let name = c"returns".as_ptr() as *mut c_char;
            assert_eq!(erl_drv_thread_create(name, &mut tid, Some(returns), 7 as *mut c_void, ptr::null_mut()), 0);
            let mut res: *mut c_void = ptr::null_mut();
            assert_eq!(erl_drv_thread_join(tid, &mut res), 0);
            assert_eq!(res as usize, 7);

            let opts = erl_drv_thread_opts_create(ptr::null_mut());
            (*opts).suggested_stack_size = 16;
            assert_eq!(erl_drv_thread_create(ptr::null_mut(), &mut tid, Some(exits_early), 41 as *mut c_void, opts), 0);
            erl_drv_thread_opts_destroy(opts);
            assert_eq!(CStr::from_ptr(erl_drv_thread_name(tid)), NO_NAME);
            assert_eq!(erl_drv_thread_join(tid, &mut res), 0);
            assert_eq!(res as usize, 42);

            let me = erl_drv_thread_self();
            assert_eq!(erl_drv_equal_tids(me, erl_drv_thread_self()), 1);
            assert_eq!(erl_drv_thread_join(me, ptr::null_mut()), libc::EINVAL);
        }
    }

    #[test]
    fn tsd_values_are_per_thread() {
        extern "C" fn other(key: *mut c_void) -> *mut c_void {
            let key = key as usize as ErlDrvTSDKey;
            // SAFETY: a live key.
            unsafe {
                let before = erl_drv_tsd_get(key);
                erl_drv_tsd_set(key, 9 as *mut c_void);
                assert_eq!(erl_drv_tsd_get(key) as usize, 9);
                before
            }
        }
        // SAFETY: the API used as documented.
        unsafe {
            let mut key: ErlDrvTSDKey = -1;
            assert_eq!(erl_drv_tsd_key_create(c"k".as_ptr() as *mut c_char, &mut key), 0);
            erl_drv_tsd_set(key, 5 as *mut c_void);
            let mut tid: ErlDrvTid = ptr::null_mut();
            assert_eq!(erl_drv_thread_create(ptr::null_mut(), &mut tid, Some(other), key as usize as *mut c_void, ptr::null_mut()), 0);
            let mut res: *mut c_void = ptr::dangling_mut();
            assert_eq!(erl_drv_thread_join(tid, &mut res), 0);
            assert!(res.is_null());
            assert_eq!(erl_drv_tsd_get(key) as usize, 5);
            erl_drv_tsd_set(key, ptr::null_mut());
            erl_drv_tsd_key_destroy(key);
        }
    }

    #[test]
    fn locks_try_and_name() {
        // SAFETY: the API used as documented.
        unsafe {
            let m = erl_drv_mutex_create(ptr::null_mut());
            assert_eq!(CStr::from_ptr(erl_drv_mutex_name(m)), NO_NAME);
            assert_eq!(erl_drv_mutex_trylock(m), 0);
            assert_eq!(erl_drv_mutex_trylock(m), libc::EBUSY);
            erl_drv_mutex_unlock(m);
            erl_drv_mutex_destroy(m);
            let l = erl_drv_rwlock_create(c"rw".as_ptr() as *mut c_char);
            assert_eq!(CStr::from_ptr(erl_drv_rwlock_name(l)), c"rw");
            assert_eq!(erl_drv_rwlock_tryrlock(l), 0);
            assert_eq!(erl_drv_rwlock_tryrlock(l), 0);
            assert_eq!(erl_drv_rwlock_tryrwlock(l), libc::EBUSY);
            erl_drv_rwlock_runlock(l);
            erl_drv_rwlock_runlock(l);
            assert_eq!(erl_drv_rwlock_tryrwlock(l), 0);
            assert_eq!(erl_drv_rwlock_tryrlock(l), libc::EBUSY);
            erl_drv_rwlock_rwunlock(l);
            erl_drv_rwlock_destroy(l);
            assert!(erl_drv_mutex_name(ptr::null_mut()).is_null());
        }
    }
}
