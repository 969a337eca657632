//! The driver queue: `driver_enq`, `driver_pushq`, `driver_deq`,
//! `driver_sizeq`, `driver_peekq`, `driver_peekqv`, `driver_enq_bin`,
//! `driver_pushq_bin`, `driver_enqv`, `driver_pushqv` (see
//! `include/erl_driver.h` and [`crate::port::queue`]). A dequeue that
//! drains the queue of a closing port lets the port close.
#![allow(clippy::missing_safety_doc)]

use std::os::raw::{c_char, c_int};

use super::bytes;
use crate::binary::{self, Bin};
use crate::ffi::{ErlDrvBinary, ErlDrvPort, ErlDrvSizeT, ErlIOVec, SysIOVec};
use crate::port::{self as port_mod};

/// The port of a queue operation, `None` for NULL or a port that is gone:
/// ERTS's `drvport2ioq` finds no queue on a terminated port (a driver
/// thread that holds its PDL may still ask), so `driver_peekq` gives NULL
/// with `*vlen == -1`, `driver_sizeq` -1, and so on.
///
/// # Safety
/// As [`super::port_ref`].
unsafe fn port_ref<'a>(h: ErlDrvPort) -> Option<&'a crate::port::Port> {
    // SAFETY: by contract.
    unsafe { super::port_ref(h) }.filter(|p| p.phase() != port_mod::Phase::Closed)
}

/// `(ErlDrvSizeT) -1`.
const SIZE_ERROR: ErlDrvSizeT = ErlDrvSizeT::MAX;

/// `driver_enq(port, buf, len)`: copies `len` bytes to the tail.
#[no_mangle]
pub unsafe extern "C" fn driver_enq(port: ErlDrvPort, buf: *mut c_char, len: ErlDrvSizeT) -> c_int {
    // SAFETY: `len` readable bytes at `buf`, by contract (read for the trace).
    let args = || crate::check::trace::payload(unsafe { bytes(buf, len) });
    super::hooked("driver_enq", port, crate::check::Thread::Queue, args, -1, || {
        // SAFETY: live port, `len` readable bytes, by contract.
        let Some(p) = (unsafe { port_ref(port) }) else { return -1 };
        p.queue.lock().enq(Bin::allocated_copy(unsafe { bytes(buf, len) }));
        0
    })
}

/// `driver_pushq(port, buf, len)`: copies `len` bytes to the head.
#[no_mangle]
pub unsafe extern "C" fn driver_pushq(port: ErlDrvPort, buf: *mut c_char, len: ErlDrvSizeT) -> c_int {
    // SAFETY: `len` readable bytes at `buf`, by contract (read for the trace).
    let args = || crate::check::trace::payload(unsafe { bytes(buf, len) });
    super::hooked("driver_pushq", port, crate::check::Thread::Queue, args, -1, || {
        // SAFETY: as for driver_enq.
        let Some(p) = (unsafe { port_ref(port) }) else { return -1 };
        p.queue.lock().push(Bin::allocated_copy(unsafe { bytes(buf, len) }));
        0
    })
}

/// `driver_deq(port, size)`: returns the bytes left, or -1 if the queue
/// holds fewer than `size`.
#[no_mangle]
pub unsafe extern "C" fn driver_deq(port: ErlDrvPort, size: ErlDrvSizeT) -> ErlDrvSizeT {
    super::hooked("driver_deq", port, crate::check::Thread::Queue, || size.to_string(), SIZE_ERROR, || {
        // SAFETY: live port by contract.
        let Some(p) = (unsafe { port_ref(port) }) else { return SIZE_ERROR };
        let left = p.queue.lock().deq(size);
        match left {
            Some(n) => {
                port_mod::queue_changed(p);
                n
            }
            None => SIZE_ERROR,
        }
    })
}

/// `driver_sizeq(port)`: bytes queued, -1 for a bad port.
#[no_mangle]
pub unsafe extern "C" fn driver_sizeq(port: ErlDrvPort) -> ErlDrvSizeT {
    super::hooked("driver_sizeq", port, crate::check::Thread::Queue, String::new, SIZE_ERROR, || {
        // SAFETY: live port by contract.
        match unsafe { port_ref(port) } {
            Some(p) => p.queue.lock().size(),
            None => SIZE_ERROR,
        }
    })
}

/// `driver_peekq(port, &vlen)`: the queue as an array of `SysIOVec`, valid
/// until the queue changes.
#[no_mangle]
pub unsafe extern "C" fn driver_peekq(port: ErlDrvPort, vlen: *mut c_int) -> *mut SysIOVec {
    super::hooked("driver_peekq", port, crate::check::Thread::Queue, String::new, std::ptr::null_mut(), || {
        // SAFETY: live port by contract.
        let Some(p) = (unsafe { port_ref(port) }) else {
            if !vlen.is_null() {
                // SAFETY: `vlen` points to an int, by contract.
                unsafe { *vlen = -1 };
            }
            return std::ptr::null_mut();
        };
        let (iov, n) = p.queue.lock().peek();
        if !vlen.is_null() {
            // SAFETY: `vlen` points to an int, by contract.
            unsafe { *vlen = n as c_int };
        }
        if n == 0 {
            std::ptr::null_mut()
        } else {
            iov
        }
    })
}

