//! The port state machine: open, close, exit, terminate (ERTS's
//! `erts_open_driver`, `erts_port_exit`, `terminate_port` in `beam/io.c`).
#![deny(unsafe_code)]

use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::backend::{self, Close};
use super::scope::Locks;
use super::{atom, Backend, OpenOptions, Phase, Port};
use crate::error::BifError;
use crate::ffi::ErlDrvData;
use crate::host::HostInner;
use crate::process::{ProcShared, Signal};
use crate::term::{self, PortId, Term};

/// `open_port/2`: `{spawn_driver, Cmd}` opens a driver port (loading the
/// driver by name if needed, porthost's convenience); `{spawn, Cmd}` opens
/// the driver Cmd's first word names if that driver is loaded (or a static
/// entry), and otherwise runs Cmd as an external program, as ERTS does;
/// `{spawn_executable, File}` and `{fd, In, Out}` are external programs.
pub(crate) fn open_port(
    host: &Arc<HostInner>,
    caller: &Arc<ProcShared>,
    name: &Term,
    opts: &[Term],
) -> Result<PortId, BifError> {
    let r = open_port_kind(host, caller, name, opts);
    match &r {
        Ok(id) => tracing::debug!(port = %Term::Port(*id), %name, owner = %Term::Pid(caller.pid), "port opened"),
        Err(e) => tracing::debug!(%name, error = %e, "open_port failed"),
    }
    r
}

fn open_port_kind(
    host: &Arc<HostInner>,
    caller: &Arc<ProcShared>,
    name: &Term,
    opts: &[Term],
) -> Result<PortId, BifError> {
    let command = |cmd: &Term| {
        crate::external::spec::filename(cmd)
            .map(|c| String::from_utf8_lossy(&c).into_owned())
            .ok_or_else(|| BifError::badarg(format!("{cmd} is not a command string")))
    };
    match name {
        Term::Tuple(t) if t.len() == 2 && t[0].is_atom("spawn_driver") => {
            open(host, caller, None, &command(&t[1])?, OpenOptions::parse(opts)?)
        }
        Term::Tuple(t) if t.len() == 2 && t[0].is_atom("spawn") => {
            let cmd = command(&t[1])?;
            let first = cmd.split(' ').next().unwrap_or("");
            let loaded = host.ddll.lock().get(first).is_some() || crate::ddll::static_entry(first).is_some();
            if loaded {
                open(host, caller, None, &cmd, OpenOptions::parse(opts)?)
            } else {
                host.check_port_limit("")?;
                backend::external::open(host, caller, name, opts)
            }
        }
        _ if backend::external::is_external(name) => {
            host.check_port_limit("")?;
            backend::external::open(host, caller, name, opts)
        }
        _ => Err(BifError::badarg(format!("{name} is not a port name"))),
    }
}

/// `open_port/2` on a driver, in this process or in a worker (the
/// `isolated` option, `HostConfig::isolate`, `HostConfig::isolated_drivers`).
/// `owner`, if given, is the port's owner (and `start`'s `driver_caller`)
/// while `caller` holds the link (an isolated worker opens for a parent
/// process's stand-in, see `crate::isolate::worker`).
pub(crate) fn open(
    host: &Arc<HostInner>,
    caller: &Arc<ProcShared>,
    owner: Option<&Arc<ProcShared>>,
    command: &str,
    options: OpenOptions,
) -> Result<PortId, BifError> {
    let drv_name = command.split(' ').next().unwrap_or("");
    if command.contains('\0') {
        return Err(BifError::badarg("the command string contains NUL"));
    }
    check_driver_name(drv_name)?;
    if options.busy_limits_port {
        return Err(BifError::badarg("busy_limits_port is for spawned programs, not driver ports"));
    }
    host.check_port_limit(drv_name)?;
    let by_config = host.isolate_by_default || host.isolated_drivers.iter().any(|d| d == drv_name);
    match options.isolated.or(by_config.then_some(false)) {
        Some(per_port) => backend::isolated::open(host, caller, command, drv_name, options, per_port),
        None => backend::driver::open(host, caller, owner, command, drv_name, options),
    }
}

/// The loading policy (see `SECURITY.md`): a driver name is a plain file
/// name, looked up only in the driver path (`HostConfig::driver_paths`,
/// then the bundled drivers). ERTS's `open_port({spawn_driver, Name})`
/// only considers drivers already loaded; porthost also loads `Name.so`
/// from the driver path, so a name that could reach outside it (`/`, `..`)
/// or that names no file (empty) is refused with `badarg` before anything
/// is looked up.
///
/// # Errors
/// `badarg` saying which rule the name breaks.
pub(crate) fn check_driver_name(name: &str) -> Result<(), BifError> {
    let why = if name.is_empty() {
        "is empty"
    } else if name.contains('/') {
        "contains '/': drivers are looked up by plain name in the driver path only"
    } else if name.contains("..") {
        "contains '..': drivers are looked up by plain name in the driver path only"
    } else {
        return Ok(());
    };
    Err(BifError::badarg(format!("the driver name {name:?} {why}")))
}

