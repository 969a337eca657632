//! The control socket: a running host's ports, for `porthost ports
//! --connect PATH` and `porthost top` (and any program of the same user).
//!
//! # Security
//! The host opens a Unix stream socket at the path it is given
//! (`--control PATH`, [`crate::HostConfig::control_socket`],
//! [`crate::Host::open_control_socket`]), sets its mode to 0600 right after
//! `bind` (so only the host's user, and root, can `connect`), and checks
//! every connection's peer with `SO_PEERCRED`: a peer whose uid is not the
//! host's effective uid gets `error permission denied` and the connection
//! is closed, whatever the file's mode (that also covers the moment
//! between `bind` and `chmod`, and root). The socket only reads: it lists
//! ports and their counters and describes one port; it cannot open, close
//! or command ports. The file is removed when the host goes; an existing
//! file at the path is replaced only if it is a socket nobody listens on.
//!
//! # Protocol
//! Lines of text. The client sends `ports`; the host answers one line per
//! open port, tab-separated: `port N kind input output commands messages
//! queue_size memory name` (the name with `\t`, `\n` and `\\` escaped as
//! such), then `end`. `info N` answers `info TERM` (what
//! `porthost:port_stats(P)` gives, printed with `~w` but with printable
//! character lists as strings) or `info undefined`,
//! then `end`. Anything else answers `error unknown request`.
#![deny(unsafe_code)]

use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};

use crate::host::{Host, HostInner};
use crate::recon::{counters, info};
use crate::term::PortId;

/// A running control socket; dropping it stops it and removes the file.
pub(crate) struct Listener {
    path: PathBuf,
    stop: Arc<AtomicBool>,
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        // Wakes the accept loop, which sees `stop`.
        let _ = UnixStream::connect(&self.path);
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Whether a peer of uid `peer` may use the socket of a host running as
/// `host` (only the same user; root is not an exception).
pub(crate) fn authorized(peer: Option<u32>, host: u32) -> bool {
    peer == Some(host)
}

impl Host {
    /// Opens the control socket at `path` (see the `control` section of
    /// the README): mode 0600, peers checked with `SO_PEERCRED`. Replaces
    /// a control socket this host already has.
    ///
    /// # Errors
    /// The path is taken by something other than a dead socket, or
    /// `bind` fails.
    pub fn open_control_socket(&self, path: &Path) -> std::io::Result<()> {
        if let Ok(meta) = std::fs::symlink_metadata(path) {
            if !meta.file_type().is_socket() || UnixStream::connect(path).is_ok() {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::AddrInUse,
                    format!("{} exists and is not a dead socket", path.display()),
                ));
            }
            std::fs::remove_file(path)?;
        }
        let listener = UnixListener::bind(path)?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
        let stop = Arc::new(AtomicBool::new(false));
        let host = Arc::downgrade(&self.inner);
        let stop2 = stop.clone();
        std::thread::Builder::new()
            .name("porthost control".into())
            .spawn(move || accept_loop(listener, host, stop2))?;
        tracing::info!(path = %path.display(), "control socket open");
        *self.inner.control.lock() = Some(Listener { path: path.to_owned(), stop });
        Ok(())
    }
}

fn accept_loop(listener: UnixListener, host: Weak<HostInner>, stop: Arc<AtomicBool>) {
    for conn in listener.incoming() {
        if stop.load(Ordering::Acquire) {
            return;
        }
        let Ok(conn) = conn else { continue };
        let host = host.clone();
        let _ = std::thread::Builder::new().name("porthost control client".into()).spawn(move || serve(conn, host));
    }
}

fn serve(conn: UnixStream, host: Weak<HostInner>) {
    let peer = crate::sys::introspect::peer_uid(&conn);
    let me = crate::sys::introspect::effective_uid();
    let mut out = match conn.try_clone() {
        Ok(c) => c,
        Err(_) => return,
    };
    let mut lines = BufReader::new(conn).lines();
    if !authorized(peer, me) {
        tracing::warn!(?peer, "control socket: refused a peer of another user");
        // Answer its first request (read with a time limit), so that the
        // client reads the refusal instead of a broken pipe.
        let _ = out.set_read_timeout(Some(std::time::Duration::from_secs(2)));
        let _ = lines.next();
        let _ = writeln!(out, "error permission denied");
        return;
    }
    for line in lines {
        let Ok(line) = line else { return };
        let Some(host) = host.upgrade() else { return };
        let mut reply = String::new();
        answer(&host, line.trim(), &mut reply);
        drop(host);
        if out.write_all(reply.as_bytes()).is_err() {
            return;
        }
    }
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('\t', "\\t").replace('\n', "\\n")
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut it = s.chars();
    while let Some(c) = it.next() {
        match (c, c == '\\') {
            (_, true) => match it.next() {
                Some('t') => out.push('\t'),
                Some('n') => out.push('\n'),
                Some(o) => out.push(o),
                None => {}
            },
            (c, false) => out.push(c),
        }
    }
    out
}

