//! `porthost node`: porthost as a hidden node of an Erlang cluster,
//! serving the session protocol (see `super`) to every BEAM node that
//! connects, over Erlang distribution (the `erl_dist` crate: EPMD
//! registration, the handshake with the cookie, messages).
//!
//! A BEAM node reaches it as the registered name `porthost` on the node
//! (`{porthost, 'ph@host'} ! Msg`). Its client router sends `{hello,
//! RouterPid}` first, then frames as binaries; porthost sends its frames to
//! the router pid as binaries. Each connection is a session of its own,
//! on a thread of its own (blocking I/O under `futures`' `block_on`),
//! with a second thread that writes its frames and ticks. When the
//! connection ends (the BEAM node disconnects, or dies), the session ends
//! and its ports close.

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use erl_dist::epmd::{EpmdClient, NodeEntry};
use erl_dist::handshake::{HandshakeStatus, ServerSideHandshake};
use erl_dist::message::{self, Message};
use erl_dist::node::{LocalNode, NodeName};
use erl_dist::term as eterm;
use futures::executor::block_on;
use parking_lot::Mutex;

use super::session::{Exits, Out, Session};
use crate::{Host, HostConfig};

/// How often a connection with nothing to send sends a tick (the BEAM
/// side drops a connection silent for `net_ticktime`, 60 s by default).
const TICK: Duration = Duration::from_secs(15);

/// What `porthost node` was asked for.
#[derive(Debug, Clone)]
pub struct NodeOptions {
    /// The node name: `name@host`, or a bare name to complete with this
    /// machine's host name.
    pub name: String,
    /// `--name` (long names: the host part is the full host name) rather
    /// than `--sname`.
    pub long: bool,
    /// The cookie; `None` reads `~/.erlang.cookie`.
    pub cookie: Option<String>,
    /// The address to listen on for connections. Default: all interfaces,
    /// as ERTS.
    pub listen: Option<String>,
}

/// Completes a node name with this machine's host name.
fn node_name(opts: &NodeOptions) -> io::Result<NodeName> {
    let full = if opts.name.contains('@') {
        opts.name.clone()
    } else {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")?.trim().to_owned();
        let host = if opts.long { host } else { host.split('.').next().unwrap_or("localhost").to_owned() };
        format!("{}@{host}", opts.name)
    };
    full.parse().map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("node name {full}: {e:?}")))
}

/// The cookie: given, else the first line of `~/.erlang.cookie`.
fn cookie(opts: &NodeOptions) -> io::Result<String> {
    if let Some(c) = &opts.cookie {
        return Ok(c.clone());
    }
    let home = std::env::var_os("HOME").ok_or_else(|| io::Error::other("no --cookie and no $HOME"))?;
    let path = std::path::Path::new(&home).join(".erlang.cookie");
    let c = std::fs::read_to_string(&path).map_err(|e| io::Error::new(e.kind(), format!("no --cookie and {}: {e}", path.display())))?;
    let c = c.lines().next().unwrap_or("").trim().to_owned();
    if c.is_empty() {
        return Err(io::Error::other(format!("no --cookie and {} is empty", path.display())));
    }
    Ok(c)
}

/// EPMD's port: `$ERL_EPMD_PORT`, else 4369.
fn epmd_port() -> u16 {
    std::env::var("ERL_EPMD_PORT").ok().and_then(|p| p.parse().ok()).unwrap_or(erl_dist::epmd::DEFAULT_EPMD_PORT)
}

/// Serves as node `opts.name` until killed.
///
/// # Errors
/// No cookie, a bad node name, EPMD unreachable or refusing the name, or
/// the listening socket failed.
pub(crate) fn run(config: HostConfig, opts: NodeOptions) -> io::Result<()> {
    let name = node_name(&opts)?;
    let cookie = cookie(&opts)?;
    let listener = TcpListener::bind((opts.listen.as_deref().unwrap_or("0.0.0.0"), 0))?;
    let port = listener.local_addr()?.port();
    let epmd = TcpStream::connect(("127.0.0.1", epmd_port()))
        .map_err(|e| io::Error::new(e.kind(), format!("EPMD on 127.0.0.1:{}: {e}", epmd_port())))?;
    let (_registration, creation) = block_on(EpmdClient::new(Stream::new(epmd)?).register(NodeEntry::new_hidden(name.name(), port)))
        .map_err(|e| io::Error::other(format!("EPMD refused {name}: {e}")))?;
    eprintln!("porthost: node {name} listening on port {port}");
    let host = Host::new(config);
    let exits = Exits::install(&host)?;
    let local = LocalNode::new(name, creation);
    for conn in listener.incoming() {
        let conn = match conn {
            Ok(c) => c,
            Err(e) => {
                eprintln!("porthost: accept: {e}");
                continue;
            }
        };
        let (host, exits, local, cookie) = (host.clone(), exits.clone(), local.clone(), cookie.clone());
        std::thread::Builder::new().name("porthost-node-conn".into()).spawn(move || {
            if let Err(e) = serve(conn, &host, exits, local, &cookie) {
                eprintln!("porthost: {e}");
            }
        })?;
    }
    Ok(())
}

