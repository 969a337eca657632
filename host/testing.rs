//! Testing drivers from Rust: load a driver by path (or build the current
//! crate's `cdylib`), open ports, send, and assert on the messages they
//! send, with failures printed in Erlang notation; run a port script and
//! compare its output with a file.
//!
//! ```no_run
//! use porthost::testing::{build_cdylib, TestHost};
//!
//! // In a driver crate's tests/: build target/debug/libmy_drv.so first.
//! let so = build_cdylib(env!("CARGO_MANIFEST_DIR"));
//! for isolated in [false, true] {
//!     let host = TestHost::for_driver(&so, isolated);
//!     let port = host.open("my_drv", &["binary"]);
//!     port.command("ping");
//!     port.expect_data(b"ping");          // {#Port<0.5>,{data,<<"ping">>}}
//!     assert_eq!(port.control(0, "ok"), b"ok");
//!     port.close();
//! }
//! porthost::testing::check_script("tests/echo.erl", "tests/echo.out", &TestHost::for_driver(&so, false));
//! ```
//!
//! Loading in-process needs no link flags in the crate that uses this: the
//! library carries an API shim for drivers to link against (see
//! `host/kit/shim.rs`). An isolated host (`TestHost::for_driver(.., true)`)
//! runs drivers in a `porthost` worker process: it needs the `porthost`
//! executable (`$PORTHOST_WORKER`, else `porthost` on `PATH`, e.g. from
//! `cargo install porthost`).
//!
//! Every assertion here panics with a message that shows the terms as
//! Erlang prints them (`~p`-like: printable binaries as `<<"ok">>`), so a
//! failing test reads like an Erlang shell session.
#![deny(unsafe_code)]

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::script::{self, ProcessRuntime};
use crate::{Host, HostConfig, PortId, Process, Term};

/// How long [`TestPort::expect_data`] and friends wait for a message.
pub const WAIT: Duration = Duration::from_secs(10);

/// A host and one process (the test) that owns the ports it opens.
pub struct TestHost {
    host: Host,
    proc: Process,
    isolated: bool,
}

impl TestHost {
    /// A host set up by `config`; the test's process traps exits, so a
    /// port's end is a message (`{'EXIT', Port, Reason}`) the test can
    /// assert on. When `config` isolates drivers and names no
    /// `worker_exe`, the worker is `$PORTHOST_WORKER` or `porthost` on
    /// `PATH`.
    pub fn new(mut config: HostConfig) -> TestHost {
        let isolated = config.isolate;
        if config.worker_exe.is_none() {
            config.worker_exe = find_worker();
        }
        let host = Host::new(config);
        let proc = host.spawn_process();
        proc.set_trap_exit(true).expect("a new process is alive");
        TestHost { host, proc, isolated }
    }

