//! Processes: the owners of ports. A [`Process`] has a pid, a mailbox, links
//! to its ports and ERTS's exit-signal rules.
//!
//! A port sends `{Port, {data, D}}` and the other port messages into its
//! owner's mailbox, and an exit signal to every process linked to it when it
//! exits. As in ERTS, a process that does not trap exits dies from an exit
//! signal whose reason is not `normal`; after that every operation of its
//! handle fails with [`BifError::Exited`] and its ports are closed. With
//! `trap_exit` set the signal arrives as a message `{'EXIT', Port, Reason}`.
#![deny(unsafe_code)]

use std::cell::RefCell;
use std::collections::VecDeque;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::ddll::Unloaded;
use crate::error::{BifError, DdllError};
use crate::host::HostInner;
use crate::port::{self, Port};
use crate::term::{Pid, PortId, Ref, Term};

mod mailbox;
pub(crate) use mailbox::Mailbox;

/// How long a receiving process busy-waits before it sleeps, at most (less
/// while spinning does not pay: `crate::spin`).
static SPIN: crate::spin::Budget = crate::spin::Budget::new(Duration::from_micros(50));
/// Without [`crate::HostConfig::busy_wait`].
static NO_SPIN: crate::spin::Budget = crate::spin::Budget::new(Duration::ZERO);
/// How long a waiting process spins before it also yields its CPU between
/// looks (the floor of [`SPIN`]'s budget: a spin cut short by other busy
/// programs never yields).
const SPIN_ALONE: Duration = Duration::from_micros(crate::spin::FLOOR as u64);

/// A signal in a process's [`Mailbox`].
pub(crate) enum Signal {
    /// An ordinary message.
    Message(Term),
    /// A message whose sender wants to know when it leaves the mailbox
    /// (an external port's `{max_pending, N}`): the receipt is dropped when
    /// the process receives the message, or with the mailbox.
    Counted(Term, Receipt),
    /// An exit signal from a linked port or process, or from `exit/2`.
    Exit {
        /// The sender (a port or pid term).
        from: Term,
        /// The exit reason (boxed: the mailbox's slots are as large as the
        /// largest signal, and most signals are messages).
        reason: Box<Term>,
    },
    /// `exit(Pid, Reason)` sent by process `from` (unlike a link's exit
    /// signal, `kill` kills even a process that traps exits, and `normal`
    /// sent to oneself ends the process).
    ExitBif {
        /// The sending process.
        from: Pid,
        /// The reason given to `exit/2`.
        reason: Term,
    },
}

/// The part of a process that ports and the host reach: where to send, and
/// whether exits are trapped.
pub(crate) struct ProcShared {
    pub(crate) pid: Pid,
    pub(crate) tx: Arc<Mailbox>,
    pub(crate) trap_exit: AtomicBool,
    /// Ports linked to this process.
    pub(crate) links: Mutex<Vec<PortId>>,
    /// Monitors drivers hold on this process (`driver_monitor_process`):
    /// monitor id and port.
    pub(crate) monitored_by: Mutex<Vec<(u64, PortId)>>,
    /// Processes linked to this one.
    pub(crate) plinks: Mutex<Vec<Pid>>,
    /// Processes monitoring this one (`monitor(process, Pid)`): the
    /// reference and the watcher.
    pub(crate) watchers: Mutex<Vec<(Ref, Pid)>>,
    /// Ports this process monitors (`monitor(port, Port)`): the reference
    /// and the port, so that `demonitor` and this process's exit can find
    /// them.
    pub(crate) port_watches: Mutex<Vec<(Ref, PortId)>>,
    /// If set, the messages of ports this process owns go here, on the
    /// driver's thread, instead of to the mailbox (an isolated worker's
    /// proxy writes them to its parent at once, so a crash loses none).
    pub(crate) sink: std::sync::OnceLock<Sink>,
    /// Set after an exit signal is queued: the port BIFs check for death
    /// only then, instead of polling the mailbox on every call.
    pub(crate) exit_pending: AtomicBool,
    /// What this process pumps while it waits in `receive` (see [`Feed`]).
    feeds: Mutex<Vec<Weak<dyn Feed>>>,
}

impl ProcShared {
    /// Queues a signal; exit signals raise [`ProcShared::exit_pending`]
    /// (after the send, so that a reader who clears it first then finds the
    /// signal in the mailbox).
    pub(crate) fn signal(&self, sig: Signal) {
        let exit = matches!(sig, Signal::Exit { .. } | Signal::ExitBif { .. });
        let _ = self.tx.send(sig);
        if exit {
            self.exit_pending.store(true, Ordering::Release);
        }
    }

    /// Adds `feed` to what this process pumps while it waits (once; feeds
    /// that are gone are dropped here).
    pub(crate) fn add_feed(&self, feed: Weak<dyn Feed>) {
        let mut feeds = self.feeds.lock();
        if feeds.iter().any(|f| std::ptr::addr_eq(f.as_ptr(), feed.as_ptr())) {
            return;
        }
        feeds.retain(|f| f.strong_count() > 0);
        feeds.push(feed);
    }
}

