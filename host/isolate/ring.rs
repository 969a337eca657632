//! The worker protocol's transport: two single-producer single-consumer
//! byte rings in a memfd shared by the parent and its worker, one each
//! way, woken through futexes.
//!
//! # Layout
//! One mapping of `4096 + 2 * cap` bytes ([`Rings::create`]): at 0 a
//! magic number and the capacity, then one [`Header`] per ring (parent to
//! worker first), then at 4096 the two data areas of `cap` bytes (a power
//! of two). A header holds, each on its own cache line, `head` (bytes
//! written so far, only the producer stores it), `tail` (bytes read so
//! far, only the consumer stores it), the consumer's two sleep words and
//! the producer's sleep word.
//!
//! # Frames
//! A frame is a 4-byte little-endian length and that many bytes (an
//! external-format term, see [`super::wire`]). The ring is a byte stream:
//! a frame larger than the free space, or than the whole ring, is written
//! in pieces as the consumer frees space, and the consumer gathers it, so
//! no frame is too big (up to [`MAX_FRAME`]) and frames stay in order.
//!
//! # Waking
//! A waiting consumer spins a little (a reply usually comes within
//! a microsecond; a futex round trip costs tens), yielding its CPU between
//! looks after [`YIELD_AFTER`] in case the other side needs that core,
//! then sets a sleep word to 1 and sleeps on it (`FUTEX_WAIT`, not private: the waker may be the
//! other process). A producer, after publishing `head`, swaps the word to
//! 0 and calls `FUTEX_WAKE` only if it was 1, so a busy consumer costs no
//! system call. The sleeper stores its word and then reads `head`, the
//! producer stores `head` and then reads the word, all sequentially
//! consistent: one of them sees the other (Dekker), so no wake is lost.
//! The same holds for a producer waiting for space and `tail`, and for
//! [`Ring::wake`] and [`Ring::interrupt`], which end a wait after the
//! caller changed what the waiter's `stop` test reads.
//!
//! # Cache lines
//! A round trip is bounded by cache lines moving between the two cores, so
//! each side touches the other's lines as little as it can: the producer
//! keeps the last `tail` it saw and reads `tail` again only when a frame
//! does not fit in the room that showed; the consumer stores `tail` only
//! when it has taken in everything (before it would wait) or every quarter
//! ring, since that sequentially consistent store stalls until it owns the
//! line, and it would otherwise sit between reading a request and running
//! it. A frame is copied out into a buffer the consumer keeps, so reading
//! one allocates nothing. (On the 2-core VM this was written on, a bare
//! round trip of 64-byte frames between two threads takes about 0.2 µs;
//! with `tail` stored and read after every frame it took 1.5 µs.)
//!
//! A consumer has two sleep words, [`Sleeper::Active`] and
//! [`Sleeper::Standby`], and the producer names which one a frame wakes.
//! The parent's caller of a request reads its reply itself and sleeps on
//! `Active`; its reader thread, which delivers what workers send between
//! requests, sleeps on `Standby`. The worker wakes `Active` for what it
//! writes while a request runs and `Standby` otherwise, so a reply never
//! wakes the reader thread. Nor does a frame written while a parent
//! process that waits in `receive` watches the ring ([`Ring::watch`]): that
//! process takes it in itself.
//!
//! # Trust
//! The other process may be a crashing driver that scribbles over the
//! mapping. Each side keeps its own copy of the position it owns, and a
//! `head`/`tail` pair that is impossible (more than `cap` apart, or going
//! back) or a length over [`MAX_FRAME`] is [`RingError::Corrupt`], never a
//! wild read; frames are copied out of the mapping before they are decoded.

use std::fmt;
use std::io;
use std::os::fd::OwnedFd;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::*};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::shm::{current_cpu, futex_wait, futex_wake, Shm};
use crate::spin::{Budget, Spin};

/// The largest frame accepted, in bytes (a 64 MiB command is the practical
/// limit).
pub(crate) const MAX_FRAME: usize = 1 << 30;

/// Each ring's data area in bytes, by default.
pub(crate) const DEFAULT_CAP: usize = 256 << 10;

/// Where the data areas start: the headers fit in the first page.
const DATA: usize = 4096;

const MAGIC: u64 = u64::from_le_bytes(*b"PHRING01");

/// The longest single futex sleep: a safety net, the waits loop anyway.
const MAX_SLEEP: Duration = Duration::from_secs(1);

/// How long a waiting consumer spins before it also yields its CPU
/// between looks (`sched_yield`), when the producer last ran on the same
/// CPU. A quiet round trip takes under 1 µs. When the other side waits for
/// this CPU, spinning on would only delay it: pinned to one CPU, a round
/// trip took 109 µs without the yield, 15 µs with it after 5 µs and 10 µs
/// after 2 µs. When the producer runs on another CPU, yielding can only
/// hand this CPU to some other busy program for a whole time slice (with
/// both CPUs busy elsewhere, round trips of 4 ms), so the consumer spins on.
const YIELD_AFTER: Duration = Duration::from_micros(2);

/// How long a producer spins for space before it sleeps.
const SPACE_SPIN: Duration = Duration::from_micros(20);