    /// A host that finds the driver at `path` (`NAME.so` or cargo's
    /// `libNAME.so`) by its name, in-process or `isolated` in a worker.
    ///
    /// # Panics
    /// If `path` is not a file.
    pub fn for_driver(path: impl AsRef<Path>, isolated: bool) -> TestHost {
        let path = path.as_ref();
        assert!(path.is_file(), "no driver at {}", path.display());
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("."));
        TestHost::new(HostConfig::default().driver_paths(vec![dir]).isolate(isolated))
    }

    /// Whether drivers run in a worker process.
    pub fn is_isolated(&self) -> bool {
        self.isolated
    }

    /// The host.
    pub fn host(&self) -> &Host {
        &self.host
    }

    /// The test's process (owner of the ports [`open`](Self::open) opens).
    pub fn process(&self) -> &Process {
        &self.proc
    }

    /// `open_port({spawn_driver, Command}, Options)`, each option an atom
    /// (`"binary"`, `"eof"`, ...).
    ///
    /// # Panics
    /// If the port does not open (with ERTS's exception).
    pub fn open(&self, command: &str, options: &[&str]) -> TestPort<'_> {
        let opts: Vec<Term> = options.iter().map(|o| Term::atom(o)).collect();
        self.try_open(command, &opts).unwrap_or_else(|e| panic!("open_port({{spawn_driver, {command:?}}}, {options:?}) failed: {e}"))
    }

    /// `open_port({spawn_driver, Command}, Options)`.
    ///
    /// # Errors
    /// What `open_port/2` raises.
    pub fn try_open(&self, command: &str, options: &[Term]) -> Result<TestPort<'_>, crate::BifError> {
        let binary = options.iter().any(|o| o.is_atom("binary"));
        let id = self.proc.open_port_driver(command, options)?;
        Ok(TestPort { host: self, id, binary })
    }

    /// The next message, within [`WAIT`].
    ///
    /// # Panics
    /// If none arrives.
    pub fn receive(&self) -> Term {
        match self.proc.receive(Some(WAIT)) {
            Ok(Some(m)) => m,
            Ok(None) => panic!("no message within {WAIT:?}"),
            Err(e) => panic!("receive: {e}"),
        }
    }

    /// Asserts that no message arrives within `wait`.
    ///
    /// # Panics
    /// With the message, if one arrives.
    pub fn expect_no_message(&self, wait: Duration) {
        if let Ok(Some(m)) = self.proc.receive(Some(wait)) {
            panic!("expected no message, got {}", erl(&m));
        }
    }

    /// Asserts that the next message is `expected` (compared as Erlang
    /// terms, `==`).
    ///
    /// # Panics
    /// With both terms in Erlang notation.
    pub fn expect_message(&self, expected: &Term) {
        let got = self.receive();
        if &got != expected {
            panic!("expected message {}\n          got {}", erl(expected), erl(&got));
        }
    }
}

/// A port opened by [`TestHost::open`].
pub struct TestPort<'h> {
    host: &'h TestHost,
    id: PortId,
    binary: bool,
}

impl TestPort<'_> {
    /// The port's id (prints as `#Port<0.N>`).
    pub fn id(&self) -> PortId {
        self.id
    }

    /// `port_command(Port, Data)`.
    ///
    /// # Panics
    /// If it raises.
    pub fn command(&self, data: impl AsRef<[u8]>) {
        self.host.proc.port_command(self.id, &Term::binary(data.as_ref())).unwrap_or_else(|e| panic!("port_command: {e}"));
    }

    /// `port_control(Port, Op, Data)`, the answer's bytes.
    ///
    /// # Panics
    /// If it raises.
    pub fn control(&self, op: u32, data: impl AsRef<[u8]>) -> Vec<u8> {
        let t = self.host.proc.port_control(self.id, op, &Term::binary(data.as_ref())).unwrap_or_else(|e| panic!("port_control: {e}"));
        t.iolist_to_bytes().unwrap_or_else(|| panic!("port_control returned {}", erl(&t)))
    }

    /// `erlang:port_call(Port, Op, Term)`.
    ///
    /// # Errors
    /// What `erlang:port_call/3` raises.
    pub fn call(&self, op: u32, term: &Term) -> Result<Term, crate::BifError> {
        self.host.proc.port_call(self.id, op, term)
    }

    /// Asserts that the next message is `{Port, {data, Data}}` with these
    /// bytes (a binary in `binary` mode, else a list).
    ///
    /// # Panics
    /// With the expected and the received message in Erlang notation.
    pub fn expect_data(&self, data: &[u8]) {
        let payload = if self.binary { Term::binary(data) } else { Term::compact_byte_list(data) };
        let expected = Term::Tuple(vec![Term::Port(self.id), Term::Tuple(vec![Term::atom("data"), payload])]);
        self.host.expect_message(&expected);
    }

    /// Asserts that the port exits with `reason` (`{'EXIT', Port, Reason}`,
    /// the reason given as Erlang text such as `normal` or `driver_panic`).
    ///
    /// # Panics
    /// With the message received instead.
    pub fn expect_exit(&self, reason: &str) {
        let got = self.host.receive();
        let want = format!("{{'EXIT',{},{reason}}}", Term::Port(self.id));
        if got.to_string() != want {
            panic!("expected message {want}\n          got {}", erl(&got));
        }
    }

    /// `port_close(Port)`.
    ///
    /// # Panics
    /// If it raises (the port is gone).
    pub fn close(self) {
        self.host.proc.port_close(self.id).unwrap_or_else(|e| panic!("port_close: {e}"));
    }
}