/// Where a waiting process can take in messages itself instead of waiting
/// for another thread to deliver them: the ring of an isolated worker that
/// has sent this process messages or may (`crate::isolate`). While a
/// process spins in `receive` it pumps its feeds, so output that a worker's
/// driver sends between requests reaches it without waking the parent's
/// reader thread and then the process (two thread wake-ups, each tens of
/// microseconds on a virtual machine). The reader thread still delivers
/// whatever comes while no process spins.
pub(crate) trait Feed: Send + Sync {
    /// Delivers (to whichever processes it is for) what has arrived and no
    /// other thread is delivering right now; true if it took anything in.
    /// Cheap when nothing has arrived: a look at shared memory.
    fn pump(&self) -> bool;

    /// The process starts (`on`) or stops pumping this feed for a while:
    /// meanwhile whoever fills it need not wake the thread that otherwise
    /// delivers from it.
    fn watch(&self, on: bool);
}

/// The feeds a process pumps while it spins in `receive`, watched (see
/// [`Feed::watch`]) until the spin ends.
struct Watching(Vec<Arc<dyn Feed>>);

impl Watching {
    fn new(p: &ProcShared) -> Watching {
        let feeds: Vec<Arc<dyn Feed>> = p.feeds.lock().iter().filter_map(Weak::upgrade).collect();
        for f in &feeds {
            f.watch(true);
        }
        Watching(feeds)
    }
}

impl Drop for Watching {
    fn drop(&mut self) {
        for f in &self.0 {
            f.watch(false);
        }
    }
}

/// Tells a message's sender that the message left the receiver's mailbox
/// (received, or dropped with a dead process's mailbox): calls its function
/// once, when dropped.
pub(crate) struct Receipt(pub(crate) Arc<dyn Fn() + Send + Sync>);

impl Drop for Receipt {
    fn drop(&mut self) {
        (self.0)();
    }
}

/// Where the messages ports send a process with a sink go: the sending
/// port and the message.
pub(crate) type Sink = Arc<dyn Fn(PortId, Term) + Send + Sync>;

/// An Erlang-style process: the owner of the ports it opens.
///
/// Created by [`crate::Host::spawn_process`]. The handle is the process: it
/// is `Send` but not `Sync` (one thread runs a process at a time, as one
/// scheduler runs an Erlang process), and dropping it ends the process with
/// reason `normal`, which closes the ports it owns and drops its `erl_ddll`
/// references, as ERTS does when a process exits.
pub struct Process {
    pub(crate) host: Arc<HostInner>,
    pub(crate) shared: Arc<ProcShared>,
    rx: Inbox,
    /// Messages taken out of the mailbox but not yet received (selective
    /// receive keeps non-matching messages in order), each with its
    /// receipt if its sender asked for one.
    saved: RefCell<VecDeque<(Term, Option<Receipt>)>>,
    /// The exit reason once the process has been killed.
    dead: RefCell<Option<Term>>,
    /// The port this process used last: its port BIFs look it up here
    /// before the host's port table (a weak reference, so a closed port is
    /// not kept alive by a process that used it).
    last_port: RefCell<Weak<Port>>,
}

impl Process {
    pub(crate) fn new(host: Arc<HostInner>, pid: Pid) -> Process {
        let tx = Arc::new(Mailbox::new());
        let rx = Inbox(tx.clone());
        let shared = Arc::new(ProcShared {
            pid,
            tx,
            trap_exit: AtomicBool::new(false),
            links: Mutex::new(Vec::new()),
            monitored_by: Mutex::new(Vec::new()),
            plinks: Mutex::new(Vec::new()),
            watchers: Mutex::new(Vec::new()),
            port_watches: Mutex::new(Vec::new()),
            sink: std::sync::OnceLock::new(),
            exit_pending: AtomicBool::new(false),
            feeds: Mutex::new(Vec::new()),
        });
        host.procs.write().insert(pid, shared.clone());
        Process { host, shared, rx, saved: RefCell::new(VecDeque::new()), dead: RefCell::new(None), last_port: RefCell::new(Weak::new()) }
    }

    /// The host this process runs in.
    pub fn host(&self) -> crate::Host {
        crate::Host { inner: self.host.clone() }
    }

    /// This process's pid (`self()`).
    pub fn pid(&self) -> Pid {
        self.shared.pid
    }

    /// Sets `trap_exit` and returns the old value
    /// (`process_flag(trap_exit, Bool)`). Default `false`.
    pub fn set_trap_exit(&self, on: bool) -> Result<bool, BifError> {
        self.alive()?;
        Ok(self.shared.trap_exit.swap(on, Ordering::SeqCst))
    }

    /// `Err(Exited)` if the process has been killed; handles signals that
    /// have arrived first.
    pub fn alive(&self) -> Result<(), BifError> {
        self.check_dead()?;
        if self.shared.exit_pending.load(Ordering::Acquire) {
            self.drain_signals()?;
        }
        Ok(())
    }

