//! Adaptive busy-waiting: a waiting thread spins only while it pays.
//!
//! A thread that waits for another (a reply in the isolation ring, a
//! message in `receive`, the next event in the poll thread, the next job of
//! an async thread) first spins, because on a virtual machine waking a
//! thread whose CPU has gone idle costs tens of microseconds, more than
//! most waits last. ERTS's schedulers do the same (`+sbwt`). But spinning
//! pays only while every thread that has work has a CPU: with two CPU hogs
//! beside porthost on two CPUs, a spinning thread holds a CPU that the
//! thread it waits for needs, the scheduler takes it away after a time
//! slice (milliseconds), and a round trip of a microsecond took 36 µs on
//! average and milliseconds at worst.
//!
//! So each kind of wait has a [`Budget`], shared by the threads that wait
//! that way: how long a wait may spin before it sleeps. A thread that
//! notices it lost its CPU while it spun (two looks at the clock more than
//! [`PREEMPTED`] apart) stops spinning at once and cuts the budget to a
//! quarter; a spin that ends with what it waited for doubles it, up to the
//! maximum, and so does a wait that slept but would have ended within the
//! maximum spin ([`Budget::slept`]): spinning would have paid. A budget
//! never drops below [`FLOOR`], so a machine that became quiet again is
//! noticed within a few waits.
#![deny(unsafe_code)]

use std::sync::atomic::{AtomicU32, Ordering::Relaxed};
use std::time::{Duration, Instant};

/// A gap this long between two looks of a spinning thread means that the
/// thread lost its CPU meanwhile (a look takes well under a microsecond;
/// the scheduler's slices are milliseconds).
pub(crate) const PREEMPTED: Duration = Duration::from_micros(50);

/// The least a wait spins, in microseconds, whatever the budget: a hand-over
/// between two running threads takes a few.
pub(crate) const FLOOR: u32 = 5;

/// How long one kind of wait may spin (see the module docs).
pub(crate) struct Budget {
    max_us: u32,
    us: AtomicU32,
}

impl Budget {
    /// A budget of at most `max` (at most about 71 minutes), starting there.
    pub(crate) const fn new(max: Duration) -> Budget {
        let max_us = max.as_micros() as u32;
        Budget { max_us, us: AtomicU32::new(max_us) }
    }

    /// How long the next wait may spin.
    pub(crate) fn get(&self) -> Duration {
        Duration::from_micros(u64::from(self.us.load(Relaxed).max(FLOOR.min(self.max_us))))
    }

    /// A spin ended with what it waited for: the budget doubles.
    fn paid(&self) {
        let us = self.us.load(Relaxed);
        if us < self.max_us {
            self.us.store(us.saturating_mul(2).max(FLOOR).min(self.max_us), Relaxed);
        }
    }

    /// A wait spun, then slept, and ended `waited` after it began: if a spin
    /// of the maximum would have caught it, the budget doubles.
    pub(crate) fn slept(&self, waited: Duration) {
        if waited <= Duration::from_micros(u64::from(self.max_us)) {
            self.paid();
        }
    }

    /// Spins, for at most this budget's time, until `ready` says yes (it
    /// is asked first, then after each pause): true if it did (the spin
    /// paid), false if the time ran out or the thread lost its CPU. For a
    /// wait that then sleeps and reports it with [`Budget::slept`].
    pub(crate) fn spin_until(&self, mut ready: impl FnMut() -> bool) -> bool {
        let mut spin = Spin::new(self, Instant::now(), None);
        loop {
            if ready() {
                spin.paid();
                return true;
            }
            std::hint::spin_loop();
            if !spin.go_on(Instant::now()) {
                return false;
            }
        }
    }

    /// A spinning thread lost its CPU: the budget drops to a quarter.
    fn preempted(&self) {
        self.us.store(self.us.load(Relaxed) / 4, Relaxed);
    }
}

/// One wait's spin (see [`Budget`]).
pub(crate) struct Spin<'a> {
    budget: &'a Budget,
    last: Instant,
    until: Instant,
}

