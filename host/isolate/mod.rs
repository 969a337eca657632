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
//! exit signals become requests, external terms ([`wire`]) in a ring in
//! memory shared with the worker (module `ring`: a memfd, one
//! single-producer single-consumer ring each way, futexes to sleep on):
//! `{open, Id, Caller, Command, Options}`, `{command, Id, N, Caller, Data,
//! Options}`, `{control, Id, N, Caller, Op, Data}`, `{call, Id, N, Caller,
//! Op, Data}`, `{info, Id, N, Item}`, `{close, Id, N}`, `{exit, Id, N,
//! Reason}`, `{connect, Id, N, Pid}`, `{down, Id, Pid, Reason}`, where `N`
//! is the number of the worker's port and `Caller` the parent process on
//! whose behalf the request runs. Each waits for its reply, `{reply, Id,
//! Value}` for a plain `{ok, Value}`, else `{reply, Id, Result, Exit,
//! Events}`, which carries the exit of the port if the request caused one,
//! so a driver failure reaches the owner within the call, exactly as
//! in-process. Messages the worker's ports send (`{Port, {data, D}}`, ...)
//! and exits that happen later arrive as events (`{msg, WPort, Msg}`,
//! `{send, WPort, Msg}`, each optionally with a fourth element `To`, the
//! parent process it is for; `{exit, WPort, Reason}`, `{exit_unlinked,
//! WPort, Reason}`; `{created, Creator, New, Name, Owner}`; `{ddll, What,
//! Name}`) and go to `To`, or to the owner of the parent's port, the port
//! id rewritten.
//!
//! # Processes: stand-ins
//! A driver in a worker sees the parent's processes, not one proxy. The
//! worker keeps a *stand-in* process for each parent process that has used
//! its ports (the caller of a request, a port's owner, a pid in
//! `port_call` data), made on demand; its sink sends the parent, at once,
//! what the driver sends it, as an event naming the real parent pid
//! (`To`). A request runs as its caller's stand-in, so `driver_caller` is
//! the caller (two callers are two processes; a command sent as `Port !
//! {Owner, {command, D}}` by another process has that sender); a worker
//! port is owned by the stand-in of the parent port's owner
//! (`driver_connected`; `port_connect` sends `connect`), while the worker's
//! proxy keeps holding every link, so exits work as before. Pids in
//! `port_call` data become the stand-ins' and pids in replies and events
//! the parent's (a pid the worker made up becomes `<0.0.0>`, which no
//! process has). When a parent process exits, every worker that knows it
//! gets `down` *before* its links close its ports
//! (`HostInner::process_exited`): the stand-in exits with the same reason,
//! so the driver's monitors (`driver_monitor_process`) fire and
//! `process_exit` runs first, as in ERTS 25. A pid that is dead when first
//! sent (or whose `down` overtook it) stands for a dead process in the
//! worker, so a monitor of it answers 1. `port_info(Port, monitors)` is the
//! worker's, translated.
//!
//! # The driver registry and new ports
//! What a driver does to the registry from inside reaches the parent:
//! `driver_lock_driver` makes the parent's record of the driver permanent
//! (`erl_ddll:info/2`, unload refused), `add_driver_entry` makes
//! `open_port` of the new name open in that worker (when no driver loaded
//! in the parent has the name), `remove_driver_entry` undoes it.
//! `driver_create_port` gives the parent a port for the new worker port,
//! owned by and linked to the translated owner and counted for the
//! creator's driver. What a port sends before its open fails (an
//! `erl_drv_init_ack` with an error) reaches the opener, as in ERTS.
//!
//! # Trust
//! The parent trusts nothing from a worker: a frame that does not decode,
//! is not a tuple tagged as above, would add more than the worker's share
//! of atoms to the parent's table (`wire::WORKER_ATOMS`,
//! `wire::ALL_WORKERS_ATOMS`) or decode to more than `wire::FRAME_TERMS`
//! terms kills the worker (`{driver_crashed, corrupt_ring}`,
//! `{driver_crashed, too_many_atoms}`); an event naming a port it does not know is kept (bounded)
//! until the port is attached, an event naming a process the worker was
//! never given is dropped, `created` needs a creator port of that worker,
//! and `locked` only counts for a driver one of its ports runs.
//!
//! Who reads the worker's ring: the caller of a request holds the worker's
//! `link` lock from before it writes its request until it has read its
//! reply, reading (and delivering) what comes before the reply itself, so a
//! round trip wakes no other thread; requests to one worker go one at a
//! time, as the worker runs them anyway. Between requests, what the
//! worker's drivers send from timers, async jobs and the poll thread is
//! taken in by a parent process that waits in `receive` for it, if one
//! does: each worker is a `Feed` of the processes it has stand-ins for,
//! which pump it while they spin (`try_lock` of the link), and while one
//! watches the ring the worker wakes no other thread. Otherwise a reader
//! thread takes the lock and delivers; the worker wakes it only for what it
//! writes outside a request (see `ring`'s `Sleeper`) and while no process
//! watches. Callers spin briefly before they sleep (`crate::spin`); the
//! reader thread does not. Exits that need a port lock are applied on a
//! thread of their own.
//!
//! The socket pair the worker is started with carries the memfd
//! (`SCM_RIGHTS`) and then nothing: its end is how each side learns that
//! the other is gone. When a worker dies, what it wrote before it died is
//! delivered first (the shared memory outlives it), then each of its ports
//! exits with `{driver_crashed, Signal}` (`sigsegv`, `sigabrt`, ...;
//! `{exit_status, N}` if it exited) and a request in flight fails (`badarg`
//! to a trapping owner) instead of hanging. A request that takes longer
//! than the watchdog timeout ([`crate::HostConfig::isolation_timeout`])
//! kills the worker; its ports exit with `{driver_timeout, Milliseconds}`.
//! A worker that corrupts the ring is killed; its ports exit with
//! `{driver_crashed, corrupt_ring}`. Nothing else in the parent changes.
//!
//! Differences from in-process ports, by design: a port closed with a
//! non-empty driver queue leaves the parent's port table at once and
//! lingers in the worker only; a driver callback that runs on behalf of no
//! request (`stop` after `port_close`, a `flush`) has the worker's proxy
//! as `driver_caller`; an entry added with `add_driver_entry` is not listed
//! by the parent's `erl_ddll:loaded_drivers/0`.

