//! `porthost fuzz NAME`: feeds a driver generated `port_command`,
//! `port_control` and `erlang:port_call` inputs in isolated workers, keeps
//! going after each crash, and writes a minimized port script for every
//! distinct crash.
//!
//! # The loop
//! One host with every driver isolated (a crash ends a worker, not the
//! fuzzer; the watchdog, [`crate::HostConfig::isolation_timeout`], ends a
//! hang; the worker limits end a driver that eats memory). One port at a
//! time is open; each execution sends it one operation (see [`gen`]), made
//! fresh or mutated from the corpus (the operations of the seed scripts,
//! and those that reached new coverage). The port is reopened every
//! [`OPS_PER_PORT`] operations, so that a crash's history is short. A crash
//! is a port exit `{driver_crashed, Why}` or `{driver_timeout, Ms}`; its
//! signature is that reason and the top driver frame of the worker's crash
//! backtrace (workers print one on a fatal signal; the fuzzer points their
//! standard error at `OUT/workers.log` and reads it). A new signature is
//! minimized — operations dropped one by one, then each one's data cut
//! down, as long as a fresh port still crashes with the same signature —
//! and written to `OUT/crash-N-WHY.erl`, a script that reproduces it under
//! `porthost run --isolate`.
//!
//! # Coverage
//! A driver built with `-fsanitize-coverage=trace-pc,trace-cmp` (GCC; clang:
//! `trace-pc-guard,trace-cmp`) reports its edges and the constants it
//! compares with to the workers' callbacks (`crate::abi::cov`), through a
//! file the fuzzer maps (`OUT/coverage.map`): an input that reaches a new
//! edge joins the corpus, and the constants join the dictionary. Other
//! drivers get blind structured mutation, with the driver file's strings as
//! dictionary.

pub mod gen;

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::abi::cov::CovMap;
use crate::term::{PortId, Term};
use crate::{Host, HostConfig, Process, WorkerLimits};
use gen::{Dictionary, Kinds, Op, Rng};

/// Operations sent to one port before it is reopened.
pub const OPS_PER_PORT: usize = 32;

/// What `porthost fuzz` was asked to do.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct FuzzConfig {
    /// The driver's name.
    pub driver: String,
    /// Where drivers are looked up (before the bundled ones).
    pub driver_paths: Vec<PathBuf>,
    /// How long to fuzz.
    pub time: Duration,
    /// Where crash scripts (and the workers' log) go.
    pub out: PathBuf,
    /// Which operations to send.
    pub kinds: Kinds,
    /// The random seed.
    pub seed: u64,
    /// Port scripts (files or directories of `*.erl`) whose operations seed
    /// the corpus.
    pub corpus: Vec<PathBuf>,
    /// The watchdog: a request running longer is a hang.
    pub hang: Duration,
    /// The workers' address-space limit.
    pub memory_bytes: Option<u64>,
    /// Stop after this many distinct crashes.
    pub max_crashes: usize,
    /// The workers run the checker and abort at the first misuse
    /// (`porthost --check fuzz`, which sets `PORTHOST_CHECK` and
    /// `PORTHOST_CHECK_ABORT` for them): misuses count as crashes.
    pub check: bool,
}

impl FuzzConfig {
    /// Defaults for driver `name`: 60 s, `./fuzz-out`, every operation,
    /// seed 1, a 1 s watchdog, 1 GiB of address space per worker.
    pub fn new(name: &str) -> FuzzConfig {
        FuzzConfig {
            driver: name.to_owned(),
            driver_paths: Vec::new(),
            time: Duration::from_secs(60),
            out: PathBuf::from("fuzz-out"),
            kinds: Kinds { command: true, control: true, call: true },
            seed: 1,
            corpus: Vec::new(),
            hang: Duration::from_secs(1),
            memory_bytes: Some(1 << 30),
            max_crashes: 100,
            check: false,
        }
    }
}

