//! The worker: a porthost host in a child process that owns one driver's
//! ports on behalf of the parent (`porthost worker`).
//!
//! One process of the worker's host, the *proxy*, owns every port and traps
//! exits. A reader thread turns each request frame from the parent into a
//! message `{'$request', Request}` in the proxy's mailbox, so the proxy's
//! one loop sees requests, port messages and port exits in the order they
//! happened. A request runs synchronously, as the BIF would in the parent;
//! then everything it caused is sent back before its reply: messages as
//! `{msg, Port, Message}` events, and the exit of the request's own port
//! inside the reply, so the parent applies it within the same call, as ERTS
//! would.

use std::io::{self, BufReader, BufWriter};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;

use super::wire::{read_frame, write_frame};
use crate::process::{Process, Signal};
use crate::term::{PortId, Term};
use crate::{Host, HostConfig};

fn atom(s: &str) -> Term {
    Term::atom(s)
}

fn tuple(v: Vec<Term>) -> Term {
    Term::Tuple(v)
}

/// Runs a worker on the inherited socket `fd` (see [`run`]).
///
/// # Errors
/// A bad descriptor, and I/O errors on the stream.
pub fn run_on_fd(fd: i32, driver_paths: Vec<PathBuf>) -> io::Result<()> {
    use std::os::fd::FromRawFd;
    // SAFETY: the parent passes its end of a socket pair at `fd`, which
    // nothing else in this process owns.
    let stream = unsafe { UnixStream::from_raw_fd(fd) };
    run(stream, driver_paths)
}

/// Runs a worker on `stream` until the parent closes it. `driver_paths` is
/// where drivers are looked up by name.
///
/// # Errors
/// I/O errors on the stream.
pub fn run(stream: UnixStream, driver_paths: Vec<PathBuf>) -> io::Result<()> {
    crate::sys::crash::install_backtraces();
    let host = Host::new(HostConfig { driver_paths, ..HostConfig::default() });
    let proxy = host.spawn_process();
    proxy.set_trap_exit(true).expect("a new process is alive");
    let tx = proxy.shared.tx.clone();
    let mut reader = BufReader::new(stream.try_clone()?);
    std::thread::Builder::new().name("porthost-worker-reader".into()).spawn(move || loop {
        match read_frame(&mut reader) {
            Ok(Some(req)) => {
                let _ = tx.send(Signal::Message(tuple(vec![atom("$request"), req])));
            }
            _ => {
                let _ = tx.send(Signal::Message(atom("$eof")));
                return;
            }
        }
    })?;
    *host.inner.port_exit_hook.lock() = Some(proxy.shared.tx.clone());
    let out = Arc::new(Mutex::new(BufWriter::new(stream)));
    // A port's messages go to the parent at once, on the thread of the
    // driver that sent them: if the driver crashes next, nothing it sent
    // is lost.
    let sink_out = out.clone();
    let sink: crate::process::Sink = Arc::new(move |msg: Term| {
        let port = match &msg {
            Term::Tuple(t) => t.first().cloned().filter(|p| matches!(p, Term::Port(_))),
            _ => None,
        };
        let ev = tuple(vec![atom("msg"), port.unwrap_or_else(|| atom("undefined")), msg]);
        let _ = write_frame(&mut *sink_out.lock(), &ev);
    });
    let _ = proxy.shared.sink.set(sink);
    let mut st = State::default();
    loop {
        let Ok(Some(msg)) = proxy.receive(None) else { return Ok(()) };
        if msg.is_atom("$eof") {
            return Ok(());
        }
        match &msg {
            Term::Tuple(t) if t.len() == 2 && t[0].is_atom("$request") => {
                let (reply, port) = request(&proxy, &t[1]);
                let (exit, events) = forward_pending(&proxy, &mut st, port);
                if let Some(reply) = reply {
                    write_frame(&mut *out.lock(), &tuple(vec![atom("reply"), reply.0, reply.1, exit, Term::List(events)]))?;
                }
            }
            other => {
                if let Some(ev) = st.event(other.clone()) {
                    write_frame(&mut *out.lock(), &ev)?;
                }
            }
        }
    }
}