pub(crate) mod clock;
pub(crate) mod ring;
pub(crate) mod shm;
pub mod wire;
pub mod worker;

use std::collections::HashMap;
use std::io::Read;
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};
use parking_lot::Mutex;

use self::ring::{Consumer, Producer, Ring, RingError, Rings, Sleeper};
use crate::error::BifError;
use crate::port::{self, Port};
use crate::term::{Pid, PortId, Term};

fn atom(s: &str) -> Term {
    Term::atom(s)
}

/// How long the caller of a request spins for its reply before it sleeps
/// (as a receiving process does, see `crate::process`), at most: less while
/// spinning does not pay (`crate::spin`).
static SPIN: crate::spin::Budget = crate::spin::Budget::new(Duration::from_micros(50));

/// The reader thread does not spin: a process that waits in `receive`
/// takes in what comes soon (see [`crate::process::Feed`]).
static NO_SPIN: crate::spin::Budget = crate::spin::Budget::new(Duration::ZERO);

/// What a reply gives a waiting request, or the reason the worker is gone.
type Answer = Result<Reply, Term>;

/// A request's reply, the events the request caused delivered by then.
struct Reply {
    /// `Ok(Value)` for `{ok, Value}`; else the error term, `{error, Class,
    /// Reason}`.
    result: Result<Term, Term>,
    /// The exit of the request's port, if the request caused one: the
    /// reason, and whether the port had unlinked its owner first
    /// (`exit_unlinked`).
    exit: Option<(Term, bool)>,
}

/// An exit to apply on the exits thread: the port, the reason, and whether
/// the port had unlinked its owner first.
type Exit = (Weak<Port>, Term, bool);

/// A worker process seen from the parent.
pub(crate) struct Worker {
    child: Mutex<Child>,
    pid: u32,
    rings: Rings,
    /// The ring ends: held by whoever reads the worker's ring (see the
    /// module docs).
    link: Mutex<Link>,
    next_id: AtomicU64,
    /// Worker port to parent port.
    ports: Mutex<HashMap<PortId, Weak<Port>>>,
    /// The parent processes the worker has stand-ins for: the only pids its
    /// events may name, and those told `down` when they exit.
    pids: Mutex<std::collections::HashSet<Pid>>,
    /// The parent's host, and this worker, once known ([`Worker::attach_host`]).
    host: std::sync::OnceLock<Weak<crate::host::HostInner>>,
    me: std::sync::OnceLock<Weak<Worker>>,
    /// Events of worker ports the parent does not know yet: what `start`
    /// sent arrives before the reply to `open`; `attach` delivers it.
    orphans: Mutex<HashMap<PortId, Vec<Term>>>,
    /// The reason its ports exit once the worker is gone.
    dead: Mutex<Option<Term>>,
    /// `dead` is set (read without its lock on every request).
    is_dead: AtomicBool,
    /// Set before the watchdog kills the worker.
    kill_reason: Mutex<Option<Term>>,
    /// Messages from this worker not yet received (back-pressure, see
    /// [`MAX_PENDING`]).
    pending: Arc<Pending>,
    /// The length of the frame being dispatched (what its messages weigh
    /// for [`MAX_PENDING_BYTES`]); written under `link`.
    frame_len: std::sync::atomic::AtomicUsize,
    /// The atoms this worker's frames have added to the parent's table
    /// (bounded: [`wire::WORKER_ATOMS`]).
    atoms_made: std::sync::atomic::AtomicUsize,
    timeout: Option<Duration>,
    /// Set when the worker's end of the socket closes (it is gone), or when
    /// this `Worker` is dropped.
    eof: Arc<AtomicBool>,
    /// Our end of the socket pair, kept open: the worker ends when it closes.
    _sock: UnixStream,
    exits: Sender<Exit>,
}

/// How many messages from one worker may wait unreceived in the parent's
/// mailboxes before its reader thread stops taking from the ring (see also
/// [`MAX_PENDING_BYTES`]). Then the ring fills (256 KiB), and a driver
/// thread of the worker that sends more blocks in its
/// `erl_drv_output_term` (or `driver_output`) until the owners receive, as
/// a busy port blocks its sender: nothing is dropped, and the parent holds
/// at most this many messages (or bytes) plus a ring's worth for a worker
/// whose owners do not read. A request's caller still takes in everything
/// until its reply, so a request never waits for an owner.
///
/// The difference from ERTS this makes: a process that waits in a
/// selective `receive` for a message from a worker while this many earlier
/// messages from the same worker sit unreceived in mailboxes waits until
/// some of them are taken (or a request to that worker is made); ERTS
/// would have delivered it, growing the mailbox instead.
pub const MAX_PENDING: usize = 10_000;

/// The bytes (of the frames they came in) of messages from one worker that
/// may wait unreceived before its reader thread stops, as for
/// [`MAX_PENDING`]: 64 MiB.
pub const MAX_PENDING_BYTES: usize = 64 << 20;

/// The messages (and their frames' bytes) a worker delivered that their
/// receivers have not taken yet (each carries a
/// [`crate::process::Receipt`] that takes its share off when dropped).
struct Pending {
    count: std::sync::atomic::AtomicUsize,
    bytes: std::sync::atomic::AtomicUsize,
    lock: Mutex<()>,
    below: parking_lot::Condvar,
    me: Weak<Pending>,
}

