//! The port script language: a subset of the Erlang shell (see
//! `../shared/DESIGN.md`, "The port script"), evaluated over a [`Runtime`]
//! that supplies the port BIFs, `erl_ddll`, the mailbox and exit signals.
//!
//! The evaluator itself does everything that needs no runtime: parsing
//! (over `erl_tokenize`'s tokens), bindings, pattern matching, operators,
//! the pure term BIFs, `~w` output and `flush()`.
//!
//! ```
//! use porthost::script::{parse_script, Session};
//!
//! let forms = parse_script("X = 6 * 7. <<X, 1:16>>.").unwrap();
//! let mut s = Session::new();
//! assert_eq!(s.eval_pure(&forms[0]).unwrap().to_string(), "42");
//! assert_eq!(s.eval_pure(&forms[1]).unwrap().to_string(), "<<42,0,1>>");
//! ```
//!
//! Funs (`fun (X) -> ... end`, named funs, `fun M:F/A`) are closures over
//! the bindings in scope, as in `erl_eval`, and `spawn/1` runs one in a new
//! process through [`Runtime::spawn`]: see the README's "Processes in
//! scripts".
//!
//! Modules: `parse` (grammar), `eval` (evaluator, [`Session`]), `bits`
//! (bit syntax), `bifs` (pure BIFs), `num` (arithmetic), `ext` (external
//! term format), [`mod@shell`] (interactive REPL).
#![deny(unsafe_code)]

use std::fmt;
use std::io::Write;
use std::time::Duration;

use crate::term::{Atom, Pid, Ref, Term};

mod bifs;
mod bits;
#[cfg(test)]
mod deep_tests;
#[cfg(test)]
mod erts_tests;
mod eval;
mod format;
mod lib;
mod os;
mod num;
pub(crate) mod parse;
pub mod shell;

pub use crate::bif::ProcessRuntime;
pub use eval::Session;
pub use parse::{decode_latin1, is_complete, parse_script, Form, ParseError};
pub use shell::shell;

/// An Erlang exception: class (`error`, `exit` or `throw`) and reason.
#[derive(Clone, Debug)]
pub struct Exception {
    /// `error`, `exit` or `throw`.
    pub class: Atom,
    /// The reason term.
    pub reason: Term,
}

impl Exception {
    /// `error:Reason`.
    pub fn error(reason: Term) -> Exception {
        Exception { class: Atom::new("error"), reason }
    }
    /// `error:badarg`.
    pub fn badarg() -> Exception {
        Exception::error(Term::atom("badarg"))
    }
    /// `exit:Reason`.
    pub fn exit(reason: Term) -> Exception {
        Exception { class: Atom::new("exit"), reason }
    }
    /// `throw:Reason`.
    pub fn throw(reason: Term) -> Exception {
        Exception { class: Atom::new("throw"), reason }
    }

    /// The reason a process exits with when this exception ends it
    /// uncaught, as ERTS gives it: `exit:R` → `R`; `error:R` → `{R, Stack}`;
    /// `throw:V` → `{{nocatch, V}, Stack}`. porthost keeps no stack traces,
    /// so `Stack` is always `[]` (ERTS has the `erl_eval` frames there).
    pub fn exit_reason(&self) -> Term {
        match self.class.name() {
            "exit" => self.reason.clone(),
            "throw" => Term::tuple(vec![
                Term::tuple(vec![Term::atom("nocatch"), self.reason.clone()]),
                Term::nil(),
            ]),
            _ => Term::tuple(vec![self.reason.clone(), Term::nil()]),
        }
    }
}

impl fmt::Display for Exception {
    /// `error: {Class,Reason}`, the line `erlrun.escript` prints for an
    /// uncaught exception (`~w`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "error: {}", Term::tuple(vec![Term::Atom(self.class), self.reason.clone()]))
    }
}

impl std::error::Error for Exception {}

/// Runs a parsed script as `erlrun.escript` does: before each form,
/// [`Runtime::check_signals`]; then the form's value is printed with `~w` on
/// a line of its own (and `flush()` prints `Shell got ~w` lines) to `out`.
/// Bindings carry from one form to the next.
///
/// # Errors
/// The first uncaught exception, or the exit signal that killed the
/// process. The caller prints it (its `Display` is `error: {Class,Reason}`)
/// and exits with status 1. Errors writing to `out` are ignored.
pub fn run_script(forms: &[Form], rt: &mut dyn Runtime, out: &mut dyn Write) -> Result<(), Exception> {
    let mut session = Session::new();
    for form in forms {
        rt.check_signals()?;
        let v = session.eval_form(form, rt, out)?;
        let _ = writeln!(out, "{v}");
        let _ = out.flush();
    }
    Ok(())
}

