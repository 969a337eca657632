//! Backtraces of a crashing worker: fatal signals (`SIGSEGV`, `SIGBUS`,
//! `SIGILL`, `SIGFPE`, `SIGABRT`) print the crashing thread's stack to
//! stderr (the log), then the signal takes its default course, so the
//! parent still sees the worker die of it.

use std::os::raw::c_int;

const FATAL: [c_int; 5] = [libc::SIGSEGV, libc::SIGBUS, libc::SIGILL, libc::SIGFPE, libc::SIGABRT];

extern "C" fn on_fatal(sig: c_int) {
    let head = b"porthost worker: fatal signal; backtrace of the crashing thread:\n";
    let mut frames = [std::ptr::null_mut(); 64];
    // SAFETY: write(2) and backtrace_symbols_fd are async-signal-safe;
    // backtrace was called once at install time, so it does not allocate
    // here. SA_RESETHAND restored the default action, so raising the signal
    // again ends the process with it.
    unsafe {
        libc::write(2, head.as_ptr() as *const _, head.len());
        let n = libc::backtrace(frames.as_mut_ptr(), frames.len() as c_int);
        libc::backtrace_symbols_fd(frames.as_ptr(), n, 2);
        libc::raise(sig);
    }
}

/// Installs the handler for the fatal signals (in a worker process only:
/// it replaces the Rust runtime's stack-overflow report).
pub fn install_backtraces() {
    let mut warm = [std::ptr::null_mut(); 4];
    // SAFETY: backtrace into a local buffer; called here so that glibc loads
    // its unwinder before any signal (the handler must not allocate).
    unsafe { libc::backtrace(warm.as_mut_ptr(), warm.len() as c_int) };
    for sig in FATAL {
        // SAFETY: a zeroed sigaction with our handler, on the alternate
        // stack the Rust runtime set up (stack overflows), reset to the
        // default once run.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_fatal as *const () as usize;
            sa.sa_flags = libc::SA_ONSTACK | libc::SA_RESETHAND | libc::SA_NODEFER;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(sig, &sa, std::ptr::null_mut());
        }
    }
}
