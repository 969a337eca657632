//! Output to the port owner: `driver_output`, `driver_output2`,
//! `driver_output_binary`, `driver_outputv`, `driver_vec_to_buf`
//! (see `include/erl_driver.h`). Each sends `{Port, {data, Data}}`: in
//! binary mode `Data` is a binary, or `[H1, ..., Hn | Binary]` when there is
//! a header; in list mode it is a flat list of bytes. Nothing is sent while
//! the port is closing or exiting.
#![allow(clippy::missing_safety_doc)]

use std::os::raw::{c_char, c_int};

use super::{bytes, guard, port_ref};
use crate::binary::{self, Bin};
use crate::ffi::{ErlDrvBinary, ErlDrvPort, ErlDrvSizeT, ErlIOVec};
use crate::port::{self as port_mod, Port};
use crate::term::Term;

/// Builds the data term from a header and a body binary.
fn data_with_header(p: &Port, header: &[u8], body: Bin) -> Term {
    if p.binary_mode() {
        if header.is_empty() {
            Term::Binary(body)
        } else {
            let head = header.iter().map(|&b| Term::Int(b as i64)).collect();
            Term::Improper(head, Box::new(Term::Binary(body)))
        }
    } else {
        let mut v = header.to_vec();
        v.extend_from_slice(body.as_slice());
        Term::compact_byte_list(&v)
    }
}

/// `driver_output(port, buf, len)`.
#[no_mangle]
pub unsafe extern "C" fn driver_output(port: ErlDrvPort, buf: *mut c_char, len: ErlDrvSizeT) -> c_int {
    // SAFETY: `len` readable bytes at `buf`, by contract (read for the trace).
    let args = || crate::check::trace::payload(unsafe { bytes(buf, len) });
    super::hooked("driver_output", port, crate::check::Thread::Callback, args, -1, || {
        // SAFETY: the driver passes its own live port and `len` bytes.
        let Some(p) = (unsafe { port_ref(port) }) else { return -1 };
        let data = unsafe { bytes(buf, len) };
        port_mod::deliver(p, super::entry::data_term(p, data), len);
        0
    })
}

/// `driver_output2(port, hbuf, hlen, buf, len)`.
#[no_mangle]
pub unsafe extern "C" fn driver_output2(
    port: ErlDrvPort,
    hbuf: *mut c_char,
    hlen: ErlDrvSizeT,
    buf: *mut c_char,
    len: ErlDrvSizeT,
) -> c_int {
    let args = || {
        // SAFETY: `hlen` and `len` readable bytes, by contract.
        let (h, b) = unsafe { (bytes(hbuf, hlen), bytes(buf, len)) };
        format!("{}, {}", crate::check::trace::payload(h), crate::check::trace::payload(b))
    };
    super::hooked("driver_output2", port, crate::check::Thread::Callback, args, -1, || {
        // SAFETY: as for driver_output.
        let Some(p) = (unsafe { port_ref(port) }) else { return -1 };
        let (h, b) = unsafe { (bytes(hbuf, hlen), bytes(buf, len)) };
        port_mod::deliver(p, data_with_header(p, h, Bin::from_slice(b)), hlen + len);
        0
    })
}

/// `driver_output_binary(port, hbuf, hlen, bin, offset, len)`: the body is
/// a sub-binary of `bin` (one more reference, no copy).
#[no_mangle]
pub unsafe extern "C" fn driver_output_binary(
    port: ErlDrvPort,
    hbuf: *mut c_char,
    hlen: ErlDrvSizeT,
    bin: *mut ErlDrvBinary,
    offset: ErlDrvSizeT,
    len: ErlDrvSizeT,
) -> c_int {
    super::hooked("driver_output_binary", port, crate::check::Thread::Callback, || format!("{hlen}, {bin:p}, {offset}, {len}"), -1, || {
        // SAFETY: as for driver_output; `bin` is a live driver binary.
        let Some(p) = (unsafe { port_ref(port) }) else { return -1 };
        if bin.is_null() || offset + len > unsafe { (*bin).orig_size } as usize {
            return -1;
        }
        let h = unsafe { bytes(hbuf, hlen) };
        // SAFETY: a live driver binary; the range was checked.
        let body = unsafe { Bin::share_raw(bin, offset, len) };
        port_mod::deliver(p, data_with_header(p, h, body), hlen + len);
        0
    })
}

