//! Dynamic driver loading: the driver registry, as ERTS's `erl_ddll`.
//!
//! [`load_library`] opens `Path/Name.so` with `RTLD_NOW` (so a driver that
//! needs a symbol porthost lacks fails here, with `dlerror`'s text), calls
//! its `driver_init`, checks the entry the way ERTS's `erl_bif_ddll.c` does
//! (extended marker `0xfeeeeeed`, major version 3 — ERTS 25 also loads
//! drivers of major version 2 — and `driver_name` equal to the name asked
//! for) and then calls the entry's `init`.
//!
//! [`Registry`] keeps the loaded drivers with ERTS's reference counting: each
//! process holds a count per driver (`load` adds one, `unload` removes one);
//! a driver is unloaded when no process holds it and no port uses it: its
//! `finish` is called and the library is closed with `dlclose`, as ERTS does.
//! (A driver whose threads or thread-local destructors outlive `finish` must
//! not be unloaded; ERTS has the same rule, and such a driver should make
//! itself permanent with `driver_lock_driver`.)

use std::collections::{BTreeMap, HashMap};
use std::ffi::CStr;
use std::path::{Path, PathBuf};
use std::ptr::NonNull;
use std::sync::Arc;

use crate::error::DdllError;
use crate::ffi::ErlDrvEntry;
use crate::term::{Pid, Ref, Term};

/// `ERL_DRV_EXTENDED_MARKER`.
pub const EXTENDED_MARKER: u32 = 0xfeee_eeed;
/// The major version porthost implements (`ERL_DRV_EXTENDED_MAJOR_VERSION`).
pub const MAJOR_VERSION: i32 = 3;
/// The minor version porthost implements (`ERL_DRV_EXTENDED_MINOR_VERSION`).
pub const MINOR_VERSION: i32 = 3;
/// The oldest major version ERTS 25 still loads.
pub const MIN_MAJOR_VERSION: i32 = 2;
/// `ERL_DRV_FLAG_USE_PORT_LOCKING`.
pub const FLAG_USE_PORT_LOCKING: i32 = 1;

/// A loaded driver: its entry and the library that holds it. The library
/// outlives every use of the entry, because both live in this one owner and
/// ports hold it through an `Arc`.
pub struct Driver {
    name: String,
    path: PathBuf,
    entry: NonNull<ErlDrvEntry>,
    /// Serialises calls into a driver without `ERL_DRV_FLAG_USE_PORT_LOCKING`
    /// (ERTS's driver-level locking): the port lock of each of its ports
    /// (see `crate::port::lock`).
    pub(crate) driver_lock: crate::port::lock::SharedLock,
    library: Option<libloading::os::unix::Library>,
}

// SAFETY: the entry is immutable after load, and the driver's callbacks are
// called under the driver or port lock as ERTS calls them.
unsafe impl Send for Driver {}
// SAFETY: as above.
unsafe impl Sync for Driver {}

impl Driver {
    /// A driver whose entry lives in code that is already loaded (no library
    /// of its own); its `init` is the caller's business.
    pub(crate) fn from_static(name: &str, entry: NonNull<ErlDrvEntry>) -> Driver {
        Driver { name: name.to_owned(), path: PathBuf::new(), entry, driver_lock: Default::default(), library: None }
    }

    /// The driver name (`driver_name` of its entry).
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The shared object it was loaded from.
    pub fn path(&self) -> &Path {
        &self.path
    }
    /// The driver entry.
    pub fn entry(&self) -> &ErlDrvEntry {
        // SAFETY: the entry lives in the library, which `self` keeps open.
        unsafe { self.entry.as_ref() }
    }
    /// True when the driver asks for port-level locking.
    pub fn port_locking(&self) -> bool {
        self.entry().driver_flags & FLAG_USE_PORT_LOCKING != 0
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        tracing::info!(driver = %self.name(), "driver unloaded");
        if let Some(finish) = self.entry().finish {
            let _guard = self.driver_lock.lock();
            // SAFETY: `finish` takes no arguments; it runs once, when the
            // last reference to the loaded driver goes, before dlclose.
            unsafe { finish() }
        }
        if self.library.is_some() {
            let mut all = library_entries().lock();
            if let Some(i) = all.iter().position(|e| *e == self.entry.as_ptr() as usize) {
                all.swap_remove(i);
            }
        }
        // `library` drops after this, closing the shared object.
        drop(self.library.take());
    }
}

