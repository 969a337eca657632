//! The host: one runtime holding the driver registry, the port table and
//! the processes. Everything a port does goes through one [`Host`].
#![deny(unsafe_code)]

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};

use crate::ddll::{DriverInfo, Registry};
use crate::port::{self, PortTable};
use crate::process::{ProcShared, Process, Signal};
use crate::term::{Pid, Term};

/// How a [`Host`] is set up.
///
/// Start from [`HostConfig::default()`] and set what differs, with the
/// builder methods (one per field, named after it) or by assigning the
/// public fields; the struct is `#[non_exhaustive]`, so a new setting is not
/// a breaking change.
///
/// ```
/// use porthost::{Host, HostConfig};
/// let host = Host::new(HostConfig::default().async_threads(4).busy_wait(false));
/// # drop(host);
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct HostConfig {
    /// Directories searched, in order, for `NAME.so` when a port names a
    /// driver that is not loaded (porthost's load-by-name; ERTS requires an
    /// explicit `erl_ddll:load_driver/2` first). Default: empty.
    pub driver_paths: Vec<PathBuf>,
    /// Also search the bundled drivers (`drivers/c/`: `echo_drv`,
    /// `queue_drv`) after `driver_paths`. They are embedded in the library
    /// and written out on first use to a private directory (see
    /// `host/kit/`), so an installed porthost has them. Default: `true`.
    pub bundled_drivers: bool,
    /// Threads in the async pool (`driver_async`; ERTS's `+A`). Default: 1,
    /// as in ERTS 25; 0 runs async jobs at once in the calling thread.
    pub async_threads: usize,
    /// Run every driver in a worker process, as if each `open_port` had the
    /// `isolated` option (see the README's "Crash isolation"). Default: `false`.
    pub isolate: bool,
    /// Drivers (by name) always run in a worker process, whatever the
    /// `open_port` options. Default: none.
    pub isolated_drivers: Vec<String>,
    /// The `porthost` executable that runs workers. Default: `None`, which
    /// means `$PORTHOST_WORKER`, else a `porthost` beside the running
    /// program or in its parent directory.
    pub worker_exe: Option<PathBuf>,
    /// The watchdog: how long a request to an isolated port may take before
    /// its worker is killed and its ports exit with `{driver_timeout, Ms}`.
    /// Default: 30 s; `None` waits for ever.
    pub isolation_timeout: Option<std::time::Duration>,
    /// Resource limits of each worker process (`setrlimit`), so that a driver
    /// that eats memory or CPU ends its worker, not the machine. Default:
    /// none.
    pub worker_limits: WorkerLimits,
    /// Whether threads that wait for a driver's answer spin a little before
    /// they sleep, as ERTS's schedulers busy-wait (`+sbwt`): a process in
    /// `receive` for up to 50 µs, the poll thread for 100 µs after an event.
    /// On a virtual machine, waking a thread whose CPU has gone idle costs
    /// 50–100 µs, so spinning makes driver replies much faster; `false`
    /// (ERTS's `+sbwt none`) spends no CPU time waiting. The rings of
    /// isolated ports spin either way. Default: `true`.
    pub busy_wait: bool,
    /// The `{kill_timeout, Ms}` of every external-program port that does
    /// not give its own: when the port closes, for any reason, the child's
    /// process group gets `SIGTERM`, then `SIGKILL` this long after, and the
    /// child gets `SIGKILL` if porthost dies. Default: `None`, ERTS's
    /// behaviour (the child is left to exit at EOF on its input).
    pub kill_timeout: Option<std::time::Duration>,
    /// The most ports open at once (ERTS's `+Q`): past it `open_port`
    /// raises `system_limit` and `driver_create_port` fails. As ERTS does
    /// with `+Q`, the value is rounded up to a power of two and kept within
    /// 1,024..=134,217,727 ([`HostConfig::effective_port_limit`]). Unlike
    /// ERTS, porthost has no ports of its own that count against it.
    /// Default: 65,536, ERTS 25's.
    pub port_limit: usize,
    /// At most this many ports open at once on a driver, by name, as
    /// `erl_ddll:info(Name, port_count)` counts them (a driver loaded in
    /// this process; a driver loaded only in isolated workers is not
    /// limited, nor are external programs): `open_port` past it raises
    /// `system_limit`. Default: none.
    pub driver_port_limits: Vec<(String, usize)>,
    /// Open a control socket at this path (a Unix socket, mode 0600, that
    /// answers only processes of this host's user: see
    /// `porthost ports --connect` and `porthost top`). Default: `None`.
    pub control_socket: Option<PathBuf>,
    /// Check every `erl_driver` call and callback of the drivers this
    /// process loads (see [`crate::check`]): once on, the checker stays on
    /// for the whole process. Default: off.
    pub check: bool,
}

