//! The external-program engine: what ERTS's built-in `spawn`,
//! `spawn_executable` and `fd` drivers do (`erts/emulator/sys/unix/sys_drivers.c`),
//! as a self-contained piece that the port layer's `External` backend
//! calls. It knows nothing of ports, owners or mailboxes: it takes a
//! checked [`ExternalSpec`], runs the child, and turns its output into
//! [`ExternalEvent`]s handed to a sink.
//!
//! ```text
//! open_port(Name, Opts) ─▶ ExternalSpec::parse ─▶ External::spawn(spec, sink)
//! port_command(P, D)    ─▶ External::write(D)          (packet header added)
//! porthost:close_input  ─▶ External::close_input()     (child sees EOF)
//! port_close / exits    ─▶ External::close()           (never blocks)
//! owner receives a msg  ─▶ External::ack(1)            ({max_pending, N})
//! sink(ExternalEvent)   ─▶ {Port, {data, D}} / {Port, {exit_status, N}} / eof ...
//! ```
//!
//! # Events and their order
//! Every event comes from the port's own I/O thread, one at a time, in this
//! order, which is ERTS's (`port_inp_failure` then `driver_failure_eof`,
//! which flushes the line buffer):
//!
//! 1. [`ExternalEvent::Data`] / [`ExternalEvent::Line`] for the output as
//!    it arrives, [`ExternalEvent::Stderr`] interleaved (`stderr_messages`);
//! 2. at EOF on the child's output: if `exit_status` was asked, the engine
//!    waits for the child to exit (a child may close its stdout and run on),
//!    then [`ExternalEvent::ExitStatus`]; then with `{line, L}` the
//!    unterminated rest as `{noeol, Part}` (so after the exit status, as in
//!    ERTS); then [`ExternalEvent::Eof`]. A port without `eof` closes with
//!    reason `normal` on `Eof`; with `eof` it sends `{Port, eof}` and stays
//!    open (writes still work).
//! 3. [`ExternalEvent::Failure`] instead, for a read or write error
//!    (`driver_failure_posix`: the port exits with that reason, e.g.
//!    `epipe` when the child has closed its stdin).
//!
//! A port opened with `out` alone reads nothing, so, as in ERTS, it never
//! reports `Eof` or an exit status. After [`External::close`] no event is
//! delivered; one that was being delivered when `close` was called may
//! still arrive, and the port layer drops it (the port is gone).
//!
//! # Threads
//! One I/O thread per port (named `porthost-ext`): it `poll`s the child's
//! stdout (and stderr pipe), the child's stdin while bytes wait to be
//! written, and an eventfd that `write`, `close_input`, `close`, `ack`,
//! `resume_reading` and the child's exit wake it with. It ends when the
//! port is closed and its queued output is written (ERTS, too, lets a
//! closing port linger until its queue is empty). Writes are tried at once
//! on the caller's thread (the pipe is non-blocking, as ERTS's `output`
//! does with `writev`); what does not fit waits in a queue the I/O thread
//! drains. One more thread, shared by every child, forks, reaps and kills
//! (see [`child`]). Moving the I/O onto the host's poll thread is possible
//! later without changing this API.
//!
//! # Back-pressure: `{max_pending, N}`
//! The engine counts the messages it delivered (`Data`, `Line`, `Stderr`)
//! and not yet [`ack`](External::ack)ed; while N or more are pending it
//! stops reading the child's output, so the pipe fills and a child that
//! writes without pause blocks in `write`. The port layer calls `ack(1)`
//! whenever the owner takes one such message from its mailbox (or drops it,
//! e.g. the owner died). One read (at most 64 KiB) can give several
//! messages, so the count can pass N by that much. [`External::pause_reading`]
//! and [`External::resume_reading`] stop and restart reading by hand, for
//! a port layer that prefers its own accounting.
//!
//! # Children and their end
//! ERTS's defaults: `close` closes the pipes and leaves the child running
//! (most programs exit at EOF on stdin); porthost reaps it when it exits.
//! With `{kill_timeout, Ms}` the child leads its own process group, `close`
//! sends the group `SIGTERM` and `SIGKILL` Ms later (a child that ignores
//! `SIGTERM`, and its grandchildren, still die), and the child gets
//! `SIGKILL` if porthost dies, even by `SIGKILL` (`PR_SET_PDEATHSIG`), and
//! its grandchildren too: a guardian process kills the group then
//! (`child`'s module docs).