/// Opens `dir/name.so` and initialises the driver in it; see the module
/// docs for the checks made.
///
/// # Errors
/// Every failure is a [`DdllError`] naming the file: [`DdllError::OpenError`]
/// (with `dlerror`'s text), [`DdllError::NoDriverInit`],
/// [`DdllError::IncorrectVersion`], [`DdllError::BadDriverName`],
/// [`DdllError::InitFailed`].
pub fn load_library(dir: &Path, name: &str) -> Result<Arc<Driver>, DdllError> {
    let r = open_library(dir, name);
    match &r {
        Ok(_) => tracing::info!(driver = name, dir = %dir.display(), "driver loaded"),
        Err(e) => tracing::warn!(driver = name, dir = %dir.display(), error = %e, "driver load failed"),
    }
    r
}

fn open_library(dir: &Path, name: &str) -> Result<Arc<Driver>, DdllError> {
    let path = driver_file(dir, name);
    // The API shim first, so that the driver finds the erl_driver symbols
    // in any binary (see crate::kit::shim); if it fails, dlopen's own
    // error below says which symbol is missing.
    let _ = crate::kit::shim::ensure_loaded();
    // SAFETY: loading a library runs its initialisers; a driver is trusted
    // code by definition (ERTS loads it the same way).
    let library = unsafe {
        libloading::os::unix::Library::open(Some(&path), libc::RTLD_NOW | libc::RTLD_LOCAL)
    }
    .map_err(|e| DdllError::OpenError { message: dl_message(&e, &path), path: path.clone(), code: 0 })?;
    // SAFETY: `driver_init` is declared by DRIVER_INIT as
    // `ErlDrvEntry *driver_init(void)`.
    let init: libloading::os::unix::Symbol<unsafe extern "C" fn() -> *mut ErlDrvEntry> =
        unsafe { library.get(b"driver_init\0") }
            .map_err(|_| DdllError::NoDriverInit { path: path.clone() })?;
    // SAFETY: calling the driver's own init function, as ERTS does.
    let entry = unsafe { init() };
    let entry = NonNull::new(entry).ok_or(DdllError::InitFailed { name: name.to_owned() })?;
    // SAFETY: driver_init returned a pointer to its static entry, which
    // lives as long as the library.
    let e = unsafe { entry.as_ref() };
    let marker = e.extended_marker as u32;
    if marker != EXTENDED_MARKER
        || e.major_version < MIN_MAJOR_VERSION
        || e.major_version > MAJOR_VERSION
        || (e.major_version == MAJOR_VERSION && e.minor_version > MINOR_VERSION)
    {
        return Err(DdllError::IncorrectVersion {
            path,
            found: (marker, e.major_version, e.minor_version),
        });
    }
    let found = if e.driver_name.is_null() {
        String::new()
    } else {
        // SAFETY: driver_name is a NUL-terminated string in the library.
        unsafe { CStr::from_ptr(e.driver_name) }.to_string_lossy().into_owned()
    };
    if found != name {
        return Err(DdllError::BadDriverName { wanted: name.to_owned(), found });
    }
    if let Some(init) = e.init {
        // SAFETY: the entry's init takes no arguments and is called once.
        if unsafe { init() } != 0 {
            return Err(DdllError::InitFailed { name: name.to_owned() });
        }
    }
    library_entries().lock().push(entry.as_ptr() as usize);
    Ok(Arc::new(Driver {
        name: name.to_owned(),
        path,
        entry,
        driver_lock: Default::default(),
        library: Some(library),
    }))
}

/// The file of driver `name` in `dir`: `dir/NAME.so`, as ERTS looks for
/// it, or else `dir/libNAME.so` if only that exists (cargo names a Rust
/// `cdylib` so, e.g. `target/debug/libmy_drv.so`).
pub(crate) fn driver_file(dir: &Path, name: &str) -> PathBuf {
    let plain = dir.join(format!("{name}.so"));
    if !plain.exists() {
        let lib = dir.join(format!("lib{name}.so"));
        if lib.is_file() {
            return lib;
        }
    }
    plain
}

