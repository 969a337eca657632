//! The port BIFs and `erl_ddll` as the port script calls them: a
//! [`Runtime`] over one [`Process`].
//!
//! Argument checking and results follow ERTS (`erlang:open_port/2`,
//! `erlang:port_command/2,3`, ..., `erl_ddll:*`); a bad argument raises
//! `error:badarg`, and the reason porthost knows is kept in
//! [`ProcessRuntime::last_error`] for the CLI to print on stderr.
//!
//! `spawn/1` ([`Runtime::spawn`]) starts a [`Process`] on the same host and
//! runs the fun on a thread of its own with its own `ProcessRuntime`: one
//! OS thread per script process, blocking in `receive` as an Erlang
//! process waits in its scheduler. The thread is detached; when the main
//! process's script ends the CLI exits and takes such threads with it, as
//! `erlrun.escript` halts the VM with processes still running.
#![deny(unsafe_code)]

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::time::Duration;

use crate::ddll::{MonitorWhen, Unloaded};
use crate::error::{BifError, DdllError};
use crate::process::Process;
use crate::script::{Exception, ProcessBody, Runtime, SpawnOptions};
use crate::term::{Atom, Pid, PortId, Ref, Term};

/// A port script's process and the BIFs it may call.
pub struct ProcessRuntime {
    process: Process,
    /// What was wrong in the last BIF that raised, in words.
    pub last_error: Option<String>,
}

impl ProcessRuntime {
    /// The runtime of `process`.
    pub fn new(process: Process) -> ProcessRuntime {
        ProcessRuntime { process, last_error: None }
    }

    /// The process.
    pub fn process(&self) -> &Process {
        &self.process
    }

    fn raise(&mut self, e: BifError) -> Exception {
        if let BifError::Badarg { why } = &e {
            self.last_error = Some(why.clone());
        }
        let (class, reason) = e.to_exception();
        Exception { class, reason: reason.into_expanded() }
    }
}

fn ok() -> Term {
    Term::atom("ok")
}

/// A port argument: a port, or the registered name of one.
fn port_arg_of(p: &Process, t: &Term) -> Result<PortId, BifError> {
    match t {
        Term::Port(p) => Ok(*p),
        Term::Atom(a) => match p.whereis(*a) {
            Some(Term::Port(port)) => Ok(port),
            _ => Err(BifError::badarg(format!("{t} is not the name of a port"))),
        },
        _ => Err(BifError::badarg(format!("{t} is not a port"))),
    }
}

/// Text of a string argument: a character list, a binary or an atom.
fn text_arg(t: &Term) -> Option<String> {
    match t {
        Term::Atom(a) => Some(a.name().to_owned()),
        Term::Binary(b) => String::from_utf8(b.as_slice().to_vec()).ok(),
        Term::List(items) => items
            .iter()
            .map(|i| i.as_int().and_then(|c| char::from_u32(c as u32)))
            .collect(),
        _ => None,
    }
}

fn u32_arg(t: &Term) -> Result<u32, BifError> {
    t.as_int()
        .and_then(|i| u32::try_from(i).ok())
        .ok_or_else(|| BifError::badarg(format!("{t} is not an operation number (0..2^32-1)")))
}

fn list_arg(t: &Term) -> Result<&[Term], BifError> {
    match t {
        Term::List(items) => Ok(items),
        _ => Err(BifError::badarg(format!("{t} is not a proper list"))),
    }
}

