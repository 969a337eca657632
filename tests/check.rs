//! The driver checker (`porthost run --check`) and the trace (`--trace`,
//! `trace-to-script`).
//!
//! Each deliberately broken driver (`tests/drivers/misuse_*.c`) must be
//! caught, with the right `erl_driver` function named, and the run must end
//! with status 3; every differential script must run clean (no false
//! positives) and print what ERTS prints. Traces of known scripts are
//! compared with golden files in `tests/golden/` (`PORTHOST_BLESS=1`
//! rewrites them).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::differential;
use crate::util::{self, Header};

/// Writes `text` as script `name` in this run's scratch space.
fn script(name: &str, text: &str) -> PathBuf {
    let dir = util::tmp_dir().join("check");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}.erl"));
    std::fs::write(&path, text).unwrap();
    path
}

fn run_checked(script: &Path, header: Header, env: &[(&str, &str)]) -> util::RunOutput {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_porthost"));
    cmd.arg("--check").arg("--driver-path").arg(util::drivers_dir(header)).arg("run").arg(script);
    for (k, v) in env {
        cmd.env(k, v);
    }
    util::run_command(cmd, "porthost --check")
}

/// Runs `text` under `--check` with the test drivers of both headers and
/// asserts status 3 and, for each `(function, words)`, a `misuse:` line
/// naming the function and containing the words.
fn expect_misuses(name: &str, text: &str, expected: &[(&str, &str)], env: &[(&str, &str)]) {
    let path = script(name, text);
    for header in [Header::Own, Header::Otp] {
        let out = run_checked(&path, header, env);
        let misuses: Vec<&str> = out.stderr.lines().filter(|l| l.starts_with("misuse: ")).collect();
        for (func, words) in expected {
            let prefix = format!("misuse: {func}: ");
            assert!(
                misuses.iter().any(|l| l.starts_with(&prefix) && l.contains(words)),
                "{name} ({header:?}): no `{prefix}... {words} ...` line; stderr:\n{}",
                out.stderr
            );
        }
        assert_eq!(out.status, 3, "{name} ({header:?}): status; stderr:\n{}", out.stderr);
    }
}

#[test]
fn misuse_of_ports_threads_and_time() {
    expect_misuses(
        "misuse_port",
        "P = open_port({spawn_driver, \"misuse_port_drv\"}, []).\n\
         port_control(P, $n, \"\").\n\
         port_control(P, $t, \"\").\n\
         port_control(P, $q, \"\").\n\
         port_close(P).\n\
         Q = open_port({spawn_driver, \"misuse_port_drv\"}, []).\n\
         port_control(Q, $d, \"\").\n\
         port_control(Q, $s, \"\").\n\
         port_control(Q, $r, \"\").\n\
         port_close(Q).\n\
         R = open_port({spawn_driver, \"misuse_port_drv\"}, []).\n\
         port_control(R, $a, \"\").\n\
         port_close(R).\n",
        &[
            ("driver_output", "is not a port handle"),
            ("driver_output", "is dead"),
            ("driver_output", "from a thread that runs no callback"),
            ("driver_enq", "does not hold the port's data lock"),
            ("driver_failure_atom", "called from stop"),
            ("control", "far past a timeslice"),
            ("driver_async", "still queued or running after its stop"),
        ],
        &[("PORTHOST_CHECK_SLICE_MS", "50")],
    );
}

#[test]
fn misuse_of_binaries() {
    expect_misuses(
        "misuse_bin",
        "P = open_port({spawn_driver, \"misuse_bin_drv\"}, []).\n\
         port_control(P, $f, \"\").\n\
         port_control(P, $u, \"\").\n\
         port_control(P, $U, \"\").\n\
         port_control(P, $l, \"\").\n\
         port_control(P, $b, \"\").\n\
         port_control(P, $B, \"\").\n\
         port_close(P).\n",
        &[
            ("driver_free_binary", "double free"),
            ("driver_binary_inc_refc", "use after free"),
            ("driver_free_binary", "underflows"),
            ("driver_alloc_binary", "still referenced when the driver was unloaded"),
            ("control", "driver_alloc'ed buffer in binary mode"),
            ("control", "ErlDrvBinary without PORT_CONTROL_FLAG_BINARY"),
        ],
        &[],
    );
}

#[test]
fn misuse_of_memory() {
    expect_misuses(
        "misuse_mem",
        "P = open_port({spawn_driver, \"misuse_mem_drv\"}, []).\n\
         port_control(P, $x, \"\").\n\
         port_control(P, $r, \"\").\n\
         port_control(P, $d, \"\").\n\
         port_control(P, $l, \"\").\n\
         port_close(P).\n",
        &[
            ("driver_free", "is not memory from driver_alloc"),
            ("driver_realloc", "is not memory from driver_alloc"),
            ("driver_free", "double free"),
            ("driver_alloc", "24 bytes"),
        ],
        &[],
    );
}