    /// The result of a synchronous port operation, unless a signal it
    /// caused (the port failing) killed the process: as in ERTS, the caller
    /// dies before it can use the value.
    fn settled<T>(&self, r: Result<T, BifError>) -> Result<T, BifError> {
        // An exit signal the operation caused wins over its error too: the
        // process is dead before it could raise.
        self.alive()?;
        r
    }

    /// The open port `id`, from the last-used-port cache or the port table;
    /// `badarg` if it is closed or closing.
    fn open_port_ref(&self, id: PortId) -> Result<Arc<Port>, BifError> {
        if let Some(p) = self.last_port.borrow().upgrade() {
            if p.id() == id && p.phase() == port::Phase::Open {
                return Ok(p);
            }
        }
        let p = port::lookup_open(&self.host, id)?;
        *self.last_port.borrow_mut() = Arc::downgrade(&p);
        Ok(p)
    }

    fn check_dead(&self) -> Result<(), BifError> {
        match &*self.dead.borrow() {
            Some(r) => Err(BifError::Exited(r.clone())),
            None => Ok(()),
        }
    }

    /// Moves every signal waiting in the mailbox into the saved queue,
    /// applying exit signals; returns `Err` once the process is dead.
    fn drain_signals(&self) -> Result<(), BifError> {
        self.check_dead()?;
        self.shared.exit_pending.store(false, Ordering::Release);
        while let Some(sig) = self.rx.0.try_recv() {
            self.handle(sig)?;
        }
        Ok(())
    }

    fn handle(&self, sig: Signal) -> Result<(), BifError> {
        let trapping = self.shared.trap_exit.load(Ordering::SeqCst);
        match sig {
            Signal::Message(m) => self.saved.borrow_mut().push_back((m, None)),
            Signal::Counted(m, r) => self.saved.borrow_mut().push_back((m, Some(r))),
            Signal::Exit { from, reason } => {
                let reason = *reason;
                // A linked process or port exited: the link is gone.
                if let Term::Pid(p) = &from {
                    self.shared.plinks.lock().retain(|l| l != p);
                }
                if trapping {
                    let msg = Term::Tuple(vec![Term::atom("EXIT"), from, reason]);
                    self.saved.borrow_mut().push_back((msg, None));
                } else if !reason.is_atom("normal") {
                    return self.killed(reason);
                }
            }
            Signal::ExitBif { from, reason } => {
                if reason.is_atom("kill") {
                    return self.killed(Term::atom("killed"));
                }
                if reason.is_atom("normal") && from == self.pid() {
                    return self.killed(reason);
                }
                if trapping {
                    let msg = Term::Tuple(vec![Term::atom("EXIT"), Term::Pid(from), reason]);
                    self.saved.borrow_mut().push_back((msg, None));
                } else if !reason.is_atom("normal") {
                    return self.killed(reason);
                }
            }
        }
        Ok(())
    }

    fn killed(&self, reason: Term) -> Result<(), BifError> {
        self.die(reason.clone());
        Err(BifError::Exited(reason))
    }

    /// Ends the process with `reason` (`exit(Reason)`): linked processes
    /// and ports get the exit signal, monitors fire.
    pub fn exit(&self, reason: Term) {
        self.die(reason);
    }

    /// `exit(Pid, Reason)`: sends an exit signal to a process (to itself
    /// too: `exit(self(), kill)` ends the caller).
    pub fn exit_process(&self, pid: Pid, reason: Term) -> Result<(), BifError> {
        self.alive()?;
        self.host.send(pid, Signal::ExitBif { from: self.pid(), reason });
        self.drain_signals()
    }

    /// `link(Pid)`: links this process and `pid`. Linking to a dead process
    /// sends this one the exit signal `noproc`, as in ERTS.
    pub fn link_process(&self, pid: Pid) -> Result<(), BifError> {
        self.alive()?;
        if pid == self.pid() {
            return Ok(());
        }
        // Both ends at once, under the process table lock, so that neither
        // can exit unseen between the two.
        let linked = {
            let procs = self.host.procs.read();
            match procs.get(&pid) {
                Some(other) => {
                    for (side, peer) in [(&self.shared, pid), (other, self.pid())] {
                        let mut l = side.plinks.lock();
                        if !l.contains(&peer) {
                            l.push(peer);
                        }
                    }
                    true
                }
                None => false,
            }
        };
        if !linked {
            self.shared.signal(Signal::Exit { from: Term::Pid(pid), reason: Box::new(Term::atom("noproc")) });
        }
        self.drain_signals()
    }

    /// `unlink(Pid)`.
    pub fn unlink_process(&self, pid: Pid) -> Result<(), BifError> {
        self.alive()?;
        self.shared.plinks.lock().retain(|p| *p != pid);
        if let Some(other) = self.host.procs.read().get(&pid) {
            other.plinks.lock().retain(|p| *p != self.pid());
        }
        Ok(())
    }

