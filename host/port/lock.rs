//! The port lock and the state it guards.
//!
//! As in ERTS, the port lock of a port whose driver uses driver-level
//! locking (no `ERL_DRV_FLAG_USE_PORT_LOCKING`, the default) *is* the
//! driver's lock: all the driver's ports share one re-entrant mutex, so
//! that their callbacks are serialised and a callback takes one lock, not
//! the driver's and then its port's. A port of a driver with port-level
//! locking, an isolated port and an external program each have a lock of
//! their own.

use std::cell::RefCell;
use std::sync::Arc;

use parking_lot::{ReentrantMutex, ReentrantMutexGuard};

use super::PortState;

/// A re-entrant mutex that may be shared: a driver's lock, or a port's own.
pub(crate) type SharedLock = Arc<ReentrantMutex<()>>;

/// A port's lock (see the module documentation) and its [`PortState`],
/// which is reached only through [`PortLock::lock`] and
/// [`PortLock::try_lock`].
pub(crate) struct PortLock {
    mutex: SharedLock,
    state: RefCell<PortState>,
}

// SAFETY: `state` is only reached through a `StateGuard`, which holds
// `mutex`: one thread at a time holds it, and the holding thread re-enters
// it only on its own stack, where the `RefCell` checks borrows at run time.
// This is the argument by which lock_api's `ReentrantMutex<RefCell<T>>` is
// `Sync` for `T: Send` (and `PortState` is `Send`); here the mutex may be
// shared with other ports, which only serialises more.
unsafe impl Sync for PortLock {}

impl PortLock {
    /// `state` guarded by `mutex`.
    pub(crate) fn new(mutex: SharedLock, state: PortState) -> PortLock {
        PortLock { mutex, state: RefCell::new(state) }
    }

    /// Takes the lock (re-entrant), waiting for it.
    pub(crate) fn lock(&self) -> StateGuard<'_> {
        StateGuard { _guard: self.mutex.lock(), state: &self.state }
    }

    /// Takes the lock if no other thread holds it.
    pub(crate) fn try_lock(&self) -> Option<StateGuard<'_>> {
        Some(StateGuard { _guard: self.mutex.try_lock()?, state: &self.state })
    }

    /// True if this thread holds the lock (for a driver-level driver: runs
    /// a callback of any of the driver's ports).
    pub(crate) fn is_owned_by_current_thread(&self) -> bool {
        self.mutex.is_owned_by_current_thread()
    }
}

/// The port lock, held; gives the port's state.
pub(crate) struct StateGuard<'a> {
    _guard: ReentrantMutexGuard<'a, ()>,
    state: &'a RefCell<PortState>,
}

impl std::ops::Deref for StateGuard<'_> {
    type Target = RefCell<PortState>;
    fn deref(&self) -> &RefCell<PortState> {
        self.state
    }
}