/// `setrlimit` limits for isolated workers; `None` leaves a limit as the
/// parent has it. Built like [`HostConfig`]: `WorkerLimits::default()`
/// and a builder method per field.
#[derive(Debug, Clone, Copy, Default)]
#[non_exhaustive]
pub struct WorkerLimits {
    /// Address space in bytes (`RLIMIT_AS`): allocations past it fail.
    pub memory_bytes: Option<u64>,
    /// CPU time in seconds (`RLIMIT_CPU`): the worker gets `SIGXCPU`.
    pub cpu_seconds: Option<u64>,
}

impl Default for HostConfig {
    fn default() -> HostConfig {
        HostConfig {
            driver_paths: Vec::new(),
            bundled_drivers: true,
            async_threads: 1,
            isolate: false,
            isolated_drivers: Vec::new(),
            worker_exe: None,
            isolation_timeout: Some(std::time::Duration::from_secs(30)),
            worker_limits: WorkerLimits::default(),
            busy_wait: true,
            kill_timeout: None,
            port_limit: DEFAULT_PORT_LIMIT,
            driver_port_limits: Vec::new(),
            control_socket: None,
            check: false,
        }
    }
}

/// ERTS 25's default port limit (`erlang:system_info(port_limit)`).
pub const DEFAULT_PORT_LIMIT: usize = 65_536;

impl HostConfig {
    /// The port limit the host applies for [`HostConfig::port_limit`]: as
    /// ERTS applies `+Q N` (`erts_ptab_init`), the next power of two, at
    /// least 1,024 and at most 2^27 (ERTS refuses values outside
    /// 1,024..=134,217,727; this clamps them).
    pub fn effective_port_limit(&self) -> usize {
        self.port_limit.clamp(1024, 134_217_727).next_power_of_two().min(1 << 27)
    }
}

/// Builder methods: each sets the field of the same name and returns the
/// config (see the fields for meanings and defaults).
macro_rules! setters {
    ($ty:ty { $($field:ident: $t:ty),* $(,)? }) => {
        impl $ty {
            $(
                #[doc = concat!("Sets [`", stringify!($ty), "::", stringify!($field), "`].")]
                #[must_use]
                pub fn $field(mut self, value: $t) -> Self {
                    self.$field = value;
                    self
                }
            )*
        }
    };
}

setters!(HostConfig {
    driver_paths: Vec<PathBuf>,
    bundled_drivers: bool,
    async_threads: usize,
    isolate: bool,
    isolated_drivers: Vec<String>,
    worker_exe: Option<PathBuf>,
    isolation_timeout: Option<std::time::Duration>,
    worker_limits: WorkerLimits,
    busy_wait: bool,
    kill_timeout: Option<std::time::Duration>,
    port_limit: usize,
    driver_port_limits: Vec<(String, usize)>,
    control_socket: Option<PathBuf>,
    check: bool,
});

setters!(WorkerLimits { memory_bytes: Option<u64>, cpu_seconds: Option<u64> });

