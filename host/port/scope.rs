//! The port's lock and the callback protocol, in one place.
//!
//! The port lock of a driver without `ERL_DRV_FLAG_USE_PORT_LOCKING`
//! (ERTS's driver-level locking) is the driver's lock, shared by its ports
//! ([`super::lock`]): one lock per callback, as in ERTS. [`Locks`] takes it
//! for a section that is not a callback (open, terminate, link changes);
//! [`CallbackScope`] is one
//! callback into the port's backend, and its `Drop` runs the epilogue ERTS
//! runs when a port's callback returns (`erts_port_task_execute` and
//! `erts_port_exit` in `beam/erl_port_task.c`, `beam/io.c`): the exit the
//! callback asked for, the close of a lingering port whose queue drained,
//! and a 0 ms timer it set. No caller can forget it. While a scope lives,
//! `driver_alloc` on its thread counts against its port ([`account`]).
#![deny(unsafe_code)]

use std::sync::atomic::Ordering;

use super::lock::StateGuard;
use super::{account, lifecycle, Phase, Port};
use crate::error::BifError;
use crate::ffi::ErlDrvData;
use crate::term::{Pid, Term};

/// The port lock, held (for a driver-level driver, the driver's lock: see
/// [`super::lock`]).
pub(crate) struct Locks<'a> {
    pub(crate) state: StateGuard<'a>,
    port: &'a Port,
}

impl<'a> Locks<'a> {
    /// Takes the port's lock, waiting for it.
    pub(crate) fn take(port: &'a Port) -> Locks<'a> {
        Locks { state: port.state.lock(), port }
    }

    /// Takes the port's lock if no other thread holds it.
    pub(crate) fn try_take(port: &'a Port) -> Option<Locks<'a>> {
        Some(Locks { state: port.state.try_lock()?, port })
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

/// As [`in_callback`], for a command (a port BIF) of `bytes` bytes: if the
/// port is [`still_open`] under its lock, the command is counted and `f`
/// runs.
pub(crate) fn in_command<R>(port: &Port, caller: Pid, bytes: usize, f: impl FnOnce(ErlDrvData) -> R) -> Result<R, BifError> {
    let scope = CallbackScope::enter(port, caller);
    still_open(port)?;
    scope.note_command(bytes);
    Ok(f(scope.data()))
}

/// For a port BIF, inside its callback scope: `Err(badarg)` if the port is
/// no longer open. The BIF looked the port up before it waited for the
/// lock, and another thread may have closed it meanwhile (its driver's
/// `stop` has then run, and its data is gone); ERTS re-checks a port's
/// state under its lock the same way. (`control` and `call` check inside
/// their entry functions, not with a `Result` around the scope: one more
/// layer around the answer costs a copy of it.)
#[inline]
pub(crate) fn still_open(port: &Port) -> Result<(), BifError> {
    if port.phase() == Phase::Open {
        Ok(())
    } else {
        Err(closed_meanwhile(port))
    }
}

#[cold]
fn closed_meanwhile(port: &Port) -> BifError {
    BifError::badarg(format!("{} closed while the caller waited for it", Term::Port(port.id)))
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
