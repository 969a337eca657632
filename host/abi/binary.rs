//! Memory and binaries: `driver_alloc`, `driver_realloc`, `driver_free`,
//! `driver_alloc_binary`, `driver_realloc_binary`, `driver_free_binary`,
//! `driver_binary_get_refc`, `driver_binary_inc_refc`,
//! `driver_binary_dec_refc` (see `include/erl_driver.h` and
//! [`crate::binary`]). `driver_alloc` is `malloc` with a
//! 16-byte header that counts the block against the port whose callback
//! allocated it (`crate::port::account`): a buffer a driver allocates for
//! a control answer is freed by the host with `driver_free`.
#![allow(clippy::missing_safety_doc)]

use std::os::raw::c_void;
use std::sync::atomic::AtomicI64;
use std::sync::Arc;

use super::guard;
use crate::binary;
use crate::check;
use crate::port::account;
use crate::ffi::{ErlDrvBinary, ErlDrvSInt, ErlDrvSizeT};

/// The header before every `driver_alloc` block: the counter of the port
/// it is counted against (null if none) and the block's size (see
/// `crate::port::account`). 16 bytes, so blocks keep malloc's alignment.
#[repr(C)]
struct Header {
    counter: *const AtomicI64,
    size: usize,
}

const HEADER: usize = std::mem::size_of::<Header>();
const _: () = assert!(HEADER == 16);

/// `driver_alloc(size)`: `malloc` with a header (see [`Header`]).
#[no_mangle]
pub unsafe extern "C" fn driver_alloc(size: ErlDrvSizeT) -> *mut c_void {
    let Some(total) = size.checked_add(HEADER) else { return std::ptr::null_mut() };
    // SAFETY: plain malloc.
    let base = unsafe { libc::malloc(total) } as *mut Header;
    if base.is_null() {
        if check::hooks() != 0 {
            hook_alloc("driver_alloc", size, std::ptr::null_mut());
        }
        return std::ptr::null_mut();
    }
    let counter = match account::current_counter() {
        Some(c) => {
            account::add(&c, size as i64);
            Arc::into_raw(c)
        }
        None => std::ptr::null(),
    };
    // SAFETY: `base` is a fresh block of at least HEADER bytes, aligned for
    // Header (malloc's alignment is 16).
    let p = unsafe {
        base.write(Header { counter, size });
        base.add(1) as *mut c_void
    };
    if check::hooks() != 0 {
        hook_alloc("driver_alloc", size, p);
    }
    p
}

/// The checker and the trace for an allocation that returned `p`.
#[cold]
fn hook_alloc(name: &'static str, size: usize, p: *mut c_void) {
    if check::hooks() & check::CHECK != 0 && name != "driver_alloc_binary" {
        check::allocated(p as usize, size);
    }
    if check::hooks() & check::TRACE != 0 {
        check::trace::call(0, name, &size.to_string(), &format!("{p:p}"), std::time::Duration::ZERO);
    }
}

/// The checker and the trace for a free of `p`: `false` if it must not run.
#[cold]
fn hook_free(name: &'static str, p: *mut c_void) -> bool {
    if check::hooks() & check::TRACE != 0 {
        check::trace::call(0, name, &format!("{p:p}"), "ok", std::time::Duration::ZERO);
    }
    check::hooks() & check::CHECK == 0 || check::freeing(name, p as usize)
}

/// `driver_realloc(ptr, size)`.
#[no_mangle]
pub unsafe extern "C" fn driver_realloc(ptr: *mut c_void, size: ErlDrvSizeT) -> *mut c_void {
    if check::hooks() != 0 && !ptr.is_null() && !hook_free("driver_realloc", ptr) {
        return std::ptr::null_mut();
    }
    // SAFETY: as driver_alloc and resize_unhooked's contract (`ptr` from
    // driver_alloc; the checker, when on, made sure).
    let p = unsafe { resize_unhooked(ptr, size) };
    if check::hooks() != 0 {
        if p.is_null() && !ptr.is_null() {
            // The old block stays.
            check::allocated(ptr as usize, 0);
        }
        if !ptr.is_null() || p.is_null() {
            hook_alloc("driver_realloc", size, p);
        }
    }
    p
}

/// `driver_realloc` without the checker's and the trace's hooks.
///
/// # Safety
/// `ptr` is null or a live block from `driver_alloc`.
unsafe fn resize_unhooked(ptr: *mut c_void, size: ErlDrvSizeT) -> *mut c_void {
    if ptr.is_null() {
        // SAFETY: as driver_alloc.
        return unsafe { driver_alloc(size) };
    }
    let Some(total) = size.checked_add(HEADER) else { return std::ptr::null_mut() };
    // SAFETY: `ptr` comes from driver_alloc by contract, so a Header
    // precedes it in the same malloc block.
    let old = unsafe { (ptr as *mut Header).sub(1) };
    // SAFETY: as above; on failure the old block stays valid.
    let base = unsafe { libc::realloc(old as *mut c_void, total) } as *mut Header;
    if base.is_null() {
        return std::ptr::null_mut();
    }
    // SAFETY: the header moved with the block.
    let h = unsafe { &mut *base };
    if !h.counter.is_null() {
        // SAFETY: the header holds a reference to the counter (into_raw).
        account::add(unsafe { &*h.counter }, size as i64 - h.size as i64);
    }
    h.size = size;
    // SAFETY: within the block.
    unsafe { base.add(1) as *mut c_void }
}

