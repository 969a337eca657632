//! Starting, reaping and killing child processes: the OS side of external
//! ports (it belongs under `host/sys/` once the port core settles; it is
//! here so that this engine stays one self-contained module).
//!
//! # One thread for every child: the *children thread*
//! A single long-lived thread forks every child, reaps every child and
//! fires every kill timer:
//!
//! - **Forking on one long-lived thread** makes `PR_SET_PDEATHSIG` mean
//!   "porthost died": Linux sends the parent-death signal when the *thread*
//!   that forked the child exits, so a child forked by a short-lived thread
//!   (a script process) would be killed when that thread ends.
//! - **Reaping** uses a pidfd per child (`pidfd_open`, Linux 5.3), polled
//!   with the thread's wake-up eventfd; when a pidfd is readable the thread
//!   calls `waitpid(pid, WNOHANG)` for that pid only, so it never takes the
//!   status of a child someone else started (`std::process::Command`,
//!   isolation workers). Without pidfds it falls back to checking every
//!   child each 20 ms. Every child is reaped, whether or not its port is
//!   still open: no zombies.
//! - **Killing** (`{kill_timeout, Ms}`): `SIGTERM` to the child's process
//!   group at once (from the caller), `SIGKILL` to the group when the
//!   timer fires, whether or not the leader has exited (its grandchildren
//!   may still run). The caller never waits.
//!
//! # When porthost dies: the guardian
//! A child with `{kill_timeout, Ms}` gets `PR_SET_PDEATHSIG(SIGKILL)`, so
//! it dies with porthost, even by `SIGKILL`; its own children do not (the
//! parent-death signal is not inherited). For them the children thread
//! starts, once, a *guardian*: a small `/bin/sh` script whose standard
//! input is a pipe whose write end only porthost has, and which the thread
//! tells of every such process group (and of each group it has finished
//! killing). When porthost dies, however it dies, the kernel closes the
//! write end; the guardian reads end of file, sends each group it still
//! keeps `SIGTERM`, then each `SIGKILL` once its own kill timeout has
//! passed, and exits. It leads a process group of its own (a Ctrl-C
//! meant for porthost must not end it first) and ignores `SIGINT` and
//! `SIGHUP`. A cgroup would do the same without a process, but needs a
//! delegated cgroup tree that most machines do not give a user.
//!
//! # The child between `fork` and `exec`
//! Only async-signal-safe calls, on data prepared before `fork` ([`Plan`]):
//! unblock all signals and reset `SIGPIPE` (the Rust runtime ignores it);
//! `setpgid(0, 0)` if asked; `PR_SET_PDEATHSIG(SIGKILL)` if asked, then
//! `getppid()` against the pid recorded before `fork` (the parent may have
//! died in between); move the pipe ends to their places (stdin/stdout, or
//! fds 3 and 4 for `nouse_stdio`; stderr); close every other descriptor
//! (`close_range`, as `erl_child_setup` closes them); `setrlimit`; `chdir`
//! (on failure it writes `spawn: Could not cd to DIR` to its stderr and
//! exits with `errno`, as `erl_child_setup` does); `execve` (on failure,
//! exit with `errno`, as ERTS's child does: a directory gives exit status
//! 13, `EACCES`).

use std::collections::HashMap;
use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::mpsc;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use libc::{c_char, c_int, pid_t};

/// Everything the child needs between `fork` and `exec`, prepared before
/// `fork` so that the child only makes system calls.
pub(crate) struct Plan {
    /// The program `execve` runs.
    pub(crate) path: CString,
    /// Its `argv`.
    pub(crate) argv: Vec<CString>,
    /// Its whole environment.
    pub(crate) envp: Vec<CString>,
    /// `chdir` here first.
    pub(crate) cd: Option<CString>,
    /// `(descriptor in porthost, descriptor number in the child)`.
    pub(crate) fds: Vec<(RawFd, RawFd)>,
    /// Descriptors from this one up are closed in the child.
    pub(crate) close_from: RawFd,
    /// `setpgid(0, 0)`: the child leads a process group of its own.
    pub(crate) new_group: bool,
    /// `PR_SET_PDEATHSIG(SIGKILL)`.
    pub(crate) die_with_parent: bool,
    /// `setrlimit(resource, {n, n})` each.
    pub(crate) limits: Vec<(c_int, u64)>,
    /// With `new_group`: the guardian kills the group, `SIGTERM` and then
    /// `SIGKILL` after this, if porthost dies (see the module docs).
    pub(crate) guard: Option<Duration>,
}

