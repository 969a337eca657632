//! The worker: a porthost host in a child process that owns one driver's
//! ports on behalf of the parent (`porthost worker`).
//!
//! One process of the worker's host, the *proxy*, holds the link of every
//! port and traps exits; each port is owned by the stand-in of its parent
//! owner (see "Processes" in `super`). The worker's main thread reads
//! requests straight from the parent's ring (see `super::ring`) and runs
//! each synchronously as the stand-in of the parent's caller (or as the
//! proxy), as the BIF would run in the parent; then everything it caused is
//! sent back before its reply: the exit of the request's own port inside
//! the reply, so the parent applies it within the same call, as ERTS
//! would, and messages to the proxy as events in the reply.
//!
//! A port's messages (`{Port, {data, D}}`, ...) do not wait for the main
//! thread: the sink of the proxy or stand-in they are for writes them to the parent's ring at once, on the
//! thread of the driver that sent them (a timer, an async job, the poll
//! thread), so if the driver crashes next nothing it sent is lost. Writers
//! of that ring take one mutex, so it keeps one producer; what is written
//! while a request runs wakes the parent's caller, what is written between
//! requests its reader thread.
//!
//! Ports that end outside a request (a timer calling `driver_failure`) must
//! wake the main thread: their `'$port_exit'` notice goes to a channel of
//! its own, which a helper thread watches (without taking from it) to nudge
//! the main thread. The worker ends when the parent's end of the socket
//! closes.

use std::collections::{HashMap, VecDeque};
use std::io::{self, Read};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::Receiver;
use parking_lot::{Condvar, Mutex, RwLock};

use super::ring::{Consumer, Producer, Ring, RingError, Rings, Sleeper};
use super::{shm, wire};
use crate::process::{Process, Signal};
use crate::term::{Pid, PortId, Term};
use crate::{Host, HostConfig};

fn atom(s: &str) -> Term {
    Term::atom(s)
}

fn tuple(v: Vec<Term>) -> Term {
    Term::Tuple(v)
}

/// How long the main thread spins for the next request before it sleeps,
/// at most (less while spinning does not pay: `crate::spin`).
static SPIN: crate::spin::Budget = crate::spin::Budget::new(Duration::from_micros(50));

/// Runs a worker on the inherited socket `fd` (see [`run`]).
///
/// # Errors
/// A bad descriptor, and the errors of [`run`].
pub fn run_on_fd(fd: i32, driver_paths: Vec<PathBuf>) -> io::Result<()> {
    use std::os::fd::FromRawFd;
    least_privilege(fd)?;
    // SAFETY: the parent passes its end of a socket pair at `fd`, which
    // nothing else in this process owns.
    let stream = unsafe { UnixStream::from_raw_fd(fd) };
    super::shm::keep_freed_memory();
    run(stream, driver_paths)
}

/// What a worker gives up before it loads anything (see `SECURITY.md`):
/// every descriptor but the standard three and the socket to the parent
/// `fd` is closed (whatever the parent's process leaked past `exec`), and
/// the socket is made close-on-exec, so a helper a driver spawns does not
/// inherit it and keep the parent from seeing the worker's death.
///
/// # Errors
/// `fd` is not an open descriptor.
fn least_privilege(fd: i32) -> io::Result<()> {
    // SAFETY: fcntl on a descriptor number changes only its flags.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFD) };
    // SAFETY: as above.
    if flags < 0 || unsafe { libc::fcntl(fd, libc::F_SETFD, flags | libc::FD_CLOEXEC) } < 0 {
        return Err(io::Error::last_os_error());
    }
    // Nothing in this process has opened a descriptor yet (the worker
    // subcommand calls this first), so closing the others closes no one's.
    for (lo, hi) in [(3, fd - 1), (fd + 1, i32::MAX)] {
        if lo <= hi {
            // SAFETY: close_range closes descriptors nothing here owns (see
            // above); on kernels without it (ENOSYS) we fall back to the
            // descriptors /proc lists.
            let r = unsafe { libc::syscall(libc::SYS_close_range, lo as libc::c_uint, hi as libc::c_uint, 0 as libc::c_uint) };
            if r != 0 {
                close_listed(lo, hi);
            }
        }
    }
    Ok(())
}

/// Closes the open descriptors from `lo` to `hi` that `/proc/self/fd`
/// lists (without `close_range`).
fn close_listed(lo: i32, hi: i32) {
    let Ok(dir) = std::fs::read_dir("/proc/self/fd") else { return };
    let fds: Vec<i32> = dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok()).collect();
    for fd in fds.into_iter().filter(|&f| (lo..=hi).contains(&f)) {
        // SAFETY: as in `least_privilege`; the directory's own descriptor
        // is closed already (the iterator is dropped).
        unsafe { libc::close(fd) };
    }
}

