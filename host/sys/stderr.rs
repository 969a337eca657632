//! Pointing this process's standard error somewhere else for a while (the
//! fuzzer sends its workers' crash reports to a log this way: workers
//! inherit file descriptor 2).

use std::fs::File;
use std::os::fd::{AsRawFd, FromRawFd};

/// Standard error, pointed at a file until this is dropped.
pub struct StderrTo {
    saved: File,
}

impl StderrTo {
    /// Points file descriptor 2 at `to`; returns the guard, which keeps the
    /// original standard error (see [`StderrTo::original`]).
    ///
    /// # Errors
    /// If `dup`/`dup2` fail.
    pub fn file(to: &File) -> std::io::Result<StderrTo> {
        // SAFETY: dup of a descriptor this process has open; the new one is
        // owned by the File made from it below.
        let saved = unsafe { libc::dup(2) };
        if saved < 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: `saved` is a fresh descriptor nothing else owns.
        let saved = unsafe { File::from_raw_fd(saved) };
        // SAFETY: dup2 onto fd 2 of an open descriptor.
        if unsafe { libc::dup2(to.as_raw_fd(), 2) } < 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(StderrTo { saved })
    }

    /// The standard error this process had before.
    pub fn original(&self) -> &File {
        &self.saved
    }
}

impl Drop for StderrTo {
    fn drop(&mut self) {
        // SAFETY: dup2 of the saved descriptor back onto fd 2.
        unsafe { libc::dup2(self.saved.as_raw_fd(), 2) };
    }
}
