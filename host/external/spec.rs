//! `open_port/2` for external programs: the port name and the option list
//! checked and turned into an [`ExternalSpec`], with the exceptions ERTS 25
//! raises (`erts/emulator/beam/erl_bif_port.c`, `open_port/2`; every rule
//! below was checked against OTP 25 with `tests/scripts_external/ext_opts.erl`).

use std::time::Duration;

use crate::error::BifError;
use crate::term::{Atom, Term};

use super::framing::Framing;

/// One `{env, _}` entry: the name and the value (`None`: unset).
pub(crate) type EnvEntry = (Vec<u8>, Option<Vec<u8>>);

/// What to run (or which descriptors to use): the port name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Program {
    /// `{spawn, Command}`: `/bin/sh -c "exec Command"` (`spawn_start` in
    /// `sys_drivers.c`).
    Shell {
        /// The command line, as given.
        command: Vec<u8>,
    },
    /// `{spawn_executable, File}`: the file itself, not searched in `PATH`.
    Executable {
        /// The file.
        file: Vec<u8>,
        /// `{args, [...]}`: the arguments after `argv[0]`.
        args: Vec<Vec<u8>>,
        /// `{arg0, Name}`: `argv[0]` (default: `file`).
        arg0: Option<Vec<u8>>,
    },
    /// `{fd, In, Out}`: descriptors porthost already has; nothing is spawned
    /// and the descriptors are not closed when the port closes (`fd_stop`).
    Fd {
        /// Read from this one.
        input: i32,
        /// Write to this one.
        output: i32,
    },
}

/// Where the child's standard error goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub(crate) enum StderrMode {
    /// Inherited from porthost (ERTS's default).
    #[default]
    Inherit,
    /// `stderr_to_stdout`: into the same pipe as standard output.
    ToStdout,
    /// `stderr_messages` (beyond ERTS): its own pipe, delivered as
    /// [`super::ExternalEvent::Stderr`].
    Messages,
}

/// One `setrlimit` limit for the child (`{limits, [...]}`, beyond ERTS).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Limit {
    /// `{memory, Bytes}`: `RLIMIT_AS`.
    Memory(u64),
    /// `{cpu, Seconds}`: `RLIMIT_CPU` (`SIGXCPU`, then `SIGKILL`).
    Cpu(u64),
    /// `{nofile, N}`: `RLIMIT_NOFILE`.
    Nofile(u64),
    /// `{nproc, N}`: `RLIMIT_NPROC` (per user, not per child).
    Nproc(u64),
    /// `{fsize, Bytes}`: `RLIMIT_FSIZE`.
    Fsize(u64),
    /// `{core, Bytes}`: `RLIMIT_CORE`.
    Core(u64),
}

/// `{busy_limits_port, _}` / `{busy_limits_msgq, _}` as given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BusyLimits {
    /// `{Low, High}`, each 1..=`usize::MAX - 1` (ERTS accepts Low > High).
    Limits(usize, usize),
    /// `disabled`.
    Disabled,
}