impl<'a> Spin<'a> {
    /// A spin that starts at `now`, for `budget`'s time or until
    /// `deadline`, whichever comes first.
    pub(crate) fn new(budget: &'a Budget, now: Instant, deadline: Option<Instant>) -> Spin<'a> {
        let end = now + budget.get();
        Spin { budget, last: now, until: deadline.map_or(end, |d| d.min(end)) }
    }

    /// True if the thread should look again rather than sleep, `now` being
    /// the time of this look: false once the spin's time is up, or if the
    /// thread lost its CPU since its last look (then the budget shrinks).
    pub(crate) fn go_on(&mut self, now: Instant) -> bool {
        if now.saturating_duration_since(self.last) > PREEMPTED {
            self.budget.preempted();
            return false;
        }
        self.last = now;
        now < self.until
    }

    /// The wait ended while the thread spun: spinning paid.
    pub(crate) fn paid(self) {
        self.budget.paid();
    }
}

/// How long a look at the machine's runnable threads holds (see [`Room`]).
pub(crate) const ROOM_EVERY: Duration = Duration::from_millis(1);

/// Whether a spin can pay at all now: not while the machine has more
/// runnable threads than CPUs. A [`Budget`] learns that only once a
/// spinning thread loses its CPU, and a thread that waits for requests
/// from another program pays more than that: the scheduler counts its
/// spins as CPU time used, so when the request comes it no longer wakes
/// ahead of the programs that hog the CPUs but waits behind a time slice
/// (milliseconds). Looked up in `/proc/loadavg` (the runnable threads,
/// the caller included; about a microsecond) at most every [`ROOM_EVERY`];
/// without `/proc`, never spins.
pub(crate) struct Room {
    load: Option<crate::sys::load::LoadAvg>,
    cpus: u32,
    looked: Option<Instant>,
    roomy: bool,
}

impl Room {
    /// Looks at the machine for the first time at the first
    /// [`Room::roomy`].
    pub(crate) fn new() -> Room {
        Room::with_cpus(std::thread::available_parallelism().map_or(1, |n| u32::try_from(n.get()).unwrap_or(u32::MAX)))
    }

    fn with_cpus(cpus: u32) -> Room {
        Room { load: crate::sys::load::LoadAvg::open().ok(), cpus, looked: None, roomy: false }
    }

    /// True if every runnable thread had a CPU when last looked (at most
    /// [`ROOM_EVERY`] before `now`).
    pub(crate) fn roomy(&mut self, now: Instant) -> bool {
        if self.looked.is_none_or(|t| now.saturating_duration_since(t) >= ROOM_EVERY) {
            self.looked = Some(now);
            self.roomy = self.load.as_ref().and_then(|l| l.runnable()).is_some_and(|r| r <= self.cpus);
        }
        self.roomy
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_budget_shrinks_when_preempted_and_grows_back_when_spinning_pays() {
        let b = Budget::new(Duration::from_micros(64));
        assert_eq!(b.get(), Duration::from_micros(64));
        let t0 = Instant::now();
        let mut s = Spin::new(&b, t0, None);
        assert!(s.go_on(t0 + Duration::from_micros(1)));
        // A look 1 ms after the last one: the thread lost its CPU.
        assert!(!s.go_on(t0 + Duration::from_millis(1)));
        assert_eq!(b.get(), Duration::from_micros(16));
        for _ in 0..5 {
            b.preempted();
        }
        assert_eq!(b.get(), Duration::from_micros(u64::from(FLOOR)), "never below the floor");
        for _ in 0..10 {
            Spin::new(&b, Instant::now(), None).paid();
        }
        assert_eq!(b.get(), Duration::from_micros(64), "back to the maximum, not past it");
        b.preempted();
        b.slept(Duration::from_millis(1));
        assert_eq!(b.get(), Duration::from_micros(16), "a long sleep says nothing");
        b.slept(Duration::from_micros(30));
        assert_eq!(b.get(), Duration::from_micros(32), "a short sleep: spinning would have paid");
    }

    #[test]
    fn a_room_counts_the_runnable_threads_against_the_cpus_and_holds_its_look() {
        let t0 = Instant::now();
        // This thread runs: never room on no CPU, always on countless.
        assert!(!Room::with_cpus(0).roomy(t0));
        let mut wide = Room::with_cpus(u32::MAX);
        assert!(wide.roomy(t0));
        // A look holds for ROOM_EVERY, then the next one looks again.
        wide.cpus = 0;
        assert!(wide.roomy(t0 + ROOM_EVERY / 2));
        assert!(!wide.roomy(t0 + ROOM_EVERY));
    }

    #[test]
    fn a_spin_ends_at_its_budget_or_its_deadline() {
        let b = Budget::new(Duration::from_micros(50));
        let t0 = Instant::now();
        let mut s = Spin::new(&b, t0, Some(t0 + Duration::from_micros(10)));
        assert!(s.go_on(t0 + Duration::from_micros(9)));
        assert!(!s.go_on(t0 + Duration::from_micros(11)));
        let mut s = Spin::new(&b, t0, None);
        let mut t = t0;
        while s.go_on(t) {
            t += Duration::from_micros(5);
        }
        assert!(t >= t0 + Duration::from_micros(50) && t < t0 + Duration::from_micros(60));
        // A zero budget spins the floor's time at most.
        let z = Budget::new(Duration::ZERO);
        assert_eq!(z.get(), Duration::ZERO);
    }
}
