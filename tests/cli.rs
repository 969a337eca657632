//! The `porthost` command line: scripts, errors, the shell, --driver-path.
use std::io::Write;
use std::process::{Command, Stdio};

use crate::util::{drivers_dir, Header};

fn porthost() -> Command {
    Command::new(env!("CARGO_BIN_EXE_porthost"))
}

fn script(name: &str, text: &str) -> std::path::PathBuf {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn a_malformed_script_is_reported_with_line_and_column() {
    let path = script("bad.erl", "P = open_port({spawn_driver, \"echo_drv\"}, []).\nport_control(P, 0, \"hi\").\nX = .\n");
    let out = porthost().arg("run").arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty(), "nothing runs before the whole script parses");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("{}:3:5: syntax error before: '.'", path.display())), "{err}");
}

#[test]
fn the_example_runs_on_the_bundled_echo_driver() {
    let out = porthost().args(["run", concat!(env!("CARGO_MANIFEST_DIR"), "/examples/echo.erl")]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.starts_with("#Port<0.5>\n"), "{stdout}");
}

#[test]
fn no_busy_wait_gives_the_same_output() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/echo.erl");
    let spinning = porthost().args(["run", example]).output().unwrap();
    let sleeping = porthost().args(["--no-busy-wait", "run", example]).output().unwrap();
    assert!(sleeping.status.success(), "{}", String::from_utf8_lossy(&sleeping.stderr));
    assert_eq!(sleeping.stdout, spinning.stdout);
}

#[test]
fn an_uncaught_exception_prints_class_and_reason_and_exits_1() {
    let path = script("badarg.erl", "P = open_port({spawn_driver, \"echo_drv\"}, []).\nport_close(P).\nport_command(P, \"x\").\nnot_reached.\n");
    let out = porthost().arg("run").arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.ends_with("true\nerror: {error,badarg}\n"), "{stdout}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("is not an open port"), "the reason is on stderr: {err}");
}

/// porthost has no encoding for a local fun (ERTS passes one to the
/// driver): `port_call` refuses it with `badarg`, in-process and isolated;
/// the port stays usable.
#[test]
fn port_call_with_a_fun_inside_is_badarg_and_says_why() {
    let text = "P = open_port({spawn_driver, \"echo_drv\"}, []).\n\
                catch erlang:port_call(P, 0, {ok, [1, fun() -> x end]}).\n\
                erlang:port_call(P, 0, {ok, <<\"y\">>}).\n";
    let path = script("call_fun.erl", text);
    for isolate in [false, true] {
        let mut cmd = porthost();
        if isolate {
            cmd.arg("--isolate");
        }
        let out = cmd.arg("run").arg(&path).output().unwrap();
        let stdout = String::from_utf8(out.stdout).unwrap();
        assert!(stdout.ends_with("{'EXIT',{badarg,[]}}\n{ok,<<121>>}\n"), "isolated {isolate}: {stdout}");
    }
}

#[test]
fn driver_path_finds_drivers_by_name() {
    let path = script("probe.erl", "P = open_port({spawn_driver, \"probe_drv a b\"}, []).\nport_control(P, $c, \"\").\n");
    let out = porthost().arg("--driver-path").arg(drivers_dir(Header::Own)).arg("run").arg(&path).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8(out.stdout).unwrap().lines().nth(1), Some("[112,114,111,98,101,95,100,114,118,32,97,32,98]"));
    let out = porthost().arg("run").arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "without --driver-path, probe_drv is unknown");
}