/// `t` in Erlang notation, `~p`-like: printable binaries as `<<"ok">>` and
/// printable lists of bytes as `"ok"`; the rest as `~w` prints it.
pub fn erl(t: &Term) -> String {
    let mut s = String::new();
    write_erl(&mut s, t, 0);
    s
}

fn printable(b: &[u8]) -> bool {
    !b.is_empty() && b.iter().all(|&c| (0x20..0x7f).contains(&c) || c == b'\n' || c == b'\t')
}

fn quoted(b: &[u8]) -> String {
    let mut s = String::from("\"");
    for &c in b {
        match c {
            b'"' => s.push_str("\\\""),
            b'\\' => s.push_str("\\\\"),
            b'\n' => s.push_str("\\n"),
            b'\t' => s.push_str("\\t"),
            c => s.push(c as char),
        }
    }
    s.push('"');
    s
}

/// Nesting past this prints as `...` (input never sets the recursion
/// depth).
const MAX_DEPTH: usize = 64;

fn write_erl(s: &mut String, t: &Term, depth: usize) {
    if depth > MAX_DEPTH {
        s.push_str("...");
        return;
    }
    let seq = |s: &mut String, items: &[Term], open: &str, close: &str| {
        s.push_str(open);
        for (i, x) in items.iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            write_erl(s, x, depth + 1);
        }
        s.push_str(close);
    };
    match t {
        Term::Binary(ref b) if printable(b.as_slice()) => {
            let _ = write!(s, "<<{}>>", quoted(b.as_slice()));
        }
        Term::ByteList(ref b) if printable(b.as_slice()) => s.push_str(&quoted(b.as_slice())),
        Term::List(ref v) if !v.is_empty() && v.iter().all(|x| matches!(x, Term::Int(c) if (0x20..0x7f).contains(c))) => {
            let bytes: Vec<u8> = v.iter().map(|x| if let Term::Int(c) = x { *c as u8 } else { 0 }).collect();
            s.push_str(&quoted(&bytes));
        }
        Term::Tuple(ref v) => seq(s, v, "{", "}"),
        Term::List(ref v) => seq(s, v, "[", "]"),
        Term::Improper(ref v, ref tail) => {
            seq(s, v, "[", "|");
            write_erl(s, tail, depth + 1);
            s.push(']');
        }
        other => s.push_str(&other.to_string()),
    }
}

/// The output of a port script run: what `porthost run` prints, and its
/// exit status (0, or 1 after an uncaught exception).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptOutput {
    /// Standard output: one `~w` line per expression.
    pub stdout: String,
    /// 0, or 1 if the script ended with `error: ...`.
    pub status: i32,
}

/// Runs the port script `path` in a new process of `host`, as
/// `porthost run` does.
///
/// # Panics
/// If the file cannot be read.
pub fn run_script(path: impl AsRef<Path>, host: &TestHost) -> ScriptOutput {
    let path = path.as_ref();
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let src = script::decode_latin1(&bytes);
    let forms = match script::parse_script(&src) {
        Ok(f) => f,
        Err(e) => return ScriptOutput { stdout: format!("{}:{e}\n", path.display()), status: 1 },
    };
    let mut rt = ProcessRuntime::new(host.host.spawn_process());
    let mut out = Vec::new();
    let status = match script::run_script(&forms, &mut rt, &mut out) {
        Ok(()) => 0,
        Err(exc) => {
            out.extend_from_slice(format!("{exc}\n").as_bytes());
            1
        }
    };
    ScriptOutput { stdout: String::from_utf8_lossy(&out).into_owned(), status }
}

