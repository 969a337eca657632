//! What the isolation rings ask of Linux: a shared mapping of a memfd,
//! futexes on words inside it, and passing the memfd to the worker over
//! the socket pair (`SCM_RIGHTS`).
//!
//! Every `unsafe` block of the rings' OS side is here; [`super::ring`]
//! builds the single-producer single-consumer rings on top.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::ptr::NonNull;
use std::sync::atomic::AtomicU32;
use std::time::Duration;

/// A `MAP_SHARED` mapping of a whole memfd, unmapped on drop.
///
/// The memory is shared with another process, which may change any byte
/// of it at any time: read it through atomics, or copy out bytes that a
/// protocol says the other side no longer writes (see [`super::ring`]).
pub(crate) struct Shm {
    ptr: NonNull<u8>,
    len: usize,
}

// SAFETY: `Shm` owns a mapping, not any Rust value inside it; access to the
// bytes goes through raw pointers under the ring protocol.
unsafe impl Send for Shm {}
// SAFETY: as above; `&Shm` only hands out the base pointer and the length.
unsafe impl Sync for Shm {}

impl Shm {
    /// Creates a memfd of `len` bytes (zero-filled, close-on-exec) and maps
    /// it. Returns the mapping and the memfd, to pass to the other process.
    ///
    /// # Errors
    /// `memfd_create`, `ftruncate` or `mmap` failing (`ENOMEM`, `EMFILE`).
    pub(crate) fn create(len: usize) -> io::Result<(Shm, OwnedFd)> {
        // SAFETY: the name is a NUL-terminated literal; the flags are valid.
        let fd = unsafe { libc::memfd_create(c"porthost-ring".as_ptr(), libc::MFD_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` was just returned by memfd_create and nothing else owns it.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        // SAFETY: ftruncate on a descriptor we own.
        if unsafe { libc::ftruncate(fd.as_raw_fd(), len as libc::off_t) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok((Shm::map_len(&fd, len)?, fd))
    }

    /// Maps the whole of the memfd `fd` (its size from `fstat`).
    ///
    /// # Errors
    /// `fstat` or `mmap` failing.
    pub(crate) fn map(fd: &OwnedFd) -> io::Result<Shm> {
        // SAFETY: `st` is plain data that fstat fills in.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: fstat on a descriptor we own, into a valid `stat`.
        if unsafe { libc::fstat(fd.as_raw_fd(), &mut st) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Shm::map_len(fd, st.st_size as usize)
    }

    fn map_len(fd: &OwnedFd, len: usize) -> io::Result<Shm> {
        if len == 0 {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "an empty shared mapping"));
        }
        // SAFETY: a fresh shared mapping of `len` bytes of a file we own; no
        // existing memory is affected.
        let p = unsafe {
            libc::mmap(std::ptr::null_mut(), len, libc::PROT_READ | libc::PROT_WRITE, libc::MAP_SHARED, fd.as_raw_fd(), 0)
        };
        if p == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let ptr = NonNull::new(p.cast::<u8>()).ok_or_else(|| io::Error::other("mmap returned null"))?;
        Ok(Shm { ptr, len })
    }

    /// The first byte of the mapping (page-aligned).
    pub(crate) fn as_ptr(&self) -> *mut u8 {
        self.ptr.as_ptr()
    }

    /// The mapping's size in bytes.
    pub(crate) fn len(&self) -> usize {
        self.len
    }
}

impl Drop for Shm {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the mapping this value made; the rings that
        // point into it hold an `Arc<Shm>`, so none is left.
        unsafe { libc::munmap(self.ptr.as_ptr().cast(), self.len) };
    }
}

/// Tells this process's `malloc` to keep freed memory for reuse instead of
/// giving it back to the kernel at once (`mallopt(M_TRIM_THRESHOLD)`,
/// 64 MiB). For the worker process, whose requests allocate and free
/// frame-sized buffers back to back: given back each time, they came back
/// as page faults on every large round trip (64 KiB commands: 48-77 µs ->
/// 9.5 µs). (Fixing `M_MMAP_THRESHOLD` as well slowed small round trips.)
pub(crate) fn keep_freed_memory() {
    // SAFETY: mallopt only sets an allocator parameter; called before the
    // worker starts its threads.
    unsafe {
        libc::mallopt(libc::M_TRIM_THRESHOLD, 64 << 20);
    }
}

/// The CPU the calling thread runs on (`sched_getcpu`), `u32::MAX` if the
/// system cannot tell.
pub(crate) fn current_cpu() -> u32 {
    // SAFETY: sched_getcpu takes nothing and only reads the thread's state.
    let cpu = unsafe { libc::sched_getcpu() };
    u32::try_from(cpu).unwrap_or(u32::MAX)
}

/// Sleeps while `word` holds `expected`, at most `timeout` (`None`: until
/// woken). Returns at once if the word differs; may return spuriously.
///
/// Not `FUTEX_PRIVATE_FLAG`: the word may live in a mapping shared with
/// another process, whose [`futex_wake`] must reach this sleeper.
pub(crate) fn futex_wait(word: &AtomicU32, expected: u32, timeout: Option<Duration>) {
    let ts = timeout.map(|t| libc::timespec {
        tv_sec: t.as_secs().min(i64::MAX as u64) as libc::time_t,
        tv_nsec: t.subsec_nanos() as libc::c_long,
    });
    let tsp = ts.as_ref().map_or(std::ptr::null(), |t| t as *const libc::timespec);
    // SAFETY: `word` is a valid, aligned u32 for the duration of the call;
    // `tsp` is null or points at a live timespec. EINTR, EAGAIN and
    // ETIMEDOUT are all "look again", which the callers do.
    unsafe {
        libc::syscall(libc::SYS_futex, word.as_ptr(), libc::FUTEX_WAIT, expected, tsp, std::ptr::null::<u32>(), 0);
    }
}

/// Wakes every thread, in any process, sleeping in [`futex_wait`] on `word`.
pub(crate) fn futex_wake(word: &AtomicU32) {
    // SAFETY: `word` is a valid, aligned u32; FUTEX_WAKE does not write it.
    unsafe {
        libc::syscall(libc::SYS_futex, word.as_ptr(), libc::FUTEX_WAKE, i32::MAX, std::ptr::null::<libc::timespec>(), std::ptr::null::<u32>(), 0);
    }
}

/// The space for one descriptor's control message, as `u64`s (a
/// `cmsghdr` needs `size_t` alignment).
const CMSG_WORDS: usize = 4;

/// Sends the descriptor `fd` over `sock` (`SCM_RIGHTS`, with one byte
/// `R` of data, so the receiver knows what it got).
///
/// # Errors
/// `sendmsg` failing (`EPIPE` if the other end is closed).
pub(crate) fn send_fd(sock: &UnixStream, fd: BorrowedFd<'_>) -> io::Result<()> {
    let mut byte = [b'R'];
    let mut iov = libc::iovec { iov_base: byte.as_mut_ptr().cast(), iov_len: 1 };
    let mut cbuf = [0u64; CMSG_WORDS];
    // SAFETY: CMSG_SPACE is arithmetic.
    let space = unsafe { libc::CMSG_SPACE(std::mem::size_of::<libc::c_int>() as u32) } as usize;
    assert!(space <= std::mem::size_of_val(&cbuf));
    // SAFETY: msghdr is plain data; all-zero is a valid empty header.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cbuf.as_mut_ptr().cast();
    msg.msg_controllen = space as _;
    // SAFETY: `msg` describes `cbuf`, which has room for one control message
    // holding one descriptor (checked above), so CMSG_FIRSTHDR is non-null
    // and the writes stay inside `cbuf`; sendmsg reads `msg`, `iov`, `byte`
    // and `cbuf`, all alive for the call.
    let r = unsafe {
        let c = libc::CMSG_FIRSTHDR(&msg);
        (*c).cmsg_level = libc::SOL_SOCKET;
        (*c).cmsg_type = libc::SCM_RIGHTS;
        (*c).cmsg_len = libc::CMSG_LEN(std::mem::size_of::<libc::c_int>() as u32) as _;
        std::ptr::write_unaligned(libc::CMSG_DATA(c).cast::<libc::c_int>(), fd.as_raw_fd());
        libc::sendmsg(sock.as_raw_fd(), &msg, libc::MSG_NOSIGNAL)
    };
    if r != 1 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Receives a descriptor that [`send_fd`] sent (close-on-exec), blocking.
///
/// # Errors
/// `recvmsg` failing, the end of the stream, or a message that is not one
/// byte `R` with one descriptor (`InvalidData`).
pub(crate) fn recv_fd(sock: &UnixStream) -> io::Result<OwnedFd> {
    let mut byte = [0u8];
    let mut iov = libc::iovec { iov_base: byte.as_mut_ptr().cast(), iov_len: 1 };
    let mut cbuf = [0u64; CMSG_WORDS];
    // SAFETY: msghdr is plain data; all-zero is a valid empty header.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cbuf.as_mut_ptr().cast();
    msg.msg_controllen = std::mem::size_of_val(&cbuf) as _;
    let n = loop {
        // SAFETY: `msg` points at `iov`/`byte` and `cbuf`, alive and writable
        // for the call, with their true sizes.
        let n = unsafe { libc::recvmsg(sock.as_raw_fd(), &mut msg, libc::MSG_CMSG_CLOEXEC) };
        if n < 0 && io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
            continue;
        }
        break n;
    };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    let bad = |why: &str| io::Error::new(io::ErrorKind::InvalidData, format!("expected the ring's memfd: {why}"));
    if n == 0 {
        return Err(bad("end of stream"));
    }
    // SAFETY: recvmsg filled `msg`; CMSG_FIRSTHDR checks msg_controllen and
    // returns null or a header inside `cbuf`, whose data holds
    // `cmsg_len - CMSG_LEN(0)` bytes.
    let fd = unsafe {
        let c = libc::CMSG_FIRSTHDR(&msg);
        if c.is_null()
            || (*c).cmsg_level != libc::SOL_SOCKET
            || (*c).cmsg_type != libc::SCM_RIGHTS
            || ((*c).cmsg_len as usize) < libc::CMSG_LEN(std::mem::size_of::<libc::c_int>() as u32) as usize
        {
            return Err(bad("no descriptor"));
        }
        std::ptr::read_unaligned(libc::CMSG_DATA(c).cast::<libc::c_int>())
    };
    // SAFETY: the kernel installed `fd` in this process for us; nothing
    // else owns it.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    if byte[0] != b'R' {
        return Err(bad("wrong tag"));
    }
    Ok(fd)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::Ordering;

    #[test]
    fn a_memfd_passed_over_a_socket_maps_the_same_memory() {
        let (a, fd) = Shm::create(4096).unwrap();
        let (s1, s2) = UnixStream::pair().unwrap();
        send_fd(&s1, std::os::fd::AsFd::as_fd(&fd)).unwrap();
        let got = recv_fd(&s2).unwrap();
        let b = Shm::map(&got).unwrap();
        assert_eq!(b.len(), 4096);
        // SAFETY: both mappings are 4096 bytes, page-aligned; nothing else
        // touches them.
        unsafe {
            a.as_ptr().add(100).write(42);
            assert_eq!(b.as_ptr().add(100).read(), 42);
        }
    }

    #[test]
    fn futex_wait_returns_when_the_word_differs_or_on_timeout_or_wake() {
        let w = std::sync::Arc::new(AtomicU32::new(0));
        futex_wait(&w, 1, None);
        futex_wait(&w, 0, Some(Duration::from_millis(1)));
        w.store(1, Ordering::SeqCst);
        let w2 = w.clone();
        let t = std::thread::spawn(move || {
            while w2.load(Ordering::SeqCst) == 1 {
                futex_wait(&w2, 1, Some(Duration::from_secs(5)));
            }
        });
        std::thread::sleep(Duration::from_millis(10));
        w.store(0, Ordering::SeqCst);
        futex_wake(&w);
        t.join().unwrap();
    }
}