/// A checked `open_port/2` for an external program: what to run and every
/// option, ERTS's and porthost's own. Built by [`ExternalSpec::parse`];
/// fields the engine does not use itself (`binary`, `eof`, the busy
/// limits, `parallelism`) are kept for the port layer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ExternalSpec {
    /// The port name.
    pub(crate) program: Program,
    /// `{cd, Dir}`: the child's working directory (a bad one makes the child
    /// print `spawn: Could not cd to Dir` and exit with `errno`, as ERTS's
    /// `erl_child_setup` does; `open_port` itself succeeds).
    pub(crate) cd: Option<Vec<u8>>,
    /// `{env, [...]}` in order (a later entry for a name wins): `None`
    /// (`false`, or `""` — ERTS 25 unsets a variable given an empty value)
    /// removes `Name`.
    pub(crate) env: Vec<EnvEntry>,
    /// `stream` / `{packet, N}` / `{line, L}`.
    pub(crate) framing: Framing,
    /// `binary`.
    pub(crate) binary: bool,
    /// `eof`: at EOF send `{Port, eof}` and stay open, instead of closing
    /// with reason `normal`.
    pub(crate) eof: bool,
    /// `exit_status`.
    pub(crate) exit_status: bool,
    /// `use_stdio` (default) or `nouse_stdio` (fds 3 and 4 in the child).
    pub(crate) use_stdio: bool,
    /// `stderr_to_stdout` / `stderr_messages`.
    pub(crate) stderr: StderrMode,
    /// Porthost reads the child's output (not `out` alone).
    pub(crate) read: bool,
    /// Porthost writes to the child (not `in` alone; with `in` alone the
    /// child's stdin is closed at once, as ERTS closes it).
    pub(crate) write: bool,
    /// `hide`: accepted, no effect on Unix.
    pub(crate) hide: bool,
    /// `overlapped_io`: accepted, no effect on Unix.
    pub(crate) overlapped_io: bool,
    /// `{parallelism, Bool}`.
    pub(crate) parallelism: Option<bool>,
    /// `{busy_limits_port, _}`.
    pub(crate) busy_limits_port: Option<BusyLimits>,
    /// `{busy_limits_msgq, _}`.
    pub(crate) busy_limits_msgq: Option<BusyLimits>,
    /// `{kill_timeout, Ms}` (beyond ERTS): on close, `SIGTERM` to the
    /// child's process group, `SIGKILL` after this long; the child also gets
    /// `SIGKILL` when porthost dies (`PR_SET_PDEATHSIG`).
    pub(crate) kill_timeout: Option<Duration>,
    /// `{max_pending, N}` (beyond ERTS): stop reading while N messages from
    /// the port are undelivered (see [`super::External::ack`]).
    pub(crate) max_pending: Option<usize>,
    /// `{limits, [...]}` (beyond ERTS).
    pub(crate) limits: Vec<Limit>,
    /// The reader thread looks for more output for a while after each read
    /// before it sleeps (the host's [`crate::HostConfig::busy_wait`], not an
    /// option of `open_port`; default `false`).
    pub(crate) busy_wait: bool,
}

fn badarg(why: impl Into<String>) -> BifError {
    BifError::badarg(why)
}

/// ERTS's small integers on 64-bit: below 2^59 (a bigger `{line, L}` is
/// `badarg` there).
const MAX_SMALL: i64 = (1 << 59) - 1;

/// The longest `{kill_timeout, Ms}`: one day.
const MAX_KILL_TIMEOUT_MS: i64 = 86_400_000;