fn answer(host: &HostInner, req: &str, out: &mut String) {
    use std::fmt::Write as _;
    match req.split_once(' ').unwrap_or((req, "")) {
        ("ports", _) => {
            host.ports.for_each(|p| {
                let c = counters(p);
                let _ = writeln!(
                    out,
                    "port\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
                    p.id.0,
                    info::kind(p),
                    c.input,
                    c.output,
                    c.commands,
                    c.messages,
                    c.queue_size,
                    c.memory,
                    escape(&p.name)
                );
            });
        }
        ("info", n) => match n.trim().parse::<u64>().ok().and_then(|n| host.ports.get(PortId(n))) {
            Some(p) => {
                let _ = writeln!(out, "info {}", readable(&info::stats(host, &p)));
            }
            None => out.push_str("info undefined\n"),
        },
        _ => out.push_str("error unknown request\n"),
    }
    out.push_str("end\n");
}

/// `t` as `~w` prints it, but with lists of printable characters as
/// strings (`"echo_drv"`), as `~p` does, for people. (Port stats are a few
/// levels deep: the recursion is bounded by porthost's own terms.)
fn readable(t: &crate::term::Term) -> String {
    use crate::term::Term;
    match t {
        Term::List(items) if !items.is_empty() && items.iter().all(|i| i.as_int().is_some_and(|c| (32..127).contains(&c))) => {
            let s: String = items.iter().filter_map(|i| i.as_int()).map(|c| c as u8 as char).collect();
            format!("{s:?}")
        }
        Term::List(items) => format!("[{}]", items.iter().map(readable).collect::<Vec<_>>().join(",")),
        Term::Tuple(items) => format!("{{{}}}", items.iter().map(readable).collect::<Vec<_>>().join(",")),
        other => other.to_string(),
    }
}

/// One port as the control socket lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PortRow {
    /// The port's number (`#Port<0.N>`).
    pub id: u64,
    /// `driver`, `isolated` or `external`.
    pub kind: String,
    /// The port's counters.
    pub counters: crate::recon::PortCounters,
    /// The command string it was opened with.
    pub name: String,
}

/// A client of a host's control socket (see the module's protocol).
pub struct ControlClient {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
}

impl ControlClient {
    /// Connects to the control socket at `path`.
    ///
    /// # Errors
    /// The socket cannot be reached.
    pub fn connect(path: &Path) -> std::io::Result<ControlClient> {
        let writer = UnixStream::connect(path)?;
        Ok(ControlClient { reader: BufReader::new(writer.try_clone()?), writer })
    }

    fn request(&mut self, req: &str) -> std::io::Result<Vec<String>> {
        writeln!(self.writer, "{req}")?;
        let mut lines = Vec::new();
        loop {
            let mut line = String::new();
            if self.reader.read_line(&mut line)? == 0 {
                return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "the host closed the control socket"));
            }
            let line = line.trim_end_matches('\n');
            if line == "end" {
                return Ok(lines);
            }
            if let Some(why) = line.strip_prefix("error ") {
                return Err(std::io::Error::new(std::io::ErrorKind::PermissionDenied, why.to_owned()));
            }
            lines.push(line.to_owned());
        }
    }

    /// Every open port of the host, in no particular order.
    ///
    /// # Errors
    /// The connection failed, or the host refused this user.
    pub fn ports(&mut self) -> std::io::Result<Vec<PortRow>> {
        let lines = self.request("ports")?;
        Ok(lines.iter().filter_map(|l| parse_row(l)).collect())
    }

    /// What `porthost:port_stats(P)` says of port `id`, as text (`~w`), or
    /// `None` if it is not open.
    ///
    /// # Errors
    /// As [`ControlClient::ports`].
    pub fn info(&mut self, id: u64) -> std::io::Result<Option<String>> {
        let lines = self.request(&format!("info {id}"))?;
        Ok(lines.first().and_then(|l| l.strip_prefix("info ")).filter(|t| *t != "undefined").map(str::to_owned))
    }
}

fn parse_row(line: &str) -> Option<PortRow> {
    let f: Vec<&str> = line.splitn(10, '\t').collect();
    if f.len() != 10 || f[0] != "port" {
        return None;
    }
    let n = |i: usize| f[i].parse::<u64>().ok();
    Some(PortRow {
        id: n(1)?,
        kind: f[2].to_owned(),
        counters: crate::recon::PortCounters {
            input: n(3)?,
            output: n(4)?,
            commands: n(5)?,
            messages: n(6)?,
            queue_size: n(7)?,
            memory: n(8)?,
        },
        name: unescape(f[9]),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_hosts_user_is_authorized() {
        assert!(authorized(Some(1000), 1000));
        assert!(!authorized(Some(0), 1000));
        assert!(!authorized(Some(65534), 0));
        assert!(!authorized(None, 0));
    }

    #[test]
    fn rows_round_trip_names_with_tabs() {
        let name = "a\tb\\c\nd";
        let line = format!("port\t7\tdriver\t1\t2\t3\t4\t5\t6\t{}", escape(name));
        let row = parse_row(&line).unwrap();
        assert_eq!((row.id, row.name.as_str(), row.counters.memory), (7, name, 6));
    }
}