/// One distinct crash.
#[derive(Clone, Debug)]
pub struct Crash {
    /// The port's exit reason, e.g. `{driver_crashed,sigsegv}`.
    pub reason: String,
    /// The top driver frame (`?` if none was found).
    pub frame: String,
    /// The minimized script.
    pub script: PathBuf,
    /// Operations before and after minimizing.
    pub ops: (usize, usize),
    /// The execution that found it.
    pub exec: u64,
}

/// What a fuzz run did.
#[derive(Debug, Default)]
pub struct Summary {
    /// Operations sent.
    pub execs: u64,
    /// Crashes seen (all, not only distinct ones).
    pub crash_count: u64,
    /// The distinct crashes.
    pub crashes: Vec<Crash>,
    /// Coverage edges seen (0 for a driver without coverage).
    pub edges: usize,
    /// Whether the driver reports coverage.
    pub guided: bool,
    /// Corpus size at the end.
    pub corpus: usize,
    /// How long it ran.
    pub elapsed: Duration,
}

/// What became of the port after an operation.
enum Outcome {
    Alive,
    /// The port exited, not by a crash.
    Exited,
    /// The port's worker crashed or hung: the exit reason.
    Crash(String),
}

struct Fuzzer {
    cfg: FuzzConfig,
    p: Process,
    log: File,
    log_pos: u64,
    /// The driver's file name, to find its frames in backtraces.
    file_name: String,
    /// The driver's file, to symbolize its frames.
    driver_file: Option<PathBuf>,
    /// The checker's report that ended the last crashed worker, if any.
    misuse: Option<String>,
}