/// Runs a worker on `stream` until the parent closes it. The first message
/// on `stream` is the memfd of the rings (`SCM_RIGHTS`); after that the
/// stream only tells, by its end, that the parent is gone. `driver_paths`
/// is where drivers are looked up by name.
///
/// # Errors
/// No rings on the stream, a corrupt ring, or a request that is not in the
/// external term format.
pub fn run(stream: UnixStream, driver_paths: Vec<PathBuf>) -> io::Result<()> {
    crate::sys::crash::install_backtraces();
    let memfd = shm::recv_fd(&stream)?;
    let rings = Rings::open(&memfd)?;
    drop(memfd);
    super::clock::install(rings.clocks.clone());
    // SAFETY: the worker makes the one consumer of requests and the one
    // producer of replies; the parent made the other two ends.
    let (mut requests, replies) = unsafe { (Consumer::new(rings.to_worker.clone()), Producer::new(rings.to_parent.clone())) };
    let gone = Arc::new(AtomicBool::new(false));
    let _leaving = Leaving { gone: gone.clone(), rings: [rings.to_worker.clone(), rings.to_parent.clone()] };
    {
        let mut sock = stream.try_clone()?;
        let (gone, rings) = (gone.clone(), [rings.to_worker.clone(), rings.to_parent.clone()]);
        std::thread::Builder::new().name("porthost-worker-eof".into()).spawn(move || {
            let mut buf = [0u8; 64];
            loop {
                match sock.read(&mut buf) {
                    Ok(0) => break,
                    Err(e) if e.kind() != io::ErrorKind::Interrupted => break,
                    _ => {}
                }
            }
            drop(Leaving { gone, rings });
        })?;
    }
    let host = Host::new(HostConfig { driver_paths, ..HostConfig::default() });
    let proxy = host.spawn_process();
    proxy.set_trap_exit(true).expect("a new process is alive");
    let (hook_tx, hooks) = crossbeam_channel::unbounded();
    // What the drivers do to the registry (driver_lock_driver,
    // add_driver_entry, remove_driver_entry) goes to the parent too, as
    // `{ddll, What, Name}`, in order with the exits.
    let ddll_tx = hook_tx.clone();
    let _ = crate::ddll::NOTICES.set(Box::new(move |what: &str, name: &str| {
        let _ = ddll_tx.send(Signal::Message(tuple(vec![atom("$ddll"), atom(what), Term::binary(name.as_bytes())])));
    }));
    *host.inner.port_exit_hook.lock() = Some(hook_tx);
    let nudge = Arc::new(Nudge::default());
    {
        let (hooks, nudge, ring, gone) = (hooks.clone(), nudge.clone(), rings.to_worker.clone(), gone.clone());
        std::thread::Builder::new()
            .name("porthost-worker-exits".into())
            .spawn(move || watch_exits(hooks, nudge, ring, gone))?;
    }
    let out = Arc::new(Out { tx: Mutex::new(replies), in_request: AtomicBool::new(false), gone: gone.clone() });
    let pids: PidMap = Arc::new(RwLock::new(HashMap::new()));
    let _ = proxy.shared.sink.set(make_sink(&out, &proxy, &pids, None));
    let mut shadows = Shadows { host: host.clone(), procs: HashMap::new(), dead: VecDeque::new(), dead_set: HashMap::new(), pids, out: out.clone() };
    let mailbox = Mailbox { hooks, nudge };
    let mut st = State { linked_exit: Default::default(), pids: shadows.pids.clone() };
    loop {
        if let Some(frame) = requests.try_recv()? {
            out.in_request.store(true, Ordering::Relaxed);
            // What the proxy got before the request goes first.
            if mailbox.pending(&proxy) {
                forward(&out, &mut st, mailbox.take(&proxy, false))?;
            }
            let req = wire::decode(frame)?;
            let target = waits(&req).then(|| target_port(&req).and_then(|p| proxy.host.ports.get(p))).flatten();
            let (reply, port) = request(&proxy, &mut shadows, &req);
            if let Some(p) = target.filter(|p| p.phase() == crate::port::Phase::Closed) {
                // The port ended during the request, maybe on a driver thread
                // (a timer's `driver_failure` ending a `port_command` that
                // waited on busy): its exit notice, sent as `terminate`
                // finishes under the port lock, must be in this reply.
                drop(p.state.lock());
            }
            let (exit, events) = forward_pending(&proxy, &mailbox, &mut st, port);
            let reply = reply.map(|(id, outcome)| {
                let outcome = match outcome {
                    Ok(v) => Ok(shadows.for_parent(v)),
                    Err(e) => Err(e),
                };
                reply_frame(id, outcome, exit, events)
            });
            let mut tx = out.tx.lock();
            if let Some(reply) = reply {
                out.send_locked(&mut tx, &reply)?;
            }
            out.in_request.store(false, Ordering::Relaxed);
            continue;
        }
        if mailbox.pending(&proxy) {
            forward(&out, &mut st, mailbox.take(&proxy, false))?;
        }
        if gone.load(Ordering::SeqCst) {
            return Ok(());
        }
        let ring = requests.ring();
        ring.wait_readable(Sleeper::Active, &SPIN, None, &|| gone.load(Ordering::SeqCst) || mailbox.nudge.set.load(Ordering::SeqCst));
        if !ring.readable() && !mailbox.nudge.set.load(Ordering::SeqCst) {
            // A second with nothing to do: look at the whole mailbox, in case
            // a port BIF moved a message out of the channel unseen.
            forward(&out, &mut st, mailbox.take(&proxy, true))?;
        }
    }
}

