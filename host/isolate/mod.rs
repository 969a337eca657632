//! Crash isolation: ports whose driver runs in a worker process.
//!
//! An isolated port is an ordinary port of the parent host (same table,
//! owner, links, `port_info`, close semantics) whose driver is a *proxy*:
//! its data is a `Remote`, the address of the real port in a worker — a
//! child `porthost worker` process with a host of its own that loads the
//! driver and owns its ports (see [`worker`]). Isolation is composition:
//! the worker is porthost, driven through its own port BIFs.
//!
//! `port_command`, `port_control`, `erlang:port_call`, `port_close` and
//! exit signals become requests (`{command, Id, Port, Data}`, ...) over a
//! socket pair, framed as external terms ([`wire`]). Each waits for its
//! reply, which carries the exit of the port if the request caused one, so
//! a driver failure reaches the owner within the call, exactly as
//! in-process. Messages the worker's ports send (`{Port, {data, D}}`, ...)
//! and exits that happen later arrive as events and go to the owner of the
//! parent's port, the port id rewritten.
//!
//! When a worker dies, each of its ports exits with `{driver_crashed,
//! Signal}` (`sigsegv`, `sigabrt`, ...; `{exit_status, N}` if it exited) and
//! a request in flight fails (`badarg` to a trapping owner) instead of
//! hanging. A request that takes longer than the watchdog timeout
//! ([`crate::HostConfig::isolation_timeout`]) kills the worker; its ports
//! exit with `{driver_timeout, Milliseconds}`. Nothing else in the parent
//! changes.
//!
//! Differences from in-process ports, by design: `driver_caller` and
//! `driver_connected` in the driver name the worker's proxy process, not
//! the parent's owner; a port closed with a non-empty driver queue leaves
//! the parent's port table at once and lingers in the worker only.

pub mod wire;
pub mod worker;

use std::collections::HashMap;
use std::io::{BufReader, BufWriter};
use std::os::unix::net::UnixStream;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender};
use parking_lot::Mutex;

use self::wire::{read_frame, write_frame};
use crate::error::BifError;
use crate::port::{self, Port};
use crate::term::{PortId, Term};

fn atom(s: &str) -> Term {
    Term::atom(s)
}

/// What a reply gives a waiting request: its result, the exit it caused
/// (`none` or `{exit, Reason}`) and the events it caused; or the reason
/// the worker is gone.
type Answer = Result<(Term, Term, Vec<Term>), Term>;

/// A worker process seen from the parent.
pub(crate) struct Worker {
    child: Mutex<Child>,
    pid: u32,
    writer: Mutex<BufWriter<UnixStream>>,
    pending: Mutex<HashMap<u64, Sender<Answer>>>,
    next_id: AtomicU64,
    /// Worker port to parent port.
    ports: Mutex<HashMap<PortId, Weak<Port>>>,
    /// Events of worker ports the parent does not know yet: what `start`
    /// sent arrives before the reply to `open`; `attach` delivers it.
    orphans: Mutex<HashMap<PortId, Vec<Term>>>,
    /// The reason its ports exit once the worker is gone.
    dead: Mutex<Option<Term>>,
    /// Set before the watchdog kills the worker.
    kill_reason: Mutex<Option<Term>>,
    timeout: Option<Duration>,
}

/// The remote half of an isolated port: its worker and its id there.
pub(crate) struct Remote {
    pub(crate) worker: Arc<Worker>,
    pub(crate) wport: PortId,
}

/// How to start workers.
#[derive(Clone, Debug)]
pub(crate) struct Spawner {
    pub(crate) exe: Option<PathBuf>,
    pub(crate) timeout: Option<Duration>,
    pub(crate) limits: crate::WorkerLimits,
}