#[repr(C, align(64))]
struct Line<T>(T);

/// A ring's shared state (see the module docs).
#[repr(C)]
struct Header {
    head: Line<AtomicU64>,
    tail: Line<AtomicU64>,
    /// Indexed by [`Sleeper`]: 1 while that consumer thread sleeps or is
    /// about to.
    sleep: Line<[AtomicU32; 2]>,
    /// 1 while the producer sleeps for space or is about to.
    writable: Line<AtomicU32>,
    /// The CPU the producer last sent from ([`current_cpu`]).
    producer_cpu: Line<AtomicU32>,
    /// How many threads of the consumer's process look at the ring for
    /// [`Sleeper::Standby`]'s frames while they wait for something else
    /// ([`Ring::watch`]): while any does, a frame for `Standby` wakes no one.
    watchers: Line<AtomicU32>,
}

#[repr(C)]
struct Meta {
    magic: AtomicU64,
    cap: AtomicU64,
}

const _: () = assert!(std::mem::size_of::<Meta>() <= 64 && 64 + 2 * std::mem::size_of::<Header>() <= DATA);
// tests/drivers/hostile_drv.c writes into the ring to the parent at this
// offset, behind the worker's back.
const _: () = assert!(std::mem::size_of::<Header>() == 384);

/// Which of a consumer's two sleepers a frame wakes (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Sleeper {
    /// The thread that reads the ring because it awaits something: the
    /// parent's caller of a request, the worker's loop.
    Active = 0,
    /// The parent's reader thread, which reads the ring only when no
    /// caller does.
    Standby = 1,
}

/// What went wrong with a ring.
#[derive(Debug)]
#[non_exhaustive]
pub(crate) enum RingError {
    /// The other side is gone: a send waiting for space was abandoned
    /// (leaving a partial frame: the ring is no longer usable).
    Closed,
    /// The shared state is impossible (the other process scribbled over
    /// it, or is not a porthost worker of this version); says what.
    Corrupt(&'static str),
}

impl fmt::Display for RingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RingError::Closed => f.write_str("the other end of the ring is gone"),
            RingError::Corrupt(why) => write!(f, "the shared ring is corrupt: {why}"),
        }
    }
}

impl std::error::Error for RingError {}

impl From<RingError> for io::Error {
    fn from(e: RingError) -> io::Error {
        let kind = match e {
            RingError::Closed => io::ErrorKind::BrokenPipe,
            RingError::Corrupt(_) => io::ErrorKind::InvalidData,
        };
        io::Error::new(kind, e)
    }
}

/// One ring: a view into the shared mapping, which it keeps alive.
pub(crate) struct Ring {
    _shm: Arc<Shm>,
    hdr: NonNull<Header>,
    data: NonNull<u8>,
    /// The data area's size in bytes, a power of two.
    cap: usize,
}

// SAFETY: the header is only reached through atomics; the data area only
// through `Producer` and `Consumer`, whose constructors' contracts make
// their accesses disjoint (see `Producer::new`).
unsafe impl Send for Ring {}
// SAFETY: as above.
unsafe impl Sync for Ring {}

/// The two rings of a worker: parent to worker (requests) and worker to
/// parent (replies and events).
pub(crate) struct Rings {
    /// Requests, `{Op, Id, Args...}`.
    pub(crate) to_worker: Arc<Ring>,
    /// Replies and events.
    pub(crate) to_parent: Arc<Ring>,
    /// The worker's callback clock (see [`super::clock`]).
    pub(crate) clocks: Arc<Clocks>,
}

/// Where the callback clock's slots start in the first page, past the
/// headers.
const CLOCKS_AT: usize = 1024;

/// How many threads of a worker the callback clock follows.
pub(crate) const CLOCK_SLOTS: usize = 256;

/// The word after the slots: [`Clocks::fatal`].
const FATAL_AT: usize = CLOCKS_AT + 8 * CLOCK_SLOTS;

const _: () = assert!(64 + 2 * std::mem::size_of::<Header>() <= CLOCKS_AT && FATAL_AT + 8 <= DATA);

/// The callback clock's slots in the shared page: one word per worker
/// thread that runs driver callbacks, 0 when it runs none, else when its
/// outermost callback began (milliseconds of `CLOCK_MONOTONIC`, plus
/// one). The worker writes them, the parent's watchdog reads them; a
/// worker that scribbles over them can only get itself killed or not
/// noticed, never harm the parent (the values are only compared).
pub(crate) struct Clocks {
    _shm: Arc<Shm>,
    slots: NonNull<AtomicU64>,
}

// SAFETY: the slots are only reached as atomics.
unsafe impl Send for Clocks {}
// SAFETY: as above.
unsafe impl Sync for Clocks {}

impl Clocks {
    /// The slots.
    pub(crate) fn slots(&self) -> &[AtomicU64] {
        // SAFETY: CLOCK_SLOTS aligned words inside the first page of the
        // mapping `_shm` keeps alive (checked by the assertion above);
        // atomics are valid for any bit pattern.
        unsafe { std::slice::from_raw_parts(self.slots.as_ptr(), CLOCK_SLOTS) }
    }