/// Runs a fuzz session; `progress` gets a progress line about once a
/// second and the summary.
///
/// # Errors
/// If the output directory cannot be made, or the driver never opens.
pub fn fuzz(cfg: FuzzConfig, progress: &mut dyn Write) -> Result<Summary, String> {
    std::fs::create_dir_all(&cfg.out).map_err(|e| format!("{}: {e}", cfg.out.display()))?;
    let cov_path = cfg.out.join("coverage.map");
    let mut cov = CovMap::create(&cov_path);
    // Workers inherit the environment: they map the same file.
    std::env::set_var("PORTHOST_FUZZ_COV", &cov_path);
    let log_path = cfg.out.join("workers.log");
    let log = File::create(&log_path).map_err(|e| format!("{}: {e}", log_path.display()))?;
    let redirect = crate::sys::stderr::StderrTo::file(&log).map_err(|e| format!("redirecting stderr: {e}"))?;
    let log = File::open(&log_path).map_err(|e| format!("{}: {e}", log_path.display()))?;
    let mut err_out = redirect.original().try_clone().map_err(|e| e.to_string())?;
    let limits = WorkerLimits::default().memory_bytes(cfg.memory_bytes);
    let host = Host::new(
        HostConfig::default()
            .driver_paths(cfg.driver_paths.clone())
            .isolate(true)
            .isolation_timeout(Some(cfg.hang))
            .worker_limits(limits),
    );
    let p = host.spawn_process();
    let _ = p.set_trap_exit(true);
    let driver_file = host
        .driver_search_path()
        .iter()
        .map(|d| d.join(format!("{}.so", cfg.driver)))
        .find(|f| f.is_file());
    let file_name = driver_file
        .as_ref()
        .and_then(|f| f.file_name())
        .map_or_else(|| format!("{}.so", cfg.driver), |n| n.to_string_lossy().into_owned());

    let mut dict = Dictionary::default();
    if let Some(f) = &driver_file {
        dict.add_strings_of(f);
    }
    let mut corpus: Vec<Op> = Vec::new();
    for path in &cfg.corpus {
        for file in script_files(path) {
            if let Ok(text) = std::fs::read_to_string(&file) {
                corpus.extend(gen::ops_in_script(&text).into_iter().filter(|op| allowed(cfg.kinds, op)));
            }
        }
    }
    for op in &corpus {
        match op {
            Op::Control(o, d) => {
                dict.ops.push(*o);
                if !d.is_empty() {
                    dict.tokens.push(d.clone());
                }
            }
            Op::Call(o, _) => dict.ops.push(*o),
            Op::Command(p) => dict.tokens.extend(p.iter().filter(|(_, b)| !b.is_empty()).map(|(_, b)| b.clone())),
        }
    }

    let mut f = Fuzzer { cfg: cfg.clone(), p, log, log_pos: 0, file_name, driver_file: driver_file.clone(), misuse: None };
    let mut rng = Rng::new(cfg.seed);
    let mut summary = Summary::default();
    let start = Instant::now();
    let deadline = start + cfg.time;
    let mut last_progress = start;
    let mut last_edges = cov.as_ref().map_or(0, CovMap::edges);
    let mut port: Option<PortId> = None;
    let mut history: Vec<Op> = Vec::new();
    let mut open_failures = 0;
    let mut seen: Vec<String> = Vec::new();

    while Instant::now() < deadline && summary.crashes.len() < cfg.max_crashes {
        let port_id = match port {
            Some(id) => id,
            None => match f.open() {
                Ok(id) => {
                    open_failures = 0;
                    history.clear();
                    port = Some(id);
                    id
                }
                Err(e) => {
                    open_failures += 1;
                    if open_failures >= 3 {
                        return Err(format!("driver {} does not open: {e}", cfg.driver));
                    }
                    continue;
                }
            },
        };
        let op = if !corpus.is_empty() && rng.below(10) < 6 {
            let base = &corpus[rng.below(corpus.len())];
            if rng.one_in(16) {
                base.clone()
            } else {
                gen::mutate(&mut rng, &dict, base)
            }
        } else {
            gen::op(&mut rng, &dict, cfg.kinds)
        };
        history.push(op.clone());
        let outcome = f.exec(port_id, &op);
        summary.execs += 1;

        if let Some(c) = cov.as_mut() {
            let edges = c.edges();
            if edges > last_edges {
                last_edges = edges;
                // A crashing input would only crash again: not kept.
                if corpus.len() < 4096 && !matches!(outcome, Outcome::Crash(_)) {
                    corpus.push(op.clone());
                }
            }
            if summary.execs % 32 == 0 {
                for k in c.constants() {
                    dict.add_constant(k);
                }
            }
        } else if rng.one_in(256) && corpus.len() < 256 {
            corpus.push(op.clone());
        }

        match outcome {
            Outcome::Alive if history.len() < OPS_PER_PORT => {}
            Outcome::Alive => {
                f.close(port_id);
                port = None;
            }
            Outcome::Exited => port = None,
            Outcome::Crash(reason) => {
                port = None;
                summary.crash_count += 1;
                let frame = f.frame(&reason);
                let misuse_of_crash = f.misuse.clone();
                let sig = format!("{reason} at {frame}");
                if !seen.contains(&sig) {
                    seen.push(sig.clone());
                    let _ = write!(err_out, "\nfuzz: new crash {sig} after {} executions; minimizing {} operation(s)\n", summary.execs, history.len());
                    let before = history.len();
                    let small = f.minimize(std::mem::take(&mut history), &sig);
                    // The report of the crash found, not of a replay.
                    f.misuse = misuse_of_crash;
                    let n = summary.crashes.len() + 1;
                    let script = f.write_script(n, &reason, &frame, &small, summary.execs, before)?;
                    let _ = writeln!(err_out, "fuzz: wrote {} ({} operation(s))", script.display(), small.len());
                    summary.crashes.push(Crash { reason, frame, script, ops: (before, small.len()), exec: summary.execs });
                }
                history.clear();
            }
        }

        if last_progress.elapsed() >= Duration::from_secs(1) {
            last_progress = Instant::now();
            let secs = start.elapsed().as_secs_f64().max(1e-3);
            let cov_text = if cov.is_some() && last_edges > 0 { format!("{last_edges} edges") } else { "none (blind)".to_owned() };
            let _ = writeln!(
                err_out,
                "fuzz: {} execs ({:.0}/s), {} crashes ({} distinct), coverage {cov_text}, corpus {}",
                summary.execs,
                summary.execs as f64 / secs,
                summary.crash_count,
                summary.crashes.len(),
                corpus.len()
            );
        }
    }
    if let Some(id) = port {
        f.close(id);
    }
    summary.elapsed = start.elapsed();
    summary.edges = last_edges;
    summary.guided = last_edges > 0;
    summary.corpus = corpus.len();
    drop(redirect);
    let _ = write!(progress, "{}", summary_text(&cfg, &summary));
    Ok(summary)
}

