//! Ports: one open instance of a port's implementation (its *backend*), the
//! port state machine, the port BIFs and the port side of the driver API.
//!
//! # One way into a port
//! ERTS makes every port a driver (`beam/io.c` calls each kind through the
//! same driver entry). porthost does the same with a [`backend::Backend`]
//! per kind of port — a driver loaded in this process, a driver in a worker
//! process ([`crate::isolate`]) — behind one set of operations
//! ([`backend::PortBackend`]: `command`, `control`, `call`, `close`,
//! `flush`, `stop`, `info`). The port code never branches on the kind.
//!
//! # The callback protocol
//! Every operation on a backend runs inside a [`scope::CallbackScope`]:
//! entering it takes the port lock (for a driver without
//! `ERL_DRV_FLAG_USE_PORT_LOCKING`, the driver's lock, which all its ports
//! share, as in ERTS: [`lock`]) and records the process on whose behalf the callback runs
//! (`driver_caller`); leaving it (its `Drop`) carries out what the callback
//! asked for, when the outermost callback of the port returns: a pending
//! exit (`driver_failure*`, `driver_exit`), the close of a lingering port
//! whose queue drained, and a 0 ms timer it set. The port lock is
//! re-entrant: a driver's calls back into the host (`driver_output`, ...)
//! run on the callback's thread with the locks already held.
//!
//! # States
//! `Starting` → `Open` → (`port_close` with a non-empty driver queue)
//! `Closing` (`flush` has been called; the port closes when the queue
//! drains) → `Closed`. An exit asked for from inside a callback is carried
//! out when the outermost callback returns; from that moment the port is
//! `Exiting` and the output functions send nothing, as in ERTS.
//!
//! # Where things are
//! [`options`] (`open_port/2`'s options), [`scope`] (the locks and the
//! callback protocol), [`backend`] (the kinds of port), [`lifecycle`]
//! (open, close, exit, terminate), [`bifs`] (the port BIFs a process
//! calls), [`callbacks`] (events: timers, I/O, async, monitors, and the
//! messages a port sends its owner), [`info`] (`erlang:port_info/1,2`),
//! `queue` (the driver queue), `iovec` (`ErlIOVec`), `table` (the port
//! table).

pub(crate) mod account;
pub(crate) mod backend;
pub(crate) mod bifs;
pub(crate) mod callbacks;
pub(crate) mod info;
mod iovec;
pub(crate) mod lifecycle;
pub(crate) mod lock;
pub(crate) mod options;
pub(crate) mod queue;
pub(crate) mod scope;
mod table;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicI64, AtomicPtr, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};

use parking_lot::{Condvar, Mutex};

use crate::ddll::Driver;
use crate::ffi::{ErlDrvData, ErlDrvPort};
use crate::host::HostInner;
use crate::process::{ProcShared, Signal};
use crate::term::{self, PortId, Term};

pub(crate) use backend::Backend;
pub(crate) use bifs::{call, close, command, connect, control, link, lookup_open, port_message, set_owner, unlink};
pub(crate) use callbacks::{deliver, monitor_fired, run_callback, send_any_counted, send_owner, timeout, unlink_owner};
pub(crate) use info::{info_all, info_item};
pub(crate) use lifecycle::{create, exit_signal, queue_changed, request_exit, shutdown, terminate};
pub(crate) use options::OpenOptions;
pub(crate) use queue::DriverQueue;
pub(crate) use table::PortTable;

/// `PORT_CONTROL_FLAG_BINARY`.
pub(crate) const PORT_CONTROL_FLAG_BINARY: i32 = 1;
/// `ERL_DRV_FLAG_SOFT_BUSY`.
pub(crate) const FLAG_SOFT_BUSY: i32 = 1 << 1;
/// `ERL_DRV_FLAG_NO_BUSY_MSGQ`.
pub(crate) const FLAG_NO_BUSY_MSGQ: i32 = 1 << 2;
/// `ERL_DRV_FLAG_USE_INIT_ACK`.
pub(crate) const FLAG_USE_INIT_ACK: i32 = 1 << 3;
/// `ERL_DRV_BUSY_MSGQ_DISABLED`.
pub(crate) const BUSY_MSGQ_DISABLED: usize = usize::MAX;
/// ERTS's default busy message queue limits of a port (low, high), bytes.
pub(crate) const DEFAULT_MSGQ_LIMITS: (usize, usize) = (4 * 1024, 8 * 1024);
/// `rlen` that `port_control` offers the driver (ERTS's `ERL_ONHEAP_BIN_LIMIT`).
pub(crate) const CONTROL_RLEN: usize = 64;
/// `rlen` that `port_call` offers the driver.
pub(crate) const CALL_RLEN: usize = 255;