/// `dlerror`'s text without the `"PATH: "` glibc puts first (ERTS stores it
/// so).
fn dl_message(e: &libloading::Error, path: &Path) -> String {
    use std::error::Error;
    let text = match e.source() {
        Some(s) => s.to_string(),
        None => e.to_string(),
    };
    let prefix = format!("{}: ", path.display());
    text.strip_prefix(&prefix).map(str::to_owned).unwrap_or(text)
}

fn static_entries() -> &'static parking_lot::Mutex<Vec<Arc<Driver>>> {
    static ENTRIES: std::sync::OnceLock<parking_lot::Mutex<Vec<Arc<Driver>>>> = std::sync::OnceLock::new();
    ENTRIES.get_or_init(Default::default)
}

/// `add_driver_entry`: registers a driver entry that lives in already
/// loaded code (no library of its own), for every host; its `init` runs
/// now. A later entry with the same name replaces an earlier one.
///
/// # Safety
/// `entry` must point to a valid `ErlDrvEntry` (a NUL-terminated or null
/// `driver_name`, callbacks that follow `erl_driver.h`) that outlives its
/// registration.
pub(crate) unsafe fn add_static_entry(entry: NonNull<ErlDrvEntry>) {
    // SAFETY: the caller's entry, valid by this function's contract.
    let e = unsafe { entry.as_ref() };
    if e.driver_name.is_null() {
        return;
    }
    // SAFETY: NUL-terminated by contract.
    let name = unsafe { CStr::from_ptr(e.driver_name) }.to_string_lossy().into_owned();
    if let Some(init) = e.init {
        // SAFETY: the entry's init, called once per registration.
        if unsafe { init() } != 0 {
            return;
        }
    }
    let driver = Arc::new(Driver::from_static(&name, entry));
    {
        let mut all = static_entries().lock();
        all.retain(|d| d.name != name);
        all.push(driver);
    }
    notice("entry_added", &name);
}

/// What a driver does to the registry from inside (`driver_lock_driver`,
/// `add_driver_entry`, `remove_driver_entry`): `{locked | entry_added |
/// entry_removed, Name}`. An isolated worker sets this to tell its parent.
pub(crate) type Notice = Box<dyn Fn(&str, &str) + Send + Sync>;

/// Where [`Notice`]s go, if anywhere (set once, by a worker).
pub(crate) static NOTICES: std::sync::OnceLock<Notice> = std::sync::OnceLock::new();

/// Tells the [`NOTICES`] hook, if set, of `what` on driver `name`.
pub(crate) fn notice(what: &str, name: &str) {
    if let Some(f) = NOTICES.get() {
        f(what, name);
    }
}

/// `remove_driver_entry`: 1 if `entry` was registered by
/// [`add_static_entry`] and is now removed, -1 if it is the entry of a
/// library loaded by `erl_ddll` (in any host; ERTS refuses those), else 0.
pub fn remove_static_entry(entry: *mut ErlDrvEntry) -> i32 {
    let mut all = static_entries().lock();
    let gone: Vec<String> = all.iter().filter(|d| d.entry.as_ptr() == entry).map(|d| d.name.clone()).collect();
    all.retain(|d| d.entry.as_ptr() != entry);
    drop(all);
    if !gone.is_empty() {
        for name in gone {
            notice("entry_removed", &name);
        }
        1
    } else if library_entries().lock().contains(&(entry as usize)) {
        -1
    } else {
        0
    }
}

/// The entries of the libraries loaded now, in every host (addresses).
fn library_entries() -> &'static parking_lot::Mutex<Vec<usize>> {
    static ENTRIES: std::sync::OnceLock<parking_lot::Mutex<Vec<usize>>> = std::sync::OnceLock::new();
    ENTRIES.get_or_init(Default::default)
}

/// A driver registered by `add_driver_entry`, by name.
pub fn static_entry(name: &str) -> Option<Arc<Driver>> {
    static_entries().lock().iter().find(|d| d.name == name).cloned()
}