/// Runs the port script `script` and compares its output, normalised (see
/// [`normalize`]), with the file `expected`; with `PORTHOST_BLESS=1` in the
/// environment, writes the output to `expected` instead.
///
/// # Panics
/// With a line diff (`-` expected, `+` actual) when they differ, or if
/// `expected` is missing.
pub fn check_script(script: impl AsRef<Path>, expected: impl AsRef<Path>, host: &TestHost) {
    let (script, expected) = (script.as_ref(), expected.as_ref());
    let out = run_script(script, host);
    if std::env::var_os("PORTHOST_BLESS").is_some_and(|v| v == "1") {
        std::fs::write(expected, &out.stdout).unwrap_or_else(|e| panic!("writing {}: {e}", expected.display()));
        return;
    }
    let want = std::fs::read_to_string(expected)
        .unwrap_or_else(|e| panic!("reading {}: {e} (run with PORTHOST_BLESS=1 to record it)", expected.display()));
    let (want, got) = (normalize(&want), normalize(&out.stdout));
    if want != got {
        panic!(
            "{} differs from {} (- expected, + actual; PORTHOST_BLESS=1 records the actual output):\n{}",
            script.display(),
            expected.display(),
            line_diff(&want, &got)
        );
    }
}

/// Builds the `cdylib` of the crate at `manifest_dir` (`cargo build
/// --lib`, with the `cargo` that runs the tests) and returns the shared
/// object's path (cargo names it `libNAME.so`, which porthost finds as
/// driver `NAME`). Call it from the crate's own tests with
/// `env!("CARGO_MANIFEST_DIR")`: `cargo test` does not build a `cdylib`
/// that only the tests load.
///
/// # Panics
/// If cargo fails or builds no `.so`.
pub fn build_cdylib(manifest_dir: impl AsRef<Path>) -> PathBuf {
    let manifest = manifest_dir.as_ref().join("Cargo.toml");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = std::process::Command::new(&cargo)
        .args(["build", "--lib", "--message-format=json-render-diagnostics", "--manifest-path"])
        .arg(&manifest)
        .stderr(std::process::Stdio::inherit())
        .output()
        .unwrap_or_else(|e| panic!("running cargo: {e}"));
    assert!(out.status.success(), "cargo build --lib for {} failed", manifest.display());
    let stdout = String::from_utf8_lossy(&out.stdout);
    stdout
        .lines()
        .rev()
        .filter(|l| l.contains("\"reason\":\"compiler-artifact\"") && l.contains("\"cdylib\""))
        .filter_map(|l| {
            let files = l.split("\"filenames\":[").nth(1)?.split(']').next()?;
            files.split(',').map(|f| f.trim().trim_matches('"')).find(|f| f.ends_with(".so")).map(PathBuf::from)
        })
        .next()
        .unwrap_or_else(|| panic!("cargo built no cdylib for {} (is crate-type = [\"cdylib\"] set?)", manifest.display()))
}

/// The `porthost` executable for isolated workers: `$PORTHOST_WORKER`,
/// else `porthost` on `PATH`, else `None` (the host's own default).
fn find_worker() -> Option<PathBuf> {
    if let Some(w) = std::env::var_os("PORTHOST_WORKER") {
        return Some(PathBuf::from(w));
    }
    std::env::split_paths(&std::env::var_os("PATH")?).map(|d| d.join("porthost")).find(|p| p.is_file())
}

/// Renumbers `#Port<0.N>` and `<0.N.0>` by order of first appearance, so
/// outputs of two runs (or of porthost and ERTS) compare equal when only
/// the ids differ; also drops ERTS's logger report blocks
/// (`=ERROR REPORT==== ...` up to a blank line).
pub fn normalize(out: &str) -> String {
    let out = strip_logger_reports(out);
    let mut ports: Vec<String> = Vec::new();
    let mut pids: Vec<String> = Vec::new();
    let mut res = String::with_capacity(out.len());
    let mut rest = out.as_str();
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
            let _ = if is_port { write!(res, "<0.{n}>") } else { write!(res, "<0.{n}.0>") };
            rest = &at[len..];
        } else {
            res.push('<');
            rest = &at[1..];
        }
    }
    res.push_str(rest);
    res
}

