//! porthost: a standalone host for Erlang-style port drivers.
//!
//! A port driver is a C-ABI shared library written against `erl_driver.h`
//! (see `include/erl_driver.h`). porthost loads it by name (as `erl_ddll`
//! does), opens ports on it (as `open_port/2` does) and drives them with the
//! operations ERTS offers: `port_command`, `port_control`, `port_call`,
//! `port_close`, `port_connect`, `port_info`. The answers are ERTS 25's.
//!
//! ```
//! use porthost::{Host, Term};
//!
//! let host = Host::new(Default::default());
//! let owner = host.spawn_process();
//! // The bundled echo driver is found by name.
//! let port = owner.open_port_driver("echo_drv", &[Term::atom("binary")]).unwrap();
//! owner.port_command(port, &Term::string("hi")).unwrap();
//! let msg = owner.receive(Some(std::time::Duration::from_secs(5))).unwrap().expect("a reply");
//! assert_eq!(msg.to_string(), format!("{{{},{{data,<<104,105>>}}}}", Term::Port(port)));
//! owner.port_close(port).unwrap();
//! ```
//!
//! A port in list mode (no `binary` option) answers `port_control` and
//! sends `{Port, {data, Data}}` with a [`Term::ByteList`]: the same Erlang
//! value as the [`Term::List`] of its integers (`==`, ordering, printing and
//! the external format agree), held as bytes. Compare it with `==`, read it
//! with [`Term::iolist_to_bytes`], or take [`Term::expanded`] to match on
//! `Term::List`.
//!
//! # The public API
//! [`Host`] (set up with [`HostConfig`]) is a runtime: a driver registry, a
//! port table, processes. A [`Process`] owns ports and calls the port BIFs
//! on them; [`Term`] is an Erlang term; [`BifError`] and [`DdllError`] are
//! the errors, with ERTS's names. [`script`] is the Erlang-expression
//! language of `porthost run` and `porthost shell`. [`testing`] helps a
//! driver's tests (load by path, assert in Erlang notation, compare a
//! script's output with a file); [`kit`] locates what the library embeds
//! (bundled drivers, C headers). Everything else is internal.
//!
//! A program or test that uses this library loads drivers in-process with
//! no link flags of its own: the library provides the `erl_driver` symbols
//! to drivers through a shim it loads first (see the README's "Writing a
//! driver").
//!
//! # Inside (for porthost's developers)
//! `ddll` (the driver registry, `erl_ddll`), `port` (ports: one backend per
//! kind of port behind one interface, the callback protocol, the state
//! machine, the driver queue), `process` (owners, mailboxes, links,
//! monitors), `poll` (`driver_select` over epoll), `timer`, `async_pool`,
//! `abi` (every `erl_driver` symbol porthost exports; `abi::entry` is the
//! one place that calls into a driver), `isolate` (a driver in a worker
//! process, so that its crash ends only its ports; in-process a crashing
//! driver ends porthost, as it ends ERTS), `term` (terms, `~w`, term order,
//! the external format), `bif` (the BIFs scripts call), `sys` (the OS
//! layer).
#![deny(missing_docs)]

pub(crate) mod abi;
pub(crate) mod async_pool;
pub(crate) mod bif;
pub(crate) mod control;
pub mod check;
pub(crate) mod binary;
pub(crate) mod ddll;
pub(crate) mod dist;
pub(crate) mod error;
pub(crate) mod external;
#[allow(missing_docs)]
pub(crate) mod ffi;
pub mod fuzz;
#[doc(hidden)]
pub mod fuzzing;
pub(crate) mod host;
pub(crate) mod isolate;
pub mod kit;
pub(crate) mod poll;
pub(crate) mod port;
pub(crate) mod process;
pub mod recon;
pub mod script;
pub(crate) mod spin;
pub(crate) mod sys;
pub(crate) mod term;
pub mod testing;
pub(crate) mod timer;

pub use ddll::{DriverInfo, Unloaded};
pub use error::{BifError, DdllError};
pub use isolate::{MAX_PENDING, MAX_PENDING_BYTES, QUARANTINE_AFTER};
pub use control::{ControlClient, PortRow};
pub use host::{Host, HostConfig, WorkerLimits, DEFAULT_PORT_LIMIT};
pub use process::Process;
pub use term::{Atom, Bin, Pid, PortId, Term};

/// The body of `porthost worker --fd FD`: serves isolated ports for the
/// parent porthost over the socket `fd` (see `isolate`). Internal to the
/// `porthost` binary; not a stable API.
///
/// # Errors
/// The socket or its shared-memory rings could not be set up.
#[doc(hidden)]
pub fn run_worker(fd: i32, driver_paths: Vec<std::path::PathBuf>) -> std::io::Result<()> {
    isolate::worker::run_on_fd(fd, driver_paths)
}

/// The body of `porthost bridge`: serves the Erlang client's requests
/// (`erlang/src/porthost.erl`) over standard input and output, `{packet,
/// 4}` frames in the external term format, until input closes. Internal to
/// the `porthost` binary; not a stable API.
///
/// # Errors
/// Standard input or output could not be set up or read.
#[doc(hidden)]
pub fn run_bridge(config: HostConfig) -> std::io::Result<()> {
    dist::bridge::run(config)
}

pub use dist::node::NodeOptions;

/// The body of `porthost node`: joins an Erlang cluster as the hidden node
/// `opts.name` and serves the Erlang client's requests to every BEAM node
/// that connects with the cookie, until killed. Internal to the `porthost`
/// binary; not a stable API.
///
/// # Errors
/// No cookie, a bad node name, EPMD unreachable or refusing the name.
#[doc(hidden)]
pub fn run_node(config: HostConfig, opts: NodeOptions) -> std::io::Result<()> {
    dist::node::run(config, opts)
}
