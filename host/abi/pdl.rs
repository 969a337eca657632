//! Port data locks: `driver_pdl_create`, `driver_pdl_lock`,
//! `driver_pdl_unlock`, `driver_pdl_get_refc`, `driver_pdl_inc_refc`,
//! `driver_pdl_dec_refc` (see `include/erl_driver.h`).
//!
//! A PDL is a mutex with a reference count. The port holds one reference
//! from `driver_pdl_create` until it terminates; threads that keep using
//! the lock after that take their own with `driver_pdl_inc_refc`. As in
//! ERTS, holding the lock is a reference too (`driver_pdl_lock` adds one,
//! `driver_pdl_unlock` drops it), so `driver_pdl_get_refc` under the lock
//! counts it. The last reference to go frees the lock.
//!
//! As in ERTS, a PDL also keeps its port's structure alive: a driver
//! thread that holds the lock after the port has terminated may still pass
//! the port's handle to `driver_peekq`, `driver_sizeq`, ... (they report
//! that the queue is gone) without touching freed memory.
#![allow(clippy::missing_safety_doc)]

use std::sync::atomic::{AtomicIsize, Ordering};

use parking_lot::lock_api::RawMutex as _;

use crate::ffi::{ErlDrvPDL, ErlDrvPort, ErlDrvSInt};
use crate::port::Port;

/// A port data lock.
pub struct Pdl {
    lock: parking_lot::RawMutex,
    refc: AtomicIsize,
    /// One strong count of the port's `Arc`, taken at create, given back
    /// when the PDL is freed.
    port: *const Port,
}

impl Drop for Pdl {
    fn drop(&mut self) {
        // SAFETY: `port` came from an `Arc<Port>` whose strong count
        // driver_pdl_create raised by one; this gives that count back.
        unsafe { std::sync::Arc::decrement_strong_count(self.port) };
    }
}

fn pdl<'a>(p: ErlDrvPDL) -> Option<&'a Pdl> {
    // SAFETY: a non-null ErlDrvPDL is a live Pdl from driver_pdl_create
    // (the caller holds a reference, by contract).
    (!p.is_null()).then(|| unsafe { &*(p as *const Pdl) })
}

/// Drops one reference; frees the lock at zero. Returns the new count.
fn release(p: *mut Pdl) -> isize {
    // SAFETY: `p` is live: the caller gives up one of its references.
    let n = unsafe { &*p }.refc.fetch_sub(1, Ordering::AcqRel) - 1;
    if n == 0 {
        // SAFETY: the last reference: nobody else can reach it.
        drop(unsafe { Box::from_raw(p) });
    }
    n
}

/// The port terminated: it lets go of its reference.
pub(crate) fn port_closed(port: &Port) {
    let p = port.pdl.swap(std::ptr::null_mut(), Ordering::AcqRel);
    if !p.is_null() {
        release(p);
    }
}

/// `driver_pdl_create(port)`: the port's data lock, or NULL if it has one.
#[no_mangle]
pub unsafe extern "C" fn driver_pdl_create(port: ErlDrvPort) -> ErlDrvPDL {
    // SAFETY: live port by contract.
    let Some(p) = (unsafe { super::port_ref(port) }) else { return std::ptr::null_mut() };
    let port_ptr = p as *const Port;
    // SAFETY: every Port lives in an `Arc` (the port table's), and this
    // one is live; the count is given back by `Pdl::drop`.
    unsafe { std::sync::Arc::increment_strong_count(port_ptr) };
    let new = Box::into_raw(Box::new(Pdl { lock: parking_lot::RawMutex::INIT, refc: AtomicIsize::new(1), port: port_ptr }));
    match p.pdl.compare_exchange(std::ptr::null_mut(), new, Ordering::AcqRel, Ordering::Acquire) {
        Ok(_) => new as ErlDrvPDL,
        Err(_) => {
            // SAFETY: never shared.
            drop(unsafe { Box::from_raw(new) });
            std::ptr::null_mut()
        }
    }
}

/// `driver_pdl_lock(pdl)`: takes a reference, then the lock.
#[no_mangle]
pub unsafe extern "C" fn driver_pdl_lock(pdl_: ErlDrvPDL) {
    if let Some(l) = pdl(pdl_) {
        l.refc.fetch_add(1, Ordering::AcqRel);
        l.lock.lock();
        crate::check::pdl_held(pdl_ as usize, true);
    }
}

/// `driver_pdl_unlock(pdl)`: releases the lock, then the reference the
/// lock took (which may free it).
#[no_mangle]
pub unsafe extern "C" fn driver_pdl_unlock(pdl_: ErlDrvPDL) {
    if let Some(l) = pdl(pdl_) {
        crate::check::pdl_held(pdl_ as usize, false);
        // SAFETY: the caller holds the lock, by contract.
        unsafe { l.lock.unlock() };
        release(pdl_ as *mut Pdl);
    }
}

/// `driver_pdl_get_refc(pdl)`.
#[no_mangle]
pub unsafe extern "C" fn driver_pdl_get_refc(pdl_: ErlDrvPDL) -> ErlDrvSInt {
    pdl(pdl_).map_or(0, |l| l.refc.load(Ordering::Acquire) as ErlDrvSInt)
}

/// `driver_pdl_inc_refc(pdl)`: returns the new count.
#[no_mangle]
pub unsafe extern "C" fn driver_pdl_inc_refc(pdl_: ErlDrvPDL) -> ErlDrvSInt {
    pdl(pdl_).map_or(0, |l| (l.refc.fetch_add(1, Ordering::AcqRel) + 1) as ErlDrvSInt)
}

/// `driver_pdl_dec_refc(pdl)`: returns the new count; 0 frees the lock.
#[no_mangle]
pub unsafe extern "C" fn driver_pdl_dec_refc(pdl_: ErlDrvPDL) -> ErlDrvSInt {
    if pdl_.is_null() {
        return 0;
    }
    release(pdl_ as *mut Pdl) as ErlDrvSInt
}