/// Turns a wait status into ERTS's exit status: the exit code, or 128 +
/// the signal for a child killed by one (`port_inp_failure` in
/// `sys_drivers.c`).
pub(crate) fn exit_status(status: c_int) -> i32 {
    if libc::WIFSIGNALED(status) {
        128 + libc::WTERMSIG(status)
    } else {
        libc::WEXITSTATUS(status)
    }
}

type OnExit = Box<dyn FnOnce(i32) + Send>;

enum Request {
    Spawn { plan: Box<Plan>, on_exit: OnExit, reply: mpsc::Sender<Result<pid_t, i32>> },
    KillLater { pgid: pid_t, at: Instant },
}

struct Watched {
    pidfd: Option<OwnedFd>,
    on_exit: OnExit,
}

struct Children {
    requests: Mutex<Vec<Request>>,
    wake: OwnedFd,
}

fn children() -> Result<&'static Children, i32> {
    static CHILDREN: OnceLock<Result<&'static Children, i32>> = OnceLock::new();
    *CHILDREN.get_or_init(|| {
        // SAFETY: eventfd with constant flags; the result is checked.
        let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
        if fd < 0 {
            return Err(errno());
        }
        // SAFETY: `fd` is a fresh descriptor that nothing else owns.
        let wake = unsafe { OwnedFd::from_raw_fd(fd) };
        let c: &'static Children = Box::leak(Box::new(Children { requests: Mutex::new(Vec::new()), wake }));
        std::thread::Builder::new()
            .name("porthost-children".into())
            .spawn(move || run(c))
            .map_err(|e| e.raw_os_error().unwrap_or(libc::EAGAIN))?;
        Ok(c)
    })
}

fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(libc::EIO)
}

/// Wakes an eventfd (a full counter already means "awake").
pub(crate) fn signal_eventfd(fd: RawFd) {
    let one: u64 = 1;
    // SAFETY: writes 8 bytes from a local to an eventfd we keep open.
    unsafe { libc::write(fd, &one as *const u64 as *const _, 8) };
}

/// Empties an eventfd's counter.
pub(crate) fn drain_eventfd(fd: RawFd) {
    let mut n: u64 = 0;
    // SAFETY: reads 8 bytes into a local from a non-blocking eventfd.
    unsafe { libc::read(fd, &mut n as *mut u64 as *mut _, 8) };
}

impl Children {
    fn submit(&self, r: Request) {
        self.requests.lock().unwrap_or_else(|e| e.into_inner()).push(r);
        signal_eventfd(self.wake.as_raw_fd());
    }
}

/// Forks and execs a child on the children thread; `on_exit` runs there
/// with its exit status (see [`exit_status`]) once it has been reaped.
///
/// # Errors
/// `errno` of a failed `fork` (or of starting the children thread).
pub(crate) fn spawn(plan: Plan, on_exit: impl FnOnce(i32) + Send + 'static) -> Result<pid_t, i32> {
    let c = children()?;
    let (tx, rx) = mpsc::channel();
    c.submit(Request::Spawn { plan: Box::new(plan), on_exit: Box::new(on_exit), reply: tx });
    rx.recv().unwrap_or(Err(libc::EAGAIN))
}

/// `SIGTERM` to the process group `pgid` now, `SIGKILL` after `grace`.
pub(crate) fn terminate_group(pgid: pid_t, grace: Duration) {
    if pgid <= 1 {
        return;
    }
    // SAFETY: kill(2) on a negative pid (a process group we created).
    unsafe { libc::kill(-pgid, libc::SIGTERM) };
    if let Ok(c) = children() {
        c.submit(Request::KillLater { pgid, at: Instant::now() + grace });
    }
}

