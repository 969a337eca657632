//! The driver checker (`porthost run --check`) and the driver trace
//! (`porthost run --trace FILE`, see [`trace`]).
//!
//! # Where it hooks
//! Every call into a driver passes `crate::abi::entry`, which opens a
//! `Callback` (this thread now runs callback `cb` of a port of a driver);
//! every call out of a driver passes `crate::abi::hooked` (or, for the
//! allocator and lock functions that have no `guard`, a direct call to one of
//! the `check_*` functions here). Both first load one `static` atomic
//! (`hooks`, relaxed) and do nothing else when neither `--check` nor
//! `--trace` is on: that load is the whole cost on the hot path.
//!
//! # What is checked
//! With `--check` on the checker keeps, process-wide: the live and dead
//! `ErlDrvPort` handles; every block from `driver_alloc` (with the port and
//! callback that allocated it, and its backtrace); every `ErlDrvBinary` from
//! `driver_alloc_binary` and every binary whose last reference went (kept
//! in a bounded quarantine instead of being freed, so that a late use reads
//! our memory, not someone else's); the events each port selected; the
//! owner of each `erl_drv_mutex` and the order in which mutexes were taken.
//! Each violation is one line on stderr starting `misuse:` that names the
//! `erl_driver` function and what was wrong, followed by the driver's frames
//! of the backtrace (indented). [`findings`] counts them; `porthost run`
//! exits 3 when it is not 0.
//!
//! Limits: handles are recognised by address (dead ports are kept, up to
//! `GRAVEYARD`, so their addresses are not reused meanwhile); a worker
//! process (`--isolate`) checks its own drivers when `PORTHOST_CHECK` is set
//! (`porthost run --check` sets it), but its findings do not reach the
//! parent's count. Timers and monitors a port leaves at `stop` are not
//! reported: ERTS cancels both when a port terminates; starting them from
//! `stop` is.

pub mod trace;

use std::cell::RefCell;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::LazyLock;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::ffi::ErlDrvBinary;

static HOOKS: AtomicU8 = AtomicU8::new(0);
/// [`hooks`] bit: `--check` is on.
pub(crate) const CHECK: u8 = 1;
/// [`hooks`] bit: `--trace` is on.
pub(crate) const TRACE: u8 = 2;

/// Which hooks are on (0 for none): one relaxed load, the only cost of the
/// checker and the trace when they are off.
#[inline(always)]
pub(crate) fn hooks() -> u8 {
    HOOKS.load(Ordering::Relaxed)
}

fn checking() -> bool {
    hooks() & CHECK != 0
}

static FINDINGS: AtomicUsize = AtomicUsize::new(0);

/// Turns the checker on for this process (it stays on).
pub fn enable_check() {
    LazyLock::force(&STATE);
    HOOKS.fetch_or(CHECK, Ordering::SeqCst);
}

pub(crate) fn enable_trace() {
    HOOKS.fetch_or(TRACE, Ordering::SeqCst);
}