    /// `monitor(process, Pid)`: `{'DOWN', Ref, process, Pid, Reason}` arrives
    /// when `pid` exits (at once, with reason `noproc`, if it is not alive).
    pub fn monitor_process(&self, pid: Pid) -> Result<Ref, BifError> {
        self.alive()?;
        let r = self.host.make_ref();
        let procs = self.host.procs.read();
        match procs.get(&pid) {
            Some(target) => target.watchers.lock().push((r, self.pid())),
            None => {
                let _ = self.shared.tx.send(Signal::Message(down(r, pid, Term::atom("noproc"))));
            }
        }
        Ok(r)
    }

    /// `monitor(port, Target)`, Target a port or a registered name: when
    /// the port closes, this process gets `{'DOWN', Ref, port, Object,
    /// Reason}` (Object is the port, or `{Name, Node}` for a name); a port
    /// that is already closed, or a name not registered, gives `noproc` at
    /// once.
    ///
    /// # Errors
    /// `badarg` if `target` is neither a port nor an atom.
    pub fn monitor_port(&self, target: &Term) -> Result<Ref, BifError> {
        self.alive()?;
        let (id, object) = match target {
            Term::Port(id) => (Some(*id), target.clone()),
            Term::Atom(name) => {
                let object = Term::Tuple(vec![target.clone(), Term::atom("nonode@nohost")]);
                match self.whereis(*name) {
                    Some(Term::Port(id)) => (Some(id), object),
                    _ => (None, object),
                }
            }
            _ => return Err(BifError::badarg(format!("{target} is not a port or a registered name"))),
        };
        let r = self.host.make_ref();
        let port = id.and_then(|id| self.host.ports.get(id)).filter(|p| p.phase() != port::Phase::Closed);
        match port {
            Some(p) => {
                p.watchers.lock().push((r, self.pid(), object));
                self.shared.port_watches.lock().push((r, p.id()));
            }
            None => {
                let _ = self.shared.tx.send(Signal::Message(port::lifecycle::port_down(r, object, Term::atom("noproc"))));
            }
        }
        Ok(r)
    }

    /// `demonitor(Ref)`, of a process or a port.
    pub fn demonitor(&self, r: Ref) -> Result<(), BifError> {
        self.demonitor_any(r).map(|_| ())
    }

    /// `is_process_alive(Pid)`.
    pub fn is_process_alive(&self, pid: Pid) -> bool {
        pid == self.pid() && self.dead.borrow().is_none() || pid != self.pid() && self.host.procs.read().contains_key(&pid)
    }

    /// Kills the process with `reason`: its ports get the exit signal.
    fn die(&self, reason: Term) {
        if self.dead.borrow().is_some() {
            return;
        }
        *self.dead.borrow_mut() = Some(reason.clone());
        self.host.process_exited(&self.shared, &reason);
    }

    /// Receives the first message, waiting up to `timeout` (`None`: for
    /// ever). `Ok(None)` on timeout.
    ///
    /// # Errors
    /// [`BifError::Exited`] if an exit signal kills the process.
    pub fn receive(&self, timeout: Option<Duration>) -> Result<Option<Term>, BifError> {
        self.receive_matching(&mut |_| true, timeout)
    }

    /// Selective receive: removes and returns the first message for which
    /// `matches` is true, leaving the others in order, waiting up to
    /// `timeout` for one (Erlang's `receive ... after T -> ... end`).
    ///
    /// # Errors
    /// [`BifError::Exited`] if an exit signal kills the process.
    pub fn receive_matching(
        &self,
        matches: &mut dyn FnMut(&Term) -> bool,
        timeout: Option<Duration>,
    ) -> Result<Option<Term>, BifError> {
        // The common case first: nothing saved, no exit signal sent, and
        // the next signal is a message that matches. The mailbox is in
        // order, so anything else is handled as the loop below would.
        if !self.shared.exit_pending.load(Ordering::Acquire) && self.saved.borrow().is_empty() {
            self.check_dead()?;
            match self.rx.0.try_recv() {
                Some(Signal::Message(m) | Signal::Counted(m, _)) if matches(&m) => return Ok(Some(m)),
                Some(sig) => self.handle(sig)?,
                None => {}
            }
        }
        self.drain_signals()?;
        // Read the clock only once the process has to wait.
        let mut deadline = None;
        let mut scanned = 0;
        loop {
            {
                let mut saved = self.saved.borrow_mut();
                if let Some(i) = saved.iter().skip(scanned).position(|(m, _)| matches(m)) {
                    return Ok(saved.remove(scanned + i).map(|(m, _receipt)| m));
                }
                scanned = saved.len();
            }
            let mut spun_from = None;
            let sig = match self.spin_for_signal(timeout, &mut deadline, &mut spun_from) {
                Some(sig) => Some(sig),
                None => {
                    let sig = self.rx.0.recv_until(deadline);
                    if let (Some(_), Some(from), true) = (&sig, spun_from, self.host.busy_wait) {
                        SPIN.slept(from.elapsed());
                    }
                    sig
                }
            };
            match sig {
                Some(sig) => self.handle(sig)?,
                None => return Ok(None),
            }
        }
    }

