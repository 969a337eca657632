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
    unsafe {
        base.write(Header { counter, size });
        base.add(1) as *mut c_void
    }
}

/// `driver_realloc(ptr, size)`.
#[no_mangle]
pub unsafe extern "C" fn driver_realloc(ptr: *mut c_void, size: ErlDrvSizeT) -> *mut c_void {
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
    guard("driver_alloc_binary", std::ptr::null_mut(), || binary::alloc_raw(size))
}

/// `driver_realloc_binary(bin, size)`.
#[no_mangle]
pub unsafe extern "C" fn driver_realloc_binary(bin: *mut ErlDrvBinary, size: ErlDrvSizeT) -> *mut ErlDrvBinary {
    if bin.is_null() {
        return binary::alloc_raw(size);
    }
    // SAFETY: a live driver binary by contract.
    unsafe { binary::realloc_raw(bin, size) }
}

/// `driver_free_binary(bin)`: drops one reference.
#[no_mangle]
pub unsafe extern "C" fn driver_free_binary(bin: *mut ErlDrvBinary) {
    if !bin.is_null() {
        // SAFETY: the driver owns one reference, by contract.
        unsafe { binary::release_raw(bin) }
    }
}

/// `driver_binary_get_refc(bin)`.
#[no_mangle]
pub unsafe extern "C" fn driver_binary_get_refc(bin: *mut ErlDrvBinary) -> ErlDrvSInt {
    // SAFETY: a live driver binary by contract.
    unsafe { binary::refc_get(bin) as ErlDrvSInt }
}

/// `driver_binary_inc_refc(bin)`: returns the new count.
#[no_mangle]
pub unsafe extern "C" fn driver_binary_inc_refc(bin: *mut ErlDrvBinary) -> ErlDrvSInt {
    // SAFETY: a live driver binary by contract.
    unsafe { binary::refc_add(bin, 1) as ErlDrvSInt }
}

/// `driver_binary_dec_refc(bin)`: returns the new count; never frees (use
/// `driver_free_binary` for that), as in ERTS.
#[no_mangle]
pub unsafe extern "C" fn driver_binary_dec_refc(bin: *mut ErlDrvBinary) -> ErlDrvSInt {
    // SAFETY: a live driver binary by contract.
    unsafe { binary::refc_add(bin, -1) as ErlDrvSInt }
}