/// Closes a port normally (`port_close/1`, `{Owner, close}`, an owner's
/// `normal` exit). With nothing left to do it closes at once. Otherwise, as
/// in ERTS, the linked processes get their exit signal now (the links go),
/// the driver's `flush` is called, and the port lingers in `Closing` until
/// the driver drains its queue.
pub(crate) fn begin_close(port: &Arc<Port>) {
    let Some(host) = port.host.upgrade() else { return };
    match port.backend.ops().close(port) {
        Close::Now => terminate(&host, port, atom("normal")),
        Close::Linger => {
            port.set_phase(Phase::Closing);
            notify_links(&host, port, &atom("normal"));
            port.backend.ops().linger(port);
        }
    }
}

/// Called after the driver queue shrank: a closing port whose queue has
/// drained now closes (at the end of the running callback, if any).
pub(crate) fn queue_changed(port: &Port) {
    if port.queue.lock().size() != 0 {
        return;
    }
    // A driver thread holding the port data lock may call this while the
    // port's own thread, in a callback, waits for that lock: never block on
    // the port lock here; its holder completes the close instead.
    let Some(locks) = Locks::try_take(port) else {
        port.close_pending.store(true, Ordering::Release);
        return;
    };
    let mut s = locks.state.borrow_mut();
    if port.phase() != Phase::Closing {
        return;
    }
    if s.depth > 0 {
        port.set_phase(Phase::Exiting);
        s.pending_exit = Some(atom("normal"));
        return;
    }
    drop(s);
    if let Some(host) = port.host.upgrade() {
        terminate(&host, port, atom("normal"));
    }
}

/// Makes the port exit with `reason` (`driver_failure*`, `driver_exit`):
/// at once if no callback is running on it, else when the callback returns.
/// Output sent after this point is dropped.
pub(crate) fn request_exit(port: &Port, reason: Term, discard_queue: bool) {
    if !reason.is_atom("normal") {
        tracing::warn!(port = %Term::Port(port.id), name = %port.name, %reason, "driver failure: the port exits");
    }
    if discard_queue {
        port.queue.lock().clear();
    }
    let locks = Locks::take(port);
    let mut s = locks.state.borrow_mut();
    if matches!(port.phase(), Phase::Closed | Phase::Exiting) {
        return;
    }
    if s.depth > 0 {
        port.set_phase(Phase::Exiting);
        s.pending_exit = Some(reason);
        return;
    }
    drop(s);
    if let Some(host) = port.host.upgrade() {
        terminate(&host, port, reason);
    }
}

/// Closes the port now. As in ERTS, the linked processes get the exit
/// signal with `reason` first, then `stop` runs (what `stop` sends arrives
/// after the `EXIT`), then the port lets go of its timer, events, locks and
/// table slot.
pub(crate) fn terminate(host: &Arc<HostInner>, port: &Port, reason: Term) {
    let locks = Locks::take(port);
    if port.phase() == Phase::Closed {
        return;
    }
    let started = port.phase() != Phase::Starting;
    port.set_phase(Phase::Closed);
    let reason = if reason.is_atom("kill") { atom("killed") } else { reason };
    tracing::debug!(port = %Term::Port(port.id), name = %port.name, %reason, "port closed");
    notify_links(host, port, &reason);
    notify_watchers(host, port, &reason);
    port.backend.ops().stop(port, &locks, started, &reason);
    crate::check::stopped(port);
    port.queue.lock().clear();
    *port.timer.lock() = None;
    port.monitors.lock().clear();
    crate::abi::pdl::port_closed(port);
    // ERTS deselects what a driver left selected without calling
    // stop_select ("driver gone away without deselecting!").
    host.poll.port_closed(port);
    host.ports.remove(port.id);
    host.unregister_term(&Term::Port(port.id));
    if !matches!(port.backend, Backend::External(_)) {
        host.with_ddll(|reg| reg.port_closed(port.driver_name()));
    }
    // Only now are callers suspended on a busy port resumed (they raise
    // badarg), as ERTS resumes them once the port is terminated: what they
    // look at next (erl_ddll's port count, erlang:ports/0) has it gone.
    port.set_busy(false);
    port.busy_cv.notify_all();
    // An open_port waiting for erl_drv_init_ack returns the port, now gone.
    drop(port.init_ack.lock());
    port.init_cv.notify_all();
    if let Some(hook) = &*host.port_exit_hook.lock() {
        let _ = hook.send(Signal::Message(Term::Tuple(vec![atom("$port_exit"), Term::Port(port.id), reason])));
    }
}

