//! Builds the driver (the crate's cdylib) and runs it through porthost,
//! in-process and in an isolated worker (which needs the `porthost`
//! executable: on PATH, or named by $PORTHOST_WORKER).
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use porthost::testing::{build_cdylib, check_script, TestHost};

/// target/debug/lib{{NAME}}.so, built once per test run.
fn driver() -> &'static Path {
    static SO: OnceLock<PathBuf> = OnceLock::new();
    SO.get_or_init(|| build_cdylib(env!("CARGO_MANIFEST_DIR")))
}

fn echo_and_control(isolated: bool) {
    let host = TestHost::for_driver(driver(), isolated);
    let port = host.open("{{NAME}}", &["binary"]);
    port.command("hello");
    port.expect_data(b"hello");
    assert_eq!(port.control(0, "shout"), b"SHOUT");
    assert!(port.call(1, &porthost::Term::atom("x")).is_err());
    port.close();
}

#[test]
fn echoes_in_process() {
    echo_and_control(false);
}

#[test]
fn echoes_isolated() {
    echo_and_control(true);
}

/// tests/{{NAME}}.erl gives tests/{{NAME}}.out (PORTHOST_BLESS=1 records it).
#[test]
fn script_gives_expected_output() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    check_script(dir.join("{{NAME}}.erl"), dir.join("{{NAME}}.out"), &TestHost::for_driver(driver(), false));
}