// Nothing calls the engine until the port core's `External` backend lands.
#![allow(dead_code)]

mod child;
pub(crate) mod framing;
pub(crate) mod spec;

use std::collections::VecDeque;
use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::error::BifError;
use crate::spin::{Budget, Room};
use crate::term::Atom;

pub(crate) use framing::Framing;
pub(crate) use spec::{ExternalSpec, Program, StderrMode};

use framing::{Frame, Framer};

/// What the child did, for the port layer to turn into a message or an
/// exit (see the module docs for the order).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ExternalEvent {
    /// `{Port, {data, Bytes}}`: a stream chunk or one whole `{packet, N}`
    /// packet (header removed).
    Data(Vec<u8>),
    /// `{Port, {data, {eol, Line}}}` or `{Port, {data, {noeol, Part}}}`.
    Line {
        /// `eol` (true) or `noeol`.
        eol: bool,
        /// The line's bytes, without `\n` / `\r\n`.
        data: Vec<u8>,
    },
    /// `{Port, {stderr, Bytes}}` (`stderr_messages`, beyond ERTS).
    Stderr(Vec<u8>),
    /// `{Port, {exit_status, N}}` (`exit_status`): the exit code, or 128 +
    /// the signal that killed the child.
    ExitStatus(i32),
    /// EOF on the child's output (`driver_failure_eof`): `{Port, eof}` with
    /// the `eof` option, otherwise the port closes with reason `normal`.
    Eof,
    /// A read or write error (`driver_failure_posix`): the port exits with
    /// this reason (`epipe`, `eio`, ...).
    Failure(Atom),
}

impl ExternalEvent {
    /// The message ERTS sends the port owner for this event, or `None` for
    /// the two that are not plain messages: [`Eof`](Self::Eof) (`{Port,
    /// eof}` only with the `eof` option, else the port closes with reason
    /// `normal`) and [`Failure`](Self::Failure) (the port exits). `binary`:
    /// the port's `binary` option (data as binaries, else as lists).
    pub(crate) fn message(&self, port: crate::term::PortId, binary: bool) -> Option<crate::term::Term> {
        use crate::term::Term;
        let data = |d: &[u8]| if binary { Term::binary(d) } else { Term::compact_byte_list(d) };
        let body = match self {
            ExternalEvent::Data(d) => Term::tuple(vec![Term::atom("data"), data(d)]),
            ExternalEvent::Line { eol, data: d } => Term::tuple(vec![
                Term::atom("data"),
                Term::tuple(vec![Term::atom(if *eol { "eol" } else { "noeol" }), data(d)]),
            ]),
            ExternalEvent::Stderr(d) => Term::tuple(vec![Term::atom("stderr"), data(d)]),
            ExternalEvent::ExitStatus(n) => Term::tuple(vec![Term::atom("exit_status"), Term::Int(*n as i64)]),
            ExternalEvent::Eof | ExternalEvent::Failure(_) => return None,
        };
        Some(Term::tuple(vec![Term::Port(port), body]))
    }
}

/// Where a port's events go; called on the port's I/O thread.
pub(crate) type EventSink = Box<dyn Fn(ExternalEvent) + Send + Sync>;

/// Why [`External::write`] refused data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum WriteError {
    /// Too large for the `{packet, N}` header (more than 255 bytes with
    /// `{packet, 1}`, 65,535 with `{packet, 2}`, 2^32 - 1 with `{packet,
    /// 4}`): ERTS's `output` calls `driver_failure_posix(EINVAL)`, so the
    /// port exits with reason `einval` (`port_command` itself returns true).
    TooLarge,
    /// The port was opened with `in` alone: `port_command` raises `badarg`.
    NotWritable,
    /// [`External::close_input`] or [`External::close`] came first.
    InputClosed,
    /// The write failed (`driver_failure_posix`): exit with this reason.
    Io(Atom),
}