    /// Busy-waits a little for the next signal before the process sleeps, as
    /// an ERTS scheduler spins before it sleeps: a reply from a driver
    /// thread (poll, timer, async) usually comes within microseconds, and
    /// waking a sleeping thread costs more than that. Gives up after
    /// [`SPIN`] (less while spinning does not pay: `crate::spin`) or at
    /// `deadline`. Meanwhile it pumps the process's feeds (see [`Feed`]).
    ///
    /// `deadline` is the end of `timeout`, set here from the clock the
    /// first time a wait gets this far (most replies come before that).
    /// `spun_from` is set to when the spin began, if it did.
    fn spin_for_signal(&self, timeout: Option<Duration>, deadline: &mut Option<Instant>, spun_from: &mut Option<Instant>) -> Option<Signal> {
        let budget = if self.host.busy_wait { &SPIN } else { &NO_SPIN };
        let mut spin: Option<crate::spin::Spin<'_>> = None;
        // Taken once the process has to wait at all.
        let mut feeds: Option<Watching> = None;
        loop {
            for _ in 0..64 {
                if let Some(sig) = self.rx.0.try_recv() {
                    if let Some(s) = spin {
                        s.paid();
                    }
                    return Some(sig);
                }
                std::hint::spin_loop();
            }
            let feeds = feeds.get_or_insert_with(|| Watching::new(&self.shared));
            let took = feeds.0.iter().fold(false, |took, f| f.pump() | took);
            let now = Instant::now();
            let s = spin.get_or_insert_with(|| {
                if let Some(t) = timeout {
                    deadline.get_or_insert(now + t);
                }
                *spun_from = Some(now);
                crate::spin::Spin::new(budget, now, *deadline)
            });
            if !s.go_on(now) {
                return None;
            }
            // After the first microseconds, let a thread that shares this
            // CPU (the sender) run; not when a feed just gave something,
            // which the next look finds. Beside CPU hogs a yield can hand
            // the CPU to a hog for a whole time slice: the spin then ends at
            // the next look and the budget shrinks (see `crate::spin`).
            if !took && spun_from.is_some_and(|from| now - from > SPIN_ALONE) {
                std::thread::yield_now();
            }
        }
    }

    /// Sends `msg` to the process `pid` (`Pid ! Msg`); a message to a dead
    /// process is dropped, as in Erlang.
    pub fn send(&self, pid: Pid, msg: Term) {
        self.host.send(pid, Signal::Message(msg));
    }

    /// Opens a port (`open_port/2`) owned by and linked to this process.
    /// `name` is the command string: its first word names the driver,
    /// `start` receives all of it. `options` are `open_port`'s options
    /// (`binary`, `stream`, `in`, `out`, ...).
    ///
    /// # Errors
    /// `badarg` for an unknown driver or option; what the driver's `start`
    /// reports (`ERL_DRV_ERROR_GENERAL` → `einval`, `ERL_DRV_ERROR_ERRNO` →
    /// the errno atom, `ERL_DRV_ERROR_BADARG` → `badarg`), as ERTS's
    /// `open_port/2` raises them.
    pub fn open_port_driver(&self, name: &str, options: &[Term]) -> Result<PortId, BifError> {
        self.open_port(&Term::Tuple(vec![Term::atom("spawn_driver"), Term::string(name)]), options)
    }

    /// `open_port(PortName, Options)`, ERTS's `open_port/2`, owned by and
    /// linked to this process. `PortName`:
    /// - `{spawn_driver, Cmd}`: a driver port, as [`Process::open_port_driver`];
    /// - `{spawn, Cmd}`: the driver Cmd's first word names if it is loaded,
    ///   otherwise the external program `/bin/sh -c "exec Cmd"` (as ERTS;
    ///   porthost loads drivers by name for `spawn_driver` only);
    /// - `{spawn_executable, File}` (with `{args, [...]}`, `{arg0, Name}`)
    ///   and `{fd, In, Out}`: external programs.
    ///
    /// Options as ERTS takes them (`binary`, `{packet, N}`, `{line, L}`,
    /// `eof`, `exit_status`, `{cd, Dir}`, `{env, [...]}`, `use_stdio`,
    /// `nouse_stdio`, `stderr_to_stdout`, `in`, `out`, ...), plus porthost's
    /// `isolated` for drivers and `{kill_timeout, Ms}`, `stderr_messages`,
    /// `{max_pending, N}`, `{limits, [...]}` for external programs (see the
    /// README's "External programs").
    ///
    /// # Errors
    /// ERTS's: `badarg` for a bad name or option; `enoent`, `eacces`,
    /// `enotdir` for a `spawn_executable` file; `einval` for a bad `fd`;
    /// what a driver's `start` reports.
    pub fn open_port(&self, name: &Term, options: &[Term]) -> Result<PortId, BifError> {
        self.alive()?;
        self.settled(port::lifecycle::open_port(&self.host, &self.shared, name, options))
    }