/// Removes every link of the port and sends each linked process the exit
/// signal with `reason`.
pub(crate) fn notify_links(host: &HostInner, port: &Port, reason: &Term) {
    let links = std::mem::take(&mut port.state.lock().borrow_mut().links);
    let procs = host.procs.read();
    for pid in links {
        if let Some(p) = procs.get(&pid) {
            p.links.lock().retain(|l| *l != port.id);
            p.signal(Signal::Exit { from: Term::Port(port.id), reason: Box::new(reason.clone()) });
        }
    }
}

/// Sends each process monitoring the port
/// `{'DOWN', Ref, port, Object, Reason}` and forgets the monitors.
pub(crate) fn notify_watchers(host: &HostInner, port: &Port, reason: &Term) {
    let watchers = std::mem::take(&mut *port.watchers.lock());
    let procs = host.procs.read();
    for (r, pid, object) in watchers {
        if let Some(p) = procs.get(&pid) {
            p.port_watches.lock().retain(|(w, _)| *w != r);
            p.signal(Signal::Message(port_down(r, object, reason.clone())));
        }
    }
}

/// `{'DOWN', Ref, port, Object, Reason}`.
pub(crate) fn port_down(r: crate::term::Ref, object: Term, reason: Term) -> Term {
    Term::Tuple(vec![atom("DOWN"), Term::Ref(r), atom("port"), object, reason])
}

/// Host shutdown: `stop` without messages.
pub(crate) fn shutdown(port: &Port) {
    let locks = Locks::take(port);
    let started = !matches!(port.phase(), Phase::Starting | Phase::Closed);
    port.set_phase(Phase::Closed);
    port.backend.ops().shutdown(port, &locks, started);
    crate::check::stopped(port);
    port.queue.lock().clear();
}

/// An exit signal from process `from` to port `id`.
pub(crate) fn exit_signal(host: &Arc<HostInner>, from: term::Pid, id: PortId, reason: Term) {
    let Some(port) = host.ports.get(id) else { return };
    let (owner, phase) = (port.owner_pid(), port.phase());
    if phase == Phase::Closed {
        return;
    }
    if reason.is_atom("normal") {
        if from == owner && phase == Phase::Open {
            begin_close(&port);
        }
        return;
    }
    // Any other reason closes the port without waiting for its queue; ERTS
    // still lets the driver flush first, except for `kill`.
    if !reason.is_atom("kill") && phase == Phase::Open && port.queue.lock().size() > 0 {
        port.set_phase(Phase::Exiting);
        port.backend.ops().flush(&port);
    }
    terminate(host, &port, reason);
}

/// `driver_create_port`: a port on `creator`'s driver, owned by and linked
/// to `owner`, already open with `data` (no `start`). `None` if `owner` is
/// not alive. Where the links of the creator's owner are held by another
/// process (an isolated worker's proxy), that process holds the new port's
/// link too; the host's port exit hook, if any, hears of the new port as
/// `{'$port_created', Creator, New, Name, Owner}`.
pub(crate) fn create(creator: &Port, owner: term::Pid, name: &str, data: ErlDrvData) -> Option<Arc<Port>> {
    let host = creator.host.upgrade()?;
    let driver = creator.driver()?.clone();
    host.check_port_limit(driver.name()).ok()?;
    let holder = {
        let o = creator.owner.lock();
        (o.link != o.pid).then_some(o.link)
    };
    let procs = host.procs.read();
    let proc_ = procs.get(&owner)?;
    let linker = holder.and_then(|h| procs.get(&h)).unwrap_or(proc_);
    let port = host.ports.insert_with(|id| {
        Arc::new(Port::new(id, &host, Backend::Driver(driver), name, OpenOptions::default(), Phase::Open, data, proc_))
    });
    if linker.pid != proc_.pid {
        *port.owner.lock() = super::Owner::linked_through(proc_, linker.pid);
        port.state.lock().borrow_mut().links = vec![linker.pid];
    }
    linker.links.lock().push(port.id);
    drop(procs);
    host.ddll.lock().port_opened(port.driver_name());
    if let Some(hook) = &*host.port_exit_hook.lock() {
        let _ = hook.send(Signal::Message(Term::Tuple(vec![
            atom("$port_created"),
            Term::Port(creator.id),
            Term::Port(port.id),
            Term::binary(name.as_bytes()),
            Term::Pid(owner),
        ])));
    }
    Some(port)
}
