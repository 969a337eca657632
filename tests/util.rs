//! Helpers shared by the integration tests: the C test drivers (built once
//! per test run), running a port script under real ERTS (`erlrun`) and under
//! `porthost run`, and normalising their output so the two can be compared.
//!
//! A missing tool (`cc`, `erl`, `escript`) makes the calling test fail with a
//! message naming the tool: the differential tests are the point of this
//! suite, so they are never skipped.
#![allow(dead_code)] // each test module uses its own subset

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// How long a script may run (under ERTS or porthost) before it is killed
/// and the test fails.
pub const SCRIPT_TIMEOUT: Duration = Duration::from_secs(60);

/// Which `erl_driver.h` a test driver was compiled against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Header {
    /// porthost's own header, `include/` in this repository.
    Own,
    /// OTP's header, `<code:root_dir()>/usr/include`.
    Otp,
}

/// The repository root (`CARGO_MANIFEST_DIR`).
pub fn repo_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `shared/`, which sits beside the repository (it holds `erlrun.escript`).
pub fn shared_dir() -> PathBuf {
    repo_dir().join("..").join("shared")
}

/// Scratch space of this test run: `CARGO_TARGET_TMPDIR`.
pub fn tmp_dir() -> &'static Path {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
}

/// OTP's root directory, as `code:root_dir()` reports it.
///
/// # Panics
/// If `erl` cannot be run.
pub fn otp_root() -> &'static Path {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        let out = Command::new("erl")
            .args(["-noshell", "-eval", r#"io:format("~s",[code:root_dir()]),halt()."#])
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| {
                panic!("cannot run `erl` ({e}): the tests need Erlang/OTP 25 (Debian: erlang-nox, erlang-dev)")
            });
        assert!(out.status.success(), "`erl` failed: {}", String::from_utf8_lossy(&out.stderr));
        PathBuf::from(String::from_utf8(out.stdout).expect("code:root_dir() is UTF-8"))
    })
}

/// OTP's include directory (`<root>/usr/include`), which holds the real
/// `erl_driver.h`.
///
/// # Panics
/// If `erl` cannot be run or the header is not there (install erlang-dev).
pub fn otp_include_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = otp_root().join("usr").join("include");
        assert!(
            dir.join("erl_driver.h").is_file(),
            "{} has no erl_driver.h: install OTP's headers (Debian: erlang-dev)",
            dir.display()
        );
        dir
    })
}

/// Where the drivers of one test run live.
struct DriverDirs {
    own: PathBuf,
    otp: PathBuf,
    bundled_own: PathBuf,
    bundled_otp: PathBuf,
}

/// A file named like a driver that is not a shared object, for erl_ddll's
/// open error (dlopen says "file too short": keep it under 64 bytes).
const NOT_SO_DRIVER: &str = "not_so_drv";

fn driver_dirs() -> &'static DriverDirs {
    static DIRS: OnceLock<DriverDirs> = OnceLock::new();
    DIRS.get_or_init(build_all_drivers)
}

/// The directory of the test drivers (`tests/drivers/*.c`) compiled against
/// `header`, plus `not_so_drv.so` (a text file). Built once per test run.
///
/// # Panics
/// If a driver does not compile, or `cc` (or, for [`Header::Otp`], `erl`)
/// is missing.
pub fn drivers_dir(header: Header) -> &'static Path {
    let dirs = driver_dirs();
    match header {
        Header::Own => &dirs.own,
        Header::Otp => &dirs.otp,
    }
}

/// The directory of the bundled drivers (`drivers/c/*.c`) compiled against
/// `header`. (The `porthost` binary finds its own build of them by name;
/// this copy is for `erl_ddll:load_driver` in scripts.)
pub fn bundled_dir(header: Header) -> &'static Path {
    let dirs = driver_dirs();
    match header {
        Header::Own => &dirs.bundled_own,
        Header::Otp => &dirs.bundled_otp,
    }
}

fn build_all_drivers() -> DriverDirs {
    let base = tmp_dir().join("drivers");
    let dirs = DriverDirs {
        own: base.join("own"),
        otp: base.join("otp"),
        bundled_own: base.join("bundled_own"),
        bundled_otp: base.join("bundled_otp"),
    };
    let own_inc = repo_dir().join("include");
    let otp_inc = otp_include_dir().to_path_buf();
    let tests = c_sources(&repo_dir().join("tests").join("drivers"));
    let bundled = c_sources(&repo_dir().join("drivers").join("c"));
    let mut jobs = Vec::new();
    for (sources, own_dir, otp_dir) in [
        (&tests, &dirs.own, &dirs.otp),
        (&bundled, &dirs.bundled_own, &dirs.bundled_otp),
    ] {
        for (dir, inc) in [(own_dir, &own_inc), (otp_dir, &otp_inc)] {
            std::fs::create_dir_all(dir).unwrap();
            for src in sources {
                jobs.push(spawn_cc(src, inc, dir));
            }
        }
    }
    let failures: Vec<String> = jobs.into_iter().filter_map(CcJob::wait).collect();
    assert!(failures.is_empty(), "compiling drivers failed:\n{}", failures.join("\n"));
    for dir in [&dirs.own, &dirs.otp] {
        std::fs::write(dir.join(format!("{NOT_SO_DRIVER}.so")), "this is not a shared object\n")
            .unwrap();
    }
    dirs
}

