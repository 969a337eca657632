//! A session: the porthost process that owns the ports of one BEAM-side
//! connection and runs its requests (see the protocol in `super`).

use std::collections::HashMap;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;

use crate::error::BifError;
use crate::process::{Process, Signal};
use crate::term::ext;
use crate::term::{PortId, Term};
use crate::Host;

/// Held by a session while it runs a request, so that the exit frame of
/// a port the request ends follows the reply.
type Gate = Arc<Mutex<()>>;

/// Where a session's frames go: each call writes one whole frame, the
/// external term format `head` followed by `tail` (so that a port's data
/// goes out without a copy into the frame); safe to call from any thread.
pub(crate) type Out = Arc<dyn Fn(&[u8], &[u8]) -> io::Result<()> + Send + Sync>;

/// Writes the frame `t`.
fn send(out: &Out, t: &Term) -> io::Result<()> {
    out(&ext::term_to_binary(t), &[])
}

fn atom(s: &str) -> Term {
    Term::atom(s)
}

/// How many exits of ports no session has claimed are kept (ports a
/// driver made with `driver_create_port`, or a port that ended before its
/// `open` returned).
const ORPHANS_KEPT: usize = 1024;

/// The ends of every port of a host, each sent to the session that opened
/// the port as `{exit, N, Reason}` (from the host's port exit hook, on a
/// thread of its own).
pub(crate) struct Exits {
    /// Each live port's session: where its frames go, and the gate the
    /// session holds while it runs a request.
    live: Mutex<HashMap<PortId, (Out, Gate)>>,
    /// Exits that came before their port's session claimed it.
    orphans: Mutex<HashMap<PortId, Term>>,
}

impl Exits {
    /// Installs the exit hook on `host` and starts its thread.
    pub(crate) fn install(host: &Host) -> io::Result<Arc<Exits>> {
        let exits = Arc::new(Exits { live: Mutex::new(HashMap::new()), orphans: Mutex::new(HashMap::new()) });
        let (tx, rx) = crossbeam_channel::unbounded::<Signal>();
        *host.inner.port_exit_hook.lock() = Some(tx);
        let e = exits.clone();
        std::thread::Builder::new().name("porthost-dist-exits".into()).spawn(move || {
            for sig in rx {
                let Signal::Message(msg) = sig else { continue };
                let Ok(mut items) = msg.into_tuple() else { continue };
                if items.len() != 3 || !items[0].is_atom("$port_exit") {
                    continue;
                }
                let reason = std::mem::replace(&mut items[2], Term::nil());
                let Term::Port(id) = items[1] else { continue };
                e.exited(id, reason);
            }
        })?;
        Ok(exits)
    }

    fn exited(&self, id: PortId, reason: Term) {
        let out = self.live.lock().remove(&id);
        match out {
            Some((out, gate)) => {
                // A port that a request ends (`close`, a driver failing in
                // `control`) exits after the request's reply.
                let _g = gate.lock();
                let _ = send(&out, &exit_frame(id, reason));
            }
            None => {
                let mut orphans = self.orphans.lock();
                if orphans.len() >= ORPHANS_KEPT {
                    orphans.clear();
                }
                orphans.insert(id, reason);
            }
        }
    }

    /// The session that writes to `out` opened port `id`: its exit goes
    /// there (at once, if it has already happened).
    fn claim(&self, id: PortId, out: &Out, gate: &Gate) {
        let mut live = self.live.lock();
        if let Some(reason) = self.orphans.lock().remove(&id) {
            drop(live);
            let _ = send(out, &exit_frame(id, reason));
            return;
        }
        live.insert(id, (out.clone(), gate.clone()));
    }
}

fn exit_frame(id: PortId, reason: Term) -> Term {
    Term::Tuple(vec![atom("exit"), Term::Int(id.0 as i64), reason])
}