/// Worker pid to parent pid, for every stand-in (also of parent processes
/// known to have exited); read by the sinks on the drivers' threads.
type PidMap = Arc<RwLock<HashMap<Pid, Pid>>>;

/// How many stand-ins of exited parent processes are remembered (so that a
/// pid sent again later still names a dead process).
const DEAD_KEPT: usize = 4096;

/// The sink of the proxy (`to` none: its messages go to the owner of the
/// parent's port) or of the stand-in of parent process `to`: `{msg, Port,
/// Msg}` for a message from port Port (`{Port, ...}`), `{send, From, Msg}`
/// for any other term port From sent (a driver's erl_drv_send_term or
/// erl_drv_output_term), each with `To` added for a stand-in (`{msg, Port,
/// Msg, To}`), its pids those of the parent. During a request a `send`
/// waits in the proxy's mailbox as `{'$from', From, Msg}` (or `{'$from',
/// From, Msg, To}`) and goes with the reply, so that it holds its binaries
/// while the request runs (a driver may look at their reference counts, as
/// under ERTS where the message sits in the receiver's mailbox); between
/// requests it goes at once. Either way nothing is lost.
fn make_sink(out: &Arc<Out>, proxy: &Process, pids: &PidMap, to: Option<Pid>) -> crate::process::Sink {
    let proxy_tx = proxy.shared.tx.clone();
    let (out, pids) = (out.clone(), pids.clone());
    Arc::new(move |from: PortId, msg: Term| {
        let msg = map_pids(&msg, &|p| Some(translate_out(&pids, p)), 0);
        let mut ev = match &msg {
            Term::Tuple(t) if matches!(t.first(), Some(Term::Port(_))) => vec![atom("msg"), t[0].clone(), msg],
            _ if out.in_request.load(Ordering::Relaxed) => {
                let mut m = vec![atom("$from"), Term::Port(from), msg];
                m.extend(to.map(Term::Pid));
                let _ = proxy_tx.send(Signal::Message(tuple(m)));
                return;
            }
            _ => vec![atom("send"), Term::Port(from), msg],
        };
        ev.extend(to.map(Term::Pid));
        let _ = out.send(&tuple(ev));
    })
}

/// The parent's pid for worker pid `p`: a stand-in's parent process, else
/// `<0.0.0>`, a pid no parent process has (the proxy, or a pid a driver
/// made up).
fn translate_out(pids: &PidMap, p: Pid) -> Pid {
    pids.read().get(&p).copied().unwrap_or(Pid(0))
}

/// How deep [`map_pids`] looks into a term: past it, pids stay as they are
/// (input never sets the recursion depth).
const MAP_DEPTH: usize = 256;

/// `t` with every pid `p` for which `f` gives a pid replaced by it.
pub(crate) fn map_pids(t: &Term, f: &dyn Fn(Pid) -> Option<Pid>, depth: usize) -> Term {
    if depth > MAP_DEPTH {
        return t.clone();
    }
    let m = |x: &Term| map_pids(x, f, depth + 1);
    match t {
        Term::Pid(p) => Term::Pid(f(*p).unwrap_or(*p)),
        Term::Tuple(items) => Term::Tuple(items.iter().map(m).collect()),
        Term::List(items) => Term::List(items.iter().map(m).collect()),
        Term::Improper(items, tail) => Term::Improper(items.iter().map(m).collect(), Box::new(m(tail))),
        Term::Map(kv) => Term::Map(kv.iter().map(|(k, v)| (m(k), m(v))).collect()),
        other => other.clone(),
    }
}