/// What the worker remembers between messages: the ports whose `'EXIT'`
/// reached the proxy (the link was there when they closed).
#[derive(Default)]
struct State {
    linked_exit: std::collections::HashSet<PortId>,
}

impl State {
    /// The event for a message the proxy got: `{msg, Port, Message}` for a
    /// port's message; for a port's end (`'$port_exit'`, which comes after
    /// everything the port sent) `{exit, Port, Reason}`, or
    /// `{exit_unlinked, Port, Reason}` when the port had unlinked its owner
    /// first (`driver_exit`); nothing for `'EXIT'` itself, whose effect the
    /// end carries.
    fn event(&mut self, msg: Term) -> Option<Term> {
        if let Term::Tuple(t) = &msg {
            match t.as_slice() {
                [tag, Term::Port(p), _] if tag.is_atom("EXIT") => {
                    self.linked_exit.insert(*p);
                    return None;
                }
                [tag, Term::Port(p), reason] if tag.is_atom("$port_exit") => {
                    let kind = if self.linked_exit.remove(p) { "exit" } else { "exit_unlinked" };
                    return Some(tuple(vec![atom(kind), Term::Port(*p), reason.clone()]));
                }
                [Term::Port(p), ..] => return Some(tuple(vec![atom("msg"), Term::Port(*p), msg.clone()])),
                _ => {}
            }
        }
        Some(tuple(vec![atom("msg"), atom("undefined"), msg]))
    }
}

/// True for the messages of and about ports: `{Port, ...}`, `{'EXIT',
/// Port, _}`, `{'$port_exit', Port, _}`.
fn from_port(msg: &Term) -> bool {
    match msg {
        Term::Tuple(t) if t.len() == 3 && (t[0].is_atom("EXIT") || t[0].is_atom("$port_exit")) => matches!(t[1], Term::Port(_)),
        Term::Tuple(t) => matches!(t.first(), Some(Term::Port(_))),
        _ => false,
    }
}

/// Undoes [`crate::isolate::wrap_refc`]: `{'$refc', Bin}` becomes a binary
/// that ERTS would keep off-heap, so the driver's `ErlIOVec` is split as it
/// is in the parent.
fn unwrap_refc(t: &Term) -> Term {
    match t {
        Term::Tuple(v) if v.len() == 2 && v[0].is_atom("$refc") => match &v[1] {
            Term::Binary(b) => Term::Binary(crate::binary::Bin::from_slice_refc(b.as_slice())),
            other => other.clone(),
        },
        Term::Tuple(v) if v.len() == 4 && v[0].is_atom("$sub") => match (&v[1], &v[2], &v[3]) {
            (Term::Binary(whole), Term::Int(off), Term::Int(len)) => {
                let whole = crate::binary::Bin::from_slice_refc(whole.as_slice());
                Term::Binary(whole.sub(*off as usize, *len as usize))
            }
            _ => t.clone(),
        },
        Term::List(items) => Term::List(items.iter().map(unwrap_refc).collect()),
        Term::Improper(items, tail) => Term::Improper(items.iter().map(unwrap_refc).collect(), Box::new(unwrap_refc(tail))),
        other => other.clone(),
    }
}

