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
//! the first timer and ends with the host; it is woken only when a new
//! deadline comes before every other one.
//!
//! Stale entries would pile up under a driver that pushes its timer back on
//! every message (an idle timeout): the service also keeps each port's live
//! sequence number, and when the heap holds four times more entries than
//! there are armed timers it drops the stale ones in one O(n) pass, so the
//! heap stays within a constant factor of the armed timers.
#![deny(unsafe_code)]

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
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
    /// The sequence number of each port's armed timer (a closed port's
    /// stays until its entry comes up).
    live: HashMap<PortId, u64>,
    started: bool,
    shutdown: bool,
}

impl State {
    /// Drops the stale heap entries once they outnumber the live ones
    /// three to one.
    fn compact(&mut self) {
        if self.heap.len() > 64 && self.heap.len() > 4 * self.live.len() {
            let live = &self.live;
            self.heap.retain(|Reverse((_, seq, id))| live.get(id) == Some(seq));
        }
    }
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
        if ms == 0 && port.in_callback_on_this_thread() {
            // Set inside a callback on this thread: the callback's end runs
            // it (`port::in_callback`), so the timer thread need not hear
            // of it (waking it costs more than the timer, and it could take
            // the timer first and make the port's owner wait for it).
            *port.timer.lock() = Some((deadline, seq));
            port.timer_now.store(true, Ordering::Relaxed);
            return;
        }
        let (lock, cv) = &*self.shared;
        let mut st = lock.lock();
        *port.timer.lock() = Some((deadline, seq));
        // A timer of 0 ms also runs right after the callback that set it, on
        // its thread (see `port::in_callback`), as ERTS runs it as the port's
        // next task; the heap entry is the fallback, and only one of the two
        // fires (the sequence number decides).
        port.timer_now.store(ms == 0, Ordering::Relaxed);
        st.live.insert(port.id, seq);
        let earliest = st.heap.peek().is_none_or(|Reverse((first, _, _))| deadline < *first);
        st.heap.push(Reverse((deadline, seq, port.id)));
        st.compact();
        if !st.started {
            st.started = true;
            let shared = self.shared.clone();
            let host = Arc::downgrade(host);
            std::thread::Builder::new()
                .name("porthost-timers".into())
                .spawn(move || run(shared, host))
                .expect("spawning the timer thread");
        }
        if earliest {
            cv.notify_one();
        }
    }

    /// Disarms `port`'s timer (`driver_cancel_timer`).
    pub(crate) fn cancel(&self, port: &Port) {
        let mut st = self.shared.0.lock();
        *port.timer.lock() = None;
        port.timer_now.store(false, Ordering::Relaxed);
        st.live.remove(&port.id);
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
                if st.live.get(&id) == Some(&seq) {
                    st.live.remove(&id);
                }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_timer_pushed_back_on_every_message_leaves_no_pile_of_stale_entries() {
        let mut st = State::default();
        let now = Instant::now();
        for seq in 0..10_000u64 {
            let port = PortId(seq % 3);
            st.live.insert(port, seq);
            st.heap.push(Reverse((now + Duration::from_secs(30) + Duration::from_millis(seq), seq, port)));
            st.compact();
        }
        assert!(st.heap.len() <= 65, "{} entries for 3 armed timers", st.heap.len());
        for seq in [9_997, 9_998, 9_999] {
            assert!(st.heap.iter().any(|Reverse((_, s, _))| *s == seq), "live timer {seq} kept");
        }
    }
}