    /// The fatal word, right after the slots: 0, or, once a fatal signal
    /// reached the worker, the signal in the top 16 bits and when it came
    /// (as a slot's time) in the rest. The worker's crash handler sets it
    /// before it prints its backtrace, so that the parent's watchdog does
    /// not take the dying worker for a stuck one (`crate::sys::crash`).
    pub(crate) fn fatal(&self) -> &AtomicU64 {
        // SAFETY: FATAL_AT + 8 <= DATA (asserted above), 8-aligned, inside
        // the mapping `_shm` keeps alive.
        unsafe { &*self.slots.as_ptr().add(CLOCK_SLOTS) }
    }
}

impl Rings {
    /// Creates the shared memory for two rings of `cap` bytes each (a power
    /// of two, at least 16). Returns the rings and the memfd to pass to the
    /// worker ([`super::shm::send_fd`]).
    ///
    /// # Errors
    /// The memfd cannot be created or mapped.
    ///
    /// # Panics
    /// If `cap` is not a power of two of at least 16.
    pub(crate) fn create(cap: usize) -> io::Result<(Rings, OwnedFd)> {
        assert!(cap.is_power_of_two() && cap >= 16, "ring capacity {cap}");
        let (shm, fd) = Shm::create(DATA + 2 * cap)?;
        let shm = Arc::new(shm);
        let meta = Rings::meta(&shm);
        meta.cap.store(cap as u64, SeqCst);
        meta.magic.store(MAGIC, SeqCst);
        Ok((Rings::split(&shm, cap), fd))
    }

    /// Maps the rings [`Rings::create`] made, from the memfd.
    ///
    /// # Errors
    /// The memfd cannot be mapped, or does not hold rings (`InvalidData`).
    pub(crate) fn open(fd: &OwnedFd) -> io::Result<Rings> {
        let shm = Arc::new(Shm::map(fd)?);
        if shm.len() < DATA + 32 {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "the shared memory is too small for rings"));
        }
        let meta = Rings::meta(&shm);
        let cap = meta.cap.load(SeqCst) as usize;
        if meta.magic.load(SeqCst) != MAGIC || !cap.is_power_of_two() || cap < 16 || shm.len() != DATA + 2 * cap {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "the shared memory holds no porthost rings"));
        }
        Ok(Rings::split(&shm, cap))
    }

    fn meta(shm: &Shm) -> &Meta {
        // SAFETY: the mapping is page-aligned and at least DATA bytes long;
        // `Meta` is two atomics, valid for any bit pattern.
        unsafe { &*shm.as_ptr().cast::<Meta>() }
    }

    fn split(shm: &Arc<Shm>, cap: usize) -> Rings {
        let ring = |i: usize| {
            // SAFETY: the headers lie after `Meta` inside the first page and
            // the data areas after it, within the `DATA + 2 * cap` bytes
            // mapped (checked by the callers); the offsets keep the 64-byte
            // alignment of `Header`.
            let (hdr, data) = unsafe {
                let base = shm.as_ptr();
                (base.add(64 + i * std::mem::size_of::<Header>()).cast::<Header>(), base.add(DATA + i * cap))
            };
            Arc::new(Ring {
                _shm: shm.clone(),
                hdr: NonNull::new(hdr).expect("inside a mapping"),
                data: NonNull::new(data).expect("inside a mapping"),
                cap,
            })
        };
        // SAFETY: CLOCKS_AT lies inside the first page (DATA bytes, mapped),
        // 8-byte aligned.
        let slots = unsafe { shm.as_ptr().add(CLOCKS_AT) }.cast::<AtomicU64>();
        let clocks = Arc::new(Clocks { _shm: shm.clone(), slots: NonNull::new(slots).expect("inside a mapping") });
        Rings { to_worker: ring(0), to_parent: ring(1), clocks }
    }
}

impl Ring {
    fn hdr(&self) -> &Header {
        // SAFETY: `hdr` points into the mapping `_shm` keeps alive; a
        // `Header` is atomics only, valid for any bit pattern.
        unsafe { self.hdr.as_ref() }
    }

    /// True if bytes were written that the consumer has not read.
    pub(crate) fn readable(&self) -> bool {
        let h = self.hdr();
        h.head.0.load(SeqCst) != h.tail.0.load(SeqCst)
    }

    /// Waits until the ring is [readable](Ring::readable), `stop()` is
    /// true, or `until` passes, whichever comes first (and at most a second:
    /// callers loop): spins for what `spin` allows (yielding the CPU between
    /// looks after [`YIELD_AFTER`]; see [`crate::spin`]), then sleeps as
    /// `who`. May return early. `stop` must read state that whoever changes
    /// it follows with [`Ring::wake`] or [`Ring::interrupt`].
    pub(crate) fn wait_readable(&self, who: Sleeper, spin: &Budget, until: Option<Instant>, stop: &dyn Fn() -> bool) {
        if self.readable() || stop() {
            return;
        }
        let (start, budget) = (Instant::now(), spin);
        let mut spin = Spin::new(budget, start, until);
        loop {
            for _ in 0..32 {
                if self.readable() || stop() {
                    spin.paid();
                    return;
                }
                std::hint::spin_loop();
            }
            let now = Instant::now();
            if !spin.go_on(now) {
                break;
            }
            if now - start >= YIELD_AFTER && self.hdr().producer_cpu.0.load(Relaxed) == current_cpu() {
                std::thread::yield_now();
            }
        }
        let word = &self.hdr().sleep.0[who as usize];
        word.store(1, SeqCst);
        if self.readable() || stop() {
            word.store(0, Relaxed);
            return;
        }
        let left = until.map_or(MAX_SLEEP, |u| u.saturating_duration_since(Instant::now()).min(MAX_SLEEP));
        if !left.is_zero() {
            futex_wait(word, 1, Some(left));
        }
        word.store(0, Relaxed);
        if self.readable() {
            budget.slept(start.elapsed());
        }
    }

