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
//! with a second thread that ticks. When the connection ends (the BEAM
//! node disconnects, or dies), the session ends and its ports close with
//! reason `noconnection`, as ERTS closes a port whose remote owner's
//! connection goes down.
//!
//! # Ticks
//! As OTP's `net_kernel` does with `net_ticktime` (`--net-ticktime`, 60 s
//! by default; it must be the same on every node of the cluster): every
//! quarter of it, a connection that has sent nothing since the last
//! quarter sends a tick, and one whose socket has received nothing (not
//! even a tick; what the session has not read yet counts) for four
//! quarters in a row is taken as dead: it is shut down,
//! logged, and its session ends. A peer that stops answering (stopped,
//! partitioned, its machine gone) is so detected between `net_ticktime`
//! and 5/4 of it after the last bytes it sent.

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
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

/// How long a connection may take to finish its handshake (OTP's
/// `net_setuptime` default, 7 s): a peer that connects and stalls does not
/// keep a thread.
const SETUP_TIME: Duration = Duration::from_secs(7);

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
    /// The port to listen on (as OTP's `inet_dist_listen_min` and `_max`
    /// set to one port: for a firewall rule or an SSH tunnel). Default:
    /// one the system picks.
    pub port: Option<u16>,
    /// OTP's `net_ticktime` (OTP's default is 60 s; at least 1 s is used;
    /// see the module's "Ticks"). Give every node of the cluster the same.
    pub net_ticktime: Duration,
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
    // As OTP's auth: a cookie file others can read is no secret.
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path)?.permissions().mode();
        if mode & 0o077 != 0 {
            return Err(io::Error::other(format!("{} must be accessible by its owner only (mode {:o})", path.display(), mode & 0o777)));
        }
    }
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
    let addr = opts.listen.as_deref().unwrap_or("0.0.0.0");
    let listener = TcpListener::bind((addr, opts.port.unwrap_or(0)))
        .map_err(|e| io::Error::new(e.kind(), format!("listening on {addr} port {}: {e}", opts.port.unwrap_or(0))))?;
    let port = listener.local_addr()?.port();
    let epmd = TcpStream::connect(("127.0.0.1", epmd_port()))
        .map_err(|e| io::Error::new(e.kind(), format!("EPMD on 127.0.0.1:{}: {e}", epmd_port())))?;
    let (_registration, creation) = block_on(EpmdClient::new(Stream::new(epmd)?).register(NodeEntry::new_hidden(name.name(), port)))
        .map_err(|e| io::Error::other(format!("EPMD refused {name}: {e}")))?;
    eprintln!("porthost: node {name} listening on port {port}");
    let host = Host::new(config);
    let exits = Exits::install(&host)?;
    let local = LocalNode::new(name, creation);
    let ticktime = opts.net_ticktime.max(Duration::from_secs(1));
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
            if let Err(e) = serve(conn, &host, exits, local, &cookie, ticktime) {
                eprintln!("porthost: {e}");
            }
        })?;
    }
    Ok(())
}

/// One connection: the handshake, then its session until it closes.
fn serve(conn: TcpStream, host: &Host, exits: Arc<Exits>, local: LocalNode, cookie: &str, ticktime: Duration) -> io::Result<()> {
    let _ = conn.set_nodelay(true);
    let peer_addr = conn.peer_addr()?;
    conn.set_read_timeout(Some(SETUP_TIME))?;
    let setup = Stream::new(conn)?;
    let mut hs = ServerSideHandshake::new(setup.clone(), local, cookie);
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
    setup.tcp.set_read_timeout(None)?;
    eprintln!("porthost: {} connected", peer.name);
    let (tx, mut rx) = message::channel(stream.clone(), local_flags(&peer));
    // Frames go to the router (set by `hello`), written by the thread that
    // makes them (a driver's, or this one for replies); a ticker keeps the
    // connection alive when nothing else is sent.
    let tx = Arc::new(Mutex::new(tx));
    let router: Arc<Mutex<Option<eterm::Pid>>> = Arc::new(Mutex::new(None));
    let packer = Arc::new(Mutex::new(Packer::new(router.clone(), tx.clone())));
    let p = packer.clone();
    let out: Out = Arc::new(move |head: &[u8], tail: &[u8]| p.lock().frame(head, tail));
    let (stop_tx, stop_rx) = crossbeam_channel::bounded::<()>(0);
    let (t, s, name) = (tx.clone(), stream.clone(), peer.name.to_string());
    let ticker = std::thread::Builder::new()
        .name("porthost-node-tick".into())
        .spawn(move || tick(&t, &s, &stop_rx, ticktime, &name))?;
    let mut session = Session::new(host, out, exits);
    let end = loop {
        // Frames written while requests already read run go out together
        // once none is left (one write for a pipelined burst, as the
        // bridge's batches).
        if !stream.holds_a_message() {
            if let Err(e) = packer.lock().end_batch().and_then(|()| stream.end_batch()) {
                break Err(io::Error::new(e.kind(), format!("{}: {e}", peer.name)));
            }
        }
        let msg = match block_on(rx.recv()) {
            Ok(m) => m,
            Err(message::RecvError::Closed) => break Ok(()),
            Err(e) => break Err(io::Error::other(format!("{}: {e}", peer.name))),
        };
        packer.lock().batching = true;
        stream.begin_batch();
        let (to, body) = match msg {
            Message::RegSend(m) => (m.to_name, m.message),
            Message::RegSendTt(m) => (m.to_name, m.message),
            _ => continue,
        };
        if to.name != "porthost" {
            continue;
        }
        match body {
            eterm::Term::Binary(b) => {
                if let Err(e) = session.handle_packet(&b.bytes) {
                    break Err(io::Error::new(e.kind(), format!("{}: {e}", peer.name)));
                }
            }
            eterm::Term::Tuple(t) if is_hello(&t) => {
                if let eterm::Term::Pid(p) = &t.elements[1] {
                    *router.lock() = Some(p.clone());
                }
            }
            _ => {}
        }
    };
    eprintln!("porthost: {} disconnected", peer.name);
    // The session's ports close, as ports linked to a process of a node
    // whose connection went down; then the ticker ends.
    session.end(NOCONNECTION);
    drop(stop_tx);
    stream.shutdown();
    let _ = ticker.join();
    end
}

