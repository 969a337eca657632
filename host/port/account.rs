//! Which port a driver's memory is for: `driver_alloc` during a port's
//! callback is counted against that port (`port_info(P, memory)`).
//!
//! ERTS counts a port's own structures in `port_info(P, memory)`, not what
//! its driver allocates. porthost adds the driver's part: every callback
//! scope ([`super::scope`]) records the port it runs for in a thread-local
//! (one store on entry, one on exit); `driver_alloc` puts a 16-byte header
//! before each block naming the port's counter (`Port::driver_mem`, made at
//! the port's first such allocation) and adds the block's size to it;
//! `driver_realloc` adds the difference and `driver_free` takes it away,
//! whichever thread frees it and whether or not the port is still open (the
//! header holds a reference to the counter, not to the port).
//!
//! What is not counted: allocations outside any callback (a driver's
//! `init`, its own threads, async jobs on the pool), memory from `malloc`
//! directly, and driver binaries (`driver_alloc_binary`), which are shared
//! and freed by whoever drops the last reference.

use std::cell::Cell;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use super::Port;

thread_local! {
    static CURRENT: Cell<*const Port> = const { Cell::new(std::ptr::null()) };
}

/// While alive, allocations on this thread are counted against a port.
pub(crate) struct Current {
    previous: *const Port,
}

impl Current {
    /// Counts this thread's `driver_alloc`s against `port` until dropped.
    #[inline]
    pub(crate) fn enter(port: &Port) -> Current {
        Current { previous: CURRENT.replace(port) }
    }
}

impl Drop for Current {
    #[inline]
    fn drop(&mut self) {
        CURRENT.set(self.previous);
    }
}

/// The counter of the port whose callback runs on this thread, if any (a
/// new reference: the caller keeps it as long as the block lives).
pub(crate) fn current_counter() -> Option<Arc<AtomicI64>> {
    let p = CURRENT.get();
    if p.is_null() {
        return None;
    }
    // SAFETY: `CURRENT` is non-null only while a `Current` made from a
    // `&Port` lives on this thread (inside that port's callback scope,
    // which borrows the port), and is reset when it drops.
    let port = unsafe { &*p };
    Some(port.driver_mem.get_or_init(|| Arc::new(AtomicI64::new(0))).clone())
}

/// Adds `delta` bytes to a counter.
#[inline]
pub(crate) fn add(counter: &AtomicI64, delta: i64) {
    counter.fetch_add(delta, Ordering::Relaxed);
}