/// One driver in the registry.
struct Record {
    driver: Arc<Driver>,
    /// Load counts per process (`erl_ddll:load/2` calls not yet unloaded).
    users: BTreeMap<Pid, u32>,
    /// Loaded by `open_port` from the driver path rather than by `erl_ddll`;
    /// such a driver stays loaded while the host lives.
    autoloaded: bool,
    /// `kill_ports`: unloading by the last user kills the driver's ports
    /// (`erl_ddll:load_driver/2` sets it).
    kill_ports: bool,
    /// Ports open on the driver.
    ports: usize,
    /// Made permanent by `driver_lock_driver`.
    permanent: bool,
    /// `erl_ddll:monitor(driver, {Name, unloaded | unloaded_only})`
    /// monitors waiting for the driver to go, oldest first.
    monitors: Vec<Monitor>,
}

impl Record {
    /// No process holds the driver but its ports keep it: an unload is
    /// pending (ERTS's `ERL_DE_UNLOAD`).
    fn unload_pending(&self) -> bool {
        self.users.is_empty() && !self.autoloaded && !self.permanent
    }
}

/// One `erl_ddll:monitor/2` waiting on a driver.
struct Monitor {
    pid: Pid,
    reference: Ref,
    /// `unloaded_only`: not told when the unload is cancelled.
    only: bool,
}

/// What an `erl_ddll:monitor(driver, {Name, When})` waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MonitorWhen {
    /// `loaded`.
    Loaded,
    /// `unloaded`: also told when a pending unload is cancelled.
    Unloaded,
    /// `unloaded_only`.
    UnloadedOnly,
}

/// `{Type, Ref, driver, Name, Tag}`: an `erl_ddll:monitor/2` message.
fn monitor_message(kind: &str, reference: Ref, name: Term, tag: &str) -> Term {
    Term::Tuple(vec![Term::atom(kind), Term::Ref(reference), Term::atom("driver"), name, Term::atom(tag)])
}

/// What `unload` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unloaded {
    /// The driver is gone.
    Unloaded,
    /// Other processes still hold it.
    PendingProcess,
    /// Ports still use it; it goes when they close.
    PendingDriver,
}

/// The loaded drivers, by name, with their reference counts.
#[derive(Default)]
pub struct Registry {
    drivers: HashMap<String, Record>,
    /// The texts of dynamic load errors; the text at index `i` has the code
    /// `-10 - i` in `{open_error, Code}` (ERTS's table in erl_unix_ddll.c,
    /// which is never cleared).
    open_errors: Vec<String>,
    /// `erl_ddll:monitor/2` messages due, to deliver once the registry's
    /// lock is let go (`HostInner::with_ddll`).
    notices: Vec<(Pid, Term)>,
}

impl Registry {
    /// The loaded driver called `name`.
    pub fn get(&self, name: &str) -> Option<Arc<Driver>> {
        self.drivers.get(name).map(|r| r.driver.clone())
    }

    /// `erl_ddll:load(Path, Name)` for process `pid` (`load_driver` sets
    /// `kill_ports`). Loads the library if needed, else checks that `dir`
    /// matches and counts one more reference.
    ///
    /// # Errors
    /// As [`load_library`], and [`DdllError::Inconsistent`] if the driver is
    /// loaded from another directory.
    pub fn load(&mut self, pid: Pid, dir: &Path, name: &str, kill_ports: bool) -> Result<bool, DdllError> {
        if let Some(r) = self.drivers.get_mut(name) {
            if r.permanent {
                return Err(DdllError::Permanent);
            }
            if r.driver.path != driver_file(dir, name) || r.kill_ports != kill_ports {
                return Err(DdllError::Inconsistent);
            }
            if r.unload_pending() {
                // ERTS: notify_all(ERL_DE_PROC_AWAIT_UNLOAD, 'UP',
                // unload_cancelled); unloaded_only monitors keep waiting.
                for m in r.monitors.iter().rev().filter(|m| !m.only) {
                    let msg = monitor_message("UP", m.reference, Term::atom(name), "unload_cancelled");
                    self.notices.push((m.pid, msg));
                }
                r.monitors.retain(|m| m.only);
            }
            *r.users.entry(pid).or_insert(0) += 1;
            return Ok(false);
        }
        let driver = load_library(dir, name).map_err(|e| self.number(e))?;
        let mut users = BTreeMap::new();
        users.insert(pid, 1);
        self.drivers.insert(
            name.to_owned(),
            Record { driver, users, autoloaded: false, kill_ports, ports: 0, permanent: false, monitors: Vec::new() },
        );
        Ok(true)
    }