impl ExternalSpec {
    /// Checks `open_port(Name, Options)` for an external program. `name` is
    /// the whole tuple (`{spawn, Cmd}`, `{spawn_executable, File}`,
    /// `{fd, In, Out}`); `opts` the elements of the (proper) option list.
    ///
    /// Only the terms are checked here; whether `File` exists and is
    /// executable is [`super::External::spawn`]'s business (ERTS checks it
    /// in `spawn_start`, after the options).
    ///
    /// # Errors
    /// `badarg` for anything ERTS 25 refuses (an unknown option, `{packet,
    /// 3}`, `{line, 0}`, `{packet, _}` with `{line, _}` unless a later
    /// `stream` resets both, `args`/`arg0` with `spawn`, `args`/`arg0`/
    /// `exit_status` with `fd`, an `env` name with `=`, a NUL byte in any
    /// string, an empty command or file, ...); `einval` for an `fd` number
    /// outside 0..2^31.
    pub(crate) fn parse(name: &Term, opts: &[Term]) -> Result<ExternalSpec, BifError> {
        let mut spec = ExternalSpec {
            program: Program::Shell { command: Vec::new() },
            cd: None,
            env: Vec::new(),
            framing: Framing::Stream,
            binary: false,
            eof: false,
            exit_status: false,
            use_stdio: true,
            stderr: StderrMode::Inherit,
            read: true,
            write: true,
            hide: false,
            overlapped_io: false,
            parallelism: None,
            busy_limits_port: None,
            busy_limits_msgq: None,
            kill_timeout: None,
            max_pending: None,
            limits: Vec::new(),
            busy_wait: false,
        };
        let (mut packet, mut line) = (0u8, 0usize);
        let (mut inp, mut out) = (false, false);
        let (mut args, mut arg0) = (None, None);
        let (mut stderr_to_stdout, mut stderr_messages) = (false, false);
        for opt in opts {
            match opt {
                Term::Atom(a) => match a.name() {
                    "stream" => (packet, line) = (0, 0),
                    "binary" => spec.binary = true,
                    "eof" => spec.eof = true,
                    "in" => inp = true,
                    "out" => out = true,
                    "use_stdio" => spec.use_stdio = true,
                    "nouse_stdio" => spec.use_stdio = false,
                    "stderr_to_stdout" => stderr_to_stdout = true,
                    "stderr_messages" => stderr_messages = true,
                    "exit_status" => spec.exit_status = true,
                    "hide" => spec.hide = true,
                    "overlapped_io" => spec.overlapped_io = true,
                    other => return Err(badarg(format!("unknown open_port option {other}"))),
                },
                Term::Tuple(t) if t.len() == 2 && t[0].as_atom().is_some() => {
                    let key = t[0].as_atom().map(Atom::name).unwrap_or("");
                    let v = &t[1];
                    let bad = || badarg(format!("bad open_port option {opt}"));
                    match key {
                        "packet" => match v {
                            Term::Int(n @ (1 | 2 | 4)) => packet = *n as u8,
                            _ => return Err(bad()),
                        },
                        "line" => match v {
                            Term::Int(n) if (1..=MAX_SMALL).contains(n) => {
                                line = usize::try_from(*n).unwrap_or(usize::MAX)
                            }
                            _ => return Err(bad()),
                        },
                        "args" => {
                            let Term::List(items) = v else { return Err(bad()) };
                            let mut out = Vec::with_capacity(items.len());
                            for item in items {
                                out.push(filename(item).ok_or_else(bad)?);
                            }
                            args = Some(out);
                        }
                        "arg0" => arg0 = Some(filename(v).ok_or_else(bad)?),
                        "cd" => spec.cd = Some(filename(v).ok_or_else(bad)?),
                        "env" => spec.env = env(v).ok_or_else(bad)?,
                        "parallelism" => match v {
                            Term::Atom(b) if b.name() == "true" => spec.parallelism = Some(true),
                            Term::Atom(b) if b.name() == "false" => spec.parallelism = Some(false),
                            _ => return Err(bad()),
                        },
                        "busy_limits_port" => spec.busy_limits_port = Some(busy_limits(v).ok_or_else(bad)?),
                        "busy_limits_msgq" => spec.busy_limits_msgq = Some(busy_limits(v).ok_or_else(bad)?),
                        "kill_timeout" => match v {
                            Term::Int(ms) if (0..=MAX_KILL_TIMEOUT_MS).contains(ms) => {
                                spec.kill_timeout = Some(Duration::from_millis(*ms as u64))
                            }
                            _ => return Err(bad()),
                        },
                        "max_pending" => match v {
                            Term::Int(n) if *n >= 1 => spec.max_pending = Some(usize::try_from(*n).unwrap_or(usize::MAX)),
                            _ => return Err(bad()),
                        },
                        "limits" => spec.limits = limits(v).ok_or_else(bad)?,
                        _ => return Err(bad()),
                    }
                }
                _ => return Err(badarg(format!("bad open_port option {opt}"))),
            }
        }
        if packet != 0 && line != 0 {
            return Err(badarg("{packet, N} and {line, L} together"));
        }
        spec.framing = match (packet, line) {
            (0, 0) => Framing::Stream,
            (0, l) => Framing::Line(l),
            (n, _) => Framing::Packet(n),
        };
        if inp != out {
            spec.read = inp;
            spec.write = out;
        }
        if stderr_to_stdout && !spec.use_stdio {
            return Err(badarg("stderr_to_stdout with nouse_stdio"));
        }
        spec.stderr = match (stderr_to_stdout, stderr_messages) {
            (true, true) => return Err(badarg("stderr_to_stdout and stderr_messages together")),
            (true, false) => StderrMode::ToStdout,
            (false, true) => StderrMode::Messages,
            (false, false) => StderrMode::Inherit,
        };

        let Term::Tuple(t) = name else { return Err(badarg(format!("bad port name {name}"))) };
        let kind = t.first().and_then(Term::as_atom).map(Atom::name).unwrap_or("");
        spec.program = match (kind, &t[..]) {
            ("spawn", [_, cmd]) => {
                if args.is_some() || arg0.is_some() {
                    return Err(badarg("{args, _} and {arg0, _} need spawn_executable"));
                }
                let command = filename(cmd).filter(|c| !c.is_empty()).ok_or_else(|| badarg(format!("bad command {cmd}")))?;
                Program::Shell { command }
            }
            ("spawn_executable", [_, file]) => {
                let file = filename(file).filter(|f| !f.is_empty()).ok_or_else(|| badarg(format!("bad file name {file}")))?;
                Program::Executable { file, args: args.unwrap_or_default(), arg0 }
            }
            ("fd", [_, i, o]) => {
                if args.is_some() || arg0.is_some() || spec.exit_status {
                    return Err(badarg("{args, _}, {arg0, _} and exit_status do not apply to fd ports"));
                }
                if stderr_messages || spec.kill_timeout.is_some() || !spec.limits.is_empty() {
                    return Err(badarg("stderr_messages, kill_timeout and limits need a spawned program"));
                }
                // A number beyond 32 bits is `einval`, and so is a negative
                // one in a direction the port uses (`{fd, -1, 2}` with
                // `out` alone opens).
                let einval = || BifError::Posix(crate::atom!("einval"));
                let fd = |t: &Term, used: bool| match t {
                    Term::Int(n) => {
                        i32::try_from(*n).ok().filter(|n| *n >= 0 || !used).ok_or_else(einval)
                    }
                    Term::BigInt(_) => Err(einval()),
                    _ => Err(badarg(format!("bad fd {t}"))),
                };
                let (input, output) = (fd(i, spec.read), fd(o, spec.write));
                Program::Fd { input: input?, output: output? }
            }
            _ => return Err(badarg(format!("bad port name {name}"))),
        };
        Ok(spec)
    }
}