/// `driver_free(ptr)`.
#[no_mangle]
pub unsafe extern "C" fn driver_free(ptr: *mut c_void) {
    if check::hooks() != 0 && !hook_free("driver_free", ptr) {
        return;
    }
    // SAFETY: `ptr` comes from driver_alloc by contract (the checker, when
    // on, made sure).
    unsafe { free_unhooked(ptr) }
}

/// `driver_free` without the checker's and the trace's hooks, for memory
/// the host frees on a driver's behalf (a `control` answer buffer).
///
/// # Safety
/// `ptr` is null or a live block from `driver_alloc`.
pub(crate) unsafe fn free_unhooked(ptr: *mut c_void) {
    if ptr.is_null() {
        return;
    }
    // SAFETY: `ptr` comes from driver_alloc by contract.
    let base = unsafe { (ptr as *mut Header).sub(1) };
    // SAFETY: as above.
    let h = unsafe { base.read() };
    if !h.counter.is_null() {
        // SAFETY: the reference driver_alloc took (into_raw), given back.
        let c = unsafe { Arc::from_raw(h.counter) };
        account::add(&c, -(h.size as i64));
    }
    // SAFETY: the malloc block.
    unsafe { libc::free(base as *mut c_void) }
}

/// `driver_alloc_binary(size)`: reference count 1.
#[no_mangle]
pub unsafe extern "C" fn driver_alloc_binary(size: ErlDrvSizeT) -> *mut ErlDrvBinary {
    let b = guard("driver_alloc_binary", std::ptr::null_mut(), || binary::alloc_raw(size));
    if check::hooks() != 0 {
        check::binary_allocated(b, size);
        hook_alloc("driver_alloc_binary", size, b as *mut c_void);
    }
    b
}

/// `driver_realloc_binary(bin, size)`.
#[no_mangle]
pub unsafe extern "C" fn driver_realloc_binary(bin: *mut ErlDrvBinary, size: ErlDrvSizeT) -> *mut ErlDrvBinary {
    if bin.is_null() {
        // SAFETY: as driver_alloc_binary.
        return unsafe { driver_alloc_binary(size) };
    }
    if !bin_ok("driver_realloc_binary", bin, false) {
        return std::ptr::null_mut();
    }
    // SAFETY: a live driver binary by contract.
    let new = unsafe { binary::realloc_raw(bin, size) };
    if check::hooks() != 0 && !new.is_null() {
        check::binary_moved(bin, new, size);
    }
    new
}

/// The checker for a use of `bin` (`dec`: the use drops a reference):
/// `false` if it must not run.
fn bin_ok(name: &'static str, bin: *mut ErlDrvBinary, dec: bool) -> bool {
    if check::hooks() == 0 {
        return true;
    }
    if check::hooks() & check::TRACE != 0 {
        check::trace::call(0, name, &format!("{bin:p}"), "ok", std::time::Duration::ZERO);
    }
    // SAFETY: the checker asks for the count only of a binary it did not
    // see die (quarantined binaries stay readable anyway).
    check::binary_use(name, bin, || unsafe { binary::refc_get(bin) }, dec)
}

/// `driver_free_binary(bin)`: drops one reference.
#[no_mangle]
pub unsafe extern "C" fn driver_free_binary(bin: *mut ErlDrvBinary) {
    if !bin.is_null() && bin_ok("driver_free_binary", bin, true) {
        // SAFETY: the driver owns one reference, by contract.
        unsafe { binary::release_raw(bin) }
    }
}

/// `driver_binary_get_refc(bin)`.
#[no_mangle]
pub unsafe extern "C" fn driver_binary_get_refc(bin: *mut ErlDrvBinary) -> ErlDrvSInt {
    if !bin_ok("driver_binary_get_refc", bin, false) {
        return 0;
    }
    // SAFETY: a live driver binary by contract.
    unsafe { binary::refc_get(bin) as ErlDrvSInt }
}

/// `driver_binary_inc_refc(bin)`: returns the new count.
#[no_mangle]
pub unsafe extern "C" fn driver_binary_inc_refc(bin: *mut ErlDrvBinary) -> ErlDrvSInt {
    if !bin_ok("driver_binary_inc_refc", bin, false) {
        return 0;
    }
    // SAFETY: a live driver binary by contract.
    unsafe { binary::refc_add(bin, 1) as ErlDrvSInt }
}

/// `driver_binary_dec_refc(bin)`: returns the new count; never frees (use
/// `driver_free_binary` for that), as in ERTS.
#[no_mangle]
pub unsafe extern "C" fn driver_binary_dec_refc(bin: *mut ErlDrvBinary) -> ErlDrvSInt {
    if !bin_ok("driver_binary_dec_refc", bin, true) {
        return 0;
    }
    // SAFETY: a live driver binary by contract.
    unsafe { binary::refc_add(bin, -1) as ErlDrvSInt }
}