impl ProcessRuntime {
    fn erlang(&mut self, name: &str, args: &[Term]) -> Result<Term, BifError> {
        let p = &self.process;
        let port_arg = |t: &Term| port_arg_of(p, t);
        match (name, args) {
            ("self", []) => Ok(Term::Pid(p.pid())),
            ("open_port", [spec, opts]) => Ok(Term::Port(p.open_port(spec, list_arg(opts)?)?)),
            ("port_command", [port, data]) => Ok(Term::atom(bool_name(p.port_command(port_arg(port)?, data)?))),
            ("port_command", [port, data, opts]) => {
                let (mut force, mut nosuspend) = (false, false);
                for o in list_arg(opts)? {
                    match o {
                        o if o.is_atom("force") => force = true,
                        o if o.is_atom("nosuspend") => nosuspend = true,
                        o => return Err(BifError::badarg(format!("{o} is not a port_command option"))),
                    }
                }
                Ok(Term::atom(bool_name(p.port_command_opts(port_arg(port)?, data, force, nosuspend)?)))
            }
            ("port_control", [port, op, data]) => p.port_control(port_arg(port)?, u32_arg(op)?, data),
            ("port_call", [port, data]) => p.port_call(port_arg(port)?, 0, data),
            ("port_call", [port, op, data]) => p.port_call(port_arg(port)?, u32_arg(op)?, data),
            ("port_close", [port]) => {
                p.port_close(port_arg(port)?)?;
                Ok(Term::atom("true"))
            }
            ("port_connect", [port, pid]) => {
                let Term::Pid(pid) = pid else { return Err(BifError::badarg(format!("{pid} is not a pid"))) };
                p.port_connect(port_arg(port)?, *pid)?;
                Ok(Term::atom("true"))
            }
            ("port_info", [port]) => p.port_info(port_arg(port)?),
            ("port_info", [port, item]) => p.port_info_item(port_arg(port)?, item),
            ("ports", []) => Ok(Term::List(p.ports().into_iter().map(Term::Port).collect())),
            ("process_flag", [flag, value]) if flag.is_atom("trap_exit") => {
                let on = match value {
                    v if v.is_atom("true") => true,
                    v if v.is_atom("false") => false,
                    v => return Err(BifError::badarg(format!("{v} is not a boolean"))),
                };
                Ok(Term::atom(bool_name(p.set_trap_exit(on)?)))
            }
            ("link", [Term::Port(port)]) => {
                p.link_port(*port)?;
                Ok(Term::atom("true"))
            }
            ("unlink", [Term::Port(port)]) => {
                p.unlink_port(*port)?;
                Ok(Term::atom("true"))
            }
            ("link", [Term::Pid(pid)]) => {
                p.link_process(*pid)?;
                Ok(Term::atom("true"))
            }
            ("unlink", [Term::Pid(pid)]) => {
                p.unlink_process(*pid)?;
                Ok(Term::atom("true"))
            }
            ("exit", [Term::Pid(pid), reason]) => {
                p.exit_process(*pid, reason.clone())?;
                Ok(Term::atom("true"))
            }
            ("monitor", [kind, Term::Pid(pid)]) if kind.is_atom("process") => Ok(Term::Ref(p.monitor_process(*pid)?)),
            ("monitor", [kind, target]) if kind.is_atom("port") => Ok(Term::Ref(p.monitor_port(target)?)),
            ("monitor", [kind, what]) if !kind.is_atom("process") => {
                Err(BifError::badarg(format!("cannot monitor {what} as a {kind}")))
            }
            ("demonitor", [Term::Ref(r)]) => {
                p.demonitor_any(*r)?;
                Ok(Term::atom("true"))
            }
            ("demonitor", [Term::Ref(r), opts]) => {
                let (mut flush, mut info) = (false, false);
                for o in list_arg(opts)? {
                    match o {
                        o if o.is_atom("flush") => flush = true,
                        o if o.is_atom("info") => info = true,
                        o => return Err(BifError::badarg(format!("{o} is not a demonitor option"))),
                    }
                }
                let active = p.demonitor_any(*r)?;
                if flush {
                    p.flush_down(*r)?;
                }
                Ok(Term::atom(bool_name(active || !info)))
            }
            ("demonitor", [r, ..]) => Err(BifError::badarg(format!("{r} is not a reference"))),
            ("process_info", [Term::Pid(pid), Term::Atom(item)]) => Ok(p
                .process_info_item(*pid, item.name())?
                .map(|v| Term::tuple(vec![Term::Atom(*item), v]))
                .unwrap_or_else(|| Term::atom("undefined"))),
            ("process_info", [Term::Pid(pid), Term::List(items)]) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    let Term::Atom(a) = item else { return Err(BifError::badarg(format!("{item} is not a process_info item"))) };
                    match p.process_info_item(*pid, a.name())? {
                        Some(v) => out.push(Term::tuple(vec![item.clone(), v])),
                        None => return Ok(Term::atom("undefined")),
                    }
                }
                Ok(Term::List(out))
            }
            ("process_info", [pid, _]) => Err(BifError::badarg(format!("{pid} is not a local pid"))),
            ("system_info", [item]) => system_info(p, item),
            ("is_process_alive", [Term::Pid(pid)]) => Ok(Term::atom(bool_name(p.is_process_alive(*pid)))),
            ("make_ref", []) => Ok(Term::Ref(p.host.make_ref())),
            ("exit", [Term::Port(port), reason]) => {
                p.exit_port(*port, reason)?;
                Ok(Term::atom("true"))
            }
            ("register", [Term::Atom(n), what]) => {
                p.register(*n, what)?;
                Ok(Term::atom("true"))
            }
            ("unregister", [Term::Atom(n)]) => {
                p.unregister(*n)?;
                Ok(Term::atom("true"))
            }
            ("whereis", [Term::Atom(n)]) => Ok(p.whereis(*n).unwrap_or_else(|| Term::atom("undefined"))),
            ("send" | "!", [dest, msg]) => {
                let dest = match dest {
                    Term::Atom(a) => p.whereis(*a).ok_or_else(|| BifError::badarg(format!("{dest} is not a registered name")))?,
                    d => d.clone(),
                };
                match &dest {
                    Term::Port(port) => p.send_to_port(*port, msg)?,
                    Term::Pid(pid) => p.send(*pid, msg.clone()),
                    _ => return Err(BifError::badarg(format!("{dest} is not a pid or port"))),
                }
                Ok(msg.clone())
            }
            _ => Err(BifError::Undef),
        }
    }

    /// porthost's own functions (beyond ERTS).
    fn porthost(&mut self, name: &str, args: &[Term]) -> Result<Term, BifError> {
        let p = &self.process;
        match (name, args) {
            ("close_input", [port]) => p.close_input(port_arg_of(p, port)?).map(|()| ok()),
            _ => crate::recon::info::porthost(p, name, args),
        }
    }

    fn erl_ddll(&mut self, name: &str, args: &[Term]) -> Result<Term, BifError> {
        let p = &self.process;
        let result = |r: Result<Term, DdllError>| match r {
            Ok(t) => Ok(t),
            Err(DdllError::Badarg(why)) => Err(BifError::badarg(why)),
            Err(e) => Ok(Term::Tuple(vec![Term::atom("error"), e.reason()])),
        };
        let path_name = |path: &Term, drv: &Term| -> Result<(PathBuf, String), BifError> {
            let path = text_arg(path).ok_or_else(|| BifError::badarg(format!("{path} is not a path")))?;
            let drv = text_arg(drv).ok_or_else(|| BifError::badarg(format!("{drv} is not a driver name")))?;
            Ok((PathBuf::from(path), drv))
        };
        let drv_name = |drv: &Term| text_arg(drv).ok_or_else(|| BifError::badarg(format!("{drv} is not a driver name")));
        match (name, args) {
            ("load_driver" | "load", [path, drv]) => {
                let (path, drv) = path_name(path, drv)?;
                let r = p.ddll_load(&path, &drv, name == "load_driver");
                result(inconsistent_as_bad_name(r, &drv).map(|_| ok()))
            }
            ("try_load", [path, drv, opts]) => {
                let (path, drv) = path_name(path, drv)?;
                let kill_ports = driver_options(opts)?;
                if has_reload_option(opts)? {
                    // ERTS finishes a granted reload asynchronously and
                    // answers pending_driver.
                    return result(
                        p.ddll_reload(&path, &drv, kill_ports)
                            .map(|()| Term::Tuple(vec![ok(), Term::atom("pending_driver")])),
                    );
                }
                result(p.ddll_load(&path, &drv, kill_ports).map(|fresh| {
                    Term::Tuple(vec![ok(), Term::atom(if fresh { "loaded" } else { "already_loaded" })])
                }))
            }
            ("unload_driver" | "unload", [drv]) => {
                // erl_ddll.erl: unload_driver/1 passes the kill_ports unload
                // option, unload/1 does not.
                let drv = drv_name(drv)?;
                result(p.ddll_unload_with(&drv, name == "unload_driver").map(|_| ok()))
            }
            ("try_unload", [drv, opts]) => {
                let drv = drv_name(drv)?;
                let kill_ports = list_arg(opts)?.iter().any(|o| o.is_atom("kill_ports"));
                result(p.ddll_unload_with(&drv, kill_ports).map(|u| {
                    // ERTS 25 finishes an unload asynchronously, so even a
                    // driver without ports is reported as pending_driver.
                    let what = match u {
                        Unloaded::Unloaded | Unloaded::PendingDriver => "pending_driver",
                        Unloaded::PendingProcess => "pending_process",
                    };
                    Term::Tuple(vec![ok(), Term::atom(what)])
                }))
            }
            ("reload" | "reload_driver", [path, drv]) => {
                let (path, drv) = path_name(path, drv)?;
                let r = p.ddll_reload(&path, &drv, name == "reload_driver");
                result(inconsistent_as_bad_name(r, &drv).map(|()| ok()))
            }
            ("monitor", [tag, Term::Tuple(item)]) if tag.is_atom("driver") && item.len() == 2 => {
                let name = drv_name(&item[0])?;
                let when = match item[1].as_atom().map(Atom::name) {
                    Some("loaded") => MonitorWhen::Loaded,
                    Some("unloaded") => MonitorWhen::Unloaded,
                    Some("unloaded_only") => MonitorWhen::UnloadedOnly,
                    _ => return Err(BifError::badarg(format!("{} is not loaded, unloaded or unloaded_only", item[1]))),
                };
                let r = p.host.make_ref();
                let now = p.host.with_ddll(|reg| reg.monitor(p.pid(), &name, item[0].clone(), when, r));
                if let Some(msg) = now {
                    p.host.send(p.pid(), crate::process::Signal::Message(msg));
                }
                Ok(Term::Ref(r))
            }
            ("monitor", [_, _]) => Err(BifError::badarg("erl_ddll:monitor/2 takes driver and {Name, When}")),
            ("demonitor", [Term::Ref(r)]) => {
                p.host.with_ddll(|reg| reg.demonitor(p.pid(), *r));
                Ok(Term::atom("true"))
            }
            ("demonitor", [other]) => Err(BifError::badarg(format!("{other} is not a reference"))),
            ("loaded_drivers", []) => {
                let names = p.host().loaded_drivers();
                Ok(Term::Tuple(vec![ok(), Term::List(names.iter().map(|n| Term::string(n)).collect())]))
            }
            ("info", [drv]) => {
                let drv = drv_name(drv)?;
                let host = p.host();
                match host.driver_info(&drv) {
                    None => Err(BifError::badarg(format!("driver {drv} is not loaded"))),
                    Some(_) => Ok(Term::List(
                        INFO_TAGS
                            .iter()
                            .map(|t| Term::Tuple(vec![Term::atom(t), driver_info_item(&host, &drv, t).expect("known tag")]))
                            .collect(),
                    )),
                }
            }
            ("info", [drv, tag]) => {
                let drv = drv_name(drv)?;
                let tag = tag.as_atom().map(Atom::name).unwrap_or("");
                let host = p.host();
                driver_info_item(&host, &drv, tag)
                    .ok_or_else(|| BifError::badarg(format!("driver {drv} is not loaded, or {tag} is not an info item")))
            }
            ("format_error", [reason]) => p
                .host
                .ddll
                .lock()
                .format_error(reason)
                .map(|t| Term::string(&t))
                .ok_or_else(|| BifError::badarg(format!("{reason} is not an erl_ddll error reason"))),
            ("info", []) => {
                let host = p.host();
                let all = host
                    .loaded_drivers()
                    .into_iter()
                    .map(|n| {
                        let items = INFO_TAGS
                            .iter()
                            .map(|t| Term::Tuple(vec![Term::atom(t), driver_info_item(&host, &n, t).expect("loaded")]))
                            .collect();
                        Term::Tuple(vec![Term::string(&n), Term::List(items)])
                    })
                    .collect();
                Ok(Term::List(all))
            }
            _ => Err(BifError::Undef),
        }
    }
}

