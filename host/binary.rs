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

/// The most bytes a [`Bin`] holds inline, without a driver binary.
pub(crate) const INLINE_LIMIT: usize = 30;

/// A binary term: a byte range of a reference-counted driver binary, or,
/// when small, the bytes themselves.
///
/// Cloning a shared binary shares the bytes (one more reference); `sub`
/// makes a sub-binary without copying, as ERTS's sub-binaries do.
///
/// A binary of at most 30 bytes made by [`Bin::from_slice`] is held
/// *inline*, in the `Bin` itself (32 bytes, like the shared form): making,
/// cloning and dropping it takes no allocation and no atomic operation, as
/// ERTS keeps small binaries on the process heap (its heap binaries, up to
/// `ERL_ONHEAP_BIN_LIMIT`, 64 bytes). Larger ones are shared driver
/// binaries.
///
/// Every `Bin` remembers whether ERTS would have made it a *heap* binary
/// (small, copied wherever it goes) or a *refc* binary, because that
/// decides how `port_command` splits an iolist into an `ErlIOVec` (see
/// `crate::port`): [`Bin::from_slice`] and [`Bin::sub`] follow ERTS's size
/// rule (heap up to `ONHEAP_BIN_LIMIT` (64) bytes), `from_slice_refc` is
/// for binaries ERTS always keeps off-heap (those built with bit syntax by
/// the evaluator), and driver binaries are refc.
pub struct Bin {
    repr: Repr,
}

/// A `Bin`'s two forms; `kind`, the last byte of both, says which.
#[repr(C)]
union Repr {
    shared: Shared,
    inline: Inline,
}

/// A range of a driver binary on which the `Bin` owns one reference.
#[repr(C)]
#[derive(Clone, Copy)]
struct Shared {
    raw: NonNull<ErlDrvBinary>,
    off: usize,
    len: usize,
    _pad: [u8; 7],
    kind: u8,
}

/// The bytes themselves.
#[repr(C)]
#[derive(Clone, Copy)]
struct Inline {
    bytes: [u8; INLINE_LIMIT],
    len: u8,
    kind: u8,
}

/// `kind`: a shared refc binary, a shared binary ERTS would keep on the
/// heap, an inline binary (heap, for ERTS).
const REFC: u8 = 0;
const SHARED_HEAP: u8 = 1;
const INLINE: u8 = 2;

const _: () = assert!(std::mem::size_of::<Shared>() == 32 && std::mem::size_of::<Inline>() == 32);
const _: () = assert!(std::mem::offset_of!(Shared, kind) == std::mem::offset_of!(Inline, kind));

// SAFETY: the reference count is atomic and a Bin only reads its bytes.
unsafe impl Send for Bin {}
// SAFETY: as above; `&Bin` gives only shared reads.
unsafe impl Sync for Bin {}

impl Bin {
    fn shared(raw: NonNull<ErlDrvBinary>, off: usize, len: usize, heap: bool) -> Bin {
        let kind = if heap { SHARED_HEAP } else { REFC };
        Bin { repr: Repr { shared: Shared { raw, off, len, _pad: [0; 7], kind } } }
    }

    fn kind(&self) -> u8 {
        // SAFETY: both forms keep an initialised `kind` at the same offset.
        unsafe { self.repr.inline.kind }
    }

    /// The shared form, or `None` for an inline binary.
    // Not `then_some`: the inline form's bytes must not be read as a
    // `Shared` (its `raw` may be null), so the reference is made only when
    // the shared form is the live one.
    #[allow(clippy::unnecessary_lazy_evaluations)]
    fn as_shared(&self) -> Option<&Shared> {
        // SAFETY: `kind` says which form is live.
        (self.kind() != INLINE).then(|| unsafe { &self.repr.shared })
    }

    /// A new binary holding a copy of `bytes` (inline when small).
    pub fn from_slice(bytes: &[u8]) -> Bin {
        if bytes.len() <= INLINE_LIMIT {
            let mut inline = Inline { bytes: [0; INLINE_LIMIT], len: bytes.len() as u8, kind: INLINE };
            inline.bytes[..bytes.len()].copy_from_slice(bytes);
            return Bin { repr: Repr { inline } };
        }
        Bin::allocated_copy(bytes)
    }

    /// A new binary holding a copy of `bytes` in a driver binary of its own,
    /// whatever its size: for the places that hand a driver the binary
    /// itself ([`Bin::raw`]: an `ErlIOVec`'s `binv`, the driver queue).
    pub(crate) fn allocated_copy(bytes: &[u8]) -> Bin {
        let raw = alloc_raw(bytes.len());
        let raw = NonNull::new(raw).expect("out of memory allocating a binary");
        // SAFETY: fresh allocation of bytes.len() bytes.
        unsafe { bytes_of(raw.as_ptr()).copy_from_slice(bytes) };
        Bin::shared(raw, 0, bytes.len(), bytes.len() <= ONHEAP_BIN_LIMIT)
    }

    /// This binary as one with a driver binary of its own: itself if it has
    /// one, else an [`Bin::allocated_copy`] of its bytes.
    pub(crate) fn allocated(self) -> Bin {
        if self.kind() == INLINE {
            Bin::allocated_copy(self.as_slice())
        } else {
            self
        }
    }

    /// A new binary holding a copy of `bytes` that ERTS would keep off-heap
    /// whatever its size (a non-empty binary built with bit syntax).
    pub(crate) fn from_slice_refc(bytes: &[u8]) -> Bin {
        if bytes.is_empty() {
            return Bin::from_slice(bytes);
        }
        let mut b = Bin::allocated_copy(bytes);
        // `allocated_copy` makes the shared form (writing a union field is
        // safe; its `kind` is what changes).
        b.repr.shared.kind = REFC;
        b
    }

