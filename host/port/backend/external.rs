//! The backend of an external program (`{spawn, Cmd}` naming no loaded
//! driver, `{spawn_executable, File}`, `{fd, In, Out}`): what ERTS's
//! built-in `spawn`, `spawn_executable` and `fd` drivers do
//! (`erts/emulator/sys/unix/sys_drivers.c`), over the engine in
//! [`crate::external`]. `port_command` writes to the child; the engine's
//! I/O thread turns the child's output into the port's messages.
//!
//! Beyond ERTS (explicit options, see the README's "External programs"):
//! `{kill_timeout, Ms}`, `stderr_messages`, `{max_pending, N}` (the owner's
//! unreceived messages from the port hold back reading: each message
//! carries a [`Receipt`] that acks it when received), `{limits, [...]}`,
//! and `porthost:close_input/1`.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::Duration;

use parking_lot::{Condvar, Mutex};

use super::{Backend, Close, PortBackend};
use crate::error::BifError;
use crate::external::{External, ExternalEvent, ExternalSpec, Program, WriteError};
use crate::host::HostInner;
use crate::port::scope::{CallbackScope, Locks};
use crate::port::{atom, lifecycle, OpenOptions, Phase, Port};
use crate::process::{ProcShared, Receipt};
use crate::term::{Atom, Pid, PortId, Term};

/// ERTS's spawn driver marks the port busy while this many bytes wait to
/// be written to the child (`set_busy_port` in `sys_drivers.c`'s output).
const BUSY_BYTES: usize = 8 * 1024;

/// An open external port: the running program (or descriptors) and its
/// engine.
pub(crate) struct ExternalPort {
    ext: External,
}

impl ExternalPort {
    /// `porthost:close_input(Port)`: the child sees EOF on its standard
    /// input; its output still arrives.
    pub(crate) fn close_input(&self) {
        self.ext.close_input();
    }

    /// Waits (outside the port's locks) while `BUSY_BYTES` or more wait to
    /// be written, as ERTS suspends a process that commands a busy port.
    /// `false` if the port is busy and `nosuspend` was given.
    fn wait_not_busy(&self, port: &Port, nosuspend: bool) -> Result<bool, BifError> {
        let mut pause = Duration::from_micros(20);
        while self.ext.queued() >= BUSY_BYTES {
            if nosuspend {
                return Ok(false);
            }
            if port.phase() != Phase::Open {
                return Err(BifError::badarg(format!("{} closed while the caller waited", Term::Port(port.id))));
            }
            // The engine's I/O thread drains the queue; no event tells the
            // waiter, so it looks again with a growing pause (at most 1 ms).
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(1));
        }
        Ok(true)
    }
}

impl PortBackend for ExternalPort {
    fn command(&self, port: &Port, caller: Pid, data: &Term, size: usize, force: bool, nosuspend: bool)
        -> Result<bool, BifError> {
        if force {
            // The spawn driver has no ERL_DRV_FLAG_SOFT_BUSY.
            return Err(BifError::Posix(Atom::new("notsup")));
        }
        if port.options.input_only {
            return Err(BifError::badarg(format!("{} was opened for input only", Term::Port(port.id))));
        }
        if !self.wait_not_busy(port, nosuspend)? {
            return Ok(false);
        }
        let bytes = data.iolist_to_bytes().ok_or_else(|| BifError::badarg(format!("{data} is not an iolist")))?;
        let scope = CallbackScope::enter(port, caller);
        match self.ext.write(&bytes) {
            Ok(_) => {
                scope.note_command(size);
                Ok(true)
            }
            // ERTS's output calls driver_failure_posix: the command was
            // accepted, the port exits.
            Err(WriteError::TooLarge) => {
                lifecycle::request_exit(port, atom("einval"), true);
                Ok(true)
            }
            Err(WriteError::Io(reason)) => {
                lifecycle::request_exit(port, Term::Atom(reason), true);
                Ok(true)
            }
            Err(WriteError::NotWritable) => {
                Err(BifError::badarg(format!("{} was opened for input only", Term::Port(port.id))))
            }
            Err(WriteError::InputClosed) => Err(BifError::badarg(format!(
                "the input of {} was closed (porthost:close_input/1)",
                Term::Port(port.id)
            ))),
        }
    }

    fn control(&self, port: &Port, _caller: Pid, _op: u32, _data: &Term) -> Result<Term, BifError> {
        Err(BifError::badarg(format!("{} runs an external program, which has no control", Term::Port(port.id))))
    }

    fn call(&self, port: &Port, _caller: Pid, _op: u32, _data: &Term) -> Result<Term, BifError> {
        Err(BifError::badarg(format!("{} runs an external program, which has no call", Term::Port(port.id))))
    }

    fn close(&self, _port: &Port) -> Close {
        // The engine finishes writing what is queued, then closes the
        // child's input, on its own thread.
        Close::Now
    }

    fn linger(&self, _port: &Port) {}

    fn flush(&self, _port: &Port) {}

    fn stop(&self, _port: &Port, _locks: &Locks<'_>, _started: bool, _reason: &Term) {
        self.ext.close();
    }

    fn shutdown(&self, _port: &Port, _locks: &Locks<'_>, _started: bool) {
        self.ext.close();
    }

    fn queue_bytes(&self, _port: &Port) -> usize {
        self.ext.queued()
    }