/// How [`run_script_with`] prints values.
#[derive(Clone, Copy, Debug, Default)]
#[non_exhaustive]
pub struct RunOptions {
    /// Print each value with `~p` (`io_lib_pretty`'s layout, strings as
    /// `"..."`) instead of `~w`.
    pub pretty: bool,
}

/// [`run_script`] with options: with [`RunOptions::pretty`], each value
/// prints as `io:format("~p~n", [V])` would.
///
/// # Errors
/// As [`run_script`].
pub fn run_script_with(forms: &[Form], rt: &mut dyn Runtime, out: &mut dyn Write, opts: RunOptions) -> Result<(), Exception> {
    let mut session = Session::new();
    for form in forms {
        rt.check_signals()?;
        let v = session.eval_form(form, rt, out)?;
        let _ = if opts.pretty { writeln!(out, "{}", pretty_value(&v)) } else { writeln!(out, "{v}") };
        let _ = out.flush();
    }
    Ok(())
}

/// `v` as `io_lib:format("~p", [V])` prints it from the start of a line,
/// in the Latin-1 bytes of the script's output (characters above 255 as
/// `\x{H}`).
pub fn pretty_value(v: &Term) -> String {
    crate::term::pretty::pretty(v, 1, 80, false)
        .chars()
        .map(|c| if (c as u32) < 256 { c.to_string() } else { format!("\\x{{{:X}}}", c as u32) })
        .collect()
}

/// What a new process runs: the body of the fun given to `spawn/1`, over
/// the new process's own runtime. `Ok` when the body returned (the process
/// exits `normal`), else the exception that ended it (see
/// [`Exception::exit_reason`]).
pub type ProcessBody = Box<dyn FnOnce(&mut dyn Runtime) -> Result<(), Exception> + Send>;

/// How [`Runtime::spawn`] starts a process: `spawn/1` (neither),
/// `spawn_link/1` (`link`), `spawn_monitor/1` (`monitor`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SpawnOptions {
    /// Link the caller and the new process before it runs.
    pub link: bool,
    /// Monitor the new process from the caller before it runs.
    pub monitor: bool,
}

/// What the evaluator needs from the host: everything that touches ports,
/// drivers, processes or the mailbox. One `Runtime` is one Erlang process
/// (the script's process, owner of the ports it opens; or a process the
/// script spawned).
pub trait Runtime {
    /// Calls `Module:Name(Args...)` for the BIFs the evaluator does not
    /// implement itself. `module` is `erlang` for auto-imported BIFs
    /// (`open_port`, `port_command`, `port_control`, `port_close`,
    /// `port_connect`, `self`, `process_flag`, `exit`), and `erlang`,
    /// `erl_ddll` etc. for remote calls. Unknown functions return
    /// `error:undef` (the evaluator formats ERTS's `undef` reason).
    fn call(&mut self, module: Atom, name: Atom, args: Vec<Term>) -> Result<Term, Exception>;

    /// Removes and returns the first message in the mailbox for which
    /// `matches` returns true, waiting up to `timeout` (`None`: forever)
    /// for one to arrive; `Ok(None)` after the timeout. Messages that do not
    /// match stay in the mailbox, in order (Erlang's selective receive).
    /// Returns `Err` if an exit signal kills the process while it waits.
    fn receive(
        &mut self,
        matches: &mut dyn FnMut(&Term) -> bool,
        timeout: Option<Duration>,
    ) -> Result<Option<Term>, Exception>;

    /// Handles pending signals (exit signals from linked ports); the
    /// evaluator calls it between expressions. `Err` with class `exit` when
    /// the process has been killed by one.
    fn check_signals(&mut self) -> Result<(), Exception>;

    /// Starts a new process that runs `body` concurrently with this one,
    /// with its own pid and mailbox, and returns its pid (and the monitor's
    /// reference with [`SpawnOptions::monitor`]). The link or monitor is in
    /// place before the body runs, so neither misses the new process's
    /// exit. When `body` returns `Ok` the process exits `normal`; when it
    /// returns an exception, it exits with [`Exception::exit_reason`]
    /// (ERTS also logs an error report for class `error` and `throw`).
    ///
    /// # Errors
    /// As the other BIFs: `exit` if this process has been killed;
    /// `error:system_limit` if no process can be started.
    fn spawn(&mut self, body: ProcessBody, opts: SpawnOptions) -> Result<(Pid, Option<Ref>), Exception>;

    /// porthost's explanation of the last exception a BIF raised (why a
    /// `badarg`, which function was `undef`), taken: the next call gives
    /// `None` until another BIF fails. The shell prints it under the
    /// exception and clears it before each expression, so an explanation
    /// never outlives the expression that caused it.
    fn take_explanation(&mut self) -> Option<String> {
        None
    }
}