    /// Ends the wait of the consumer thread `who`, if it sleeps (after its
    /// `stop` condition changed, or a frame was published).
    pub(crate) fn wake(&self, who: Sleeper) {
        wake_word(&self.hdr().sleep.0[who as usize]);
    }

    /// Counts the calling thread among the ring's watchers (`on`), or no
    /// longer (`!on`): a thread that, while it waits for something else,
    /// looks at the ring and takes in [`Sleeper::Standby`]'s frames itself
    /// (a parent process waiting in `receive`, see `crate::process::Feed`).
    /// While the ring has watchers the producer does not wake `Standby` for
    /// a frame; the last watcher to leave wakes it if a frame is there. A
    /// watcher stores the count and then reads `head`, the producer stores
    /// `head` and then reads the count (Dekker, as for the sleep words), so
    /// no frame is left with no one to take it in.
    pub(crate) fn watch(&self, on: bool) {
        let w = &self.hdr().watchers.0;
        if on {
            w.fetch_add(1, SeqCst);
        } else if w.fetch_sub(1, SeqCst) == 1 && self.readable() {
            self.wake(Sleeper::Standby);
        }
    }

    /// Wakes `who` for a frame just published, unless `who` is
    /// [`Sleeper::Standby`] and a watcher will take the frame in.
    fn wake_for_frame(&self, who: Sleeper) {
        if who == Sleeper::Standby && self.hdr().watchers.0.load(SeqCst) != 0 {
            return;
        }
        self.wake(who);
    }

    /// Ends every wait on this ring, of both sides (the other process died,
    /// or this one is leaving).
    pub(crate) fn interrupt(&self) {
        let h = self.hdr();
        for w in h.sleep.0.iter().chain([&h.writable.0]) {
            wake_word(w);
        }
    }

    /// Copies `src` into the data area at stream position `pos`.
    ///
    /// # Safety
    /// The caller is the ring's one producer and `src.len()` bytes from
    /// `pos` are free (the consumer is done with them).
    unsafe fn copy_in(&self, pos: u64, src: &[u8]) {
        let at = pos as usize & (self.cap - 1);
        let first = src.len().min(self.cap - at);
        // SAFETY: `at + first <= cap` and `src.len() - first <= cap - first`
        // fit in the data area; the caller owns those bytes for now.
        unsafe {
            std::ptr::copy_nonoverlapping(src.as_ptr(), self.data.as_ptr().add(at), first);
            std::ptr::copy_nonoverlapping(src.as_ptr().add(first), self.data.as_ptr(), src.len() - first);
        }
    }

    /// Copies `out.len()` bytes at stream position `pos` into `out`.
    ///
    /// # Safety
    /// The caller is the ring's one consumer and `out.len()` bytes from
    /// `pos` are published (the producer is done with them); `out.len() <=
    /// cap`.
    unsafe fn copy_out(&self, pos: u64, out: &mut [u8]) {
        let at = pos as usize & (self.cap - 1);
        let first = out.len().min(self.cap - at);
        // SAFETY: as for `copy_in`.
        unsafe {
            std::ptr::copy_nonoverlapping(self.data.as_ptr().add(at), out.as_mut_ptr(), first);
            std::ptr::copy_nonoverlapping(self.data.as_ptr(), out.as_mut_ptr().add(first), out.len() - first);
        }
    }

    /// Appends `n` bytes at stream position `pos` to `out`.
    ///
    /// # Safety
    /// As for [`Ring::copy_out`], for `n` bytes.
    unsafe fn append_out(&self, pos: u64, n: usize, out: &mut Vec<u8>) {
        let at = pos as usize & (self.cap - 1);
        let first = n.min(self.cap - at);
        out.reserve(n);
        // SAFETY: as for `copy_in`; `reserve` made room for `n` bytes after
        // `out.len()`, which the two copies fill before `set_len`.
        unsafe {
            let dst = out.as_mut_ptr().add(out.len());
            std::ptr::copy_nonoverlapping(self.data.as_ptr().add(at), dst, first);
            std::ptr::copy_nonoverlapping(self.data.as_ptr(), dst.add(first), n - first);
            out.set_len(out.len() + n);
        }
    }
}

fn wake_word(w: &AtomicU32) {
    if w.load(SeqCst) != 0 && w.swap(0, SeqCst) != 0 {
        futex_wake(w);
    }
}