/// `<0.N>` (a port, after `#Port`) or `<0.N.0>` (a pid) at the start of
/// `s`: the digits of N and the length of the token.
fn id_number(s: &str, port: bool) -> Option<(&str, usize)> {
    let body = s.strip_prefix("<0.")?;
    let digits = body.len() - body.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    if digits == 0 {
        return None;
    }
    let tail = if port { ">" } else { ".0>" };
    body[digits..].starts_with(tail).then(|| (&body[..digits], 3 + digits + tail.len()))
}

fn strip_logger_reports(out: &str) -> String {
    let mut kept = String::with_capacity(out.len());
    let (mut in_report, mut after_report) = (false, false);
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

/// A line diff of `expected` and `actual`: `- ` lines only in `expected`,
/// `+ ` lines only in `actual`, three lines of context, `...` for the
/// rest.
pub fn line_diff(expected: &str, actual: &str) -> String {
    let a: Vec<&str> = expected.lines().collect();
    let b: Vec<&str> = actual.lines().collect();
    // Longest common subsequence (quadratic; past ~4M cells, compare line
    // by line instead).
    let ops: Vec<(char, &str)> = if a.len().saturating_mul(b.len()) > 4_000_000 {
        let mut ops = Vec::new();
        for i in 0..a.len().max(b.len()) {
            match (a.get(i), b.get(i)) {
                (Some(x), Some(y)) if x == y => ops.push((' ', *x)),
                (x, y) => {
                    ops.extend(x.map(|x| ('-', *x)));
                    ops.extend(y.map(|y| ('+', *y)));
                }
            }
        }
        ops
    } else {
        let mut lcs = vec![vec![0u32; b.len() + 1]; a.len() + 1];
        for i in (0..a.len()).rev() {
            for j in (0..b.len()).rev() {
                lcs[i][j] = if a[i] == b[j] { lcs[i + 1][j + 1] + 1 } else { lcs[i + 1][j].max(lcs[i][j + 1]) };
            }
        }
        let mut ops = Vec::new();
        let (mut i, mut j) = (0, 0);
        while i < a.len() || j < b.len() {
            if i < a.len() && j < b.len() && a[i] == b[j] {
                ops.push((' ', a[i]));
                i += 1;
                j += 1;
            } else if i < a.len() && (j == b.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
                ops.push(('-', a[i]));
                i += 1;
            } else {
                ops.push(('+', b[j]));
                j += 1;
            }
        }
        ops
    };
    const CONTEXT: usize = 3;
    let changed: Vec<usize> = (0..ops.len()).filter(|&k| ops[k].0 != ' ').collect();
    let near = |k: usize| changed.iter().any(|&c| c.abs_diff(k) <= CONTEXT);
    let mut res = String::new();
    let mut elided = false;
    for (k, (op, line)) in ops.iter().enumerate() {
        if *op == ' ' && !near(k) {
            if !elided {
                res.push_str("  ...\n");
                elided = true;
            }
            continue;
        }
        elided = false;
        let _ = writeln!(res, "{op} {line}");
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erl_prints_printable_binaries_as_strings() {
        let t = Term::Tuple(vec![Term::atom("data"), Term::binary(b"ok"), Term::binary(&[0, 1]), Term::compact_byte_list(b"hi")]);
        assert_eq!(erl(&t), "{data,<<\"ok\">>,<<0,1>>,\"hi\"}");
    }

    #[test]
    fn normalize_renumbers_by_first_appearance() {
        assert_eq!(normalize("#Port<0.7>\n{<0.80.0>,#Port<0.5>}\n"), "#Port<0.1>\n{<0.1.0>,#Port<0.2>}\n");
    }

    #[test]
    fn line_diff_marks_changes() {
        assert_eq!(line_diff("a\nb\nc\n", "a\nx\nc\n"), "  a\n- b\n+ x\n  c\n");
    }
}