/// The child's stdin (or an `fd` port's output descriptor) and what waits
/// to be written to it.
struct Output {
    fd: Option<Fd>,
    queue: VecDeque<Vec<u8>>,
    /// Bytes of `queue`'s front already written.
    front_done: usize,
    queued: usize,
    close_when_empty: bool,
    failed: Option<i32>,
}

/// A descriptor the engine owns (pipes) or borrows (`{fd, In, Out}`).
struct Fd {
    raw: RawFd,
    owned: Option<OwnedFd>,
}

impl Fd {
    fn owned(fd: OwnedFd) -> Fd {
        Fd { raw: fd.as_raw_fd(), owned: Some(fd) }
    }
    fn borrowed(raw: RawFd) -> Fd {
        Fd { raw, owned: None }
    }
    fn nonblocking(&self) -> bool {
        self.owned.is_some()
    }
}

struct Shared {
    wake: OwnedFd,
    sink: EventSink,
    output: Mutex<Output>,
    closed: AtomicBool,
    paused: AtomicBool,
    pending: AtomicUsize,
    max_pending: usize,
    /// The child's exit status once reaped (`i32::MIN` until then).
    exit: std::sync::atomic::AtomicI32,
}

impl Shared {
    fn wake(&self) {
        child::signal_eventfd(self.wake.as_raw_fd());
    }
    fn output(&self) -> MutexGuard<'_, Output> {
        self.output.lock().unwrap_or_else(|e| e.into_inner())
    }
    fn emit(&self, ev: ExternalEvent) {
        if self.closed.load(Ordering::Acquire) {
            return;
        }
        if matches!(ev, ExternalEvent::Data(_) | ExternalEvent::Line { .. } | ExternalEvent::Stderr(_)) {
            self.pending.fetch_add(1, Ordering::AcqRel);
        }
        (self.sink)(ev);
    }
}

/// A running external port: the child (or the descriptors of an `fd`
/// port) and its I/O thread. Dropping it closes it as [`close`](Self::close)
/// does.
pub(crate) struct External {
    shared: Arc<Shared>,
    pid: Option<libc::pid_t>,
    packet: u8,
    writable: bool,
    kill_timeout: Option<std::time::Duration>,
}

fn posix(e: i32) -> BifError {
    BifError::Posix(Atom::new(crate::abi::misc::errno_name(e)))
}

fn errno_atom(e: i32) -> Atom {
    Atom::new(crate::abi::misc::errno_name(e))
}

fn last_errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(libc::EIO)
}

/// A pipe, both ends close-on-exec: `(read, write)`.
fn pipe() -> Result<(OwnedFd, OwnedFd), BifError> {
    let mut fds = [0 as RawFd; 2];
    // SAFETY: pipe2 fills the two-element array; the result is checked.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(posix(last_errno()));
    }
    // SAFETY: two fresh descriptors nothing else owns.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

fn set_nonblocking(fd: &OwnedFd) {
    // SAFETY: fcntl flag changes on a descriptor we own.
    unsafe {
        let flags = libc::fcntl(fd.as_raw_fd(), libc::F_GETFL);
        libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, flags | libc::O_NONBLOCK);
    }
}

fn cstring(bytes: &[u8]) -> Result<CString, BifError> {
    CString::new(bytes).map_err(|_| BifError::badarg("a NUL byte in a string"))
}

/// The environment the child gets: the host's, as `os:putenv/2` and
/// `erl_drv_putenv` left it (ERTS's global environment), with the
/// `{env, _}` entries applied in order (a later entry for the same name
/// wins, as in ERTS 25; `None` unsets).
fn environment(env: &[spec::EnvEntry]) -> Result<Vec<CString>, BifError> {
    let mut vars: Vec<(Vec<u8>, Vec<u8>)> =
        crate::abi::sys::environment().into_iter().map(|(n, v)| (n.as_bytes().to_vec(), v.as_bytes().to_vec())).collect();
    for (name, value) in env {
        vars.retain(|(n, _)| n != name);
        if let Some(v) = value {
            vars.push((name.clone(), v.clone()));
        }
    }
    let mut out = Vec::with_capacity(vars.len());
    for (mut name, value) in vars {
        name.push(b'=');
        name.extend_from_slice(&value);
        if let Ok(c) = CString::new(name) {
            out.push(c);
        }
    }
    Ok(out)
}

