//! The backend of a driver loaded into this process: each operation calls
//! the driver's entry (through [`crate::abi::entry`], the one place that
//! calls into driver code) on the caller's thread, as ERTS does when the
//! port lock is free.

use std::ffi::CString;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::{Backend, Close, PortBackend};
use crate::abi::entry;
use crate::ddll::Driver;
use crate::error::BifError;
use crate::host::HostInner;
use crate::port::iovec::IoVec;
use crate::port::scope::{in_callback, in_command, run_due_timer, Locks};
use crate::port::{
    atom, lifecycle, OpenOptions, Phase, Port, BUSY_MSGQ_DISABLED, FLAG_NO_BUSY_MSGQ, FLAG_SOFT_BUSY,
    FLAG_USE_INIT_ACK,
};
use crate::process::ProcShared;
use crate::term::{self, Atom, Pid, PortId, Term};

impl PortBackend for Driver {
    fn command(&self, port: &Port, caller: Pid, data: &Term, size: usize, force: bool, nosuspend: bool)
        -> Result<bool, BifError> {
        if force && self.entry().driver_flags & FLAG_SOFT_BUSY == 0 {
            return Err(BifError::Posix(Atom::new("notsup")));
        }
        if !force {
            if port.busy_now.load(Ordering::Acquire) {
                let mut busy = port.busy.lock();
                while *busy {
                    if nosuspend {
                        return Ok(false);
                    }
                    port.busy_cv.wait(&mut busy);
                }
            }
            if port.phase() != Phase::Open {
                return Err(BifError::badarg(format!("{} closed while the caller waited", Term::Port(port.id))));
            }
        }
        if port.options.input_only {
            return Err(BifError::badarg(format!("{} was opened for input only", Term::Port(port.id))));
        }
        let e = self.entry();
        if e.outputv.is_some() {
            let mut ev = IoVec::from_iolist(data, size);
            in_command(port, caller, size, |d| entry::outputv(port, self, d, ev.as_erl_iovec()))?;
        } else if e.output.is_some() {
            match data {
                Term::Binary(b) => in_command(port, caller, size, |d| entry::output(port, self, d, b.as_slice()))?,
                _ => {
                    let bytes = data.iolist_to_bytes().ok_or_else(|| not_iolist(data))?;
                    in_command(port, caller, size, |d| entry::output(port, self, d, &bytes))?;
                }
            }
        } else {
            // Counted all the same, as before.
            Locks::take(port).note_command(size);
        }
        Ok(true)
    }

    fn control(&self, port: &Port, caller: Pid, op: u32, data: &Term) -> Result<Term, BifError> {
        if self.entry().control.is_none() {
            return Err(BifError::badarg(format!("driver {} has no control callback", self.name())));
        }
        // entry::control checks that the port is still open (`still_open`).
        with_flat_bytes(data, |bytes| in_callback(port, caller, |d| entry::control(port, self, d, op, bytes)))?
    }

    fn call(&self, port: &Port, caller: Pid, op: u32, data: &Term) -> Result<Term, BifError> {
        if self.entry().call.is_none() {
            return Err(BifError::badarg(format!("driver {} has no call callback", self.name())));
        }
        // The argument's buffer is kept per thread between calls: most
        // arguments are small, and its allocation and free were a twentieth
        // of a port_call.
        thread_local! {
            static ARG: std::cell::Cell<Vec<u8>> = const { std::cell::Cell::new(Vec::new()) };
        }
        let mut arg = ARG.take();
        arg.clear();
        if !term::ext::try_term_to_binary_into(&mut arg, data) {
            ARG.set(arg);
            return Err(crate::process::unencodable(data));
        }
        let decode = |reply: &[u8]| {
            term::ext::binary_to_term(reply).ok_or_else(|| {
                BifError::badarg(format!(
                    "driver {} answered port_call({op}) with {} bytes that are not in the external term format",
                    self.name(),
                    reply.len()
                ))
            })
        };
        // entry::call checks that the port is still open (`still_open`).
        let answer = in_callback(port, caller, |d| entry::call(port, self, d, op, &mut arg, decode));
        if arg.capacity() <= 4096 {
            ARG.set(arg);
        }
        answer?
    }

    fn close(&self, port: &Port) -> Close {
        if port.queue.lock().size() == 0 {
            Close::Now
        } else {
            Close::Linger
        }
    }

    fn linger(&self, port: &Port) {
        self.flush(port);
        lifecycle::queue_changed(port);
    }

    fn flush(&self, port: &Port) {
        if self.entry().flush.is_some() {
            let owner = port.owner_pid();
            in_callback(port, owner, |d| entry::flush(port, self, d));
        }
    }

    fn stop(&self, port: &Port, locks: &Locks<'_>, started: bool, _reason: &Term) {
        if started && self.entry().stop.is_some() {
            locks.nested(|d| entry::stop(port, self, d));
        }
    }

    fn shutdown(&self, port: &Port, locks: &Locks<'_>, started: bool) {
        if started && self.entry().stop.is_some() {
            let data = locks.state.borrow().drv_data;
            entry::stop(port, self, data);
        }
    }

    fn queue_bytes(&self, port: &Port) -> usize {
        port.queue.lock().size()
    }

    fn info(&self, port: &Port, item: &str) -> Option<Term> {
        Some(match item {
            "queue_size" => Term::Int(port.queue.lock().size() as i64),
            "locking" => atom(if self.port_locking() { "port_level" } else { "driver_level" }),
            "memory" => Term::Int((std::mem::size_of::<Port>() + port.name.len() + port.queue.lock().size()) as i64 + port.driver_memory() as i64),
            _ => return None,
        })
    }
}

