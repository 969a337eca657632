//! Building the `ErlIOVec` that `outputv` receives from an iolist, split the
//! way ERTS 25 splits it (`io_list_vec_len` and `io_list_to_vec` in
//! `erts/emulator/beam/erl_io_queue.c`; observed with `tests/drivers/probe_drv.c`,
//! see `docs/erts-notes.md` §3):
//!
//! - element 0 is empty (`iov_len` 0, `binv[0]` NULL): room for a header;
//!   `vsize` counts it and `size` is the byte total;
//! - integers and heap binaries ([`Bin::is_heap`]) are *characters*: each
//!   maximal run of them is one element pointing into one common binary that
//!   holds all the characters, and `binv` holds that common binary;
//! - each refc binary is an element of its own pointing into it, with the
//!   binary itself in `binv` (no copy);
//! - when that makes 16 or more elements, refc binaries shorter than
//!   [`SMALL_IO_BIN_LIMIT`] bytes are copied as characters too.

use crate::binary::Bin;
use crate::ffi::{ErlDrvBinary, ErlIOVec, SysIOVec};
use crate::term::{IoPiece, Term};

/// Refc binaries shorter than this are copied when the vector would be long
/// (ERTS's `ERL_SMALL_IO_BIN_LIMIT`, `4 * ERL_ONHEAP_BIN_LIMIT`).
pub const SMALL_IO_BIN_LIMIT: usize = 256;

/// Element count from which small refc binaries are copied (ERTS's
/// `SMALL_WRITE_VEC`).
const SMALL_WRITE_VEC: usize = 16;

enum Seg {
    /// `len` bytes at `off` in the common binary.
    Copied { off: usize, len: usize },
    /// A binary passed by reference.
    Large(Bin),
}

fn is_char_bin(b: &Bin, pack: bool) -> bool {
    b.is_heap() || (pack && b.len() < SMALL_IO_BIN_LIMIT)
}

/// How many elements (runs of characters, refc binaries) `data` makes.
fn count_elements(data: &Term) -> usize {
    let (mut n, mut in_run) = (0, false);
    let _ = data.iolist_walk(&mut |piece| {
        let is_char = match piece {
            IoPiece::Byte(_) | IoPiece::Bytes(_) => true,
            IoPiece::Bin(b) => is_char_bin(b, false),
        };
        // A refc binary is an element; a character starts one unless a run
        // is going on.
        if !is_char || !in_run {
            n += 1;
        }
        in_run = is_char;
    });
    n
}

/// An `ErlIOVec` and the memory it points to.
pub struct IoVec {
    iov: Vec<SysIOVec>,
    binv: Vec<*mut ErlDrvBinary>,
    /// The vector of a single binary, without allocating one: element 0
    /// and the binary, and the binary kept alive (`iov`/`binv` are then
    /// empty).
    small: Option<([SysIOVec; 2], [*mut ErlDrvBinary; 2], Bin)>,
    _keep: Vec<Bin>,
    ev: ErlIOVec,
}

impl IoVec {
    /// Splits the iolist `data` (of `size` bytes; the caller has checked it
    /// is one) into an `ErlIOVec`.
    pub fn from_iolist(data: &Term, size: usize) -> IoVec {
        if let Term::Binary(b) = data {
            if !b.is_empty() {
                return IoVec::one_binary(b);
            }
        }
        let mut common: Vec<u8> = Vec::new();
        let mut segs: Vec<Seg> = Vec::new();
        let push_copied = |segs: &mut Vec<Seg>, common: &mut Vec<u8>, bytes: &[u8]| {
            let off = common.len();
            common.extend_from_slice(bytes);
            match segs.last_mut() {
                Some(Seg::Copied { len, .. }) => *len += bytes.len(),
                _ => segs.push(Seg::Copied { off, len: bytes.len() }),
            }
        };
        let pack = count_elements(data) >= SMALL_WRITE_VEC;
        data.iolist_walk(&mut |piece| match piece {
            IoPiece::Byte(b) => push_copied(&mut segs, &mut common, &[b]),
            IoPiece::Bytes(b) => push_copied(&mut segs, &mut common, b),
            IoPiece::Bin(b) if is_char_bin(b, pack) => {
                if !b.is_empty() {
                    push_copied(&mut segs, &mut common, b.as_slice())
                }
            }
            IoPiece::Bin(b) => segs.push(Seg::Large(b.clone())),
        })
        .expect("caller checked the iolist");
        let common = (!common.is_empty()).then(|| Bin::allocated_copy(&common));
        let mut iov = vec![SysIOVec { iov_base: std::ptr::null_mut(), iov_len: 0 }];
        let mut binv = vec![std::ptr::null_mut()];
        let mut keep = Vec::new();
        for seg in segs {
            match seg {
                Seg::Copied { off, len } => {
                    let c = common.as_ref().expect("copied bytes exist");
                    iov.push(SysIOVec { iov_base: c.as_slice()[off..].as_ptr() as *mut _, iov_len: len });
                    binv.push(c.raw());
                }
                Seg::Large(b) => {
                    iov.push(SysIOVec { iov_base: b.as_slice().as_ptr() as *mut _, iov_len: b.len() });
                    binv.push(b.raw());
                    keep.push(b);
                }
            }
        }
        keep.extend(common);
        let ev = ErlIOVec { vsize: iov.len() as i32, size, iov: std::ptr::null_mut(), binv: std::ptr::null_mut() };
        IoVec { iov, binv, small: None, _keep: keep, ev }
    }