pub(crate) struct HostInner {
    pub(crate) search_path: Vec<PathBuf>,
    /// [`HostConfig::busy_wait`].
    pub(crate) busy_wait: bool,
    /// [`HostConfig::kill_timeout`].
    pub(crate) kill_timeout: Option<std::time::Duration>,
    /// [`HostConfig::effective_port_limit`].
    pub(crate) port_limit: usize,
    /// [`HostConfig::driver_port_limits`].
    pub(crate) driver_port_limits: Vec<(String, usize)>,
    /// The control socket's listener, while it runs (see [`crate::control`]).
    pub(crate) control: Mutex<Option<crate::control::Listener>>,
    pub(crate) ddll: Mutex<Registry>,
    pub(crate) ports: PortTable,
    pub(crate) procs: RwLock<HashMap<Pid, Arc<ProcShared>>>,
    pub(crate) timers: crate::timer::Timers,
    pub(crate) poll: crate::poll::Poll,
    pub(crate) async_pool: crate::async_pool::AsyncPool,
    /// Workers of isolated ports, by driver file (one per driver).
    pub(crate) workers: Mutex<HashMap<String, Arc<crate::isolate::Worker>>>,
    /// Every worker started (per driver and per port), to tell each of the
    /// exit of a process it has a stand-in for.
    pub(crate) all_workers: Mutex<Vec<std::sync::Weak<crate::isolate::Worker>>>,
    /// Drivers that a driver in a worker registered (`add_driver_entry`):
    /// `open_port` of such a name, if no loaded driver has it, opens in
    /// that worker.
    pub(crate) remote_entries: Mutex<HashMap<String, std::sync::Weak<crate::isolate::Worker>>>,
    pub(crate) spawner: crate::isolate::Spawner,
    pub(crate) isolate_by_default: bool,
    pub(crate) isolated_drivers: Vec<String>,
    pub(crate) quarantine: crate::isolate::Quarantine,
    /// Where to report every port's end as `{'$port_exit', Port, Reason}`
    /// (an isolated worker's proxy listens), linked or not.
    pub(crate) port_exit_hook: Mutex<Option<crossbeam_channel::Sender<Signal>>>,
    /// Registered names (`register/2`): a name to a pid or port term.
    pub(crate) names: Mutex<HashMap<crate::term::Atom, Term>>,
    next_pid: AtomicU32,
    next_ref: std::sync::atomic::AtomicU64,
}

/// A porthost runtime. Cheap to clone (a shared handle); the runtime lives
/// while any handle or [`Process`] does, and when the last goes every port
/// still open is closed (its `stop` is called) and every driver unloaded.
#[derive(Clone)]
pub struct Host {
    pub(crate) inner: Arc<HostInner>,
}

impl Host {
    /// A new host with its own driver registry and port table.
    pub fn new(config: HostConfig) -> Host {
        crate::abi::sys::start_clock();
        if config.check {
            crate::check::enable_check();
        }
        let mut search_path = config.driver_paths.clone();
        if config.bundled_drivers {
            match crate::kit::bundled_drivers_dir() {
                Ok(dir) => search_path.push(dir),
                Err(e) => eprintln!("porthost: no bundled drivers: {e}"),
            }
        }
        let host = Host {
            inner: Arc::new(HostInner {
                search_path,
                ddll: Mutex::new(Registry::default()),
                ports: PortTable::default(),
                procs: RwLock::new(HashMap::new()),
                timers: Default::default(),
                poll: Default::default(),
                async_pool: crate::async_pool::AsyncPool::new(config.async_threads),
                workers: Mutex::new(HashMap::new()),
                all_workers: Mutex::new(Vec::new()),
                remote_entries: Mutex::new(HashMap::new()),
                spawner: crate::isolate::Spawner {
                    exe: config.worker_exe.clone(),
                    timeout: config.isolation_timeout,
                    limits: config.worker_limits,
                },
                isolate_by_default: config.isolate,
                isolated_drivers: config.isolated_drivers.clone(),
                busy_wait: config.busy_wait,
                kill_timeout: config.kill_timeout,
                port_limit: config.effective_port_limit(),
                driver_port_limits: config.driver_port_limits.clone(),
                control: Mutex::new(None),
                quarantine: Default::default(),
                port_exit_hook: Mutex::new(None),
                names: Mutex::new(HashMap::new()),
                next_pid: AtomicU32::new(80),
                next_ref: std::sync::atomic::AtomicU64::new(1),
            }),
        };
        if let Some(path) = &config.control_socket {
            // Host::new cannot fail: an error is logged, and the host runs
            // without (Host::open_control_socket returns it).
            if let Err(e) = host.open_control_socket(path) {
                tracing::error!(path = %path.display(), error = %e, "cannot open the control socket");
            }
        }
        host
    }