    /// Loads `name` from the first of `dirs` that has `name.so`, held by the
    /// host rather than a process (porthost's load-by-name for
    /// `open_port`).
    ///
    /// # Errors
    /// [`DdllError::OpenError`] naming every directory tried if none has the
    /// file; otherwise as [`load_library`].
    pub fn autoload(&mut self, dirs: &[PathBuf], name: &str) -> Result<Arc<Driver>, DdllError> {
        if let Some(d) = self.get(name) {
            return Ok(d);
        }
        let Some(dir) = dirs.iter().find(|d| driver_file(d, name).is_file()) else {
            let tried: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
            return Err(DdllError::OpenError {
                path: PathBuf::from(format!("{name}.so")),
                message: format!(
                    "no {name}.so (or lib{name}.so, as cargo names a cdylib) in the driver path ({}); \
                     add the driver's directory with --driver-path DIR (HostConfig::driver_paths)",
                    tried.join(", ")
                ),
                code: 0,
            });
        };
        let driver = load_library(dir, name).map_err(|e| self.number(e))?;
        self.drivers.insert(
            name.to_owned(),
            Record {
                driver: driver.clone(),
                users: BTreeMap::new(),
                autoloaded: true,
                kill_ports: false,
                ports: 0,
                permanent: false,
                monitors: Vec::new(),
            },
        );
        Ok(driver)
    }

    /// Gives an open error its code in the table, as ERTS does; a failed
    /// lookup of `driver_init` also enters the texts of ERTS's two `dlsym`
    /// attempts (`driver_init`, `_driver_init`), as ERTS does.
    fn number(&mut self, e: DdllError) -> DdllError {
        match e {
            DdllError::OpenError { path, message, .. } => {
                let code = self.open_error_code(&message);
                DdllError::OpenError { path, message, code }
            }
            DdllError::NoDriverInit { path } => {
                for sym in ["driver_init", "_driver_init"] {
                    self.open_error_code(&format!("{}: undefined symbol: {sym}", path.display()));
                }
                DdllError::NoDriverInit { path }
            }
            e => e,
        }
    }

    fn open_error_code(&mut self, text: &str) -> i64 {
        let i = match self.open_errors.iter().position(|t| t == text) {
            Some(i) => i,
            None => {
                self.open_errors.push(text.to_owned());
                self.open_errors.len() - 1
            }
        };
        -10 - i as i64
    }

    /// `erl_ddll:format_error(Reason)`: ERTS 25's text for an `erl_ddll`
    /// error reason; `None` where ERTS raises `badarg`.
    pub fn format_error(&self, reason: &Term) -> Option<String> {
        if let Term::Tuple(t) = reason {
            let [tag, Term::Int(code)] = t.as_slice() else { return None };
            if !tag.is_atom("open_error") {
                return None;
            }
            let text = match *code {
                c if c <= -10 => {
                    return Some(
                        self.open_errors
                            .get((-10 - c) as usize)
                            .cloned()
                            .unwrap_or_else(|| "Unknown dlload error".to_owned()),
                    )
                }
                -1 => "No driver init in dynamic library",
                -2 => "Driver init failed",
                -3 => "Bad driver name",
                -4 => "Driver name to long",
                -5 => "Driver compiled with incorrect version of erl_driver.h",
                -6 => "DDLL functionality not available on this platform",
                -7 => "Unspecified dynamic library error",
                -8 => "Symbol not found in dynamic library",
                0 => "No error",
                _ => "Unspecified error",
            };
            return Some(text.to_owned());
        }
        let text = match reason.as_atom()?.name() {
            "linked_in_driver" => "Driver is statically linked and cannot be loaded/unloaded",
            "inconsistent" => "Driver name and/or driver options are inconsistent with currently loaded driver",
            "permanent" => "DDLL driver is permanent an cannot be unloaded/loaded",
            "not_loaded" => "DDLL driver is not loaded",
            "not_loaded_by_this_process" => "DDLL driver was not loaded by this process",
            "not_pending" => "DDLL load not pending for this driver name",
            "already_loaded" => "DDLL driver is already loaded successfully",
            "bad_driver_name" => "Bad driver name",
            "driver_init_failed" => "Driver init failed",
            "driver_incorrect_version" => "Driver compiled with incorrect version of erl_driver.h",
            "no_driver_init" => "No driver init in dynamic library",
            _ => return None,
        };
        Some(text.to_owned())
    }

