//! Differential tests against real ERTS: every case in
//! `testdata/erlrun.txt` is a one-line script with the output
//! `erlrun.escript` printed for it under Erlang/OTP 25 (`=> ` lines,
//! including the final `error: {Class,Reason}` line of a failing script).
//! The evaluator runs each case over [`MockRuntime`] (a mailbox,
//! `self()`/`!` and a `spawn` that runs the new process to its end at once)
//! and must print the same lines.
//!
//! The expectations are never edited by hand: with `PORTHOST_BLESS=1` the
//! test reruns every case under `escript` (the runner is
//! `$PORTHOST_ERLRUN`, by default `../shared/erlrun.escript` next to the
//! crate) and rewrites the file. Cases must not print pids, ports or refs,
//! whose numbers differ.

use std::collections::VecDeque;
use std::time::Duration;

use super::{decode_latin1, parse_script, run_script, Exception, ProcessBody, Runtime, SpawnOptions};
use crate::term::{Atom, Pid, Ref, Term};

const CASES: &str = include_str!("testdata/erlrun.txt");

/// A runtime without threads: a mailbox, `self()` and `!`/`erlang:send/2`.
/// `receive` never blocks: with no matching message it times out at once,
/// and panics if asked to wait forever. `spawn` runs the new process to
/// its end before it returns, over a `MockRuntime` of its own; what that
/// process sends to others is delivered when it ends, then the `'DOWN'`
/// message of `spawn_monitor`, and its exit reason is kept in `exits`
/// (links are not modelled).
pub(crate) struct MockRuntime {
    pub(crate) mailbox: VecDeque<Term>,
    pub(crate) me: Pid,
    /// Messages for other processes: destination and message.
    pub(crate) outbox: Vec<(Pid, Term)>,
    /// The exit reasons of the processes spawned, in order.
    pub(crate) exits: Vec<(Pid, Term)>,
}

impl MockRuntime {
    pub(crate) fn new() -> MockRuntime {
        MockRuntime::with_pid(Pid(42))
    }

    fn with_pid(me: Pid) -> MockRuntime {
        MockRuntime { mailbox: VecDeque::new(), me, outbox: Vec::new(), exits: Vec::new() }
    }
}

impl Runtime for MockRuntime {
    fn call(&mut self, module: Atom, name: Atom, args: Vec<Term>) -> Result<Term, Exception> {
        match (module.name(), name.name(), args.as_slice()) {
            ("erlang", "self", []) => Ok(Term::Pid(self.me)),
            ("erlang", "send", [dest, msg]) => match dest {
                Term::Pid(p) => {
                    if *p == self.me {
                        self.mailbox.push_back(msg.clone());
                    } else {
                        self.outbox.push((*p, msg.clone()));
                    }
                    Ok(msg.clone())
                }
                _ => Err(Exception::badarg()),
            },
            _ => Err(Exception::error(Term::atom("undef"))),
        }
    }

    fn receive(
        &mut self,
        matches: &mut dyn FnMut(&Term) -> bool,
        timeout: Option<Duration>,
    ) -> Result<Option<Term>, Exception> {
        if let Some(i) = self.mailbox.iter().position(&mut *matches) {
            return Ok(self.mailbox.remove(i));
        }
        assert!(timeout.is_some(), "the script would wait forever");
        Ok(None)
    }

    fn check_signals(&mut self) -> Result<(), Exception> {
        Ok(())
    }

    fn spawn(&mut self, body: ProcessBody, opts: SpawnOptions) -> Result<(Pid, Option<Ref>), Exception> {
        let pid = Pid(self.me.0 + 1 + self.exits.len() as u32);
        let mut child = MockRuntime::with_pid(pid);
        let reason = match body(&mut child) {
            Ok(()) => Term::atom("normal"),
            Err(e) => e.exit_reason(),
        };
        self.exits.push((pid, reason.clone()));
        for (to, msg) in child.outbox {
            if to == self.me {
                self.mailbox.push_back(msg);
            } else {
                self.outbox.push((to, msg));
            }
        }
        let monitor = opts.monitor.then(|| Ref(1000 + pid.0 as u64));
        if let Some(r) = monitor {
            let down = [Term::atom("DOWN"), Term::Ref(r), Term::atom("process"), Term::Pid(pid), reason];
            self.mailbox.push_back(Term::tuple(down.to_vec()));
        }
        Ok((pid, monitor))
    }
}