/// The writing side of a ring.
pub(crate) struct Producer {
    ring: Arc<Ring>,
    /// Our copy of `head`.
    head: u64,
    /// The consumer's `tail` when we last looked: it only grows, so the
    /// room it shows is there at least. `tail` is read again only when a
    /// frame does not fit, since its cache line is the consumer's.
    tail: u64,
}

impl Producer {
    /// The producer of `ring`.
    ///
    /// # Safety
    /// At most one `Producer` of a ring exists at a time, in all the
    /// processes that map it (the parent makes the one for requests, the
    /// worker the one for replies).
    pub(crate) unsafe fn new(ring: Arc<Ring>) -> Producer {
        let head = ring.hdr().head.0.load(SeqCst);
        let tail = ring.hdr().tail.0.load(SeqCst);
        Producer { ring, head, tail }
    }

    /// Free bytes in the data area, as last seen.
    fn free_seen(&self) -> usize {
        self.ring.cap - self.head.wrapping_sub(self.tail) as usize
    }

    /// Free bytes in the data area (reading `tail`).
    fn free(&mut self) -> Result<usize, RingError> {
        let tail = self.ring.hdr().tail.0.load(Acquire);
        let used = self.head.wrapping_sub(tail);
        if used > self.ring.cap as u64 || tail.wrapping_sub(self.tail) > self.ring.cap as u64 {
            return Err(RingError::Corrupt("the consumer is ahead of the producer"));
        }
        self.tail = tail;
        Ok(self.ring.cap - used as usize)
    }

    /// Sends `frame` (its length, then its bytes), waking the consumer
    /// thread `who` if it sleeps. When the ring is full it waits for space,
    /// calling `waiting()` as it does (the parent reads replies there);
    /// `waiting()` returning true abandons the send.
    ///
    /// # Errors
    /// [`RingError::Closed`] if `waiting()` returned true (a partial frame
    /// may be left: the ring is done for); [`RingError::Corrupt`] if the
    /// consumer's `tail` is impossible. A frame over [`MAX_FRAME`] bytes is
    /// `Corrupt` too, and nothing is sent.
    pub(crate) fn send(&mut self, frame: &[u8], who: Sleeper, waiting: &mut dyn FnMut() -> bool) -> Result<(), RingError> {
        if frame.len() > MAX_FRAME {
            return Err(RingError::Corrupt("a frame over the size limit"));
        }
        let len = (frame.len() as u32).to_le_bytes();
        let mut parts = [&len[..], frame];
        let mut i = 0;
        loop {
            while i < parts.len() && parts[i].is_empty() {
                i += 1;
            }
            if i == parts.len() {
                return Ok(());
            }
            let left = parts[i..].iter().map(|p| p.len()).sum::<usize>();
            let mut free = self.free_seen();
            if free < left {
                free = self.free()?;
            }
            if free == 0 {
                self.wait_writable(waiting)?;
                continue;
            }
            while free > 0 && i < parts.len() {
                let n = free.min(parts[i].len());
                // SAFETY: we are the one producer (`new`'s contract) and
                // `n <= free` bytes from `head` are free.
                unsafe { self.ring.copy_in(self.head, &parts[i][..n]) };
                self.head += n as u64;
                parts[i] = &parts[i][n..];
                free -= n;
                if parts[i].is_empty() {
                    i += 1;
                }
            }
            let cpu = current_cpu();
            let seen = &self.ring.hdr().producer_cpu.0;
            if seen.load(Relaxed) != cpu {
                seen.store(cpu, Relaxed);
            }
            self.ring.hdr().head.0.store(self.head, SeqCst);
            self.ring.wake_for_frame(who);
        }
    }

    fn wait_writable(&mut self, waiting: &mut dyn FnMut() -> bool) -> Result<(), RingError> {
        let start = Instant::now();
        loop {
            if self.free()? > 0 {
                return Ok(());
            }
            if waiting() {
                return Err(RingError::Closed);
            }
            if start.elapsed() < SPACE_SPIN {
                std::hint::spin_loop();
                continue;
            }
            let ring = self.ring.clone();
            let word = &ring.hdr().writable.0;
            word.store(1, SeqCst);
            if self.free()? > 0 {
                word.store(0, Relaxed);
                return Ok(());
            }
            // Short sleeps: `waiting` has work to do (or a death to notice).
            futex_wait(word, 1, Some(Duration::from_millis(1)));
            word.store(0, Relaxed);
        }
    }
}

/// The reading side of a ring, with a frame read in part.
///
/// The consumer publishes `tail` lazily: when it has taken in everything
/// (before it would wait), or every quarter ring. Storing `tail` must be
/// followed by a fence to read the producer's sleep word, and that stall
/// would otherwise sit between reading a request and running it.
pub(crate) struct Consumer {
    ring: Arc<Ring>,
    /// Our copy of `tail`.
    tail: u64,
    /// The `tail` last stored in the header.
    published: u64,
    /// The frame being read (kept from frame to frame: no allocation per
    /// frame).
    buf: Vec<u8>,
    /// The frame in `buf` is not whole yet: its length (when all four of
    /// its bytes have come) and how many of them have.
    partial: Option<([u8; 4], usize)>,
}