/// The summary a run prints at its end.
pub fn summary_text(cfg: &FuzzConfig, s: &Summary) -> String {
    let mut t = format!(
        "fuzz {}: {} executions in {:.1} s ({:.0}/s), {} crash(es), {} distinct; coverage: {}; corpus {}\n",
        cfg.driver,
        s.execs,
        s.elapsed.as_secs_f64(),
        s.execs as f64 / s.elapsed.as_secs_f64().max(1e-3),
        s.crash_count,
        s.crashes.len(),
        if s.guided { format!("{} edges", s.edges) } else { "none (blind structured mutation)".to_owned() },
        s.corpus
    );
    for c in &s.crashes {
        t.push_str(&format!(
            "  {} at {}: {} (minimized from {} to {} operation(s); found at execution {})\n",
            c.reason,
            c.frame,
            c.script.display(),
            c.ops.0,
            c.ops.1,
            c.exec
        ));
    }
    t
}

fn allowed(k: Kinds, op: &Op) -> bool {
    match op {
        Op::Command(_) => k.command,
        Op::Control(..) => k.control,
        Op::Call(..) => k.call,
    }
}

fn script_files(path: &Path) -> Vec<PathBuf> {
    if path.is_dir() {
        let mut v: Vec<PathBuf> = std::fs::read_dir(path)
            .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.extension().is_some_and(|e| e == "erl")).collect())
            .unwrap_or_default();
        v.sort();
        v
    } else {
        vec![path.to_path_buf()]
    }
}

impl Fuzzer {
    fn open(&self) -> Result<PortId, String> {
        self.p.open_port_driver(&self.cfg.driver, &[Term::atom("binary")]).map_err(|e| e.to_string())
    }

    fn close(&self, port: PortId) {
        let _ = self.p.port_close(port);
        self.drain(port, Duration::ZERO);
    }

    /// Sends `op` to `port` and sees what became of the port.
    fn exec(&self, port: PortId, op: &Op) -> Outcome {
        let r = match op {
            Op::Command(pieces) => self.p.port_command(port, &Op::command_term(pieces)).map(|_| ()),
            Op::Control(code, data) => self.p.port_control(port, *code, &Term::binary(data)).map(|_| ()),
            Op::Call(code, t) => self.p.port_call(port, *code, t).map(|_| ()),
        };
        // A request whose worker died fails: its exit is on the way.
        let wait = match &r {
            Err(e) if crate::isolate::is_crash(e) => Duration::from_secs(5),
            _ => Duration::ZERO,
        };
        self.drain(port, wait)
    }