fn default_msgq_limits(driver_flags: i32) -> (usize, usize) {
    if driver_flags & FLAG_NO_BUSY_MSGQ != 0 {
        (BUSY_MSGQ_DISABLED, BUSY_MSGQ_DISABLED)
    } else {
        DEFAULT_MSGQ_LIMITS
    }
}

/// Where a port is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Phase {
    /// Running `start`.
    Starting,
    /// Open.
    Open,
    /// Closing normally: `flush` was called, waiting for the queue to drain.
    Closing,
    /// An exit is pending until the running callback returns.
    Exiting,
    /// Gone.
    Closed,
}

/// The mutable state of a port, behind the port lock.
pub(crate) struct PortState {
    pub(crate) drv_data: ErlDrvData,
    pub(crate) links: Vec<term::Pid>,
    /// Depth of driver callbacks running on this port.
    pub(crate) depth: u32,
    /// An exit to carry out when the outermost callback returns.
    pub(crate) pending_exit: Option<Term>,
    /// The process on whose behalf the running callback was called
    /// (`driver_caller`).
    pub(crate) caller: term::Pid,
}

// SAFETY: `drv_data` is the driver's opaque pointer; it is only passed back
// to the driver, under the port lock.
unsafe impl Send for PortState {}

/// The port owner (the connected process) and where its messages go.
pub(crate) struct Owner {
    pub(crate) pid: term::Pid,
    /// The process whose link to the port is the owner's link (what
    /// `driver_exit` removes first): the owner itself, except in an isolated
    /// worker, where the owner is the stand-in of a parent process and the
    /// worker's proxy holds the links (see `crate::isolate::worker`).
    pub(crate) link: term::Pid,
    pub(crate) tx: Arc<crate::process::Mailbox>,
    /// The owner's sink, if it has one (see `ProcShared::sink`).
    pub(crate) sink: Option<crate::process::Sink>,
}

impl Owner {
    pub(crate) fn of(p: &ProcShared) -> Owner {
        Owner { pid: p.pid, link: p.pid, tx: p.tx.clone(), sink: p.sink.get().cloned() }
    }

    /// `p` as the owner, with the link that counts as the owner's held by
    /// process `link`.
    pub(crate) fn linked_through(p: &ProcShared, link: term::Pid) -> Owner {
        Owner { link, ..Owner::of(p) }
    }

    /// Gives the owner a message from its port `from`, with a receipt
    /// dropped when the owner receives it.
    pub(crate) fn send_counted(&self, from: PortId, msg: Term, receipt: crate::process::Receipt) {
        match &self.sink {
            Some(sink) => sink(from, msg),
            None => {
                let _ = self.tx.send(Signal::Counted(msg, receipt));
            }
        }
    }

    /// Gives the owner a message from its port `from`.
    pub(crate) fn send(&self, from: PortId, msg: Term) {
        match &self.sink {
            Some(sink) => sink(from, msg),
            None => {
                let _ = self.tx.send(Signal::Message(msg));
            }
        }
    }
}

