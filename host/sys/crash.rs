//! Backtraces of a crashing worker: fatal signals (`SIGSEGV`, `SIGBUS`,
//! `SIGILL`, `SIGFPE`, `SIGABRT`) print the crashing thread's stack to
//! stderr (the log), then the signal takes its default course, so the
//! parent still sees the worker die of it.
//!
//! The raw frames name a driver's functions only where they are exported
//! (`boom_drv.so(+0x1138)` otherwise). So, after them, the frames outside
//! porthost's own executable are symbolized: `dladdr` (which
//! `backtrace_symbols_fd` calls too) gives each one's object and offset,
//! and `addr2line -f -i -C -p`, started with a raw `fork` and `execve`
//! (no allocation, no atfork handlers, nothing that takes a lock the
//! crashed thread may hold), reads the object's symbol table and debug
//! information: the function, also a `static` one, and `file:line` where
//! the driver was built with `-g`. libc's frames are left out (its debug
//! information is slow to read), and `addr2line` gets half a second per
//! object. Without `addr2line` (binutils), the raw frames are all there
//! is.

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
        // First, so that the parent's watchdog waits for the backtrace
        // instead of calling the worker stuck.
        crate::isolate::clock::fatal_signal(sig);
        libc::write(2, head.as_ptr() as *const _, head.len());
        let n = libc::backtrace(frames.as_mut_ptr(), frames.len() as c_int);
        libc::backtrace_symbols_fd(frames.as_ptr(), n, 2);
        symbolize(&frames[..n.max(0) as usize]);
        libc::raise(sig);
    }
}

/// The load address of porthost's own executable (its frames are not
/// symbolized: the raw backtrace names them), set at install time.
static EXE_BASE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// The load address of libc, whose frames are not symbolized either
/// (reading its debug information takes too long for a dying worker).
static LIBC_BASE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// How long the handler waits for `addr2line`, per object.
const ADDR2LINE_WAIT_MS: u32 = 500;

/// Where `addr2line` may be (no `PATH` search in a signal handler).
const ADDR2LINE: [&[u8]; 3] = [b"/usr/bin/addr2line\0", b"/bin/addr2line\0", b"/usr/local/bin/addr2line\0"];

/// A fixed buffer for text built without allocating.
struct Buf<const N: usize> {
    bytes: [u8; N],
    len: usize,
}

impl<const N: usize> Buf<N> {
    const fn new() -> Self {
        Buf { bytes: [0; N], len: 0 }
    }
    fn push(&mut self, s: &[u8]) {
        let n = s.len().min(N - self.len);
        self.bytes[self.len..self.len + n].copy_from_slice(&s[..n]);
        self.len += n;
    }
    fn hex(&mut self, mut v: usize) {
        let mut digits = [0u8; 18];
        let mut i = digits.len();
        loop {
            i -= 1;
            digits[i] = b"0123456789abcdef"[v & 15];
            v >>= 4;
            if v == 0 {
                break;
            }
        }
        i -= 2;
        digits[i] = b'0';
        digits[i + 1] = b'x';
        self.push(&digits[i..]);
    }
}

/// Prints the driver frames of `frames` with function and `file:line`
/// (see the module docs). Async-signal-safe but for `dladdr`, which
/// `backtrace_symbols_fd` calls as well.
fn symbolize(frames: &[*mut libc::c_void]) {
    // Small: this runs on the signal stack (a few KiB).
    const MAX_OBJECTS: usize = 4;
    // Per object: its path (from dladdr), and the offsets of its frames.
    let mut objects: [(*const libc::c_char, usize, Buf<320>); MAX_OBJECTS] =
        [const { (std::ptr::null(), 0, Buf::new()) }; MAX_OBJECTS];
    let mut count = 0;
    let exe = EXE_BASE.load(std::sync::atomic::Ordering::Relaxed);
    let libc_base = LIBC_BASE.load(std::sync::atomic::Ordering::Relaxed);
    for (k, &f) in frames.iter().enumerate() {
        // SAFETY: a zeroed Dl_info filled by dladdr for an address; the
        // strings it points to live as long as the object stays loaded.
        let mut info: libc::Dl_info = unsafe { std::mem::zeroed() };
        if unsafe { libc::dladdr(f, &mut info) } == 0 || info.dli_fname.is_null() || info.dli_fbase as usize == exe
            || info.dli_fbase as usize == libc_base
        {
            continue;
        }
        let base = info.dli_fbase as usize;
        // A return address points after the call: look up the call itself.
        let off = (f as usize).wrapping_sub(base).wrapping_sub(usize::from(k > 0));
        let slot = match objects[..count].iter().position(|o| o.1 == base) {
            Some(i) => i,
            None if count < MAX_OBJECTS => {
                objects[count].0 = info.dli_fname;
                objects[count].1 = base;
                count += 1;
                count - 1
            }
            None => continue,
        };
        let b = &mut objects[slot].2;
        b.hex(off);
        b.push(b"\0");
    }
    if count == 0 {
        return;
    }
    let head = b"porthost worker: the frames outside porthost, symbolized (addr2line):\n";
    // SAFETY: write(2) to stderr.
    unsafe { libc::write(2, head.as_ptr() as *const _, head.len()) };
    for (path, _, offsets) in &objects[..count] {
        run_addr2line(*path, &offsets.bytes[..offsets.len]);
    }
}