    /// [`Process::open_port_driver`] for `owner`: the port is owned by
    /// `owner` (its `driver_connected`, and `start`'s `driver_caller`) and
    /// linked to this process, whose link counts as the owner's (an
    /// isolated worker's proxy opens ports for the stand-ins of parent
    /// processes).
    pub(crate) fn open_port_for(&self, owner: &Process, name: &str, options: &[Term]) -> Result<PortId, BifError> {
        self.alive()?;
        let opts = port::OpenOptions::parse(options)?;
        self.settled(port::lifecycle::open(&self.host, &self.shared, Some(&owner.shared), name, opts))
    }

    /// `port_command(Port, Data)`: sends the iolist `data` to the port's
    /// driver (`outputv` with an `ErlIOVec` if it has one, else `output`
    /// with a flat buffer). Returns `true`.
    ///
    /// # Errors
    /// `badarg` if the port is closed or `data` is not an iolist.
    pub fn port_command(&self, port: PortId, data: &Term) -> Result<bool, BifError> {
        self.port_command_opts(port, data, false, false)
    }

    /// `port_command(Port, Data, Options)`. While the driver has set the
    /// port busy (`set_busy_port`) the call waits, as ERTS suspends the
    /// caller; with `nosuspend` it returns `false` at once instead; `force`
    /// sends anyway and needs a driver with `ERL_DRV_FLAG_SOFT_BUSY`.
    ///
    /// # Errors
    /// As [`Process::port_command`]; `notsup` for `force` on a driver
    /// without `ERL_DRV_FLAG_SOFT_BUSY`.
    pub fn port_command_opts(&self, port: PortId, data: &Term, force: bool, nosuspend: bool) -> Result<bool, BifError> {
        self.alive()?;
        let port = self.open_port_ref(port)?;
        self.settled(port::command(self.pid(), &port, data, force, nosuspend))
    }

    /// `link(Port)`: links this process and the port. Linking to a closed
    /// port sends this process the exit signal `noproc`, as in ERTS.
    pub fn link_port(&self, port: PortId) -> Result<(), BifError> {
        self.alive()?;
        if !port::link(&self.host, &self.shared, port) {
            self.shared.signal(Signal::Exit { from: Term::Port(port), reason: Box::new(Term::atom("noproc")) });
        }
        self.drain_signals()
    }

    /// `unlink(Port)`: removes the link, if any.
    pub fn unlink_port(&self, port: PortId) -> Result<(), BifError> {
        self.alive()?;
        port::unlink(&self.host, &self.shared, port);
        Ok(())
    }

    /// `port_control(Port, Operation, Data)`: calls the driver's `control`
    /// with the flattened iolist `data` and returns its answer: a list of
    /// bytes ([`Term::ByteList`], or `[]`), or a binary if the driver set
    /// `PORT_CONTROL_FLAG_BINARY` (ERTS's `erts_port_control`).
    ///
    /// # Errors
    /// `badarg` if the port is closed, `data` is not an iolist, the driver
    /// has no `control`, or `control` returned a negative value.
    pub fn port_control(&self, port: PortId, op: u32, data: &Term) -> Result<Term, BifError> {
        self.alive()?;
        let port = self.open_port_ref(port)?;
        self.settled(port::control(self.pid(), &port, op, data))
    }

    /// `erlang:port_call(Port, Operation, Data)`: passes `data` in the
    /// external term format to the driver's `call` and decodes its answer.
    ///
    /// # Errors
    /// `badarg` if the port is closed, the driver has no `call`, `call`
    /// returned a negative value or its answer is not valid external term
    /// format; also if `data` holds a local fun, which porthost cannot
    /// encode (see `term::ext`; ERTS passes it to the driver).
    pub fn port_call(&self, port: PortId, op: u32, data: &Term) -> Result<Term, BifError> {
        self.alive()?;
        // Each backend refuses an argument holding a fun as it encodes it.
        let port = self.open_port_ref(port)?;
        self.settled(port::call(self.pid(), &port, op, data))
    }

    /// `port_close(Port)`: closes the port. A driver with a non-empty driver
    /// queue and a `flush` callback is flushed first and the port lingers
    /// until the queue drains.
    ///
    /// # Errors
    /// `badarg` if the port is already closed.
    pub fn port_close(&self, port: PortId) -> Result<(), BifError> {
        self.alive()?;
        self.settled(port::close(&self.host, self.pid(), port))
    }

    /// `porthost:close_input(Port)` (beyond ERTS): closes the standard input
    /// of an external program's child, which sees EOF there, while its
    /// output still arrives (erlexec's `eof` to stdin). Data queued by
    /// earlier commands is written first.
    ///
    /// # Errors
    /// `badarg` if the port is closed or does not run an external program.
    pub fn close_input(&self, port: PortId) -> Result<(), BifError> {
        self.alive()?;
        let p = self.open_port_ref(port)?;
        match &p.backend {
            port::Backend::External(e) => {
                e.close_input();
                Ok(())
            }
            _ => Err(BifError::badarg(format!("{} does not run an external program", Term::Port(port)))),
        }
    }

    /// `port_connect(Port, Pid)`: makes `pid` the port owner and links it.
    ///
    /// # Errors
    /// `badarg` if the port is closed or `pid` is not a live process.
    pub fn port_connect(&self, port: PortId, pid: Pid) -> Result<(), BifError> {
        self.alive()?;
        port::connect(&self.host, port, pid, true)
    }

