//! The OS layer: what porthost asks of Linux directly, apart from the
//! poller (the `polling` crate) and loading (`libloading`).

pub mod crash;
pub mod stderr;
pub mod stdio;
pub mod introspect;
pub mod load;

/// The real user id of this process (`getuid`).
pub fn uid() -> u32 {
    // SAFETY: getuid has no preconditions and cannot fail.
    unsafe { libc::getuid() }
}
