//! The errors of porthost's subsystems.
//!
//! Each error keeps the name ERTS gives it, because scripts and users see
//! them as Erlang terms: [`BifError`] is the exception a port BIF raises
//! (`badarg`, a POSIX atom, ...), [`DdllError`] is an `erl_ddll` error
//! reason. Both say in [`Display`](std::fmt::Display) what went wrong and
//! where, in the words of `erl_ddll:format_error/1` where there are some.
#![deny(unsafe_code)]

use std::path::PathBuf;

use crate::term::{Atom, Term};

/// An exception raised by a port BIF (`open_port/2`, `port_command/2`,
/// `port_control/3`, ...), as ERTS raises it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum BifError {
    /// `error:badarg`: a bad argument, a closed or unknown port, a driver
    /// that rejected the call (negative `control` return, `start` returning
    /// `ERL_DRV_ERROR_BADARG`), or a `port_call` reply that is not valid
    /// external term format. `why` says which, for humans.
    Badarg {
        /// What was wrong, in words (not part of the Erlang term).
        why: String,
    },
    /// `error:Atom`: a POSIX error atom such as `einval` or `enoent`, raised
    /// by `open_port/2` when `start` returns `ERL_DRV_ERROR_ERRNO` (the atom
    /// names `errno`) or `ERL_DRV_ERROR_GENERAL` (`einval`), as ERTS's
    /// `open_port` does.
    Posix(Atom),
    /// `error:system_limit`: too many ports.
    SystemLimit,
    /// The calling process has been killed by an exit signal; carries the
    /// exit reason (`exit:Reason`).
    Exited(Term),
    /// `error:undef`: no such function (a BIF porthost does not provide).
    Undef,
}

impl BifError {
    /// A `badarg` with an explanation.
    pub fn badarg(why: impl Into<String>) -> BifError {
        BifError::Badarg { why: why.into() }
    }

    /// The exception's class and reason as Erlang terms, e.g. `(error,
    /// badarg)`.
    pub fn to_exception(&self) -> (Atom, Term) {
        match self {
            BifError::Badarg { .. } => (Atom::new("error"), Term::atom("badarg")),
            BifError::Posix(a) => (Atom::new("error"), Term::Atom(*a)),
            BifError::SystemLimit => (Atom::new("error"), Term::atom("system_limit")),
            BifError::Exited(r) => (Atom::new("exit"), r.clone()),
            BifError::Undef => (Atom::new("error"), Term::atom("undef")),
        }
    }
}

impl std::fmt::Display for BifError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BifError::Badarg { why } => write!(f, "badarg: {why}"),
            BifError::Posix(a) => write!(f, "{}: {}", a.name(), posix_text(a.name())),
            BifError::SystemLimit => write!(f, "system_limit: too many ports"),
            BifError::Exited(r) => write!(f, "the process has exited: {r}"),
            BifError::Undef => write!(f, "undef: no such function"),
        }
    }
}

impl std::error::Error for BifError {}

fn posix_text(name: &str) -> &'static str {
    match name {
        "einval" => "invalid argument",
        "enoent" => "no such file or directory",
        "eacces" => "permission denied",
        "enomem" => "not enough memory",
        _ => "driver error",
    }
}