static ABORT: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Makes every misuse end the process with `SIGABRT` once reported (the
/// fuzzer's workers, so that a `--check` finding is a crash it minimizes;
/// `PORTHOST_CHECK_ABORT` in a worker's environment).
pub fn abort_on_misuse() {
    ABORT.store(true, Ordering::SeqCst);
}

fn maybe_abort() {
    if ABORT.load(Ordering::SeqCst) {
        std::process::abort();
    }
}

/// How many misuses the checker has reported so far.
pub fn findings() -> usize {
    FINDINGS.load(Ordering::SeqCst)
}

/// A callback running longer than this is reported (ERTS's timeslice is
/// about 1 ms; `PORTHOST_CHECK_SLICE_MS` sets it).
fn slice_limit() -> Duration {
    static LIMIT: LazyLock<Duration> = LazyLock::new(|| {
        let ms = std::env::var("PORTHOST_CHECK_SLICE_MS").ok().and_then(|s| s.parse().ok()).unwrap_or(200);
        Duration::from_millis(ms)
    });
    *LIMIT
}

/// How many freed binaries are kept (not freed) to catch late uses.
const QUARANTINE: usize = 4096;

#[derive(Default)]
struct State {
    /// Port handle → its record, live or dead.
    ports: HashMap<usize, PortRec>,
    /// driver_alloc'ed blocks.
    allocs: HashMap<usize, Alloc>,
    /// Blocks driver_free'd (until the address is handed out again).
    freed: HashSet<usize>,
    /// Live binaries from driver_alloc_binary.
    bins: HashMap<usize, Alloc>,
    /// Binaries whose last reference went: kept allocated, not reused.
    dead_bins: HashSet<usize>,
    quarantine: VecDeque<usize>,
    /// Selected events: fd → record.
    selects: HashMap<i32, Select>,
    /// Mutex → the thread holding it.
    mutex_owner: HashMap<usize, std::thread::ThreadId>,
    /// Mutex → its name.
    mutex_names: HashMap<usize, String>,
    /// Lock order seen: (held, then taken).
    lock_order: HashSet<(usize, usize)>,
    /// Dead ports, kept (see [`port_died`]).
    graveyard: VecDeque<std::sync::Arc<crate::port::Port>>,
    /// Async jobs queued or running, per port number.
    async_jobs: HashMap<u64, AsyncJobs>,
    /// Leaked blocks reported at a port's stop, per driver: (blocks, bytes).
    leaked: HashMap<String, (usize, usize)>,
}

static STATE: LazyLock<Mutex<State>> = LazyLock::new(|| Mutex::new(State::default()));

#[derive(Clone)]
struct PortRec {
    id: u64,
    driver: String,
    alive: bool,
    has_stop_select: bool,
}

struct Alloc {
    size: usize,
    /// Port handle whose callback allocated it (0: none).
    port: usize,
    cb: &'static str,
    driver: String,
    bt: std::backtrace::Backtrace,
}

#[derive(Default)]
struct Select {
    port: usize,
    modes: i32,
    used: bool,
    /// Released with ERL_DRV_USE: stop_select is due.
    stop_due: bool,
}

/// One callback running on this thread.
struct Frame {
    port: usize,
    port_id: u64,
    driver: String,
    cb: &'static str,
}

thread_local! {
    static FRAMES: RefCell<Vec<Frame>> = const { RefCell::new(Vec::new()) };
    static HELD_MUTEXES: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
    static HELD_PDLS: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
    /// Time this thread spent in the checker itself (backtraces): not
    /// counted against a callback's timeslice.
    static OWN_TIME: std::cell::Cell<Duration> = const { std::cell::Cell::new(Duration::ZERO) };
}

/// Runs `f`, counting its time as the checker's own.
fn own_time<R>(f: impl FnOnce() -> R) -> R {
    let t = Instant::now();
    let r = f();
    OWN_TIME.with(|c| c.set(c.get() + t.elapsed()));
    r
}

fn port_name(id: u64) -> String {
    format!("#Port<0.{id}>")
}

/// Reports one misuse: the `misuse:` line and the driver's frames.
pub(crate) fn report(func: &str, what: impl std::fmt::Display) {
    own_time(|| report_with(func, what, &std::backtrace::Backtrace::force_capture()));
}

fn report_with(func: &str, what: impl std::fmt::Display, bt: &std::backtrace::Backtrace) {
    FINDINGS.fetch_add(1, Ordering::SeqCst);
    let frames = driver_frames(bt);
    let mut s = format!("misuse: {func}: {what}\n");
    for f in &frames {
        s.push_str("    at ");
        s.push_str(f);
        s.push('\n');
    }
    if frames.is_empty() {
        s.push_str("    (no driver frames in the backtrace)\n");
    }
    eprint!("{s}");
    trace::note(&format!("misuse: {func}: {what}"));
    maybe_abort();
}

/// The frames of `bt` that are C code (the driver, and the erl_driver
/// function it called), without the host's Rust frames, std's or libc's
/// start-up frames; at most 12.
fn driver_frames(bt: &std::backtrace::Backtrace) -> Vec<String> {
    let text = bt.to_string();
    let mut out: Vec<String> = Vec::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let t = line.trim_start();
        let Some((num, name)) = t.split_once(": ") else { continue };
        if num.parse::<usize>().is_err() {
            continue;
        }
        let name = name.trim();
        let skip = name.contains("::")
            || name.starts_with('<')
            || name.starts_with("__")
            || name.starts_with("_start")
            || name.starts_with("rust_")
            || matches!(name, "main" | "clone" | "clone3" | "start_thread" | "__libc_start_main");
        let at = match lines.peek() {
            Some(l) if l.trim_start().starts_with("at ") => {
                let l = lines.next().unwrap_or_default();
                Some(l.trim_start().trim_start_matches("at ").to_owned())
            }
            _ => None,
        };
        if skip {
            continue;
        }
        out.push(match at {
            Some(at) => format!("{name} ({at})"),
            None => name.to_owned(),
        });
        if out.len() == 12 {
            break;
        }
    }
    out
}