/// `driver_peekqv(port, ev)`: fills `ev` with the queue; returns its size.
#[no_mangle]
pub unsafe extern "C" fn driver_peekqv(port: ErlDrvPort, ev: *mut ErlIOVec) -> ErlDrvSizeT {
    super::hooked("driver_peekqv", port, crate::check::Thread::Queue, String::new, SIZE_ERROR, || {
        // SAFETY: live port by contract.
        let Some(p) = (unsafe { port_ref(port) }) else { return SIZE_ERROR };
        if ev.is_null() {
            return p.queue.lock().size();
        }
        // SAFETY: `ev` points to an ErlIOVec the driver owns.
        p.queue.lock().peekv(unsafe { &mut *ev })
    })
}

/// Takes one more reference to `bin` and views `offset..offset + len`.
///
/// # Safety
/// `bin` must be a live driver binary.
unsafe fn share(bin: *mut ErlDrvBinary, offset: usize, len: usize) -> Option<Bin> {
    // SAFETY: by contract.
    if bin.is_null() || offset + len > unsafe { (*bin).orig_size } as usize {
        return None;
    }
    // SAFETY: a live driver binary; the range was checked.
    Some(unsafe { Bin::share_raw(bin, offset, len) })
}

/// `driver_enq_bin(port, bin, offset, len)`: queues part of `bin` without
/// copying (one more reference).
#[no_mangle]
pub unsafe extern "C" fn driver_enq_bin(port: ErlDrvPort, bin: *mut ErlDrvBinary, offset: ErlDrvSizeT, len: ErlDrvSizeT) -> c_int {
    super::hooked("driver_enq_bin", port, crate::check::Thread::Queue, || format!("{bin:p}, {offset}, {len}"), -1, || {
        // SAFETY: live port and binary by contract.
        let Some(p) = (unsafe { port_ref(port) }) else { return -1 };
        let Some(b) = (unsafe { share(bin, offset, len) }) else { return -1 };
        p.queue.lock().enq(b);
        0
    })
}

/// `driver_pushq_bin(port, bin, offset, len)`.
#[no_mangle]
pub unsafe extern "C" fn driver_pushq_bin(port: ErlDrvPort, bin: *mut ErlDrvBinary, offset: ErlDrvSizeT, len: ErlDrvSizeT) -> c_int {
    super::hooked("driver_pushq_bin", port, crate::check::Thread::Queue, || format!("{bin:p}, {offset}, {len}"), -1, || {
        // SAFETY: as for driver_enq_bin.
        let Some(p) = (unsafe { port_ref(port) }) else { return -1 };
        let Some(b) = (unsafe { share(bin, offset, len) }) else { return -1 };
        p.queue.lock().push(b);
        0
    })
}

/// The segments of `ev` after `skip` bytes: elements with a binary are
/// shared, others copied.
///
/// # Safety
/// `ev` must be a valid ErlIOVec.
unsafe fn segments(ev: *const ErlIOVec, mut skip: usize) -> Option<Vec<Bin>> {
    if ev.is_null() {
        return None;
    }
    // SAFETY: by contract.
    let ev = unsafe { &*ev };
    let mut out = Vec::new();
    for i in 0..ev.vsize.max(0) as usize {
        // SAFETY: iov and binv have vsize elements.
        let (iov, bin) = unsafe { (&*ev.iov.add(i), *ev.binv.add(i)) };
        let mut len = iov.iov_len;
        let mut base = iov.iov_base as *const u8;
        if skip >= len {
            skip -= len;
            continue;
        }
        // SAFETY: skip < len, inside the element.
        base = unsafe { base.add(skip) };
        len -= skip;
        skip = 0;
        if bin.is_null() {
            out.push(Bin::from_slice(unsafe { bytes(base as *const c_char, len) }));
        } else {
            // SAFETY: the element points into `bin`'s bytes.
            let start = unsafe { base.offset_from(binary::bytes_of(bin).as_ptr()) };
            if start < 0 {
                return None;
            }
            out.push(unsafe { share(bin, start as usize, len) }?);
        }
    }
    Some(out)
}

/// `driver_enqv(port, ev, skip)`.
#[no_mangle]
pub unsafe extern "C" fn driver_enqv(port: ErlDrvPort, ev: *mut ErlIOVec, skip: ErlDrvSizeT) -> c_int {
    super::hooked("driver_enqv", port, crate::check::Thread::Queue, || format!("{ev:p}, {skip}"), -1, || {
        // SAFETY: live port and valid ev by contract.
        let Some(p) = (unsafe { port_ref(port) }) else { return -1 };
        let Some(segs) = (unsafe { segments(ev, skip) }) else { return -1 };
        let mut q = p.queue.lock();
        for s in segs {
            q.enq(s);
        }
        0
    })
}

/// `driver_pushqv(port, ev, skip)`.
#[no_mangle]
pub unsafe extern "C" fn driver_pushqv(port: ErlDrvPort, ev: *mut ErlIOVec, skip: ErlDrvSizeT) -> c_int {
    super::hooked("driver_pushqv", port, crate::check::Thread::Queue, || format!("{ev:p}, {skip}"), -1, || {
        // SAFETY: as for driver_enqv.
        let Some(p) = (unsafe { port_ref(port) }) else { return -1 };
        let Some(segs) = (unsafe { segments(ev, skip) }) else { return -1 };
        let mut q = p.queue.lock();
        for s in segs.into_iter().rev() {
            q.push(s);
        }
        0
    })
}