/// Runs `src` as porthost does and returns its output lines.
pub(crate) fn run_lines(src: &str) -> Vec<String> {
    let forms = match parse_script(&decode_latin1(src.as_bytes())) {
        Ok(f) => f,
        Err(e) => return vec![format!("parse error: {e}")],
    };
    let mut out = Vec::new();
    let mut rt = MockRuntime::new();
    let r = run_script(&forms, &mut rt, &mut out);
    let mut text = String::from_utf8(out).expect("UTF-8 output");
    if let Err(e) = r {
        text.push_str(&format!("{e}\n"));
    }
    text.lines().map(str::to_string).collect()
}

struct Case {
    src: String,
    expect: Vec<String>,
}

fn cases() -> Vec<(Option<String>, Case)> {
    let mut out: Vec<(Option<String>, Case)> = Vec::new();
    for line in CASES.lines() {
        if let Some(e) = line.strip_prefix("=> ") {
            out.last_mut().expect("an expectation follows a case").1.expect.push(e.to_string());
        } else if line.starts_with("%%") || line.trim().is_empty() {
            out.push((Some(line.to_string()), Case { src: String::new(), expect: Vec::new() }));
        } else {
            out.push((None, Case { src: line.to_string(), expect: Vec::new() }));
        }
    }
    out
}

/// Reruns every case under ERTS and rewrites `testdata/erlrun.txt`.
fn bless() {
    let root = env!("CARGO_MANIFEST_DIR");
    let erlrun = std::env::var("PORTHOST_ERLRUN").unwrap_or_else(|_| format!("{root}/../shared/erlrun.escript"));
    let data = std::path::Path::new(root).join(std::path::Path::new(file!()).parent().unwrap()).join("testdata/erlrun.txt");
    let tmp = std::env::temp_dir().join(format!("porthost-bless-{}.erl", std::process::id()));
    let mut text = String::new();
    for (comment, case) in cases() {
        if let Some(c) = comment {
            text.push_str(&c);
            text.push('\n');
            continue;
        }
        std::fs::write(&tmp, format!("{}\n", case.src)).unwrap();
        let out = std::process::Command::new("escript")
            .arg(&erlrun)
            .arg(&tmp)
            .stdin(std::process::Stdio::null())
            .output()
            .expect("running escript");
        text.push_str(&case.src);
        text.push('\n');
        // ERTS writes ~w's characters 128..255 as Latin-1 bytes.
        for l in decode_latin1(&out.stdout).lines() {
            text.push_str("=> ");
            text.push_str(l);
            text.push('\n');
        }
    }
    let _ = std::fs::remove_file(&tmp);
    std::fs::write(&data, text).unwrap();
}