    /// Starts a new process: a pid and a mailbox, able to own ports.
    pub fn spawn_process(&self) -> Process {
        let pid = Pid(self.inner.next_pid.fetch_add(1, Ordering::Relaxed));
        Process::new(self.inner.clone(), pid)
    }

    /// The directories searched for drivers by name, in order.
    pub fn driver_search_path(&self) -> &[PathBuf] {
        &self.inner.search_path
    }

    /// The names of the loaded drivers (`erl_ddll:loaded_drivers/0`).
    pub fn loaded_drivers(&self) -> Vec<String> {
        self.inner.ddll.lock().names()
    }

    /// What `erl_ddll:info/1` reports of `name`, `None` if not loaded.
    pub fn driver_info(&self, name: &str) -> Option<DriverInfo> {
        self.inner.ddll.lock().info(name)
    }

    /// True if `pid` is a live process of this host.
    pub fn is_process_alive(&self, pid: Pid) -> bool {
        self.inner.procs.read().contains_key(&pid)
    }
}

impl HostInner {
    /// `system_limit` if one more port, on driver `driver` (`""` for an
    /// external program), would pass the host's or the driver's limit.
    /// Checked when `open_port` starts: opens running at the same moment in
    /// several processes may together pass it by at most their number.
    pub(crate) fn check_port_limit(&self, driver: &str) -> Result<(), crate::error::BifError> {
        if self.ports.len() >= self.port_limit {
            tracing::warn!(limit = self.port_limit, "open_port: system_limit (port limit reached)");
            return Err(crate::error::BifError::SystemLimit);
        }
        if driver.is_empty() {
            return Ok(());
        }
        if let Some((_, n)) = self.driver_port_limits.iter().find(|(d, _)| d == driver) {
            let open = self.ddll.lock().info(driver).map_or(0, |i| i.port_count);
            if open >= *n {
                tracing::warn!(driver, limit = *n, "open_port: system_limit (driver's port limit reached)");
                return Err(crate::error::BifError::SystemLimit);
            }
        }
        Ok(())
    }

    /// Delivers `sig` to `pid`; dropped if the process is gone.
    pub(crate) fn send(&self, pid: Pid, sig: Signal) {
        if let Some(p) = self.procs.read().get(&pid) {
            p.signal(sig);
        }
    }

    /// Runs `f` on the driver registry, then delivers the `erl_ddll:monitor/2`
    /// messages it made due, once the registry's lock is let go.
    pub(crate) fn with_ddll<R>(&self, f: impl FnOnce(&mut crate::ddll::Registry) -> R) -> R {
        let (r, notices) = {
            let mut reg = self.ddll.lock();
            let r = f(&mut reg);
            (r, reg.take_notices())
        };
        for (pid, msg) in notices {
            self.send(pid, Signal::Message(msg));
        }
        r
    }

    /// A new reference (`make_ref/0`).
    pub(crate) fn make_ref(&self) -> crate::term::Ref {
        crate::term::Ref(self.next_ref.fetch_add(1, Ordering::Relaxed))
    }