/// True if `t` holds a pid (within [`MAP_DEPTH`]): most terms do not, and
/// need no copy.
pub(crate) fn has_pid(t: &Term, depth: usize) -> bool {
    if depth > MAP_DEPTH {
        return false;
    }
    match t {
        Term::Pid(_) => true,
        Term::Tuple(items) | Term::List(items) => items.iter().any(|x| has_pid(x, depth + 1)),
        Term::Improper(items, tail) => items.iter().any(|x| has_pid(x, depth + 1)) || has_pid(tail, depth + 1),
        Term::Map(kv) => kv.iter().any(|(k, v)| has_pid(k, depth + 1) || has_pid(v, depth + 1)),
        _ => false,
    }
}

/// The stand-ins ("shadows") of the parent's processes: one process of
/// the worker's host per parent process that has used the worker's ports
/// (as a caller, an owner, or a pid in `port_call` data), made on demand,
/// with a sink that sends the parent what is sent to it. A request runs as
/// its caller's stand-in, so the driver's `driver_caller`,
/// `driver_connected` and monitors see one process per parent process.
/// When the parent process exits, the parent says so (`down`) and its
/// stand-in exits with the same reason: the driver's monitors of it fire.
struct Shadows {
    host: Host,
    /// Live stand-ins, by parent pid. Owned by the main thread.
    procs: HashMap<Pid, Process>,
    /// Parent processes that have exited, oldest first, with the worker pid
    /// that stands for each ([`DEAD_KEPT`] of them).
    dead: VecDeque<Pid>,
    dead_set: HashMap<Pid, Pid>,
    pids: PidMap,
    out: Arc<Out>,
}

impl Shadows {
    /// The stand-in of parent process `parent`, made if new; `None` if the
    /// parent said it has exited.
    fn get(&mut self, proxy: &Process, parent: Pid) -> Option<&Process> {
        if self.dead_set.contains_key(&parent) {
            return None;
        }
        if !self.procs.contains_key(&parent) {
            let p = self.host.spawn_process();
            let _ = p.set_trap_exit(true);
            let _ = p.shared.sink.set(make_sink(&self.out, proxy, &self.pids, Some(parent)));
            self.pids.write().insert(p.pid(), parent);
            self.procs.insert(parent, p);
        }
        self.procs.get(&parent)
    }

    /// The worker pid that stands for parent pid `parent` (a dead one if
    /// the parent process has exited).
    fn worker_pid(&mut self, proxy: &Process, parent: Pid) -> Pid {
        if let Some(w) = self.dead_set.get(&parent) {
            return *w;
        }
        self.get(proxy, parent).map_or(Pid(0), Process::pid)
    }

    /// Parent process `parent` exited with `reason`: its stand-in exits
    /// too (the driver's monitors of it fire, `process_exit`), or, if it
    /// had none, a dead pid stands for it from now on.
    fn down(&mut self, parent: Pid, reason: Term) {
        if self.dead_set.contains_key(&parent) {
            return;
        }
        let p = match self.procs.remove(&parent) {
            Some(p) => p,
            None => {
                let p = self.host.spawn_process();
                self.pids.write().insert(p.pid(), parent);
                p
            }
        };
        let w = p.pid();
        p.exit(reason);
        drop(p);
        self.dead_set.insert(parent, w);
        self.dead.push_back(parent);
        if self.dead.len() > DEAD_KEPT {
            if let Some(old) = self.dead.pop_front() {
                if let Some(w) = self.dead_set.remove(&old) {
                    self.pids.write().remove(&w);
                }
            }
        }
    }

    /// A term from the parent with its pids made the worker's.
    fn for_worker(&mut self, proxy: &Process, t: &Term) -> Term {
        if !has_pid(t, 0) {
            return t.clone();
        }
        // Stand-ins first (map_pids takes a plain Fn).
        let mut found = Vec::new();
        collect_pids(t, &mut found, 0);
        for p in found {
            self.worker_pid(proxy, p);
        }
        let map: HashMap<Pid, Pid> = self.procs.iter().map(|(k, v)| (*k, v.pid())).chain(self.dead_set.iter().map(|(k, v)| (*k, *v))).collect();
        map_pids(t, &|p| Some(map.get(&p).copied().unwrap_or(Pid(0))), 0)
    }

    /// A term for the parent with its pids made the parent's.
    fn for_parent(&self, t: Term) -> Term {
        if !has_pid(&t, 0) {
            return t;
        }
        map_pids(&t, &|p| Some(translate_out(&self.pids, p)), 0)
    }
}