/// `addr2line -f -i -C -p -a -e PATH OFFSETS...` with its output on
/// stderr, waited for.
fn run_addr2line(path: *const libc::c_char, offsets: &[u8]) {
    let mut argv: [*const libc::c_char; 40] = [std::ptr::null(); 40];
    let fixed: [&[u8]; 3] = [b"addr2line\0", b"-fiCpa\0", b"-e\0"];
    for (i, a) in fixed.iter().enumerate() {
        argv[i] = a.as_ptr() as *const _;
    }
    argv[3] = path;
    let mut n = 4;
    let mut start = 0;
    for (i, &c) in offsets.iter().enumerate() {
        if c == 0 && n < argv.len() - 1 {
            argv[n] = offsets[start..].as_ptr() as *const _;
            n += 1;
            start = i + 1;
        }
    }
    let envp: [*const libc::c_char; 1] = [std::ptr::null()];
    // SAFETY: a raw fork (no atfork handlers run, so no lock is taken);
    // the child only calls dup2, execve and _exit, with arguments built on
    // this stack; the parent waits for it.
    unsafe {
        // clone(SIGCHLD) is fork without glibc's wrapper (and its atfork
        // handlers and locks).
        let pid = libc::syscall(libc::SYS_clone, libc::SIGCHLD as libc::c_long, 0, 0, 0, 0) as libc::pid_t;
        if pid == 0 {
            libc::dup2(2, 1);
            for prog in ADDR2LINE {
                libc::execve(prog.as_ptr() as *const _, argv.as_ptr(), envp.as_ptr());
            }
            libc::_exit(127);
        }
        if pid > 0 {
            // Wait a bounded time: the worker is dying, and the parent's
            // watchdog is waiting for it.
            let mut status = 0;
            let tick = libc::timespec { tv_sec: 0, tv_nsec: 10_000_000 };
            let mut waited = 0;
            while libc::waitpid(pid, &mut status, libc::WNOHANG) == 0 {
                if waited >= ADDR2LINE_WAIT_MS {
                    libc::kill(pid, libc::SIGKILL);
                    libc::waitpid(pid, &mut status, 0);
                    break;
                }
                libc::nanosleep(&tick, std::ptr::null_mut());
                waited += 10;
            }
        }
    }
}

/// Installs the handler for the fatal signals (in a worker process only:
/// it replaces the Rust runtime's stack-overflow report).
pub fn install_backtraces() {
    let mut warm = [std::ptr::null_mut(); 4];
    // SAFETY: backtrace into a local buffer; called here so that glibc loads
    // its unwinder before any signal (the handler must not allocate).
    unsafe { libc::backtrace(warm.as_mut_ptr(), warm.len() as c_int) };
    // SAFETY: dladdr of a function of this executable, into a zeroed
    // Dl_info.
    let mut info: libc::Dl_info = unsafe { std::mem::zeroed() };
    if unsafe { libc::dladdr(on_fatal as *const libc::c_void, &mut info) } != 0 {
        EXE_BASE.store(info.dli_fbase as usize, std::sync::atomic::Ordering::Relaxed);
    }
    // SAFETY: as above, for a function of libc.
    let mut info: libc::Dl_info = unsafe { std::mem::zeroed() };
    if unsafe { libc::dladdr(libc::abort as *const libc::c_void, &mut info) } != 0 {
        LIBC_BASE.store(info.dli_fbase as usize, std::sync::atomic::Ordering::Relaxed);
    }
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