    /// `erl_ddll:unload(Name)` for `pid`: drops one of its references.
    /// Returns the driver's ports to kill (when `kill_ports` applies and the
    /// last user left) together with what happened.
    ///
    /// # Errors
    /// [`DdllError::NotLoaded`], [`DdllError::NotLoadedByThisProcess`],
    /// [`DdllError::Permanent`].
    pub fn unload(&mut self, pid: Pid, name: &str) -> Result<(Unloaded, bool), DdllError> {
        let r = self.drivers.get_mut(name).ok_or(DdllError::NotLoaded)?;
        if r.permanent {
            return Err(DdllError::Permanent);
        }
        let n = r.users.get_mut(&pid).ok_or(DdllError::NotLoadedByThisProcess)?;
        *n -= 1;
        if *n == 0 {
            r.users.remove(&pid);
        }
        Ok(self.settle(name))
    }

    /// `erl_ddll:reload(Path, Name)` for `pid`: closes the library and loads
    /// it again from `dir` (`finish`, `dlclose`, `dlopen`, `init`), keeping
    /// the caller's references.
    ///
    /// The checks come in ERTS's order (`erl_bif_ddll.c`, `try_load` with
    /// `{reload, pending_driver}`): a permanent driver refuses; another
    /// process that holds the driver makes it `pending_process` (whatever
    /// the path or options); then the `kill_ports` option must match
    /// (`inconsistent`; the path need not: a reload may load another file);
    /// then the caller must hold the driver.
    ///
    /// # Errors
    /// [`DdllError::NotLoaded`], [`DdllError::Permanent`],
    /// [`DdllError::PendingPorts`] (other processes hold the driver, or
    /// ports are open: ERTS would wait for them to close),
    /// [`DdllError::Inconsistent`], [`DdllError::NotLoadedByThisProcess`],
    /// and the errors of [`load_library`] (the driver is then gone, as in
    /// ERTS).
    pub fn reload(&mut self, pid: Pid, dir: &Path, name: &str, kill_ports: bool) -> Result<(), DdllError> {
        let r = self.drivers.get(name).ok_or(DdllError::NotLoaded)?;
        if r.permanent {
            return Err(DdllError::Permanent);
        }
        if r.users.keys().any(|p| *p != pid) {
            return Err(DdllError::PendingPorts);
        }
        if r.kill_ports != kill_ports {
            return Err(DdllError::Inconsistent);
        }
        if !r.users.contains_key(&pid) {
            return Err(DdllError::NotLoadedByThisProcess);
        }
        if r.ports > 0 {
            return Err(DdllError::PendingPorts);
        }
        let Record { driver, users, autoloaded, kill_ports, ports, permanent, monitors } =
            self.drivers.remove(name).expect("checked above");
        // The last reference: finish runs and the library closes here.
        drop(driver);
        let driver = load_library(dir, name).map_err(|e| self.number(e))?;
        self.drivers.insert(
            name.to_owned(),
            Record { driver, users, autoloaded, kill_ports, ports, permanent, monitors },
        );
        Ok(())
    }

    /// Drops every reference `pid` holds (the process exited), returning the
    /// drivers whose ports must be killed.
    pub fn release_process(&mut self, pid: Pid) -> Vec<String> {
        for r in self.drivers.values_mut() {
            r.monitors.retain(|m| m.pid != pid);
        }
        let names: Vec<String> = self
            .drivers
            .iter_mut()
            .filter_map(|(n, r)| r.users.remove(&pid).map(|_| n.clone()))
            .collect();
        names.into_iter().filter(|n| self.settle(n).1).collect()
    }

    /// Unloads `name` if nothing holds it; returns what happened and whether
    /// its ports must be killed.
    fn settle(&mut self, name: &str) -> (Unloaded, bool) {
        let Some(r) = self.drivers.get(name) else { return (Unloaded::Unloaded, false) };
        if !r.users.is_empty() || r.autoloaded || r.permanent {
            return (Unloaded::PendingProcess, false);
        }
        if r.ports > 0 {
            return (Unloaded::PendingDriver, r.kill_ports);
        }
        if let Some(r) = self.drivers.remove(name) {
            // Newest first, as ERTS's list of waiting processes has them.
            for m in r.monitors.iter().rev() {
                self.notices.push((m.pid, monitor_message("DOWN", m.reference, Term::atom(name), "unloaded")));
            }
        }
        (Unloaded::Unloaded, false)
    }