// ---- ports -----------------------------------------------------------------

/// A port was made: its handle is valid from now on.
pub(crate) fn port_born(handle: usize, id: u64, driver: &str, has_stop_select: bool) {
    if !checking() {
        return;
    }
    STATE
        .lock()
        .ports
        .insert(handle, PortRec { id, driver: driver.to_owned(), alive: true, has_stop_select });
}

/// A port left the port table: its handle is dead. The checker keeps the
/// port (up to [`GRAVEYARD`] of them), so that no new port gets its address
/// and a stale handle stays recognisable.
pub(crate) fn port_died(port: std::sync::Arc<crate::port::Port>) {
    if !checking() {
        return;
    }
    let mut st = STATE.lock();
    if let Some(p) = st.ports.get_mut(&(port.handle() as usize)) {
        p.alive = false;
    }
    st.graveyard.push_back(port);
    if st.graveyard.len() > GRAVEYARD {
        if let Some(old) = st.graveyard.pop_front() {
            st.ports.remove(&(old.handle() as usize));
            // Dropped outside the checker's lock (a port's drop may call out).
            drop(st);
            drop(old);
        }
    }
}

/// How many dead ports the checker keeps.
const GRAVEYARD: usize = 65536;

/// Which threads may call an `erl_driver` function.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Thread {
    /// Thread-safe: any thread.
    Any,
    /// Only a thread running a callback of the port's driver.
    Callback,
    /// As `Callback`, or any thread holding the port's data lock (the
    /// queue functions).
    Queue,
}

/// Checks an `erl_driver` call with port handle `handle` (0 for none).
/// `false`: the handle is not a live port, the call must not run.
pub(crate) fn check_call(func: &'static str, handle: usize, thread: Thread, pdl: impl FnOnce() -> usize) -> bool {
    if !checking() {
        return true;
    }
    if handle == 0 {
        return true;
    }
    let rec = STATE.lock().ports.get(&handle).cloned();
    let Some(rec) = rec else {
        report(func, format_args!("{handle:#x} is not a port handle (no port ever had it)"));
        return false;
    };
    if !rec.alive {
        report(func, format_args!("port {} is dead (its port has stopped): a stale ErlDrvPort", port_name(rec.id)));
        return false;
    }
    let in_cb = FRAMES.with(|f| f.borrow().iter().any(|fr| fr.port == handle || fr.driver == rec.driver));
    if thread != Thread::Any && !in_cb {
        let pdl_held = thread == Thread::Queue && {
            let p = pdl();
            p != 0 && HELD_PDLS.with(|h| h.borrow().contains(&p))
        };
        if !pdl_held {
            let extra = if thread == Thread::Queue { " and does not hold the port's data lock" } else { "" };
            report(
                func,
                format_args!(
                    "called for port {} from a thread that runs no callback of driver {}{extra} (only the thread-safe functions, such as erl_drv_output_term, erl_drv_send_term and driver_async, may be called from other threads)",
                    port_name(rec.id),
                    rec.driver
                ),
            );
        }
    }
    if in_cb {
        let cb = FRAMES.with(|f| f.borrow().last().map(|f| f.cb));
        if matches!(cb, Some("stop" | "stop_select"))
            && matches!(
                func,
                "driver_failure"
                    | "driver_failure_atom"
                    | "driver_failure_posix"
                    | "driver_failure_eof"
                    | "driver_exit"
                    | "driver_set_timer"
                    | "driver_monitor_process"
            )
        {
            report(
                func,
                format_args!(
                    "called from {} of port {}: the port is terminating (a failure or exit of it, or a timer or monitor that can never fire), which ERTS does not allow",
                    cb.unwrap_or_default(),
                    port_name(rec.id)
                ),
            );
        }
    }
    true
}

