//! Driver timers: `driver_set_timer`, `driver_cancel_timer`,
//! `driver_read_timer` and the `timeout` callback (ERTS: one timer per port,
//! millisecond resolution).
//!
//! One timer thread per host serves every port: a min-heap of deadlines
//! under a mutex, and a condition variable the thread sleeps on until the
//! earliest deadline or a new, earlier one. Each port holds its one armed
//! timer as `(deadline, sequence number)`; setting a timer again or
//! cancelling it just replaces or clears that, and a heap entry whose
//! sequence number no longer matches its port's is stale and skipped when it
//! comes up. So setting and cancelling are O(log n) and never scan, and
//! thousands of ports with timers cost one thread. The thread starts with
//! the first timer and ends with the host.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use crate::host::HostInner;
use crate::port::{self, Port};
use crate::term::PortId;

#[derive(Default)]
struct State {
    heap: BinaryHeap<Reverse<(Instant, u64, PortId)>>,
    started: bool,
    shutdown: bool,
}

/// A host's timer service.
#[derive(Default)]
pub struct Timers {
    shared: Arc<(Mutex<State>, Condvar)>,
    seq: AtomicU64,
}

impl Timers {
    /// Arms `port`'s timer to fire after `ms` milliseconds, replacing any
    /// armed one (`driver_set_timer`). As in ERTS, which takes the
    /// `unsigned long` as a signed 64-bit number, a value of 2^63 or more
    /// (e.g. `(unsigned long)-1`) fires at once.
    pub(crate) fn set(&self, host: &Arc<HostInner>, port: &Port, ms: u64) {
        let seq = self.seq.fetch_add(1, Ordering::Relaxed);
        let now = Instant::now();
        let ms = if (ms as i64) < 0 { 0 } else { ms };
        let deadline = now.checked_add(Duration::from_millis(ms)).unwrap_or(now);
        *port.timer.lock() = Some((deadline, seq));
        let (lock, cv) = &*self.shared;
        let mut st = lock.lock();
        st.heap.push(Reverse((deadline, seq, port.id)));
        if !st.started {
            st.started = true;
            let shared = self.shared.clone();
            let host = Arc::downgrade(host);
            std::thread::Builder::new()
                .name("porthost-timers".into())
                .spawn(move || run(shared, host))
                .expect("spawning the timer thread");
        }
        cv.notify_one();
    }

    /// Disarms `port`'s timer (`driver_cancel_timer`).
    pub(crate) fn cancel(&self, port: &Port) {
        *port.timer.lock() = None;
    }

    /// Milliseconds until `port`'s timer fires, rounded up as ERTS does (a
    /// timer just set to N ms reads N), 0 if none is armed
    /// (`driver_read_timer`).
    pub(crate) fn left(&self, port: &Port) -> u64 {
        match *port.timer.lock() {
            Some((deadline, _)) => {
                let left = deadline.saturating_duration_since(Instant::now());
                left.as_nanos().div_ceil(1_000_000) as u64
            }
            None => 0,
        }
    }

    /// Stops the thread (host shutdown).
    pub(crate) fn shutdown(&self) {
        let (lock, cv) = &*self.shared;
        lock.lock().shutdown = true;
        cv.notify_one();
    }
}

fn run(shared: Arc<(Mutex<State>, Condvar)>, host: Weak<HostInner>) {
    let (lock, cv) = &*shared;
    let mut st = lock.lock();
    loop {
        if st.shutdown {
            return;
        }
        let now = Instant::now();
        match st.heap.peek() {
            None => {
                cv.wait(&mut st);
            }
            Some(Reverse((deadline, _, _))) if *deadline > now => {
                let d = *deadline;
                cv.wait_until(&mut st, d);
            }
            Some(_) => {
                let Reverse((_, seq, id)) = st.heap.pop().expect("peeked");
                drop(st);
                if let Some(host) = host.upgrade() {
                    fire(&host, id, seq);
                } else {
                    return;
                }
                st = lock.lock();
            }
        }
    }
}

fn fire(host: &Arc<HostInner>, id: PortId, seq: u64) {
    let Some(p) = host.ports.get(id) else { return };
    {
        let mut t = p.timer.lock();
        match *t {
            Some((_, s)) if s == seq => *t = None,
            _ => return,
        }
    }
    port::timeout(&p);
}
