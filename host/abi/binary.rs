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
use crate::check;
use crate::ffi::{ErlDrvBinary, ErlDrvSInt, ErlDrvSizeT};

/// `driver_alloc(size)`.
#[no_mangle]
pub unsafe extern "C" fn driver_alloc(size: ErlDrvSizeT) -> *mut c_void {
    // SAFETY: plain malloc.
    let p = unsafe { libc::malloc(size) };
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
    if check::hooks() != 0 && !hook_free("driver_realloc", ptr) {
        return std::ptr::null_mut();
    }
    // SAFETY: `ptr` comes from driver_alloc (malloc) by contract (the
    // checker, when on, made sure).
    let p = unsafe { libc::realloc(ptr, size) };
    if check::hooks() != 0 {
        if p.is_null() && !ptr.is_null() {
            // The old block stays.
            check::allocated(ptr as usize, 0);
        }
        hook_alloc("driver_realloc", size, p);
    }
    p
}

/// `driver_free(ptr)`.
#[no_mangle]
pub unsafe extern "C" fn driver_free(ptr: *mut c_void) {
    if check::hooks() != 0 && !hook_free("driver_free", ptr) {
        return;
    }
    // SAFETY: `ptr` comes from driver_alloc (malloc) by contract (the
    // checker, when on, made sure).
    unsafe { libc::free(ptr) }
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