/// The pids in `t` (within [`MAP_DEPTH`]).
fn collect_pids(t: &Term, acc: &mut Vec<Pid>, depth: usize) {
    if depth > MAP_DEPTH {
        return;
    }
    match t {
        Term::Pid(p) => acc.push(*p),
        Term::Tuple(items) | Term::List(items) => items.iter().for_each(|x| collect_pids(x, acc, depth + 1)),
        Term::Improper(items, tail) => {
            items.iter().for_each(|x| collect_pids(x, acc, depth + 1));
            collect_pids(tail, acc, depth + 1);
        }
        Term::Map(kv) => kv.iter().for_each(|(k, v)| {
            collect_pids(k, acc, depth + 1);
            collect_pids(v, acc, depth + 1);
        }),
        _ => {}
    }
}

/// Sends the parent the events for what the proxy got outside a request.
fn forward(out: &Out, st: &mut State, msgs: Vec<Term>) -> io::Result<()> {
    for msg in msgs {
        if let Some(ev) = st.event(msg) {
            out.send(&ev)?;
        }
    }
    Ok(())
}

/// Ends every wait on the rings when dropped: the parent is gone, or the
/// worker is leaving.
struct Leaving {
    gone: Arc<AtomicBool>,
    rings: [Arc<Ring>; 2],
}

impl Drop for Leaving {
    fn drop(&mut self) {
        self.gone.store(true, Ordering::SeqCst);
        for r in &self.rings {
            r.interrupt();
        }
    }
}

/// The worker's end of the ring to the parent, shared by the main thread
/// and the drivers' threads.
struct Out {
    tx: Mutex<Producer>,
    /// A request runs: what is written wakes the parent's caller, not its
    /// reader thread. Cleared with the reply written, under `tx`'s lock, so
    /// whatever is written after the reply wakes the reader thread (what is
    /// written just before the request, with the flag not yet seen, wakes
    /// it for nothing: the caller takes it in).
    in_request: AtomicBool,
    gone: Arc<AtomicBool>,
}

impl Out {
    /// Sends one event.
    fn send(&self, ev: &Term) -> io::Result<()> {
        let frame = wire::encode(ev);
        // Waiting for the ring (back-pressure) is not a stuck callback.
        super::clock::paused(|| self.send_locked(&mut self.tx.lock(), &frame))
    }