impl External {
    /// Starts the program `spec` names (or takes over the descriptors of
    /// `{fd, In, Out}`) and its I/O thread; `sink` gets its events.
    ///
    /// `{spawn, Cmd}` runs `/bin/sh -c "exec Cmd"` (argv `sh`, `-c`, ...);
    /// `{spawn_executable, File}` runs File with `argv[0]` = `arg0` or
    /// File, then `args`; see [`child`] for how the child is set up.
    ///
    /// # Errors
    /// As ERTS's `spawn_start`: for `spawn_executable`, `access(File, X_OK)`'s
    /// `errno` (`enoent`, `eacces`, `enotdir`, ...; a directory passes
    /// here, as in ERTS, and the child then exits with status 13); `emfile`
    /// and such when pipes or `fork` fail. A bad `cd` or a command the
    /// shell cannot find is not an error here: the child reports it and
    /// exits (statuses 2 and 127 under ERTS).
    pub(crate) fn spawn(spec: &ExternalSpec, sink: EventSink) -> Result<External, BifError> {
        // SAFETY: eventfd with constant flags; the result is checked.
        let wake = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
        if wake < 0 {
            return Err(posix(last_errno()));
        }
        // SAFETY: a fresh descriptor nothing else owns.
        let wake = unsafe { OwnedFd::from_raw_fd(wake) };
        let packet = match spec.framing {
            Framing::Packet(n) => n,
            _ => 0,
        };
        let shared = Arc::new(Shared {
            wake,
            sink,
            output: Mutex::new(Output {
                fd: None,
                queue: VecDeque::new(),
                front_done: 0,
                queued: 0,
                close_when_empty: false,
                failed: None,
            }),
            closed: AtomicBool::new(false),
            paused: AtomicBool::new(false),
            pending: AtomicUsize::new(0),
            max_pending: spec.max_pending.unwrap_or(usize::MAX),
            exit: std::sync::atomic::AtomicI32::new(i32::MIN),
        });
        let mut ext = External { shared: shared.clone(), pid: None, packet, writable: spec.write, kill_timeout: spec.kill_timeout };

        let (input, stderr) = match &spec.program {
            Program::Fd { input, output } => {
                if spec.write {
                    shared.output().fd = Some(Fd::borrowed(*output));
                }
                (spec.read.then(|| Fd::borrowed(*input)), None)
            }
            program => {
                let (path, argv) = match program {
                    Program::Shell { command } => {
                        let mut line = b"exec ".to_vec();
                        line.extend_from_slice(command);
                        (cstring(b"/bin/sh")?, vec![cstring(b"sh")?, cstring(b"-c")?, cstring(&line)?])
                    }
                    Program::Executable { file, args, arg0 } => {
                        let path = cstring(file)?;
                        // SAFETY: access(2) on a NUL-terminated path.
                        if unsafe { libc::access(path.as_ptr(), libc::X_OK) } != 0 {
                            return Err(posix(last_errno()));
                        }
                        let mut argv = vec![cstring(arg0.as_deref().unwrap_or(file))?];
                        for a in args {
                            argv.push(cstring(a)?);
                        }
                        (path, argv)
                    }
                    Program::Fd { .. } => unreachable!("handled above"),
                };
                let (stdin_r, stdin_w) = pipe()?;
                let (stdout_r, stdout_w) = pipe()?;
                let err_pipe = match spec.stderr {
                    StderrMode::Messages => Some(pipe()?),
                    _ => None,
                };
                let (in_no, out_no) = if spec.use_stdio { (0, 1) } else { (3, 4) };
                let mut fds = vec![(stdin_r.as_raw_fd(), in_no), (stdout_w.as_raw_fd(), out_no)];
                match (&spec.stderr, &err_pipe) {
                    (StderrMode::ToStdout, _) => fds.push((stdout_w.as_raw_fd(), 2)),
                    (StderrMode::Messages, Some((_, w))) => fds.push((w.as_raw_fd(), 2)),
                    _ => {}
                }
                let limits = spec
                    .limits
                    .iter()
                    .map(|l| {
                        use spec::Limit::*;
                        match *l {
                            Memory(n) => (libc::RLIMIT_AS as libc::c_int, n),
                            Cpu(n) => (libc::RLIMIT_CPU as libc::c_int, n),
                            Nofile(n) => (libc::RLIMIT_NOFILE as libc::c_int, n),
                            Nproc(n) => (libc::RLIMIT_NPROC as libc::c_int, n),
                            Fsize(n) => (libc::RLIMIT_FSIZE as libc::c_int, n),
                            Core(n) => (libc::RLIMIT_CORE as libc::c_int, n),
                        }
                    })
                    .collect();
                let plan = child::Plan {
                    path,
                    argv,
                    envp: environment(&spec.env)?,
                    cd: spec.cd.as_deref().map(cstring).transpose()?,
                    fds,
                    close_from: if spec.use_stdio { 3 } else { 5 },
                    new_group: spec.kill_timeout.is_some(),
                    die_with_parent: spec.kill_timeout.is_some(),
                    limits,
                    guard: spec.kill_timeout,
                };
                let exit_to = shared.clone();
                let pid = child::spawn(plan, move |status| {
                    exit_to.exit.store(status, Ordering::Release);
                    exit_to.wake();
                })
                .map_err(posix)?;
                ext.pid = Some(pid);
                drop((stdin_r, stdout_w));
                if spec.write {
                    set_nonblocking(&stdin_w);
                    shared.output().fd = Some(Fd::owned(stdin_w));
                }
                set_nonblocking(&stdout_r);
                let stderr = err_pipe.map(|(r, w)| {
                    drop(w);
                    set_nonblocking(&r);
                    r
                });
                (spec.read.then(|| Fd::owned(stdout_r)), stderr)
            }
        };
        let reader = Reader {
            shared: shared.clone(),
            input,
            stderr,
            framer: Framer::new(spec.framing),
            want_exit: spec.exit_status && ext.pid.is_some(),
            eof_seen: false,
            done_reading: false,
            spin: spec.busy_wait,
            room: Room::new(),
        };
        std::thread::Builder::new()
            .name("porthost-ext".into())
            .spawn(move || reader.run())
            .map_err(|e| posix(e.raw_os_error().unwrap_or(libc::EAGAIN)))?;
        Ok(ext)
    }

