//! recon's port functions in scripts, with recon's shapes
//! (`recon:port_info/1,2`, `recon:port_types/0`), porthost's rankings
//! (`porthost:port_count/2`, `porthost:port_window/3`), everything porthost
//! knows of one port (`porthost:port_stats/1`), and
//! `erlang:system_info(port_limit | port_count)`.
#![deny(unsafe_code)]

use std::net::SocketAddr;
use std::time::Duration;

use super::{counters, own_memory, Attr};
use crate::error::BifError;
use crate::host::HostInner;
use crate::port::{Backend, Port};
use crate::process::Process;
use crate::sys::introspect;
use crate::term::{PortId, Term};

fn atom(a: &str) -> Term {
    Term::atom(a)
}

fn pair(k: &str, v: Term) -> Term {
    Term::Tuple(vec![atom(k), v])
}

/// recon's `port_term()`: a port, a registered name, `"#Port<0.N>"` or `N`
/// (`recon_lib:term_to_port/1`). A name nobody has is `undefined`, which
/// `erlang:port_info` then refuses with `badarg`, as under recon.
fn term_to_port(p: &Process, t: &Term) -> Result<PortId, BifError> {
    let bad = || BifError::badarg(format!("{t} is not a port, a port's name, \"#Port<0.N>\" or N"));
    match t {
        Term::Port(id) => Ok(*id),
        Term::Atom(a) => match p.whereis(*a) {
            Some(Term::Port(id)) => Ok(id),
            _ => Err(bad()),
        },
        Term::Int(n) if *n >= 0 => Ok(PortId(*n as u64)),
        Term::List(_) => {
            let s: String = t.iolist_to_bytes().map(|b| b.into_iter().map(char::from).collect()).ok_or_else(bad)?;
            let n = s.strip_prefix("#Port<0.").and_then(|r| r.strip_suffix('>')).ok_or_else(bad)?;
            n.parse().map(PortId).map_err(|_| bad())
        }
        _ => Err(bad()),
    }
}

/// One of recon's groups: `{Group, [erlang:port_info(P, K) || K <- Keys]}`.
fn group(p: &Process, port: PortId, name: &str, keys: &[&str]) -> Result<Term, BifError> {
    let items = keys.iter().map(|k| p.port_info_item(port, &atom(k))).collect::<Result<Vec<_>, _>>()?;
    Ok(Term::Tuple(vec![atom(name), Term::List(items)]))
}

/// `recon:port_info(P, Group)` for the groups, `None` for another atom.
fn port_info_group(p: &Process, port: PortId, g: &str) -> Option<Result<Term, BifError>> {
    Some(match g {
        "meta" => (|| {
            let mut list =
                ["id", "name", "os_pid"].iter().map(|k| p.port_info_item(port, &atom(k))).collect::<Result<Vec<_>, _>>()?;
            // erlang:port_info(P, registered_name) is [] for a port without
            // a name (undefined for a closed port, which recon keeps).
            let name = p.port_info_item(port, &atom("registered_name"))?;
            if name != Term::nil() {
                list.insert(0, name);
            }
            Ok(Term::Tuple(vec![atom("meta"), Term::List(list)]))
        })(),
        "signals" => group(p, port, "signals", &["connected", "links", "monitors"]),
        "io" => group(p, port, "io", &["input", "output"]),
        "memory_used" => group(p, port, "memory_used", &["memory", "queue_size"]),
        // recon's `specific` group is `{type, Props}`, with props only for
        // inet ports (inet:getstat/peername/sockname/getopts): none here.
        "specific" => p.port_info_item(port, &atom("name")).map(|_| Term::Tuple(vec![atom("type"), Term::nil()])),
        _ => return None,
    })
}