/// A connection's frames to its router: each a binary message, except
/// those written during a batch, which go out together as one message (the
/// byte 0, then each frame with its 4-byte length, as the bridge's
/// batches, which the client's router reads the same way).
struct Packer {
    router: Arc<Mutex<Option<eterm::Pid>>>,
    tx: Arc<Mutex<message::Sender<Stream>>>,
    batching: bool,
    /// 0, then the frames of the batch with their lengths.
    buf: Vec<u8>,
    frames: usize,
}

impl Packer {
    fn new(router: Arc<Mutex<Option<eterm::Pid>>>, tx: Arc<Mutex<message::Sender<Stream>>>) -> Packer {
        Packer { router, tx, batching: false, buf: vec![0], frames: 0 }
    }

    /// Sends the frame `head` followed by `tail`, or keeps it for the
    /// batch's message.
    fn frame(&mut self, head: &[u8], tail: &[u8]) -> io::Result<()> {
        let size = head.len() + tail.len();
        if self.batching && self.buf.len() + 4 + size <= BATCH {
            self.buf.extend_from_slice(&(size as u32).to_be_bytes());
            self.buf.extend_from_slice(head);
            self.buf.extend_from_slice(tail);
            self.frames += 1;
            return Ok(());
        }
        self.send_kept()?;
        self.send([head, tail].concat())
    }

    /// Ends a batch: what it kept goes out.
    fn end_batch(&mut self) -> io::Result<()> {
        self.batching = false;
        self.send_kept()
    }

    fn send_kept(&mut self) -> io::Result<()> {
        let kept = match self.frames {
            0 => return Ok(()),
            1 => self.buf[5..].to_vec(),
            _ => std::mem::take(&mut self.buf),
        };
        self.buf.clear();
        self.buf.push(0);
        self.frames = 0;
        self.send(kept)
    }

    /// One binary message to the router (dropped while the client has
    /// not said `hello`).
    fn send(&self, bytes: Vec<u8>) -> io::Result<()> {
        let Some(pid) = self.router.lock().clone() else { return Ok(()) };
        let bin = eterm::Term::from(eterm::Binary::from(bytes));
        block_on(self.tx.lock().send(Message::send(pid, bin))).map_err(|e| io::Error::new(io::ErrorKind::BrokenPipe, e.to_string()))
    }
}

/// The exit reason of a session whose connection ended.
const NOCONNECTION: &str = "noconnection";

