//! I/O events: `driver_select` and the poll thread that delivers
//! `ready_input` and `ready_output` (ERTS's `erl_check_io.c`).
//!
//! A driver selects an event (a file descriptor cast to `ErlDrvEvent`) for
//! reading (`ERL_DRV_READ`) and/or writing (`ERL_DRV_WRITE`) and marks it in
//! use (`ERL_DRV_USE`). The selection table maps each descriptor to the port
//! selected for its input and the port selected for its output, as ERTS's
//! `inport`/`outport`. The rules follow `driver_select` in ERTS 25
//! (observed with `tests/scripts/select_*.erl`):
//!
//! - Selecting a direction another port holds *steals* it (ERTS logs
//!   "stealing control of fd=N" and returns 0): from then on the new port
//!   gets that direction's events.
//! - `ERL_DRV_USE` counts only together with a direction; with `on` = 0 it
//!   releases the event: both directions go, whoever holds them, and the
//!   driver's `stop_select` is called from inside `driver_select`, once the
//!   descriptor is out of the epoll set, even for a descriptor the table
//!   never saw. `ERL_DRV_USE_NO_CALLBACK` only deselects the directions it
//!   names and calls nothing (so without a direction it does nothing).
//! - Deselecting the last direction without `ERL_DRV_USE` keeps an event
//!   that is in use in the table (it will probably be selected again).
//! - When a port terminates, the directions it holds are deselected
//!   *without* `stop_select` (ERTS's `erts_stale_drv_select` uses
//!   `ERL_DRV_USE_NO_CALLBACK` and logs "driver gone away without
//!   deselecting"): a driver must release its events in `stop`.
//! - A descriptor epoll refuses with EPERM (a regular file, `/dev/null`) is
//!   accepted and reported ready on every round while it is selected, as
//!   ERTS's fallback poll set (`poll(2)`) does. (ERTS then sometimes calls
//!   its `stop_select` a little after the release instead of inside it.)
//!
//! One poll thread per host waits in epoll (through the `polling` crate,
//! level-triggered) and, for each ready descriptor, runs the owning port's
//! `ready_input`/`ready_output` under the port lock, after checking under
//! that lock that the descriptor is still selected for that direction by
//! that port (the driver may have deselected it meanwhile).

use std::collections::{HashMap, HashSet};
use std::os::fd::{BorrowedFd, RawFd};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use polling::{Event, Events, PollMode, Poller};

use crate::host::HostInner;
use crate::port::{self, Port};
use crate::term::PortId;

/// `ERL_DRV_READ`.
pub const READ: i32 = 1 << 0;
/// `ERL_DRV_WRITE`.
pub const WRITE: i32 = 1 << 1;
/// `ERL_DRV_USE`.
pub const USE: i32 = 1 << 2;
/// The bit `ERL_DRV_USE_NO_CALLBACK` adds to `ERL_DRV_USE`.
pub const NO_CALLBACK: i32 = 1 << 3;

/// One descriptor in the selection table.
#[derive(Clone, Copy)]
struct Selected {
    /// The port selected for `ERL_DRV_READ`.
    input: Option<PortId>,
    /// The port selected for `ERL_DRV_WRITE`.
    output: Option<PortId>,
    /// `ERL_DRV_USE` is on.
    used: bool,
    /// The last port that selected it (cleans up an event left in use
    /// without a direction when that port terminates).
    holder: PortId,
    /// The interest in the epoll set: (read, write); absent if both false.
    registered: (bool, bool),
    /// epoll refused it: the poll thread reports it always ready.
    always_ready: bool,
}

impl Selected {
    fn wanted(&self) -> (bool, bool) {
        (self.input.is_some(), self.output.is_some())
    }

    fn mentions(&self, id: PortId) -> bool {
        self.input == Some(id) || self.output == Some(id) || self.holder == id
    }
}