    /// Sends one frame, waiting for room as long as the parent lives.
    fn send_locked(&self, tx: &mut Producer, frame: &[u8]) -> io::Result<()> {
        let who = if self.in_request.load(Ordering::Relaxed) { Sleeper::Active } else { Sleeper::Standby };
        match tx.send(frame, who, &mut || self.gone.load(Ordering::SeqCst)) {
            Ok(()) => Ok(()),
            // The parent is gone: the main loop ends.
            Err(RingError::Closed) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

/// The proxy's mailbox and the port-exit notices beside it.
struct Mailbox {
    /// `{'$port_exit', Port, Reason}` notices (the host's port exit hook).
    hooks: Receiver<Signal>,
    nudge: Arc<Nudge>,
}

/// Set by the exits watcher when a notice waits; cleared by the main thread
/// once it took the notices in.
#[derive(Default)]
struct Nudge {
    set: AtomicBool,
    lock: Mutex<()>,
    cleared: Condvar,
}

impl Mailbox {
    /// True if the proxy may have something to take in (a cheap test: a
    /// `receive` with a zero timeout spins first).
    fn pending(&self, proxy: &Process) -> bool {
        self.nudge.set.load(Ordering::SeqCst) || !self.hooks.is_empty() || !proxy.shared.tx.is_empty()
    }

    /// Everything the proxy got, in order: its mailbox, then the exit notices
    /// (every `'EXIT'` from a port precedes its notice, so it is in the
    /// mailbox by then). `all`: look in the mailbox even if its channel
    /// seems empty.
    fn take(&self, proxy: &Process, all: bool) -> Vec<Term> {
        let notices: Vec<Term> = self
            .hooks
            .try_iter()
            .filter_map(|s| match s {
                Signal::Message(m) | Signal::Counted(m, _) => Some(m),
                _ => None,
            })
            .collect();
        let mut msgs = Vec::new();
        if all || !notices.is_empty() || !proxy.shared.tx.is_empty() {
            while let Ok(Some(m)) = proxy.receive(Some(Duration::ZERO)) {
                msgs.push(m);
            }
        }
        msgs.extend(notices);
        if self.nudge.set.load(Ordering::SeqCst) {
            self.nudge.set.store(false, Ordering::SeqCst);
            let _g = self.nudge.lock.lock();
            self.nudge.cleared.notify_one();
        }
        msgs
    }
}

/// The exits watcher: when a port-exit notice waits, nudges the main
/// thread and waits until it has taken the notices in.
fn watch_exits(hooks: Receiver<Signal>, nudge: Arc<Nudge>, ring: Arc<Ring>, gone: Arc<AtomicBool>) {
    loop {
        let mut sel = crossbeam_channel::Select::new();
        sel.recv(&hooks);
        sel.ready();
        if gone.load(Ordering::SeqCst) {
            return;
        }
        if hooks.is_empty() {
            // Spurious, or the host is gone (the worker is leaving).
            std::thread::sleep(Duration::from_millis(1));
            continue;
        }
        nudge.set.store(true, Ordering::SeqCst);
        ring.wake(Sleeper::Active);
        let mut g = nudge.lock.lock();
        while nudge.set.load(Ordering::SeqCst) && !gone.load(Ordering::SeqCst) {
            nudge.cleared.wait_for(&mut g, Duration::from_millis(100));
        }
    }
}

/// What the worker remembers between messages: the ports whose `'EXIT'`
/// reached the proxy (the link was there when they closed).
struct State {
    linked_exit: std::collections::HashSet<PortId>,
    /// The stand-ins' parent pids.
    pids: PidMap,
}

impl State {
    /// The event for a message the proxy got: `{msg, Port, Message}` for a
    /// port's message; for a port's end (`'$port_exit'`, which comes after
    /// everything the port sent) `{exit, Port, Reason}`, or
    /// `{exit_unlinked, Port, Reason}` when the port had unlinked its owner
    /// first (`driver_exit`); nothing for `'EXIT'` itself, whose effect the
    /// end carries.
    fn event(&mut self, msg: Term) -> Option<Term> {
        if let Term::Tuple(t) = &msg {
            match t.as_slice() {
                [tag, Term::Port(p), _] if tag.is_atom("EXIT") => {
                    self.linked_exit.insert(*p);
                    return None;
                }
                [tag, Term::Port(p), reason] if tag.is_atom("$port_exit") => {
                    let kind = if self.linked_exit.remove(p) { "exit" } else { "exit_unlinked" };
                    return Some(tuple(vec![atom(kind), Term::Port(*p), reason.clone()]));
                }
                [tag, Term::Port(p), m] if tag.is_atom("$from") => {
                    return Some(tuple(vec![atom("send"), Term::Port(*p), m.clone()]));
                }
                [tag, creator, new, name, Term::Pid(owner)] if tag.is_atom("$port_created") => {
                    let owner = Term::Pid(translate_out(&self.pids, *owner));
                    return Some(tuple(vec![atom("created"), creator.clone(), new.clone(), name.clone(), owner]));
                }
                [tag, what, name] if tag.is_atom("$ddll") => {
                    return Some(tuple(vec![atom("ddll"), what.clone(), name.clone()]));
                }
                [tag, Term::Port(p), m, to] if tag.is_atom("$from") => {
                    return Some(tuple(vec![atom("send"), Term::Port(*p), m.clone(), to.clone()]));
                }
                [Term::Port(p), ..] => return Some(tuple(vec![atom("msg"), Term::Port(*p), msg.clone()])),
                _ => {}
            }
        }
        Some(tuple(vec![atom("msg"), atom("undefined"), msg]))
    }
}

/// True for the messages of and about ports: `{Port, ...}`, `{'EXIT',
/// Port, _}`, `{'$port_exit', Port, _}`.
fn from_port(msg: &Term) -> bool {
    match msg {
        Term::Tuple(t) if t.len() == 3 && (t[0].is_atom("EXIT") || t[0].is_atom("$port_exit")) => matches!(t[1], Term::Port(_)),
        Term::Tuple(t) => matches!(t.first(), Some(Term::Port(_))),
        _ => false,
    }
}

/// Undoes [`crate::isolate::wrap_refc`]: `{'$refc', Bin}` becomes a binary
/// that ERTS would keep off-heap, so the driver's `ErlIOVec` is split as it
/// is in the parent.
fn unwrap_refc(t: &Term) -> Term {
    match t {
        Term::Tuple(v) if v.len() == 2 && v[0].is_atom("$refc") => match &v[1] {
            Term::Binary(b) => Term::Binary(crate::binary::Bin::from_slice_refc(b.as_slice())),
            other => other.clone(),
        },
        Term::Tuple(v) if v.len() == 4 && v[0].is_atom("$sub") => match (&v[1], &v[2], &v[3]) {
            (Term::Binary(whole), Term::Int(off), Term::Int(len)) => {
                let whole = crate::binary::Bin::from_slice_refc(whole.as_slice());
                Term::Binary(whole.sub(*off as usize, *len as usize))
            }
            _ => t.clone(),
        },
        Term::List(items) => Term::List(items.iter().map(unwrap_refc).collect()),
        Term::Improper(items, tail) => Term::Improper(items.iter().map(unwrap_refc).collect(), Box::new(unwrap_refc(tail))),
        other => other.clone(),
    }
}

/// Forwards what the proxy got while the request ran, except the exit of
/// `port`, whose reason is returned (`none` if it did not exit) to travel
/// in the reply. Messages that do not come from a port
/// (`erl_drv_send_term` to the proxy, as the driver's caller or connected
/// process) are attributed to `port`.
fn forward_pending(proxy: &Process, mailbox: &Mailbox, st: &mut State, port: Option<PortId>) -> (Term, Vec<Term>) {
    let mut exit = atom("none");
    let mut events = Vec::new();
    if !mailbox.pending(proxy) {
        return (exit, events);
    }
    for msg in mailbox.take(proxy, false) {
        if let Term::Tuple(t) = &msg {
            if t.len() >= 3 && (t[0].is_atom("$from") && matches!(t[1], Term::Port(_)) || t[0].is_atom("$ddll") || t[0].is_atom("$port_created")) {
                events.extend(st.event(msg));
                continue;
            }
        }
        if let (Some(p), false) = (port, from_port(&msg)) {
            events.push(tuple(vec![atom("send"), Term::Port(p), msg]));
            continue;
        }
        match st.event(msg) {
            // The end of the request's own port travels in the reply.
            Some(Term::Tuple(ref e)) if e.len() == 3 && port.is_some_and(|p| matches!(e[1], Term::Port(q) if q == p)) && !e[0].is_atom("msg") => {
                exit = tuple(vec![e[0].clone(), e[2].clone()]);
            }
            Some(ev) => events.push(ev),
            None => {}
        }
    }
    (exit, events)
}

fn error_term(e: crate::BifError) -> Term {
    let (class, reason) = e.to_exception();
    tuple(vec![atom("error"), Term::Atom(class), reason])
}

/// What a request returned: `Ok(Value)` for `{ok, Value}`, or the error
/// term `{error, Class, Reason}`.
type Outcome = Result<Term, Term>;

/// The outcome of a BIF run on a port (`badarg` when the request named
/// none).
fn on_port(port: Option<PortId>, bif: impl FnOnce(PortId) -> Result<Term, crate::BifError>) -> Outcome {
    match port.map(bif) {
        Some(Ok(t)) => Ok(t),
        Some(Err(e)) => Err(error_term(e)),
        None => Err(error_term(crate::BifError::badarg("not a port"))),
    }
}

/// The worker's port a request names by number.
fn port_of(t: &Term) -> Option<PortId> {
    match t {
        Term::Int(n) if *n >= 0 => Some(PortId(*n as u64)),
        _ => None,
    }
}

/// True for a request whose BIF may wait for another thread of the
/// worker: `command` on a busy port.
fn waits(req: &Term) -> bool {
    matches!(req, Term::Tuple(t) if t.first().is_some_and(|op| op.is_atom("command")))
}

/// The port a request names (`{Op, Id, Port, ...}`), if any.
fn target_port(req: &Term) -> Option<PortId> {
    match req {
        Term::Tuple(t) if t.first().is_some_and(|op| !op.is_atom("open")) => t.get(2).and_then(port_of),
        _ => None,
    }
}

/// The reply frame: `{reply, Id, Value}` when the request returned `{ok,
/// Value}` and caused nothing else (the usual case, and cheaper to decode),
/// else `{reply, Id, Result, Exit, Events}`.
fn reply_frame(id: Term, outcome: Outcome, exit: Term, events: Vec<Term>) -> Vec<u8> {
    let reply = Term::Atom(crate::atom!("reply"));
    let t = match outcome {
        Ok(v) if events.is_empty() && exit.is_atom("none") => tuple(vec![reply, id, v]),
        Ok(v) => tuple(vec![reply, id, tuple(vec![atom("ok"), v]), exit, Term::List(events)]),
        Err(e) => tuple(vec![reply, id, e, exit, Term::List(events)]),
    };
    wire::encode(&t)
}

/// Runs one request `{Op, Id, Args...}`. Returns its id and outcome (none
/// for a request it does not know) and the port it concerned. `command`,
/// `control` and `call` (`{Op, Id, Port, Caller, ...}`) and `open` (`{open,
/// Id, Caller, Command, Options}`) run as the stand-in of the parent's
/// caller; the others as the proxy.
fn request(proxy: &Process, shadows: &mut Shadows, req: &Term) -> (Option<(Term, Outcome)>, Option<PortId>) {
    let Term::Tuple(t) = req else { return (None, None) };
    let op = t.first().and_then(Term::as_atom).map(|a| a.name()).unwrap_or("");
    let done = Ok(Term::Atom(crate::atom!("true")));
    let Some(id) = t.get(1).cloned() else { return (None, None) };
    // The caller's stand-in, or the proxy for a pid the parent said is gone.
    macro_rules! caller {
        ($c:expr) => {
            match $c {
                Term::Pid(c) => shadows.get(proxy, *c).unwrap_or(proxy),
                _ => proxy,
            }
        };
    }
    match (op, &t[1..]) {
        ("open", [_, caller, cmd, opts]) => {
            let cmd = match cmd {
                Term::Binary(b) => String::from_utf8_lossy(b.as_slice()).into_owned(),
                _ => String::new(),
            };
            let opts = match opts {
                Term::List(v) => v.clone(),
                _ => Vec::new(),
            };
            let owner = caller!(caller);
            let (r, p) = match proxy.open_port_for(owner, &cmd, &opts) {
                Ok(p) => (Ok(Term::Port(p)), Some(p)),
                Err(e) => (Err(error_term(e)), None),
            };
            (Some((id, r)), p)
        }
        ("command", [_, port, caller, data, Term::List(opts)]) => {
            let data = unwrap_refc(data);
            let force = opts.iter().any(|o| o.is_atom("force"));
            let nosuspend = opts.iter().any(|o| o.is_atom("nosuspend"));
            let p = port_of(port);
            let who = caller!(caller);
            let r = on_port(p, |p| who.port_command_opts(p, &data, force, nosuspend).map(|b| atom(if b { "true" } else { "false" })));
            (Some((id, r)), p)
        }
        ("control", [_, port, caller, Term::Int(op), data]) => {
            let p = port_of(port);
            let who = caller!(caller);
            (Some((id, on_port(p, |p| who.port_control(p, *op as u32, data)))), p)
        }
        ("call", [_, port, caller, Term::Int(op), data]) => {
            let p = port_of(port);
            let data = shadows.for_worker(proxy, data);
            let who = caller!(caller);
            (Some((id, on_port(p, |p| who.port_call(p, *op as u32, &data)))), p)
        }
        ("info", [_, port, item]) => (Some((id, on_port(port_of(port), |p| proxy.port_info_item(p, item)))), None),
        ("close", [_, port]) => {
            let p = port_of(port);
            if let Some(p) = p {
                let _ = proxy.port_close(p);
            }
            (Some((id, done)), p)
        }
        ("exit", [_, port, reason]) => {
            let p = port_of(port);
            if let Some(p) = p {
                let _ = proxy.exit_port(p, reason);
            }
            (Some((id, done)), p)
        }
        ("connect", [_, port, Term::Pid(owner)]) => {
            let p = port_of(port);
            let r = match (p, shadows.get(proxy, *owner)) {
                (Some(p), Some(o)) => crate::port::set_owner(&proxy.host, p, &o.shared).map(|()| atom("true")).map_err(error_term),
                _ => Err(error_term(crate::BifError::badarg("no such port or process"))),
            };
            (Some((id, r)), None)
        }
        ("down", [_, Term::Pid(parent), reason]) => {
            shadows.down(*parent, reason.clone());
            (Some((id, done)), None)
        }
        _ => (None, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pids_are_mapped_everywhere_in_a_term_within_the_depth_budget() {
        let t = Term::Tuple(vec![
            Term::Pid(Pid(1)),
            Term::List(vec![Term::Pid(Pid(2)), Term::Int(3)]),
            Term::Improper(vec![Term::Pid(Pid(1))], Box::new(Term::Pid(Pid(2)))),
            Term::Map(vec![(Term::Pid(Pid(1)), Term::Pid(Pid(9)))]),
        ]);
        assert!(has_pid(&t, 0));
        let m = map_pids(&t, &|p| (p.0 < 9).then(|| Pid(p.0 + 100)), 0);
        let want = Term::Tuple(vec![
            Term::Pid(Pid(101)),
            Term::List(vec![Term::Pid(Pid(102)), Term::Int(3)]),
            Term::Improper(vec![Term::Pid(Pid(101))], Box::new(Term::Pid(Pid(102)))),
            Term::Map(vec![(Term::Pid(Pid(101)), Term::Pid(Pid(9)))]),
        ]);
        assert_eq!(m, want);
        assert!(!has_pid(&Term::List(vec![Term::Int(1), Term::binary(b"x")]), 0));
        // Deeper than the budget: left alone, and no stack overflow.
        let mut deep = Term::Pid(Pid(1));
        for _ in 0..(MAP_DEPTH + 10) {
            deep = Term::Tuple(vec![deep]);
        }
        assert!(!has_pid(&deep, 0));
        assert_eq!(map_pids(&deep, &|_| Some(Pid(7)), 0), deep);
    }
}