    /// `Port ! {self(), Command}` with the commands ERTS ports understand:
    /// `{command, Data}`, `close` (answered by `{Port, closed}`) and
    /// `{connect, Pid}` (answered by `{Port, connected}` to the old owner).
    /// A message that is none of these, or that does not come from the
    /// owner, kills the port with reason `badsig`, as in ERTS.
    pub fn send_to_port(&self, port: PortId, msg: &Term) -> Result<(), BifError> {
        self.alive()?;
        port::port_message(&self.host, self.pid(), port, msg);
        Ok(())
    }

    /// `exit(Port, Reason)`: sends an exit signal to a port. From its owner
    /// any reason closes it; from another process `normal` is ignored.
    pub fn exit_port(&self, port: PortId, reason: &Term) -> Result<(), BifError> {
        self.alive()?;
        port::exit_signal(&self.host, self.pid(), port, reason.clone());
        Ok(())
    }

    /// `erlang:port_info(Port)`: the `{Item, Value}` list, or `undefined`
    /// for a closed port.
    pub fn port_info(&self, port: PortId) -> Result<Term, BifError> {
        self.alive()?;
        Ok(port::info_all(&self.host, port))
    }

    /// `erlang:port_info(Port, Item)`: `{Item, Value}` or `undefined`.
    ///
    /// # Errors
    /// `badarg` for an unknown item.
    pub fn port_info_item(&self, port: PortId, item: &Term) -> Result<Term, BifError> {
        self.alive()?;
        port::info_item(&self.host, port, item)
    }

    /// `register(Name, PidOrPort)`.
    ///
    /// # Errors
    /// `badarg` if the name is taken, `undefined`, or the pid or port is not
    /// alive or already has a name.
    pub fn register(&self, name: crate::term::Atom, what: &Term) -> Result<(), BifError> {
        self.alive()?;
        let alive = match what {
            Term::Pid(p) => self.host.procs.read().contains_key(p),
            Term::Port(p) => self.host.ports.get(*p).is_some(),
            _ => false,
        };
        let mut names = self.host.names.lock();
        if !alive || name.name() == "undefined" || names.contains_key(&name) || names.values().any(|v| v == what) {
            return Err(BifError::badarg(format!("cannot register {what} as {}", Term::Atom(name))));
        }
        names.insert(name, what.clone());
        Ok(())
    }

    /// `unregister(Name)`.
    ///
    /// # Errors
    /// `badarg` if the name is not registered.
    pub fn unregister(&self, name: crate::term::Atom) -> Result<(), BifError> {
        self.alive()?;
        self.host
            .names
            .lock()
            .remove(&name)
            .map(|_| ())
            .ok_or_else(|| BifError::badarg(format!("{} is not a registered name", Term::Atom(name))))
    }

    /// `whereis(Name)`: the pid or port, if registered.
    pub fn whereis(&self, name: crate::term::Atom) -> Option<Term> {
        self.host.names.lock().get(&name).cloned()
    }

    /// `erlang:ports()`: every open port, in the order they were opened.
    pub fn ports(&self) -> Vec<PortId> {
        self.host.ports.ids()
    }

    /// `erl_ddll:load(Path, Name)` (with `kill_ports` false) or
    /// `erl_ddll:load_driver(Path, Name)` (`kill_ports` true).
    ///
    /// # Errors
    /// The `erl_ddll` error reasons, see [`DdllError`].
    /// Returns `true` if the library was loaded now, `false` if it already
    /// was (`erl_ddll:try_load/3`'s `loaded` and `already_loaded`).
    pub fn ddll_load(&self, dir: &Path, name: &str, kill_ports: bool) -> Result<bool, DdllError> {
        self.alive().map_err(|e| DdllError::Badarg(e.to_string()))?;
        self.host.with_ddll(|reg| reg.load(self.pid(), dir, name, kill_ports))
    }

    /// `erl_ddll:unload(Name)` / `unload_driver(Name)`: drops one of this
    /// process's references to the driver. Returns what happened.
    ///
    /// # Errors
    /// `not_loaded`, `not_loaded_by_this_process`, `permanent`.
    pub fn ddll_unload(&self, name: &str) -> Result<Unloaded, DdllError> {
        self.ddll_unload_with(name, false)
    }

    /// [`Process::ddll_unload`] with erl_ddll's `kill_ports` unload option
    /// (`erl_ddll:unload_driver/1`, `try_unload(Name, [kill_ports])`): when
    /// this was the last reference, the driver's ports are killed even if it
    /// was loaded without `{driver_options, [kill_ports]}`.
    ///
    /// # Errors
    /// As [`Process::ddll_unload`].
    pub fn ddll_unload_with(&self, name: &str, kill_ports: bool) -> Result<Unloaded, DdllError> {
        let (what, kill) = self.host.with_ddll(|reg| reg.unload(self.pid(), name))?;
        if kill || (kill_ports && what == Unloaded::PendingDriver) {
            self.host.kill_driver_ports(name);
        }
        Ok(what)
    }