fn not_iolist(data: &Term) -> BifError {
    BifError::badarg(format!("{data} is not an iolist"))
}

/// Runs `f` on the bytes of the iolist `data`: a binary's own, or a
/// flattened copy.
fn with_flat_bytes<R>(data: &Term, f: impl FnOnce(&[u8]) -> R) -> Result<R, BifError> {
    if let Term::Binary(b) = data {
        return Ok(f(b.as_slice()));
    }
    let v = data.iolist_to_bytes().ok_or_else(|| not_iolist(data))?;
    Ok(f(&v))
}

/// `open_port/2` on a driver run in this process: finds (or, porthost's
/// convenience, loads) the driver, makes the port and calls `start`, as
/// ERTS's `erts_open_driver` does; with `ERL_DRV_FLAG_USE_INIT_ACK`, waits
/// for `erl_drv_init_ack`.
pub(crate) fn open(
    host: &Arc<HostInner>,
    caller: &Arc<ProcShared>,
    owner: Option<&Arc<ProcShared>>,
    command: &str,
    drv_name: &str,
    options: OpenOptions,
) -> Result<PortId, BifError> {
    let cmd = CString::new(command).map_err(|_| BifError::badarg("the command string contains NUL"))?;
    let driver = {
        let mut reg = host.ddll.lock();
        let d = match reg.get(drv_name).or_else(|| crate::ddll::static_entry(drv_name)) {
            Some(d) => d,
            None => reg.autoload(&host.search_path, drv_name).map_err(|e| {
                BifError::badarg(format!("no driver {drv_name:?} is loaded, and loading it failed: {e}"))
            })?,
        };
        let limits = options.busy_limits_msgq.filter(|l| l.1 != BUSY_MSGQ_DISABLED);
        if limits.is_some() && d.entry().driver_flags & FLAG_NO_BUSY_MSGQ != 0 {
            return Err(BifError::badarg(format!("driver {drv_name} has no busy message queue (busy_limits_msgq)")));
        }
        reg.port_opened(drv_name);
        d
    };
    let driver_flags = driver.entry().driver_flags;
    let port = host.ports.insert_with(|id| {
        Arc::new(Port::new(
            id,
            host,
            Backend::Driver(driver.clone()),
            command,
            options,
            Phase::Starting,
            std::ptr::null_mut(),
            owner.unwrap_or(caller),
        ))
    });
    let id = port.id;
    let driver = &driver;
    if let Some(o) = owner {
        *port.owner.lock() = super::super::Owner::linked_through(o, caller.pid);
        port.state.lock().borrow_mut().links = vec![caller.pid];
    }
    caller.links.lock().push(id);
    if let Some((low, high)) = port.options.busy_limits_msgq {
        crate::abi::ports::msgq_limits_update(&mut port.msgq_limits.lock(), low, high);
    }

    let started = {
        let locks = Locks::take(&port);
        let r = locks.nested(|_| entry::start(&port, driver, &cmd));
        if let Ok(data) = r {
            locks.state.borrow_mut().drv_data = data;
            // Open from here on, still under the locks: what start set up
            // (a timer, an async job) may run as soon as they go.
            if port.phase() == Phase::Starting {
                port.set_phase(Phase::Open);
            }
        }
        r
    };
    // A 0 ms timer that start set runs now, as after any other callback.
    if started.is_ok() && port.timer_now.load(Ordering::Relaxed) {
        run_due_timer(&port);
    }
    let started = match started {
        Ok(_) if driver_flags & FLAG_USE_INIT_ACK != 0 => {
            // The port is ready when the driver says so: wait, without the
            // locks, for erl_drv_init_ack (from a timeout, an async job,
            // another thread...), as ERTS's open_port waits for the ack.
            // The port lives meanwhile, as in ERTS: its timers and events
            // run. If it exits before acking, open_port returns it (ERTS 25).
            let pending = port.state.lock().borrow_mut().pending_exit.take();
            if let Some(reason) = pending {
                lifecycle::terminate(host, &port, reason);
            }
            let ack = {
                let mut ack = port.init_ack.lock();
                while ack.is_none() && host.ports.get(id).is_some() {
                    port.init_cv.wait(&mut ack);
                }
                ack.take()
            };
            let Some((res, errno)) = ack else {
                // Gone: let its terminate finish first (it holds the port
                // lock to the end), so that everything it reports is out.
                drop(port.state.lock());
                return Ok(id);
            };
            match crate::abi::ports::init_ack_result(&port, res, errno) {
                Ok(data) => Ok(data),
                Err(e) => {
                    // ERTS unlinks the opener, raises the error in it and
                    // closes the port (reason normal): stop gets the data
                    // start returned.
                    caller.links.lock().retain(|p| *p != id);
                    port.state.lock().borrow_mut().links.retain(|p| *p != caller.pid);
                    lifecycle::terminate(host, &port, atom("normal"));
                    return Err(e);
                }
            }
        }
        r => r,
    };
    match started {
        Ok(data) => {
            let pending = {
                let guard = port.state.lock();
                let mut s = guard.borrow_mut();
                s.drv_data = data;
                if port.phase() == Phase::Starting {
                    port.set_phase(Phase::Open);
                }
                s.pending_exit.take()
            };
            if let Some(reason) = pending {
                lifecycle::terminate(host, &port, reason);
            }
            Ok(id)
        }
        Err(e) => {
            port.set_phase(Phase::Closed);
            host.ports.remove(id);
            caller.links.lock().retain(|p| *p != id);
            host.with_ddll(|reg| reg.port_closed(driver.name()));
            Err(e)
        }
    }
}
