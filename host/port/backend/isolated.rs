//! The backend of a driver run in a worker process ([`crate::isolate`]):
//! each operation is a request to the worker, which runs the real port; an
//! exit the request caused there becomes this port's exit, carried out when
//! the callback scope ends, as for a driver in this process.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::{Backend, Close, PortBackend};
use crate::error::BifError;
use crate::host::HostInner;
use crate::isolate::Remote;
use crate::port::scope::{in_callback, CallbackScope, Locks};
use crate::port::{atom, OpenOptions, Phase, Port};
use crate::process::ProcShared;
use crate::term::{Pid, PortId, Term};

impl PortBackend for Remote {
    fn command(&self, port: &Port, caller: Pid, data: &Term, size: usize, force: bool, nosuspend: bool)
        -> Result<bool, BifError> {
        // The worker's port is busy or not, and knows its driver's flags.
        let mut opts = Vec::new();
        if force {
            opts.push(atom("force"));
        }
        if nosuspend {
            opts.push(atom("nosuspend"));
        }
        let data = crate::isolate::wrap_refc(data);
        let scope = CallbackScope::enter(port, caller);
        let sent = match self.request(port, "command", caller, vec![data, Term::List(opts)]) {
            Ok(t) => !t.is_atom("false"),
            // The command was accepted; the worker died running `output`.
            // As when a driver fails in `output` in ERTS, port_command
            // returns true and the port exits (with the crash reason).
            Err(e) if crate::isolate::is_crash(&e) => true,
            Err(e) => return Err(e),
        };
        if sent {
            scope.note_command(size);
        }
        Ok(sent)
    }

    fn control(&self, port: &Port, caller: Pid, op: u32, data: &Term) -> Result<Term, BifError> {
        in_callback(port, caller, |_| self.request(port, "control", caller, vec![Term::Int(op as i64), data.clone()]))
    }

    fn call(&self, port: &Port, caller: Pid, op: u32, data: &Term) -> Result<Term, BifError> {
        // The request carries `data` to the worker in the external format,
        // which has no encoding for a local fun.
        if !crate::term::ext::encodable(data) {
            return Err(crate::process::unencodable(data));
        }
        in_callback(port, caller, |_| self.request(port, "call", caller, vec![Term::Int(op as i64), data.clone()]))
    }

    fn close(&self, _port: &Port) -> Close {
        // The worker's port decides whether to linger; its exit event ends
        // this port later.
        if self.close_now() {
            Close::Now
        } else {
            Close::Linger
        }
    }

    fn linger(&self, _port: &Port) {}

    fn flush(&self, _port: &Port) {
        // The worker's port flushes when it gets the exit signal (`stop`).
    }

    fn stop(&self, _port: &Port, _locks: &Locks<'_>, _started: bool, reason: &Term) {
        self.end(reason);
    }

    fn shutdown(&self, _port: &Port, _locks: &Locks<'_>, _started: bool) {
        // The worker ends with the host, and its ports with it.
    }

    fn queue_bytes(&self, _port: &Port) -> usize {
        0
    }

    fn info(&self, _port: &Port, item: &str) -> Option<Term> {
        if !matches!(item, "queue_size" | "memory" | "locking" | "monitors") {
            return None;
        }
        match self.remote_info(&atom(item))? {
            Term::Tuple(ref v) if v.len() == 2 => Some(v[1].clone()),
            _ => None,
        }
    }

    fn connected(&self, port: &Port, pid: Pid) {
        if let Some(host) = port.host.upgrade() {
            self.connect(&host, pid);
        }
    }
}

/// `open_port/2` with `isolated`: the driver is looked up (not loaded) here
/// and loaded by a worker, which opens the real port; this host's port
/// forwards to it (see [`crate::isolate`]).
pub(crate) fn open(
    host: &Arc<HostInner>,
    caller: &Arc<ProcShared>,
    command: &str,
    drv_name: &str,
    mut options: OpenOptions,
    per_port: bool,
) -> Result<PortId, BifError> {
    let loaded = host.ddll.lock().get(drv_name).map(|d| d.path().to_path_buf());
    // A driver entry a driver added in a worker (add_driver_entry) opens
    // there.
    let added = match loaded {
        Some(_) => None,
        None => host.remote_entries.lock().get(drv_name).and_then(std::sync::Weak::upgrade).filter(|w| !w.is_dead()),
    };
    let (worker, file) = match added {
        Some(w) => (w, None),
        None => {
            let file = loaded.or_else(|| host.search_path.iter().map(|d| crate::ddll::driver_file(d, drv_name)).find(|f| f.is_file()));
            let Some(file) = file else {
                return Err(BifError::badarg(format!("no driver {drv_name:?} is loaded or in the driver path (as {drv_name}.so or lib{drv_name}.so)")));
            };
            host.quarantine.check(&file)?;
            let dir = file.parent().unwrap_or(std::path::Path::new(".")).to_path_buf();
            let key = (!per_port).then(|| file.display().to_string());
            (crate::isolate::worker_for(&host.workers, key.as_deref(), &host.spawner, &dir)?, Some(file))
        }
    };
    host.note_worker(&worker);
    let (wport, exit) = match crate::isolate::open_remote(host, &worker, caller.pid, command, &options.given) {
        Ok(r) => r,
        Err((e, strays)) => {
            if let (Some(file), true) = (&file, crate::isolate::is_crash(&e)) {
                host.quarantine.crashed(file);
            }
            // What a port whose start then failed (an erl_drv_init_ack
            // with an error) sent reaches the opener from a port that is
            // gone by now, as in ERTS.
            for (wport, mut events) in strays {
                // Its end is the failed open itself.
                events.retain(|ev| !matches!(ev, Term::Tuple(t) if t.first().is_some_and(|x| x.is_atom("exit") || x.is_atom("exit_unlinked"))));
                let remote = Remote { worker: worker.clone(), wport, driver: None };
                let opts = OpenOptions { given: Vec::new(), ..options.clone() };
                let port = host.ports.insert_with(|id| {
                    Arc::new(Port::new(id, host, Backend::Isolated(remote), command, opts, Phase::Open, std::ptr::null_mut(), caller))
                });
                crate::isolate::attach(&worker, wport, &port, &events);
                crate::isolate::detach(&worker, wport);
                port.set_phase(Phase::Closed);
                host.ports.remove(port.id);
            }
            return Err(e);
        }
    };
    if let Some(file) = &file {
        host.quarantine.opened(file);
    }
    options.isolated = Some(per_port);
    host.ddll.lock().port_opened(drv_name);
    let os_pid = worker.os_pid();
    let remote = Remote { worker: worker.clone(), wport, driver: None };
    let port = host.ports.insert_with(|id| {
        Arc::new(Port::new(id, host, Backend::Isolated(remote), command, options, Phase::Open, std::ptr::null_mut(), caller))
    });
    port.os_pid.store(os_pid as i64, Ordering::Relaxed);
    caller.links.lock().push(port.id);
    crate::isolate::attach(&worker, wport, &port, &[]);
    // The port ended before open_port returned (a driver with
    // ERL_DRV_FLAG_USE_INIT_ACK that fails before it acks): open_port
    // returns it, gone, as in ERTS 25.
    if let Some((reason, unlinked)) = exit {
        crate::isolate::detach(&worker, wport);
        if unlinked {
            crate::port::unlink_owner(&port);
        }
        crate::port::request_exit(&port, reason, true);
    }
    Ok(port.id)
}