/// An open port.
///
/// The phase and the owner are readable without the port lock, so output
/// from a driver thread never waits for a callback of the port.
pub(crate) struct Port {
    pub(crate) id: PortId,
    phase: AtomicU8,
    pub(crate) owner: Mutex<Owner>,
    pub(crate) host: Weak<HostInner>,
    /// What runs the port: its one way in.
    pub(crate) backend: Backend,
    /// The command string `open_port` was given.
    pub(crate) name: String,
    pub(crate) options: OpenOptions,
    /// The port lock (for a driver-level driver, the driver's) and the
    /// state it guards.
    pub(crate) state: lock::PortLock,
    pub(crate) queue: Mutex<DriverQueue>,
    pub(crate) control_flags: AtomicI32,
    /// Bytes the driver sent to the owner (`port_info(P, input)`).
    pub(crate) input: AtomicU64,
    /// Bytes written to the port (`port_info(P, output)`). Written only
    /// under the port lock ([`scope::Locks::note_command`]), read
    /// from anywhere.
    pub(crate) output: AtomicU64,
    /// Commands written to the port (`port_command`, `Port ! {Owner,
    /// {command, D}}`): a count, for rankings ([`crate::recon`]). Written
    /// as `output`.
    pub(crate) commands: AtomicU64,
    /// Messages the port sent its owner (data, `eof`, exit status, terms):
    /// a count, for rankings ([`crate::recon`]).
    pub(crate) messages: AtomicU64,
    /// Driver memory (`driver_alloc`) allocated during this port's
    /// callbacks and not yet freed, in bytes; made at the first such
    /// allocation (see [`account`]).
    pub(crate) driver_mem: std::sync::OnceLock<Arc<AtomicI64>>,
    /// The armed timer: deadline and sequence number (see [`crate::timer`]).
    pub(crate) timer: Mutex<Option<(std::time::Instant, u64)>>,
    /// The armed timer is of 0 ms: run it when the current callback ends.
    pub(crate) timer_now: AtomicBool,
    /// How many events the port has in the selection table ([`crate::poll`]).
    pub(crate) selected: AtomicUsize,
    /// `set_busy_port`: senders of command data wait while it is set.
    pub(crate) busy: Mutex<bool>,
    /// A copy of `busy`, written under its lock, so that a command to a
    /// port that is not busy (nearly every command) takes no lock for it.
    pub(crate) busy_now: AtomicBool,
    pub(crate) busy_cv: Condvar,
    /// `erl_drv_busy_msgq_limits`: (low, high) in bytes.
    pub(crate) msgq_limits: Mutex<(usize, usize)>,
    /// `erl_drv_set_os_pid`; -1 for none.
    pub(crate) os_pid: AtomicI64,
    /// `erl_drv_init_ack`'s result and the `errno` of the acking thread, for
    /// drivers with `ERL_DRV_FLAG_USE_INIT_ACK`.
    pub(crate) init_ack: Mutex<Option<(usize, i32)>>,
    pub(crate) init_cv: Condvar,
    /// Live monitors made by `driver_monitor_process`: id to pid.
    pub(crate) monitors: Mutex<HashMap<u64, term::Pid>>,
    /// Processes monitoring this port (`erlang:monitor(port, Port)`): the
    /// reference, the watcher, and the object its `'DOWN'` names (the port,
    /// or `{Name, Node}` for a monitor by registered name).
    pub(crate) watchers: Mutex<Vec<(term::Ref, term::Pid, Term)>>,
    /// The port data lock (`driver_pdl_create`), null if none.
    pub(crate) pdl: AtomicPtr<crate::abi::pdl::Pdl>,
    /// The queue drained while the port was closing but the port lock was
    /// held elsewhere: the lock holder completes the close.
    pub(crate) close_pending: AtomicBool,
}