    /// `erl_ddll:monitor(driver, {Name, When})` for process `pid`, with the
    /// new reference `reference`: the message due at once (as ERTS's
    /// `notify_when_loaded` and `notify_when_unloaded` give it: `DOWN
    /// unloaded` for a driver not loaded, `UP permanent` for a permanent or
    /// statically linked one, `UP loaded` or `DOWN load_cancelled` for
    /// `loaded`), or `None` when the monitor now waits. `name_term` is the
    /// name as the caller gave it, which an immediate message carries.
    pub(crate) fn monitor(&mut self, pid: Pid, name: &str, name_term: Term, when: MonitorWhen, reference: Ref) -> Option<Term> {
        let now = |kind, tag| Some(monitor_message(kind, reference, name_term.clone(), tag));
        let Some(r) = self.drivers.get_mut(name) else {
            return if static_entry(name).is_some() { now("UP", "permanent") } else { now("DOWN", "unloaded") };
        };
        if r.permanent {
            return now("UP", "permanent");
        }
        match when {
            // porthost loads and reloads synchronously: never pending.
            MonitorWhen::Loaded if r.unload_pending() => now("DOWN", "load_cancelled"),
            MonitorWhen::Loaded => now("UP", "loaded"),
            MonitorWhen::Unloaded | MonitorWhen::UnloadedOnly => {
                r.monitors.push(Monitor { pid, reference, only: when == MonitorWhen::UnloadedOnly });
                None
            }
        }
    }

    /// `erl_ddll:demonitor(Ref)` for process `pid`: forgets its monitor
    /// `reference`, if it waits.
    pub(crate) fn demonitor(&mut self, pid: Pid, reference: Ref) {
        for r in self.drivers.values_mut() {
            r.monitors.retain(|m| !(m.pid == pid && m.reference == reference));
        }
    }

    /// The `erl_ddll:monitor/2` messages due since the last call.
    pub(crate) fn take_notices(&mut self) -> Vec<(Pid, Term)> {
        std::mem::take(&mut self.notices)
    }

    /// A port opened on `name`.
    pub fn port_opened(&mut self, name: &str) {
        if let Some(r) = self.drivers.get_mut(name) {
            r.ports += 1;
        }
    }

    /// A port on `name` closed; unloads the driver if that was its last use.
    pub fn port_closed(&mut self, name: &str) {
        if let Some(r) = self.drivers.get_mut(name) {
            r.ports -= 1;
            if r.ports == 0 {
                self.settle(name);
            }
        }
    }

    /// Makes `name` permanent (`driver_lock_driver`).
    pub fn make_permanent(&mut self, name: &str) {
        if let Some(r) = self.drivers.get_mut(name) {
            r.permanent = true;
            // ERTS's erts_ddll_lock_driver frees the waiting processes'
            // entries without a message.
            r.monitors.clear();
        }
    }

    /// The names of the loaded drivers, sorted.
    pub fn names(&self) -> Vec<String> {
        let mut v: Vec<String> = self.drivers.keys().cloned().collect();
        v.sort();
        v
    }

    /// `erl_ddll:info(Name)` facts: processes with their counts, port count,
    /// kill_ports, permanent. `None` if not loaded.
    pub fn info(&self, name: &str) -> Option<DriverInfo> {
        self.drivers.get(name).map(|r| DriverInfo {
            processes: r.users.iter().map(|(p, n)| (*p, *n)).collect(),
            port_count: r.ports,
            kill_ports: r.kill_ports,
            permanent: r.permanent,
        })
    }

    /// Removes every driver (host shutdown): their `finish` runs as the last
    /// port lets go of each.
    pub fn clear(&mut self) {
        self.drivers.clear();
    }
}

/// What `erl_ddll:info/1,2` reports of one driver.
#[derive(Debug, Clone)]
pub struct DriverInfo {
    /// The processes holding it, with their load counts.
    pub processes: Vec<(Pid, u32)>,
    /// Open ports on it.
    pub port_count: usize,
    /// Whether it was loaded with `kill_ports`.
    pub kill_ports: bool,
    /// Whether it made itself permanent.
    pub permanent: bool,
}