    /// The child's OS pid (`port_info(P, os_pid)`); `None` for an `fd` port.
    pub(crate) fn os_pid(&self) -> Option<u32> {
        self.pid.map(|p| p as u32)
    }

    /// Sends `data` to the child, after a `{packet, N}` header if the port
    /// has one (ERTS's `output`). Returns the bytes still queued afterwards
    /// (0: all written at once); ERTS marks the port busy while 8 KiB or
    /// more wait (`set_busy_port` in `output`).
    ///
    /// # Errors
    /// See [`WriteError`].
    pub(crate) fn write(&self, data: &[u8]) -> Result<usize, WriteError> {
        if !self.writable {
            return Err(WriteError::NotWritable);
        }
        let len = data.len();
        let too_large = match self.packet {
            1 => len > 0xff,
            2 => len > 0xffff,
            4 => len as u64 > u32::MAX as u64,
            _ => false,
        };
        if too_large {
            return Err(WriteError::TooLarge);
        }
        let header = (len as u32).to_be_bytes();
        let header = &header[4 - self.packet as usize..];
        let mut out = self.shared.output();
        if let Some(e) = out.failed {
            return Err(WriteError::Io(errno_atom(e)));
        }
        if out.close_when_empty || self.shared.closed.load(Ordering::Acquire) {
            return Err(WriteError::InputClosed);
        }
        let Some(fd) = &out.fd else { return Err(WriteError::InputClosed) };
        let mut written = 0usize;
        if out.queue.is_empty() && fd.nonblocking() {
            let iov = [
                libc::iovec { iov_base: header.as_ptr() as *mut _, iov_len: header.len() },
                libc::iovec { iov_base: data.as_ptr() as *mut _, iov_len: data.len() },
            ];
            // SAFETY: writev from two live slices to a descriptor we own.
            let n = unsafe { libc::writev(fd.raw, iov.as_ptr(), 2) };
            if n < 0 {
                let e = last_errno();
                if e != libc::EAGAIN && e != libc::EINTR {
                    out.failed = Some(e);
                    return Err(WriteError::Io(errno_atom(e)));
                }
            } else {
                written = n as usize;
            }
            if written == header.len() + len {
                return Ok(0);
            }
        }
        if written < header.len() {
            out.queue.push_back(header[written..].to_vec());
            out.queue.push_back(data.to_vec());
        } else {
            out.queue.push_back(data[written - header.len()..].to_vec());
        }
        out.queued += header.len() + len - written;
        let queued = out.queued;
        drop(out);
        self.shared.wake();
        Ok(queued)
    }

