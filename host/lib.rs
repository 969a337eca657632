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
//! The map: [`Host`] holds the driver registry ([`ddll`]), the port table
//! ([`port`]), the processes ([`process`], the owners of ports), the poll
//! thread ([`poll`], `driver_select`), the timers ([`timer`]) and the async
//! pool ([`async_pool`]). [`abi`] is every `erl_driver` symbol porthost
//! exports and, in [`abi::entry`], the one place that calls into a driver.
//! [`isolate`] runs a driver in a worker process, so that its crash ends
//! only its ports (in-process, a crashing driver ends porthost, as it ends
//! ERTS). [`script`] is the Erlang-expression language of `porthost run`
//! and `porthost shell`, over [`bif`].
#![deny(missing_docs)]

pub mod abi;
pub mod async_pool;
pub mod bif;
pub mod binary;
pub mod ddll;
pub mod error;
pub(crate) mod external;
#[allow(missing_docs)]
pub mod ffi;
pub mod host;
pub mod isolate;
pub mod poll;
pub mod port;
pub mod process;
pub mod script;
pub mod sys;
pub mod term;
pub mod timer;

pub use error::{BifError, DdllError};
pub use host::{Host, HostConfig, WorkerLimits};
pub use process::Process;
pub use term::{Atom, Bin, Pid, PortId, Term};