impl Pending {
    fn new() -> Arc<Pending> {
        Arc::new_cyclic(|me: &Weak<Pending>| Pending {
            count: std::sync::atomic::AtomicUsize::new(0),
            bytes: std::sync::atomic::AtomicUsize::new(0),
            lock: Mutex::new(()),
            below: parking_lot::Condvar::new(),
            me: me.clone(),
        })
    }

    /// A receipt for one more message on its way, of `bytes` bytes.
    fn receipt(&self, bytes: usize) -> crate::process::Receipt {
        self.count.fetch_add(1, Ordering::AcqRel);
        self.bytes.fetch_add(bytes, Ordering::AcqRel);
        let me = self.me.clone();
        crate::process::Receipt(Arc::new(move || {
            if let Some(p) = me.upgrade() {
                let was_full = p.full();
                p.count.fetch_sub(1, Ordering::AcqRel);
                p.bytes.fetch_sub(bytes, Ordering::AcqRel);
                if was_full && !p.full() {
                    let _g = p.lock.lock();
                    p.below.notify_all();
                }
            }
        }))
    }

    fn full(&self) -> bool {
        self.count.load(Ordering::Acquire) >= MAX_PENDING || self.bytes.load(Ordering::Acquire) >= MAX_PENDING_BYTES
    }

    /// Waits (at most `t`) until the worker may deliver again.
    fn wait(&self, t: Duration) {
        let mut g = self.lock.lock();
        if self.full() {
            self.below.wait_for(&mut g, t);
        }
    }
}

/// The parent's ends of the rings.
struct Link {
    /// Requests.
    tx: Producer,
    /// Replies and events.
    rx: Consumer,
}

/// The remote half of an isolated port: its worker and its id there.
pub(crate) struct Remote {
    pub(crate) worker: Arc<Worker>,
    pub(crate) wport: PortId,
    /// The driver's name, for a port a driver made (`driver_create_port`),
    /// whose name is its own.
    pub(crate) driver: Option<String>,
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

/// The error of `open_port` when a worker cannot be started for lack of a
/// resource: ERTS's POSIX atom (`emfile` out of descriptors, `enfile`,
/// `eagain` out of processes or threads, `enomem`), its reason on
/// standard error; anything else is `badarg` saying what failed.
fn spawn_error(what: &str, e: std::io::Error) -> BifError {
    match e.raw_os_error() {
        Some(n @ (libc::EMFILE | libc::ENFILE | libc::EAGAIN | libc::ENOMEM)) => {
            eprintln!("porthost: cannot start an isolated worker: {what}: {e}");
            BifError::Posix(crate::term::Atom::new(crate::abi::misc::errno_name(n)))
        }
        _ => BifError::badarg(format!("{what}: {e}")),
    }
}

impl Worker {
    /// Starts a worker that looks up drivers in `dir`.
    pub(crate) fn spawn(sp: &Spawner, dir: &Path) -> Result<Arc<Worker>, BifError> {
        let exe = worker_exe(&sp.exe)
            .ok_or_else(|| BifError::badarg("cannot find the porthost executable to run an isolated worker (set PORTHOST_WORKER)"))?;
        let (rings, memfd) = Rings::create(ring::DEFAULT_CAP).map_err(|e| spawn_error("shared memory for a worker", e))?;
        let (ours, theirs) = UnixStream::pair().map_err(|e| spawn_error("a socket pair for a worker", e))?;
        // The first thing the worker reads: the rings.
        shm::send_fd(&ours, memfd.as_fd()).map_err(|e| spawn_error("passing the rings to a worker", e))?;
        drop(memfd);
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
        let child = cmd.spawn().map_err(|e| spawn_error(&format!("starting {}", exe.display()), e))?;
        drop(theirs);
        let pid = child.id();
        let mut child = child;
        let watch = match ours.try_clone() {
            Ok(w) => w,
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(spawn_error("a worker's socket", e));
            }
        };
        // SAFETY: the parent makes the one producer of requests and the one
        // consumer of replies; the worker makes the other two ends.
        let link = unsafe { Link { tx: Producer::new(rings.to_worker.clone()), rx: Consumer::new(rings.to_parent.clone()) } };
        let replies = rings.to_parent.clone();
        let (exits_tx, exits_rx) = crossbeam_channel::unbounded::<Exit>();
        let eof = Arc::new(AtomicBool::new(false));
        let w = Arc::new(Worker {
            child: Mutex::new(child),
            pid,
            rings,
            link: Mutex::new(link),
            next_id: AtomicU64::new(1),
            ports: Mutex::new(HashMap::new()),
            pids: Mutex::new(std::collections::HashSet::new()),
            host: std::sync::OnceLock::new(),
            me: std::sync::OnceLock::new(),
            orphans: Mutex::new(HashMap::new()),
            dead: Mutex::new(None),
            is_dead: AtomicBool::new(false),
            kill_reason: Mutex::new(None),
            atoms_made: std::sync::atomic::AtomicUsize::new(0),
            pending: Pending::new(),
            frame_len: std::sync::atomic::AtomicUsize::new(0),
            timeout: sp.timeout,
            eof: eof.clone(),
            _sock: ours,
            exits: exits_tx,
        });
        // Without its threads the worker is no use: dropping it kills it.
        std::thread::Builder::new()
            .name("porthost-isolate-exits".into())
            .spawn(move || deliver_exits(exits_rx))
            .map_err(|e| spawn_error("a thread for a worker", e))?;
        let weak = Arc::downgrade(&w);
        std::thread::Builder::new()
            .name(format!("porthost-isolate-{pid}"))
            .spawn(move || read_events(weak, replies, eof))
            .map_err(|e| spawn_error("a thread for a worker", e))?;
        let weak = Arc::downgrade(&w);
        std::thread::Builder::new()
            .name(format!("porthost-isolate-{pid}-eof"))
            .spawn(move || watch_socket(weak, watch))
            .map_err(|e| spawn_error("a thread for a worker", e))?;
        Ok(w)
    }

