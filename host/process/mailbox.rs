//! A process's mailbox: the signals sent to it, in order.
//!
//! A queue under a mutex, with a condition variable for a receiver that
//! sleeps. ERTS links a message into the receiver's signal queue; a
//! general-purpose channel here cost about a sixth of a `port_command` →
//! receive round trip (its list blocks are allocated and zeroed every 31
//! messages, and each operation has its own atomics). Senders are many (the
//! ports a process owns, other processes, driver threads), the receiver is
//! one: the process, which spins on [`Mailbox::try_recv`] (one atomic load
//! while the mailbox is empty) before it sleeps in [`Mailbox::recv_until`].
#![deny(unsafe_code)]

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use parking_lot::{Condvar, Mutex};

use super::Signal;

/// See the module documentation. Shared (`Arc`) between the process and
/// everything that sends to it.
pub(crate) struct Mailbox {
    queue: Mutex<Queue>,
    /// Signalled when a signal arrives while the receiver sleeps.
    arrived: Condvar,
    /// How many signals wait: read without the lock by a spinning receiver
    /// and by `len`; written under it.
    queued: AtomicUsize,
}

struct Queue {
    signals: VecDeque<Signal>,
    /// The receiver waits on `arrived`.
    sleeping: bool,
    /// The receiver is gone: signals are dropped, not queued.
    closed: bool,
}

impl Mailbox {
    pub(crate) fn new() -> Mailbox {
        Mailbox {
            queue: Mutex::new(Queue { signals: VecDeque::new(), sleeping: false, closed: false }),
            arrived: Condvar::new(),
            queued: AtomicUsize::new(0),
        }
    }

    /// Queues `sig`; gives it back if the receiving process has ended (the
    /// caller drops it, as a message to a dead process is dropped).
    pub(crate) fn send(&self, sig: Signal) -> Result<(), Signal> {
        let mut q = self.queue.lock();
        if q.closed {
            return Err(sig);
        }
        q.signals.push_back(sig);
        self.queued.store(q.signals.len(), Ordering::Release);
        let wake = q.sleeping;
        drop(q);
        if wake {
            self.arrived.notify_one();
        }
        Ok(())
    }

    /// The oldest signal, if one waits.
    #[inline]
    pub(crate) fn try_recv(&self) -> Option<Signal> {
        if self.queued.load(Ordering::Acquire) == 0 {
            return None;
        }
        let mut q = self.queue.lock();
        let sig = q.signals.pop_front();
        self.queued.store(q.signals.len(), Ordering::Release);
        sig
    }

    /// The oldest signal, waiting for one until `deadline` (for ever
    /// without one); `None` when the deadline passes first.
    pub(crate) fn recv_until(&self, deadline: Option<Instant>) -> Option<Signal> {
        let mut q = self.queue.lock();
        loop {
            if let Some(sig) = q.signals.pop_front() {
                self.queued.store(q.signals.len(), Ordering::Release);
                return Some(sig);
            }
            q.sleeping = true;
            let timed_out = match deadline {
                Some(d) => self.arrived.wait_until(&mut q, d).timed_out(),
                None => {
                    self.arrived.wait(&mut q);
                    false
                }
            };
            q.sleeping = false;
            if timed_out {
                let sig = q.signals.pop_front();
                self.queued.store(q.signals.len(), Ordering::Release);
                return sig;
            }
        }
    }

    /// How many signals wait.
    pub(crate) fn len(&self) -> usize {
        self.queued.load(Ordering::Acquire)
    }

    /// True if no signal waits.
    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The receiver has ended: drops the waiting signals (their receipts
    /// fire) and refuses later ones.
    pub(crate) fn close(&self) {
        let dropped = {
            let mut q = self.queue.lock();
            q.closed = true;
            self.queued.store(0, Ordering::Release);
            std::mem::take(&mut q.signals)
        };
        // Outside the lock: a receipt runs its sender's code.
        drop(dropped);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::term::Term;
    use std::sync::Arc;
    use std::time::Duration;

    fn msg(i: i64) -> Signal {
        Signal::Message(Term::Int(i))
    }

    fn int(s: Option<Signal>) -> Option<i64> {
        match s? {
            Signal::Message(Term::Int(i)) => Some(i),
            _ => None,
        }
    }

    #[test]
    fn signals_come_out_in_order() {
        let m = Mailbox::new();
        (0..100).for_each(|i| assert!(m.send(msg(i)).is_ok()));
        assert_eq!(m.len(), 100);
        assert!((0..100).all(|i| int(m.try_recv()) == Some(i)));
        assert!(m.is_empty() && m.try_recv().is_none());
    }

    #[test]
    fn a_sleeping_receiver_wakes_for_a_signal_and_times_out_without_one() {
        let m = Arc::new(Mailbox::new());
        let sender = {
            let m = m.clone();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(20));
                assert!(m.send(msg(7)).is_ok());
            })
        };
        assert_eq!(int(m.recv_until(None)), Some(7));
        sender.join().unwrap();
        let t0 = Instant::now();
        assert!(m.recv_until(Some(t0 + Duration::from_millis(10))).is_none());
        assert!(t0.elapsed() >= Duration::from_millis(10));
    }

    #[test]
    fn a_closed_mailbox_drops_its_signals_and_refuses_more() {
        let m = Mailbox::new();
        assert!(m.send(msg(1)).is_ok());
        m.close();
        assert!(m.is_empty() && m.try_recv().is_none());
        assert!(m.send(msg(2)).is_err());
    }
}
