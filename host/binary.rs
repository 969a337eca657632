//! Driver binaries (`ErlDrvBinary`) and the reference-counted [`Bin`] that
//! every binary term is made of.
//!
//! One allocation holds a hidden header (the reference count) followed by the
//! `ErlDrvBinary` a driver sees (`orig_size`, then the bytes), so the pointer
//! handed to a driver by `driver_alloc_binary`, in an `ErlIOVec`'s `binv` or
//! by `port_control` is the same object a binary term refers to, as in ERTS,
//! where a refc binary's `ErlDrvBinary` lives inside its `Binary`.
//! `driver_binary_inc_refc`/`dec_refc`/`get_refc` and `driver_free_binary`
//! operate on the hidden count; the last release frees the allocation.

use std::ptr::NonNull;
use std::sync::atomic::{AtomicIsize, Ordering};

use crate::ffi::ErlDrvBinary;

#[repr(C)]
struct Header {
    refc: AtomicIsize,
    _reserved: isize,
}

const HEADER: usize = std::mem::size_of::<Header>();
const BYTES_OFFSET: usize = std::mem::offset_of!(ErlDrvBinary, orig_bytes);

/// Allocates a driver binary of `size` bytes with a reference count of 1,
/// as `driver_alloc_binary` does. The bytes are uninitialised.
/// Returns null if the allocation fails.
pub fn alloc_raw(size: usize) -> *mut ErlDrvBinary {
    // SAFETY: malloc with a non-zero size; the result is checked for null.
    let base = unsafe { libc::malloc(HEADER + BYTES_OFFSET + size.max(1)) } as *mut u8;
    if base.is_null() {
        return std::ptr::null_mut();
    }
    // SAFETY: `base` points to at least HEADER + BYTES_OFFSET bytes, suitably
    // aligned for Header and ErlDrvBinary (malloc aligns to 16).
    unsafe {
        (base as *mut Header).write(Header { refc: AtomicIsize::new(1), _reserved: 0 });
        let bin = base.add(HEADER) as *mut ErlDrvBinary;
        (*bin).orig_size = size as _;
        bin
    }
}

/// Resizes a driver binary, as `driver_realloc_binary` does: the contents up
/// to the smaller size are kept, the reference count is unchanged, and the
/// binary may move. Returns null (and leaves `bin` valid) on failure.
///
/// # Safety
/// `bin` must come from [`alloc_raw`] (or this function) and be live.
pub unsafe fn realloc_raw(bin: *mut ErlDrvBinary, size: usize) -> *mut ErlDrvBinary {
    // SAFETY: by the contract, `bin` sits HEADER bytes into a malloc'd block.
    unsafe {
        let base = (bin as *mut u8).sub(HEADER);
        let new = libc::realloc(base as *mut _, HEADER + BYTES_OFFSET + size.max(1)) as *mut u8;
        if new.is_null() {
            return std::ptr::null_mut();
        }
        let bin = new.add(HEADER) as *mut ErlDrvBinary;
        (*bin).orig_size = size as _;
        bin
    }
}

fn header(bin: NonNull<ErlDrvBinary>) -> &'static Header {
    // SAFETY: every ErlDrvBinary porthost hands out sits HEADER bytes into
    // its allocation, after a Header; the caller holds a reference, so the
    // allocation is live while the returned borrow is used.
    unsafe { &*((bin.as_ptr() as *const u8).sub(HEADER) as *const Header) }
}

/// Adds `n` to the reference count and returns the new count.
///
/// # Safety
/// `bin` must be a live binary from [`alloc_raw`].
pub unsafe fn refc_add(bin: *mut ErlDrvBinary, n: isize) -> isize {
    let h = header(NonNull::new(bin).expect("null ErlDrvBinary"));
    h.refc.fetch_add(n, Ordering::AcqRel) + n
}

/// The current reference count.
///
/// # Safety
/// `bin` must be a live binary from [`alloc_raw`].
pub unsafe fn refc_get(bin: *mut ErlDrvBinary) -> isize {
    header(NonNull::new(bin).expect("null ErlDrvBinary")).refc.load(Ordering::Acquire)
}