/// Compiles every `*.c` in `src_dir` against `header` into `out_dir` (one
/// `NAME.so` each), in parallel. A source may `#include "x.h"` from its own
/// directory. Call it once per test run (e.g. from a `OnceLock`).
///
/// # Panics
/// If a driver does not compile, or `cc` (or, for [`Header::Otp`], `erl`)
/// is missing.
pub fn build_drivers_from(src_dir: &Path, out_dir: &Path, header: Header) {
    let inc = match header {
        Header::Own => repo_dir().join("include"),
        Header::Otp => otp_include_dir().to_path_buf(),
    };
    std::fs::create_dir_all(out_dir).unwrap();
    let jobs: Vec<CcJob> = c_sources(src_dir).iter().map(|src| spawn_cc(src, &inc, out_dir)).collect();
    let failures: Vec<String> = jobs.into_iter().filter_map(CcJob::wait).collect();
    assert!(failures.is_empty(), "compiling drivers failed:\n{}", failures.join("\n"));
}

fn c_sources(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "c"))
        .collect();
    v.sort();
    v
}

/// One running compilation of a driver.
struct CcJob {
    src: PathBuf,
    tmp: PathBuf,
    so: PathBuf,
    child: std::process::Child,
}

fn spawn_cc(src: &Path, include: &Path, out_dir: &Path) -> CcJob {
    let name = src.file_stem().unwrap().to_str().unwrap();
    let so = out_dir.join(format!("{name}.so"));
    // Compile beside the target and rename, so that a concurrent test run
    // never loads a half-written file.
    let tmp = out_dir.join(format!("{name}.so.{}.tmp", std::process::id()));
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_owned());
    let child = Command::new(&cc)
        .args(["-shared", "-fPIC", "-O2", "-Wall", "-Werror"])
        .arg(format!("-I{}", include.display()))
        .arg("-o")
        .arg(&tmp)
        .arg(src)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run the C compiler `{cc}` ({e}): the tests build C drivers"));
    CcJob { src: src.to_path_buf(), tmp, so, child }
}

impl CcJob {
    /// Waits for the compiler; `Some(message)` if it failed.
    fn wait(self) -> Option<String> {
        let out = self.child.wait_with_output().unwrap();
        if !out.status.success() {
            return Some(format!(
                "{} -> {}:\n{}",
                self.src.display(),
                self.so.display(),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        std::fs::rename(&self.tmp, &self.so).unwrap();
        None
    }
}

/// What a script run printed.
#[derive(Debug)]
pub struct RunOutput {
    pub stdout: String,
    pub stderr: String,
    /// The exit code, or 128 + the signal number if it was killed.
    pub status: i32,
}

/// Runs `cmd`, killing it after [`SCRIPT_TIMEOUT`].
///
/// # Panics
/// If the program cannot be started (`what` names it in the message) or
/// times out.
pub fn run_command(mut cmd: Command, what: &str) -> RunOutput {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {what} ({e})"));
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out_reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        out.read_to_end(&mut v).map(|_| v)
    });
    let err_reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        err.read_to_end(&mut v).map(|_| v)
    });
    let deadline = Instant::now() + SCRIPT_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} did not finish within {SCRIPT_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let stdout = out_reader.join().unwrap().unwrap_or_default();
    let stderr = err_reader.join().unwrap().unwrap_or_default();
    RunOutput {
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
        status: exit_code(status),
    }
}

fn exit_code(status: ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status.code().unwrap_or_else(|| 128 + status.signal().unwrap_or(0))
}

/// Runs a port script under real ERTS with `../shared/erlrun.escript`.
/// Returns its stdout, minus ERTS's logger reports (see
/// [`strip_logger_reports`]), and its exit status.
///
/// # Panics
/// If `escript` or `erlrun.escript` is missing, or the run times out.
pub fn erlrun(script: &Path) -> (String, i32) {
    let out = erlrun_full(script);
    (out.stdout, out.status)
}

/// [`erlrun`] with stderr kept.
pub fn erlrun_full(script: &Path) -> RunOutput {
    let runner = shared_dir().join("erlrun.escript");
    assert!(
        runner.is_file(),
        "{} is missing: shared/ must sit beside the repository",
        runner.display()
    );
    let mut cmd = Command::new("escript");
    cmd.arg(&runner).arg(script);
    let mut out = run_command(cmd, "`escript` (the tests need Erlang/OTP 25: erlang-nox)");
    out.stdout = strip_logger_reports(&out.stdout);
    out
}