/// `erl_ddll:load/2`, `load_driver/2`, `reload/2` and `reload_driver/2`
/// report `inconsistent` as `bad_driver_name` (erl_ddll.erl does so).
fn inconsistent_as_bad_name<T>(r: Result<T, DdllError>, drv: &str) -> Result<T, DdllError> {
    match r {
        Err(DdllError::Inconsistent) => {
            Err(DdllError::BadDriverName { wanted: drv.to_owned(), found: drv.to_owned() })
        }
        r => r,
    }
}

/// The `kill_ports` flag of a `try_load` option list
/// (`{driver_options, [kill_ports]}`); other options are accepted.
fn driver_options(opts: &Term) -> Result<bool, BifError> {
    let mut kill = false;
    for o in list_arg(opts)? {
        if let Term::Tuple(t) = o {
            if t.len() == 2 && t[0].is_atom("driver_options") {
                kill = list_arg(&t[1])?.iter().any(|x| x.is_atom("kill_ports"));
            }
        }
    }
    Ok(kill)
}

/// Whether a `try_load` option list asks for a reload (`{reload, pending}`
/// or `{reload, pending_driver}`).
fn has_reload_option(opts: &Term) -> Result<bool, BifError> {
    Ok(list_arg(opts)?.iter().any(|o| matches!(o, Term::Tuple(t) if t.len() == 2 && t[0].is_atom("reload"))))
}

