//! Events a port's driver gets (timers, I/O readiness, async completions,
//! monitors) and the messages a port sends its owner.
#![deny(unsafe_code)]

use std::sync::Arc;

use super::scope::{in_callback, Locks};
use super::{Phase, Port};
use crate::abi::entry;
use crate::ddll::Driver;
use crate::ffi::ErlDrvData;
use crate::term::Term;

/// Runs `f` as a callback of an event (timer, I/O, async) on a port that
/// runs a driver in this process, if it is still open or closing (a
/// lingering port may drain its queue from such a callback): under its
/// locks, with the owner as `driver_caller`.
pub(crate) fn run_callback(port: &Arc<Port>, f: impl FnOnce(&Port, &Driver, ErlDrvData)) {
    let Some(driver) = port.driver() else { return };
    // The phase is read under the port's locks: `open` holds them while
    // `start` runs, so an event that start set up (a timer, an async job)
    // runs once start has returned, and never if start failed.
    let _locks = Locks::take(port);
    let (owner, phase) = (port.owner_pid(), port.phase());
    if matches!(phase, Phase::Open | Phase::Closing) {
        in_callback(port, owner, |d| f(port, driver, d));
    }
}

/// A monitored process exited: calls `process_exit` with the monitor, if
/// the monitor is still live (it is gone after).
pub(crate) fn monitor_fired(port: &Arc<Port>, id: u64) {
    if port.monitors.lock().get(&id).is_none() {
        return;
    }
    run_callback(port, |port, driver, d| {
        let mut m = crate::ffi::ErlDrvMonitor { data: [0; 32] };
        m.data[..8].copy_from_slice(&id.to_ne_bytes());
        entry::process_exit(port, driver, d, &mut m);
    });
    port.monitors.lock().remove(&id);
}

/// The port's timer fired: calls `timeout`.
pub(crate) fn timeout(port: &Arc<Port>) {
    run_callback(port, entry::timeout);
}

/// Sends `{Port, {data, Data}}` to the owner, unless the port is closing.
pub(crate) fn deliver(port: &Port, data: Term, bytes: usize) {
    if !matches!(port.phase(), Phase::Open | Phase::Starting) {
        return;
    }
    port.note_message(bytes);
    let msg = Term::Tuple(vec![Term::Port(port.id), Term::Tuple(vec![Term::Atom(crate::atom!("data")), data])]);
    port.owner.lock().send(port.id, msg);
}

/// Sends an arbitrary message from the port's driver to its owner, even
/// while the port closes (`erl_drv_send_term` semantics, for isolated ports).
pub(crate) fn send_any_counted(port: &Port, msg: Term, receipt: crate::process::Receipt) {
    if port.phase() != Phase::Closed {
        port.note_message(0);
        port.owner.lock().send_counted(port.id, msg, receipt);
    }
}

/// Sends an arbitrary message from the port to its owner (e.g. `{Port, eof}`).
pub(crate) fn send_owner(port: &Port, msg: Term) {
    if matches!(port.phase(), Phase::Open | Phase::Starting) {
        port.note_message(0);
        port.owner.lock().send(port.id, msg);
    }
}

/// Removes the owner's link to the port (`driver_exit` does this first, so
/// that no `EXIT` message reaches the owner).
pub(crate) fn unlink_owner(port: &Port) {
    let Some(host) = port.host.upgrade() else { return };
    let owner = port.owner.lock().link;
    let guard = port.state.lock();
    let mut s = guard.borrow_mut();
    s.links.retain(|p| *p != owner);
    let procs = host.procs.read();
    if let Some(p) = procs.get(&owner) {
        p.links.lock().retain(|l| *l != port.id);
    }
}