    /// Bytes written with [`write`](Self::write) that the child has not
    /// taken yet.
    pub(crate) fn queued(&self) -> usize {
        self.shared.output().queued
    }

    /// Closes the child's stdin once the queued bytes are written: the
    /// child sees EOF while its output still arrives (beyond ERTS:
    /// `porthost:close_input/1`). Later writes fail with
    /// [`WriteError::InputClosed`]. Idempotent.
    pub(crate) fn close_input(&self) {
        self.shared.output().close_when_empty = true;
        self.shared.wake();
    }

    /// Stops reading the child's output until [`resume_reading`](Self::resume_reading).
    pub(crate) fn pause_reading(&self) {
        self.shared.paused.store(true, Ordering::Release);
        self.shared.wake();
    }

    /// Undoes [`pause_reading`](Self::pause_reading).
    pub(crate) fn resume_reading(&self) {
        self.shared.paused.store(false, Ordering::Release);
        self.shared.wake();
    }

    /// `n` of the messages this port delivered have left the owner's
    /// mailbox (`{max_pending, N}`); reading resumes when fewer than N are
    /// pending.
    pub(crate) fn ack(&self, n: usize) {
        let s = &self.shared;
        let before = s.pending.fetch_update(Ordering::AcqRel, Ordering::Acquire, |p| Some(p.saturating_sub(n))).unwrap_or(0);
        if before >= s.max_pending && before.saturating_sub(n) < s.max_pending {
            s.wake();
        }
    }

    /// Messages delivered and not yet [`ack`](Self::ack)ed.
    pub(crate) fn pending(&self) -> usize {
        self.shared.pending.load(Ordering::Acquire)
    }

    /// Closes the port's side, as ERTS's `stop` does (`port_close/1`, the
    /// owner's exit, an exit signal): no more events; the queued bytes are
    /// still written, then the child's stdin is closed; stdout and stderr
    /// are closed at once. The child is left to exit (and reaped when it
    /// does), unless `{kill_timeout, Ms}` was given: then its process group
    /// gets `SIGTERM` now and `SIGKILL` after Ms. Never blocks; idempotent.
    pub(crate) fn close(&self) {
        if self.shared.closed.swap(true, Ordering::AcqRel) {
            return;
        }
        self.shared.output().close_when_empty = true;
        self.shared.wake();
        if let (Some(pid), Some(grace)) = (self.pid, self.kill_timeout) {
            child::terminate_group(pid, grace);
        }
    }
}

impl Drop for External {
    fn drop(&mut self) {
        self.close();
    }
}

/// The I/O thread's state.
struct Reader {
    shared: Arc<Shared>,
    input: Option<Fd>,
    stderr: Option<OwnedFd>,
    framer: Framer,
    want_exit: bool,
    eof_seen: bool,
    done_reading: bool,
    /// Look for more output for a while after a read ([`READ_SPIN`]), while
    /// `room` says the machine has a CPU to spare.
    spin: bool,
    room: Room,
}

const READ_SIZE: usize = 64 * 1024;