fn pidfd_open(pid: pid_t) -> Option<OwnedFd> {
    // SAFETY: the pidfd_open system call; the result is checked.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) } as c_int;
    // SAFETY: a fresh descriptor that nothing else owns.
    (fd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(fd) })
}

/// The children thread's loop.
fn run(c: &'static Children) {
    let mut watched: HashMap<pid_t, Watched> = HashMap::new();
    let mut kills: Vec<(Instant, pid_t)> = Vec::new();
    let mut guardian: Option<Guardian> = None;
    loop {
        let now = Instant::now();
        let mut timeout: c_int = -1;
        if let Some(first) = kills.iter().map(|k| k.0).min() {
            let ms = first.saturating_duration_since(now).as_millis().min(60_000) as c_int;
            timeout = ms.max(if first > now { 1 } else { 0 });
        }
        if watched.values().any(|w| w.pidfd.is_none()) {
            timeout = if timeout < 0 { 20 } else { timeout.min(20) };
        }
        let mut pfds = vec![libc::pollfd { fd: c.wake.as_raw_fd(), events: libc::POLLIN, revents: 0 }];
        let mut pids = Vec::new();
        for (pid, w) in &watched {
            if let Some(fd) = &w.pidfd {
                pfds.push(libc::pollfd { fd: fd.as_raw_fd(), events: libc::POLLIN, revents: 0 });
                pids.push(*pid);
            }
        }
        // SAFETY: `pfds` is a live array of pollfd of the length given.
        unsafe { libc::poll(pfds.as_mut_ptr(), pfds.len() as libc::nfds_t, timeout) };
        if pfds[0].revents != 0 {
            drain_eventfd(c.wake.as_raw_fd());
        }
        let requests = std::mem::take(&mut *c.requests.lock().unwrap_or_else(|e| e.into_inner()));
        for r in requests {
            match r {
                Request::Spawn { plan, on_exit, reply } => {
                    if let (Some(_), true, None) = (plan.guard, plan.new_group, &guardian) {
                        guardian = Guardian::start();
                        if let Some(g) = &guardian {
                            watched.insert(g.pid, Watched { pidfd: pidfd_open(g.pid), on_exit: Box::new(|_| {}) });
                        }
                    }
                    let result = fork_exec(&plan);
                    if let Ok(pid) = result {
                        watched.insert(pid, Watched { pidfd: pidfd_open(pid), on_exit });
                        if let (Some(grace), true, Some(g)) = (plan.guard, plan.new_group, &guardian) {
                            g.tell(pid, Some(grace));
                        }
                    }
                    let _ = reply.send(result);
                }
                Request::KillLater { pgid, at } => kills.push((at, pgid)),
            }
        }
        // Reap: a readable pidfd, or (without pidfds) every child.
        let mut candidates: Vec<pid_t> =
            pfds[1..].iter().zip(&pids).filter(|(p, _)| p.revents != 0).map(|(_, pid)| *pid).collect();
        candidates.extend(watched.iter().filter(|(_, w)| w.pidfd.is_none()).map(|(pid, _)| *pid));
        for pid in candidates {
            let mut status: c_int = 0;
            // SAFETY: waitpid on one pid we forked and have not reaped yet.
            let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
            if r == pid || (r < 0 && errno() == libc::ECHILD) {
                if guardian.as_ref().is_some_and(|g| g.pid == pid) {
                    // Killed from outside: the next guarded child starts
                    // a new one.
                    guardian = None;
                }
                if let Some(w) = watched.remove(&pid) {
                    let code = if r == pid { exit_status(status) } else { 0 };
                    (w.on_exit)(code);
                }
            }
        }
        let now = Instant::now();
        kills.retain(|&(at, pgid)| {
            if at <= now {
                // SAFETY: kill(2) on a process group we created.
                unsafe { libc::kill(-pgid, libc::SIGKILL) };
                if let Some(g) = &guardian {
                    g.tell(pgid, None);
                }
                false
            } else {
                true
            }
        });
    }
}