/// An `erl_ddll` error reason (the `Reason` of `{error, Reason}`), with
/// what porthost knows of its cause.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum DdllError {
    /// `{open_error, Code}`: the shared object could not be opened (missing,
    /// not a shared object, or an unresolved symbol); `message` is
    /// `dlerror`'s text without the leading path, which `format_error`
    /// returns for `code`. Codes are numbered as ERTS numbers them: -10 for
    /// the first distinct text, -11 for the next, ...
    OpenError {
        /// The file that was opened.
        path: PathBuf,
        /// `dlerror()`'s text, without the leading `"PATH: "`.
        message: String,
        /// The code in the host's table of load errors (0 until assigned).
        code: i64,
    },
    /// `no_driver_init`: the library has no `driver_init` symbol.
    NoDriverInit {
        /// The file that was opened.
        path: PathBuf,
    },
    /// `driver_incorrect_version`: the driver entry's extended marker is not
    /// `0xfeeeeeed`, or its major version is not one ERTS 25 loads.
    IncorrectVersion {
        /// The file that was opened.
        path: PathBuf,
        /// The marker, major and minor version found.
        found: (u32, i32, i32),
    },
    /// `bad_driver_name`: `driver_name` in the entry is not the name asked
    /// for.
    BadDriverName {
        /// The name asked for.
        wanted: String,
        /// The entry's `driver_name`.
        found: String,
    },
    /// `driver_init_failed`: the driver's `init` returned non-zero.
    InitFailed {
        /// The driver name.
        name: String,
    },
    /// `not_loaded`: no driver of that name is loaded.
    NotLoaded,
    /// `not_loaded_by_this_process`: the driver is loaded, but not by the
    /// calling process.
    NotLoadedByThisProcess,
    /// `inconsistent`: the driver is already loaded from another path.
    Inconsistent,
    /// `linked_in_driver`: the driver is statically linked in and cannot be
    /// loaded or unloaded.
    LinkedInDriver,
    /// `permanent`: the driver made itself permanent.
    Permanent,
    /// `pending_process`: a `reload` refused because other processes hold
    /// the driver too (as ERTS refuses it), or because ports are open
    /// (ERTS would wait for them to close; porthost cannot wait in the
    /// caller's thread).
    PendingPorts,
    /// `badarg`: a malformed argument (raised as `error:badarg`).
    Badarg(String),
}

impl DdllError {
    /// The reason term as `erl_ddll` returns it inside `{error, Reason}`.
    pub fn reason(&self) -> Term {
        let a = Term::atom;
        match self {
            DdllError::OpenError { code, .. } => Term::Tuple(vec![a("open_error"), Term::Int(*code)]),
            DdllError::NoDriverInit { .. } => a("no_driver_init"),
            DdllError::IncorrectVersion { .. } => a("driver_incorrect_version"),
            DdllError::BadDriverName { .. } => a("bad_driver_name"),
            DdllError::InitFailed { .. } => a("driver_init_failed"),
            DdllError::NotLoaded => a("not_loaded"),
            DdllError::NotLoadedByThisProcess => a("not_loaded_by_this_process"),
            DdllError::Inconsistent => a("inconsistent"),
            DdllError::LinkedInDriver => a("linked_in_driver"),
            DdllError::Permanent => a("permanent"),
            DdllError::PendingPorts => a("pending_process"),
            DdllError::Badarg(_) => a("badarg"),
        }
    }
}

impl std::fmt::Display for DdllError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DdllError::OpenError { path, message, .. } => {
                write!(f, "cannot open {}: {message}", path.display())
            }
            DdllError::NoDriverInit { path } => {
                write!(f, "{}: no driver_init function found in the library", path.display())
            }
            DdllError::IncorrectVersion { path, found: (marker, major, minor) } => write!(
                f,
                "{}: driver compiled with an incorrect version of erl_driver.h \
                 (extended marker {marker:#x}, version {major}.{minor}; expected 0xfeeeeeed, 3.x)",
                path.display()
            ),
            DdllError::BadDriverName { wanted, found } => write!(
                f,
                "name of driver does not match its file name (asked for {wanted:?}, \
                 driver_name is {found:?})"
            ),
            DdllError::InitFailed { name } => write!(f, "driver {name}: init function failed"),
            DdllError::NotLoaded => write!(f, "driver not loaded"),
            DdllError::NotLoadedByThisProcess => write!(f, "driver not loaded by this process"),
            DdllError::Inconsistent => {
                write!(f, "driver is already loaded with different parameters")
            }
            DdllError::LinkedInDriver => write!(f, "not allowed for linked-in driver"),
            DdllError::Permanent => write!(f, "driver is permanent and cannot be unloaded"),
            DdllError::PendingPorts => write!(f, "driver has open ports; close them first"),
            DdllError::Badarg(why) => write!(f, "badarg: {why}"),
        }
    }
}

impl std::error::Error for DdllError {}