#[derive(Default)]
struct State {
    fds: HashMap<RawFd, Selected>,
    /// For each port, the descriptors whose entry may mention it (a
    /// superset, bounded by the descriptor numbers in use): a terminating
    /// port finds its events without scanning the table.
    by_port: HashMap<PortId, HashSet<RawFd>>,
    /// The selected descriptors that are always ready.
    always_ready: HashSet<RawFd>,
    thread_started: bool,
    shutdown: bool,
}

impl State {
    /// Records that `fd`'s entry mentions `port`; `port.selected` counts
    /// the descriptors recorded by the port itself (it may be too high,
    /// never too low: zero means the port has nothing in the table).
    fn index(&mut self, port: &Port, fd: RawFd) {
        if self.by_port.entry(port.id).or_default().insert(fd) {
            port.selected.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// `fd`'s entry is gone, removed by `port`.
    fn unindex(&mut self, port: &Port, e: &Selected, fd: RawFd) {
        for id in [Some(port.id), e.input, e.output, Some(e.holder)].into_iter().flatten() {
            if let Some(set) = self.by_port.get_mut(&id) {
                if set.remove(&fd) && id == port.id {
                    port.selected.fetch_sub(1, Ordering::Relaxed);
                }
                if set.is_empty() {
                    self.by_port.remove(&id);
                }
            }
        }
    }
}

/// A host's selection table and poll thread.
pub struct Poll {
    poller: Arc<Poller>,
    state: Arc<Mutex<State>>,
}

impl Default for Poll {
    fn default() -> Poll {
        Poll { poller: Arc::new(Poller::new().expect("creating an epoll instance")), state: Default::default() }
    }
}

/// What `driver_select` must do after the table changed.
pub(crate) enum Outcome {
    /// Done.
    Done,
    /// The event was released: call `stop_select`.
    StopSelect,
}

impl Poll {
    /// `driver_select(port, fd, mode, on)`, with ERTS 25's rules (see the
    /// module docs). Returns `Err(())` (ERTS's -1) when selecting a
    /// descriptor epoll rejects for another reason than EPERM (e.g. EBADF:
    /// not an open descriptor); deselecting never fails.
    pub(crate) fn select(&self, host: &Arc<HostInner>, port: &Port, fd: RawFd, mode: i32, on: bool) -> Result<Outcome, ()> {
        let mut st = self.state.lock();
        let old = st.fds.get(&fd).copied();
        if !on {
            let release = mode & USE != 0 && mode & NO_CALLBACK == 0;
            let Some(mut e) = old else {
                return Ok(if release { Outcome::StopSelect } else { Outcome::Done });
            };
            if release || mode & READ != 0 {
                e.input = None;
            }
            if release || mode & WRITE != 0 {
                e.output = None;
            }
            // Deselecting cannot fail: a descriptor the driver closed too
            // early has left the epoll set by itself.
            let _ = self.register(&mut st, fd, &mut e);
            if e.wanted() == (false, false) && (mode & USE != 0 || !e.used) {
                st.fds.remove(&fd);
                st.unindex(port, &e, fd);
            } else {
                st.fds.insert(fd, e);
            }
            return Ok(if release { Outcome::StopSelect } else { Outcome::Done });
        }
        if mode & (READ | WRITE) == 0 {
            // ERTS: ERL_DRV_USE alone changes nothing.
            return Ok(Outcome::Done);
        }
        let mut e = old.unwrap_or(Selected { input: None, output: None, used: false, holder: port.id, registered: (false, false), always_ready: false });
        // Another port's direction is stolen, as in ERTS.
        if mode & READ != 0 {
            e.input = Some(port.id);
        }
        if mode & WRITE != 0 {
            e.output = Some(port.id);
        }
        self.register(&mut st, fd, &mut e)?;
        e.used |= mode & USE != 0;
        e.holder = port.id;
        st.fds.insert(fd, e);
        st.index(port, fd);
        if !st.thread_started {
            st.thread_started = true;
            let (poller, state, host) = (self.poller.clone(), self.state.clone(), Arc::downgrade(host));
            std::thread::Builder::new()
                .name("porthost-poll".into())
                .spawn(move || run(poller, state, host))
                .expect("spawning the poll thread");
        }
        Ok(Outcome::Done)
    }

    /// Brings the epoll set in line with `e`'s directions. A descriptor
    /// epoll refuses (EPERM: a regular file, `/dev/null`) is always ready,
    /// as `poll(2)` reports it: ERTS's fallback poll set accepts it, and so
    /// does the poll thread, which then reports it ready on every round.
    fn register(&self, st: &mut State, fd: RawFd, e: &mut Selected) -> Result<(), ()> {
        let (read, write) = e.wanted();
        if e.registered == (read, write) {
            return Ok(());
        }
        if e.always_ready {
            e.registered = (read, write);
            if read || write {
                st.always_ready.insert(fd);
                let _ = self.poller.notify();
            } else {
                st.always_ready.remove(&fd);
            }
            return Ok(());
        }
        let interest = Event::new(fd as usize, read, write);
        let was = e.registered != (false, false);
        // SAFETY: the descriptor is the driver's, open while it is selected
        // (the erl_driver contract); it leaves the epoll set before the
        // driver is told to release it (stop_select).
        let res = unsafe {
            match (was, read || write) {
                (false, true) => self.poller.add_with_mode(fd, interest, PollMode::Level),
                (true, true) => match self.poller.modify_with_mode(BorrowedFd::borrow_raw(fd), interest, PollMode::Level) {
                    // Closed (and maybe reopened) while selected: epoll
                    // dropped it, so add it again.
                    Err(err) if err.raw_os_error() == Some(libc::ENOENT) => {
                        self.poller.add_with_mode(fd, interest, PollMode::Level)
                    }
                    res => res,
                },
                (true, false) => self.poller.delete(BorrowedFd::borrow_raw(fd)),
                (false, false) => Ok(()),
            }
        };
        match res {
            Ok(()) => {
                e.registered = (read, write);
                Ok(())
            }
            Err(err) if !was && err.raw_os_error() == Some(libc::EPERM) => {
                e.always_ready = true;
                self.register(st, fd, e)
            }
            Err(_) if !(read || write) => {
                e.registered = (false, false);
                Err(())
            }
            Err(_) => Err(()),
        }
    }

    /// The port selected for `fd`'s input (or output), if any.
    fn owner(&self, fd: RawFd, write: bool) -> Option<PortId> {
        let st = self.state.lock();
        let e = st.fds.get(&fd)?;
        if write {
            e.output
        } else {
            e.input
        }
    }

    /// The descriptors port `port` has selected: `(fd, for input, for
    /// output)`, in descriptor order (for `porthost:port_stats/1`).
    pub(crate) fn selected_by(&self, port: &Port) -> Vec<(RawFd, bool, bool)> {
        if port.selected.load(Ordering::Relaxed) == 0 {
            return Vec::new();
        }
        let st = self.state.lock();
        let Some(fds) = st.by_port.get(&port.id) else { return Vec::new() };
        let mut v: Vec<(RawFd, bool, bool)> = fds
            .iter()
            .filter_map(|fd| {
                let e = st.fds.get(fd)?;
                let (i, o) = (e.input == Some(port.id), e.output == Some(port.id));
                (i || o || e.holder == port.id).then_some((*fd, i, o))
            })
            .collect();
        v.sort_unstable();
        v
    }

    /// A port terminated: the directions it holds are deselected, and its
    /// events that no other port holds leave the table, all without
    /// `stop_select` (ERTS's `erts_stale_drv_select`). Returns the events
    /// whose `stop_select` the caller must call: none, as in ERTS.
    pub(crate) fn port_closed(&self, port: &Port) -> Vec<RawFd> {
        if port.selected.load(Ordering::Relaxed) == 0 {
            return Vec::new();
        }
        let mut st = self.state.lock();
        let fds = st.by_port.remove(&port.id).unwrap_or_default();
        port.selected.store(0, Ordering::Relaxed);
        for fd in fds {
            let Some(mut e) = st.fds.get(&fd).copied() else { continue };
            if !e.mentions(port.id) {
                continue;
            }
            if e.input == Some(port.id) {
                e.input = None;
            }
            if e.output == Some(port.id) {
                e.output = None;
            }
            let _ = self.register(&mut st, fd, &mut e);
            if e.wanted() == (false, false) {
                st.fds.remove(&fd);
                st.unindex(port, &e, fd);
            } else {
                st.fds.insert(fd, e);
            }
        }
        Vec::new()
    }

    /// Stops the poll thread (host shutdown).
    pub(crate) fn shutdown(&self) {
        self.state.lock().shutdown = true;
        let _ = self.poller.notify();
    }
}

/// How long the poll thread keeps polling without sleeping after it
/// delivered an event (with [`crate::HostConfig::busy_wait`]), as ERTS's
/// schedulers busy-wait before they sleep: on
/// a virtual machine, waking a thread whose CPU has gone idle costs tens of
/// microseconds, more than a request/reply exchange over a socket takes.
/// At most: less while spinning does not pay (`crate::spin`).
static POLL_SPIN: crate::spin::Budget = crate::spin::Budget::new(Duration::from_micros(100));

fn run(poller: Arc<Poller>, state: Arc<Mutex<State>>, host: Weak<HostInner>) {
    let mut events = Events::new();
    let mut ready: Vec<(RawFd, bool, bool)> = Vec::new();
    // The busy-poll after the last event, while it lasts.
    let mut spin: Option<crate::spin::Spin<'static>> = None;
    let busy_wait = host.upgrade().is_some_and(|h| h.busy_wait);
    loop {
        events.clear();
        let busy = !state.lock().always_ready.is_empty();
        if spin.as_mut().is_some_and(|s| !s.go_on(Instant::now())) {
            spin = None;
        }
        let spinning = spin.is_some();
        let timeout = (busy || spinning).then_some(Duration::ZERO);
        if poller.wait(&mut events, timeout).is_err() {
            continue;
        }
        if !events.is_empty() {
            if let Some(s) = spin.take() {
                s.paid();
            }
            if busy_wait {
                spin = Some(crate::spin::Spin::new(&POLL_SPIN, Instant::now(), None));
            }
        } else if spinning {
            // Nothing yet: let a thread that shares this CPU run (beside
            // CPU hogs this can cost a time slice; the spin then ends and
            // its budget shrinks, see `crate::spin`).
            std::thread::yield_now();
        }
        ready.clear();
        {
            let st = state.lock();
            if st.shutdown {
                return;
            }
            ready.extend(events.iter().map(|ev| (ev.key as RawFd, ev.readable, ev.writable)));
            ready.extend(st.always_ready.iter().filter_map(|fd| {
                let e = st.fds.get(fd)?;
                Some((*fd, e.input.is_some(), e.output.is_some()))
            }));
        }
        let Some(host) = host.upgrade() else { return };
        for &(fd, readable, writable) in &ready {
            for (is_ready, write) in [(readable, false), (writable, true)] {
                if !is_ready {
                    continue;
                }
                let Some(owner) = host.poll.owner(fd, write) else { continue };
                let Some(p) = host.ports.get(owner) else { continue };
                port::run_callback(&p, |port, driver, data| {
                    // Checked again under the port lock: the driver may
                    // have deselected it since the poll returned.
                    if host.poll.owner(fd, write) != Some(owner) {
                        return;
                    }
                    if write {
                        crate::abi::entry::ready_output(port, driver, data, fd);
                    } else {
                        crate::abi::entry::ready_input(port, driver, data, fd);
                    }
                });
            }
        }
        if busy {
            std::thread::yield_now();
        }
    }
}