impl Port {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        id: PortId,
        host: &Arc<HostInner>,
        backend: Backend,
        name: &str,
        options: OpenOptions,
        phase: Phase,
        drv_data: ErlDrvData,
        owner: &ProcShared,
    ) -> Port {
        let driver_flags = backend.driver().map_or(0, |d| d.entry().driver_flags);
        // ERTS's driver-level locking: the port lock is the driver's.
        let lock = match backend.driver() {
            Some(d) if !d.port_locking() => d.driver_lock.clone(),
            _ => lock::SharedLock::default(),
        };
        Port {
            id,
            host: Arc::downgrade(host),
            backend,
            name: name.to_owned(),
            options,
            phase: AtomicU8::new(phase as u8),
            owner: Mutex::new(Owner::of(owner)),
            state: lock::PortLock::new(lock, PortState {
                drv_data,
                links: vec![owner.pid],
                depth: 0,
                pending_exit: None,
                caller: owner.pid,
            }),
            queue: Mutex::new(DriverQueue::default()),
            control_flags: AtomicI32::new(0),
            input: AtomicU64::new(0),
            output: AtomicU64::new(0),
            commands: AtomicU64::new(0),
            messages: AtomicU64::new(0),
            driver_mem: std::sync::OnceLock::new(),
            timer: Mutex::new(None),
            timer_now: AtomicBool::new(false),
            selected: AtomicUsize::new(0),
            busy: Mutex::new(false),
            busy_now: AtomicBool::new(false),
            busy_cv: Condvar::new(),
            msgq_limits: Mutex::new(default_msgq_limits(driver_flags)),
            os_pid: AtomicI64::new(-1),
            init_ack: Mutex::new(None),
            init_cv: Condvar::new(),
            monitors: Mutex::new(HashMap::new()),
            watchers: Mutex::new(Vec::new()),
            pdl: AtomicPtr::new(std::ptr::null_mut()),
            close_pending: AtomicBool::new(false),
        }
    }

    /// Where the port is in its life.
    pub(crate) fn phase(&self) -> Phase {
        match self.phase.load(Ordering::Acquire) {
            0 => Phase::Starting,
            1 => Phase::Open,
            2 => Phase::Closing,
            3 => Phase::Exiting,
            _ => Phase::Closed,
        }
    }

    /// Moves the port to `p` (under the port lock).
    pub(crate) fn set_phase(&self, p: Phase) {
        self.phase.store(p as u8, Ordering::Release);
    }

    /// True while a callback of this port runs on the calling thread (the
    /// driver calls back into porthost from inside it).
    pub(crate) fn in_callback_on_this_thread(&self) -> bool {
        self.state.is_owned_by_current_thread() && self.state.lock().borrow().depth > 0
    }

    /// The driver loaded in this process that runs the port, if it runs in
    /// this process. Every port whose `ErlDrvPort` a driver holds has one.
    pub(crate) fn driver(&self) -> Option<&Arc<Driver>> {
        self.backend.driver()
    }

    /// The name of the port's driver as `erl_ddll` counts it (for an
    /// isolated port, the driver in its worker: the first word of the
    /// command; a port from `driver_create_port` has a name of its own).
    pub(crate) fn driver_name(&self) -> &str {
        match &self.backend {
            Backend::Driver(d) => d.name(),
            Backend::Isolated(r) => r.driver.as_deref().unwrap_or_else(|| self.name.split(' ').next().unwrap_or("")),
            // ERTS's built-in spawn drivers are not erl_ddll drivers.
            Backend::External(_) => "",
        }
    }

    /// The port owner.
    pub(crate) fn owner_pid(&self) -> term::Pid {
        self.owner.lock().pid
    }

    /// This port's `ErlDrvPort` handle: the address of the `Port`, valid
    /// while the port is open (the port table holds it).
    pub(crate) fn handle(&self) -> ErlDrvPort {
        self as *const Port as ErlDrvPort
    }

    /// The port behind an `ErlDrvPort`.
    ///
    /// # Safety
    /// `h` must be the handle of a port that is still open (or being closed):
    /// drivers only get handles of their own live ports.
    pub(crate) unsafe fn from_handle<'a>(h: ErlDrvPort) -> &'a Port {
        // SAFETY: by contract, `h` points to a live Port.
        unsafe { &*(h as *const Port) }
    }

    /// The port's id.
    pub(crate) fn id(&self) -> PortId {
        self.id
    }

    /// `set_busy_port(port, on)`'s state change (the caller wakes waiters
    /// when it clears it).
    pub(crate) fn set_busy(&self, on: bool) {
        let mut busy = self.busy.lock();
        *busy = on;
        self.busy_now.store(on, Ordering::Release);
    }

    /// Counts one message to the owner carrying `bytes` of data.
    #[inline]
    pub(crate) fn note_message(&self, bytes: usize) {
        if bytes > 0 {
            self.input.fetch_add(bytes as u64, Ordering::Relaxed);
        }
        self.messages.fetch_add(1, Ordering::Relaxed);
    }

    /// Driver memory attributed to this port (see [`account`]), bytes.
    pub(crate) fn driver_memory(&self) -> u64 {
        self.driver_mem.get().map_or(0, |m| m.load(Ordering::Relaxed).max(0) as u64)
    }

    /// Whether the port delivers binaries (`binary` option).
    pub(crate) fn binary_mode(&self) -> bool {
        self.options.binary
    }
}

pub(crate) fn atom(name: &str) -> Term {
    Term::atom(name)
}