// ---- callbacks ---------------------------------------------------------------

/// One callback into a driver, running on this thread while it lives.
pub(crate) struct Callback {
    cb: &'static str,
    port: usize,
    start: Instant,
    /// [`OWN_TIME`] when the callback began.
    own_before: Duration,
    trace: Option<trace::Entered>,
}

impl Callback {
    /// Records the callback's result for the trace.
    pub(crate) fn result(&mut self, r: impl FnOnce() -> String) {
        if let Some(t) = &mut self.trace {
            t.result = Some(r());
        }
    }
}

/// The number of the port whose callback runs on this thread (0: none).
pub(crate) fn current_port_id() -> u64 {
    FRAMES.with(|f| f.borrow().last().map_or(0, |f| f.port_id))
}

/// Enters callback `cb` of port `handle` (0 for `stop_select`) of `driver`;
/// `None` when no hook is on.
#[inline]
pub(crate) fn callback(
    handle: usize,
    port_id: u64,
    driver: &str,
    cb: &'static str,
    args: impl FnOnce() -> String,
) -> Option<Callback> {
    let h = hooks();
    if h == 0 {
        return None;
    }
    FRAMES.with(|f| f.borrow_mut().push(Frame { port: handle, port_id, driver: driver.to_owned(), cb }));
    let trace = (h & TRACE != 0).then(|| trace::enter(port_id, cb, args()));
    Some(Callback { cb, port: handle, start: Instant::now(), own_before: OWN_TIME.with(|c| c.get()), trace })
}

impl Drop for Callback {
    fn drop(&mut self) {
        FRAMES.with(|f| f.borrow_mut().pop());
        let own = OWN_TIME.with(|c| c.get()).saturating_sub(self.own_before);
        let took = self.start.elapsed().saturating_sub(own);
        if let Some(t) = self.trace.take() {
            trace::leave(t, took);
        }
        if !checking() {
            return;
        }
        if took > slice_limit() && self.cb != "stop" {
            let id = STATE.lock().ports.get(&self.port).map_or(0, |p| p.id);
            report(
                self.cb,
                format_args!(
                    "callback of port {} ran for {:.1} ms, far past a timeslice (1 ms; reported above {} ms): use driver_async or a thread, or erl_drv_consume_timeslice",
                    port_name(id),
                    took.as_secs_f64() * 1e3,
                    slice_limit().as_millis()
                ),
            );
        }
    }
}

/// Port `port` has stopped (its `stop`, if any, returned): what it still
/// holds is leaked.
#[inline]
pub(crate) fn stopped(port: &crate::port::Port) {
    if checking() {
        port_stopped(port.handle() as usize);
    }
}

fn port_stopped(handle: usize) {
    let mut st = STATE.lock();
    let Some(rec) = st.ports.get(&handle).cloned() else { return };
    let mut msgs = Vec::new();
    if let Some(j) = st.async_jobs.get_mut(&rec.id).filter(|j| j.pending > 0) {
        // ERTS lets the jobs run on and gives their data to async_free; the
        // memory the port holds is checked when the last one is over.
        j.stopped = true;
        if j.without_free > 0 {
            msgs.push((
                format!(
                    "{} async job(s) without async_free of port {} still queued or running after its stop: ready_async will not run, so their data leaks",
                    j.without_free,
                    port_name(rec.id)
                ),
                Vec::new(),
            ));
        }
        drop(st);
        emit_findings(msgs);
        return;
    }
    st.async_jobs.remove(&rec.id);
    drop(st);
    port_leaks(handle);
}