/// `buf`'s capacity kept after a bigger frame: a frame of the default
/// ring's size (a 64 KiB command is a little over 64 KiB as a frame; giving
/// the memory back after each one cost page faults on every round trip).
const KEEP: usize = DEFAULT_CAP;

impl Consumer {
    /// The consumer of `ring`.
    ///
    /// # Safety
    /// At most one `Consumer` of a ring exists at a time, in all the
    /// processes that map it.
    pub(crate) unsafe fn new(ring: Arc<Ring>) -> Consumer {
        let tail = ring.hdr().tail.0.load(SeqCst);
        Consumer { ring, tail, published: tail, buf: Vec::new(), partial: None }
    }

    /// The ring read.
    pub(crate) fn ring(&self) -> &Arc<Ring> {
        &self.ring
    }

    /// Marks `n` more bytes read; publishes every quarter ring.
    fn advance(&mut self, n: usize) {
        self.tail += n as u64;
        if self.tail - self.published >= (self.ring.cap / 4) as u64 {
            self.publish();
        }
    }

    /// Stores `tail` in the header, and wakes the producer if it waits for
    /// space.
    fn publish(&mut self) {
        if self.published != self.tail {
            let h = self.ring.hdr();
            h.tail.0.store(self.tail, SeqCst);
            self.published = self.tail;
            wake_word(&h.writable.0);
        }
    }

    /// The next whole frame's bytes, if it has arrived (valid until the next
    /// call). `Ok(None)` means every byte written so far has been taken in
    /// (a frame in part is kept) and `tail` published, so the ring is not
    /// [readable](Ring::readable) until more comes.
    ///
    /// # Errors
    /// [`RingError::Corrupt`] for an impossible `head` or a frame length
    /// over [`MAX_FRAME`]; the ring is then unusable.
    pub(crate) fn try_recv(&mut self) -> Result<Option<&[u8]>, RingError> {
        if self.take()? {
            Ok(Some(&self.buf))
        } else {
            self.publish();
            Ok(None)
        }
    }

