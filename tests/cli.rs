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
