//! The port BIFs a process calls (`port_command/2,3`, `port_control/3`,
//! `erlang:port_call/3`, `port_close/1`, `port_connect/2`, `link/1`,
//! `unlink/1`, `Port ! Msg`; ERTS's `beam/erl_bif_port.c`). Each checks its
//! arguments, then goes through the port's backend.
#![deny(unsafe_code)]

use std::sync::Arc;

use super::lifecycle::begin_close;
use super::{atom, Owner, Phase, Port};
use crate::error::BifError;
use crate::host::HostInner;
use crate::process::{ProcShared, Signal};
use crate::term::{self, PortId, Term};

/// Looks up an open port for a BIF; `badarg` if it is closed or closing.
pub(crate) fn lookup_open(host: &HostInner, id: PortId) -> Result<Arc<Port>, BifError> {
    let port = host.ports.get(id).ok_or_else(|| BifError::badarg(format!("{} is not an open port", Term::Port(id))))?;
    if port.phase() != Phase::Open {
        return Err(BifError::badarg(format!("{} is closing", Term::Port(id))));
    }
    Ok(port)
}

/// `port_command/2,3`. Returns `false` (and sends nothing) when the port is
/// busy and `nosuspend` is given; without it the caller waits until the
/// driver clears the busy state (ERTS suspends the caller), unless `force`.
pub(crate) fn command(
    caller: term::Pid,
    port: &Arc<Port>,
    data: &Term,
    force: bool,
    nosuspend: bool,
) -> Result<bool, BifError> {
    let size = data.iolist_size().ok_or_else(|| BifError::badarg(format!("{data} is not an iolist")))?;
    port.backend.command(port, caller, data, size, force, nosuspend)
}

/// `port_control/3`.
#[inline]
pub(crate) fn control(caller: term::Pid, port: &Arc<Port>, op: u32, data: &Term) -> Result<Term, BifError> {
    port.backend.control(port, caller, op, data)
}

/// `erlang:port_call/3`.
#[inline]
pub(crate) fn call(caller: term::Pid, port: &Arc<Port>, op: u32, data: &Term) -> Result<Term, BifError> {
    port.backend.call(port, caller, op, data)
}

/// `port_close/1`.
pub(crate) fn close(host: &HostInner, _caller: term::Pid, id: PortId) -> Result<(), BifError> {
    let port = lookup_open(host, id)?;
    begin_close(&port);
    Ok(())
}

/// `port_connect/2` (`link` true) and `Port ! {Owner, {connect, Pid}}`
/// (`link` false): `pid` becomes the owner; `port_connect/2` also links it
/// to the port, the message does not (ERTS 25: the port stays linked to the
/// processes it was linked to, and only to them).
pub(crate) fn connect(host: &HostInner, id: PortId, pid: term::Pid, link: bool) -> Result<(), BifError> {
    let port = lookup_open(host, id)?;
    // Never hold the process table while taking a port lock (callbacks take
    // them in the other order).
    let p = host.procs.read().get(&pid).cloned();
    let p = p.ok_or_else(|| BifError::badarg(format!("{} is not a live process", Term::Pid(pid))))?;
    {
        let guard = port.state.lock();
        let mut s = guard.borrow_mut();
        *port.owner.lock() = Owner::of(&p);
        if link && !s.links.contains(&pid) {
            s.links.push(pid);
            p.links.lock().push(id);
        }
    }
    port.backend.ops().connected(&port, pid);
    Ok(())
}

/// In an isolated worker: makes `owner` (a parent process's stand-in) the
/// owner of port `id`, the link staying with the process that holds it
/// (`port_connect` in the parent, see `crate::isolate::worker`).
pub(crate) fn set_owner(host: &HostInner, id: PortId, owner: &ProcShared) -> Result<(), BifError> {
    let port = lookup_open(host, id)?;
    let mut o = port.owner.lock();
    *o = Owner::linked_through(owner, o.link);
    Ok(())
}

/// `link(Port)` from `proc_`; false if the port is not open.
pub(crate) fn link(host: &HostInner, proc_: &ProcShared, id: PortId) -> bool {
    let Some(port) = host.ports.get(id) else { return false };
    let guard = port.state.lock();
    let mut s = guard.borrow_mut();
    if matches!(port.phase(), Phase::Closed | Phase::Exiting) {
        return false;
    }
    if !s.links.contains(&proc_.pid) {
        s.links.push(proc_.pid);
        proc_.links.lock().push(id);
    }
    true
}

/// `unlink(Port)` from `proc_`.
pub(crate) fn unlink(host: &HostInner, proc_: &ProcShared, id: PortId) {
    proc_.links.lock().retain(|l| *l != id);
    if let Some(port) = host.ports.get(id) {
        port.state.lock().borrow_mut().links.retain(|p| *p != proc_.pid);
    }
}

/// `Port ! Msg` from `sender`. A message that is not `{Owner, Command}`
/// with a command ports understand makes the port send the exit signal
/// `badsig` to its owner (ERTS's `send_badsig`); the port stays open. A
/// command's `driver_caller` is the sender, not the owner the message
/// names (ERTS's `erts_port_output` with the sending process as caller).
pub(crate) fn port_message(host: &HostInner, sender: term::Pid, id: PortId, msg: &Term) {
    let Ok(port) = lookup_open(host, id) else { return };
    let owner = port.owner_pid();
    let badsig = || host.send(owner, Signal::Exit { from: Term::Port(id), reason: Box::new(atom("badsig")) });
    let Term::Tuple(t) = msg else { return badsig() };
    let [Term::Pid(from), cmd] = t.as_slice() else { return badsig() };
    if *from != owner {
        return badsig();
    }
    match cmd {
        Term::Atom(a) if a.name() == "close" => {
            begin_close(&port);
            host.send(*from, Signal::Message(Term::Tuple(vec![Term::Port(id), atom("closed")])));
        }
        Term::Tuple(c) if c.len() == 2 && c[0].is_atom("command") => {
            if command(sender, &port, &c[1], false, false).is_err() {
                badsig();
            }
        }
        Term::Tuple(c) if c.len() == 2 && c[0].is_atom("connect") => match &c[1] {
            Term::Pid(new) if connect(host, id, *new, false).is_ok() => {
                host.send(*from, Signal::Message(Term::Tuple(vec![Term::Port(id), atom("connected")])));
            }
            _ => badsig(),
        },
        _ => badsig(),
    }
}