/// How long a reader thread looks for more of the child's output after a
/// read that brought some, before it sleeps in `poll` (shared by every
/// reader thread; it adapts: `crate::spin`). A child that answers requests
/// or streams output writes again within microseconds, and waking a
/// sleeping thread costs more than that on a virtual machine, as for the
/// poll thread, `receive` and the bridge's reader (ERTS's schedulers
/// busy-wait the same way). Only while every runnable thread has a CPU
/// ([`Room`]): beside two CPU hogs a spinning reader made a `cat` round
/// trip 1.5–2× slower, the spin keeping `cat` itself from a CPU.
static READ_SPIN: Budget = Budget::new(Duration::from_micros(40));

/// `poll` without sleeping, again and again, for at most [`READ_SPIN`]:
/// its result (0 if nothing came).
fn poll_spinning(pfds: &mut [libc::pollfd]) -> i32 {
    let mut r = 0;
    READ_SPIN.spin_until(|| {
        // SAFETY: `pfds` is a live array of pollfd of the length given.
        r = unsafe { libc::poll(pfds.as_mut_ptr(), pfds.len() as libc::nfds_t, 0) };
        r != 0
    });
    r
}

impl Reader {
    fn run(mut self) {
        let mut buf = vec![0u8; READ_SIZE];
        let mut frames = Vec::new();
        // Set after a read that brought output, when the host busy-waits.
        let mut spin_next = false;
        loop {
            let s = self.shared.clone();
            let closed = s.closed.load(Ordering::Acquire);
            if closed {
                self.input = None;
                self.stderr = None;
            }
            // Output side: drained and asked to close?
            let (out_fd, want_out) = {
                let mut out = s.output();
                if out.failed.is_some() || (out.close_when_empty && out.queue.is_empty()) {
                    out.fd = None;
                    out.queue.clear();
                    out.queued = 0;
                }
                (out.fd.as_ref().map(|f| f.raw), !out.queue.is_empty())
            };
            if closed && out_fd.is_none() {
                return;
            }
            if self.eof_seen && !self.done_reading && (!self.want_exit || s.exit.load(Ordering::Acquire) != i32::MIN) {
                self.finish_eof(&mut buf, &mut frames);
            }
            let gate = !s.paused.load(Ordering::Acquire) && s.pending.load(Ordering::Acquire) < s.max_pending;
            let mut pfds = vec![libc::pollfd { fd: s.wake.as_raw_fd(), events: libc::POLLIN, revents: 0 }];
            let (mut in_at, mut err_at, mut out_at) = (None, None, None);
            if gate && !self.eof_seen {
                if let Some(f) = &self.input {
                    in_at = Some(pfds.len());
                    pfds.push(libc::pollfd { fd: f.raw, events: libc::POLLIN, revents: 0 });
                }
            }
            if gate {
                if let Some(f) = &self.stderr {
                    err_at = Some(pfds.len());
                    pfds.push(libc::pollfd { fd: f.as_raw_fd(), events: libc::POLLIN, revents: 0 });
                }
            }
            if let (Some(fd), true) = (out_fd, want_out) {
                out_at = Some(pfds.len());
                pfds.push(libc::pollfd { fd, events: libc::POLLOUT, revents: 0 });
            }
            let spun_from = spin_next.then(Instant::now).filter(|&now| self.room.roomy(now));
            spin_next = false;
            let mut r = if spun_from.is_some() { poll_spinning(&mut pfds) } else { 0 };
            if r == 0 {
                // SAFETY: `pfds` is a live array of pollfd of the length given.
                r = unsafe { libc::poll(pfds.as_mut_ptr(), pfds.len() as libc::nfds_t, -1) };
                if let Some(from) = spun_from {
                    READ_SPIN.slept(from.elapsed());
                }
            }
            if r < 0 {
                continue;
            }
            if pfds[0].revents != 0 {
                child::drain_eventfd(s.wake.as_raw_fd());
            }
            if let Some(i) = out_at.filter(|&i| pfds[i].revents != 0) {
                self.write_some();
                let _ = i;
            }
            if let Some(i) = in_at.filter(|&i| pfds[i].revents != 0) {
                let _ = i;
                spin_next = self.read_input(&mut buf, &mut frames) && self.spin;
            }
            if err_at.is_some_and(|i| pfds[i].revents != 0) {
                self.read_stderr(&mut buf);
            }
        }
    }

