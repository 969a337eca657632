//! The kinds of port, behind one interface.
//!
//! ERTS runs every port through a driver entry: linked-in and loaded
//! drivers, and the built-in `spawn`, `spawn_executable` and `fd` drivers
//! for external programs (`erts/emulator/sys/unix/sys_drivers.c`). porthost
//! does the same with a backend per kind, each implementing
//! [`PortBackend`]; [`Backend`] is the closed set of them, dispatched here
//! and nowhere else. The port code (`lifecycle`, `bifs`) calls the
//! operations inside a [`super::scope::CallbackScope`], so every backend
//! gets the same locking, `driver_caller` and exit handling, and this is the
//! one place a checker or a trace hooks calls into a port.
#![deny(unsafe_code)]

pub(crate) mod driver;
pub(crate) mod external;
pub(crate) mod isolated;

use std::sync::Arc;

use super::Port;
use crate::ddll::Driver;
use crate::error::BifError;
use crate::term::{Pid, Term};

/// What `port_close` finds.
pub(crate) enum Close {
    /// Nothing is left to do: the port terminates now.
    Now,
    /// The port lingers (`Closing`) until its driver queue drains.
    Linger,
}

/// The operations every kind of port implements. Each enters the port's
/// [`super::scope::CallbackScope`] itself, after what it must do without
/// the locks (waiting while the port is busy, copying the caller's data).
pub(crate) trait PortBackend {
    /// `port_command/2,3` with the iolist `data` of `size` bytes: `Ok(false)`
    /// if the port is busy and `nosuspend` was given.
    fn command(&self, port: &Port, caller: Pid, data: &Term, size: usize, force: bool, nosuspend: bool)
        -> Result<bool, BifError>;
    /// `port_control/3`.
    fn control(&self, port: &Port, caller: Pid, op: u32, data: &Term) -> Result<Term, BifError>;
    /// `erlang:port_call/3`.
    fn call(&self, port: &Port, caller: Pid, op: u32, data: &Term) -> Result<Term, BifError>;
    /// `port_close/1` begins: close now, or linger to drain the queue.
    fn close(&self, port: &Port) -> Close;
    /// The port lingers (after [`PortBackend::close`] said so, its links
    /// told): the driver's `flush`, and a close if the queue is empty by
    /// then.
    fn linger(&self, port: &Port);
    /// An exit signal (other than `kill`) arrives while the driver queue is
    /// not empty: the driver's `flush`, as ERTS calls it before it stops the
    /// port.
    fn flush(&self, port: &Port);
    /// The port terminates with `reason` (its links told): the driver's
    /// `stop` if `start` had returned. `locks` are the port's.
    fn stop(&self, port: &Port, locks: &super::scope::Locks<'_>, started: bool, reason: &Term);
    /// The host shuts down: `stop`, with no message to anyone.
    fn shutdown(&self, port: &Port, locks: &super::scope::Locks<'_>, started: bool);
    /// The value of the `port_info` item that only the backend knows
    /// (`queue_size`, `memory`, `locking`), `None` for an unknown item.
    fn info(&self, port: &Port, item: &str) -> Option<Term>;
    /// The bytes in the port's queue as this process sees it, without a
    /// round trip (rankings): the driver queue, the bytes waiting for an
    /// external program's stdin; 0 for an isolated port (its queue is in
    /// the worker: `port_info(P, queue_size)` asks there).
    fn queue_bytes(&self, port: &Port) -> usize;
    /// `port_connect` made `pid` the owner (the port's own record is
    /// updated by then).
    fn connected(&self, _port: &Port, _pid: Pid) {}
}

/// The backend of one port.
pub(crate) enum Backend {
    /// A driver loaded into this process: its callbacks run on the calling
    /// thread, as in ERTS.
    Driver(Arc<Driver>),
    /// A driver in a worker process ([`crate::isolate`]).
    Isolated(crate::isolate::Remote),
    /// An external program ([`crate::external`]).
    External(external::ExternalPort),
}

impl Backend {
    /// The operations of this backend.
    #[inline]
    pub(crate) fn ops(&self) -> &dyn PortBackend {
        match self {
            Backend::Driver(d) => d.as_ref(),
            Backend::Isolated(r) => r,
            Backend::External(e) => e,
        }
    }

    /// [`PortBackend::command`], dispatched statically: the port BIFs'
    /// hot paths, inlined into each backend's operation.
    #[inline]
    pub(crate) fn command(&self, port: &Port, caller: Pid, data: &Term, size: usize, force: bool, nosuspend: bool)
        -> Result<bool, BifError> {
        match self {
            Backend::Driver(d) => d.command(port, caller, data, size, force, nosuspend),
            Backend::Isolated(r) => r.command(port, caller, data, size, force, nosuspend),
            Backend::External(e) => e.command(port, caller, data, size, force, nosuspend),
        }
    }

    /// [`PortBackend::control`], dispatched statically.
    #[inline]
    pub(crate) fn control(&self, port: &Port, caller: Pid, op: u32, data: &Term) -> Result<Term, BifError> {
        match self {
            Backend::Driver(d) => d.control(port, caller, op, data),
            Backend::Isolated(r) => r.control(port, caller, op, data),
            Backend::External(e) => e.control(port, caller, op, data),
        }
    }

    /// [`PortBackend::call`], dispatched statically.
    #[inline]
    pub(crate) fn call(&self, port: &Port, caller: Pid, op: u32, data: &Term) -> Result<Term, BifError> {
        match self {
            Backend::Driver(d) => d.call(port, caller, op, data),
            Backend::Isolated(r) => r.call(port, caller, op, data),
            Backend::External(e) => e.call(port, caller, op, data),
        }
    }

    /// The driver loaded in this process, for a port that runs one.
    #[inline]
    pub(crate) fn driver(&self) -> Option<&Arc<Driver>> {
        match self {
            Backend::Driver(d) => Some(d),
            Backend::Isolated(_) | Backend::External(_) => None,
        }
    }
}