/// Reports what port `handle`, which has stopped, still holds.
fn port_leaks(handle: usize) {
    let mut guard = STATE.lock();
    let st = &mut *guard;
    let Some(rec) = st.ports.get(&handle).cloned() else { return };
    let name = port_name(rec.id);
    let leaks: Vec<usize> = st.allocs.iter().filter(|(_, a)| a.port == handle).map(|(k, _)| *k).collect();
    let mut msgs = Vec::new();
    for k in leaks {
        let a = st.allocs.get_mut(&k).expect("listed above");
        a.port = 0;
        msgs.push((
            format!(
                "{} bytes at {k:#x} allocated in {} of port {name} (driver {}) still allocated after its stop: a leak; allocated at:",
                a.size, a.cb, rec.driver
            ),
            driver_frames(&a.bt),
        ));
        let e = st.leaked.entry(rec.driver.clone()).or_default();
        e.0 += 1;
        e.1 += a.size;
    }
    let selected: Vec<(i32, Select)> = st
        .selects
        .iter()
        .filter(|(_, s)| s.port == handle && (s.modes != 0 || (s.used && !s.stop_due)))
        .map(|(fd, s)| (*fd, Select { port: s.port, modes: s.modes, used: s.used, stop_due: s.stop_due }))
        .collect();
    for (fd, s) in &selected {
        st.selects.remove(fd);
        let what = match (s.modes, s.used) {
            (0, _) => "still in use (ERL_DRV_USE) without a deselect with ERL_DRV_USE, so stop_select never ran".to_owned(),
            (m, _) => format!("still selected for {} after stop (deselect it in stop)", modes_text(m)),
        };
        msgs.push((format!("fd {fd} of port {name} {what}"), Vec::new()));
    }
    drop(guard);
    emit_findings(msgs);
}

/// Reports findings made outside a call (no backtrace of their own; the
/// frames given, if any, say where the thing was made).
fn emit_findings(msgs: Vec<(String, Vec<String>)>) {
    for (m, frames) in msgs {
        FINDINGS.fetch_add(1, Ordering::SeqCst);
        let func = if m.starts_with("fd ") {
            "driver_select"
        } else if m.contains("async job") {
            "driver_async"
        } else {
            "driver_alloc"
        };
        let mut s = format!("misuse: {func}: {m}\n");
        for f in &frames {
            s.push_str(&format!("    at {f}\n"));
        }
        eprint!("{s}");
        trace::note(&format!("misuse: {func}: {m}"));
        maybe_abort();
    }
}

fn modes_text(m: i32) -> String {
    let mut v = Vec::new();
    if m & 1 != 0 {
        v.push("ERL_DRV_READ");
    }
    if m & 2 != 0 {
        v.push("ERL_DRV_WRITE");
    }
    v.join("|")
}

/// `driver_async` queued a job for port `id` (`handle`), with an
/// `async_free` or not.
pub(crate) fn async_submitted(id: u64, handle: usize, has_free: bool) {
    if checking() {
        let mut st = STATE.lock();
        let j = st.async_jobs.entry(id).or_insert(AsyncJobs { handle, ..AsyncJobs::default() });
        j.pending += 1;
        j.without_free += usize::from(!has_free);
    }
}

/// An async job of port `id` is over (invoked, and its data handed to
/// `ready_async` or `async_free`). The last job of a stopped port ends
/// its life: what it still holds is leaked.
pub(crate) fn async_done(id: u64, has_free: bool) {
    if !checking() {
        return;
    }
    let mut st = STATE.lock();
    let Some(j) = st.async_jobs.get_mut(&id) else { return };
    j.pending = j.pending.saturating_sub(1);
    j.without_free = j.without_free.saturating_sub(usize::from(!has_free));
    if j.pending == 0 && j.stopped {
        let handle = j.handle;
        st.async_jobs.remove(&id);
        drop(st);
        port_leaks(handle);
    }
}

#[derive(Default)]
struct AsyncJobs {
    handle: usize,
    pending: usize,
    without_free: usize,
    /// The port has stopped: its leak check waits for these jobs.
    stopped: bool,
}

// ---- memory ------------------------------------------------------------------

