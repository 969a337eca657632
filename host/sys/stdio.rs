//! Taking standard input and output for a protocol (`porthost bridge`).

use std::fs::File;
use std::io;
use std::os::fd::{AsFd, OwnedFd};

/// Moves standard input and output out of the way of drivers and the
/// programs they start: returns private duplicates of fds 0 and 1, then
/// points fd 0 at `/dev/null` and fd 1 at standard error, so that a driver
/// that prints (or a child that inherits fd 1) cannot corrupt the frames
/// written to the returned output.
///
/// # Errors
/// `dup` or `open` failed (out of descriptors).
pub fn take_stdio() -> io::Result<(File, File)> {
    let input: OwnedFd = io::stdin().as_fd().try_clone_to_owned()?;
    let output: OwnedFd = io::stdout().as_fd().try_clone_to_owned()?;
    let null = File::open("/dev/null")?;
    // SAFETY: dup2 on descriptors this process owns (0, 1, 2 and `null`,
    // alive for the call); it replaces fds 0 and 1 atomically, so no other
    // thread can see them closed. The private duplicates above keep the
    // original pipes open.
    let ok = unsafe { libc::dup2(std::os::fd::AsRawFd::as_raw_fd(&null), 0) >= 0 && libc::dup2(2, 1) >= 0 };
    if !ok {
        return Err(io::Error::last_os_error());
    }
    Ok((File::from(input), File::from(output)))
}

/// Asks for a pipe buffer of `size` bytes on `fd` (`F_SETPIPE_SZ`); does
/// nothing if `fd` is not a pipe or the size is over the system's limit.
pub fn grow_pipe(fd: &impl AsFd, size: usize) {
    let raw = std::os::fd::AsRawFd::as_raw_fd(&fd.as_fd());
    let size = libc::c_int::try_from(size).unwrap_or(libc::c_int::MAX);
    // SAFETY: fcntl on a descriptor the caller keeps open; F_SETPIPE_SZ
    // takes an int and touches no memory of ours.
    unsafe { libc::fcntl(raw, libc::F_SETPIPE_SZ, size) };
}

/// True if a `read` on `fd` would not block now (data, end of input or an
/// error is pending): `poll` with a zero timeout. A failed `poll` says
/// true, so that the caller's `read` reports the error.
pub fn readable_now(fd: &impl AsFd) -> bool {
    let mut p = libc::pollfd { fd: std::os::fd::AsRawFd::as_raw_fd(&fd.as_fd()), events: libc::POLLIN, revents: 0 };
    // SAFETY: poll on one pollfd that lives on this stack for the call,
    // for a descriptor the caller keeps open; a zero timeout never blocks.
    let n = unsafe { libc::poll(&mut p, 1, 0) };
    n != 0
}
