//! Ports: the port state machine, the port BIFs and the port side of the
//! driver API.
//!
//! A [`Port`] is one open instance of a driver. Its state sits behind a
//! re-entrant lock (the port lock): a BIF takes it and calls the driver
//! directly on the caller's thread, as ERTS does when the port lock is free,
//! and the driver's calls back into the host (`driver_output`,
//! `driver_failure`, ...) take it again on the same thread. A driver without
//! `ERL_DRV_FLAG_USE_PORT_LOCKING` is also serialised by its driver lock.
//!
//! States: `Open` → (`port_close` with a non-empty driver queue) `Closing`
//! (`flush` has been called; the port closes when the queue drains) →
//! `Closed`. An exit asked for from inside a callback (`driver_failure*`,
//! `driver_exit`, the queue draining while closing) is carried out when the
//! outermost callback returns; from that moment the port is `Exiting` and
//! the output functions send nothing, as in ERTS.

mod iovec;
pub mod queue;
mod table;

use std::ffi::CString;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicI64, AtomicPtr, AtomicU64, Ordering};
use std::sync::{Arc, Weak};

use crossbeam_channel::Sender;
use parking_lot::{Condvar, Mutex, ReentrantMutex};

use crate::abi::entry;
use crate::ddll::Driver;
use crate::error::BifError;
use crate::ffi::{ErlDrvData, ErlDrvPort};
use crate::host::HostInner;
use crate::process::{ProcShared, Signal};
use crate::term::{self, Atom, PortId, Term};

pub use queue::DriverQueue;
pub use table::PortTable;

/// `PORT_CONTROL_FLAG_BINARY`.
pub const PORT_CONTROL_FLAG_BINARY: i32 = 1;
/// `PORT_CONTROL_FLAG_HEAVY`.
pub const PORT_CONTROL_FLAG_HEAVY: i32 = 2;
/// `ERL_DRV_FLAG_SOFT_BUSY`.
pub const FLAG_SOFT_BUSY: i32 = 1 << 1;
/// `ERL_DRV_FLAG_NO_BUSY_MSGQ`.
pub const FLAG_NO_BUSY_MSGQ: i32 = 1 << 2;
/// `ERL_DRV_FLAG_USE_INIT_ACK`.
pub const FLAG_USE_INIT_ACK: i32 = 1 << 3;
/// `ERL_DRV_BUSY_MSGQ_DISABLED`.
pub const BUSY_MSGQ_DISABLED: usize = usize::MAX;
/// ERTS's default busy message queue limits of a port (low, high), bytes.
pub const DEFAULT_MSGQ_LIMITS: (usize, usize) = (4 * 1024, 8 * 1024);

fn default_msgq_limits(driver_flags: &i32) -> (usize, usize) {
    if driver_flags & FLAG_NO_BUSY_MSGQ != 0 {
        (BUSY_MSGQ_DISABLED, BUSY_MSGQ_DISABLED)
    } else {
        DEFAULT_MSGQ_LIMITS
    }
}
/// `rlen` that `port_control` offers the driver (ERTS's `ERL_ONHEAP_BIN_LIMIT`).
pub const CONTROL_RLEN: usize = 64;
/// `rlen` that `port_call` offers the driver.
pub const CALL_RLEN: usize = 255;

/// Where a port is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Phase {
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

/// The options of `open_port/2` that matter to a driver port.
#[derive(Clone, Debug, Default)]
pub struct OpenOptions {
    /// `binary`: data arrives as binaries rather than lists.
    pub binary: bool,
    /// `eof`: `driver_failure_eof` sends `{Port, eof}` instead of closing.
    pub eof: bool,
    /// `in` without `out`: the port may not be written to.
    pub input_only: bool,
    /// `out` without `in`: nothing is read from the port.
    pub output_only: bool,
    /// `isolated` / `{isolated, driver | port}`: run the driver in a worker
    /// process (`Some(true)`: a worker of the port's own); see
    /// [`crate::isolate`].
    pub isolated: Option<bool>,
    /// The options as given, but for the isolation ones (what an isolated
    /// port's worker opens the real port with).
    pub given: Vec<Term>,
    /// `{busy_limits_msgq, {Low, High} | disabled}`: the port's busy message
    /// queue limits, set as `erl_drv_busy_msgq_limits(port, Low, High)` sets
    /// them (`disabled`: both [`BUSY_MSGQ_DISABLED`]). Limits (not
    /// `disabled`) are `badarg` at open for a driver with
    /// `ERL_DRV_FLAG_NO_BUSY_MSGQ`, as in ERTS 25.
    pub busy_limits_msgq: Option<(usize, usize)>,
    /// `{busy_limits_port, _}` was given: ERTS 25 refuses it (`badarg`) for
    /// driver ports.
    pub busy_limits_port: bool,
}

/// A `busy_limits_*` limit: `ERL_DRV_BUSY_MSGQ_LIM_MIN` (1) to
/// `ERL_DRV_BUSY_MSGQ_LIM_MAX` (`usize::MAX - 1`).
fn busy_limit(t: &Term) -> Option<usize> {
    let n = match t {
        Term::Int(i) => usize::try_from(*i).ok()?,
        Term::BigInt(b) => b.to_string().parse::<usize>().ok()?,
        _ => return None,
    };
    (1..BUSY_MSGQ_DISABLED).contains(&n).then_some(n)
}

