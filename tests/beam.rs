//! porthost from a real BEAM (issue 17): the Erlang client
//! (`erlang/src/porthost.erl`) over a bridge and over distribution,
//! against local ERTS ports on the same driver.
//!
//! `tests/beam/beam_ops.erl` runs one sequence of port operations on
//! echo_drv through `erlang:open_port/2` and friends (the driver built
//! against OTP's header) and through `porthost:*`, printing each result
//! with handles and pids normalised: the outputs must be equal. Other modes
//! of it cover crashes, disconnects and load. Every `erl` and `epmd` these
//! tests start is killed before the test returns.
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::util::{self, Header};

fn porthost_exe() -> &'static str {
    env!("CARGO_BIN_EXE_porthost")
}

/// The client and the test module, compiled with `erlc` once per run.
fn ebin() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = util::tmp_dir().join("beam_ebin");
        std::fs::create_dir_all(&dir).unwrap();
        let repo = util::repo_dir();
        let out = Command::new("erlc")
            .arg("-o")
            .arg(&dir)
            .arg(repo.join("erlang/src/porthost.erl"))
            .arg(repo.join("tests/beam/beam_ops.erl"))
            .output()
            .expect("cannot run `erlc` (the tests need Erlang/OTP 25: erlang-nox)");
        assert!(out.status.success(), "erlc failed: {}", String::from_utf8_lossy(&out.stderr));
        dir
    })
}

/// `erl -noshell -pa EBIN [DIST...] -run beam_ops main ARGS...`, to its end.
fn beam_ops(dist: &[&str], args: &[&str]) -> util::RunOutput {
    let mut cmd = Command::new("erl");
    cmd.arg("-noshell").arg("-pa").arg(ebin()).args(dist).args(["-run", "beam_ops", "main"]).args(args);
    let out = util::run_command(cmd, "`erl` (the tests need Erlang/OTP 25: erlang-nox)");
    let stdout = util::strip_logger_reports(&out.stdout);
    assert!(
        out.status == 0 && !stdout.contains("FAILED"),
        "beam_ops {args:?} failed ({}):\n{stdout}\n{}",
        out.status,
        out.stderr
    );
    util::RunOutput { stdout, ..out }
}

fn local_erts() -> String {
    let dir = util::bundled_dir(Header::Otp).to_str().unwrap().to_owned();
    beam_ops(&[], &["local", &dir]).stdout
}

#[test]
fn the_bridge_answers_as_local_erts_ports() {
    let expected = local_erts();
    let got = beam_ops(&[], &["bridge", porthost_exe()]).stdout;
    assert_eq!(got, expected, "{}", util::line_diff(&expected, &got));
}

#[test]
fn an_isolated_crash_over_the_bridge_is_an_exit_reason() {
    let dir = util::drivers_dir(Header::Own).to_str().unwrap().to_owned();
    let out = beam_ops(&[], &["crash", porthost_exe(), &dir]).stdout;
    crash_lines(&out);
}

fn crash_lines(out: &str) {
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines,
        [
            "[104,101,97,108,116,104,121]",
            "{error,badarg}",
            // What the driver sent before it crashed arrives first.
            "{'P',{data,[98,101,102,111,114,101,32,115,101,103,118]}}",
            "{'EXIT','P',{driver_crashed,sigsegv}}",
            "undefined",
            "[115,116,105,108,108,32,104,101,114,101]",
            "{down,{driver_crashed,sigabrt}}",
        ],
        "{out}"
    );
}

#[test]
fn a_stopped_bridge_gives_each_owner_noconnection() {
    let out = beam_ops(&[], &["disconnect", porthost_exe()]).stdout;
    disconnect_lines(&out);
    assert!(out.ends_with("porthost_exited\n"), "{out}");
}

fn disconnect_lines(out: &str) {
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        &lines[..4],
        [
            "ready",
            "[noconnection,noconnection,noconnection]",
            "{down,noconnection}",
            "[{error,badarg},{error,badarg},{error,badarg}]",
        ],
        "{out}"
    );
}

/// A child process killed (and reaped) when dropped.
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Reads lines of `child`'s output until one starts with `prefix`.
fn line_starting(out: &mut impl BufRead, prefix: &str) -> String {
    let mut line = String::new();
    loop {
        line.clear();
        assert!(out.read_line(&mut line).unwrap() > 0, "output ended before a line starting {prefix}");
        if line.starts_with(prefix) {
            return line.trim_end().to_owned();
        }
    }
}

fn alive(pid: u32) -> bool {
    // A zombie has exited: its state letter is Z.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| s.rsplit_once(')').is_none_or(|(_, rest)| !rest.trim_start().starts_with('Z')))
        .unwrap_or(false)
}

fn children_of(pid: u32) -> Vec<u32> {
    let mut v = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(p) = e.file_name().to_string_lossy().parse::<u32>() else { continue };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{p}/stat")) else { continue };
        let Some((_, rest)) = stat.rsplit_once(')') else { continue };
        if rest.split_whitespace().nth(1).and_then(|x| x.parse::<u32>().ok()) == Some(pid) {
            v.push(p);
        }
    }
    v
}

fn wait_until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let end = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < end, "{what} within {limit:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn the_bridge_and_its_workers_die_with_their_beam_node() {
    let dir = util::drivers_dir(Header::Own).to_str().unwrap().to_owned();
    let mut erl = Reaped(
        Command::new("erl")
            .arg("-noshell")
            .arg("-pa")
            .arg(ebin())
            .args(["-run", "beam_ops", "main", "hold", porthost_exe(), &dir])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .expect("cannot run `erl`"),
    );
    let mut out = BufReader::new(erl.0.stdout.take().unwrap());
    let line = line_starting(&mut out, "{os_pid,");
    let pid: u32 = line.trim_start_matches("{os_pid,").trim_end_matches('}').parse().unwrap();
    let workers = children_of(pid);
    assert!(!workers.is_empty(), "the isolated port has a worker");
    // SIGKILL: the node has no chance to close anything.
    erl.0.kill().unwrap();
    erl.0.wait().unwrap();
    wait_until("porthost exits with its node", Duration::from_secs(10), || !alive(pid));
    for w in workers {
        wait_until("the worker exits with porthost", Duration::from_secs(10), || !alive(w));
    }
}

#[test]
fn fifty_processes_drive_twenty_ports_each_over_one_bridge() {
    let t = Instant::now();
    let out = beam_ops(&[], &["load", porthost_exe(), "50", "20", "40"]).stdout;
    assert!(out.starts_with("{load,40000,0,[]}\n"), "{out}");
    assert!(t.elapsed() < Duration::from_secs(60), "took {:?}", t.elapsed());
}