#[test]
fn misuse_of_select() {
    expect_misuses(
        "misuse_select",
        "P = open_port({spawn_driver, \"misuse_select_drv\"}, []).\n\
         port_control(P, $u, \"\").\n\
         port_control(P, $n, \"\").\n\
         port_control(P, $l, \"\").\n\
         port_close(P).\n",
        &[
            ("driver_select", "never selected with ERL_DRV_USE"),
            ("driver_select", "without a stop_select callback"),
            ("driver_select", "still selected for ERL_DRV_READ after stop"),
        ],
        &[],
    );
}

#[test]
fn misuse_of_mutexes_and_term_specs() {
    expect_misuses(
        "misuse_lock",
        "P = open_port({spawn_driver, \"misuse_lock_drv\"}, []).\n\
         port_control(P, $u, \"\").\n\
         port_control(P, $d, \"\").\n\
         port_control(P, $o, \"\").\n\
         port_control(P, $m, \"\").\n\
         port_close(P).\n",
        &[
            ("erl_drv_mutex_unlock", "does not own it"),
            ("erl_drv_mutex_destroy", "destroyed while locked"),
            ("erl_drv_mutex_lock", "lock-order inversion"),
            ("erl_drv_output_term", "at word 4 (ERL_DRV_TUPLE)"),
        ],
        &[],
    );
}

#[test]
fn misuse_report_carries_the_driver_backtrace() {
    let path = script("misuse_bt", "P = open_port({spawn_driver, \"misuse_mem_drv\"}, []).\nport_control(P, $x, \"\").\n");
    let out = run_checked(&path, Header::Own, &[]);
    let lines: Vec<&str> = out.stderr.lines().collect();
    let i = lines.iter().position(|l| l.starts_with("misuse: driver_free:")).expect("a driver_free misuse");
    assert!(lines[i + 1..].iter().take(4).any(|l| l.trim_start() == "at mm_control"), "{}", out.stderr);
}

/// Differential scripts that break the contract on purpose (they test what
/// ERTS does then), and why; every other script must run clean.
const DELIBERATE: &[(&str, &str)] = &[
    ("term_bad_spec", "sends malformed term specs on purpose"),
    ("select_close", "closes ports with descriptors still selected (ERTS's \"driver gone away without deselecting\")"),
    ("select_pipe", "releases with ERL_DRV_USE descriptors it never selected with it"),
    ("ports_pdl_thread", "dequeues for seconds inside one control, racing a driver thread"),
    ("ports_init_ack", "init_ack_drv leaks its state when erl_drv_init_ack reports an error (stop gets the error value)"),
];

#[test]
fn differential_scripts_are_clean_under_check() {
    let mut names: Vec<String> = std::fs::read_dir(differential::scripts_dir())
        .unwrap()
        .filter_map(|e| {
            let p = e.unwrap().path();
            (p.extension()? == "erl").then(|| p.file_stem().unwrap().to_str().unwrap().to_owned())
        })
        .filter(|n| !DELIBERATE.iter().any(|(d, _)| d == n))
        .collect();
    names.sort();
    let failures = std::sync::Mutex::new(Vec::new());
    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(name) = names.get(i) else { break };
                let dir = differential::scripts_dir();
                let source = std::fs::read_to_string(dir.join(format!("{name}.erl"))).unwrap();
                let golden = std::fs::read_to_string(dir.join(format!("{name}.erts"))).unwrap_or_default();
                let path = differential::instantiate(name, "porthost_check", &source, Header::Own);
                // Timeslice reports measure wall time: on a loaded machine a
                // callback can be descheduled for long, so the limit here is
                // generous (the timeslice check has its own test).
                let out = run_checked(&path, Header::Own, &[("PORTHOST_CHECK_SLICE_MS", "5000")]);
                let got = differential::outcome_text(&out.stdout, out.status);
                // A script that differs from ERTS without --check (a known
                // difference, or a feature not here yet) is compared with
                // its plain run instead: --check must change nothing.
                let want = if got == golden {
                    golden
                } else {
                    let plain = util::porthost_run_full(&path, &["--driver-path", util::drivers_dir(Header::Own).to_str().unwrap()]);
                    differential::outcome_text(&plain.stdout, plain.status)
                };
                if out.stderr.contains("misuse: ") || got != want {
                    failures.lock().unwrap().push(format!(
                        "{name}: status {}\n{}\n{}",
                        out.status,
                        util::line_diff(&want, &got),
                        out.stderr.lines().take(12).collect::<Vec<_>>().join("\n")
                    ));
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap();
    assert!(failures.is_empty(), "under --check:\n{}", failures.join("\n\n"));
}

// ---- the trace ------------------------------------------------------------------

const TRACED: &str = "P = open_port({spawn_driver, \"echo_drv\"}, []).\n\
                      port_command(P, [\"hello\", $\\s, <<\"world\">>]).\n\
                      receive {P, {data, Data}} -> Data after 1000 -> timeout end.\n\
                      port_control(P, 0, \"control echo\").\n\
                      erlang:port_call(P, 0, {any, [term], <<\"at all\">>}).\n\
                      port_control(P, 1, \"now binary\").\n\
                      port_control(P, 0, lists:duplicate(40, $x)).\n\
                      port_close(P).\n";

/// A trace without what changes from run to run: times, thread numbers,
/// durations and addresses.
fn stable(trace: &str) -> String {
    let mut out = String::new();
    for line in trace.lines() {
        let mut it = line.splitn(3, ' ');
        let (_t, _th, rest) = (it.next().unwrap_or(""), it.next().unwrap_or(""), it.next().unwrap_or(""));
        let rest = match rest.rfind(" (") {
            Some(i) if rest.ends_with("us)") => &rest[..i],
            _ => rest,
        };
        let mut s = String::new();
        let mut chars = rest.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            if c == '0' && rest[i..].starts_with("0x") {
                s.push_str("0xADDR");
                chars.next();
                while chars.peek().is_some_and(|(_, c)| c.is_ascii_hexdigit()) {
                    chars.next();
                }
            } else {
                s.push(c);
            }
        }
        out.push_str(&s);
        out.push('\n');
    }
    out
}

