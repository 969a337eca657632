//! Coverage for the fuzzer (`porthost fuzz`): the callbacks that a driver
//! built with GCC's or clang's sanitizer coverage calls, exported by every
//! porthost binary, so the isolated workers of a fuzz run record what the
//! driver executes into memory the fuzzer reads.
//!
//! Build a driver for it with
//!
//! ```text
//! gcc   -fsanitize-coverage=trace-pc,trace-cmp  -shared -fPIC ...
//! clang -fsanitize-coverage=trace-pc-guard,trace-cmp -shared -fPIC ...
//! ```
//!
//! `trace-pc` (`__sanitizer_cov_trace_pc`) and `trace-pc-guard`
//! (`__sanitizer_cov_trace_pc_guard`) mark an edge (the calling PC, hashed,
//! or the guard's index) in a 64 KiB map; `trace-cmp`
//! (`__sanitizer_cov_trace_const_cmp1..8`, `..._cmp1..8`,
//! `__sanitizer_cov_trace_switch`) records the constants the driver
//! compares its data with, which the fuzzer then tries as input bytes (the
//! way libFuzzer's value profile and AFL++'s CmpLog crack `if (x == 0x42)`).
//! The map is a file named by `$PORTHOST_FUZZ_COV`, mapped shared; without
//! that variable every callback returns at once.

use std::sync::atomic::{AtomicPtr, AtomicU32, Ordering};
use std::sync::OnceLock;

/// Bytes of the edge map.
pub const EDGES: usize = 1 << 16;
/// Constants kept (a ring).
pub const CMP_SLOTS: usize = 1024;
/// The whole shared area: the edge map, the ring's next index (u32), the
/// number of edges seen (u32), the ring of u64 constants.
pub const AREA: usize = EDGES + 8 + CMP_SLOTS * 8;

static MAP: AtomicPtr<u8> = AtomicPtr::new(std::ptr::null_mut());
static INIT: OnceLock<()> = OnceLock::new();
static NEXT_GUARD: AtomicU32 = AtomicU32::new(1);

/// Maps the file `path` (made [`AREA`] bytes long) shared: what the fuzzer
/// and its workers see alike. Null if that fails.
pub fn map_file(path: &std::path::Path) -> *mut u8 {
    let Ok(f) = std::fs::OpenOptions::new().read(true).write(true).create(true).truncate(false).open(path) else {
        return std::ptr::null_mut();
    };
    if f.set_len(AREA as u64).is_err() {
        return std::ptr::null_mut();
    }
    use std::os::fd::AsRawFd;
    // SAFETY: a shared mapping of a file of AREA bytes; the mapping outlives
    // the descriptor, and lives until the process ends.
    let p = unsafe {
        libc::mmap(std::ptr::null_mut(), AREA, libc::PROT_READ | libc::PROT_WRITE, libc::MAP_SHARED, f.as_raw_fd(), 0)
    };
    if p == libc::MAP_FAILED {
        std::ptr::null_mut()
    } else {
        p as *mut u8
    }
}

#[inline(always)]
fn map() -> *mut u8 {
    let p = MAP.load(Ordering::Relaxed);
    if !p.is_null() {
        return p;
    }
    map_slow()
}

#[cold]
fn map_slow() -> *mut u8 {
    INIT.get_or_init(|| {
        if let Some(path) = std::env::var_os("PORTHOST_FUZZ_COV") {
            MAP.store(map_file(std::path::Path::new(&path)), Ordering::Release);
        }
    });
    MAP.load(Ordering::Acquire)
}