const INFO_TAGS: [&str; 7] =
    ["processes", "driver_options", "port_count", "linked_in_driver", "permanent", "awaiting_load", "awaiting_unload"];

fn driver_info_item(host: &crate::Host, drv: &str, tag: &str) -> Option<Term> {
    let info = host.driver_info(drv)?;
    Some(match tag {
        "processes" => Term::List(
            info.processes
                .iter()
                .map(|(pid, n)| Term::Tuple(vec![Term::Pid(*pid), Term::Int(*n as i64)]))
                .collect(),
        ),
        "driver_options" => Term::List(if info.kill_ports { vec![Term::atom("kill_ports")] } else { vec![] }),
        "port_count" => Term::Int(info.port_count as i64),
        "linked_in_driver" => Term::atom("false"),
        "permanent" => Term::atom(bool_name(info.permanent)),
        "awaiting_load" | "awaiting_unload" => Term::nil(),
        _ => return None,
    })
}

/// `erlang:system_info/1` for the items a port test asks about, with
/// ERTS 25's values where they are not this machine's.
fn system_info(p: &Process, item: &Term) -> Result<Term, BifError> {
    let name = item.as_atom().map(Atom::name).unwrap_or("");
    Ok(match name {
        "port_count" | "port_limit" => match crate::recon::info::system_info(&p.host, item) {
            Some(v) => v,
            None => return Err(BifError::badarg(format!("{item} is not a system_info item porthost knows"))),
        },
        "process_count" => Term::Int(p.host.procs.read().len() as i64),
        "otp_release" => Term::string("25"),
        "version" => Term::string(ERTS_VERSION),
        "system_version" => {
            let cpus = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
            Term::string(&format!(
                "Erlang/OTP 25 [erts-{ERTS_VERSION}] [porthost] [64-bit] [smp:{cpus}:{cpus}] [async-threads:{}]\n",
                p.host.async_pool.threads()
            ))
        }
        "wordsize" => Term::Int(8),
        "schedulers" | "schedulers_online" | "logical_processors" | "logical_processors_available" => {
            Term::Int(std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1) as i64)
        }
        "thread_pool_size" => Term::Int(p.host.async_pool.threads() as i64),
        "machine" => Term::string("BEAM"),
        "driver_version" => Term::string("3.3"),
        "atom_limit" => Term::Int(crate::term::ATOM_LIMIT as i64),
        _ => return Err(BifError::badarg(format!("{item} is not a system_info item porthost knows"))),
    })
}