    /// Takes in what has arrived; true when `buf` holds a whole frame.
    fn take(&mut self) -> Result<bool, RingError> {
        let cap = self.ring.cap;
        let avail = self.ring.hdr().head.0.load(Acquire).wrapping_sub(self.tail);
        if avail > cap as u64 {
            return Err(RingError::Corrupt("the producer is more than the ring ahead"));
        }
        let mut avail = avail as usize;
        if self.partial.is_none() {
            self.buf.clear();
            if self.buf.capacity() > KEEP {
                self.buf.shrink_to(KEEP);
            }
            if avail >= 4 {
                let mut len = [0u8; 4];
                // SAFETY: we are the one consumer and 4 bytes are published.
                unsafe { self.ring.copy_out(self.tail, &mut len) };
                let len = u32::from_le_bytes(len) as usize;
                if len > MAX_FRAME {
                    return Err(RingError::Corrupt("a frame length over the limit"));
                }
                if avail >= 4 + len {
                    // SAFETY: as above; `4 + len <= avail <= cap` are published.
                    unsafe { self.ring.append_out(self.tail + 4, len, &mut self.buf) };
                    self.advance(4 + len);
                    return Ok(true);
                }
            }
        }
        if avail == 0 {
            return Ok(false);
        }
        let (mut len, mut have) = self.partial.take().unwrap_or(([0; 4], 0));
        if have < 4 {
            let n = (4 - have).min(avail);
            // SAFETY: we are the one consumer and `n <= avail` bytes are published.
            unsafe { self.ring.copy_out(self.tail, &mut len[have..have + n]) };
            have += n;
            avail -= n;
            self.advance(n);
            if have < 4 {
                self.partial = Some((len, have));
                return Ok(false);
            }
            if u32::from_le_bytes(len) as usize > MAX_FRAME {
                return Err(RingError::Corrupt("a frame length over the limit"));
            }
        }
        let want = u32::from_le_bytes(len) as usize;
        let n = (want - self.buf.len()).min(avail);
        // SAFETY: we are the one consumer and `n <= avail` bytes are published.
        unsafe { self.ring.append_out(self.tail, n, &mut self.buf) };
        self.advance(n);
        if self.buf.len() == want {
            return Ok(true);
        }
        self.partial = Some((len, have));
        Ok(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;

    fn pair(cap: usize) -> (Producer, Consumer) {
        let (rings, _fd) = Rings::create(cap).unwrap();
        // SAFETY: one producer and one consumer of this ring, in this test.
        unsafe { (Producer::new(rings.to_worker.clone()), Consumer::new(rings.to_worker)) }
    }

    fn never() -> impl FnMut() -> bool {
        || false
    }

    /// Frame `i` of a test stream: `len` bytes derived from `i`.
    fn frame(i: usize, len: usize) -> Vec<u8> {
        (0..len).map(|k| (i * 31 + k * 7) as u8).collect()
    }

    fn recv_blocking(c: &mut Consumer) -> Vec<u8> {
        loop {
            if let Some(f) = c.try_recv().unwrap() {
                return f.to_vec();
            }
            let ring = c.ring().clone();
            ring.wait_readable(Sleeper::Active, &Budget::new(Duration::from_micros(10)), None, &|| false);
        }
    }

    #[test]
    fn frames_wrap_around_the_end_of_the_ring() {
        let (mut p, mut c) = pair(64);
        // 4 + 13 bytes a frame: the positions walk across the end many times.
        for i in 0..1000 {
            p.send(&frame(i, 13), Sleeper::Active, &mut never()).unwrap();
            assert_eq!(c.try_recv().unwrap().unwrap(), &frame(i, 13)[..], "frame {i}");
            assert!(c.try_recv().unwrap().is_none());
        }
        // Several queued, then read.
        for round in 0..50 {
            for i in 0..3 {
                p.send(&frame(round + i, 10), Sleeper::Active, &mut never()).unwrap();
            }
            for i in 0..3 {
                assert_eq!(c.try_recv().unwrap().unwrap(), &frame(round + i, 10)[..]);
            }
        }
        p.send(&[], Sleeper::Active, &mut never()).unwrap();
        assert_eq!(c.try_recv().unwrap().unwrap(), b"");
    }

    #[test]
    fn a_full_ring_makes_the_producer_wait_and_give_up_when_told() {
        let (mut p, mut c) = pair(64);
        p.send(&frame(0, 60), Sleeper::Active, &mut never()).unwrap();
        assert_eq!(p.free().unwrap(), 0);
        let mut calls = 0;
        let r = p.send(&frame(1, 8), Sleeper::Active, &mut || {
            calls += 1;
            calls > 3
        });
        assert!(matches!(r, Err(RingError::Closed)), "{r:?}");
        assert_eq!(c.try_recv().unwrap().unwrap(), &frame(0, 60)[..]);
    }

    #[test]
    fn a_producer_waiting_for_space_goes_on_when_the_consumer_reads() {
        let (mut p, mut c) = pair(64);
        let t = std::thread::spawn(move || {
            for i in 0..200 {
                p.send(&frame(i, 40), Sleeper::Active, &mut never()).unwrap();
            }
        });
        for i in 0..200 {
            assert_eq!(recv_blocking(&mut c), frame(i, 40), "frame {i}");
        }
        t.join().unwrap();
    }

    #[test]
    fn frames_bigger_than_the_ring_stream_through_it() {
        let (mut p, mut c) = pair(1024);
        let sizes = [0, 1, 1019, 1020, 1021, 4096, 65536, 300_001, 3];
        let t = std::thread::spawn(move || {
            for (i, n) in sizes.into_iter().enumerate() {
                p.send(&frame(i, n), Sleeper::Active, &mut never()).unwrap();
            }
        });
        for (i, n) in sizes.into_iter().enumerate() {
            assert_eq!(recv_blocking(&mut c), frame(i, n), "frame {i} of {n} bytes");
        }
        t.join().unwrap();
    }

    #[test]
    fn concurrent_producer_and_consumer_keep_every_frame_in_order() {
        let (mut p, mut c) = pair(4096);
        const N: usize = 20_000;
        let t = std::thread::spawn(move || {
            for i in 0..N {
                let len = (i * 7919) % 700;
                p.send(&frame(i, len), if i % 2 == 0 { Sleeper::Active } else { Sleeper::Standby }, &mut never()).unwrap();
                if i % 1000 == 0 {
                    // Let the consumer fall asleep now and then.
                    std::thread::sleep(Duration::from_millis(2));
                }
            }
        });
        for i in 0..N {
            let len = (i * 7919) % 700;
            assert_eq!(recv_blocking(&mut c), frame(i, len), "frame {i}");
        }
        t.join().unwrap();
    }

    /// A randomized model of the protocol's interleavings (in place of a
    /// model checker, which cannot see the futexes and the shared mapping):
    /// for many seeds, a tiny ring, frame sizes from empty to three times
    /// the ring, and both sides pausing at random (a yield, a sleep, or a
    /// consumer that never spins and so always goes through the futex
    /// sleep and the producer's wake). Every frame must arrive, whole and
    /// in order, and no wait may hang (a lost wake shows as a timeout).
    #[test]
    fn random_interleavings_lose_no_frame_and_no_wake() {
        fn xorshift(x: &mut u64) -> u64 {
            *x ^= *x << 13;
            *x ^= *x >> 7;
            *x ^= *x << 17;
            *x
        }
        fn pause(x: &mut u64) {
            match xorshift(x) % 16 {
                0 => std::thread::yield_now(),
                1 => std::thread::sleep(Duration::from_micros(50)),
                _ => {}
            }
        }
        for seed in 1..=24u64 {
            let cap = 64 << (seed % 3);
            let (mut p, mut c) = pair(cap);
            const N: usize = 2_000;
            let sizes: Vec<usize> = {
                let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15);
                (0..N).map(|_| (xorshift(&mut x) % (3 * cap as u64)) as usize).collect()
            };
            let sent = sizes.clone();
            // The producer wakes the sleeper it names: both sides use one.
            let who = if seed % 2 == 0 { Sleeper::Active } else { Sleeper::Standby };
            let t = std::thread::spawn(move || {
                let mut x = seed.wrapping_mul(0xD1B5_4A32_D192_ED03) | 1;
                for (i, &n) in sent.iter().enumerate() {
                    p.send(&frame(i, n), who, &mut never()).unwrap();
                    pause(&mut x);
                }
            });
            let mut x = seed | 1;
            for (i, &n) in sizes.iter().enumerate() {
                let got = loop {
                    if let Some(f) = c.try_recv().unwrap() {
                        break f.to_vec();
                    }
                    let ring = c.ring().clone();
                    // No spin half the time: straight to the futex.
                    let spin = Budget::new(if xorshift(&mut x) % 2 == 0 { Duration::ZERO } else { Duration::from_micros(5) });
                    let start = Instant::now();
                    ring.wait_readable(who, &spin, Some(start + Duration::from_secs(10)), &|| false);
                    assert!(start.elapsed() < Duration::from_secs(10), "seed {seed}: frame {i}: a lost wake");
                };
                assert_eq!(got, frame(i, n), "seed {seed}: frame {i} of {n} bytes");
                pause(&mut x);
            }
            t.join().unwrap();
        }
    }

    #[test]
    fn a_sleeping_consumer_is_woken_by_a_frame_and_by_interrupt() {
        let (mut p, mut c) = pair(256);
        let ring = c.ring().clone();
        let t = std::thread::spawn(move || {
            let f = recv_blocking(&mut c);
            // Publishes the tail: the ring is not readable any more, so the
            // wait below sleeps (rather than spins) until the interrupt.
            assert!(c.try_recv().unwrap().is_none());
            f
        });
        std::thread::sleep(Duration::from_millis(20));
        p.send(b"late", Sleeper::Active, &mut never()).unwrap();
        assert_eq!(t.join().unwrap(), b"late");
        assert!(!ring.readable());

        let stop = Arc::new(AtomicBool::new(false));
        let (s, r) = (stop.clone(), ring.clone());
        let t = std::thread::spawn(move || {
            let start = Instant::now();
            while !s.load(SeqCst) {
                r.wait_readable(Sleeper::Standby, &Budget::new(Duration::ZERO), None, &|| s.load(SeqCst));
            }
            start.elapsed()
        });
        std::thread::sleep(Duration::from_millis(20));
        stop.store(true, SeqCst);
        ring.interrupt();
        assert!(t.join().unwrap() < Duration::from_millis(500));
    }

    /// While a watcher looks at the ring, a frame for `Standby` wakes no
    /// one (the watcher takes it in); the last watcher to leave wakes the
    /// sleeping `Standby` if a frame is there, so none is stranded.
    #[test]
    fn a_watched_ring_wakes_no_standby_and_the_last_watcher_hands_over() {
        let (mut p, mut c) = pair(256);
        let ring = c.ring().clone();
        let word = &ring.hdr().sleep.0[Sleeper::Standby as usize];
        ring.watch(true);
        // A sleeping Standby, as the reader thread is.
        word.store(1, SeqCst);
        p.send(b"one", Sleeper::Standby, &mut never()).unwrap();
        assert_eq!(word.load(SeqCst), 1, "a watched ring's frame woke Standby");
        assert_eq!(c.try_recv().unwrap().unwrap(), b"one");
        assert!(c.try_recv().unwrap().is_none());
        ring.watch(true);
        ring.watch(false);
        p.send(b"two", Sleeper::Standby, &mut never()).unwrap();
        assert_eq!(word.load(SeqCst), 1, "one watcher is left");
        ring.watch(false);
        assert_eq!(word.load(SeqCst), 0, "the last watcher left a frame and did not wake Standby");
        assert_eq!(c.try_recv().unwrap().unwrap(), b"two");
        // Unwatched: the producer wakes Standby itself.
        word.store(1, SeqCst);
        p.send(b"three", Sleeper::Standby, &mut never()).unwrap();
        assert_eq!(word.load(SeqCst), 0);
    }

    #[test]
    fn an_impossible_head_or_length_is_corrupt_not_a_wild_read() {
        let (mut p, mut c) = pair(64);
        p.send(b"ok", Sleeper::Active, &mut never()).unwrap();
        c.ring.hdr().head.0.store(1 << 40, SeqCst);
        assert!(matches!(c.try_recv(), Err(RingError::Corrupt(_))));

        let (mut p, mut c) = pair(64);
        p.send(b"ok", Sleeper::Active, &mut never()).unwrap();
        // Overwrite the length with 2 GiB.
        // SAFETY: the test owns both sides; the first 4 bytes are the length.
        unsafe { c.ring.data.as_ptr().cast::<[u8; 4]>().write((u32::MAX / 2 + 1).to_le_bytes()) };
        assert!(matches!(c.try_recv(), Err(RingError::Corrupt(_))));
    }

    #[test]
    fn the_worker_side_maps_the_same_rings() {
        let (rings, fd) = Rings::create(1024).unwrap();
        let theirs = Rings::open(&fd).unwrap();
        // SAFETY: one producer (ours) and one consumer (theirs) of this ring.
        let (mut p, mut c) = unsafe { (Producer::new(rings.to_worker.clone()), Consumer::new(theirs.to_worker.clone())) };
        p.send(b"hello", Sleeper::Active, &mut never()).unwrap();
        assert_eq!(c.try_recv().unwrap().unwrap(), b"hello");
        assert!(!theirs.to_parent.readable());
    }
}