fn current_frame() -> (usize, &'static str, String) {
    FRAMES.with(|f| {
        f.borrow().last().map_or((0, "a driver thread", String::new()), |f| (f.port, f.cb, f.driver.clone()))
    })
}

/// `driver_alloc` (or `driver_realloc`) returned `p` of `size` bytes.
pub(crate) fn allocated(p: usize, size: usize) {
    if p == 0 {
        return;
    }
    let (port, cb, driver) = current_frame();
    let bt = own_time(std::backtrace::Backtrace::force_capture);
    let mut st = STATE.lock();
    st.freed.remove(&p);
    st.allocs.insert(p, Alloc { size, port, cb, driver, bt });
}

/// `func` (`driver_free`, `driver_realloc`) is about to free `p`: `false`
/// if `p` is no live block (reported; the free must not run).
pub(crate) fn freeing(func: &str, p: usize) -> bool {
    if p == 0 {
        return true;
    }
    let mut st = STATE.lock();
    if st.allocs.remove(&p).is_some() {
        st.freed.insert(p);
        return true;
    }
    let twice = st.freed.contains(&p);
    let bin = st.bins.contains_key(&p) || st.dead_bins.contains(&p);
    drop(st);
    if twice {
        report(func, format_args!("{p:#x} was already freed (double free)"));
    } else if bin {
        report(func, format_args!("{p:#x} is an ErlDrvBinary: release it with driver_free_binary"));
    } else {
        report(func, format_args!("{p:#x} is not memory from driver_alloc"));
    }
    false
}

/// The host takes over a driver_alloc'ed block (a control or call answer).
pub(crate) fn host_frees(p: usize) {
    if checking() {
        let mut st = STATE.lock();
        st.allocs.remove(&p);
        st.freed.insert(p);
    }
}

/// True if `p` is a live driver_alloc'ed block.
pub(crate) fn is_alloc(p: usize) -> bool {
    STATE.lock().allocs.contains_key(&p)
}

// ---- binaries ------------------------------------------------------------------

/// `driver_alloc_binary`/`driver_realloc_binary` made `bin`.
pub(crate) fn binary_allocated(bin: *mut ErlDrvBinary, size: usize) {
    if bin.is_null() {
        return;
    }
    let (port, cb, driver) = current_frame();
    let bt = own_time(std::backtrace::Backtrace::force_capture);
    let mut st = STATE.lock();
    st.dead_bins.remove(&(bin as usize));
    st.bins.insert(bin as usize, Alloc { size, port, cb, driver, bt });
}

/// A binary's last reference went. `true`: keep its memory (quarantine)
/// instead of freeing it; `Some(old)` of a binary to free now.
pub(crate) fn binary_died(bin: *mut ErlDrvBinary) -> Option<usize> {
    let mut st = STATE.lock();
    st.bins.remove(&(bin as usize));
    st.dead_bins.insert(bin as usize);
    st.quarantine.push_back(bin as usize);
    if st.quarantine.len() > QUARANTINE {
        let old = st.quarantine.pop_front()?;
        st.dead_bins.remove(&old);
        return Some(old);
    }
    None
}

/// `true` while the checker keeps freed binaries (see [`binary_died`]).
#[inline]
pub(crate) fn quarantining() -> bool {
    checking()
}

/// `func` uses binary `bin`: `false` (reported) if its last reference is
/// gone; `dec`: the call drops a reference (refc must stay >= 0);
/// `free`: the call is `driver_free_binary`.
pub(crate) fn binary_use(func: &str, bin: *mut ErlDrvBinary, refc: impl FnOnce() -> isize, dec: bool) -> bool {
    if !checking() || bin.is_null() {
        return true;
    }
    let dead = STATE.lock().dead_bins.contains(&(bin as usize));
    if dead {
        let what = if func == "driver_free_binary" {
            "freed twice: its last reference was already released (double free)"
        } else {
            "used after its last reference was released (use after free)"
        };
        report(func, format_args!("ErlDrvBinary {:#x} {what}", bin as usize));
        return false;
    }
    if dec {
        let n = refc();
        if n <= 0 {
            // The driver meant to let go of it: no leak report on top.
            STATE.lock().bins.remove(&(bin as usize));
            report(
                func,
                format_args!("ErlDrvBinary {:#x} has reference count {n}: releasing one more underflows it", bin as usize),
            );
            return false;
        }
    }
    true
}