    /// One read from the child's output, framed and delivered; true if it
    /// brought bytes.
    fn read_input(&mut self, buf: &mut [u8], frames: &mut Vec<Frame>) -> bool {
        let Some(f) = &self.input else { return false };
        // SAFETY: read(2) into a live buffer of the length given.
        let n = unsafe { libc::read(f.raw, buf.as_mut_ptr() as *mut _, buf.len()) };
        if n > 0 {
            self.framer.feed(&buf[..n as usize], frames);
            self.deliver(frames);
            return true;
        } else if n == 0 {
            self.input = None;
            self.eof_seen = true;
        } else {
            let e = last_errno();
            if e != libc::EAGAIN && e != libc::EINTR {
                self.input = None;
                self.eof_seen = true;
                self.done_reading = true;
                self.shared.emit(ExternalEvent::Failure(errno_atom(e)));
            }
        }
        false
    }

    fn deliver(&self, frames: &mut Vec<Frame>) {
        for f in frames.drain(..) {
            self.shared.emit(match f {
                Frame::Data(d) => ExternalEvent::Data(d),
                Frame::Line { eol, data } => ExternalEvent::Line { eol, data },
            });
        }
    }

    fn read_stderr(&mut self, buf: &mut [u8]) -> bool {
        let Some(f) = &self.stderr else { return false };
        // SAFETY: read(2) into a live buffer of the length given.
        let n = unsafe { libc::read(f.as_raw_fd(), buf.as_mut_ptr() as *mut _, buf.len()) };
        if n > 0 {
            self.shared.emit(ExternalEvent::Stderr(buf[..n as usize].to_vec()));
            true
        } else {
            if n == 0 || !matches!(last_errno(), libc::EAGAIN | libc::EINTR) {
                self.stderr = None;
            }
            false
        }
    }

    /// EOF on the output, and the exit status known if it was asked for:
    /// what is left of stderr, the exit status, the rest of the line
    /// buffer, `Eof` (ERTS's order).
    fn finish_eof(&mut self, buf: &mut [u8], frames: &mut Vec<Frame>) {
        self.done_reading = true;
        while self.read_stderr(buf) {}
        if self.want_exit {
            self.shared.emit(ExternalEvent::ExitStatus(self.shared.exit.load(Ordering::Acquire)));
        }
        self.framer.finish(frames);
        self.deliver(frames);
        self.shared.emit(ExternalEvent::Eof);
    }

    /// Writes what the output queue holds, as much as the descriptor takes.
    fn write_some(&self) {
        let mut out = self.shared.output();
        let Some(fd) = out.fd.as_ref().map(|f| (f.raw, f.nonblocking())) else { return };
        let (raw, nonblocking) = fd;
        let skip = out.front_done;
        let mut iov: Vec<libc::iovec> = out
            .queue
            .iter()
            .take(16)
            .enumerate()
            .map(|(i, b)| {
                let b = if i == 0 { &b[skip..] } else { &b[..] };
                libc::iovec { iov_base: b.as_ptr() as *mut _, iov_len: b.len() }
            })
            .collect();
        if !nonblocking {
            // A borrowed descriptor may block: write no more than POLLOUT
            // promises (PIPE_BUF).
            let mut room = libc::PIPE_BUF;
            iov.retain_mut(|v| {
                let take = v.iov_len.min(room);
                v.iov_len = take;
                room -= take;
                take > 0
            });
        }
        // SAFETY: writev from slices of `out.queue`, alive under the lock.
        let n = unsafe { libc::writev(raw, iov.as_ptr(), iov.len() as libc::c_int) };
        if n < 0 {
            let e = last_errno();
            if e != libc::EAGAIN && e != libc::EINTR {
                out.failed = Some(e);
                drop(out);
                self.shared.emit(ExternalEvent::Failure(errno_atom(e)));
            }
            return;
        }
        let mut n = n as usize;
        out.queued -= n;
        while n > 0 {
            let Some(front) = out.queue.front() else { break };
            let left = front.len() - out.front_done;
            if n >= left {
                n -= left;
                out.queue.pop_front();
                out.front_done = 0;
            } else {
                out.front_done += n;
                n = 0;
            }
        }
    }
}

#[cfg(test)]
mod tests;
