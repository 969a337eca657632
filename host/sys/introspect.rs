//! What Linux says about a descriptor or a process, for `port_info`'s
//! porthost extensions: socket addresses (`getsockname`, `getpeername`),
//! TCP counters (`TCP_INFO`), and a child's CPU and memory
//! (`/proc/PID/stat`, `/proc/PID/statm`).

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::RawFd;

/// A socket among a port's selected descriptors.
#[derive(Clone, Debug, Default)]
pub struct SocketInfo {
    /// `getsockname`, for an IPv4 or IPv6 socket.
    pub local: Option<SocketAddr>,
    /// `getpeername`, for a connected one.
    pub peer: Option<SocketAddr>,
    /// `SO_TYPE`: `stream`, `dgram`, ...
    pub kind: &'static str,
    /// For TCP: `(bytes_acked, bytes_received, segs_out, segs_in,
    /// total_retrans, rtt_us)` from `TCP_INFO`.
    pub tcp: Option<TcpCounters>,
}

/// The kernel's counters of a TCP socket (`struct tcp_info`).
#[derive(Clone, Copy, Debug, Default)]
pub struct TcpCounters {
    /// Bytes the peer acknowledged.
    pub bytes_acked: u64,
    /// Bytes received.
    pub bytes_received: u64,
    /// Segments sent.
    pub segs_out: u32,
    /// Segments received.
    pub segs_in: u32,
    /// Retransmitted segments.
    pub total_retrans: u32,
    /// Smoothed round-trip time, µs.
    pub rtt_us: u32,
    /// The TCP state (`TCP_ESTABLISHED` = 1, ...).
    pub state: u8,
}

/// What a socket descriptor is, or `None` if `fd` is not a socket.
pub fn socket_info(fd: RawFd) -> Option<SocketInfo> {
    // SAFETY: fstat writes a stat into the zeroed buffer; a bad fd is an
    // error return.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    if unsafe { libc::fstat(fd, &mut st) } != 0 || st.st_mode & libc::S_IFMT != libc::S_IFSOCK {
        return None;
    }
    let ty = getsockopt_int(fd, libc::SOL_SOCKET, libc::SO_TYPE).unwrap_or(0);
    let kind = match ty {
        libc::SOCK_STREAM => "stream",
        libc::SOCK_DGRAM => "dgram",
        libc::SOCK_SEQPACKET => "seqpacket",
        _ => "other",
    };
    let local = address(fd, libc::getsockname);
    let peer = address(fd, libc::getpeername);
    let tcp = match (ty, local) {
        (libc::SOCK_STREAM, Some(_)) => tcp_counters(fd),
        _ => None,
    };
    Some(SocketInfo { local, peer, kind, tcp })
}

fn getsockopt_int(fd: RawFd, level: i32, name: i32) -> Option<i32> {
    let mut v: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: an int-sized buffer and its length.
    let r = unsafe { libc::getsockopt(fd, level, name, &mut v as *mut _ as *mut libc::c_void, &mut len) };
    (r == 0).then_some(v)
}

type AddrFn = unsafe extern "C" fn(libc::c_int, *mut libc::sockaddr, *mut libc::socklen_t) -> libc::c_int;

fn address(fd: RawFd, f: AddrFn) -> Option<SocketAddr> {
    // SAFETY: a sockaddr_storage is large enough for any address; the
    // kernel writes at most `len` bytes.
    let mut ss: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    // SAFETY: as above.
    if unsafe { f(fd, &mut ss as *mut _ as *mut libc::sockaddr, &mut len) } != 0 {
        return None;
    }
    match ss.ss_family as i32 {
        libc::AF_INET => {
            // SAFETY: the family says the storage holds a sockaddr_in.
            let a: libc::sockaddr_in = unsafe { *(&ss as *const _ as *const libc::sockaddr_in) };
            let ip = Ipv4Addr::from(u32::from_be(a.sin_addr.s_addr));
            Some(SocketAddr::V4(SocketAddrV4::new(ip, u16::from_be(a.sin_port))))
        }
        libc::AF_INET6 => {
            // SAFETY: the family says the storage holds a sockaddr_in6.
            let a: libc::sockaddr_in6 = unsafe { *(&ss as *const _ as *const libc::sockaddr_in6) };
            let ip = Ipv6Addr::from(a.sin6_addr.s6_addr);
            Some(SocketAddr::V6(SocketAddrV6::new(ip, u16::from_be(a.sin6_port), a.sin6_flowinfo, a.sin6_scope_id)))
        }
        _ => None,
    }
}