fn golden(name: &str, got: &str) {
    let path = util::repo_dir().join("tests").join("golden").join(name);
    if std::env::var_os("PORTHOST_BLESS").is_some() {
        std::fs::write(&path, got).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (PORTHOST_BLESS=1 writes it)", path.display()));
    assert!(want == got, "{} differs (- golden, + now):\n{}", path.display(), util::line_diff(&want, got));
}

fn traced_run(script: &Path, trace: &Path, extra: &[&str]) -> util::RunOutput {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_porthost"));
    cmd.arg("--trace").arg(trace).args(extra).arg("run").arg(script);
    util::run_command(cmd, "porthost --trace")
}

#[test]
fn trace_of_echo_matches_golden() {
    let path = script("trace_echo", TRACED);
    let trace = util::tmp_dir().join("check").join("trace_echo.trace");
    let out = traced_run(&path, &trace, &[]);
    assert_eq!(out.status, 0, "{}", out.stderr);
    golden("trace_echo.txt", &stable(&std::fs::read_to_string(&trace).unwrap()));
}

#[test]
fn json_trace_of_echo_matches_golden() {
    let path = script("trace_echo_json", TRACED);
    let trace = util::tmp_dir().join("check").join("trace_echo.jsonl");
    let out = traced_run(&path, &trace, &["--trace-json"]);
    assert_eq!(out.status, 0, "{}", out.stderr);
    let text = std::fs::read_to_string(&trace).unwrap();
    // Times, threads and durations go; the rest is compared.
    let mut lines = String::new();
    for l in text.lines() {
        assert!(l.starts_with("{\"t\":") && l.ends_with('}'), "not a JSON object: {l}");
        let l = l.split_once(",\"thread\":").map_or(l, |(_, r)| r);
        let l = l.split_once(',').map_or(l, |(_, r)| r);
        let l = l.split(",\"us\":").next().unwrap_or(l);
        lines.push_str(l);
        lines.push('\n');
    }
    golden("trace_echo.jsonl", &stable_addresses(&lines));
}

fn stable_addresses(s: &str) -> String {
    stable(&s.lines().map(|l| format!("t th {l}\n")).collect::<String>())
}

#[test]
fn trace_to_script_replays_the_port_operations() {
    let path = script("trace_replay", TRACED);
    let trace = util::tmp_dir().join("check").join("trace_replay.trace");
    let out = traced_run(&path, &trace, &["--trace-full"]);
    assert_eq!(out.status, 0, "{}", out.stderr);
    let conv = util::run_command(
        {
            let mut c = Command::new(env!("CARGO_BIN_EXE_porthost"));
            c.arg("trace-to-script").arg(&trace);
            c
        },
        "porthost trace-to-script",
    );
    assert_eq!(conv.status, 0, "{}", conv.stderr);
    golden("trace_echo_replay.erl", &conv.stdout);
    // The replay makes the same callbacks with the same arguments.
    let replay = script("trace_replayed", &conv.stdout);
    let trace2 = util::tmp_dir().join("check").join("trace_replayed.trace");
    let out2 = traced_run(&replay, &trace2, &["--trace-full"]);
    assert_eq!(out2.status, 0, "{}\n{}", out2.stdout, out2.stderr);
    let callbacks = |t: &str| -> Vec<String> {
        stable(t).lines().filter(|l| l.contains(" > ")).map(str::to_owned).collect()
    };
    assert_eq!(
        callbacks(&std::fs::read_to_string(&trace).unwrap()),
        callbacks(&std::fs::read_to_string(&trace2).unwrap())
    );
}
