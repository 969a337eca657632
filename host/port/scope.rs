//! The port's locks and the callback protocol, in one place.
//!
//! Lock order: the driver lock (a driver without
//! `ERL_DRV_FLAG_USE_PORT_LOCKING`, ERTS's driver-level locking) before the
//! port lock, everywhere. [`Locks`] takes both for a section that is not a
//! callback (open, terminate, link changes); [`CallbackScope`] is one
//! callback into the port's backend, and its `Drop` runs the epilogue ERTS
//! runs when a port's callback returns (`erts_port_task_execute` and
//! `erts_port_exit` in `beam/erl_port_task.c`, `beam/io.c`): the exit the
//! callback asked for, the close of a lingering port whose queue drained,
//! and a 0 ms timer it set. No caller can forget it. While a scope lives,
//! `driver_alloc` on its thread counts against its port ([`account`]).
#![deny(unsafe_code)]

use std::cell::RefCell;
use std::sync::atomic::Ordering;

use parking_lot::ReentrantMutexGuard;

use super::{account, lifecycle, Phase, Port, PortState};
use crate::ffi::ErlDrvData;
use crate::term::Pid;

/// The driver lock (if the port's driver takes one) and the port lock,
/// held in that order. Dropped in the reverse order.
pub(crate) struct Locks<'a> {
    pub(crate) state: ReentrantMutexGuard<'a, RefCell<PortState>>,
    _driver: Option<ReentrantMutexGuard<'a, ()>>,
    port: &'a Port,
}

impl<'a> Locks<'a> {
    /// Takes the port's locks, waiting for them.
    pub(crate) fn take(port: &'a Port) -> Locks<'a> {
        let driver = port.driver().and_then(|d| d.lock_for_callbacks());
        Locks { state: port.state.lock(), _driver: driver, port }
    }

    /// Takes the port's locks if no other thread holds them.
    pub(crate) fn try_take(port: &'a Port) -> Option<Locks<'a>> {
        let driver = match port.driver() {
            Some(d) => d.try_lock_for_callbacks().ok()?,
            None => None,
        };
        Some(Locks { state: port.state.try_lock()?, _driver: driver, port })
    }

    /// Counts `bytes` written to the port by one command. The counters'
    /// only writers hold the port lock, so a load and a store serve: no
    /// atomic read-modify-write on the command path.
    pub(crate) fn note_command(&self, bytes: usize) {
        let port = self.port;
        port.output.store(port.output.load(Ordering::Relaxed) + bytes as u64, Ordering::Relaxed);
        port.commands.store(port.commands.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
    }

    /// Runs `f` as a nested callback without the epilogue (for `start` and
    /// `stop`, whose callers handle what follows themselves).
    pub(crate) fn nested<R>(&self, f: impl FnOnce(ErlDrvData) -> R) -> R {
        let data = {
            let mut s = self.state.borrow_mut();
            s.depth += 1;
            s.drv_data
        };
        let account = account::Current::enter(self.port);
        let r = f(data);
        drop(account);
        self.state.borrow_mut().depth -= 1;
        r
    }
}

/// One callback into a port's backend, on behalf of process `caller`.
pub(crate) struct CallbackScope<'a> {
    port: &'a Port,
    locks: Locks<'a>,
    data: ErlDrvData,
    /// `driver_alloc` in the callback counts against the port.
    _account: account::Current,
}

impl<'a> CallbackScope<'a> {
    /// Takes the locks and enters a callback of `port` for `caller` (its
    /// `driver_caller`).
    pub(crate) fn enter(port: &'a Port, caller: Pid) -> CallbackScope<'a> {
        let locks = Locks::take(port);
        let data = {
            let mut s = locks.state.borrow_mut();
            s.depth += 1;
            s.caller = caller;
            s.drv_data
        };
        CallbackScope { port, locks, data, _account: account::Current::enter(port) }
    }

    /// The port's driver data (what its `start` returned).
    pub(crate) fn data(&self) -> ErlDrvData {
        self.data
    }

    /// Counts `bytes` written to the port by one command (see
    /// [`Locks::note_command`]).
    pub(crate) fn note_command(&self, bytes: usize) {
        self.locks.note_command(bytes);
    }
}

impl Drop for CallbackScope<'_> {
    fn drop(&mut self) {
        let port = self.port;
        let (outermost, pending) = {
            let mut s = self.locks.state.borrow_mut();
            s.depth -= 1;
            let outermost = s.depth == 0;
            (outermost, if outermost { s.pending_exit.take() } else { None })
        };
        if let Some(reason) = pending {
            if let Some(host) = port.host.upgrade() {
                lifecycle::terminate(&host, port, reason);
            }
        } else if port.close_pending.load(Ordering::Relaxed) && port.close_pending.swap(false, Ordering::AcqRel) {
            lifecycle::queue_changed(port);
        }
        if outermost && port.timer_now.load(Ordering::Relaxed) {
            run_due_timer(port);
        }
    }
}

/// Runs `f` as one callback of `port` for `caller`: see [`CallbackScope`].
pub(crate) fn in_callback<R>(port: &Port, caller: Pid, f: impl FnOnce(ErlDrvData) -> R) -> R {
    let scope = CallbackScope::enter(port, caller);
    f(scope.data())
}

/// As [`in_callback`], for a command of `bytes` bytes: counted in the
/// scope, then `f` runs.
pub(crate) fn in_command<R>(port: &Port, caller: Pid, bytes: usize, f: impl FnOnce(ErlDrvData) -> R) -> R {
    let scope = CallbackScope::enter(port, caller);
    scope.note_command(bytes);
    f(scope.data())
}

/// Runs a 0 ms timer set during the callback that just ended, on this
/// thread, if the timer thread has not taken it yet.
#[cold]
pub(crate) fn run_due_timer(port: &Port) {
    port.timer_now.store(false, Ordering::Relaxed);
    if !matches!(port.phase(), Phase::Open | Phase::Closing) || port.timer.lock().take().is_none() {
        return;
    }
    let Some(driver) = port.driver() else { return };
    let owner = port.owner_pid();
    in_callback(port, owner, |d| crate::abi::entry::timeout(port, driver, d));
}