impl OpenOptions {
    /// Parses an `open_port/2` option list.
    ///
    /// # Errors
    /// `badarg` for anything ERTS does not accept.
    pub fn parse(opts: &[Term]) -> Result<OpenOptions, BifError> {
        let mut o = OpenOptions::default();
        let (mut inp, mut out) = (false, false);
        for opt in opts {
            if let Some(per_port) = crate::isolate::parse_option(opt) {
                o.isolated = Some(per_port);
                continue;
            }
            o.given.push(opt.clone());
            match opt {
                Term::Atom(a) => match a.name() {
                    "binary" => o.binary = true,
                    "eof" => o.eof = true,
                    "in" => inp = true,
                    "out" => out = true,
                    "stream" | "hide" | "use_stdio" | "nouse_stdio" | "stderr_to_stdout"
                    | "exit_status" | "overlapped_io" => {}
                    other => return Err(BifError::badarg(format!("unknown open_port option {other}"))),
                },
                Term::Tuple(t) if t.len() == 2 && t[0].as_atom().is_some() => {
                    match (t[0].as_atom().unwrap().name(), &t[1]) {
                        ("packet", Term::Int(1 | 2 | 4)) | ("line", Term::Int(1..)) => {}
                        ("busy_limits_msgq", v) => {
                            o.busy_limits_msgq = Some(match v {
                                Term::Atom(a) if a.name() == "disabled" => (BUSY_MSGQ_DISABLED, BUSY_MSGQ_DISABLED),
                                Term::Tuple(lh) if lh.len() == 2 => match (busy_limit(&lh[0]), busy_limit(&lh[1])) {
                                    (Some(l), Some(h)) => (l, h),
                                    _ => return Err(BifError::badarg(format!("bad open_port option {opt}"))),
                                },
                                _ => return Err(BifError::badarg(format!("bad open_port option {opt}"))),
                            })
                        }
                        ("busy_limits_port", _) => o.busy_limits_port = true,
                        ("parallelism", Term::Atom(_)) | ("cd", _) | ("env", _) | ("args", _)
                        | ("arg0", _) => {}
                        _ => return Err(BifError::badarg(format!("bad open_port option {opt}"))),
                    }
                }
                _ => return Err(BifError::badarg(format!("bad open_port option {opt}"))),
            }
        }
        o.input_only = inp && !out;
        o.output_only = out && !inp;
        Ok(o)
    }
}

/// The mutable state of a port, behind the port lock.
pub(crate) struct PortState {
    pub(crate) drv_data: ErlDrvData,
    pub(crate) links: Vec<term::Pid>,
    /// Depth of driver callbacks running on this port.
    depth: u32,
    /// An exit to carry out when the outermost callback returns.
    pending_exit: Option<Term>,
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
    pub(crate) tx: Sender<Signal>,
    /// The owner's sink, if it has one (see `ProcShared::sink`).
    pub(crate) sink: Option<crate::process::Sink>,
}

impl Owner {
    fn of(p: &ProcShared) -> Owner {
        Owner { pid: p.pid, tx: p.tx.clone(), sink: p.sink.get().cloned() }
    }