    /// Makes parent process `pid` known to the worker (it gets a stand-in
    /// there, see [`worker`]): from now on events may name it, and its exit
    /// is told to the worker. If it has exited already, the worker is told
    /// so now.
    fn know(&self, host: &crate::host::HostInner, pid: Pid) {
        if !self.pids.lock().insert(pid) {
            return;
        }
        // What the worker sends it, it may take in itself while it waits.
        if let (Some(me), Some(proc_)) = (self.me.get(), host.procs.read().get(&pid)) {
            proc_.add_feed(me.clone());
        }
        // Checked after it is in `pids`: a process that exits from now on
        // finds it there (see `HostInner::process_exited`).
        if !host.procs.read().contains_key(&pid) {
            self.pids.lock().remove(&pid);
            self.down(pid, &atom("noproc"));
        }
    }

    /// Makes every pid in `t` known to the worker (see [`Worker::know`]).
    fn know_all(&self, host: &crate::host::HostInner, t: &Term) {
        if worker::has_pid(t, 0) {
            let _ = worker::map_pids(
                t,
                &|p| {
                    self.know(host, p);
                    None
                },
                0,
            );
        }
    }

    /// Parent process `pid` exited with `reason`: its stand-in in the
    /// worker exits too, so the driver's monitors of it fire (their
    /// `process_exit` runs, and what it sends is delivered, before this
    /// returns).
    pub(crate) fn down(&self, pid: Pid, reason: &Term) {
        let _ = self.request("down", None, vec![Term::Pid(pid), reason.clone()]);
    }

    /// `{ddll, What, Name}`: a driver in the worker did something to its
    /// registry. `locked` (`driver_lock_driver`) makes the parent's record
    /// of the driver permanent too, if one of this worker's ports runs it;
    /// `entry_added` / `entry_removed` (`add_driver_entry`,
    /// `remove_driver_entry`) make `open_port` of that name, when no loaded
    /// driver has it, open in this worker, or no longer.
    fn ddll_notice(&self, t: &[Term]) {
        let (Some(what), Term::Binary(name)) = (t[1].as_atom(), &t[2]) else { return };
        let Ok(name) = std::str::from_utf8(name.as_slice()) else { return };
        let Some(host) = self.host.get().and_then(Weak::upgrade) else { return };
        match what.name() {
            "locked" => {
                let runs_it = self.ports.lock().values().filter_map(Weak::upgrade).any(|p| p.driver_name() == name);
                if runs_it {
                    host.ddll.lock().make_permanent(name);
                }
            }
            "entry_added" => {
                if let Some(me) = self.me.get() {
                    host.remote_entries.lock().insert(name.to_owned(), me.clone());
                }
            }
            "entry_removed" => {
                let mut entries = host.remote_entries.lock();
                if entries.get(name).is_some_and(|w| std::ptr::eq(w.as_ptr(), self)) {
                    entries.remove(name);
                }
            }
            _ => {}
        }
    }

    /// `{created, Creator, New, Name, Owner}`: the driver of worker port
    /// `Creator` made port `New` (`driver_create_port`) for parent process
    /// `Owner`. The parent gets a port for it, owned by and linked to
    /// `Owner`, counted for the creator's driver, as in-process. Dropped
    /// unless `Creator` is one of this worker's ports and `Owner` a process
    /// it was given; if `Owner` has exited meanwhile, the new port is
    /// closed (`noproc`).
    fn created(&self, wc: PortId, wn: PortId, name: &[u8], owner: Pid) {
        let (Some(host), Some(me)) = (self.host.get().and_then(Weak::upgrade), self.me.get().and_then(Weak::upgrade)) else { return };
        let Some(creator) = self.ports.lock().get(&wc).and_then(Weak::upgrade) else { return };
        if self.ports.lock().contains_key(&wn) || !self.pids.lock().contains(&owner) {
            return;
        }
        let live = host.procs.read().get(&owner).cloned();
        let (proc_, alive) = match live {
            Some(p) => (p, true),
            None => match host.procs.read().get(&creator.owner_pid()).cloned() {
                Some(p) => (p, false),
                None => return,
            },
        };
        let driver = creator.driver_name().to_owned();
        let name = String::from_utf8_lossy(name).into_owned();
        let remote = Remote { worker: me, wport: wn, driver: Some(driver.clone()) };
        let port = host.ports.insert_with(|id| {
            Arc::new(Port::new(
                id,
                &host,
                port::Backend::Isolated(remote),
                &name,
                port::OpenOptions::default(),
                port::Phase::Open,
                std::ptr::null_mut(),
                &proc_,
            ))
        });
        port.os_pid.store(self.pid as i64, Ordering::Relaxed);
        host.ddll.lock().port_opened(&driver);
        if alive {
            proc_.links.lock().push(port.id);
        } else {
            port.state.lock().borrow_mut().links.clear();
        }
        attach(self, wn, &port, &[]);
        if !alive {
            let _ = self.exits.send((Arc::downgrade(&port), atom("noproc"), false));
        }
    }

    /// Ties the worker to its host (once): it hears of process exits and
    /// may add driver entries there.
    pub(crate) fn attach_host(self: &Arc<Self>, host: &Arc<crate::host::HostInner>) {
        let _ = self.host.set(Arc::downgrade(host));
        let _ = self.me.set(Arc::downgrade(self));
    }

    /// True if the worker has a stand-in for `pid` (and forgets it).
    pub(crate) fn forget(&self, pid: Pid) -> bool {
        self.pids.lock().remove(&pid)
    }