    /// The vector of one non-empty binary, split as [`IoVec::from_iolist`]
    /// splits it: a heap binary's bytes copied into a binary of their own
    /// (ERTS's common binary: a driver may write into it), a refc binary
    /// by reference.
    fn one_binary(b: &Bin) -> IoVec {
        let bin = if b.is_heap() { Bin::allocated_copy(b.as_slice()) } else { b.clone() };
        let empty = SysIOVec { iov_base: std::ptr::null_mut(), iov_len: 0 };
        let elem = SysIOVec { iov_base: bin.as_slice().as_ptr() as *mut _, iov_len: bin.len() };
        let ev = ErlIOVec { vsize: 2, size: bin.len(), iov: std::ptr::null_mut(), binv: std::ptr::null_mut() };
        let small = Some(([empty, elem], [std::ptr::null_mut(), bin.raw()], bin));
        IoVec { iov: Vec::new(), binv: Vec::new(), small, _keep: Vec::new(), ev }
    }

    /// The `ErlIOVec` to pass to `outputv`; valid while `self` lives.
    pub fn as_erl_iovec(&mut self) -> *mut ErlIOVec {
        match &mut self.small {
            Some((iov, binv, _)) => {
                self.ev.iov = iov.as_mut_ptr();
                self.ev.binv = binv.as_mut_ptr();
            }
            None => {
                self.ev.iov = self.iov.as_mut_ptr();
                self.ev.binv = self.binv.as_mut_ptr();
            }
        }
        &mut self.ev
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(data: &Term) -> Vec<(usize, Vec<u8>)> {
        let size = data.iolist_size().unwrap();
        let mut v = IoVec::from_iolist(data, size);
        let ev = v.as_erl_iovec();
        // SAFETY: `v` lives; the vector has `vsize` elements.
        let iov = unsafe { std::slice::from_raw_parts((*ev).iov, (*ev).vsize as usize) };
        iov.iter()
            .map(|e| {
                let bytes = if e.iov_len == 0 {
                    Vec::new()
                } else {
                    // SAFETY: each element points at `iov_len` live bytes.
                    unsafe { std::slice::from_raw_parts(e.iov_base as *const u8, e.iov_len) }.to_vec()
                };
                (e.iov_len, bytes)
            })
            .collect()
    }

    /// A compact byte list is characters, exactly as the integers it stands
    /// for: one run with its neighbours, a refc binary still apart.
    #[test]
    fn a_byte_list_splits_as_its_integers() {
        let big = Term::binary(&[9u8; 100]);
        assert!(!matches!(&big, Term::Binary(b) if b.is_heap()), "100 bytes make a refc binary");
        let mk = |l: fn(&[u8]) -> Term| Term::List(vec![l(b"ab"), Term::Int(b'c' as i64), big.clone(), l(b"de")]);
        let compact = mk(Term::compact_byte_list);
        let expanded = mk(Term::byte_list);
        assert_eq!(shape(&compact), shape(&expanded));
        assert_eq!(shape(&compact).iter().map(|s| s.0).collect::<Vec<_>>(), [0, 3, 100, 2]);
    }

    /// A lone binary takes the short path; it splits as inside a list.
    #[test]
    fn a_lone_binary_splits_as_in_a_list() {
        for n in [1, 28, 64, 65, 100, 5000] {
            let b = Term::binary(&vec![7u8; n]);
            assert_eq!(shape(&b), shape(&Term::List(vec![b.clone()])), "{n} bytes");
            assert_eq!(shape(&b).len(), 2);
        }
        assert_eq!(shape(&Term::binary(&[])), shape(&Term::List(vec![Term::binary(&[])])));
    }
}