/// A file name as `open_port` takes one (`erts_native_filename_need`): an
/// atom, a binary (its bytes), or a possibly deep list of characters
/// (encoded as UTF-8, the native file name encoding). No NUL byte.
pub(crate) fn filename(t: &Term) -> Option<Vec<u8>> {
    let bytes = match t {
        Term::Atom(a) => a.name().as_bytes().to_vec(),
        Term::Binary(b) => b.as_slice().to_vec(),
        _ => chars(t)?,
    };
    (!bytes.contains(&0)).then_some(bytes)
}

/// A possibly deep list of characters as UTF-8, without recursion (a
/// hostile nesting depth cannot overflow the stack).
fn chars(t: &Term) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut stack: Vec<std::slice::Iter<'_, Term>> = Vec::new();
    let push_char = |out: &mut Vec<u8>, c: u32| -> Option<()> {
        let ch = char::from_u32(c)?;
        let mut buf = [0u8; 4];
        out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
        Some(())
    };
    match t {
        Term::List(items) => stack.push(items.iter()),
        Term::ByteList(b) => {
            for &c in b.as_slice() {
                push_char(&mut out, c as u32)?;
            }
            return Some(out);
        }
        _ => return None,
    }
    while let Some(top) = stack.last_mut() {
        match top.next() {
            None => {
                stack.pop();
            }
            Some(Term::Int(c)) => push_char(&mut out, u32::try_from(*c).ok()?)?,
            Some(Term::List(items)) => stack.push(items.iter()),
            Some(Term::ByteList(b)) => {
                for &c in b.as_slice() {
                    push_char(&mut out, c as u32)?;
                }
            }
            Some(_) => return None,
        }
    }
    Some(out)
}

/// `{env, [{Name, Value | false}]}`: names and values are character lists
/// (not binaries or atoms); a name has no `=`; `""` as a value unsets, as
/// `false` does (`build_unix_environment` drops `NAME=` entries).
fn env(t: &Term) -> Option<Vec<EnvEntry>> {
    let Term::List(items) = t else { return None };
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let Term::Tuple(kv) = item else { return None };
        let [k, v] = &kv[..] else { return None };
        let name = chars(k).filter(|n| !n.contains(&b'=') && !n.contains(&0))?;
        let value = match v {
            Term::Atom(a) if a.name() == "false" => None,
            _ => Some(chars(v).filter(|v| !v.contains(&0))?).filter(|v| !v.is_empty()),
        };
        out.push((name, value));
    }
    Some(out)
}

fn busy_limits(t: &Term) -> Option<BusyLimits> {
    let limit = |t: &Term| match t {
        Term::Int(n) => usize::try_from(*n).ok().filter(|n| *n >= 1 && *n < usize::MAX),
        Term::BigInt(b) => b.to_string().parse::<usize>().ok().filter(|n| *n >= 1 && *n < usize::MAX),
        _ => None,
    };
    match t {
        Term::Atom(a) if a.name() == "disabled" => Some(BusyLimits::Disabled),
        Term::Tuple(lh) if lh.len() == 2 => Some(BusyLimits::Limits(limit(&lh[0])?, limit(&lh[1])?)),
        _ => None,
    }
}

