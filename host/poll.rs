//! I/O events: `driver_select` and the poll thread that delivers
//! `ready_input` and `ready_output` (ERTS's `erl_check_io.c`).
//!
//! A driver selects an event (a file descriptor cast to `ErlDrvEvent`) for
//! reading (`ERL_DRV_READ`) and/or writing (`ERL_DRV_WRITE`) and marks it in
//! use (`ERL_DRV_USE`). The selection table maps each descriptor to the one
//! port that selected it; an event belongs to one port at a time, and
//! selecting another port's event fails with -1, as in ERTS.
//!
//! One poll thread per host waits in epoll (through the `polling` crate,
//! level-triggered) and, for each ready descriptor, runs the owning port's
//! `ready_input`/`ready_output` under the port lock, after checking under
//! that lock that the descriptor is still selected for that direction by
//! that port (the driver may have deselected it meanwhile).
//!
//! `stop_select(event, NULL)` is called when an event that was marked in use
//! is released: directly from `driver_select(.., ERL_DRV_USE, 0)` once the
//! descriptor is out of the epoll set (so the driver may close it there), or
//! when the port terminates with events still in use. `ERL_DRV_USE_NO_CALLBACK`
//! releases without the call.

use std::collections::HashMap;
use std::os::fd::{BorrowedFd, RawFd};
use std::sync::{Arc, Weak};

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

#[derive(Clone, Copy)]
struct Selected {
    port: PortId,
    read: bool,
    write: bool,
    used: bool,
    /// The descriptor is in the epoll set.
    registered: bool,
}

#[derive(Default)]
struct State {
    fds: HashMap<RawFd, Selected>,
    thread_started: bool,
    shutdown: bool,
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
    /// `driver_select(port, fd, mode, on)`. Returns `Err(())` (ERTS's -1)
    /// when the descriptor is another port's, or the poll set refuses it.
    pub(crate) fn select(&self, host: &Arc<HostInner>, port: &Port, fd: RawFd, mode: i32, on: bool) -> Result<Outcome, ()> {
        let mut st = self.state.lock();
        let entry = st.fds.get(&fd).copied();
        if let Some(e) = entry {
            if e.port != port.id {
                return Err(());
            }
        }
        let mut e = entry.unwrap_or(Selected { port: port.id, read: false, write: false, used: false, registered: false });
        let mut released = false;
        if on {
            e.read |= mode & READ != 0;
            e.write |= mode & WRITE != 0;
            e.used |= mode & USE != 0;
        } else {
            e.read &= mode & READ == 0;
            e.write &= mode & WRITE == 0;
            if mode & USE != 0 {
                // Releasing the event deselects it altogether.
                released = e.used && mode & NO_CALLBACK == 0;
                e.read = false;
                e.write = false;
                e.used = false;
            }
        }
        let interest = Event::new(fd as usize, e.read, e.write);
        let wanted = e.read || e.write;
        // SAFETY: the descriptor is the driver's, open while it is selected
        // (the erl_driver contract); it is removed before it is released.
        let res = unsafe {
            match (e.registered, wanted) {
                (false, true) => self.poller.add_with_mode(fd, interest, PollMode::Level),
                (true, true) => self.poller.modify_with_mode(BorrowedFd::borrow_raw(fd), interest, PollMode::Level),
                (true, false) => self.poller.delete(BorrowedFd::borrow_raw(fd)),
                (false, false) => Ok(()),
            }
        };
        if res.is_err() {
            return Err(());
        }
        e.registered = wanted;
        if e.read || e.write || e.used {
            if entry.is_none() {
                port.selected.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            st.fds.insert(fd, e);
        } else if entry.is_some() {
            st.fds.remove(&fd);
            port.selected.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
        }
        if wanted && !st.thread_started {
            st.thread_started = true;
            let (poller, state, host) = (self.poller.clone(), self.state.clone(), Arc::downgrade(host));
            std::thread::Builder::new()
                .name("porthost-poll".into())
                .spawn(move || run(poller, state, host))
                .expect("spawning the poll thread");
        }
        Ok(if released { Outcome::StopSelect } else { Outcome::Done })
    }

    /// Is `fd` selected by `port` for reading (or writing)?
    fn wants(&self, fd: RawFd, port: PortId, write: bool) -> bool {
        matches!(self.state.lock().fds.get(&fd), Some(e) if e.port == port && if write { e.write } else { e.read })
    }

    /// A port terminated: its events leave the table; those still in use
    /// are returned, for `stop_select`.
    pub(crate) fn port_closed(&self, port: &Port) -> Vec<RawFd> {
        if port.selected.load(std::sync::atomic::Ordering::Relaxed) == 0 {
            return Vec::new();
        }
        let mut st = self.state.lock();
        let mine: Vec<(RawFd, Selected)> = st.fds.iter().filter(|(_, e)| e.port == port.id).map(|(fd, e)| (*fd, *e)).collect();
        let mut release = Vec::new();
        for (fd, e) in mine {
            st.fds.remove(&fd);
            if e.registered {
                // SAFETY: still open: the driver has not been told to
                // release it yet.
                let _ = self.poller.delete(unsafe { BorrowedFd::borrow_raw(fd) });
            }
            if e.used {
                release.push(fd);
            }
        }
        port.selected.store(0, std::sync::atomic::Ordering::Relaxed);
        release
    }

    /// Stops the poll thread (host shutdown).
    pub(crate) fn shutdown(&self) {
        self.state.lock().shutdown = true;
        let _ = self.poller.notify();
    }
}

fn run(poller: Arc<Poller>, state: Arc<Mutex<State>>, host: Weak<HostInner>) {
    let mut events = Events::new();
    loop {
        events.clear();
        if poller.wait(&mut events, None).is_err() {
            continue;
        }
        if state.lock().shutdown {
            return;
        }
        let Some(host) = host.upgrade() else { return };
        for ev in events.iter() {
            let fd = ev.key as RawFd;
            let Some(owner) = state.lock().fds.get(&fd).map(|e| e.port) else { continue };
            let Some(p) = host.ports.get(owner) else { continue };
            if ev.readable {
                port::run_callback(&p, |port, data| {
                    if host.poll.wants(fd, owner, false) {
                        crate::abi::entry::ready_input(port, data, fd);
                    }
                });
            }
            if ev.writable {
                port::run_callback(&p, |port, data| {
                    if host.poll.wants(fd, owner, true) {
                        crate::abi::entry::ready_output(port, data, fd);
                    }
                });
            }
        }
    }
}