    /// Takes the messages waiting (for up to `wait` if none says the port
    /// exited): the port's fate.
    fn drain(&self, port: PortId, wait: Duration) -> Outcome {
        let deadline = Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.p.receive(Some(left)) {
                Ok(Some(msg)) => {
                    if let Some(reason) = exit_reason(&msg, port) {
                        return classify(reason);
                    }
                }
                _ => return Outcome::Alive,
            }
        }
    }

    /// The top driver frame of the newest crash backtrace in the log.
    fn frame(&mut self, reason: &str) -> String {
        if reason.starts_with("{driver_timeout") {
            return "(hang)".to_owned();
        }
        let mut text = String::new();
        if self.log.seek(SeekFrom::Start(self.log_pos)).is_ok() {
            let mut f = &self.log;
            let _ = f.read_to_string(&mut text);
        }
        self.log_pos += text.len() as u64;
        self.misuse = text.lines().rev().find(|l| l.starts_with("misuse: ")).map(str::to_owned);
        // The last backtrace: frames after the last "fatal signal" line.
        let block = text.rsplit("fatal signal").next().unwrap_or("");
        block
            .lines()
            .find(|l| l.contains(&self.file_name))
            .map(|l| {
                let l = l.trim();
                let l = l.split("[0x").next().unwrap_or(l).trim_end();
                l.rsplit('/').next().unwrap_or(l).to_owned()
            })
            .map(|f| symbolize(&f, self.driver_file.as_deref()))
            .unwrap_or_else(|| "?".to_owned())
    }

    /// Runs `ops` on a fresh port: the crash signature and how many
    /// operations it took, if it crashed.
    fn replay(&mut self, ops: &[Op]) -> Option<(String, usize)> {
        let port = self.open().ok()?;
        for (i, op) in ops.iter().enumerate() {
            match self.exec(port, op) {
                Outcome::Alive => {}
                Outcome::Exited => return None,
                Outcome::Crash(reason) => {
                    let frame = self.frame(&reason);
                    return Some((format!("{reason} at {frame}"), i + 1));
                }
            }
        }
        // A crash after the reply (in output, a timer) comes a little later.
        let out = match self.drain(port, Duration::from_millis(30)) {
            Outcome::Crash(reason) => {
                let frame = self.frame(&reason);
                Some((format!("{reason} at {frame}"), ops.len()))
            }
            _ => None,
        };
        if out.is_none() {
            self.close(port);
        }
        out
    }

    /// The shortest operations found that still crash with `sig`.
    fn minimize(&mut self, mut ops: Vec<Op>, sig: &str) -> Vec<Op> {
        let mut budget = 200;
        match self.replay(&ops) {
            Some((s, n)) if s == sig => ops.truncate(n),
            // Not reproducible from a fresh port: keep the history whole.
            _ => return ops,
        }
        // Most crashes need only the last few operations: try the shortest
        // suffixes first (1, 2, 4, ... operations).
        let mut k = 1;
        while k < ops.len() && budget > 0 {
            budget -= 1;
            let cand = ops[ops.len() - k..].to_vec();
            if matches!(self.replay(&cand), Some((s, _)) if s == sig) {
                ops = cand;
                break;
            }
            k *= 2;
        }
        // Drop operations one at a time.
        let mut i = 0;
        while i < ops.len() && ops.len() > 1 && budget > 0 {
            budget -= 1;
            let mut cand = ops.clone();
            cand.remove(i);
            match self.replay(&cand) {
                Some((s, n)) if s == sig => {
                    cand.truncate(n);
                    ops = cand;
                }
                _ => i += 1,
            }
        }
        // Cut each operation's data down.
        for k in 0..ops.len() {
            let mut chunk = ops[k].size().max(1);
            while chunk > 0 && budget > 0 {
                let mut progress = false;
                let mut at = 0;
                while at < ops[k].size() && budget > 0 {
                    let Some(cand_op) = cut(&ops[k], at, chunk) else { break };
                    budget -= 1;
                    let mut cand = ops.clone();
                    cand[k] = cand_op;
                    match self.replay(&cand) {
                        Some((s, _)) if s == sig => {
                            ops = cand;
                            progress = true;
                        }
                        _ => at += chunk,
                    }
                }
                if !progress {
                    chunk /= 2;
                }
            }
        }
        ops
    }

    fn write_script(&self, n: usize, reason: &str, frame: &str, ops: &[Op], exec: u64, before: usize) -> Result<PathBuf, String> {
        let why: String = if reason.starts_with("{driver_timeout") { "hang" } else { reason }
            .trim_matches(|c| c == '{' || c == '}')
            .split(',')
            .next_back()
            .unwrap_or("crash")
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        let path = self.cfg.out.join(format!("crash-{n}-{why}.erl"));
        let paths: String = self.cfg.driver_paths.iter().map(|p| format!(" --driver-path {}", p.display())).collect();
        let check = if self.cfg.check { "PORTHOST_CHECK_ABORT=1 porthost --check" } else { "porthost" };
        let detail = self.misuse.as_ref().map(|m| format!("%% {m}\n")).unwrap_or_default();
        let mut s = format!(
            "%% porthost fuzz {}: {reason} at {frame}\n{detail}\
             %% found at execution {exec} (seed {}); minimized from {before} to {} operation(s).\n\
             %% Reproduce: {check} run --isolate{paths} {}\n\
             process_flag(trap_exit, true).\n\
             P = open_port({{spawn_driver, \"{}\"}}, [binary]).\n",
            self.cfg.driver,
            self.cfg.seed,
            ops.len(),
            path.display(),
            self.cfg.driver
        );
        for op in ops {
            s.push_str(&op.script_line());
            s.push('\n');
        }
        s.push_str("receive {'EXIT', P, Reason} -> Reason after 5000 -> no_crash end.\n");
        std::fs::write(&path, s).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(path)
    }
}