/// Drops one reference and frees the binary when it was the last, as
/// `driver_free_binary` does.
///
/// # Safety
/// `bin` must be a live binary from [`alloc_raw`] on which the caller owns
/// one reference; the caller must not use it afterwards.
pub unsafe fn release_raw(bin: *mut ErlDrvBinary) {
    let h = header(NonNull::new(bin).expect("null ErlDrvBinary"));
    // The sole reference (the common case: a fresh answer or message)
    // needs no atomic read-modify-write: only a holder of a reference can
    // add one, and there is no other. The acquire load orders the other
    // holders' last uses (their releasing decrements) before the free.
    let last = if h.refc.load(Ordering::Acquire) == 1 {
        h.refc.store(0, Ordering::Relaxed);
        true
    } else {
        h.refc.fetch_sub(1, Ordering::AcqRel) == 1
    };
    if last {
        if crate::check::quarantining() {
            // The checker keeps the block (so a late use is seen, not a
            // crash) and frees the oldest one it kept.
            if let Some(old) = crate::check::binary_died(bin) {
                // SAFETY: a quarantined binary: its count reached zero
                // long ago and the checker reports every later use.
                unsafe { libc::free((old as *mut u8).sub(HEADER) as *mut _) }
            }
            return;
        }
        // SAFETY: the count reached zero: no other reference exists.
        unsafe { libc::free((bin as *mut u8).sub(HEADER) as *mut _) }
    }
}

/// The bytes of a driver binary.
///
/// # Safety
/// `bin` must be live for `'a`.
pub unsafe fn bytes_of<'a>(bin: *mut ErlDrvBinary) -> &'a mut [u8] {
    // SAFETY: by contract; orig_bytes is followed by orig_size bytes.
    unsafe {
        let p = (bin as *mut u8).add(BYTES_OFFSET);
        std::slice::from_raw_parts_mut(p, (*bin).orig_size as usize)
    }
}

/// ERTS keeps binaries of at most this many bytes on the process heap
/// (`ERL_ONHEAP_BIN_LIMIT`).
pub(crate) const ONHEAP_BIN_LIMIT: usize = 64;

/// A reference-counted binary term: a byte range of a driver binary.
///
/// Cloning shares the bytes (one more reference); `sub` makes a
/// sub-binary without copying, as ERTS's sub-binaries do.
///
/// Every `Bin` is reference-counted in porthost, but each remembers whether
/// ERTS would have made it a *heap* binary (small, copied wherever it goes)
/// or a *refc* binary, because that decides how `port_command` splits an
/// iolist into an `ErlIOVec` (see `crate::port`): [`Bin::from_slice`] and
/// [`Bin::sub`] follow ERTS's size rule (heap up to
/// `ONHEAP_BIN_LIMIT` (64) bytes), `from_slice_refc` is for binaries
/// ERTS always keeps off-heap (those built with bit syntax by the
/// evaluator), and driver binaries are refc.
pub struct Bin {
    raw: NonNull<ErlDrvBinary>,
    off: usize,
    len: usize,
    heap: bool,
}

// SAFETY: the reference count is atomic and a Bin only reads its bytes.
unsafe impl Send for Bin {}
// SAFETY: as above; `&Bin` gives only shared reads.
unsafe impl Sync for Bin {}

impl Bin {
    /// A new binary holding a copy of `bytes`.
    pub fn from_slice(bytes: &[u8]) -> Bin {
        let raw = alloc_raw(bytes.len());
        let raw = NonNull::new(raw).expect("out of memory allocating a binary");
        // SAFETY: fresh allocation of bytes.len() bytes.
        unsafe { bytes_of(raw.as_ptr()).copy_from_slice(bytes) };
        Bin { raw, off: 0, len: bytes.len(), heap: bytes.len() <= ONHEAP_BIN_LIMIT }
    }

    /// A new binary holding a copy of `bytes` that ERTS would keep off-heap
    /// whatever its size (a non-empty binary built with bit syntax).
    pub(crate) fn from_slice_refc(bytes: &[u8]) -> Bin {
        let mut b = Bin::from_slice(bytes);
        b.heap = bytes.is_empty();
        b
    }