/// `recon:*` in scripts.
pub(crate) fn recon(p: &Process, name: &str, args: &[Term]) -> Result<Term, BifError> {
    match (name, args) {
        ("port_info", [pt]) => {
            let port = term_to_port(p, pt)?;
            let groups = ["meta", "signals", "io", "memory_used", "specific"];
            let v = groups.iter().map(|g| port_info_group(p, port, g).expect("a group")).collect::<Result<Vec<_>, _>>()?;
            Ok(Term::List(v))
        }
        ("port_info", [pt, Term::List(keys)]) => {
            let port = term_to_port(p, pt)?;
            Ok(Term::List(keys.iter().map(|k| p.port_info_item(port, k)).collect::<Result<Vec<_>, _>>()?))
        }
        ("port_info", [pt, Term::Atom(a)]) => {
            let port = term_to_port(p, pt)?;
            match port_info_group(p, port, a.name()) {
                Some(r) => r,
                None => p.port_info_item(port, &Term::Atom(*a)),
            }
        }
        ("port_types", []) => Ok(port_types(&p.host)),
        _ => Err(BifError::Undef),
    }
}

/// `recon:port_types/0`: `[{Name, Count}]`, most ports first, then by name.
fn port_types(host: &HostInner) -> Term {
    let mut counts: std::collections::HashMap<String, i64> = std::collections::HashMap::new();
    host.ports.for_each(|p| *counts.entry(p.name.clone()).or_default() += 1);
    let mut v: Vec<(String, i64)> = counts.into_iter().collect();
    v.sort_by(|(ka, va), (kb, vb)| vb.cmp(va).then_with(|| ka.cmp(kb)));
    Term::List(v.into_iter().map(|(k, n)| Term::Tuple(vec![Term::string(&k), Term::Int(n)])).collect())
}

fn attr_arg(t: &Term) -> Result<Attr, BifError> {
    t.as_atom()
        .and_then(|a| Attr::from_name(a.name()))
        .ok_or_else(|| BifError::badarg(format!("{t} is not one of input, output, io, queue_size, memory, commands, messages")))
}

fn count_arg(t: &Term) -> Result<usize, BifError> {
    t.as_int().and_then(|n| usize::try_from(n).ok()).ok_or_else(|| BifError::badarg(format!("{t} is not a count")))
}

/// porthost's own functions of this module: `port_count/2`,
/// `port_window/3`, `port_stats/1`; `Undef` for others.
pub(crate) fn porthost(p: &Process, name: &str, args: &[Term]) -> Result<Term, BifError> {
    let list = |v: Vec<super::Ranked>| Term::List(v.iter().map(super::Ranked::to_term).collect());
    match (name, args) {
        ("port_count", [attr, n]) => Ok(list(super::port_count(&p.host, attr_arg(attr)?, count_arg(n)?))),
        ("port_window", [attr, n, ms]) => {
            let (attr, n) = (attr_arg(attr)?, count_arg(n)?);
            let ms = ms.as_int().and_then(|m| u64::try_from(m).ok()).ok_or_else(|| BifError::badarg(format!("{ms} is not milliseconds")))?;
            let first = super::sample_attr(&p.host, attr);
            std::thread::sleep(Duration::from_millis(ms));
            let last = super::sample(&p.host);
            Ok(list(super::top(super::window(&first, last, attr), n)))
        }
        ("port_stats", [pt]) => {
            let id = term_to_port(p, pt)?;
            Ok(p.host.ports.get(id).map_or_else(|| atom("undefined"), |port| stats(&p.host, &port)))
        }
        _ => Err(BifError::Undef),
    }
}

/// `erlang:system_info(Item)` for the port items.
pub(crate) fn system_info(host: &HostInner, item: &Term) -> Option<Term> {
    match item.as_atom()?.name() {
        "port_limit" => Some(Term::Int(host.port_limit as i64)),
        "port_count" => Some(Term::Int(host.ports.len() as i64)),
        _ => None,
    }
}