    /// Gives the owner a message from its port.
    pub(crate) fn send(&self, msg: Term) {
        match &self.sink {
            Some(sink) => sink(msg),
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
pub struct Port {
    pub(crate) id: PortId,
    phase: std::sync::atomic::AtomicU8,
    pub(crate) owner: Mutex<Owner>,
    pub(crate) host: Weak<HostInner>,
    pub(crate) driver: Arc<Driver>,
    /// The command string `open_port` was given.
    pub(crate) name: String,
    pub(crate) options: OpenOptions,
    pub(crate) state: ReentrantMutex<std::cell::RefCell<PortState>>,
    pub(crate) queue: Mutex<DriverQueue>,
    pub(crate) control_flags: AtomicI32,
    /// Bytes the driver sent to the owner (`port_info(P, input)`).
    pub(crate) input: AtomicU64,
    /// Bytes written to the port (`port_info(P, output)`).
    pub(crate) output: AtomicU64,
    /// The armed timer: deadline and sequence number (see [`crate::timer`]).
    pub(crate) timer: Mutex<Option<(std::time::Instant, u64)>>,
    /// The armed timer is of 0 ms: run it when the current callback ends.
    pub(crate) timer_now: AtomicBool,
    /// How many events the port has in the selection table ([`crate::poll`]).
    pub(crate) selected: std::sync::atomic::AtomicUsize,
    /// `set_busy_port`: senders of command data wait while it is set.
    pub(crate) busy: Mutex<bool>,
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
    /// The port data lock (`driver_pdl_create`), null if none.
    pub(crate) pdl: AtomicPtr<crate::abi::pdl::Pdl>,
    /// The queue drained while the port was closing but the port lock was
    /// held elsewhere: the lock holder completes the close.
    close_pending: AtomicBool,
    /// For an isolated port, the real port in its worker.
    pub(crate) remote: Option<crate::isolate::Remote>,
}

impl Port {
    #[allow(clippy::too_many_arguments)]
    fn new(
        id: PortId,
        host: &Arc<HostInner>,
        driver: Arc<Driver>,
        name: &str,
        options: OpenOptions,
        phase: Phase,
        drv_data: ErlDrvData,
        owner: &ProcShared,
        remote: Option<crate::isolate::Remote>,
    ) -> Port {
        let driver_flags = driver.entry().driver_flags;
        Port {
            id,
            host: Arc::downgrade(host),
            driver,
            name: name.to_owned(),
            options,
            phase: std::sync::atomic::AtomicU8::new(phase as u8),
            owner: Mutex::new(Owner::of(owner)),
            state: ReentrantMutex::new(std::cell::RefCell::new(PortState {
                drv_data,
                links: vec![owner.pid],
                depth: 0,
                pending_exit: None,
                caller: owner.pid,
            })),
            queue: Mutex::new(DriverQueue::default()),
            control_flags: AtomicI32::new(0),
            input: AtomicU64::new(0),
            output: AtomicU64::new(0),
            timer: Mutex::new(None),
            timer_now: AtomicBool::new(false),
            selected: std::sync::atomic::AtomicUsize::new(0),
            busy: Mutex::new(false),
            busy_cv: Condvar::new(),
            msgq_limits: Mutex::new(default_msgq_limits(&driver_flags)),
            os_pid: AtomicI64::new(-1),
            init_ack: Mutex::new(None),
            init_cv: Condvar::new(),
            monitors: Mutex::new(HashMap::new()),
            pdl: AtomicPtr::new(std::ptr::null_mut()),
            close_pending: AtomicBool::new(false),
            remote,
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

    /// True while a callback of this port runs on the calling thread (the
    /// driver calls back into porthost from inside it).
    pub(crate) fn in_callback_on_this_thread(&self) -> bool {
        self.state.is_owned_by_current_thread() && self.state.lock().borrow().depth > 0
    }

    /// Moves the port to `p` (under the port lock).
    pub(crate) fn set_phase(&self, p: Phase) {
        self.phase.store(p as u8, Ordering::Release);
    }

    /// The name of the port's driver as `erl_ddll` counts it (for an
    /// isolated port, the driver in its worker: the first word of the
    /// command; a port from `driver_create_port` has a name of its own).
    pub(crate) fn driver_name(&self) -> &str {
        match self.remote {
            Some(_) => self.name.split(' ').next().unwrap_or(""),
            None => self.driver.name(),
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
    pub fn id(&self) -> PortId {
        self.id
    }

    /// Whether the port delivers binaries (`binary` option).
    pub fn binary_mode(&self) -> bool {
        self.options.binary
    }
}

fn atom(name: &str) -> Term {
    Term::atom(name)
}

/// Runs `f` with the driver and port locks held, as one driver callback:
/// exits requested during it are carried out after it returns.
fn in_callback<R>(port: &Port, caller: term::Pid, f: impl FnOnce(ErlDrvData) -> R) -> R {
    let _dl = port.driver.lock_for_callbacks();
    let guard = port.state.lock();
    let data = {
        let mut s = guard.borrow_mut();
        s.depth += 1;
        s.caller = caller;
        s.drv_data
    };
    let r = f(data);
    let (outermost, pending) = {
        let mut s = guard.borrow_mut();
        s.depth -= 1;
        let outermost = s.depth == 0;
        (outermost, if outermost { s.pending_exit.take() } else { None })
    };
    if let Some(reason) = pending {
        if let Some(host) = port.host.upgrade() {
            terminate(&host, port, reason);
        }
    } else if port.close_pending.load(Ordering::Relaxed) && port.close_pending.swap(false, Ordering::AcqRel) {
        queue_changed(port);
    }
    if outermost && port.timer_now.load(Ordering::Relaxed) {
        run_due_timer(port);
    }
    r
}

/// Runs a 0 ms timer set during the callback that just ended, on this
/// thread, if the timer thread has not taken it yet.
#[cold]
fn run_due_timer(port: &Port) {
    port.timer_now.store(false, Ordering::Relaxed);
    if !matches!(port.phase(), Phase::Open | Phase::Closing) || port.timer.lock().take().is_none() {
        return;
    }
    let owner = port.owner_pid();
    in_callback(port, owner, |d| entry::timeout(port, d));
}

/// Looks up an open port for a BIF; `badarg` if it is closed or closing.
pub(crate) fn lookup_open(host: &HostInner, id: PortId) -> Result<Arc<Port>, BifError> {
    let port = host.ports.get(id).ok_or_else(|| BifError::badarg(format!("{} is not an open port", Term::Port(id))))?;
    let phase = port.phase();
    if phase != Phase::Open {
        return Err(BifError::badarg(format!("{} is closing", Term::Port(id))));
    }
    Ok(port)
}

/// `open_port/2` on a driver.
pub(crate) fn open(
    host: &Arc<HostInner>,
    caller: &Arc<ProcShared>,
    command: &str,
    options: OpenOptions,
) -> Result<PortId, BifError> {
    let drv_name = command.split(' ').next().unwrap_or("");
    let cmd = CString::new(command).map_err(|_| BifError::badarg("the command string contains NUL"))?;
    if options.busy_limits_port {
        return Err(BifError::badarg("busy_limits_port is for spawned programs, not driver ports"));
    }
    let by_config = host.isolate_by_default || host.isolated_drivers.iter().any(|d| d == drv_name);
    let isolated = options.isolated.or(by_config.then_some(false));
    if let Some(per_port) = isolated {
        return open_isolated(host, caller, command, drv_name, options, per_port);
    }
    let driver = {
        let mut reg = host.ddll.lock();
        let d = match reg.get(drv_name).or_else(|| crate::ddll::static_entry(drv_name)) {
            Some(d) => d,
            None => reg.autoload(&host.search_path, drv_name).map_err(|e| {
                BifError::badarg(format!("no driver {drv_name:?} is loaded, and loading it failed: {e}"))
            })?,
        };
        let limits = options.busy_limits_msgq.filter(|l| l.1 != BUSY_MSGQ_DISABLED);
        if limits.is_some() && d.entry().driver_flags & FLAG_NO_BUSY_MSGQ != 0 {
            return Err(BifError::badarg(format!("driver {drv_name} has no busy message queue (busy_limits_msgq)")));
        }
        reg.port_opened(drv_name);
        d
    };
    let driver_flags = driver.entry().driver_flags;
    let port = host.ports.insert_with(|id| {
        Arc::new(Port::new(id, host, driver, command, options, Phase::Starting, std::ptr::null_mut(), caller, None))
    });
    let id = port.id;
    caller.links.lock().push(id);
    if let Some((low, high)) = port.options.busy_limits_msgq {
        crate::abi::ports::msgq_limits_update(&mut port.msgq_limits.lock(), low, high);
    }

    let started = {
        let _dl = port.driver.lock_for_callbacks();
        let guard = port.state.lock();
        guard.borrow_mut().depth += 1;
        let r = entry::start(&port, &cmd);
        let mut s = guard.borrow_mut();
        s.depth -= 1;
        if let Ok(data) = r {
            s.drv_data = data;
            // Open from here on, still under the locks: what start set up
            // (a timer, an async job) may run as soon as they go.
            if port.phase() == Phase::Starting {
                port.set_phase(Phase::Open);
            }
        }
        r
    };
    // A 0 ms timer that start set runs now, as after any other callback.
    if started.is_ok() && port.timer_now.load(Ordering::Relaxed) {
        run_due_timer(&port);
    }
    let started = match started {
        Ok(_) if driver_flags & FLAG_USE_INIT_ACK != 0 => {
            // The port is ready when the driver says so: wait, without the
            // locks, for erl_drv_init_ack (from a timeout, an async job,
            // another thread...), as ERTS's open_port waits for the ack.
            // The port lives meanwhile, as in ERTS: its timers and events
            // run. If it exits before acking, open_port returns it (ERTS 25).
            let pending = port.state.lock().borrow_mut().pending_exit.take();
            if let Some(reason) = pending {
                terminate(host, &port, reason);
            }
            let ack = {
                let mut ack = port.init_ack.lock();
                while ack.is_none() && host.ports.get(id).is_some() {
                    port.init_cv.wait(&mut ack);
                }
                ack.take()
            };
            let Some((res, errno)) = ack else { return Ok(id) };
            match crate::abi::ports::init_ack_result(&port, res, errno) {
                Ok(data) => Ok(data),
                Err(e) => {
                    // ERTS unlinks the opener, raises the error in it and
                    // closes the port (reason normal): stop gets the data
                    // start returned.
                    caller.links.lock().retain(|p| *p != id);
                    port.state.lock().borrow_mut().links.retain(|p| *p != caller.pid);
                    terminate(host, &port, atom("normal"));
                    return Err(e);
                }
            }
        }
        r => r,
    };
    match started {
        Ok(data) => {
            let pending = {
                let guard = port.state.lock();
                let mut s = guard.borrow_mut();
                s.drv_data = data;
                if port.phase() == Phase::Starting {
                    port.set_phase(Phase::Open);
                }
                s.pending_exit.take()
            };
            if let Some(reason) = pending {
                terminate(host, &port, reason);
            }
            Ok(id)
        }
        Err(e) => {
            port.set_phase(Phase::Closed);
            host.ports.remove(id);
            caller.links.lock().retain(|p| *p != id);
            host.ddll.lock().port_closed(port.driver.name());
            Err(e)
        }
    }
}

/// `port_command/2`.
/// `open_port/2` with `isolated`: the driver is looked up (not loaded) here
/// and loaded by a worker, which opens the real port; the parent's port
/// runs the proxy driver (see [`crate::isolate`]).
fn open_isolated(
    host: &Arc<HostInner>,
    caller: &Arc<ProcShared>,
    command: &str,
    drv_name: &str,
    mut options: OpenOptions,
    per_port: bool,
) -> Result<PortId, BifError> {
    let loaded = host.ddll.lock().get(drv_name).map(|d| d.path().to_path_buf());
    let file = loaded.or_else(|| {
        host.search_path.iter().map(|d| d.join(format!("{drv_name}.so"))).find(|f| f.is_file())
    });
    let Some(file) = file else {
        return Err(BifError::badarg(format!("no driver {drv_name:?} is loaded or in the driver path")));
    };
    host.quarantine.check(&file)?;
    let dir = file.parent().unwrap_or(std::path::Path::new(".")).to_path_buf();
    let key = (!per_port).then(|| file.display().to_string());
    let worker = crate::isolate::worker_for(&host.workers, key.as_deref(), &host.spawner, &dir)?;
    let (wport, events) = match crate::isolate::open_remote(&worker, command, &options.given) {
        Ok(r) => r,
        Err(e) => {
            if crate::isolate::is_crash(&e) {
                host.quarantine.crashed(&file);
            }
            return Err(e);
        }
    };
    host.quarantine.opened(&file);
    options.isolated = Some(per_port);
    host.ddll.lock().port_opened(drv_name);
    let os_pid = worker.os_pid();
    let remote = crate::isolate::Remote { worker: worker.clone(), wport };
    let driver = crate::abi::proxy::driver();
    let port = host.ports.insert_with(|id| {
        Arc::new(Port::new(id, host, driver, command, options, Phase::Open, std::ptr::null_mut(), caller, Some(remote)))
    });
    port.os_pid.store(os_pid as i64, Ordering::Relaxed);
    crate::isolate::attach(&worker, wport, &port, &events);
    caller.links.lock().push(port.id);
    Ok(port.id)
}

/// `port_command/2,3`. Returns `false` (and sends nothing) when the port is
/// busy and `nosuspend` is given; without it the caller waits until the
/// driver clears the busy state (ERTS suspends the caller), unless `force`.
pub(crate) fn command(
    caller: term::Pid,
    port: &Arc<Port>,
    data: &Term,
    force: bool,
    nosuspend: bool,
) -> Result<bool, BifError> {
    let id = port.id;
    if let Some(r) = &port.remote {
        // The worker's port is busy or not, and knows its driver's flags.
        let size = data.iolist_size().ok_or_else(|| BifError::badarg(format!("{data} is not an iolist")))?;
        let mut opts = Vec::new();
        if force {
            opts.push(atom("force"));
        }
        if nosuspend {
            opts.push(atom("nosuspend"));
        }
        let data = crate::isolate::wrap_refc(data);
        let sent = in_callback(port, caller, |_| r.call(port, "command", vec![data, Term::List(opts)]))
            .map(|t| !t.is_atom("false"))?;
        if sent {
            port.output.fetch_add(size as u64, Ordering::Relaxed);
        }
        return Ok(sent);
    }
    if force && port.driver.entry().driver_flags & FLAG_SOFT_BUSY == 0 {
        return Err(BifError::Posix(Atom::new("notsup")));
    }
    if !force {
        let mut busy = port.busy.lock();
        while *busy {
            if nosuspend {
                return Ok(false);
            }
            port.busy_cv.wait(&mut busy);
        }
        drop(busy);
        if port.phase() != Phase::Open {
            return Err(BifError::badarg(format!("{} closed while the caller waited", Term::Port(id))));
        }
    }
    if port.options.input_only {
        return Err(BifError::badarg(format!("{} was opened for input only", Term::Port(id))));
    }
    let size = data.iolist_size().ok_or_else(|| BifError::badarg(format!("{data} is not an iolist")))?;
    port.output.fetch_add(size as u64, Ordering::Relaxed);
    let e = port.driver.entry();
    if e.outputv.is_some() {
        let mut ev = iovec::IoVec::from_iolist(data, size);
        in_callback(port, caller, |d| entry::outputv(port, d, ev.as_erl_iovec()));
    } else if e.output.is_some() {
        match data {
            Term::Binary(b) => in_callback(port, caller, |d| entry::output(port, d, b.as_slice())),
            _ => {
                let bytes = data.iolist_to_bytes().expect("checked to be an iolist");
                in_callback(port, caller, |d| entry::output(port, d, &bytes));
            }
        }
    }
    Ok(true)
}

/// `port_control/3`.
pub(crate) fn control(caller: term::Pid, port: &Arc<Port>, op: u32, data: &Term) -> Result<Term, BifError> {
    if let Some(r) = &port.remote {
        return in_callback(port, caller, |_| r.call(port, "control", vec![Term::Int(op as i64), data.clone()]));
    }
    if port.driver.entry().control.is_none() {
        return Err(BifError::badarg(format!("driver {} has no control callback", port.driver.name())));
    }
    with_flat_bytes(data, |bytes| in_callback(port, caller, |d| entry::control(port, d, op, bytes)))?
}

/// `erlang:port_call/3`.
pub(crate) fn call(caller: term::Pid, port: &Arc<Port>, op: u32, data: &Term) -> Result<Term, BifError> {
    if let Some(r) = &port.remote {
        return in_callback(port, caller, |_| r.call(port, "call", vec![Term::Int(op as i64), data.clone()]));
    }
    if port.driver.entry().call.is_none() {
        return Err(BifError::badarg(format!("driver {} has no call callback", port.driver.name())));
    }
    let mut arg = term::ext::term_to_binary(data);
    let reply = in_callback(port, caller, |d| entry::call(port, d, op, &mut arg))?;
    term::ext::binary_to_term(&reply).ok_or_else(|| {
        BifError::badarg(format!(
            "driver {} answered port_call({op}) with {} bytes that are not in the external term format",
            port.driver.name(),
            reply.len()
        ))
    })
}

/// Runs `f` on the flattened bytes of the iolist `data` (a writable copy,
/// as a driver may write into its input), on the stack when small.
fn with_flat_bytes<R>(data: &Term, f: impl FnOnce(&mut [u8]) -> R) -> Result<R, BifError> {
    const STACK: usize = 256;
    let not_iolist = || BifError::badarg(format!("{data} is not an iolist"));
    if let Term::Binary(b) = data {
        if b.len() <= STACK {
            let mut buf = [0u8; STACK];
            buf[..b.len()].copy_from_slice(b.as_slice());
            return Ok(f(&mut buf[..b.len()]));
        }
    }
    let mut v = data.iolist_to_bytes().ok_or_else(not_iolist)?;
    Ok(f(&mut v))
}

/// `port_close/1`.
pub(crate) fn close(host: &HostInner, _caller: term::Pid, id: PortId) -> Result<(), BifError> {
    let port = lookup_open(host, id)?;
    begin_close(&port);
    Ok(())
}

/// Closes a port normally. With an empty driver queue it closes at once.
/// Otherwise, as in ERTS, the linked processes get their exit signal now
/// (the links go), `flush` is called, and the port lingers in `Closing`
/// until the driver drains its queue.
fn begin_close(port: &Arc<Port>) {
    let Some(host) = port.host.upgrade() else { return };
    if let Some(r) = &port.remote {
        // The worker's port decides whether to linger.
        if r.close_now() {
            terminate(&host, port, atom("normal"));
        } else {
            port.set_phase(Phase::Closing);
            notify_links(&host, port, &atom("normal"));
        }
        return;
    }
    if port.queue.lock().size() == 0 {
        terminate(&host, port, atom("normal"));
        return;
    }
    port.set_phase(Phase::Closing);
    notify_links(&host, port, &atom("normal"));
    call_flush(port);
    queue_changed(port);
}

fn call_flush(port: &Port) {
    if port.driver.entry().flush.is_some() {
        let owner = port.owner_pid();
        in_callback(port, owner, |d| entry::flush(port, d));
    }
}

/// Called after the driver queue shrank: a closing port whose queue has
/// drained now closes (at the end of the running callback, if any).
pub(crate) fn queue_changed(port: &Port) {
    if port.queue.lock().size() != 0 {
        return;
    }
    // A driver thread holding the port data lock may call this while the
    // port's own thread, in a callback, waits for that lock: never block on
    // the port lock here; its holder completes the close instead.
    // The driver lock comes before the port lock (see `terminate`).
    let (Ok(_dl), Some(guard)) = (port.driver.try_lock_for_callbacks(), port.state.try_lock()) else {
        port.close_pending.store(true, Ordering::Release);
        return;
    };
    let mut s = guard.borrow_mut();
    if port.phase() != Phase::Closing {
        return;
    }
    if s.depth > 0 {
        port.set_phase(Phase::Exiting);
        s.pending_exit = Some(atom("normal"));
        return;
    }
    drop(s);
    if let Some(host) = port.host.upgrade() {
        terminate(&host, port, atom("normal"));
    }
}

/// Makes the port exit with `reason` (`driver_failure*`, `driver_exit`):
/// at once if no callback is running on it, else when the callback returns.
/// Output sent after this point is dropped.
pub(crate) fn request_exit(port: &Port, reason: Term, discard_queue: bool) {
    if discard_queue {
        port.queue.lock().clear();
    }
    let _dl = port.driver.lock_for_callbacks();
    let guard = port.state.lock();
    let mut s = guard.borrow_mut();
    if matches!(port.phase(), Phase::Closed | Phase::Exiting) {
        return;
    }
    if s.depth > 0 {
        port.set_phase(Phase::Exiting);
        s.pending_exit = Some(reason);
        return;
    }
    drop(s);
    if let Some(host) = port.host.upgrade() {
        terminate(&host, port, reason);
    }
}

/// Closes the port now. As in ERTS, the linked processes get the exit
/// signal with `reason` first, then `stop` runs (what `stop` sends arrives
/// after the `EXIT`), then the port lets go of its timer, events, locks and
/// table slot.
pub(crate) fn terminate(host: &Arc<HostInner>, port: &Port, reason: Term) {
    // The driver lock first, then the port lock, as every callback takes
    // them (the other order deadlocks with a poll or timer thread).
    let _dl = port.driver.lock_for_callbacks();
    let guard = port.state.lock();
    if port.phase() == Phase::Closed {
        return;
    }
    let started = port.phase() != Phase::Starting;
    port.set_phase(Phase::Closed);
    let reason = if reason.is_atom("kill") { atom("killed") } else { reason };
    notify_links(host, port, &reason);
    crate::process::port_down(host, port.id, &reason);
    if let Some(r) = &port.remote {
        r.close(&reason);
    }
    if started && port.driver.entry().stop.is_some() {
        let data = {
            let mut s = guard.borrow_mut();
            s.depth += 1;
            s.drv_data
        };
        entry::stop(port, data);
        guard.borrow_mut().depth -= 1;
    }
    port.queue.lock().clear();
    *port.timer.lock() = None;
    *port.busy.lock() = false;
    port.busy_cv.notify_all();
    port.monitors.lock().clear();
    crate::abi::pdl::port_closed(port);
    // ERTS deselects what a driver left selected without calling
    // stop_select ("driver gone away without deselecting!").
    host.poll.port_closed(port);
    host.ports.remove(port.id);
    host.unregister_term(&Term::Port(port.id));
    host.ddll.lock().port_closed(port.driver_name());
    // An open_port waiting for erl_drv_init_ack returns the port, now gone.
    drop(port.init_ack.lock());
    port.init_cv.notify_all();
    if let Some(hook) = &*host.port_exit_hook.lock() {
        let _ = hook.send(Signal::Message(Term::Tuple(vec![atom("$port_exit"), Term::Port(port.id), reason])));
    }
}

/// Removes every link of the port and sends each linked process the exit
/// signal with `reason`.
fn notify_links(host: &HostInner, port: &Port, reason: &Term) {
    let links = std::mem::take(&mut port.state.lock().borrow_mut().links);
    let procs = host.procs.read();
    for pid in links {
        if let Some(p) = procs.get(&pid) {
            p.links.lock().retain(|l| *l != port.id);
            p.signal(Signal::Exit { from: Term::Port(port.id), reason: reason.clone() });
        }
    }
}

/// Host shutdown: `stop` without messages.
pub(crate) fn shutdown(port: &Port) {
    let _dl = port.driver.lock_for_callbacks();
    let guard = port.state.lock();
    let started = !matches!(port.phase(), Phase::Starting | Phase::Closed);
    port.set_phase(Phase::Closed);
    if started && port.driver.entry().stop.is_some() {
        let data = guard.borrow().drv_data;
        entry::stop(port, data);
    }
    port.queue.lock().clear();
}

/// `port_connect/2` (and `{connect, Pid}`): `pid` becomes the owner and is
/// linked to the port.
pub(crate) fn connect(host: &HostInner, id: PortId, pid: term::Pid, _notify: bool) -> Result<(), BifError> {
    let port = lookup_open(host, id)?;
    // Never hold the process table while taking a port lock (callbacks take
    // them in the other order).
    let p = host.procs.read().get(&pid).cloned();
    let p = p.ok_or_else(|| BifError::badarg(format!("{} is not a live process", Term::Pid(pid))))?;
    let guard = port.state.lock();
    let mut s = guard.borrow_mut();
    *port.owner.lock() = Owner::of(&p);
    if !s.links.contains(&pid) {
        s.links.push(pid);
        p.links.lock().push(id);
    }
    Ok(())
}

/// `link(Port)` from `proc_`; false if the port is not open.
pub(crate) fn link(host: &HostInner, proc_: &ProcShared, id: PortId) -> bool {
    let Some(port) = host.ports.get(id) else { return false };
    let guard = port.state.lock();
    let mut s = guard.borrow_mut();
    if matches!(port.phase(), Phase::Closed | Phase::Exiting) {
        return false;
    }
    if !s.links.contains(&proc_.pid) {
        s.links.push(proc_.pid);
        proc_.links.lock().push(id);
    }
    true
}

/// `unlink(Port)` from `proc_`.
pub(crate) fn unlink(host: &HostInner, proc_: &ProcShared, id: PortId) {
    proc_.links.lock().retain(|l| *l != id);
    if let Some(port) = host.ports.get(id) {
        port.state.lock().borrow_mut().links.retain(|p| *p != proc_.pid);
    }
}

/// `Port ! Msg` from `sender`. A message that is not `{Owner, Command}`
/// with a command ports understand makes the port send the exit signal
/// `badsig` to its owner (ERTS's `send_badsig`); the port stays open.
pub(crate) fn port_message(host: &HostInner, _sender: term::Pid, id: PortId, msg: &Term) {
    let Ok(port) = lookup_open(host, id) else { return };
    let owner = port.owner_pid();
    let badsig = || host.send(owner, Signal::Exit { from: Term::Port(id), reason: atom("badsig") });
    let Term::Tuple(t) = msg else { return badsig() };
    let [Term::Pid(from), cmd] = t.as_slice() else { return badsig() };
    if *from != owner {
        return badsig();
    }
    match cmd {
        Term::Atom(a) if a.name() == "close" => {
            begin_close(&port);
            host.send(*from, Signal::Message(Term::Tuple(vec![Term::Port(id), atom("closed")])));
        }
        Term::Tuple(c) if c.len() == 2 && c[0].is_atom("command") => {
            if command(*from, &port, &c[1], false, false).is_err() {
                badsig();
            }
        }
        Term::Tuple(c) if c.len() == 2 && c[0].is_atom("connect") => match &c[1] {
            Term::Pid(new) if connect(host, id, *new, true).is_ok() => {
                host.send(*from, Signal::Message(Term::Tuple(vec![Term::Port(id), atom("connected")])));
            }
            _ => badsig(),
        },
        _ => badsig(),
    }
}

/// An exit signal from process `from` to port `id`.
pub(crate) fn exit_signal(host: &Arc<HostInner>, from: term::Pid, id: PortId, reason: Term) {
    let Some(port) = host.ports.get(id) else { return };
    let (owner, phase) = (port.owner_pid(), port.phase());
    if phase == Phase::Closed {
        return;
    }
    if reason.is_atom("normal") {
        if from == owner && phase == Phase::Open {
            begin_close(&port);
        }
        return;
    }
    // Any other reason closes the port without waiting for its queue; ERTS
    // still lets the driver flush first, except for `kill`.
    if !reason.is_atom("kill") && phase == Phase::Open && port.queue.lock().size() > 0 {
        port.set_phase(Phase::Exiting);
        call_flush(&port);
    }
    terminate(host, &port, reason);
}

/// Runs `f` as a callback of an event (timer, I/O, async) on the port, if
/// it is still open or closing (a lingering port may drain its queue from
/// such a callback): under its locks, with the owner as `driver_caller`.
pub(crate) fn run_callback(port: &Arc<Port>, f: impl FnOnce(&Port, ErlDrvData)) {
    // The phase is read under the port's locks: `open` holds them while
    // `start` runs, so an event that start set up (a timer, an async job)
    // runs once start has returned, and never if start failed.
    let _dl = port.driver.lock_for_callbacks();
    let _guard = port.state.lock();
    let (owner, phase) = (port.owner_pid(), port.phase());
    if matches!(phase, Phase::Open | Phase::Closing) {
        in_callback(port, owner, |d| f(port, d));
    }
}

/// A monitored process exited: calls `process_exit` with the monitor, if
/// the monitor is still live (it is gone after).
pub(crate) fn monitor_fired(port: &Arc<Port>, id: u64) {
    if port.monitors.lock().get(&id).is_none() {
        return;
    }
    run_callback(port, |port, d| {
        let mut m = crate::ffi::ErlDrvMonitor { data: [0; 32] };
        m.data[..8].copy_from_slice(&id.to_ne_bytes());
        entry::process_exit(port, d, &mut m);
    });
    port.monitors.lock().remove(&id);
}

/// `driver_create_port`: a port on `creator`'s driver, owned by and linked
/// to `owner`, already open with `data` (no `start`). `None` if `owner` is
/// not alive.
pub(crate) fn create(creator: &Port, owner: term::Pid, name: &str, data: ErlDrvData) -> Option<Arc<Port>> {
    let host = creator.host.upgrade()?;
    let procs = host.procs.read();
    let proc_ = procs.get(&owner)?;
    let driver = creator.driver.clone();
    let port = host
        .ports
        .insert_with(|id| Arc::new(Port::new(id, &host, driver, name, OpenOptions::default(), Phase::Open, data, proc_, None)));
    proc_.links.lock().push(port.id);
    host.ddll.lock().port_opened(port.driver.name());
    Some(port)
}

/// The port's timer fired: calls `timeout`.
pub(crate) fn timeout(port: &Arc<Port>) {
    run_callback(port, entry::timeout);
}

/// Sends `{Port, {data, Data}}` to the owner, unless the port is closing.
pub(crate) fn deliver(port: &Port, data: Term, bytes: usize) {
    if !matches!(port.phase(), Phase::Open | Phase::Starting) {
        return;
    }
    port.input.fetch_add(bytes as u64, Ordering::Relaxed);
    let msg = Term::Tuple(vec![Term::Port(port.id), Term::Tuple(vec![Term::Atom(crate::atom!("data")), data])]);
    port.owner.lock().send(msg);
}

/// Sends an arbitrary message from the port's driver to its owner, even
/// while the port closes (`erl_drv_send_term` semantics, for isolated ports).
pub(crate) fn send_any(port: &Port, msg: Term) {
    if port.phase() != Phase::Closed {
        port.owner.lock().send(msg);
    }
}

/// Sends an arbitrary message from the port to its owner (e.g. `{Port, eof}`).
pub(crate) fn send_owner(port: &Port, msg: Term) {
    if matches!(port.phase(), Phase::Open | Phase::Starting) {
        port.owner.lock().send(msg);
    }
}

/// Removes the owner's link to the port (`driver_exit` does this first, so
/// that no `EXIT` message reaches the owner).
pub(crate) fn unlink_owner(port: &Port) {
    let Some(host) = port.host.upgrade() else { return };
    let owner = port.owner_pid();
    let guard = port.state.lock();
    let mut s = guard.borrow_mut();
    s.links.retain(|p| *p != owner);
    let procs = host.procs.read();
    if let Some(p) = procs.get(&owner) {
        p.links.lock().retain(|l| *l != port.id);
    }
}

const INFO_ALL: [&str; 7] = ["name", "links", "id", "connected", "input", "output", "os_pid"];

/// `erlang:port_info/1`: `registered_name` first when the port has one.
pub(crate) fn info_all(host: &HostInner, id: PortId) -> Term {
    let Some(port) = host.ports.get(id) else { return atom("undefined") };
    let mut items: Vec<Term> = Vec::new();
    if let Some(name) = host.registered_name(&Term::Port(id)) {
        items.push(Term::Tuple(vec![atom("registered_name"), Term::Atom(name)]));
    }
    items.extend(INFO_ALL.iter().map(|i| Term::Tuple(vec![atom(i), info_value(&port, i).expect("known item")])));
    Term::List(items)
}

/// `erlang:port_info/2`.
pub(crate) fn info_item(host: &HostInner, id: PortId, item: &Term) -> Result<Term, BifError> {
    let name = item.as_atom().map(Atom::name).ok_or_else(|| BifError::badarg(format!("{item} is not a port_info item")))?;
    let Some(port) = host.ports.get(id) else {
        // ERTS checks the item even for a closed port.
        return match info_value_known(name) {
            true => Ok(atom("undefined")),
            false => Err(BifError::badarg(format!("{name} is not a port_info item"))),
        };
    };
    if name == "registered_name" {
        return Ok(match host.registered_name(&Term::Port(id)) {
            Some(n) => Term::Tuple(vec![atom(name), Term::Atom(n)]),
            None => Term::nil(),
        });
    }
    let v = info_value(&port, name).ok_or_else(|| BifError::badarg(format!("{name} is not a port_info item")))?;
    Ok(Term::Tuple(vec![atom(name), v]))
}

fn info_value_known(name: &str) -> bool {
    matches!(
        name,
        "name" | "links" | "id" | "connected" | "input" | "output" | "os_pid" | "registered_name"
            | "monitors" | "monitored_by" | "parallelism" | "locking" | "memory" | "queue_size"
    )
}

fn info_value(port: &Port, item: &str) -> Option<Term> {
    let guard = port.state.lock();
    let s = guard.borrow();
    Some(match item {
        "name" => Term::string(&port.name),
        "links" => Term::List(s.links.iter().map(|p| Term::Pid(*p)).collect()),
        "id" => Term::Int(8 * port.id.0 as i64),
        "connected" => Term::Pid(port.owner_pid()),
        "input" => Term::Int(port.input.load(Ordering::Relaxed) as i64),
        "output" => Term::Int(port.output.load(Ordering::Relaxed) as i64),
        "os_pid" => match port.os_pid.load(Ordering::Relaxed) {
            -1 => atom("undefined"),
            pid => Term::Int(pid),
        },
        // The processes its driver monitors (driver_monitor_process), in
        // the order the monitors were made.
        "monitors" => {
            let mut mons: Vec<(u64, term::Pid)> = port.monitors.lock().iter().map(|(m, p)| (*m, *p)).collect();
            mons.sort_unstable();
            Term::List(mons.into_iter().map(|(_, p)| Term::Tuple(vec![atom("process"), Term::Pid(p)])).collect())
        }
        "monitored_by" => Term::nil(),
        "parallelism" => atom("false"),
        "queue_size" | "memory" | "locking" if port.remote.is_some() => {
            drop(s);
            drop(guard);
            return port.remote.as_ref().and_then(|r| r.info(&atom(item))).and_then(|t| match t {
                Term::Tuple(v) if v.len() == 2 => Some(v[1].clone()),
                _ => None,
            });
        }
        "queue_size" => Term::Int(port.queue.lock().size() as i64),
        "locking" => atom(if port.driver.port_locking() { "port_level" } else { "driver_level" }),
        "memory" => Term::Int((std::mem::size_of::<Port>() + port.name.len() + port.queue.lock().size()) as i64),
        _ => return None,
    })
}