    /// True once the worker is known to be gone.
    pub(crate) fn is_dead(&self) -> bool {
        self.is_dead.load(Ordering::Acquire) || self.gone_yet()
    }

    /// The worker's OS pid (`port_info(Port, os_pid)`).
    pub(crate) fn os_pid(&self) -> u32 {
        self.pid
    }

    fn gone_yet(&self) -> bool {
        self.eof.load(Ordering::SeqCst)
    }

    /// Sends `{Op, Id, Port, Args...}` (`Port` the worker's port number,
    /// left out if `None`) and waits for its reply. `Err` carries the reason
    /// the worker is gone.
    fn request(&self, op: &str, port: Option<PortId>, args: Vec<Term>) -> Answer {
        let mut guard = self.link.lock();
        let link = &mut *guard;
        if self.is_dead.load(Ordering::Acquire) {
            if let Some(r) = self.dead.lock().clone() {
                return Err(r);
            }
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut frame = Vec::with_capacity(3 + args.len());
        frame.extend([Term::Atom(op_atom(op)), Term::Int(id as i64)]);
        frame.extend(port.map(|p| Term::Int(p.0 as i64)));
        frame.extend(args);
        let bytes = wire::encode(&Term::Tuple(frame));
        let mut broken = None;
        // While the worker cannot take more (a big command), take in what it
        // sends: it may be waiting for room to send it.
        let sent = link.tx.send(&bytes, Sleeper::Active, &mut || {
            if let Err(e) = self.take_in(&mut link.rx, None) {
                broken = Some(e);
            }
            broken.is_some() || self.gone_yet()
        });
        if let Err(e) = sent {
            return Err(self.broken(link, broken.unwrap_or(e)));
        }
        let mut deadline = None;
        let mut first = true;
        loop {
            match self.take_in(&mut link.rx, Some(id)) {
                Ok(Some(answer)) => return answer,
                Ok(None) => {}
                Err(e) => return Err(self.broken(link, e)),
            }
            if self.gone_yet() {
                return Err(self.gone(link));
            }
            if first {
                // Not before the request is out: the clock costs.
                first = false;
                deadline = self.timeout.map(|t| Instant::now() + t);
            }
            if let (Some(d), Some(t)) = (deadline, self.timeout) {
                if Instant::now() >= d {
                    match self.overdue(t) {
                        Some(reason) => {
                            self.kill(reason);
                            // Its end of the socket closes: wait for that.
                            deadline = None;
                        }
                        None => deadline = Some(Instant::now() + Duration::from_millis(100)),
                    }
                }
            }
            link.rx.ring().wait_readable(Sleeper::Active, &SPIN, deadline, &|| self.gone_yet());
        }
    }

    /// Takes in every whole frame the worker has sent, delivering events,
    /// until the reply to request `id` (returned).
    ///
    /// # Errors
    /// The ring is corrupt.
    fn take_in(&self, rx: &mut Consumer, id: Option<u64>) -> Result<Option<Answer>, RingError> {
        self.take_in_bounded(rx, id, false)
    }

    /// [`Worker::take_in`]; `bounded`: stop while [`MAX_PENDING`] messages
    /// wait unreceived (the reader thread's back-pressure).
    fn take_in_bounded(&self, rx: &mut Consumer, id: Option<u64>, bounded: bool) -> Result<Option<Answer>, RingError> {
        loop {
            if bounded && self.pending.full() {
                return Ok(None);
            }
            let Some(bytes) = rx.try_recv()? else { return Ok(None) };
            self.frame_len.store(bytes.len(), Ordering::Relaxed);
            // Everything from a worker is untrusted: a frame that does not
            // decode, that is no frame of the protocol, or that would make
            // the parent allocate past the worker's share kills the worker.
            let frame = match wire::decode_from_worker(bytes, &self.atoms_made) {
                Ok(frame) => frame,
                Err(wire::Refusal::Atoms) => {
                    if self.kill_reason.lock().is_none() {
                        eprintln!(
                        "porthost: isolated worker {}: its frames would add more than {} atoms to the host's atom table (at most {} for all workers)",
                        self.pid,
                        wire::WORKER_ATOMS,
                        wire::ALL_WORKERS_ATOMS
                        );
                    }
                    self.kill(Term::Tuple(vec![atom("driver_crashed"), atom("too_many_atoms")]));
                    return Err(RingError::Corrupt("a frame over the worker's atom budget"));
                }
                Err(wire::Refusal::TooBig) => return Err(RingError::Corrupt("a frame that decodes to too many terms")),
                Err(wire::Refusal::Malformed) => return Err(RingError::Corrupt("a frame that is not a protocol term")),
            };
            if let Some(answer) = self.dispatch(frame, id) {
                return Ok(Some(answer));
            }
        }
    }

    /// Acts on one frame from the worker; returns the answer if it is the
    /// reply to `id`. A reply is `{reply, Id, Value}` when the request
    /// returned `{ok, Value}` and caused nothing else, else `{reply, Id,
    /// Result, Exit, Events}`.
    fn dispatch(&self, frame: Term, id: Option<u64>) -> Option<Answer> {
        let Ok(mut t) = frame.into_tuple() else { return None };
        let tag = t.first().and_then(Term::as_atom)?;
        if tag == crate::atom!("reply") {
            // A reply is read by its caller, who holds the link until then:
            // there is no other.
            if !matches!(t.get(1), Some(Term::Int(rid)) if Some(*rid as u64) == id) {
                return None;
            }
            return match t.len() {
                3 => t.pop().map(|v| Ok(Reply { result: Ok(v), exit: None })),
                5 => {
                    let (events, mut exit, mut result) = (t.pop()?, t.pop()?, t.pop()?);
                    // Delivered before the link is let go, so nothing the
                    // worker sent later overtakes them.
                    if let Term::List(events) = &events {
                        // Each event weighs its share of the reply.
                        let share = self.frame_len.load(Ordering::Relaxed) / events.len().max(1);
                        self.frame_len.store(share, Ordering::Relaxed);
                        for ev in events {
                            deliver(self, ev);
                        }
                    }
                    let result = match result {
                        Term::Tuple(ref mut r) if r.len() == 2 && r[0].is_atom("ok") => Ok(r.pop().expect("two elements")),
                        other => Err(other),
                    };
                    let exit = match exit {
                        Term::Tuple(ref mut e) if e.len() == 2 && (e[0].is_atom("exit") || e[0].is_atom("exit_unlinked")) => {
                            let unlinked = e[0].is_atom("exit_unlinked");
                            e.pop().map(|reason| (reason, unlinked))
                        }
                        _ => None,
                    };
                    Some(Ok(Reply { result, exit }))
                }
                _ => None,
            };
        }
        self.event(&t);
        None
    }

    /// Acts on one event (`msg`, `send`, `exit`, `exit_unlinked`, `ddll`),
    /// alone in a frame or in a reply; anything else is dropped.
    fn event(&self, t: &[Term]) {
        match t {
            [tag, Term::Port(_), _] if tag.is_atom("msg") || tag.is_atom("send") => deliver_parts(self, tag, &t[1], &t[2], None),
            [tag, Term::Port(_), _, Term::Pid(to)] if tag.is_atom("msg") || tag.is_atom("send") => {
                deliver_parts(self, tag, &t[1], &t[2], Some(*to))
            }
            [tag, _, _] if tag.is_atom("ddll") => self.ddll_notice(t),
            [tag, Term::Port(wc), Term::Port(wn), Term::Binary(name), Term::Pid(owner)] if tag.is_atom("created") => {
                self.created(*wc, *wn, name.as_slice(), *owner)
            }
            [tag, Term::Port(wp), reason] if tag.is_atom("exit") || tag.is_atom("exit_unlinked") => {
                let known = self.ports.lock().remove(wp);
                match known {
                    Some(p) => {
                        let _ = self.exits.send((p, reason.clone(), tag.is_atom("exit_unlinked")));
                    }
                    // A port the parent does not know yet (made by
                    // driver_create_port, or being opened): kept for
                    // `attach`.
                    None => self.orphan(*wp, Term::Tuple(t.to_vec())),
                }
            }
            _ => {}
        }
    }

    /// Keeps an event of a worker port the parent does not know yet, for
    /// [`attach`]. At most [`MAX_ORPHAN_PORTS`] ports' worth: past that an
    /// older one goes (the exit of a port the parent has just forgotten
    /// lands here too, and a worker may flood events for ports it never
    /// opened; neither is kept for ever).
    fn orphan(&self, wp: PortId, ev: Term) {
        let mut orphans = self.orphans.lock();
        if orphans.len() >= MAX_ORPHAN_PORTS && !orphans.contains_key(&wp) {
            if let Some(old) = orphans.keys().next().copied() {
                orphans.remove(&old);
            }
        }
        orphans.entry(wp).or_default().push(ev);
    }

    /// One look of the watchdog (see [`watch_socket`]): kills the worker if
    /// a callback of its drivers has run longer than the timeout; true if
    /// the worker process has exited.
    fn watchdog(&self) -> bool {
        if let (Some(t), Some(ran)) = (self.timeout, clock::longest(&self.rings.clocks)) {
            if ran >= t && self.kill_reason.lock().is_none() {
                if let Some(reason) = self.overdue(t) {
                    eprintln!("porthost: isolated worker {}: a driver callback has run for {} ms", self.pid, ran.as_millis());
                    self.kill(reason);
                }
            }
        }
        matches!(self.child.lock().try_wait(), Ok(Some(_)))
    }

    /// The watchdog time `t` has passed: why to kill the worker, or `None`
    /// to wait on, while a worker that got a fatal signal prints its
    /// backtrace (for up to [`clock::CRASH_GRACE`]; then it is killed, and
    /// its ports exit with `{driver_crashed, Signal}` all the same).
    fn overdue(&self, t: Duration) -> Option<Term> {
        match clock::fatal(&self.rings.clocks) {
            Some((_, since)) if since < clock::CRASH_GRACE => None,
            Some((sig, _)) => Some(Term::Tuple(vec![atom("driver_crashed"), atom(&signal_name(sig))])),
            None => Some(Term::Tuple(vec![atom("driver_timeout"), Term::Int(t.as_millis() as i64)])),
        }
    }

    /// Kills the worker; its ports will exit with `reason` (unless it died
    /// of something else first).
    fn kill(&self, reason: Term) {
        self.kill_reason.lock().get_or_insert(reason);
        let _ = self.child.lock().kill();
    }

    /// The ring is unusable: kill the worker, wait for it to be gone, and
    /// return why its ports exit.
    fn broken(&self, link: &mut Link, e: RingError) -> Term {
        if matches!(e, RingError::Corrupt(_)) {
            if self.kill_reason.lock().is_none() {
                eprintln!("porthost: isolated worker {}: {e}", self.pid);
            }
            self.kill(Term::Tuple(vec![atom("driver_crashed"), atom("corrupt_ring")]));
        }
        // Killed, its end of the socket closes soon; the ring may look
        // readable for ever, so no futex wait here.
        while !self.gone_yet() {
            std::thread::sleep(Duration::from_millis(1));
        }
        self.gone(link)
    }

    /// The worker is gone: delivers what it sent before it went (once), and
    /// returns the reason its ports exit.
    fn gone(&self, link: &mut Link) -> Term {
        if let Some(r) = self.dead.lock().clone() {
            return r;
        }
        let _ = self.take_in(&mut link.rx, None);
        crashed(self)
    }
}

impl crate::process::Feed for Worker {
    /// Delivers what the worker's drivers sent between requests, on the
    /// thread of a process that waits in `receive` (see
    /// [`crate::process::Feed`]), unless a caller or the reader thread is
    /// reading the ring right now. As the reader thread does, it stops
    /// while [`MAX_PENDING`] messages wait unreceived.
    fn pump(&self) -> bool {
        if !self.rings.to_parent.readable() || self.pending.full() || self.gone_yet() {
            return false;
        }
        let Some(mut link) = self.link.try_lock() else { return false };
        if let Err(e) = self.take_in_bounded(&mut link.rx, None, true) {
            self.broken(&mut link, e);
        }
        true
    }