/// `name.so(+0x118d)` (glibc's `backtrace_symbols` knows only exported
/// symbols) as `name.so(planted_crash+0x1d)` by asking `addr2line` about the
/// driver file; unchanged if that fails.
fn symbolize(frame: &str, file: Option<&Path>) -> String {
    let (Some(file), Some(off)) = (file, frame.split("(+").nth(1).and_then(|r| r.strip_suffix(')'))) else {
        return frame.to_owned();
    };
    let Ok(out) = std::process::Command::new("addr2line").arg("-f").arg("-e").arg(file).arg(off).output() else {
        return frame.to_owned();
    };
    let text = String::from_utf8_lossy(&out.stdout);
    match text.lines().next() {
        Some(func) if out.status.success() && func != "??" => {
            format!("{}({func}) [+{off}]", frame.split("(+").next().unwrap_or(frame))
        }
        _ => frame.to_owned(),
    }
}

/// `op` with `len` bytes of its data from `at` removed, if it has them.
fn cut(op: &Op, at: usize, len: usize) -> Option<Op> {
    let cut_vec = |v: &[u8]| -> Option<Vec<u8>> {
        (at < v.len()).then(|| {
            let mut w = v[..at].to_vec();
            w.extend_from_slice(&v[(at + len).min(v.len())..]);
            w
        })
    };
    match op {
        Op::Control(c, d) => cut_vec(d).map(|d| Op::Control(*c, d)),
        Op::Command(pieces) => {
            // The pieces' bytes in a row: cut within the one holding `at`.
            let mut off = 0;
            for (i, (_, b)) in pieces.iter().enumerate() {
                if at < off + b.len() + 1 {
                    let mut p = pieces.clone();
                    if at - off >= b.len() {
                        if p.len() == 1 {
                            return None;
                        }
                        p.remove(i);
                    } else {
                        let local = at - off;
                        let mut w = b[..local].to_vec();
                        w.extend_from_slice(&b[(local + len).min(b.len())..]);
                        p[i].1 = w;
                    }
                    return Some(Op::Command(p));
                }
                off += b.len() + 1;
            }
            None
        }
        Op::Call(..) => None,
    }
}

/// The reason of `{'EXIT', Port, Reason}` for `port`.
fn exit_reason(msg: &Term, port: PortId) -> Option<&Term> {
    match msg {
        Term::Tuple(ref items) if items.len() == 3 && items[0].is_atom("EXIT") => match &items[1] {
            Term::Port(ref p) if *p == port => Some(&items[2]),
            _ => None,
        },
        _ => None,
    }
}

fn classify(reason: &Term) -> Outcome {
    match reason {
        Term::Tuple(ref items) if items.len() == 2 && items[0].is_atom("driver_crashed") => Outcome::Crash(reason.to_string()),
        Term::Tuple(ref items) if items.len() == 2 && items[0].is_atom("driver_timeout") => {
            Outcome::Crash("{driver_timeout,_}".to_owned())
        }
        _ => Outcome::Exited,
    }
}