/// The ERTS version porthost answers for (OTP 25's, as `erlang:system_info(version)`).
const ERTS_VERSION: &str = "13.1.5";

fn bool_name(b: bool) -> &'static str {
    if b {
        "true"
    } else {
        "false"
    }
}

impl Runtime for ProcessRuntime {
    fn call(&mut self, module: Atom, name: Atom, args: Vec<Term>) -> Result<Term, Exception> {
        let r = match module.name() {
            "erlang" => self.erlang(name.name(), &args),
            // An erl_ddll call can kill ports linked to the caller
            // (kill_ports): as in ERTS, which waits for the unload and
            // handles the exit signals before it returns, the caller dies
            // inside the call.
            "erl_ddll" => self.erl_ddll(name.name(), &args).and_then(|t| self.process.alive().map(|()| t)),
            "porthost" => self.porthost(name.name(), &args),
            "recon" => crate::recon::info::recon(&self.process, name.name(), &args),
            _ => Err(BifError::Undef),
        };
        // The evaluator sees lists only as `Term::List` (see `Term::ByteList`).
        match r {
            Ok(t) => Ok(t.into_expanded()),
            Err(BifError::Undef) => {
                // ERTS's reason is a bare `undef`; say which function.
                self.last_error = Some(format!(
                    "undefined function {}:{}/{}",
                    crate::term::fmt::quote_atom(module.name()),
                    crate::term::fmt::quote_atom(name.name()),
                    args.len()
                ));
                Err(self.raise(BifError::Undef))
            }
            Err(e) => Err(self.raise(e)),
        }
    }