/// True if `p` is a live driver binary from `driver_alloc_binary`.
pub(crate) fn is_binary(p: usize) -> bool {
    STATE.lock().bins.contains_key(&p)
}

// ---- select --------------------------------------------------------------------

/// `driver_select(port, fd, mode, on)` is about to run.
pub(crate) fn select(handle: usize, fd: i32, mode: i32, on: bool) {
    if !checking() {
        return;
    }
    const USE: i32 = 4;
    let mut st = STATE.lock();
    let has_stop = st.ports.get(&handle).is_some_and(|p| p.has_stop_select);
    let s = st.selects.entry(fd).or_default();
    s.port = handle;
    let mut what = None;
    if on {
        s.modes |= mode & 3;
        if mode & USE != 0 {
            s.used = true;
            s.stop_due = false;
            if !has_stop {
                what = Some(format!("fd {fd} marked in use (ERL_DRV_USE) by a driver without a stop_select callback: nobody will close it"));
            }
        }
    } else {
        s.modes &= !(mode & 3);
        if mode & USE != 0 {
            if !s.used {
                what = Some(format!(
                    "fd {fd} deselected with ERL_DRV_USE but never selected with ERL_DRV_USE (stop_select would close an event the driver did not hand over)"
                ));
            } else {
                s.used = false;
                s.stop_due = true;
            }
        }
    }
    if s.modes == 0 && !s.used && !s.stop_due {
        st.selects.remove(&fd);
    }
    drop(st);
    if let Some(w) = what {
        report("driver_select", w);
    }
}

/// `stop_select(fd)` is about to run.
pub(crate) fn stop_select(fd: i32) {
    if !checking() {
        return;
    }
    let mut st = STATE.lock();
    let due = st.selects.get(&fd).is_some_and(|s| s.stop_due);
    if due {
        let s = st.selects.get_mut(&fd).expect("checked");
        s.stop_due = false;
        if s.modes == 0 && !s.used {
            st.selects.remove(&fd);
        }
        return;
    }
    drop(st);
    report("stop_select", format_args!("stop_select called for fd {fd} that was not released with ERL_DRV_USE (called twice?)"));
}

// ---- mutexes -------------------------------------------------------------------

/// `erl_drv_mutex_lock`/`trylock` took `m`.
pub(crate) fn mutex_locked(m: usize, name: &str) {
    if !checking() {
        return;
    }
    let me = std::thread::current().id();
    let held: Vec<usize> = HELD_MUTEXES.with(|h| h.borrow().clone());
    let mut st = STATE.lock();
    st.mutex_owner.insert(m, me);
    st.mutex_names.entry(m).or_insert_with(|| name.to_owned());
    let mut inversions = Vec::new();
    for &h in &held {
        if h == m {
            continue;
        }
        if st.lock_order.contains(&(m, h)) {
            inversions.push((h, st.mutex_names.get(&h).cloned().unwrap_or_default()));
        }
        st.lock_order.insert((h, m));
    }
    drop(st);
    HELD_MUTEXES.with(|h| h.borrow_mut().push(m));
    for (h, hname) in inversions {
        report(
            "erl_drv_mutex_lock",
            format_args!("lock-order inversion: mutex {name} ({m:#x}) taken while holding {hname} ({h:#x}), which another path took after {name} (a possible deadlock)"),
        );
    }
}