    /// The name `t` (a pid or port) is registered under, if any.
    pub(crate) fn registered_name(&self, t: &Term) -> Option<crate::term::Atom> {
        self.names.lock().iter().find(|(_, v)| *v == t).map(|(k, _)| *k)
    }

    /// Drops the registration of `t` (it exited).
    pub(crate) fn unregister_term(&self, t: &Term) {
        self.names.lock().retain(|_, v| v != t);
    }

    /// A process ended with `reason`: its ports get the exit signal (a port
    /// closes when its owner exits, whatever the reason), then linked
    /// processes get it and monitors fire (so a port the process owned is
    /// closed by the time its `'DOWN'` message arrives), and its `erl_ddll`
    /// references go.
    pub(crate) fn process_exited(self: &Arc<Self>, proc_: &ProcShared, reason: &Term) {
        self.procs.write().remove(&proc_.pid);
        self.unregister_term(&Term::Pid(proc_.pid));
        // Drivers' monitors fire first: a port the process owns and
        // monitors gets process_exit before its link closes it (ERTS 25).
        // The monitors this process holds on ports go with it.
        for (r, id) in std::mem::take(&mut *proc_.port_watches.lock()) {
            if let Some(p) = self.ports.get(id) {
                p.watchers.lock().retain(|(w, _, _)| *w != r);
            }
        }
        let monitors = std::mem::take(&mut *proc_.monitored_by.lock());
        for (id, port) in monitors {
            if let Some(p) = self.ports.get(port) {
                port::monitor_fired(&p, id);
            }
        }
        // So do the monitors of drivers in workers (the process's stand-in
        // there exits), before the links below close its ports.
        let workers: Vec<Arc<crate::isolate::Worker>> = self.all_workers.lock().iter().filter_map(|w| w.upgrade()).collect();
        for w in workers {
            if w.forget(proc_.pid) {
                w.down(proc_.pid, reason);
            }
        }
        let linked = std::mem::take(&mut *proc_.links.lock());
        for port in linked {
            // The link goes with the process (a port that survives a
            // `normal` exit of a linked process that is not its owner no
            // longer lists it in `links`, as in ERTS).
            port::unlink(self, proc_, port);
            port::exit_signal(self, proc_.pid, port, reason.clone());
        }
        let plinks = std::mem::take(&mut *proc_.plinks.lock());
        for pid in plinks {
            self.send(pid, Signal::Exit { from: Term::Pid(proc_.pid), reason: Box::new(reason.clone()) });
        }
        let watchers = std::mem::take(&mut *proc_.watchers.lock());
        for (r, pid) in watchers {
            self.send(pid, Signal::Message(crate::process::down(r, proc_.pid, reason.clone())));
        }
        let kill = self.with_ddll(|reg| reg.release_process(proc_.pid));
        for name in kill {
            self.kill_driver_ports(&name);
        }
    }

    /// Records a worker (once) so that it hears of process exits.
    pub(crate) fn note_worker(self: &Arc<Self>, w: &Arc<crate::isolate::Worker>) {
        w.attach_host(self);
        let mut all = self.all_workers.lock();
        if all.iter().any(|x| std::ptr::eq(x.as_ptr(), Arc::as_ptr(w))) {
            return;
        }
        all.retain(|x| x.strong_count() > 0);
        all.push(Arc::downgrade(w));
    }

    /// Kills every port of driver `name` with reason `driver_unloaded`
    /// (`kill_ports` on the last unload).
    pub(crate) fn kill_driver_ports(self: &Arc<Self>, name: &str) {
        for p in self.ports.all() {
            if p.driver_name() == name {
                port::terminate(self, &p, Term::atom("driver_unloaded"));
            }
        }
    }
}

impl Drop for HostInner {
    fn drop(&mut self) {
        self.timers.shutdown();
        self.poll.shutdown();
        self.async_pool.shutdown();
        for p in self.ports.all() {
            port::shutdown(&p);
        }
        self.ddll.lock().clear();
    }
}