fn tcp_counters(fd: RawFd) -> Option<TcpCounters> {
    // SAFETY: a zeroed tcp_info and its size; the kernel fills what it has.
    let mut ti: libc::tcp_info = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::tcp_info>() as libc::socklen_t;
    // SAFETY: as above.
    let r = unsafe { libc::getsockopt(fd, libc::IPPROTO_TCP, libc::TCP_INFO, &mut ti as *mut _ as *mut libc::c_void, &mut len) };
    (r == 0).then_some(TcpCounters {
        bytes_acked: ti.tcpi_bytes_acked,
        bytes_received: ti.tcpi_bytes_received,
        segs_out: ti.tcpi_segs_out,
        segs_in: ti.tcpi_segs_in,
        total_retrans: ti.tcpi_total_retrans,
        rtt_us: ti.tcpi_rtt,
        state: ti.tcpi_state,
    })
}

/// A process's CPU and memory use, from `/proc`.
#[derive(Clone, Copy, Debug, Default)]
pub struct ProcUsage {
    /// User plus system CPU time, milliseconds.
    pub cpu_ms: u64,
    /// Resident set, bytes.
    pub rss_bytes: u64,
    /// Virtual size, bytes.
    pub vsize_bytes: u64,
    /// Threads.
    pub threads: u64,
}

/// `pid`'s CPU and memory use; `None` if it is gone.
pub fn proc_usage(pid: i64) -> Option<ProcUsage> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may hold spaces: fields
    // start after the last ')'; field 3 (state) is the first of them.
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split(' ').collect();
    let field = |n: usize| f.get(n - 3).and_then(|s| s.parse::<u64>().ok()).unwrap_or(0);
    // SAFETY: sysconf has no preconditions.
    let tck = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    // SAFETY: as above.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) }.max(1) as u64;
    let statm = std::fs::read_to_string(format!("/proc/{pid}/statm")).unwrap_or_default();
    let m: Vec<u64> = statm.split_whitespace().filter_map(|s| s.parse().ok()).collect();
    Some(ProcUsage {
        cpu_ms: (field(14) + field(15)) * 1000 / tck,
        rss_bytes: m.get(1).copied().unwrap_or(field(24)) * page,
        vsize_bytes: field(23),
        threads: field(20),
    })
}

/// The uid of the process at the other end of a Unix socket
/// (`SO_PEERCRED`), `None` if the kernel does not say.
pub fn peer_uid(sock: &impl std::os::fd::AsRawFd) -> Option<u32> {
    // SAFETY: a zeroed ucred and its size; the kernel fills it.
    let mut cred: libc::ucred = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: as above, on a descriptor the caller owns.
    let r = unsafe {
        libc::getsockopt(sock.as_raw_fd(), libc::SOL_SOCKET, libc::SO_PEERCRED, &mut cred as *mut _ as *mut libc::c_void, &mut len)
    };
    (r == 0 && len as usize == std::mem::size_of::<libc::ucred>()).then_some(cred.uid)
}

/// This process's effective uid.
pub fn effective_uid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;

    #[test]
    fn tcp_socket_has_addresses_and_counters() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let c = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let info = socket_info(c.as_raw_fd()).expect("a socket");
        assert_eq!(info.kind, "stream");
        assert_eq!(info.peer, Some(l.local_addr().unwrap()));
        assert!(info.local.is_some());
        assert_eq!(info.tcp.expect("tcp_info").state, 1);
        let f = std::fs::File::open("/proc/self/stat").unwrap();
        assert!(socket_info(f.as_raw_fd()).is_none());
    }

    #[test]
    fn peer_of_a_socket_pair_is_this_user() {
        let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
        assert_eq!(peer_uid(&a), Some(effective_uid()));
    }

    #[test]
    fn own_process_usage() {
        let u = proc_usage(std::process::id() as i64).expect("self");
        assert!(u.rss_bytes > 0 && u.threads >= 1);
        assert!(proc_usage(-5).is_none());
    }
}