/// The `porthost` executable that runs workers: `exe` if given, else
/// `$PORTHOST_WORKER`, else a `porthost` next to the running program or in
/// its parent directory (as cargo lays out test binaries).
fn worker_exe(exe: &Option<PathBuf>) -> Option<PathBuf> {
    if let Some(e) = exe {
        return Some(e.clone());
    }
    if let Some(e) = std::env::var_os("PORTHOST_WORKER") {
        return Some(PathBuf::from(e));
    }
    let me = std::env::current_exe().ok()?;
    let dir = me.parent()?;
    [dir.join("porthost"), dir.parent()?.join("porthost")].into_iter().find(|p| p.is_file())
}

impl Worker {
    /// Starts a worker that looks up drivers in `dir`.
    pub(crate) fn spawn(sp: &Spawner, dir: &Path) -> Result<Arc<Worker>, BifError> {
        let exe = worker_exe(&sp.exe)
            .ok_or_else(|| BifError::badarg("cannot find the porthost executable to run an isolated worker (set PORTHOST_WORKER)"))?;
        let (ours, theirs) = UnixStream::pair().map_err(|e| BifError::badarg(format!("socketpair: {e}")))?;
        let fd = std::os::fd::AsRawFd::as_raw_fd(&theirs);
        let mut cmd = Command::new(&exe);
        cmd.arg("worker").arg("--fd").arg("3").arg("--driver-path").arg(dir).stdin(Stdio::null());
        let limits = sp.limits;
        // SAFETY: between fork and exec only async-signal-safe calls: dup2
        // puts the worker's end of the socket at fd 3 (without CLOEXEC), and
        // setrlimit applies the limits.
        unsafe {
            cmd.pre_exec(move || {
                if libc::dup2(fd, 3) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                for (res, lim) in [(libc::RLIMIT_AS, limits.memory_bytes), (libc::RLIMIT_CPU, limits.cpu_seconds)] {
                    if let Some(v) = lim {
                        // The hard limit one above: SIGXCPU (or a failed allocation)
                        // comes first, not SIGKILL.
                        let r = libc::rlimit { rlim_cur: v, rlim_max: v.saturating_add(1) };
                        if libc::setrlimit(res, &r) != 0 {
                            return Err(std::io::Error::last_os_error());
                        }
                    }
                }
                Ok(())
            });
        }
        let child = cmd.spawn().map_err(|e| BifError::badarg(format!("starting {}: {e}", exe.display())))?;
        drop(theirs);
        let pid = child.id();
        let reader = ours.try_clone().map_err(|e| BifError::badarg(format!("socket: {e}")))?;
        let w = Arc::new(Worker {
            child: Mutex::new(child),
            pid,
            writer: Mutex::new(BufWriter::new(ours)),
            pending: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(1),
            ports: Mutex::new(HashMap::new()),
            orphans: Mutex::new(HashMap::new()),
            dead: Mutex::new(None),
            kill_reason: Mutex::new(None),
            timeout: sp.timeout,
        });
        let (exits_tx, exits_rx) = crossbeam_channel::unbounded::<(Weak<Port>, Term, bool)>();
        std::thread::Builder::new()
            .name("porthost-isolate-exits".into())
            .spawn(move || deliver_exits(exits_rx))
            .expect("spawning a thread");
        let weak = Arc::downgrade(&w);
        std::thread::Builder::new()
            .name(format!("porthost-isolate-{pid}"))
            .spawn(move || read_events(weak, BufReader::new(reader), exits_tx))
            .expect("spawning a thread");
        Ok(w)
    }

    /// The worker's OS pid (`port_info(Port, os_pid)`).
    pub(crate) fn os_pid(&self) -> u32 {
        self.pid
    }

