//! Memory and binaries: `driver_alloc`, `driver_realloc`, `driver_free`,
//! `driver_alloc_binary`, `driver_realloc_binary`, `driver_free_binary`,
//! `driver_binary_get_refc`, `driver_binary_inc_refc`,
//! `driver_binary_dec_refc` (see `include/erl_driver.h` and
//! [`crate::binary`]). `driver_alloc` is `malloc`, so a buffer a driver
//! allocates for a control answer is freed by the host with `free`.
#![allow(clippy::missing_safety_doc)]

use std::os::raw::c_void;

use super::guard;
use crate::binary;
use crate::ffi::{ErlDrvBinary, ErlDrvSInt, ErlDrvSizeT};

/// `driver_alloc(size)`.
#[no_mangle]
pub unsafe extern "C" fn driver_alloc(size: ErlDrvSizeT) -> *mut c_void {
    // SAFETY: plain malloc.
    unsafe { libc::malloc(size) }
}

/// `driver_realloc(ptr, size)`.
#[no_mangle]
pub unsafe extern "C" fn driver_realloc(ptr: *mut c_void, size: ErlDrvSizeT) -> *mut c_void {
    // SAFETY: `ptr` comes from driver_alloc (malloc) by contract.
    unsafe { libc::realloc(ptr, size) }
}

/// `driver_free(ptr)`.
#[no_mangle]
pub unsafe extern "C" fn driver_free(ptr: *mut c_void) {
    // SAFETY: `ptr` comes from driver_alloc (malloc) by contract.
    unsafe { libc::free(ptr) }
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