    fn info(&self, port: &Port, item: &str) -> Option<Term> {
        Some(match item {
            "queue_size" => Term::Int(self.ext.queued() as i64),
            "locking" => atom("port_level"),
            // ERTS's spawn drivers monitor no process.
            "monitors" => Term::nil(),
            "memory" => Term::Int((std::mem::size_of::<Port>() + port.name.len() + self.ext.queued()) as i64),
            _ => return None,
        })
    }
}

/// The port an engine's events go to, set once the port exists (the child
/// may write before `open` has made it): the I/O thread waits for it.
#[derive(Default)]
struct Slot {
    port: Mutex<Option<Weak<Port>>>,
    set: Condvar,
}

impl Slot {
    fn port(&self) -> Option<Arc<Port>> {
        let mut p = self.port.lock();
        while p.is_none() {
            self.set.wait(&mut p);
        }
        p.as_ref().and_then(Weak::upgrade)
    }
}

/// Whether the port name is one only external programs have
/// (`{spawn_executable, File}`, `{fd, In, Out}`); `{spawn, Cmd}` is one too
/// unless Cmd names a loaded driver (see `lifecycle::open_port`).
pub(crate) fn is_external(name: &Term) -> bool {
    match name {
        Term::Tuple(t) if t.len() == 2 => t[0].is_atom("spawn_executable"),
        Term::Tuple(t) if t.len() == 3 => t[0].is_atom("fd"),
        _ => false,
    }
}

/// `open_port/2` on an external program: parses the name and options with
/// ERTS's errors, starts the child (or takes the descriptors), and makes
/// the port. `default_kill_timeout` is `HostConfig::kill_timeout`.
pub(crate) fn open(
    host: &Arc<HostInner>,
    caller: &Arc<ProcShared>,
    name: &Term,
    opts: &[Term],
) -> Result<PortId, BifError> {
    // Isolation is for drivers: an external program runs in a process of
    // its own already.
    let opts: Vec<Term> = opts.iter().filter(|o| crate::isolate::parse_option(o).is_none()).cloned().collect();
    let mut spec = ExternalSpec::parse(name, &opts)?;
    if spec.kill_timeout.is_none() {
        spec.kill_timeout = host.kill_timeout;
    }
    spec.busy_wait = host.busy_wait;
    let port_name = match &spec.program {
        Program::Shell { command } => String::from_utf8_lossy(command).into_owned(),
        Program::Executable { file, .. } => String::from_utf8_lossy(file).into_owned(),
        Program::Fd { input, output } => format!("{input}/{output}"),
    };
    let options = OpenOptions {
        binary: spec.binary,
        eof: spec.eof,
        input_only: spec.read && !spec.write,
        output_only: spec.write && !spec.read,
        given: opts.clone(),
        ..OpenOptions::default()
    };
    let slot = Arc::new(Slot::default());
    let counted = spec.max_pending.is_some();
    let ext = {
        let slot = slot.clone();
        External::spawn(&spec, Box::new(move |ev| event(&slot, ev, counted)))?
    };
    let os_pid = ext.os_pid();
    let backend = Backend::External(ExternalPort { ext });
    let port = host.ports.insert_with(|id| {
        Arc::new(Port::new(id, host, backend, &port_name, options, Phase::Open, std::ptr::null_mut(), caller))
    });
    if let Some(pid) = os_pid {
        port.os_pid.store(pid as i64, Ordering::Relaxed);
    }
    caller.links.lock().push(port.id);
    *slot.port.lock() = Some(Arc::downgrade(&port));
    slot.set.notify_all();
    Ok(port.id)
}

/// An engine event, on the port's I/O thread: a message to the owner, or
/// the port's end (EOF without `eof`: reason `normal`; a read or write
/// error: that reason, as `driver_failure_posix`).
fn event(slot: &Slot, ev: ExternalEvent, counted: bool) {
    let Some(port) = slot.port() else { return };
    match &ev {
        ExternalEvent::Eof if port.options.eof => {
            crate::port::send_owner(&port, Term::Tuple(vec![Term::Port(port.id), atom("eof")]));
        }
        ExternalEvent::Eof => lifecycle::request_exit(&port, atom("normal"), false),
        ExternalEvent::Failure(reason) => lifecycle::request_exit(&port, Term::Atom(*reason), true),
        _ => {
            let Some(msg) = ev.message(port.id, port.options.binary) else { return };
            let bytes = match &ev {
                ExternalEvent::Data(d) | ExternalEvent::Stderr(d) | ExternalEvent::Line { data: d, .. } => d.len(),
                _ => 0,
            };
            if !matches!(port.phase(), Phase::Open | Phase::Closing) {
                return;
            }
            port.note_message(bytes);
            // The engine counts what it delivered of these three.
            if counted && !matches!(ev, ExternalEvent::ExitStatus(_)) {
                let weak = Arc::downgrade(&port);
                let receipt = Receipt(Arc::new(move || {
                    if let Some(p) = weak.upgrade() {
                        if let Backend::External(e) = &p.backend {
                            e.ext.ack(1);
                        }
                    }
                }));
                port.owner.lock().send_counted(port.id, msg, receipt);
            } else {
                port.owner.lock().send(port.id, msg);
            }
        }
    }
}