    /// `erl_ddll:reload(Path, Name)` (`kill_ports` false) or
    /// `reload_driver(Path, Name)` (true): unloads and loads the driver
    /// again, keeping every process's references. Refused while ports are
    /// open.
    ///
    /// # Errors
    /// `not_loaded`, `not_loaded_by_this_process`, `inconsistent`,
    /// `pending_process` (ports are open), and the load errors.
    pub fn ddll_reload(&self, dir: &Path, name: &str, kill_ports: bool) -> Result<(), DdllError> {
        self.host.ddll.lock().reload(self.pid(), dir, name, kill_ports)
    }
}

/// `{'DOWN', Ref, process, Pid, Reason}`.
/// `port_call`'s `badarg` for an argument that holds a fun, which porthost
/// cannot encode (see `term::ext`; ERTS passes it to the driver).
pub(crate) fn unencodable(data: &Term) -> BifError {
    BifError::badarg(format!("{data} holds a fun, which porthost cannot encode for port_call"))
}

pub(crate) fn down(r: Ref, pid: Pid, reason: Term) -> Term {
    Term::Tuple(vec![Term::atom("DOWN"), Term::Ref(r), Term::atom("process"), Term::Pid(pid), reason])
}

/// The receiving end of a process's mailbox: when the process goes, the
/// signals still waiting are dropped (their receipts fire) and later ones
/// are refused.
struct Inbox(Arc<Mailbox>);

impl Drop for Inbox {
    fn drop(&mut self) {
        self.0.close();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if self.dead.borrow().is_none() {
            self.die(Term::atom("normal"));
        }
    }
}

/// The language-level process services of the port script: port monitors,
/// `demonitor/2` and `process_info/2`.
impl Process {
    /// `demonitor(Ref)` for monitors of processes and of ports: true if
    /// the monitor was active (`demonitor(Ref, [info])`).
    pub fn demonitor_any(&self, r: Ref) -> Result<bool, BifError> {
        self.alive()?;
        let mut found = false;
        for p in self.host.procs.read().values() {
            p.watchers.lock().retain(|(w, _)| {
                found |= *w == r;
                *w != r
            });
        }
        let watched: Vec<PortId> = {
            let mut w = self.shared.port_watches.lock();
            let ids = w.iter().filter(|(x, _)| *x == r).map(|(_, id)| *id).collect();
            w.retain(|(x, _)| *x != r);
            ids
        };
        for id in watched {
            if let Some(p) = self.host.ports.get(id) {
                p.watchers.lock().retain(|(w, _, _)| {
                    found |= *w == r;
                    *w != r
                });
            }
        }
        Ok(found)
    }

    /// Removes the `{'DOWN', Ref, ...}` message of monitor `r` from the
    /// mailbox, if one is there (`demonitor(Ref, [flush])`).
    pub fn flush_down(&self, r: Ref) -> Result<(), BifError> {
        let is_down = |m: &Term| matches!(m, Term::Tuple(t) if t.len() == 5 && t[0].is_atom("DOWN") && t[1] == Term::Ref(r));
        self.receive_matching(&mut |m| is_down(m), Some(Duration::ZERO)).map(|_| ())
    }

    /// `process_info(Pid, Item)` for `message_queue_len`, `links`,
    /// `monitors` and `status`: `None` for a process that is not alive,
    /// `Err(badarg)` for another item.
    pub fn process_info_item(&self, pid: Pid, item: &str) -> Result<Option<Term>, BifError> {
        self.alive()?;
        let me = pid == self.pid();
        let shared = if me { Some(self.shared.clone()) } else { self.host.procs.read().get(&pid).cloned() };
        let Some(shared) = shared else {
            return match item {
                "message_queue_len" | "links" | "monitors" | "status" => Ok(None),
                _ => Err(BifError::badarg(format!("{item} is not a process_info item porthost knows"))),
            };
        };
        Ok(Some(match item {
            "message_queue_len" => {
                let n = shared.tx.len() + if me { self.saved.borrow().len() } else { 0 };
                Term::Int(n as i64)
            }
            "links" => {
                let mut l: Vec<Term> = shared.plinks.lock().iter().map(|p| Term::Pid(*p)).collect();
                l.extend(shared.links.lock().iter().map(|p| Term::Port(*p)));
                Term::List(l)
            }
            "monitors" => {
                let mut l = Vec::new();
                for (target, p) in self.host.procs.read().iter() {
                    if p.watchers.lock().iter().any(|(_, w)| *w == pid) {
                        l.push(Term::tuple(vec![Term::atom("process"), Term::Pid(*target)]));
                    }
                }
                for &(_, port) in shared.port_watches.lock().iter() {
                    l.push(Term::tuple(vec![Term::atom("port"), Term::Port(port)]));
                }
                Term::List(l)
            }
            "status" => Term::atom(if me { "running" } else { "waiting" }),
            _ => return Err(BifError::badarg(format!("{item} is not a process_info item porthost knows"))),
        }))
    }
}