#[inline(always)]
fn edge(i: usize) {
    let m = map();
    if !m.is_null() {
        // SAFETY: the map is AREA >= EDGES + 8 bytes; the index is reduced;
        // the count is 4-aligned at EDGES + 4.
        unsafe {
            let b = m.add(i % EDGES);
            if *b == 0 {
                *b = 1;
                (*(m.add(EDGES + 4) as *const AtomicU32)).fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

fn constant(v: u64) {
    let m = map();
    if m.is_null() || v < 2 {
        return;
    }
    // SAFETY: the ring index sits at EDGES (4-aligned) and the ring after
    // it, 8-aligned (mmap aligns the base to a page), within AREA.
    unsafe {
        let idx = &*(m.add(EDGES) as *const AtomicU32);
        let i = idx.fetch_add(1, Ordering::Relaxed) as usize % CMP_SLOTS;
        (m.add(EDGES + 8) as *mut u64).add(i).write_volatile(v);
    }
}

static BASE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

#[no_mangle]
extern "C" fn porthost_cov_pc(pc: usize) {
    // Relative to the instrumented module, so that a worker that loads it
    // at another address (ASLR) reports the same edges.
    let mut base = BASE.load(Ordering::Relaxed);
    if base == 0 {
        // SAFETY: dladdr only reads the loader's tables; `info` is written
        // by it.
        let mut info: libc::Dl_info = unsafe { std::mem::zeroed() };
        // SAFETY: as above.
        base = if unsafe { libc::dladdr(pc as *const _, &mut info) } != 0 { info.dli_fbase as usize } else { 1 };
        BASE.store(base, Ordering::Relaxed);
    }
    let off = pc.wrapping_sub(base) as u32;
    edge((off.wrapping_mul(0x9E37_79B1) >> 16) as usize);
}

/// `__sanitizer_cov_trace_pc()` (GCC, clang `trace-pc`): the edge of the
/// caller's return address.
#[cfg(target_arch = "x86_64")]
#[unsafe(naked)]
#[no_mangle]
pub extern "C" fn __sanitizer_cov_trace_pc() {
    // The return address is at [rsp] on entry: pass it on, tail-calling.
    core::arch::naked_asm!("mov rdi, [rsp]", "jmp {f}", f = sym porthost_cov_pc)
}

/// `__sanitizer_cov_trace_pc()` elsewhere: no PC, one edge.
#[cfg(not(target_arch = "x86_64"))]
#[no_mangle]
pub extern "C" fn __sanitizer_cov_trace_pc() {
    edge(0);
}

/// `__sanitizer_cov_trace_pc_guard_init(start, stop)` (clang): numbers
/// the guards.
///
/// # Safety
/// `start..stop` are the module's guards.
#[no_mangle]
pub unsafe extern "C" fn __sanitizer_cov_trace_pc_guard_init(start: *mut u32, stop: *mut u32) {
    let mut p = start;
    while p < stop {
        // SAFETY: within the module's guard array.
        unsafe {
            if *p == 0 {
                *p = NEXT_GUARD.fetch_add(1, Ordering::Relaxed);
            }
            p = p.add(1);
        }
    }
}

/// `__sanitizer_cov_trace_pc_guard(guard)` (clang): the guard's edge.
///
/// # Safety
/// `guard` is one of the module's guards.
#[no_mangle]
pub unsafe extern "C" fn __sanitizer_cov_trace_pc_guard(guard: *mut u32) {
    // SAFETY: a guard the compiler emitted.
    edge(unsafe { *guard } as usize);
}

macro_rules! cmp {
    ($($name:ident, $const_name:ident: $t:ty;)*) => {$(
        /// A comparison (`trace-cmp`): both operands are candidates.
        #[no_mangle]
        pub extern "C" fn $name(a: $t, b: $t) {
            constant(a as u64);
            constant(b as u64);
        }
        /// A comparison with a constant (`trace-cmp`): the constant first.
        #[no_mangle]
        pub extern "C" fn $const_name(a: $t, _b: $t) {
            constant(a as u64);
        }
    )*};
}

cmp! {
    __sanitizer_cov_trace_cmp1, __sanitizer_cov_trace_const_cmp1: u8;
    __sanitizer_cov_trace_cmp2, __sanitizer_cov_trace_const_cmp2: u16;
    __sanitizer_cov_trace_cmp4, __sanitizer_cov_trace_const_cmp4: u32;
    __sanitizer_cov_trace_cmp8, __sanitizer_cov_trace_const_cmp8: u64;
}

/// `__sanitizer_cov_trace_switch(val, cases)`: `cases[0]` case values of
/// `cases[1]` bits, then the values.
///
/// # Safety
/// `cases` is the compiler's case table.
#[no_mangle]
pub unsafe extern "C" fn __sanitizer_cov_trace_switch(_val: u64, cases: *const u64) {
    if map().is_null() || cases.is_null() {
        return;
    }
    // SAFETY: the table holds 2 + cases[0] words.
    unsafe {
        let n = (*cases).min(64) as usize;
        for i in 0..n {
            constant(*cases.add(2 + i));
        }
    }
}

/// `__sanitizer_cov_trace_div4/8`, `__sanitizer_cov_trace_gep`: accepted,
/// ignored (GCC's trace-cmp does not emit them; clang may).
#[no_mangle]
pub extern "C" fn __sanitizer_cov_trace_div4(_v: u32) {}
/// See [`__sanitizer_cov_trace_div4`].
#[no_mangle]
pub extern "C" fn __sanitizer_cov_trace_div8(_v: u64) {}
/// See [`__sanitizer_cov_trace_div4`].
#[no_mangle]
pub extern "C" fn __sanitizer_cov_trace_gep(_v: usize) {}

/// The fuzzer's view of the shared coverage area (see the module docs).
pub struct CovMap {
    p: *mut u8,
    /// The ring index read last.
    seen: u32,
}

impl CovMap {
    /// Maps `path` (creating it) and clears it; `None` if that fails.
    pub fn create(path: &std::path::Path) -> Option<CovMap> {
        let p = map_file(path);
        if p.is_null() {
            return None;
        }
        // SAFETY: a fresh mapping of AREA bytes.
        unsafe { std::ptr::write_bytes(p, 0, AREA) };
        Some(CovMap { p, seen: 0 })
    }

    /// How many edges have been seen so far (the workers count them as
    /// they first mark them: one load here).
    pub fn edges(&self) -> usize {
        // SAFETY: the count lies 4-aligned within the mapping, which lives
        // as long as the process.
        unsafe { (*(self.p.add(EDGES + 4) as *const AtomicU32)).load(Ordering::Relaxed) as usize }
    }

    /// The constants recorded since the last call (at most [`CMP_SLOTS`]).
    pub fn constants(&mut self) -> Vec<u64> {
        // SAFETY: as in `constant`: the index and the ring lie within AREA.
        unsafe {
            let next = (*(self.p.add(EDGES) as *const AtomicU32)).load(Ordering::Relaxed);
            let n = next.wrapping_sub(self.seen).min(CMP_SLOTS as u32);
            let ring = self.p.add(EDGES + 8) as *const u64;
            let out = (0..n)
                .map(|k| ring.add((next.wrapping_sub(n).wrapping_add(k)) as usize % CMP_SLOTS).read_volatile())
                .collect();
            self.seen = next;
            out
        }
    }
}