/// Writes what a port sent its owner as a frame (see [`message_frame`]);
/// `{msg, N, {data, Bytes}}` with the bytes written from where they are.
fn send_message(out: &Out, from: PortId, msg: Term) -> io::Result<()> {
    if let Term::Tuple(items) = &msg {
        if let ([Term::Port(p), Term::Tuple(what)], Ok(n)) = (items.as_slice(), i32::try_from(from.0)) {
            if *p == from {
                if let [tag, data] = what.as_slice() {
                    let bytes = match data {
                        Term::Binary(b) if tag.is_atom("data") => Some((109u8, b)),
                        Term::ByteList(b) if tag.is_atom("data") && b.len() < 65536 => Some((107u8, b)),
                        _ => None,
                    };
                    if let Some((kind, b)) = bytes {
                        let mut head = Vec::with_capacity(32);
                        head.extend_from_slice(&[131, 104, 3, 100, 0, 3, b'm', b's', b'g']);
                        match u8::try_from(n) {
                            Ok(small) => head.extend_from_slice(&[97, small]),
                            Err(_) => {
                                head.push(98);
                                head.extend_from_slice(&n.to_be_bytes());
                            }
                        }
                        head.extend_from_slice(&[104, 2, 100, 0, 4, b'd', b'a', b't', b'a', kind]);
                        if kind == 109 {
                            head.extend_from_slice(&(b.len() as u32).to_be_bytes());
                        } else {
                            head.extend_from_slice(&(b.len() as u16).to_be_bytes());
                        }
                        return out(&head, b.as_slice());
                    }
                }
            }
        }
    }
    send(out, &message_frame(from, msg))
}

/// What a port sent its owner, as a frame: `{msg, N, Msg}` for `{Port,
/// Msg}`, else `{term, N, Term}`.
fn message_frame(from: PortId, mut msg: Term) -> Term {
    if let Term::Tuple(items) = &mut msg {
        if items.len() == 2 && matches!(items[0], Term::Port(p) if p == from) {
            let m = std::mem::replace(&mut items[1], Term::nil());
            return Term::Tuple(vec![atom("msg"), Term::Int(from.0 as i64), m]);
        }
    }
    Term::Tuple(vec![atom("term"), Term::Int(from.0 as i64), msg])
}

/// The first frame of a batch's frames (each with its 4-byte length) and
/// the rest, or `None` if no whole frame is left.
fn next_in_batch(batch: &[u8]) -> Option<(&[u8], &[u8])> {
    let (len, rest) = batch.split_first_chunk::<4>()?;
    let len = u32::from_be_bytes(*len) as usize;
    (len <= rest.len()).then(|| rest.split_at(len))
}

/// `{command, N, Binary}` as the client writes it (`command_frame/2` in
/// `porthost.erl`): the port and the data, or `None` for any other frame
/// (which is decoded).
fn command_frame(frame: &[u8]) -> Option<(PortId, &[u8])> {
    let rest = frame.strip_prefix(&[131, 104, 3, 100, 0, 7, b'c', b'o', b'm', b'm', b'a', b'n', b'd'])?;
    let (n, rest) = match rest {
        [97, n, rest @ ..] => (u64::from(*n), rest),
        [98, a, b, c, d, rest @ ..] => (u64::try_from(i32::from_be_bytes([*a, *b, *c, *d])).ok()?, rest),
        _ => return None,
    };
    match rest {
        [109, a, b, c, d, data @ ..] if u32::from_be_bytes([*a, *b, *c, *d]) as usize == data.len() => Some((PortId(n), data)),
        _ => None,
    }
}

/// The porthost process of one connection and where its frames go.
pub(crate) struct Session {
    proc_: Process,
    out: Out,
    exits: Arc<Exits>,
    gate: Gate,
}