/// `driver_outputv(port, hbuf, hlen, ev, skip)`.
#[no_mangle]
pub unsafe extern "C" fn driver_outputv(
    port: ErlDrvPort,
    hbuf: *mut c_char,
    hlen: ErlDrvSizeT,
    ev: *mut ErlIOVec,
    skip: ErlDrvSizeT,
) -> c_int {
    super::hooked("driver_outputv", port, crate::check::Thread::Callback, || format!("{hlen}, {ev:p}, {skip}"), -1, || {
        // SAFETY: as for driver_output; `ev` is a valid ErlIOVec.
        let Some(p) = (unsafe { port_ref(port) }) else { return -1 };
        let h = unsafe { bytes(hbuf, hlen) };
        let pieces = unsafe { iovec_pieces(ev, skip) };
        let n: usize = pieces.iter().map(|p| p.bytes.len()).sum();
        let data = if p.binary_mode() {
            // ERTS: the header bytes, then one binary per element, the last
            // one as the tail: [H1, ..., Bin1, Bin2 | BinLast].
            let mut items: Vec<Term> = h.iter().map(|&b| Term::Int(b as i64)).collect();
            let tail = pieces.last().map(Piece::to_binary);
            let n_pieces = pieces.len();
            items.extend(pieces.iter().take(n_pieces.saturating_sub(1)).map(Piece::to_binary));
            match tail {
                None => Term::List(items),
                Some(t) if items.is_empty() => t,
                Some(t) => Term::Improper(items, Box::new(t)),
            }
        } else {
            let mut v = h.to_vec();
            pieces.iter().for_each(|p| v.extend_from_slice(p.bytes));
            Term::compact_byte_list(&v)
        };
        port_mod::deliver(p, data, hlen + n);
        0
    })
}

/// One element of an `ErlIOVec` (after `skip`): its bytes and the driver
/// binary they lie in, if `binv` names one that holds them.
struct Piece<'a> {
    bytes: &'a [u8],
    bin: Option<(*mut ErlDrvBinary, usize)>,
}

impl Piece<'_> {
    /// The piece as a binary term: a new reference to its driver binary
    /// when it is larger than ERTS's heap-binary limit (ERTS's
    /// `deliver_vec_message` makes a ProcBin of it, no copy), else a copy.
    fn to_binary(&self) -> Term {
        match self.bin {
            Some((bin, off)) if self.bytes.len() > binary::ONHEAP_BIN_LIMIT => {
                // SAFETY: `bin` is a live driver binary holding
                // `off..off + len` (checked by `iovec_pieces`).
                Term::Binary(unsafe { Bin::share_raw(bin, off, self.bytes.len()) })
            }
            _ => Term::binary(self.bytes),
        }
    }
}

/// The non-empty elements of `ev` after the first `skip` bytes.
///
/// # Safety
/// `ev` must be NULL or a valid ErlIOVec whose elements are readable and
/// stay so while the pieces live; a non-NULL `binv` entry must be a live
/// driver binary.
unsafe fn iovec_pieces<'a>(ev: *const ErlIOVec, mut skip: usize) -> Vec<Piece<'a>> {
    let mut out = Vec::new();
    if ev.is_null() {
        return out;
    }
    // SAFETY: by contract.
    let ev = unsafe { &*ev };
    for i in 0..ev.vsize.max(0) as usize {
        // SAFETY: iov (and binv, when not NULL) have vsize elements.
        let iov = unsafe { &*ev.iov.add(i) };
        // SAFETY: each SysIOVec of a driver's ErlIOVec points to iov_len
        // readable bytes (erl_driver.h).
        let b = unsafe { bytes(iov.iov_base as *const c_char, iov.iov_len) };
        if skip >= b.len() {
            skip -= b.len();
            continue;
        }
        let bytes = &b[skip..];
        // SAFETY: binv, when not NULL, has vsize elements, as iov has.
        let bin = if ev.binv.is_null() { std::ptr::null_mut() } else { unsafe { *ev.binv.add(i) } };
        // Only a binary that really holds the bytes can stand for them.
        let bin = (!bin.is_null())
            .then(|| {
                // SAFETY: a live driver binary, by contract: its
                // `orig_size` bytes start at `orig_bytes`.
                let (start, size) = unsafe { (std::ptr::addr_of!((*bin).orig_bytes) as usize, (*bin).orig_size as usize) };
                let at = bytes.as_ptr() as usize;
                (at >= start && at + bytes.len() <= start + size).then_some((bin, at - start))
            })
            .flatten();
        out.push(Piece { bytes, bin });
        skip = 0;
    }
    out
}

/// `driver_vec_to_buf(ev, buf, len)`: copies up to `len` bytes of `ev`
/// into `buf`; returns the number copied.
#[no_mangle]
pub unsafe extern "C" fn driver_vec_to_buf(ev: *mut ErlIOVec, buf: *mut c_char, len: ErlDrvSizeT) -> ErlDrvSizeT {
    guard("driver_vec_to_buf", 0, || {
        // SAFETY: `ev` is valid and `buf` has room for `len` bytes.
        let mut n = 0;
        for p in unsafe { iovec_pieces(ev, 0) } {
            let k = p.bytes.len().min(len - n);
            unsafe { std::ptr::copy_nonoverlapping(p.bytes.as_ptr(), (buf as *mut u8).add(n), k) };
            n += k;
            if n == len {
                break;
            }
        }
        n
    })
}
