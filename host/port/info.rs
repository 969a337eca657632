//! `erlang:port_info/1,2` (ERTS's `erts_port_info` in `beam/erl_bif_port.c`).
#![deny(unsafe_code)]

use std::sync::atomic::Ordering;

use super::{atom, Port};
use crate::error::BifError;
use crate::host::HostInner;
use crate::term::{self, Atom, PortId, Term};

const INFO_ALL: [&str; 7] = ["name", "links", "id", "connected", "input", "output", "os_pid"];

/// `erlang:port_info/1`: `registered_name` first when the port has one.
pub(crate) fn info_all(host: &HostInner, id: PortId) -> Term {
    let Some(port) = host.ports.get(id) else { return atom("undefined") };
    let mut items: Vec<Term> = Vec::new();
    if let Some(name) = host.registered_name(&Term::Port(id)) {
        items.push(Term::Tuple(vec![atom("registered_name"), Term::Atom(name)]));
    }
    items.extend(INFO_ALL.iter().filter_map(|i| Some(Term::Tuple(vec![atom(i), info_value(&port, i)?]))));
    Term::List(items)
}

/// `erlang:port_info/2`.
pub(crate) fn info_item(host: &HostInner, id: PortId, item: &Term) -> Result<Term, BifError> {
    // ERTS 25 answers `undefined` for a closed port whatever the item,
    // even one that is not an atom (tests/scripts/port_info_closed.erl).
    let Some(port) = host.ports.get(id) else { return Ok(atom("undefined")) };
    let name = item.as_atom().map(Atom::name).ok_or_else(|| BifError::badarg(format!("{item} is not a port_info item")))?;
    if name == "registered_name" {
        return Ok(match host.registered_name(&Term::Port(id)) {
            Some(n) => Term::Tuple(vec![atom(name), Term::Atom(n)]),
            None => Term::nil(),
        });
    }
    let v = info_value(&port, name).ok_or_else(|| BifError::badarg(format!("{name} is not a port_info item")))?;
    Ok(Term::Tuple(vec![atom(name), v]))
}

fn info_value(port: &Port, item: &str) -> Option<Term> {
    let guard = port.state.lock();
    let s = guard.borrow();
    Some(match item {
        "name" => Term::string(&port.name),
        "links" => Term::List(s.links.iter().map(|p| Term::Pid(*p)).collect()),
        "id" => Term::Int(8 * port.id.0 as i64),
        "connected" => Term::Pid(port.owner_pid()),
        "input" => Term::Int(port.input.load(Ordering::Relaxed) as i64),
        "output" => Term::Int(port.output.load(Ordering::Relaxed) as i64),
        "os_pid" => match port.os_pid.load(Ordering::Relaxed) {
            -1 => atom("undefined"),
            pid => Term::Int(pid),
        },
        // The processes its driver monitors (driver_monitor_process), in
        // the order the monitors were made.
        "monitors" if port.driver().is_none() => {
            drop(s);
            drop(guard);
            return port.backend.ops().info(port, item);
        }
        "monitors" => {
            let mut mons: Vec<(u64, term::Pid)> = port.monitors.lock().iter().map(|(m, p)| (*m, *p)).collect();
            mons.sort_unstable();
            Term::List(mons.into_iter().map(|(_, p)| Term::Tuple(vec![atom("process"), Term::Pid(p)])).collect())
        }
        "monitored_by" => Term::nil(),
        "parallelism" => atom("false"),
        "queue_size" | "memory" | "locking" => {
            drop(s);
            drop(guard);
            return port.backend.ops().info(port, item);
        }
        _ => return None,
    })
}
