//! The callback clock: how the parent's watchdog sees a driver stuck in
//! any callback of a worker, not only in one a request runs (a `timeout`,
//! a `ready_input`, a `ready_async`, a `stop` after `port_close`).
//!
//! Every call into a driver passes `crate::abi::entry`, which holds a
//! [`Busy`] guard for it. In a worker the guard writes, in the thread's
//! slot of the shared page ([`super::ring::Clocks`]), when the thread's
//! outermost callback began, and clears it when that callback returns; in
//! any other process it does nothing (one atomic load). The parent looks
//! at the slots a few times a second (`super::watch_socket`) and kills a
//! worker whose callback has run longer than the watchdog time
//! (`HostConfig::isolation_timeout`): its ports exit with
//! `{driver_timeout, Ms}`, as for a request that takes too long.
//!
//! A thread that waits for the parent to take in what it sends (the ring
//! is full: back-pressure, see `super`) is not stuck: its clock stops
//! while it waits ([`paused`]).

use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use super::ring::{Clocks, CLOCK_SLOTS};

/// The worker's clock (set once, in a worker only).
static CLOCKS: OnceLock<Arc<Clocks>> = OnceLock::new();

/// The next slot to hand to a thread.
static NEXT: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// This thread's slot (`usize::MAX` before its first callback) and how
    /// many callbacks it is inside.
    static MINE: Cell<(usize, u32)> = const { Cell::new((usize::MAX, 0)) };
}

/// Makes this process a worker whose callbacks the parent watches.
pub(crate) fn install(clocks: Arc<Clocks>) {
    let _ = CLOCKS.set(clocks);
}

/// Milliseconds of `CLOCK_MONOTONIC` (shared by every process), plus one,
/// so never 0.
pub(crate) fn now_ms() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime fills in the timespec we pass.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    (ts.tv_sec as u64).saturating_mul(1000).saturating_add(ts.tv_nsec as u64 / 1_000_000).saturating_add(1)
}

/// Held while a driver callback runs (see the module docs).
pub(crate) struct Busy {
    on: bool,
}

impl Busy {
    /// Starts this thread's clock, unless a callback of it runs already.
    #[inline]
    pub(crate) fn begin() -> Busy {
        let Some(c) = CLOCKS.get() else { return Busy { on: false } };
        MINE.with(|m| {
            let (mut slot, depth) = m.get();
            if slot == usize::MAX {
                slot = NEXT.fetch_add(1, Relaxed);
            }
            if depth == 0 {
                if let Some(s) = c.slots().get(slot) {
                    s.store(now_ms(), Relaxed);
                }
            }
            m.set((slot, depth + 1));
        });
        Busy { on: true }
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        let (true, Some(c)) = (self.on, CLOCKS.get()) else { return };
        MINE.with(|m| {
            let (slot, depth) = m.get();
            m.set((slot, depth.saturating_sub(1)));
            if depth == 1 {
                if let Some(s) = c.slots().get(slot) {
                    s.store(0, Relaxed);
                }
            }
        });
    }
}

/// Runs `f` (a wait for the parent) with this thread's clock stopped; it
/// starts again from zero afterwards.
pub(crate) fn paused<R>(f: impl FnOnce() -> R) -> R {
    let Some(c) = CLOCKS.get() else { return f() };
    let (slot, depth) = MINE.with(Cell::get);
    let Some(s) = c.slots().get(slot).filter(|_| depth > 0) else { return f() };
    s.store(0, Relaxed);
    let r = f();
    s.store(now_ms(), Relaxed);
    r
}

/// Parent side: how long the longest-running callback of the worker whose
/// clocks these are has run, if one runs.
pub(crate) fn longest(clocks: &Clocks) -> Option<Duration> {
    let now = now_ms();
    let started = clocks.slots().iter().map(|s| s.load(Relaxed)).filter(|&v| v != 0).min()?;
    Some(Duration::from_millis(now.saturating_sub(started)))
}

/// The time part of the fatal word (the signal is in the top 16 bits).
const FATAL_TIME: u64 = (1 << 48) - 1;

/// Worker side, from the crash handler: a fatal signal `sig` came (see
/// [`Clocks::fatal`]). Async-signal-safe: an atomic load and a store.
pub(crate) fn fatal_signal(sig: i32) {
    if let Some(c) = CLOCKS.get() {
        c.fatal().store(((sig as u64 & 0xffff) << 48) | (now_ms() & FATAL_TIME), Relaxed);
    }
}

/// How long the parent lets a worker that got a fatal signal print its
/// backtrace before it kills it (the handler bounds itself well below
/// this; a handler stuck on a lock the crashed thread held does not).
pub(crate) const CRASH_GRACE: Duration = Duration::from_secs(10);

/// Parent side: the fatal signal the worker got, and how long ago, if one
/// came.
pub(crate) fn fatal(clocks: &Clocks) -> Option<(i32, Duration)> {
    let v = clocks.fatal().load(Relaxed);
    if v == 0 {
        return None;
    }
    let since = (now_ms() & FATAL_TIME).saturating_sub(v & FATAL_TIME);
    Some(((v >> 48) as i32, Duration::from_millis(since)))
}

const _: () = assert!(CLOCK_SLOTS > 0);