/// The ticker of a connection (see the module's "Ticks"), until `stop`
/// closes or the connection is found dead (then shut down, so that its
/// reader ends).
fn tick(tx: &Mutex<message::Sender<Stream>>, stream: &Stream, stop: &crossbeam_channel::Receiver<()>, ticktime: Duration, peer: &str) {
    let quarter = ticktime / 4;
    let (mut read, mut written) = (stream.received(), stream.activity.written());
    let mut silent = 0;
    while let Err(crossbeam_channel::RecvTimeoutError::Timeout) = stop.recv_timeout(quarter) {
        let r = stream.received();
        silent = if r == read { silent + 1 } else { 0 };
        read = r;
        if silent >= 4 {
            eprintln!("porthost: {peer} not heard from in {} ms (net_ticktime): connection closed", ticktime.as_millis());
            stream.shutdown();
            return;
        }
        // Nothing sent this quarter: a tick. A writer holding the sender
        // is sending (or blocked on a full socket, which the reads above
        // judge): no tick needed.
        if stream.activity.written() == written {
            if let Some(mut tx) = tx.try_lock() {
                // erl_dist writes a tick without flushing it: flushed here,
                // under the sender's lock like any message.
                if block_on(tx.send(Message::Tick)).is_err() || stream.flush_buffered().is_err() {
                    return;
                }
            }
        }
        written = stream.activity.written();
    }
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
/// writes piecewise goes out in one `write`, and during a batch (see
/// [`Stream::begin_batch`]) until its end.
#[derive(Clone)]
struct Stream {
    tcp: Arc<TcpStream>,
    read: Arc<Mutex<io::BufReader<TcpStream>>>,
    write: Arc<Mutex<Output>>,
    activity: Arc<Activity>,
}

/// What waits to be written.
#[derive(Default)]
struct Output {
    buf: Vec<u8>,
    /// A batch is open: `flush` leaves whole messages in `buf` (up to
    /// [`BATCH`] bytes).
    batching: bool,
}

/// The most bytes a batch keeps before it writes them.
const BATCH: usize = 1 << 16;

/// How many reads brought bytes and how many writes went out, for the
/// ticker.
#[derive(Default)]
struct Activity {
    read: AtomicU64,
    written: AtomicU64,
}

impl Activity {
    fn read(&self) -> u64 {
        self.read.load(Ordering::Relaxed)
    }
    fn written(&self) -> u64 {
        self.written.load(Ordering::Relaxed)
    }
}

impl Stream {
    fn new(s: TcpStream) -> io::Result<Stream> {
        let r = s.try_clone()?;
        Ok(Stream {
            tcp: Arc::new(s),
            read: Arc::new(Mutex::new(io::BufReader::with_capacity(1 << 16, r))),
            write: Arc::default(),
            activity: Arc::default(),
        })
    }

    /// Writes what `erl_dist` has written so far, in one `write`.
    fn flush_buffered(&self) -> io::Result<()> {
        self.write_out(&mut self.write.lock())
    }

    fn write_out(&self, w: &mut Output) -> io::Result<()> {
        if w.buf.is_empty() {
            return Ok(());
        }
        let r = (&*self.tcp).write_all(&w.buf);
        w.buf.clear();
        self.activity.written.fetch_add(1, Ordering::Relaxed);
        r
    }

    /// From now on, messages wait until [`Stream::end_batch`].
    fn begin_batch(&self) {
        self.write.lock().batching = true;
    }

    /// Ends a batch: what it holds is written.
    fn end_batch(&self) -> io::Result<()> {
        let mut w = self.write.lock();
        w.batching = false;
        self.write_out(&mut w)
    }

    /// A count that grows whenever bytes arrive: the kernel's count of the
    /// bytes received (`TCP_INFO`; so that a session busy in a long call,
    /// which reads nothing meanwhile, does not take its peer's ticks for
    /// silence, as OTP counts what its socket received) plus the reads.
    fn received(&self) -> u64 {
        use std::os::fd::AsRawFd;
        let kernel = crate::sys::introspect::socket_info(self.tcp.as_raw_fd()).and_then(|i| i.tcp).map_or(0, |t| t.bytes_received);
        kernel.wrapping_add(self.activity.read())
    }

    /// Whether a whole message (its 4-byte length and its bytes) has been
    /// read and not yet received: then receiving it will not wait.
    fn holds_a_message(&self) -> bool {
        let r = self.read.lock();
        match r.buffer().split_first_chunk::<4>() {
            Some((len, rest)) => u32::from_be_bytes(*len) as usize <= rest.len(),
            None => false,
        }
    }

    fn shutdown(&self) {
        let _ = self.tcp.shutdown(std::net::Shutdown::Both);
    }
}

impl futures::io::AsyncRead for Stream {
    fn poll_read(self: Pin<&mut Self>, _: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        let r = self.read.lock().read(buf);
        if matches!(r, Ok(n) if n > 0) {
            self.activity.read.fetch_add(1, Ordering::Relaxed);
        }
        Poll::Ready(r)
    }
}

impl futures::io::AsyncWrite for Stream {
    fn poll_write(self: Pin<&mut Self>, _: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.write.lock().buf.extend_from_slice(buf);
        Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut w = self.write.lock();
        if w.batching && w.buf.len() < BATCH {
            return Poll::Ready(Ok(()));
        }
        Poll::Ready(self.write_out(&mut w))
    }
    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let r = self.as_mut().poll_flush(cx);
        let _ = self.tcp.shutdown(std::net::Shutdown::Write);
        r
    }
}