/// `erl_drv_mutex_unlock(m)` is about to run; reports it if this thread
/// does not hold it (the unlock still runs: `true`).
pub(crate) fn mutex_unlocking(m: usize, name: &str) -> bool {
    if !checking() {
        return true;
    }
    let me = std::thread::current().id();
    let mut st = STATE.lock();
    let owner = st.mutex_owner.get(&m).copied();
    if owner == Some(me) {
        st.mutex_owner.remove(&m);
        drop(st);
        HELD_MUTEXES.with(|h| {
            let mut h = h.borrow_mut();
            if let Some(i) = h.iter().rposition(|&x| x == m) {
                h.remove(i);
            }
        });
        return true;
    }
    st.mutex_owner.remove(&m);
    drop(st);
    let what = if owner.is_some() { "held by another thread" } else { "not locked" };
    report("erl_drv_mutex_unlock", format_args!("mutex {name} ({m:#x}) unlocked by a thread that does not own it (it is {what})"));
    // The unlock runs, as it would without the checker.
    true
}

/// `erl_drv_cond_wait` took mutex `m` back (no lock-order edge: the
/// caller held it before the wait).
pub(crate) fn mutex_relocked(m: usize) {
    if !checking() {
        return;
    }
    STATE.lock().mutex_owner.insert(m, std::thread::current().id());
    HELD_MUTEXES.with(|h| h.borrow_mut().push(m));
}

/// `erl_drv_mutex_destroy(m)` is about to run: `false` (reported) if it
/// is locked.
pub(crate) fn mutex_destroying(m: usize, name: &str) -> bool {
    if !checking() {
        return true;
    }
    let mut st = STATE.lock();
    st.lock_order.retain(|&(a, b)| a != m && b != m);
    st.mutex_names.remove(&m);
    if st.mutex_owner.contains_key(&m) {
        drop(st);
        report("erl_drv_mutex_destroy", format_args!("mutex {name} ({m:#x}) destroyed while locked"));
        return false;
    }
    true
}

/// The port data lock `pdl` was taken (`true`) or released by this thread.
pub(crate) fn pdl_held(pdl: usize, held: bool) {
    if !checking() {
        return;
    }
    HELD_PDLS.with(|h| {
        let mut h = h.borrow_mut();
        if held {
            h.push(pdl);
        } else if let Some(i) = h.iter().rposition(|&x| x == pdl) {
            h.remove(i);
        }
    });
}

// ---- the end -------------------------------------------------------------------

/// The run is over (ports closed, script values dropped): reports the
/// binaries the drivers still hold and the memory they leaked, per driver.
pub fn finish() {
    if !checking() {
        return;
    }
    let mut st = STATE.lock();
    let bins: Vec<(usize, String)> = st
        .bins
        .iter()
        .map(|(k, a)| {
            let who = if a.port != 0 {
                let id = st.ports.get(&a.port).map_or(0, |p| p.id);
                format!("in {} of port {}", a.cb, port_name(id))
            } else {
                format!("in {}", a.cb)
            };
            (
                *k,
                format!(
                    "ErlDrvBinary {k:#x} ({} bytes) allocated {who} (driver {}) still referenced when the driver was unloaded: a leak; allocated at:\n{}",
                    a.size,
                    if a.driver.is_empty() { "?" } else { &a.driver },
                    driver_frames(&a.bt).iter().map(|f| format!("    at {f}\n")).collect::<String>()
                ),
            )
        })
        .collect();
    st.bins.clear();
    let mut leaked: Vec<(String, (usize, usize))> = st.leaked.drain().collect();
    // Blocks allocated outside any port's callbacks (init, driver threads)
    // are the driver's own business (a global cache freed in `finish`, or
    // never): not reported.
    drop(st);
    leaked.sort();
    for (_, msg) in bins {
        FINDINGS.fetch_add(1, Ordering::SeqCst);
        eprint!("misuse: driver_alloc_binary: {msg}");
    }
    for (driver, (blocks, bytes)) in leaked {
        eprintln!("porthost: check: driver {driver} leaked {bytes} bytes in {blocks} block(s) across its ports (each reported above)");
    }
}

/// `driver_realloc_binary` moved `old` to `new`.
pub(crate) fn binary_moved(old: *mut ErlDrvBinary, new: *mut ErlDrvBinary, size: usize) {
    if !checking() {
        return;
    }
    let mut st = STATE.lock();
    if let Some(mut a) = st.bins.remove(&(old as usize)) {
        a.size = size;
        st.bins.insert(new as usize, a);
    }
}