/// Forwards every message already in the mailbox (what the request caused),
/// except the exit of `port`, whose reason is returned (`none` if it did not
/// exit) to travel in the reply. Messages that do not come from a port
/// (`erl_drv_send_term` to the proxy, as the driver's caller or connected
/// process) are attributed to `port`.
fn forward_pending(proxy: &Process, st: &mut State, port: Option<PortId>) -> (Term, Vec<Term>) {
    let mut exit = atom("none");
    let mut events = Vec::new();
    while let Ok(Some(msg)) = proxy.receive(Some(Duration::ZERO)) {
        if msg.is_atom("$eof") || matches!(&msg, Term::Tuple(t) if t.len() == 2 && t[0].is_atom("$request")) {
            // Not caused by this request: put it back for the main loop.
            let _ = proxy.shared.tx.send(Signal::Message(msg));
            break;
        }
        if let (Some(p), false) = (port, from_port(&msg)) {
            events.push(tuple(vec![atom("send"), Term::Port(p), msg]));
            continue;
        }
        match st.event(msg) {
            // The end of the request's own port travels in the reply.
            Some(Term::Tuple(e)) if e.len() == 3 && port.is_some_and(|p| matches!(e[1], Term::Port(q) if q == p)) && !e[0].is_atom("msg") => {
                exit = tuple(vec![e[0].clone(), e[2].clone()]);
            }
            Some(ev) => events.push(ev),
            None => {}
        }
    }
    (exit, events)
}

fn error_term(e: crate::BifError) -> Term {
    let (class, reason) = e.to_exception();
    tuple(vec![atom("error"), Term::Atom(class), reason])
}

fn ok(t: Term) -> Term {
    tuple(vec![atom("ok"), t])
}

/// `{ok, T}` or `{error, Class, Reason}` for a BIF run on a port (`badarg`
/// when the request named none).
fn on_port(port: Option<PortId>, bif: impl FnOnce(PortId) -> Result<Term, crate::BifError>) -> Term {
    match port.map(bif) {
        Some(Ok(t)) => ok(t),
        Some(Err(e)) => error_term(e),
        None => error_term(crate::BifError::badarg("not a port")),
    }
}

/// Runs one request. Returns the reply (id and result) and the port it
/// concerned.
fn request(proxy: &Process, req: &Term) -> (Option<(Term, Term)>, Option<PortId>) {
    let Term::Tuple(t) = req else { return (None, None) };
    let port_of = |t: &Term| match t {
        Term::Port(p) => Some(*p),
        _ => None,
    };
    let op = t.first().and_then(Term::as_atom).map(|a| a.name()).unwrap_or("");
    match (op, &t[1..]) {
        ("open", [id, cmd, opts]) => {
            let cmd = match cmd {
                Term::Binary(b) => String::from_utf8_lossy(b.as_slice()).into_owned(),
                _ => String::new(),
            };
            let opts = match opts {
                Term::List(v) => v.clone(),
                _ => Vec::new(),
            };
            let (r, p) = match proxy.open_port_driver(&cmd, &opts) {
                Ok(p) => (ok(Term::Port(p)), Some(p)),
                Err(e) => (error_term(e), None),
            };
            (Some((id.clone(), r)), p)
        }
        ("command", [id, port, data, Term::List(opts)]) => {
            let data = unwrap_refc(data);
            let force = opts.iter().any(|o| o.is_atom("force"));
            let nosuspend = opts.iter().any(|o| o.is_atom("nosuspend"));
            let p = port_of(port);
            let r = on_port(p, |p| proxy.port_command_opts(p, &data, force, nosuspend).map(|b| atom(if b { "true" } else { "false" })));
            (Some((id.clone(), r)), p)
        }
        ("control", [id, port, Term::Int(op), data]) => {
            let p = port_of(port);
            (Some((id.clone(), on_port(p, |p| proxy.port_control(p, *op as u32, data)))), p)
        }
        ("call", [id, port, Term::Int(op), data]) => {
            let p = port_of(port);
            (Some((id.clone(), on_port(p, |p| proxy.port_call(p, *op as u32, data)))), p)
        }
        ("info", [id, port, item]) => {
            (Some((id.clone(), on_port(port_of(port), |p| proxy.port_info_item(p, item)))), None)
        }
        ("close", [id, port]) => {
            let p = port_of(port);
            if let Some(p) = p {
                let _ = proxy.port_close(p);
            }
            (Some((id.clone(), ok(atom("true")))), p)
        }
        ("exit", [id, port, reason]) => {
            let p = port_of(port);
            if let Some(p) = p {
                let _ = proxy.exit_port(p, reason);
            }
            (Some((id.clone(), ok(atom("true")))), p)
        }
        _ => (None, None),
    }
}