fn limits(t: &Term) -> Option<Vec<Limit>> {
    let Term::List(items) = t else { return None };
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let Term::Tuple(kv) = item else { return None };
        let [Term::Atom(k), Term::Int(n)] = &kv[..] else { return None };
        let n = u64::try_from(*n).ok()?;
        out.push(match k.name() {
            "memory" => Limit::Memory(n),
            "cpu" => Limit::Cpu(n),
            "nofile" => Limit::Nofile(n),
            "nproc" => Limit::Nproc(n),
            "fsize" => Limit::Fsize(n),
            "core" => Limit::Core(n),
            _ => return None,
        });
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(text: &str) -> Term {
        Term::string(text)
    }
    fn a(name: &str) -> Term {
        Term::atom(name)
    }
    fn t2(x: Term, y: Term) -> Term {
        Term::Tuple(vec![x, y])
    }
    fn spawn(cmd: &str) -> Term {
        t2(a("spawn"), s(cmd))
    }
    fn exe(file: &str) -> Term {
        t2(a("spawn_executable"), s(file))
    }
    fn err(name: &Term, opts: &[Term]) -> String {
        match ExternalSpec::parse(name, opts) {
            Ok(_) => "opened".into(),
            Err(e) => e.to_exception().1.to_string(),
        }
    }

    /// The answers of OTP 25 for the same calls (probed with erlrun.escript;
    /// `tests/scripts_external/ext_opts.erl` keeps them as a script).
    #[test]
    fn options_as_erts_judges_them() {
        let cat = spawn("cat");
        let i = Term::Int;
        let cases: Vec<(Term, Vec<Term>, &str)> = vec![
            (cat.clone(), vec![t2(a("packet"), i(3))], "badarg"),
            (cat.clone(), vec![t2(a("packet"), i(0))], "badarg"),
            (cat.clone(), vec![t2(a("line"), i(0))], "badarg"),
            (cat.clone(), vec![t2(a("line"), i(-1))], "badarg"),
            (cat.clone(), vec![t2(a("line"), i(1 << 40))], "opened"),
            (cat.clone(), vec![t2(a("line"), i(1 << 59))], "badarg"),
            (cat.clone(), vec![t2(a("packet"), i(2)), t2(a("line"), i(5))], "badarg"),
            (cat.clone(), vec![t2(a("line"), i(5)), t2(a("packet"), i(2))], "badarg"),
            (cat.clone(), vec![t2(a("packet"), i(2)), t2(a("line"), i(5)), a("stream")], "opened"),
            (cat.clone(), vec![t2(a("args"), Term::List(vec![s("a")]))], "badarg"),
            (cat.clone(), vec![t2(a("arg0"), s("a"))], "badarg"),
            (cat.clone(), vec![t2(a("env"), Term::List(vec![t2(s("A=B"), s("1"))]))], "badarg"),
            (cat.clone(), vec![t2(a("env"), Term::List(vec![t2(s(""), s("1"))]))], "opened"),
            (cat.clone(), vec![t2(a("env"), Term::List(vec![t2(a("a"), s("1"))]))], "badarg"),
            (cat.clone(), vec![t2(a("env"), Term::List(vec![t2(s("A"), Term::binary(b"1"))]))], "badarg"),
            (cat.clone(), vec![t2(a("env"), Term::List(vec![t2(s("A"), i(1))]))], "badarg"),
            (cat.clone(), vec![t2(a("env"), Term::List(vec![t2(s("A"), a("false"))]))], "opened"),
            (cat.clone(), vec![t2(a("env"), a("bad"))], "badarg"),
            (cat.clone(), vec![t2(a("cd"), Term::binary(b"/tmp"))], "opened"),
            (cat.clone(), vec![t2(a("cd"), a("tmp"))], "opened"),
            (cat.clone(), vec![t2(a("parallelism"), a("foo"))], "badarg"),
            (cat.clone(), vec![t2(a("busy_limits_port"), t2(i(2000), i(1000)))], "opened"),
            (cat.clone(), vec![t2(a("busy_limits_port"), t2(i(0), i(1)))], "badarg"),
            (cat.clone(), vec![t2(a("busy_limits_msgq"), a("disabled"))], "opened"),
            (cat.clone(), vec![t2(a("exit_status"), a("true"))], "badarg"),
            (cat.clone(), vec![t2(a("hide"), a("true"))], "badarg"),
            (cat.clone(), vec![a("foo")], "badarg"),
            (spawn(""), vec![], "badarg"),
            (spawn("ca\0t"), vec![], "badarg"),
            (t2(a("spawn"), a("cat")), vec![], "opened"),
            (exe(""), vec![], "badarg"),
            (exe("/bin/cat"), vec![t2(a("args"), s("abc"))], "badarg"),
            (exe("/bin/cat"), vec![t2(a("args"), Term::List(vec![a("a"), Term::binary(b"b")]))], "opened"),
            (exe("/bin/cat"), vec![t2(a("args"), Term::List(vec![Term::List(vec![a("a")])]))], "badarg"),
            (exe("/bin/cat"), vec![t2(a("args"), Term::List(vec![s("a\0b")]))], "badarg"),
            (exe("/bin/cat"), vec![t2(a("arg0"), a("x"))], "opened"),
            (Term::Tuple(vec![a("fd"), i(0), i(1)]), vec![a("exit_status")], "badarg"),
            (Term::Tuple(vec![a("fd"), i(0), i(1)]), vec![t2(a("arg0"), s("x"))], "badarg"),
            (Term::Tuple(vec![a("fd"), i(0), i(1)]), vec![a("nouse_stdio"), t2(a("cd"), s("/"))], "opened"),
            (cat.clone(), vec![a("nouse_stdio"), a("stderr_to_stdout")], "badarg"),
            (Term::Tuple(vec![a("fd"), i(-1), i(2)]), vec![a("out")], "opened"),
            (Term::Tuple(vec![a("fd"), i(0), i(-1)]), vec![a("in")], "opened"),
            (Term::Tuple(vec![a("fd"), i(-1), i(2)]), vec![a("in")], "einval"),
            (Term::Tuple(vec![a("fd"), i(-1), i(1)]), vec![], "einval"),
            (Term::Tuple(vec![a("fd"), i(1 << 40), i(1)]), vec![], "einval"),
            (Term::Tuple(vec![a("fd"), a("a"), i(1)]), vec![], "badarg"),
            (t2(a("vanilla"), s("x")), vec![], "badarg"),
        ];
        for (name, opts, want) in cases {
            assert_eq!(err(&name, &opts), want, "open_port({name}, {})", Term::List(opts.clone()));
        }
    }

    #[test]
    fn beyond_erts_options() {
        let spec = ExternalSpec::parse(
            &spawn("cat"),
            &[
                t2(a("kill_timeout"), Term::Int(250)),
                a("stderr_messages"),
                t2(a("max_pending"), Term::Int(4)),
                t2(a("limits"), Term::List(vec![t2(a("memory"), Term::Int(1 << 30)), t2(a("cpu"), Term::Int(5))])),
            ],
        )
        .unwrap();
        assert_eq!(spec.kill_timeout, Some(Duration::from_millis(250)));
        assert_eq!(spec.stderr, StderrMode::Messages);
        assert_eq!(spec.max_pending, Some(4));
        assert_eq!(spec.limits, [Limit::Memory(1 << 30), Limit::Cpu(5)]);
        assert_eq!(err(&spawn("cat"), &[a("stderr_messages"), a("stderr_to_stdout")]), "badarg");
        assert_eq!(err(&spawn("cat"), &[t2(a("max_pending"), Term::Int(0))]), "badarg");
        assert_eq!(err(&spawn("cat"), &[t2(a("limits"), Term::List(vec![t2(a("stack"), Term::Int(1))]))]), "badarg");
    }

    #[test]
    fn filenames_and_env() {
        assert_eq!(filename(&Term::List(vec![s("/"), Term::List(vec![s("tmp")])])).unwrap(), b"/tmp");
        assert_eq!(filename(&Term::List(vec![Term::Int(233)])).unwrap(), "é".as_bytes());
        assert!(filename(&Term::List(vec![Term::Int(-1)])).is_none());
        let spec = ExternalSpec::parse(
            &spawn("cat"),
            &[t2(a("env"), Term::List(vec![t2(s("A"), s("")), t2(s("B"), a("false")), t2(s("C"), s("x"))]))],
        )
        .unwrap();
        assert_eq!(spec.env, [(b"A".to_vec(), None), (b"B".to_vec(), None), (b"C".to_vec(), Some(b"x".to_vec()))]);
        let deep = (0..1000).fold(Term::List(vec![]), |t, _| Term::List(vec![t]));
        assert_eq!(filename(&deep).unwrap(), b"");
    }

    #[test]
    fn in_and_out() {
        let p = |o: &[Term]| ExternalSpec::parse(&spawn("cat"), o).map(|s| (s.read, s.write)).unwrap();
        assert_eq!(p(&[]), (true, true));
        assert_eq!(p(&[a("in")]), (true, false));
        assert_eq!(p(&[a("out")]), (false, true));
        assert_eq!(p(&[a("in"), a("out")]), (true, true));
    }
}