    fn receive(
        &mut self,
        matches: &mut dyn FnMut(&Term) -> bool,
        timeout: Option<Duration>,
    ) -> Result<Option<Term>, Exception> {
        self.process
            .receive_matching(&mut |m| matches(&m.expanded()), timeout)
            .map(|m| m.map(Term::into_expanded))
            .map_err(|e| self.raise(e))
    }

    fn check_signals(&mut self) -> Result<(), Exception> {
        self.process.alive().map_err(|e| self.raise(e))
    }

    fn take_explanation(&mut self) -> Option<String> {
        self.last_error.take()
    }

    fn spawn(&mut self, body: ProcessBody, opts: SpawnOptions) -> Result<(Pid, Option<Ref>), Exception> {
        self.process.alive().map_err(|e| self.raise(e))?;
        let child = self.process.host().spawn_process();
        let pid = child.pid();
        let linked = if opts.link { self.process.link_process(pid) } else { Ok(()) };
        let monitor = linked.and_then(|()| match opts.monitor {
            true => self.process.monitor_process(pid).map(Some),
            false => Ok(None),
        });
        let monitor = match monitor {
            Ok(m) => m,
            Err(e) => {
                // This process died meanwhile: the child never runs.
                drop(child);
                return Err(self.raise(e));
            }
        };
        let thread = std::thread::Builder::new()
            .name(format!("porthost {}", Term::Pid(pid)))
            .stack_size(PROCESS_STACK)
            .spawn(move || run_process(child, body));
        match thread {
            Ok(_) => Ok((pid, monitor)),
            Err(e) => {
                self.last_error = Some(format!("cannot start a thread for a new process: {e}"));
                Err(Exception::error(Term::atom("system_limit")))
            }
        }
    }
}

/// The stack of a spawned process's thread (reserved, used as needed):
/// the evaluator recurses for calls that are not in tail position, and
/// the main thread has 8 MiB.
const PROCESS_STACK: usize = 16 << 20;

/// The life of a spawned process, on its own thread: runs `body`, then
/// exits `normal` if it returned, or with the reason ERTS would give the
/// uncaught exception ([`Exception::exit_reason`]). For class `error` and
/// `throw`, ERTS's logger prints an error report (on standard output,
/// several lines); porthost prints it on standard error, on one line.
fn run_process(process: Process, body: ProcessBody) {
    let pid = process.pid();
    let mut rt = ProcessRuntime::new(process);
    let reason = match catch_unwind(AssertUnwindSafe(|| body(&mut rt))) {
        Ok(Ok(())) => Term::atom("normal"),
        Ok(Err(e)) => {
            let reason = e.exit_reason();
            if e.class.name() != "exit" {
                let why = rt.last_error.take().map(|w| format!(" (porthost: {w})")).unwrap_or_default();
                eprintln!("=ERROR REPORT==== Error in process {} with exit value: {reason}{why}", Term::Pid(pid));
            }
            reason
        }
        Err(_) => {
            eprintln!("porthost: process {} panicked", Term::Pid(pid));
            Term::tuple(vec![Term::atom("porthost_panic"), Term::nil()])
        }
    };
    // A process an exit signal killed is already dead: this is a no-op.
    rt.process.exit(reason);
}