impl Session {
    /// A new session of `host`, writing to `out`: a process that traps
    /// exits, whose ports' messages go straight to `out` on the thread of
    /// the driver that sends them.
    pub(crate) fn new(host: &Host, out: Out, exits: Arc<Exits>) -> Session {
        let proc_ = host.spawn_process();
        let _ = proc_.set_trap_exit(true);
        let o = out.clone();
        let _ = proc_.shared.sink.set(Arc::new(move |from: PortId, msg: Term| {
            let _ = send_message(&o, from, msg);
        }));
        Session { proc_, out, exits, gate: Gate::default() }
    }

    /// Runs the requests of one packet: a frame, or a batch of them (the
    /// byte 0, then each frame with its 4-byte length, as the client
    /// writes a burst; see `super::bridge`'s "Batches").
    pub(crate) fn handle_packet(&mut self, packet: &[u8]) -> io::Result<()> {
        let Some((0, mut batch)) = packet.split_first() else { return self.handle(packet) };
        while let Some((one, rest)) = next_in_batch(batch) {
            self.handle(one)?;
            batch = rest;
        }
        if !batch.is_empty() {
            eprintln!("porthost: dropped the {} bytes at the end of a batch that are not a frame", batch.len());
        }
        Ok(())
    }

    /// Runs one request frame (external term format); a frame that is not
    /// a request is reported on standard error and dropped.
    pub(crate) fn handle(&mut self, frame: &[u8]) -> io::Result<()> {
        if let Some((n, data)) = command_frame(frame) {
            // The most frequent request, matched rather than decoded.
            let g = self.gate.lock();
            let _ = self.proc_.port_command(n, &Term::binary(data));
            drop(g);
            self.drain();
            return Ok(());
        }
        let Some(req) = ext::binary_to_term(frame) else {
            eprintln!("porthost: dropped a frame that is not in the external term format ({} bytes)", frame.len());
            return Ok(());
        };
        let items = match req.into_tuple() {
            Ok(items) if !items.is_empty() => items,
            Ok(_) | Err(_) => {
                eprintln!("porthost: dropped a frame that is not a request");
                return Ok(());
            }
        };
        let gate = self.gate.clone();
        let g = gate.lock();
        let r = self.run(&items);
        drop(g);
        self.drain();
        r
    }

    /// Ends the session's process with `reason` (an atom): its ports close
    /// with that reason, as ports whose owner exits. Dropping a session
    /// ends it with `normal`.
    pub(crate) fn end(self, reason: &str) {
        self.proc_.exit(atom(reason));
    }

    /// The session traps exits: its ports' `{'EXIT', Port, Reason}`
    /// messages (the exit frames come from the hook) are not needed.
    fn drain(&self) {
        if !self.proc_.shared.tx.is_empty() {
            while let Ok(Some(_)) = self.proc_.receive(Some(Duration::ZERO)) {}
        }
    }

    fn reply(&self, tag: &Term, result: Result<Term, BifError>) -> io::Result<()> {
        // {reply, Tag, {ok, Binary}}: the binary goes out from where it is.
        if let (Ok(Term::Binary(b)), Term::Binary(t)) = (&result, tag) {
            let mut head = Vec::with_capacity(32 + t.len());
            head.extend_from_slice(&[131, 104, 3, 100, 0, 5, b'r', b'e', b'p', b'l', b'y', 109]);
            head.extend_from_slice(&(t.len() as u32).to_be_bytes());
            head.extend_from_slice(t.as_slice());
            head.extend_from_slice(&[104, 2, 100, 0, 2, b'o', b'k', 109]);
            head.extend_from_slice(&(b.len() as u32).to_be_bytes());
            return (self.out)(&head, b.as_slice());
        }
        let value = match result {
            Ok(v) => Term::Tuple(vec![atom("ok"), v]),
            Err(e) => {
                let (class, reason) = e.to_exception();
                Term::Tuple(vec![atom("error"), Term::Atom(class), reason])
            }
        };
        send(&self.out, &Term::Tuple(vec![atom("reply"), tag.clone(), value]))
    }