#[test]
fn scripts_print_what_erts_prints() {
    if std::env::var_os("PORTHOST_BLESS").is_some() {
        bless();
        return;
    }
    let mut failures = Vec::new();
    let mut n = 0;
    for (comment, case) in cases() {
        if comment.is_some() {
            continue;
        }
        n += 1;
        let got = run_lines(&case.src);
        if got != case.expect {
            failures.push(format!("{}\n  ERTS:     {:?}\n  porthost: {:?}", case.src, case.expect, got));
        }
    }
    assert!(n > 200, "only {n} cases");
    assert!(failures.is_empty(), "{} of {n} cases differ:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn check_signals_runs_before_each_form_and_stops_the_script() {
    struct Killed(usize);
    impl Runtime for Killed {
        fn call(&mut self, _: Atom, _: Atom, _: Vec<Term>) -> Result<Term, Exception> {
            Err(Exception::error(Term::atom("undef")))
        }
        fn receive(&mut self, _: &mut dyn FnMut(&Term) -> bool, _: Option<Duration>) -> Result<Option<Term>, Exception> {
            Ok(None)
        }
        fn check_signals(&mut self) -> Result<(), Exception> {
            self.0 += 1;
            if self.0 == 3 {
                Err(Exception::exit(Term::tuple(vec![Term::atom("port_died"), Term::Int(1)])))
            } else {
                Ok(())
            }
        }
        fn spawn(&mut self, _: ProcessBody, _: SpawnOptions) -> Result<(Pid, Option<Ref>), Exception> {
            Err(Exception::error(Term::atom("undef")))
        }
    }
    let forms = parse_script("1. 2. 3. 4.").unwrap();
    let mut out = Vec::new();
    let e = run_script(&forms, &mut Killed(0), &mut out).unwrap_err();
    assert_eq!(String::from_utf8(out).unwrap(), "1\n2\n");
    assert_eq!(e.to_string(), "error: {exit,{port_died,1}}");
}

#[test]
fn session_keeps_bindings_only_from_forms_that_succeed() {
    let mut s = super::Session::new();
    let forms = parse_script("X = 1. Y = 2, X = 3. Y.").unwrap();
    let mut rt = MockRuntime::new();
    let mut out = Vec::new();
    assert_eq!(s.eval_form(&forms[0], &mut rt, &mut out).unwrap().to_string(), "1");
    let e = s.eval_form(&forms[1], &mut rt, &mut out).unwrap_err();
    assert_eq!(e.to_string(), "error: {error,{badmatch,3}}");
    assert!(s.binding("Y").is_none());
    let e = s.eval_form(&forms[2], &mut rt, &mut out).unwrap_err();
    assert_eq!(e.to_string(), "error: {error,{unbound,'Y'}}");
}

#[test]
fn receive_is_selective_and_keeps_other_messages_in_order() {
    let lines = run_lines(
        "self() ! {a, 1}, self() ! {b, 2}, self() ! {a, 3}. \
         receive {a, X} when X > 1 -> X end. \
         flush().",
    );
    assert_eq!(lines, ["{a,3}", "3", "Shell got {a,1}", "Shell got {b,2}", "ok"]);
}

#[test]
fn calls_go_to_the_runtime_with_erlang_as_module_for_bifs() {
    struct Recorder(Vec<String>);
    impl Runtime for Recorder {
        fn call(&mut self, m: Atom, f: Atom, args: Vec<Term>) -> Result<Term, Exception> {
            self.0.push(format!("{}:{}{}", m.name(), f.name(), Term::List(args)));
            Ok(Term::atom("ok"))
        }
        fn receive(&mut self, _: &mut dyn FnMut(&Term) -> bool, _: Option<Duration>) -> Result<Option<Term>, Exception> {
            Ok(None)
        }
        fn check_signals(&mut self) -> Result<(), Exception> {
            Ok(())
        }
        fn spawn(&mut self, _: ProcessBody, opts: SpawnOptions) -> Result<(Pid, Option<Ref>), Exception> {
            self.0.push(format!("spawn {opts:?}"));
            Ok((Pid(7), opts.monitor.then_some(Ref(1))))
        }
    }
    let forms = parse_script(
        "P = open_port({spawn, \"echo_drv\"}, [binary]), port_command(P, <<1>>), \
         port_control(P, 1, \"x\"), erlang:port_call(P, 2, t), erl_ddll:load(\".\", echo_drv), \
         process_flag(trap_exit, true), exit(P, kill), P ! hi, erlang:ports().",
    )
    .unwrap();
    let mut rt = Recorder(Vec::new());
    run_script(&forms, &mut rt, &mut Vec::new()).unwrap();
    assert_eq!(
        rt.0,
        [
            "erlang:open_port[{spawn,[101,99,104,111,95,100,114,118]},[binary]]",
            "erlang:port_command[ok,<<1>>]",
            "erlang:port_control[ok,1,[120]]",
            "erlang:port_call[ok,2,t]",
            "erl_ddll:load[[46],echo_drv]",
            "erlang:process_flag[trap_exit,true]",
            "erlang:exit[ok,kill]",
            "erlang:send[ok,hi]",
            "erlang:ports[]",
        ]
    );
}

/// Bit syntax used to raise `{unsupported_bitstring, N}` for these; ERTS
/// builds and binds bitstrings (more cases in `testdata/erlrun.txt`).
#[test]
fn unaligned_bit_syntax_makes_bitstrings() {
    assert_eq!(run_lines("<<1:4>>."), ["<<1:4>>"]);
    assert_eq!(run_lines("<<X:4/bits, _/bits>> = <<1>>, X."), ["<<0:4>>"]);
}

#[test]
fn catch_and_make_ref() {
    assert_eq!(run_lines("catch 1 + a."), ["{'EXIT',{badarith,[]}}"]);
    let lines = run_lines("R = make_ref(), is_reference(R) andalso R =/= make_ref().");
    assert_eq!(lines, ["true"]);
}

/// A spawned process runs the fun with its own `self()` and bindings
/// captured from the spawner; its uncaught exception becomes its exit
/// reason as ERTS gives it (stack `[]`).
#[test]
fn spawned_funs_run_in_their_own_process() {
    let forms = parse_script(
        "P = self(), X = 20, spawn(fun() -> P ! {self(), X + 1} end), \
         spawn(fun() -> 1 + a end), spawn(fun() -> throw(t) end), spawn(fun() -> exit(e) end), \
         spawn(fun(_) -> ok end), spawn(erlang, exit, [mfa]), ok.",
    )
    .unwrap();
    let mut rt = MockRuntime::new();
    let mut out = Vec::new();
    run_script(&forms, &mut rt, &mut out).unwrap();
    assert_eq!(rt.mailbox.iter().map(|m| m.to_string()).collect::<Vec<_>>(), ["{<0.43.0>,21}"]);
    let reasons: Vec<String> = rt.exits.iter().map(|(_, r)| r.to_string()).collect();
    assert_eq!(reasons[..4], ["normal", "{badarith,[]}", "{{nocatch,t},[]}", "e"]);
    assert!(reasons[4].starts_with("{{badarity,{#Fun<erl_eval.42."), "{}", reasons[4]);
    assert_eq!(reasons[5], "mfa");
}

/// A fun that calls itself last, also from a `case`, `if`, `begin` or
/// `receive` clause, runs in constant stack (it overflowed the stack of a
/// spawned process after some ten thousand calls).
#[test]
fn tail_calls_run_in_constant_stack() {
    let lines = run_lines(
        "L = fun F(0) -> done; F(N) -> case N rem 3 of 0 -> F(N - 1); 1 -> if N > 0 -> begin F(N - 1) end end; \
         _ -> self() ! N, receive N -> F(N - 1) end end end, L(200000).",
    );
    assert_eq!(lines, ["done"]);
    let lines = run_lines("C = fun Count(N) -> receive _ -> Count(N + 1) after 0 -> N end end, [self() ! x || _ <- lists:seq(1, 50000)], C(0).");
    assert_eq!(lines, ["50000"]);
}

/// porthost cannot encode a closure (ERTS can): `term_to_binary/1` and
/// `port_call` raise `badarg` for one, anywhere in the term.
#[test]
fn term_to_binary_of_a_closure_is_badarg() {
    assert_eq!(run_lines("term_to_binary(fun() -> ok end)."), ["error: {error,badarg}"]);
    assert_eq!(run_lines("term_to_binary({a, [fun(X) -> X end]})."), ["error: {error,badarg}"]);
    assert_eq!(run_lines("byte_size(term_to_binary(fun erlang:abs/1))."), ["19"]);
}

#[test]
fn parse_errors_carry_positions() {
    assert_eq!(run_lines("X = .\n"), ["parse error: 1:5: syntax error before: '.'"]);
}
