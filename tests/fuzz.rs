//! `porthost fuzz`: the planted crashes of `tests/drivers/fuzz_target_drv.c`
//! are found within a bounded time, each minimized script reproduces its
//! crash under `porthost run --isolate`, and a driver that hangs or eats
//! memory does not stop the fuzzer (the watchdog and the worker limits end
//! its workers).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::{self, Header};

fn fuzz(driver_dir: &Path, name: &str, out: &Path, args: &[&str]) -> util::RunOutput {
    let _ = std::fs::remove_dir_all(out);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_porthost"));
    cmd.arg("--driver-path").arg(driver_dir).arg("fuzz").arg(name).arg("--out").arg(out).args(args);
    util::run_command(cmd, "porthost fuzz")
}

fn crash_scripts(out: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_str().unwrap().starts_with("crash-"))
        .collect();
    v.sort();
    v
}

/// The reason a crash script's header names: `%% porthost fuzz D: R at F`.
fn reason_of(script: &Path) -> String {
    let text = std::fs::read_to_string(script).unwrap();
    let first = text.lines().next().unwrap();
    let after = first.split_once(": ").unwrap().1;
    after.split(" at ").next().unwrap().to_owned()
}

// The fuzz runs stop at `--max-crashes`, in seconds on a quiet machine;
// their `--time` is only a cap, generous for a loaded CI machine (25 s was
// once too short for three misuses there).

#[test]
fn fuzz_finds_planted_crashes_and_their_scripts_reproduce_them() {
    let dir = util::drivers_dir(Header::Own);
    let out = util::tmp_dir().join("fuzz_target_out");
    let seeds = util::repo_dir().join("tests").join("fuzz");
    let seeds = seeds.to_str().unwrap();
    let run = fuzz(dir, "fuzz_target_drv", &out, &["--time", "120", "--max-crashes", "3", "--seed", "1", "--corpus", seeds]);
    assert_eq!(run.status, 3, "crashes make status 3:\n{}\n{}", run.stdout, run.stderr);
    let scripts = crash_scripts(&out);
    let mut reasons: Vec<String> = scripts.iter().map(|s| reason_of(s)).collect();
    reasons.sort();
    assert_eq!(
        reasons,
        ["{driver_crashed,sigabrt}", "{driver_crashed,sigsegv}", "{driver_crashed,sigsegv}"],
        "the three planted crashes:\n{}",
        run.stdout
    );
    for s in &scripts {
        let text = std::fs::read_to_string(s).unwrap();
        assert_eq!(text.lines().filter(|l| l.starts_with("port_") || l.starts_with("catch ")).count(), 1, "minimized to one operation: {text}");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_porthost"));
        cmd.arg("--isolate").arg("--driver-path").arg(dir).arg("run").arg(s);
        let rep = util::run_command(cmd, "porthost run --isolate");
        assert_eq!(rep.stdout.lines().last(), Some(reason_of(s).as_str()), "{} reproduces:\n{}\n{}", s.display(), rep.stdout, text);
    }
}

#[test]
fn fuzz_survives_a_driver_that_hangs_and_one_that_eats_memory() {
    let out = util::tmp_dir().join("fuzz_hostile_out");
    let run = fuzz(
        util::drivers_dir(Header::Own),
        "fuzz_hostile_drv",
        &out,
        &["--time", "60", "--ops", "control", "--hang-ms", "300", "--memory-mb", "512", "--max-crashes", "2"],
    );
    assert_eq!(run.status, 3, "{}\n{}", run.stdout, run.stderr);
    let reasons: Vec<String> = crash_scripts(&out).iter().map(|s| reason_of(s)).collect();
    assert!(reasons.iter().any(|r| r == "{driver_timeout,_}"), "the hang: {reasons:?}\n{}", run.stdout);
    assert!(reasons.iter().any(|r| r == "{driver_crashed,sigabrt}"), "the allocation failure: {reasons:?}\n{}", run.stdout);
    // It went on after each: more executions than crashes.
    let execs: u64 = run.stdout.split_whitespace().nth(2).and_then(|n| n.parse().ok()).unwrap_or(0);
    assert!(execs > 20, "{}", run.stdout);
}

#[test]
fn fuzz_uses_coverage_of_a_driver_built_for_it() {
    // fuzz_target_drv with GCC's (or clang's) coverage callbacks.
    let dir = util::tmp_dir().join("fuzz_cov_drivers");
    std::fs::create_dir_all(&dir).unwrap();
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_owned());
    let src = util::repo_dir().join("tests").join("drivers").join("fuzz_target_drv.c");
    let status = Command::new(&cc)
        .args(["-shared", "-fPIC", "-O2", "-fsanitize-coverage=trace-pc,trace-cmp"])
        .arg(format!("-I{}", util::repo_dir().join("include").display()))
        .arg("-o")
        .arg(dir.join("fuzz_target_drv.so"))
        .arg(&src)
        .status()
        .unwrap();
    assert!(status.success(), "{cc} -fsanitize-coverage=trace-pc,trace-cmp");
    let out = util::tmp_dir().join("fuzz_cov_out");
    let run = fuzz(&dir, "fuzz_target_drv", &out, &["--time", "5", "--max-crashes", "3"]);
    let summary = run.stdout.lines().next().unwrap_or("");
    let edges: usize = summary
        .split("coverage: ")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(edges > 3, "coverage edges reported: {}\n{}", run.stdout, run.stderr);
}

#[test]
fn fuzz_with_check_counts_misuses_as_crashes() {
    let dir = util::drivers_dir(Header::Own);
    let out = util::tmp_dir().join("fuzz_check_out");
    let _ = std::fs::remove_dir_all(&out);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_porthost"));
    cmd.arg("--check").arg("--driver-path").arg(dir).arg("fuzz").arg("misuse_mem_drv").arg("--out").arg(&out);
    cmd.args(["--ops", "control", "--time", "120", "--max-crashes", "3"]);
    let run = util::run_command(cmd, "porthost --check fuzz");
    assert_eq!(run.status, 3, "{}\n{}", run.stdout, run.stderr);
    let scripts = crash_scripts(&out);
    let texts: Vec<String> = scripts.iter().map(|s| std::fs::read_to_string(s).unwrap()).collect();
    for what in ["misuse: driver_free: ", "misuse: driver_realloc: ", "(double free)"] {
        assert!(texts.iter().any(|t| t.contains(what)), "a crash script names {what}:\n{}", texts.join("\n"));
    }
    let first = &scripts[0];
    let mut rep = Command::new(env!("CARGO_BIN_EXE_porthost"));
    rep.env("PORTHOST_CHECK_ABORT", "1").arg("--check").arg("--isolate").arg("--driver-path").arg(dir).arg("run").arg(first);
    let rep = util::run_command(rep, "porthost --check run --isolate");
    assert_eq!(rep.stdout.lines().last(), Some("{driver_crashed,sigabrt}"), "{}\n{}", rep.stdout, rep.stderr);
}