    fn run(&mut self, items: &[Term]) -> io::Result<()> {
        let port = |t: &Term| t.as_int().and_then(|n| u64::try_from(n).ok()).map(PortId);
        let op = |t: &Term| t.as_int().and_then(|n| u32::try_from(n).ok());
        let bad = || BifError::badarg("a malformed request");
        let p = &self.proc_;
        let Some(kind) = items[0].as_atom() else { return Ok(()) };
        match (kind.name(), items) {
            ("command", [_, n, data]) => {
                if let Some(n) = port(n) {
                    let _ = p.port_command(n, data);
                }
                Ok(())
            }
            ("exit", [_, n, reason]) => {
                if let Some(n) = port(n) {
                    let _ = p.exit_port(n, reason);
                }
                Ok(())
            }
            ("open", [_, tag, name, opts]) => {
                let r = match opts.expanded().as_ref() {
                    Term::List(opts) => p.open_port(name, opts),
                    _ => Err(bad()),
                };
                match r {
                    Ok(id) => {
                        self.reply(tag, Ok(Term::Int(id.0 as i64)))?;
                        self.exits.claim(id, &self.out, &self.gate);
                        Ok(())
                    }
                    Err(e) => self.reply(tag, Err(e)),
                }
            }
            ("control", [_, tag, n, o, data]) => {
                let r = match (port(n), op(o)) {
                    (Some(n), Some(o)) => p.port_control(n, o, data),
                    _ => Err(bad()),
                };
                self.reply(tag, r)
            }
            ("call", [_, tag, n, o, data]) => {
                let r = match (port(n), op(o)) {
                    (Some(n), Some(o)) => p.port_call(n, o, data),
                    _ => Err(bad()),
                };
                self.reply(tag, r)
            }
            ("close", [_, tag, n]) => {
                let r = port(n).ok_or_else(bad).and_then(|n| p.port_close(n)).map(|()| atom("true"));
                self.reply(tag, r)
            }
            ("close_input", [_, tag, n]) => {
                let r = port(n).ok_or_else(bad).and_then(|n| p.close_input(n)).map(|()| atom("true"));
                self.reply(tag, r)
            }
            ("info", [_, tag, n]) => {
                let r = port(n).ok_or_else(bad).and_then(|n| p.port_info(n));
                self.reply(tag, r)
            }
            ("info", [_, tag, n, item]) => {
                let r = port(n).ok_or_else(bad).and_then(|n| p.port_info_item(n, item));
                self.reply(tag, r)
            }
            (_, [_, tag, ..]) if tag.as_bits().is_some() => self.reply(tag, Err(bad())),
            _ => {
                eprintln!("porthost: dropped an unknown request {}", items[0]);
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `out` was called with, each frame joined.
    fn capture() -> (Out, Arc<Mutex<Vec<Vec<u8>>>>) {
        let frames = Arc::new(Mutex::new(Vec::new()));
        let f = frames.clone();
        let out: Out = Arc::new(move |head: &[u8], tail: &[u8]| {
            f.lock().push([head, tail].concat());
            Ok(())
        });
        (out, frames)
    }

    #[test]
    fn data_messages_written_in_place_are_the_terms_external_format() {
        let (out, frames) = capture();
        let port = PortId(77);
        let cases = [
            Term::binary(b"hello"),
            Term::binary(&[7u8; 70000]),
            Term::compact_byte_list(b"list mode"),
            Term::compact_byte_list(&[1u8; 70000]),
        ];
        for data in &cases {
            let msg = Term::Tuple(vec![Term::Port(port), Term::Tuple(vec![atom("data"), data.clone()])]);
            send_message(&out, port, msg).unwrap();
            let expected = Term::Tuple(vec![atom("msg"), Term::Int(77), Term::Tuple(vec![atom("data"), data.clone()])]);
            assert_eq!(frames.lock().pop().unwrap(), ext::term_to_binary(&expected));
        }
        // Anything else goes as {term, N, Term}.
        send_message(&out, port, atom("hi")).unwrap();
        let expected = Term::Tuple(vec![atom("term"), Term::Int(77), atom("hi")]);
        assert_eq!(frames.lock().pop().unwrap(), ext::term_to_binary(&expected));
    }

    fn len_prefixed(payload: &[u8]) -> Vec<u8> {
        [&(payload.len() as u32).to_be_bytes()[..], payload].concat()
    }

    #[test]
    fn a_batch_splits_into_its_frames_and_stops_at_a_truncated_one() {
        let batch = [len_prefixed(b"\x83a"), len_prefixed(b""), len_prefixed(b"\x83bc")].concat();
        let mut rest = &batch[..];
        let mut frames = Vec::new();
        while let Some((one, r)) = next_in_batch(rest) {
            frames.push(one);
            rest = r;
        }
        assert_eq!(frames, [&b"\x83a"[..], b"", b"\x83bc"]);
        assert!(rest.is_empty());
        let truncated = [len_prefixed(b"\x83a"), vec![0, 0, 0, 9, 131]].concat();
        let (one, rest) = next_in_batch(&truncated).unwrap();
        assert_eq!((one, rest), (&b"\x83a"[..], &[0u8, 0, 0, 9, 131][..]));
        assert_eq!(next_in_batch(rest), None);
        assert_eq!(next_in_batch(&[0, 0]), None);
    }

    #[test]
    fn command_frames_are_matched_as_the_decoder_reads_them() {
        let data = Term::binary(b"some bytes");
        for n in [0i64, 7, 255, 256, 70000] {
            let frame = ext::term_to_binary(&Term::Tuple(vec![atom("command"), Term::Int(n), data.clone()]));
            // The client writes N as a 32-bit integer; the encoder may not.
            let mut client = vec![131, 104, 3, 100, 0, 7];
            client.extend_from_slice(b"command");
            client.push(98);
            client.extend_from_slice(&(n as i32).to_be_bytes());
            client.push(109);
            client.extend_from_slice(&10u32.to_be_bytes());
            client.extend_from_slice(b"some bytes");
            for f in [&frame, &client] {
                if let Some((port, bytes)) = command_frame(f) {
                    assert_eq!((port, bytes), (PortId(n as u64), &b"some bytes"[..]));
                }
            }
            assert_eq!(command_frame(&client), Some((PortId(n as u64), &b"some bytes"[..])));
        }
        // Not a command, a truncated one, a negative port, a list: decoded instead.
        let other = ext::term_to_binary(&Term::Tuple(vec![atom("command"), Term::Int(1), Term::compact_byte_list(b"ab")]));
        assert_eq!(command_frame(&other), None);
        let mut short = ext::term_to_binary(&Term::Tuple(vec![atom("command"), Term::Int(1), data.clone()]));
        short.pop();
        assert_eq!(command_frame(&short), None);
        let neg = ext::term_to_binary(&Term::Tuple(vec![atom("command"), Term::Int(-1), data.clone()]));
        assert_eq!(command_frame(&neg), None);
    }

    #[test]
    fn a_binary_reply_written_in_place_is_the_terms_external_format() {
        let (out, frames) = capture();
        let host = Host::new(Default::default());
        let exits = Exits::install(&host).unwrap();
        let s = Session::new(&host, out, exits);
        let tag = Term::binary(b"opaque tag");
        for v in [Term::binary(b"answer"), Term::binary(&[3u8; 100_000])] {
            s.reply(&tag, Ok(v.clone())).unwrap();
            let expected = Term::Tuple(vec![atom("reply"), tag.clone(), Term::Tuple(vec![atom("ok"), v])]);
            assert_eq!(frames.lock().pop().unwrap(), ext::term_to_binary(&expected));
        }
        s.reply(&tag, Err(BifError::badarg("test"))).unwrap();
        let expected = Term::Tuple(vec![atom("reply"), tag.clone(), Term::Tuple(vec![atom("error"), atom("error"), atom("badarg")])]);
        assert_eq!(frames.lock().pop().unwrap(), ext::term_to_binary(&expected));
    }
}