/// The kind of a port's backend, as `port_stats` names it.
pub(crate) fn kind(port: &Port) -> &'static str {
    match port.backend {
        Backend::Driver(_) => "driver",
        Backend::Isolated(_) => "isolated",
        Backend::External(_) => "external",
    }
}

fn addr_term(a: &SocketAddr) -> Term {
    let ip = match a {
        SocketAddr::V4(v) => Term::Tuple(v.ip().octets().iter().map(|o| Term::Int(*o as i64)).collect()),
        SocketAddr::V6(v) => Term::Tuple(v.ip().segments().iter().map(|o| Term::Int(*o as i64)).collect()),
    };
    Term::Tuple(vec![ip, Term::Int(a.port() as i64)])
}

/// `porthost:port_stats(P)`: everything porthost knows of a port without
/// its driver's help: its counters, what it costs, the descriptors it has
/// selected (with addresses and the kernel's counters for sockets), and
/// for a port with an OS process (an external program, an isolated port's
/// worker) that process's CPU and memory.
pub(crate) fn stats(host: &HostInner, port: &Port) -> Term {
    let c = counters(port);
    let mut items = vec![
        pair("id", Term::Port(port.id)),
        pair("name", Term::string(&port.name)),
        pair("kind", atom(kind(port))),
        pair("driver", Term::string(port.driver_name())),
        pair("counters", c.to_props()),
        pair(
            "memory",
            Term::List(vec![
                pair("port", Term::Int(own_memory(port) as i64)),
                pair("queue", Term::Int(c.queue_size as i64)),
                pair("driver_alloc", Term::Int(port.driver_memory() as i64)),
            ]),
        ),
    ];
    let selected = host.poll.selected_by(port);
    let mut sockets = Vec::new();
    let sel = selected
        .iter()
        .map(|(fd, i, o)| {
            let dirs: Vec<Term> = [(*i, "input"), (*o, "output")].iter().filter(|(b, _)| *b).map(|(_, n)| atom(n)).collect();
            if let Some(s) = introspect::socket_info(*fd) {
                let mut props = vec![pair("type", atom(s.kind))];
                props.extend(s.local.as_ref().map(|a| pair("sockname", addr_term(a))));
                props.extend(s.peer.as_ref().map(|a| pair("peername", addr_term(a))));
                if let Some(t) = s.tcp {
                    props.push(pair(
                        "tcp_info",
                        Term::List(vec![
                            pair("state", Term::Int(t.state as i64)),
                            pair("bytes_acked", Term::Int(t.bytes_acked as i64)),
                            pair("bytes_received", Term::Int(t.bytes_received as i64)),
                            pair("segs_out", Term::Int(t.segs_out as i64)),
                            pair("segs_in", Term::Int(t.segs_in as i64)),
                            pair("total_retrans", Term::Int(t.total_retrans as i64)),
                            pair("rtt_us", Term::Int(t.rtt_us as i64)),
                        ]),
                    ));
                }
                sockets.push(Term::Tuple(vec![Term::Int(*fd as i64), Term::List(props)]));
            }
            Term::Tuple(vec![Term::Int(*fd as i64), Term::List(dirs)])
        })
        .collect();
    items.push(pair("selected", Term::List(sel)));
    items.push(pair("sockets", Term::List(sockets)));
    let pid = port.os_pid.load(std::sync::atomic::Ordering::Relaxed);
    if pid > 0 {
        let mut props = vec![pair("pid", Term::Int(pid))];
        if let Some(u) = introspect::proc_usage(pid) {
            props.push(pair("cpu_ms", Term::Int(u.cpu_ms as i64)));
            props.push(pair("rss", Term::Int(u.rss_bytes as i64)));
            props.push(pair("vsize", Term::Int(u.vsize_bytes as i64)));
            props.push(pair("threads", Term::Int(u.threads as i64)));
        }
        items.push(pair("os_process", Term::List(props)));
    }
    Term::List(items)
}