    /// Sends `{Op, Id, Args...}` and waits for its reply: the result and the
    /// exit the request caused (`none` or `{exit, Reason}`). `Err` carries
    /// the reason the worker is gone.
    fn request(&self, op: &str, args: Vec<Term>) -> Answer {
        if let Some(r) = self.dead.lock().clone() {
            return Err(r);
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = crossbeam_channel::bounded(1);
        self.pending.lock().insert(id, tx);
        let mut frame = vec![atom(op), Term::Int(id as i64)];
        frame.extend(args);
        if write_frame(&mut *self.writer.lock(), &Term::Tuple(frame)).is_err() {
            self.pending.lock().remove(&id);
            // The reader sees the end of the stream and says why.
            return rx.recv().unwrap_or_else(|_| Err(self.dead.lock().clone().unwrap_or_else(|| atom("driver_crashed"))));
        }
        match self.timeout {
            Some(t) => match rx.recv_timeout(t) {
                Ok(a) => a,
                Err(_) => {
                    let reason = Term::Tuple(vec![atom("driver_timeout"), Term::Int(t.as_millis() as i64)]);
                    *self.kill_reason.lock() = Some(reason.clone());
                    let _ = self.child.lock().kill();
                    rx.recv().unwrap_or(Err(reason))
                }
            },
            None => rx.recv().unwrap_or_else(|_| Err(atom("driver_crashed"))),
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        // Closing our end ends the worker; reap it.
        let mut child = self.child.lock();
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// Exits that need the port lock are applied here, never on the reader
/// thread: a request holding the port lock waits for the reader.
fn deliver_exits(rx: Receiver<(Weak<Port>, Term, bool)>) {
    for (port, reason, unlinked) in rx {
        if let Some(p) = port.upgrade() {
            if unlinked {
                port::unlink_owner(&p);
            }
            port::request_exit(&p, reason, true);
        }
    }
}

fn read_events(worker: Weak<Worker>, mut r: BufReader<UnixStream>, exits: Sender<(Weak<Port>, Term, bool)>) {
    loop {
        let frame = read_frame(&mut r);
        let Some(w) = worker.upgrade() else { return };
        let ev = match frame {
            Ok(Some(ev)) => ev,
            _ => {
                crashed(&w, &exits);
                return;
            }
        };
        let Term::Tuple(t) = &ev else { continue };
        match t.as_slice() {
            [tag, Term::Int(id), result, exit, Term::List(events)] if tag.is_atom("reply") => {
                if let Some(tx) = w.pending.lock().remove(&(*id as u64)) {
                    let _ = tx.send(Ok((result.clone(), exit.clone(), events.clone())));
                }
            }
            [tag, Term::Port(_), _] if tag.is_atom("msg") || tag.is_atom("send") => deliver(&w, &ev),
            [tag, Term::Port(wp), reason] if tag.is_atom("exit") || tag.is_atom("exit_unlinked") => {
                if let Some(p) = w.ports.lock().remove(wp) {
                    let _ = exits.send((p, reason.clone(), tag.is_atom("exit_unlinked")));
                }
            }
            _ => {}
        }
    }
}

/// Delivers a `{msg, WPort, Message}` or `{send, WPort, Message}` event to
/// the owner of the parent's port (`msg`: from the port, its id rewritten;
/// `send`: sent by the driver to its caller or owner).
fn deliver(w: &Worker, ev: &Term) {
    let Term::Tuple(t) = ev else { return };
    let [tag, Term::Port(wp), msg] = t.as_slice() else { return };
    let known = w.ports.lock().get(wp).cloned();
    let Some(p) = known.as_ref().and_then(Weak::upgrade) else {
        if known.is_none() {
            w.orphans.lock().entry(*wp).or_default().push(ev.clone());
        }
        return;
    };
    if let Term::Tuple(m) = msg {
        if let [_, Term::Tuple(d)] = m.as_slice() {
            if d.len() == 2 && d[0].is_atom("data") {
                p.input.fetch_add(d[1].iolist_size().unwrap_or(0) as u64, Ordering::Relaxed);
            }
        }
    }
    let msg = if tag.is_atom("msg") { rewrite_port(msg, *wp, p.id()) } else { msg.clone() };
    port::send_any(&p, msg);
}

/// The worker is gone: why, for every port and every waiting request.
fn crashed(w: &Arc<Worker>, exits: &Sender<(Weak<Port>, Term, bool)>) {
    let status = w.child.lock().wait().ok();
    let reason = w.kill_reason.lock().clone().unwrap_or_else(|| {
        let what = match status {
            Some(s) if s.signal().is_some() => atom(&signal_name(s.signal().unwrap_or(0))),
            Some(s) => Term::Tuple(vec![atom("exit_status"), Term::Int(s.code().unwrap_or(-1) as i64)]),
            None => atom("unknown"),
        };
        Term::Tuple(vec![atom("driver_crashed"), what])
    });
    eprintln!("porthost: isolated worker {} died: {reason}", w.pid);
    *w.dead.lock() = Some(reason.clone());
    for (_, tx) in w.pending.lock().drain() {
        let _ = tx.send(Err(reason.clone()));
    }
    for (_, p) in w.ports.lock().drain() {
        let _ = exits.send((p, reason.clone(), false));
    }
}

/// `sigsegv`, `sigabrt`, ...: the lower-case name of a signal.
fn signal_name(sig: i32) -> String {
    let name = match sig {
        libc::SIGSEGV => "sigsegv",
        libc::SIGABRT => "sigabrt",
        libc::SIGBUS => "sigbus",
        libc::SIGFPE => "sigfpe",
        libc::SIGILL => "sigill",
        libc::SIGKILL => "sigkill",
        libc::SIGTERM => "sigterm",
        libc::SIGXCPU => "sigxcpu",
        libc::SIGSYS => "sigsys",
        libc::SIGTRAP => "sigtrap",
        _ => return format!("signal_{sig}"),
    };
    name.to_owned()
}

/// Replaces the worker's port id by the parent's in a message.
fn rewrite_port(msg: &Term, from: PortId, to: PortId) -> Term {
    match msg {
        Term::Port(p) if *p == from => Term::Port(to),
        Term::Tuple(items) => Term::Tuple(items.iter().map(|t| rewrite_port(t, from, to)).collect()),
        other => other.clone(),
    }
}

/// The worker for `key` in `workers`, started if needed or if the last one
/// died.
pub(crate) fn worker_for(
    workers: &Mutex<HashMap<String, Arc<Worker>>>,
    key: Option<&str>,
    sp: &Spawner,
    dir: &Path,
) -> Result<Arc<Worker>, BifError> {
    let Some(key) = key else { return Worker::spawn(sp, dir) };
    let mut all = workers.lock();
    if let Some(w) = all.get(key) {
        if w.dead.lock().is_none() {
            return Ok(w.clone());
        }
    }
    let w = Worker::spawn(sp, dir)?;
    all.insert(key.to_owned(), w.clone());
    Ok(w)
}

/// Opens `command` in `worker`; returns the worker's port id.
///
/// # Errors
/// What `open_port` raised in the worker, or the worker's death as `badarg`.
pub(crate) fn open_remote(worker: &Arc<Worker>, command: &str, options: &[Term]) -> Result<(PortId, Vec<Term>), BifError> {
    let r = worker.request("open", vec![Term::binary(command.as_bytes()), Term::List(options.to_vec())]);
    match r {
        Ok((Term::Tuple(t), _, events)) if t.len() == 2 && t[0].is_atom("ok") => match t[1] {
            Term::Port(p) => Ok((p, events)),
            _ => Err(BifError::badarg("the worker answered open with no port")),
        },
        Ok((res, _, _)) => Err(to_bif_error(&res)),
        Err(reason) => Err(BifError::badarg(format!("{WORKER_DIED}: {reason}"))),
    }
}

/// Marks the binaries of an iolist that ERTS keeps off-heap although they
/// are small (`{'$refc', Bin}`) and the sub-binaries of larger ones
/// (`{'$sub', Whole, Offset, Length}`), since the external format cannot
/// say so and that decides how the worker splits the driver's `ErlIOVec`.
pub(crate) fn wrap_refc(t: &Term) -> Term {
    match t {
        Term::Binary(b) if !b.is_heap() && b.len() != b.whole().len() => Term::Tuple(vec![
            atom("$sub"),
            Term::Binary(b.whole()),
            Term::Int(b.offset() as i64),
            Term::Int(b.len() as i64),
        ]),
        Term::Binary(b) if !b.is_heap() && b.len() <= crate::binary::ONHEAP_BIN_LIMIT => {
            Term::Tuple(vec![atom("$refc"), t.clone()])
        }
        Term::List(items) => Term::List(items.iter().map(wrap_refc).collect()),
        Term::Improper(items, tail) => Term::Improper(items.iter().map(wrap_refc).collect(), Box::new(wrap_refc(tail))),
        other => other.clone(),
    }
}

/// How many crashes while opening a driver make it quarantined.
pub const QUARANTINE_AFTER: u32 = 3;

/// Drivers whose workers crash while opening them: after
/// [`QUARANTINE_AFTER`] crashes in a row the driver file is refused until
/// it changes (size or modification time), as GStreamer's plugin scanner
/// blacklists a plugin that crashes it.
#[derive(Default)]
pub(crate) struct Quarantine {
    /// Crashes in a row, and the file's size and modification time then.
    files: Mutex<HashMap<PathBuf, (u32, Option<Stamp>)>>,
}

/// A driver file's size and modification time.
type Stamp = (u64, std::time::SystemTime);

fn stamp(file: &Path) -> Option<Stamp> {
    let m = std::fs::metadata(file).ok()?;
    Some((m.len(), m.modified().ok()?))
}

impl Quarantine {
    /// `Err` (a `badarg` saying why) if `file` is quarantined.
    pub(crate) fn check(&self, file: &Path) -> Result<(), BifError> {
        let mut files = self.files.lock();
        if let Some((n, seen)) = files.get(file).cloned() {
            if seen != stamp(file) {
                files.remove(file);
            } else if n >= QUARANTINE_AFTER {
                return Err(BifError::badarg(format!(
                    "driver {} is quarantined: its worker crashed {n} times opening it; \
                     it is tried again when the file changes",
                    file.display()
                )));
            }
        }
        Ok(())
    }

    /// Counts a crash while opening `file`.
    pub(crate) fn crashed(&self, file: &Path) {
        let mut files = self.files.lock();
        let e = files.entry(file.to_path_buf()).or_insert((0, stamp(file)));
        e.0 += 1;
    }

    /// `file` opened: the count starts again.
    pub(crate) fn opened(&self, file: &Path) {
        self.files.lock().remove(file);
    }
}

/// True if an `open_remote` error means the worker died while opening.
pub(crate) fn is_crash(e: &BifError) -> bool {
    matches!(e, BifError::Badarg { why } if why.starts_with(WORKER_DIED))
}

const WORKER_DIED: &str = "the isolated worker died";

/// Registers the parent's port for the worker's, and delivers what its
/// `start` sent.
pub(crate) fn attach(worker: &Worker, wport: PortId, port: &Arc<Port>, events: &[Term]) {
    worker.ports.lock().insert(wport, Arc::downgrade(port));
    let early = worker.orphans.lock().remove(&wport).unwrap_or_default();
    for ev in early.iter().chain(events) {
        deliver(worker, ev);
    }
}

fn to_bif_error(res: &Term) -> BifError {
    match res {
        Term::Tuple(t) if t.len() == 3 && t[0].is_atom("error") => match (&t[1], &t[2]) {
            (c, r) if c.is_atom("error") && r.is_atom("badarg") => BifError::badarg("raised in the isolated worker"),
            (c, r) if c.is_atom("error") && r.is_atom("system_limit") => BifError::SystemLimit,
            (c, Term::Atom(a)) if c.is_atom("error") => BifError::Posix(*a),
            (c, r) if c.is_atom("exit") => BifError::Exited(r.clone()),
            _ => BifError::badarg(format!("the isolated worker raised {res}")),
        },
        _ => BifError::badarg(format!("the isolated worker answered {res}")),
    }
}

impl Remote {
    /// Runs request `op` on the remote port inside the parent port's
    /// callback: an exit it caused becomes the parent port's exit (applied
    /// when the callback returns, as in-process); a dead worker makes the
    /// port exit with the crash reason and the call fail.
    pub(crate) fn call(&self, port: &Port, op: &str, mut args: Vec<Term>) -> Result<Term, BifError> {
        args.insert(0, Term::Port(self.wport));
        match self.worker.request(op, args) {
            Ok((res, exit, events)) => {
                if let Some((reason, unlinked)) = self.settle(&exit, &events) {
                    if unlinked {
                        port::unlink_owner(port);
                    }
                    port::request_exit(port, reason, true);
                }
                match &res {
                    Term::Tuple(t) if t.len() == 2 && t[0].is_atom("ok") => Ok(t[1].clone()),
                    _ => Err(to_bif_error(&res)),
                }
            }
            Err(reason) => {
                self.worker.ports.lock().remove(&self.wport);
                port::request_exit(port, reason.clone(), true);
                Err(BifError::badarg(format!("{WORKER_DIED}: {reason}")))
            }
        }
    }

    /// Takes in a reply's consequences: delivers the events the request
    /// caused and, if the remote port ended (`{exit, Reason}` or
    /// `{exit_unlinked, Reason}`), forgets it and returns its reason and
    /// whether it had unlinked its owner first.
    fn settle(&self, exit: &Term, events: &[Term]) -> Option<(Term, bool)> {
        for ev in events {
            deliver(&self.worker, ev);
        }
        let Term::Tuple(e) = exit else { return None };
        let [kind, reason] = e.as_slice() else { return None };
        if !(kind.is_atom("exit") || kind.is_atom("exit_unlinked")) {
            return None;
        }
        self.worker.ports.lock().remove(&self.wport);
        Some((reason.clone(), kind.is_atom("exit_unlinked")))
    }

    /// `port_info(Port, Item)` of the remote port (for what only the worker
    /// knows: `queue_size`, `memory`).
    pub(crate) fn info(&self, item: &Term) -> Option<Term> {
        match self.worker.request("info", vec![Term::Port(self.wport), item.clone()]) {
            Ok((Term::Tuple(t), _, _)) if t.len() == 2 && t[0].is_atom("ok") => Some(t[1].clone()),
            _ => None,
        }
    }

    /// `port_close`: closes the remote port; true if it is gone, false if it
    /// lingers to drain its driver queue (its exit event ends the parent's
    /// port later).
    pub(crate) fn close_now(&self) -> bool {
        match self.worker.request("close", vec![Term::Port(self.wport)]) {
            Ok((_, exit, events)) => self.settle(&exit, &events).is_some(),
            Err(_) => {
                // The worker is gone: so is the port.
                self.worker.ports.lock().remove(&self.wport);
                true
            }
        }
    }

    /// The parent's port terminated with `reason` (an exit signal, `kill`,
    /// the host closing): the remote one gets the same exit signal, so its
    /// driver sees what it would see in-process (`flush` for a reason other
    /// than `kill`, then `stop`).
    pub(crate) fn close(&self, reason: &Term) {
        if self.worker.ports.lock().remove(&self.wport).is_some() {
            let _ = if reason.is_atom("normal") {
                self.worker.request("close", vec![Term::Port(self.wport)])
            } else {
                let reason = if reason.is_atom("killed") { atom("kill") } else { reason.clone() };
                self.worker.request("exit", vec![Term::Port(self.wport), reason])
            };
        }
    }
}

/// The isolation policy an `open_port` option asks for, if it is one:
/// `isolated` or `{isolated, driver}` (one worker per driver: `Some(false)`)
/// or `{isolated, port}` (a worker of its own: `Some(true)`).
pub(crate) fn parse_option(opt: &Term) -> Option<bool> {
    match opt {
        Term::Atom(a) if a.name() == "isolated" => Some(false),
        Term::Tuple(t) if t.len() == 2 && t[0].is_atom("isolated") => match &t[1] {
            Term::Atom(a) if a.name() == "port" => Some(true),
            Term::Atom(a) if a.name() == "driver" => Some(false),
            _ => None,
        },
        _ => None,
    }
}
