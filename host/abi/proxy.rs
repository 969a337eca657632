//! The proxy driver of isolated ports (see [`crate::isolate`]): an entry
//! with no callbacks, since the port module forwards an isolated port's
//! operations to its worker itself, and port-level locking, so that
//! isolated ports never wait for one another.

use std::ptr::NonNull;
use std::sync::{Arc, OnceLock};

use crate::ddll::{Driver, FLAG_USE_PORT_LOCKING};
use crate::ffi::ErlDrvEntry;

/// The driver every isolated port runs in the parent.
pub(crate) fn driver() -> Arc<Driver> {
    static PROXY: OnceLock<Arc<Driver>> = OnceLock::new();
    PROXY
        .get_or_init(|| {
            // SAFETY: ErlDrvEntry is plain data: all-zero is an entry with
            // no callbacks and null pointers.
            let mut e: ErlDrvEntry = unsafe { std::mem::zeroed() };
            e.extended_marker = crate::ddll::EXTENDED_MARKER as _;
            e.major_version = crate::ddll::MAJOR_VERSION;
            e.minor_version = crate::ddll::MINOR_VERSION;
            e.driver_flags = FLAG_USE_PORT_LOCKING;
            e.driver_name = c"porthost_isolated".as_ptr() as *mut _;
            let entry = NonNull::from(Box::leak(Box::new(e)));
            Arc::new(Driver::from_static("porthost_isolated", entry))
        })
        .clone()
}