/// One connection: the handshake, then its session until it closes.
fn serve(conn: TcpStream, host: &Host, exits: Arc<Exits>, local: LocalNode, cookie: &str) -> io::Result<()> {
    let _ = conn.set_nodelay(true);
    let peer_addr = conn.peer_addr()?;
    let mut hs = ServerSideHandshake::new(Stream::new(conn)?, local, cookie);
    let peer = match block_on(hs.execute_recv_name()) {
        Ok(Some(peer)) => peer,
        Ok(None) => return Err(io::Error::other(format!("refused {peer_addr}: it asked for a dynamic name"))),
        Err(e) => return Err(io::Error::other(format!("handshake with {peer_addr}: {e}"))),
    };
    let (stream, peer) = match block_on(hs.execute_rest(HandshakeStatus::Ok)) {
        Ok(x) => x,
        Err(erl_dist::handshake::HandshakeError::CookieMismatch) => {
            return Err(io::Error::other(format!("refused a connection from {peer} ({peer_addr}): wrong cookie")));
        }
        Err(e) => return Err(io::Error::other(format!("handshake with {peer} ({peer_addr}): {e}"))),
    };
    eprintln!("porthost: {} connected", peer.name);
    let (tx, mut rx) = message::channel(stream.clone(), local_flags(&peer));
    // Frames go to the router (set by `hello`), written by the thread that
    // makes them (a driver's, or this one for replies); a ticker keeps the
    // connection alive when nothing else is sent.
    let tx = Arc::new(Mutex::new(tx));
    let router: Arc<Mutex<Option<eterm::Pid>>> = Arc::new(Mutex::new(None));
    let (r, t) = (router.clone(), tx.clone());
    let out: Out = Arc::new(move |head: &[u8], tail: &[u8]| {
        let Some(pid) = r.lock().clone() else { return Ok(()) };
        let mut frame = Vec::with_capacity(head.len() + tail.len());
        frame.extend_from_slice(head);
        frame.extend_from_slice(tail);
        let bin = eterm::Term::from(eterm::Binary::from(frame));
        block_on(t.lock().send(Message::send(pid, bin))).map_err(|e| io::Error::new(io::ErrorKind::BrokenPipe, e.to_string()))
    });
    let (stop_tx, stop_rx) = crossbeam_channel::bounded::<()>(0);
    let t = tx.clone();
    let ticker = std::thread::Builder::new().name("porthost-node-tick".into()).spawn(move || {
        while let Err(crossbeam_channel::RecvTimeoutError::Timeout) = stop_rx.recv_timeout(TICK) {
            if block_on(t.lock().send(Message::Tick)).is_err() {
                return;
            }
        }
    })?;
    let mut session = Session::new(host, out, exits);
    let end = loop {
        let msg = match block_on(rx.recv()) {
            Ok(m) => m,
            Err(message::RecvError::Closed) => break Ok(()),
            Err(e) => break Err(io::Error::other(format!("{}: {e}", peer.name))),
        };
        let (to, body) = match msg {
            Message::RegSend(m) => (m.to_name, m.message),
            Message::RegSendTt(m) => (m.to_name, m.message),
            _ => continue,
        };
        if to.name != "porthost" {
            continue;
        }
        match body {
            eterm::Term::Binary(b) => session.handle(&b.bytes)?,
            eterm::Term::Tuple(t) if is_hello(&t) => {
                if let eterm::Term::Pid(p) = &t.elements[1] {
                    *router.lock() = Some(p.clone());
                }
            }
            _ => {}
        }
    };
    eprintln!("porthost: {} disconnected", peer.name);
    // The session's ports close; then the ticker ends.
    drop(session);
    drop(stop_tx);
    stream.shutdown();
    let _ = ticker.join();
    end
}

fn is_hello(t: &eterm::Tuple) -> bool {
    t.elements.len() == 2 && matches!(&t.elements[0], eterm::Term::Atom(a) if a.name == "hello")
}

fn local_flags(peer: &erl_dist::node::PeerNode) -> erl_dist::DistributionFlags {
    erl_dist::DistributionFlags::default() & peer.flags
}

/// A TCP stream shared by the reader and the writer of a connection, with
/// blocking I/O behind `futures`' traits (each call completes at once, so
/// `block_on` never parks on it). Reads are buffered (a message's length,
/// tag and body take one `read` between them, several messages too);
/// writes wait in a buffer until `flush`, so that each message `erl_dist`
/// writes piecewise goes out in one `write`.
#[derive(Clone)]
struct Stream {
    tcp: Arc<TcpStream>,
    read: Arc<Mutex<io::BufReader<TcpStream>>>,
    write: Arc<Mutex<Vec<u8>>>,
}

impl Stream {
    fn new(s: TcpStream) -> io::Result<Stream> {
        let r = s.try_clone()?;
        Ok(Stream {
            tcp: Arc::new(s),
            read: Arc::new(Mutex::new(io::BufReader::with_capacity(1 << 16, r))),
            write: Arc::new(Mutex::new(Vec::new())),
        })
    }

    fn shutdown(&self) {
        let _ = self.tcp.shutdown(std::net::Shutdown::Both);
    }
}

impl futures::io::AsyncRead for Stream {
    fn poll_read(self: Pin<&mut Self>, _: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        Poll::Ready(self.read.lock().read(buf))
    }
}

impl futures::io::AsyncWrite for Stream {
    fn poll_write(self: Pin<&mut Self>, _: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.write.lock().extend_from_slice(buf);
        Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut w = self.write.lock();
        let r = (&*self.tcp).write_all(&w);
        w.clear();
        Poll::Ready(r)
    }
    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let r = self.as_mut().poll_flush(cx);
        let _ = self.tcp.shutdown(std::net::Shutdown::Write);
        r
    }
}