#[test]
fn the_shell_evaluates_lines_from_stdin() {
    let mut child = porthost().arg("shell").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(b"X = 1 + 2.\nX *\n 2.\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("3\n") && stdout.contains("6\n"), "{stdout}");
}

fn shell_output(input: &str) -> String {
    let mut child = porthost().arg("shell").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn run_dash_reads_the_script_from_stdin() {
    let mut child =
        porthost().args(["run", "-"]).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(b"X = 6 * 7.\n\"ab\".\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "42\n[97,98]\n");
}

#[test]
fn run_pretty_prints_values_as_tilde_p() {
    let path = script("pretty.erl", "\"ab\".\n{ok, lists:seq(1, 30)}.\n");
    let out = porthost().args(["run", "--pretty"]).arg(&path).output().unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "\"ab\"\n{ok,[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,\n     28,29,30]}\n"
    );
}

#[test]
fn the_shell_prints_values_with_tilde_p_and_exceptions_as_erl() {
    let out = shell_output("\"hello\".\n1 + a.\nthrow(x).\n{a} = {b}.\nfoo:bar(1).\nq().\n");
    assert!(out.contains("\n\"hello\"\n"), "{out}");
    assert!(out.contains("** exception error: an error occurred when evaluating an arithmetic expression\n"), "{out}");
    assert!(out.contains("** exception throw: x\n"), "{out}");
    assert!(out.contains("** exception error: no match of right hand side value {b}\n"), "{out}");
    assert!(out.contains("** exception error: undefined function foo:bar/1\n"), "{out}");
}

#[test]
fn the_shell_explains_each_failure_once() {
    let out = shell_output("open_port({spawn_driver, \"nope_drv\"}, []).\n1 + a.\n");
    assert!(out.contains("** exception error: bad argument\n     porthost: no driver \"nope_drv\""), "{out}");
    // The next failure has no explanation of its own: none is printed.
    assert_eq!(out.matches("porthost:").count(), 1, "{out}");
}

#[test]
fn the_shell_repeats_values_and_lists_history() {
    let out = shell_output("a.\nb.\nv(1).\nv(-1).\nh().\n");
    assert!(out.contains("a\nb\na\na\n1: a.\n2: b.\n3: v(1).\n4: v(-1).\nok\n"), "{out}");
}

/// The shell in a real terminal (a tmux pane): numbered prompts, a
/// continued expression, ~p values, an exception as erl words it, v(N).
/// Skipped when tmux is not installed.
#[test]
fn the_shell_under_a_terminal_numbers_prompts_and_prints_as_erl() {
    if Command::new("tmux").arg("-V").output().is_err() {
        eprintln!("tmux is not installed: skipped");
        return;
    }
    let sock = format!("porthost-cli-{}", std::process::id());
    let tmux = |args: &[&str]| Command::new("tmux").arg("-L").arg(&sock).args(args).output().unwrap();
    let bin = env!("CARGO_BIN_EXE_porthost");
    tmux(&["new-session", "-d", "-s", "t", "-x", "100", "-y", "40", bin, "shell"]);
    let screen = || String::from_utf8_lossy(&tmux(&["capture-pane", "-p", "-t", "t"]).stdout).into_owned();
    // Up to 30 s: a loaded machine is slow to start the shell.
    let wait_for = |what: &str| {
        for _ in 0..600 {
            if screen().contains(what) {
                return true;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        false
    };
    let mut ok = wait_for("1>");
    // Each line once the shell shows the prompt it answers.
    for (keys, then) in [("\"hello\".", "2>"), ("X = [1,", "2> X = [1,\n2>"), ("2].", "3>"), ("1 + a.", "4>"), ("v(1).", "5>")] {
        tmux(&["send-keys", "-t", "t", "-l", keys]);
        tmux(&["send-keys", "-t", "t", "Enter"]);
        ok &= wait_for(then);
    }
    ok &= wait_for("4> v(1).\n\"hello\"\n5>");
    let shown = screen();
    tmux(&["kill-server"]);
    assert!(ok, "{shown}");
    assert!(shown.contains("1> \"hello\".\n\"hello\"\n2> X = [1,\n"), "{shown}");
    assert!(shown.contains("[1,2]\n3> 1 + a.\n** exception error: an error occurred when evaluating an arithmetic expression\n4> v(1)."), "{shown}");
}