    /// True if ERTS would hold this binary on the process heap (see the type
    /// docs).
    pub(crate) fn is_heap(&self) -> bool {
        self.kind() != REFC
    }

    /// Takes over one reference to a driver binary and views
    /// `off..off + len` of it.
    ///
    /// # Safety
    /// `raw` must be a live binary from [`alloc_raw`] on which the caller
    /// owns one reference, which passes to the returned `Bin`; the range must
    /// lie within its `orig_size`.
    pub(crate) unsafe fn from_raw(raw: *mut ErlDrvBinary, off: usize, len: usize) -> Bin {
        Bin::shared(NonNull::new(raw).expect("null ErlDrvBinary"), off, len, false)
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
    /// Only a binary made by [`Bin::allocated_copy`], [`Bin::from_slice_refc`]
    /// or from a driver binary has one; an inline binary panics (a bug).
    pub(crate) fn raw(&self) -> *mut ErlDrvBinary {
        self.as_shared().expect("an inline binary has no driver binary").raw.as_ptr()
    }

    /// The offset of this binary's bytes inside [`Bin::raw`]'s bytes (0 for
    /// an inline binary).
    pub(crate) fn offset(&self) -> usize {
        self.as_shared().map_or(0, |s| s.off)
    }

    /// The whole binary this one is a part of (the same binary if it is not
    /// a sub-binary).
    pub fn whole(&self) -> Bin {
        let Some(s) = self.as_shared() else { return self.clone() };
        let mut b = self.clone();
        // SAFETY: we hold a reference, so the allocation is live.
        let size = unsafe { (*s.raw.as_ptr()).orig_size } as usize;
        // `b` is a clone of a shared binary: the shared form.
        b.repr.shared.off = 0;
        b.repr.shared.len = size;
        b
    }

    /// The bytes.
    pub fn as_slice(&self) -> &[u8] {
        match self.as_shared() {
            // SAFETY: we hold a reference, so the allocation is live; the
            // range was checked at construction.
            Some(s) => unsafe { &bytes_of(s.raw.as_ptr())[s.off..s.off + s.len] },
            // SAFETY: `kind` is INLINE: the inline form is live.
            None => unsafe { &self.repr.inline.bytes[..self.repr.inline.len as usize] },
        }
    }

    /// The byte size.
    pub fn len(&self) -> usize {
        match self.as_shared() {
            Some(s) => s.len,
            // SAFETY: the inline form is live.
            None => unsafe { self.repr.inline.len as usize },
        }
    }

    /// True when the binary has no bytes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The sub-binary `start..start + len` (relative to this one), sharing
    /// the bytes. Like ERTS, a part of at most `ONHEAP_BIN_LIMIT` (64) bytes
    /// counts as a heap binary (ERTS copies it), a larger one as a
    /// sub-binary of a refc binary. Panics if the range is out of bounds.
    pub fn sub(&self, start: usize, len: usize) -> Bin {
        assert!(start + len <= self.len(), "sub-binary out of range");
        let Some(s) = self.as_shared() else { return Bin::from_slice(&self.as_slice()[start..start + len]) };
        let (raw, off) = (s.raw, s.off);
        header(raw).refc.fetch_add(1, Ordering::Relaxed);
        Bin::shared(raw, off + start, len, len <= ONHEAP_BIN_LIMIT)
    }
}

impl Clone for Bin {
    fn clone(&self) -> Bin {
        match self.as_shared() {
            Some(s) => {
                header(s.raw).refc.fetch_add(1, Ordering::Relaxed);
                Bin { repr: Repr { shared: *s } }
            }
            // SAFETY: the inline form is live; it is plain bytes.
            None => Bin { repr: Repr { inline: unsafe { self.repr.inline } } },
        }
    }
}

impl Drop for Bin {
    fn drop(&mut self) {
        if let Some(s) = self.as_shared() {
            // SAFETY: we own one reference.
            unsafe { release_raw(s.raw.as_ptr()) }
        }
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
        let b = Bin::allocated_copy(b"hello");
        let s = b.sub(1, 3);
        assert_eq!(s.as_slice(), b"ell");
        // SAFETY: b is live.
        assert_eq!(unsafe { refc_get(b.raw()) }, 2);
        drop(b);
        // SAFETY: s keeps it live.
        assert_eq!(unsafe { refc_get(s.raw()) }, 1);
        assert_eq!(s.as_slice(), b"ell");
    }

    #[test]
    fn small_binaries_are_inline_and_behave_as_shared_ones() {
        for n in [0, 1, 28, INLINE_LIMIT, INLINE_LIMIT + 1, 64, 65, 1000] {
            let bytes: Vec<u8> = (0..n).map(|i| i as u8).collect();
            let b = Bin::from_slice(&bytes);
            assert_eq!(b.kind() == INLINE, n <= INLINE_LIMIT, "{n} bytes");
            assert_eq!((b.as_slice(), b.len(), b.is_empty()), (&bytes[..], n, n == 0));
            assert_eq!(b.is_heap(), n <= ONHEAP_BIN_LIMIT);
            let c = b.clone();
            drop(b);
            assert_eq!(c.as_slice(), &bytes[..]);
            assert_eq!(c.whole().as_slice(), &bytes[..]);
            if n >= 3 {
                assert_eq!(c.sub(1, 2).as_slice(), &bytes[1..3]);
            }
            // A driver binary of its own, where a driver is handed one.
            let a = c.clone().allocated();
            assert_eq!(a.as_slice(), &bytes[..]);
            // SAFETY: `a` keeps its binary live.
            assert!(unsafe { refc_get(a.raw()) } >= 1);
            assert_eq!(Bin::from_slice_refc(&bytes).is_heap(), n == 0);
        }
    }
}