/// Runs `porthost run SCRIPT EXTRA_ARGS...` with the binary built for this
/// test run. Returns its stdout and exit status.
///
/// # Panics
/// If the binary cannot be started or the run times out.
pub fn porthost_run(script: &Path, extra_args: &[&str]) -> (String, i32) {
    let out = porthost_run_full(script, extra_args);
    (out.stdout, out.status)
}

/// [`porthost_run`] with stderr kept.
pub fn porthost_run_full(script: &Path, extra_args: &[&str]) -> RunOutput {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_porthost"));
    cmd.arg("run").arg(script).args(extra_args);
    run_command(cmd, "the porthost binary")
}

/// Removes the reports ERTS's logger prints on standard output, e.g.
///
/// ```text
/// =ERROR REPORT==== 21-Nov-2026::21:07:20.347294 ===
/// Bad value on output port 'probe_drv'
///
/// ```
///
/// They carry a timestamp and race with the script's end (a bad
/// `port_command` prints one, or not, before `halt/1`), so they are no part
/// of the compared output. A report runs from its `=... REPORT====` line to
/// the next empty line; the empty lines after it go too.
pub fn strip_logger_reports(out: &str) -> String {
    let mut kept = String::with_capacity(out.len());
    let mut in_report = false;
    let mut after_report = false;
    for line in out.split_inclusive('\n') {
        let text = line.trim_end_matches(['\n', '\r']);
        if text.starts_with('=') && text.contains(" REPORT====") {
            in_report = true;
            continue;
        }
        if in_report {
            if text.is_empty() {
                in_report = false;
                after_report = true;
            }
            continue;
        }
        if after_report && text.is_empty() {
            continue;
        }
        after_report = false;
        kept.push_str(line);
    }
    kept
}

/// Makes two runs' output comparable: the numbers in `#Port<0.N>` and in
/// `<0.N.0>` (pids) are renumbered 1, 2, ... in order of first appearance,
/// separately for ports and pids. Other text is unchanged.
pub fn normalize(out: &str) -> String {
    let mut ports: Vec<String> = Vec::new();
    let mut pids: Vec<String> = Vec::new();
    let mut res = String::with_capacity(out.len());
    let mut rest = out;
    while let Some(i) = rest.find('<') {
        let (before, at) = rest.split_at(i);
        res.push_str(before);
        let is_port = before.ends_with("#Port");
        if let Some((num, len)) = id_number(at, is_port) {
            let table = if is_port { &mut ports } else { &mut pids };
            let n = match table.iter().position(|s| s == num) {
                Some(p) => p + 1,
                None => {
                    table.push(num.to_owned());
                    table.len()
                }
            };
            if is_port {
                res.push_str(&format!("<0.{n}>"));
            } else {
                res.push_str(&format!("<0.{n}.0>"));
            }
            rest = &at[len..];
        } else {
            res.push('<');
            rest = &at[1..];
        }
    }
    res.push_str(rest);
    res
}

/// Parses `<0.N>` (a port, after `#Port`) or `<0.N.0>` (a pid) at the start
/// of `s`: the digits of N and the length of the whole token.
fn id_number(s: &str, port: bool) -> Option<(&str, usize)> {
    let body = s.strip_prefix("<0.")?;
    let digits = body.len() - body.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    if digits == 0 {
        return None;
    }
    let tail = if port { ">" } else { ".0>" };
    body[digits..].starts_with(tail).then(|| (&body[..digits], 3 + digits + tail.len()))
}

/// A readable line diff of `expected` against `actual` (`-` expected only,
/// `+` actual only, two-space indent for common lines; long runs of common
/// lines are elided): the one in `porthost::testing`.
pub fn line_diff(expected: &str, actual: &str) -> String {
    porthost::testing::line_diff(expected, actual)
}

/// Cuts very long lines (big binaries) so a diff stays readable.
fn shorten(line: &str) -> String {
    const MAX: usize = 400;
    if line.len() <= MAX {
        return line.to_owned();
    }
    let mut cut = MAX;
    while !line.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}... ({} bytes)", &line[..cut], line.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_renumbers_ports_and_pids_by_first_appearance() {
        let out = "#Port<0.7>\n{<0.80.0>,#Port<0.5>}\n[#Port<0.7>,<0.81.0>,<0.80.0>]\n<0.5> <1.2.3>";
        assert_eq!(
            normalize(out),
            "#Port<0.1>\n{<0.1.0>,#Port<0.2>}\n[#Port<0.1>,<0.2.0>,<0.1.0>]\n<0.5> <1.2.3>"
        );
    }

    #[test]
    fn strip_logger_reports_drops_report_blocks() {
        let out = "ok\n=ERROR REPORT==== 1-Jan-2026::00:00:00.0 ===\nBad value on output port 'x'\n\n\nerror: {error,badarg}\n";
        assert_eq!(strip_logger_reports(out), "ok\nerror: {error,badarg}\n");
    }

    #[test]
    fn line_diff_marks_changes() {
        let d = line_diff("a\nb\nc\n", "a\nx\nc\n");
        assert_eq!(d, "  a\n- b\n+ x\n  c\n");
    }
}