/// The guardian: `/bin/sh` running this script, its standard input the
/// pipe. Lines `g PGID MS` (guard the group, kill timeout MS) and `f PGID`
/// (forget it); at end of file, `SIGTERM` to every group it keeps, then
/// `SIGKILL` to each once its own kill timeout has passed. A shell,
/// not a forked copy of porthost: a fork would keep a snapshot of
/// porthost's memory alive for as long as porthost runs.
const GUARDIAN_SCRIPT: &str = "trap '' INT HUP
g=
while read -r op id ms; do
  case $op in
    g) g=\"$g $id:$ms\" ;;
    f) n=; for e in $g; do [ \"${e%%:*}\" = \"$id\" ] || n=\"$n $e\"; done; g=$n ;;
  esac
done
for e in $g; do kill -s TERM -- \"-${e%%:*}\" 2>/dev/null; done
el=0
while [ -n \"$g\" ]; do
  m=
  for e in $g; do t=${e#*:}; if [ -z \"$m\" ] || [ \"$t\" -lt \"$m\" ]; then m=$t; fi; done
  d=$((m - el))
  [ \"$d\" -gt 0 ] && sleep \"$((d / 1000)).$((d % 1000 / 100))$((d % 100 / 10))$((d % 10))\"
  el=$m
  n=
  for e in $g; do if [ \"${e#*:}\" -le \"$m\" ]; then kill -s KILL -- \"-${e%%:*}\" 2>/dev/null; else n=\"$n $e\"; fi; done
  g=$n
done
";

/// The guardian process (see the module docs), from porthost's side.
struct Guardian {
    pid: pid_t,
    /// The pipe's write end: only porthost holds it (close-on-exec).
    tell_fd: OwnedFd,
}

impl Guardian {
    /// Starts the guardian; `None` (and nothing guarded) if that fails.
    fn start() -> Option<Guardian> {
        let mut fds = [0 as c_int; 2];
        // SAFETY: pipe2 into a local array; the result is checked.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
            return None;
        }
        // SAFETY: two fresh descriptors that nothing else owns.
        let (read_end, tell_fd) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        // Our end never blocks: a guardian that stopped reading (stopped,
        // say) must not stall the children thread; a line that does not
        // fit is lost, and its group goes unguarded.
        // SAFETY: fcntl on a descriptor we own.
        unsafe { libc::fcntl(tell_fd.as_raw_fd(), libc::F_SETFL, libc::O_NONBLOCK) };
        // Its output goes nowhere: whoever reads porthost's must not wait
        // for the guardian too.
        let null = std::fs::OpenOptions::new().read(true).write(true).open("/dev/null").ok()?;
        let plan = Plan {
            path: CString::new("/bin/sh").ok()?,
            argv: vec![CString::new("porthost-guardian").ok()?, CString::new("-c").ok()?, CString::new(GUARDIAN_SCRIPT).ok()?],
            envp: vec![CString::new("PATH=/usr/bin:/bin").ok()?],
            cd: Some(CString::new("/").ok()?),
            fds: vec![(read_end.as_raw_fd(), 0), (null.as_raw_fd(), 1), (null.as_raw_fd(), 2)],
            close_from: 3,
            // Out of porthost's process group: a Ctrl-C meant for porthost
            // must not end the guardian first.
            new_group: true,
            die_with_parent: false,
            limits: Vec::new(),
            guard: None,
        };
        let pid = fork_exec(&plan).ok()?;
        Some(Guardian { pid, tell_fd })
    }

    /// Tells the guardian to guard group `pgid` (with its kill timeout
    /// `grace`), or with `None` to forget it. One write of one short line,
    /// so never split.
    fn tell(&self, pgid: pid_t, grace: Option<Duration>) {
        let line = match grace {
            Some(g) => format!("g {pgid} {}\n", g.as_millis().min(86_400_000)),
            None => format!("f {pgid}\n"),
        };
        // SAFETY: writes a local buffer to the pipe we hold. A guardian
        // that died makes this EPIPE (SIGPIPE is ignored); the next guarded
        // spawn starts another once it is reaped.
        unsafe { libc::write(self.tell_fd.as_raw_fd(), line.as_ptr() as *const _, line.len()) };
    }
}

/// Forks; the child sets itself up and execs `plan` (it never returns).
fn fork_exec(plan: &Plan) -> Result<pid_t, i32> {
    let argv: Vec<*const c_char> = plan.argv.iter().map(|a| a.as_ptr()).chain([std::ptr::null()]).collect();
    let envp: Vec<*const c_char> = plan.envp.iter().map(|a| a.as_ptr()).chain([std::ptr::null()]).collect();
    let mut cd_error = Vec::new();
    if let Some(cd) = &plan.cd {
        cd_error.extend_from_slice(b"spawn: Could not cd to ");
        cd_error.extend_from_slice(cd.as_bytes());
        cd_error.push(b'\n');
    }
    // SAFETY: getpid has no preconditions.
    let parent = unsafe { libc::getpid() };
    // SAFETY: fork(2). The child only runs `child`, which makes
    // async-signal-safe system calls on memory prepared above and never
    // returns; the parent checks the result.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(errno());
    }
    if pid == 0 {
        // SAFETY: in the child: see `child`'s contract.
        unsafe { child(plan, &argv, &envp, &cd_error, parent) }
    }
    if plan.new_group {
        // SAFETY: setpgid on our child, as the child does itself, so that
        // the group exists before anyone signals it (EACCES once it has
        // exec'd is harmless).
        unsafe { libc::setpgid(pid, pid) };
    }
    Ok(pid)
}

/// The child's side of [`fork_exec`].
///
/// # Safety
/// Only in a freshly forked child of a multi-threaded process: it makes
/// only async-signal-safe system calls, on the pointers given (which stay
/// valid: the child has a copy of the parent's memory), and ends with
/// `execve` or `_exit`.
unsafe fn child(plan: &Plan, argv: &[*const c_char], envp: &[*const c_char], cd_error: &[u8], parent: pid_t) -> ! {
    let mut set: libc::sigset_t = std::mem::zeroed();
    libc::sigemptyset(&mut set);
    libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
    libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    if plan.new_group {
        libc::setpgid(0, 0);
    }
    if plan.die_with_parent {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong, 0, 0, 0);
        if libc::getppid() != parent {
            libc::_exit(1);
        }
    }
    // Move each source above every target first, so that no dup2 clobbers
    // a source that is yet to be moved, then into place (dup2 clears
    // FD_CLOEXEC on the target).
    let mut moved = [-1 as RawFd; 8];
    for (i, &(src, _)) in plan.fds.iter().enumerate().take(moved.len()) {
        moved[i] = libc::fcntl(src, libc::F_DUPFD_CLOEXEC, 16);
        if moved[i] < 0 {
            libc::_exit(*libc::__errno_location());
        }
    }
    for (i, &(_, dst)) in plan.fds.iter().enumerate().take(moved.len()) {
        if libc::dup2(moved[i], dst) < 0 {
            libc::_exit(*libc::__errno_location());
        }
    }
    let from = plan.close_from as libc::c_uint;
    if libc::syscall(libc::SYS_close_range, from, libc::c_uint::MAX, 0) != 0 {
        let mut lim: libc::rlimit = std::mem::zeroed();
        let max = if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 { lim.rlim_cur.min(65_536) } else { 4096 };
        for fd in plan.close_from..max as RawFd {
            libc::close(fd);
        }
    }
    for &(resource, n) in &plan.limits {
        let lim = libc::rlimit { rlim_cur: n as libc::rlim_t, rlim_max: n as libc::rlim_t };
        libc::setrlimit(resource as _, &lim);
    }
    if let Some(cd) = &plan.cd {
        if libc::chdir(cd.as_ptr()) != 0 {
            let e = *libc::__errno_location();
            libc::write(2, cd_error.as_ptr() as *const _, cd_error.len());
            libc::_exit(e);
        }
    }
    libc::execve(plan.path.as_ptr(), argv.as_ptr(), envp.as_ptr());
    libc::_exit(*libc::__errno_location())
}