    fn watch(&self, on: bool) {
        self.rings.to_parent.watch(on);
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        // The reader thread stops; closing our end ends the worker; reap it.
        self.eof.store(true, Ordering::SeqCst);
        self.rings.to_parent.interrupt();
        let mut child = self.child.lock();
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// Exits that need the port lock are applied here, never on a thread
/// reading the ring: a request holding the port lock waits for the reader.
fn deliver_exits(rx: Receiver<Exit>) {
    for (port, reason, unlinked) in rx {
        if let Some(p) = port.upgrade() {
            if unlinked {
                port::unlink_owner(&p);
            }
            port::request_exit(&p, reason, true);
        }
    }
}

/// The reader thread: delivers what the worker sends when no caller reads
/// the ring, until the worker is gone (then its socket's watcher takes in
/// the rest).
fn read_events(worker: Weak<Worker>, ring: Arc<Ring>, eof: Arc<AtomicBool>) {
    loop {
        let pending = {
            let Some(w) = worker.upgrade() else { return };
            if w.gone_yet() {
                return;
            }
            let mut link = w.link.lock();
            if let Err(e) = w.take_in_bounded(&mut link.rx, None, true) {
                w.broken(&mut link, e);
                return;
            }
            w.pending.clone()
        };
        if pending.full() {
            // Back-pressure: the owners have not received enough yet.
            pending.wait(Duration::from_millis(100));
            continue;
        }
        ring.wait_readable(Sleeper::Standby, &NO_SPIN, None, &|| eof.load(Ordering::SeqCst));
    }
}

/// How often the socket's watcher also looks at the worker's callback
/// clock and at the worker process itself.
const WATCH_EVERY: Duration = Duration::from_millis(100);

/// Waits for the worker's end of the socket to close, or the worker to
/// exit (a helper it forked may hold the socket open: fork without exec
/// keeps even close-on-exec descriptors), then ends every wait on its rings
/// and reports its death. Meanwhile, every [`WATCH_EVERY`], the watchdog:
/// a driver callback running longer than the timeout, in a request or not
/// (`clock`), kills the worker.
fn watch_socket(worker: Weak<Worker>, mut sock: UnixStream) {
    let mut buf = [0u8; 64];
    let _ = sock.set_read_timeout(Some(WATCH_EVERY));
    loop {
        match sock.read(&mut buf) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                let Some(w) = worker.upgrade() else { return };
                if w.watchdog() {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    let Some(w) = worker.upgrade() else { return };
    w.eof.store(true, Ordering::SeqCst);
    w.rings.to_parent.interrupt();
    w.rings.to_worker.interrupt();
    let mut link = w.link.lock();
    w.gone(&mut link);
}

/// Delivers a `{msg, WPort, Message}` or `{send, WPort, Message}` event to
/// the owner of the parent's port (`msg`: from the port, its id rewritten;
/// `send`: sent by the driver to its caller or owner).
fn deliver(w: &Worker, ev: &Term) {
    if let Term::Tuple(t) = ev {
        w.event(t);
    }
}

/// [`deliver`] of the event `{Tag, WPort, Message}` (to the owner of the
/// parent's port) or `{Tag, WPort, Message, To}` (to parent process `To`,
/// which must be one the worker was given: else the event is dropped).
fn deliver_parts(w: &Worker, tag: &Term, wp: &Term, msg: &Term, to: Option<Pid>) {
    let Term::Port(wp) = wp else { return };
    if to.is_some_and(|to| !w.pids.lock().contains(&to)) {
        return;
    }
    let known = w.ports.lock().get(wp).cloned();
    let Some(p) = known.as_ref().and_then(Weak::upgrade) else {
        if known.is_none() {
            let mut ev = vec![tag.clone(), Term::Port(*wp), msg.clone()];
            ev.extend(to.map(Term::Pid));
            w.orphan(*wp, Term::Tuple(ev));
        }
        return;
    };
    let mut bytes = 0;
    if let Term::Tuple(m) = msg {
        if let [_, Term::Tuple(d)] = m.as_slice() {
            if d.len() == 2 && d[0].is_atom("data") {
                bytes = d[1].iolist_size().unwrap_or(0);
            }
        }
    }
    p.note_message(bytes);
    // The worker's port stands for this one wherever the driver named it.
    let msg = rewrite_port(msg, *wp, p.id());
    if p.phase() == port::Phase::Closed {
        return;
    }
    // Counted until received: the reader thread's back-pressure.
    let receipt = w.pending.receipt(w.frame_len.load(Ordering::Relaxed));
    match to {
        Some(to) if to != p.owner_pid() => {
            if let Some(host) = p.host.upgrade() {
                host.send(to, crate::process::Signal::Counted(msg, receipt));
            }
        }
        _ => port::send_any_counted(&p, msg, receipt),
    }
}

/// How many ports the parent keeps early events for (see
/// [`Worker::orphans`]).
const MAX_ORPHAN_PORTS: usize = 1024;

/// The worker is gone (and what it sent taken in): why, for every port.
/// Returns the reason.
fn crashed(w: &Worker) -> Term {
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
    w.is_dead.store(true, Ordering::Release);
    for (_, p) in w.ports.lock().drain() {
        let _ = w.exits.send((p, reason.clone(), false));
    }
    reason
}

/// The atom of a request's name, without a table look-up for the frequent
/// ones.
fn op_atom(op: &str) -> crate::term::Atom {
    match op {
        "control" => crate::atom!("control"),
        "command" => crate::atom!("command"),
        "call" => crate::atom!("call"),
        _ => crate::term::Atom::new(op),
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
        // Nested as deep as the worker likes: on a stack that grows.
        Term::Tuple(items) => crate::term::grow_stack(|| Term::Tuple(items.iter().map(|t| rewrite_port(t, from, to)).collect())),
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

/// Opens `command` in `worker`; returns the worker's port id, and no
/// events: what the port's `start` sent waits for [`attach`].
///
/// # Errors
/// What `open_port` raised in the worker, or the worker's death as `badarg`.
pub(crate) fn open_remote(
    host: &crate::host::HostInner,
    worker: &Arc<Worker>,
    owner: Pid,
    command: &str,
    options: &[Term],
) -> Result<(PortId, Option<Exited>), (BifError, Strays)> {
    worker.know(host, owner);
    let before: std::collections::HashSet<PortId> = worker.orphans.lock().keys().copied().collect();
    let r = worker.request("open", None, vec![Term::Pid(owner), Term::binary(command.as_bytes()), Term::List(options.to_vec())]);
    let e = match r {
        Ok(Reply { result: Ok(Term::Port(p)), exit }) => return Ok((p, exit)),
        Ok(Reply { result: Ok(_), .. }) => BifError::badarg("the worker answered open with no port"),
        Ok(Reply { result: Err(e), .. }) => to_bif_error(&e),
        Err(reason) => BifError::badarg(format!("{WORKER_DIED}: {reason}")),
    };
    // The events of ports that appeared while the open ran: the port it
    // opened and closed again.
    let mut orphans = worker.orphans.lock();
    let new: Vec<PortId> = orphans.keys().filter(|k| !before.contains(k)).copied().collect();
    let strays = new.into_iter().filter_map(|k| orphans.remove(&k).map(|evs| (k, evs))).collect();
    Err((e, strays))
}

/// How a port ended: the reason, and whether it had unlinked its owner
/// first (`exit_unlinked`).
pub(crate) type Exited = (Term, bool);

/// Events of worker ports that a failed open left: the port, its events.
pub(crate) type Strays = Vec<(PortId, Vec<Term>)>;

/// Forgets the worker's port `wport` (the parent's port for it is gone).
pub(crate) fn detach(worker: &Worker, wport: PortId) {
    worker.ports.lock().remove(&wport);
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
/// `start` sent (kept as orphans until now) and then `events`.
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
    ///
    /// The request runs in the worker as the stand-in of `caller` (its
    /// `driver_caller` there); the pids in `args` are made known to it.
    pub(crate) fn request(&self, port: &Port, op: &str, caller: Pid, args: Vec<Term>) -> Result<Term, BifError> {
        if let Some(host) = port.host.upgrade() {
            self.worker.know(&host, caller);
            // Only port_call's data is a term (commands and controls are
            // bytes).
            if op == "call" {
                for a in &args {
                    self.worker.know_all(&host, a);
                }
            }
        }
        let mut all = Vec::with_capacity(args.len() + 1);
        all.push(Term::Pid(caller));
        all.extend(args);
        match self.worker.request(op, Some(self.wport), all) {
            Ok(Reply { result, exit }) => {
                if let Some((reason, unlinked)) = self.settle(exit) {
                    if unlinked {
                        port::unlink_owner(port);
                    }
                    port::request_exit(port, reason, true);
                }
                result.map_err(|e| to_bif_error(&e))
            }
            Err(reason) => {
                self.worker.ports.lock().remove(&self.wport);
                port::request_exit(port, reason.clone(), true);
                Err(BifError::badarg(format!("{WORKER_DIED}: {reason}")))
            }
        }
    }

    /// Takes in a reply's exit (its events are delivered by now): if the
    /// remote port ended, forgets it and passes the exit on.
    fn settle(&self, exit: Option<(Term, bool)>) -> Option<(Term, bool)> {
        if exit.is_some() {
            self.worker.ports.lock().remove(&self.wport);
        }
        exit
    }

    /// `port_info(Port, Item)` of the remote port (for what only the worker
    /// knows: `queue_size`, `memory`).
    pub(crate) fn remote_info(&self, item: &Term) -> Option<Term> {
        match self.worker.request("info", Some(self.wport), vec![item.clone()]) {
            Ok(Reply { result: Ok(v), .. }) => Some(v),
            _ => None,
        }
    }

    /// `port_connect` made `pid` the owner: the worker's port gets the
    /// stand-in of `pid` as its owner (its `driver_connected`, and where
    /// its messages go).
    pub(crate) fn connect(&self, host: &crate::host::HostInner, pid: Pid) {
        self.worker.know(host, pid);
        let _ = self.worker.request("connect", Some(self.wport), vec![Term::Pid(pid)]);
    }

    /// `port_close`: closes the remote port; true if it is gone, false if it
    /// lingers to drain its driver queue (its exit event ends the parent's
    /// port later).
    pub(crate) fn close_now(&self) -> bool {
        match self.worker.request("close", Some(self.wport), Vec::new()) {
            Ok(Reply { exit, .. }) => self.settle(exit).is_some(),
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
    pub(crate) fn end(&self, reason: &Term) {
        if self.worker.ports.lock().remove(&self.wport).is_some() {
            let _ = if reason.is_atom("normal") {
                self.worker.request("close", Some(self.wport), Vec::new())
            } else {
                let reason = if reason.is_atom("killed") { atom("kill") } else { reason.clone() };
                self.worker.request("exit", Some(self.wport), vec![reason])
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