    /// True if ERTS would hold this binary on the process heap (see the type
    /// docs).
    pub(crate) fn is_heap(&self) -> bool {
        self.heap
    }

    /// Takes over one reference to a driver binary and views
    /// `off..off + len` of it.
    ///
    /// # Safety
    /// `raw` must be a live binary from [`alloc_raw`] on which the caller
    /// owns one reference, which passes to the returned `Bin`; the range must
    /// lie within its `orig_size`.
    pub(crate) unsafe fn from_raw(raw: *mut ErlDrvBinary, off: usize, len: usize) -> Bin {
        Bin { raw: NonNull::new(raw).expect("null ErlDrvBinary"), off, len, heap: false }
    }

    /// Takes one *more* reference to a driver binary (the caller keeps its
    /// own) and views `off..off + len` of it, as ERTS makes a ProcBin of a
    /// driver's binary without copying it.
    ///
    /// # Safety
    /// `raw` must be a live binary from [`alloc_raw`]; the range must lie
    /// within its `orig_size`.
    pub(crate) unsafe fn share_raw(raw: *mut ErlDrvBinary, off: usize, len: usize) -> Bin {
        // SAFETY: live by contract; the new reference passes to the Bin.
        unsafe {
            refc_add(raw, 1);
            Bin::from_raw(raw, off, len)
        }
    }

    /// The driver binary this term refers to (no new reference is taken).
    pub(crate) fn raw(&self) -> *mut ErlDrvBinary {
        self.raw.as_ptr()
    }

    /// The offset of this binary's bytes inside [`Bin::raw`]'s bytes.
    pub(crate) fn offset(&self) -> usize {
        self.off
    }

    /// The whole binary this one is a part of (the same binary if it is not
    /// a sub-binary).
    pub fn whole(&self) -> Bin {
        let mut b = self.clone();
        b.off = 0;
        // SAFETY: we hold a reference, so the allocation is live.
        b.len = unsafe { (*self.raw.as_ptr()).orig_size } as usize;
        b
    }

    /// The bytes.
    pub fn as_slice(&self) -> &[u8] {
        // SAFETY: we hold a reference, so the allocation is live; the range
        // was checked at construction.
        unsafe { &bytes_of(self.raw.as_ptr())[self.off..self.off + self.len] }
    }

    /// The byte size.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when the binary has no bytes.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The sub-binary `start..start + len` (relative to this one), sharing
    /// the bytes. Like ERTS, a part of at most `ONHEAP_BIN_LIMIT` (64) bytes
    /// counts as a heap binary (ERTS copies it), a larger one as a
    /// sub-binary of a refc binary. Panics if the range is out of bounds.
    pub fn sub(&self, start: usize, len: usize) -> Bin {
        assert!(start + len <= self.len, "sub-binary out of range");
        let mut b = self.clone();
        b.off += start;
        b.len = len;
        b.heap = len <= ONHEAP_BIN_LIMIT;
        b
    }
}

impl Clone for Bin {
    fn clone(&self) -> Bin {
        header(self.raw).refc.fetch_add(1, Ordering::Relaxed);
        Bin { raw: self.raw, off: self.off, len: self.len, heap: self.heap }
    }
}

impl Drop for Bin {
    fn drop(&mut self) {
        // SAFETY: we own one reference.
        unsafe { release_raw(self.raw.as_ptr()) }
    }
}

impl std::fmt::Debug for Bin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Bin({:?})", self.as_slice())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clone_and_sub_share_bytes_and_count() {
        let b = Bin::from_slice(b"hello");
        let s = b.sub(1, 3);
        assert_eq!(s.as_slice(), b"ell");
        // SAFETY: b is live.
        assert_eq!(unsafe { refc_get(b.raw()) }, 2);
        drop(b);
        // SAFETY: s keeps it live.
        assert_eq!(unsafe { refc_get(s.raw()) }, 1);
        assert_eq!(s.as_slice(), b"ell");
    }
}
