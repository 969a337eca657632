//! The `porthost` command: runs port scripts (`porthost run FILE`) and an
//! interactive shell (`porthost shell`) over a host.
#![deny(unsafe_code)]

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use porthost::script::{self, ProcessRuntime};
use porthost::{Host, HostConfig};

/// A standalone host for Erlang port drivers.
#[derive(Parser)]
#[command(name = "porthost", version, about)]
struct Cli {
    /// Also look for drivers by name in DIR (repeatable; searched in order,
    /// before the bundled drivers).
    #[arg(long = "driver-path", value_name = "DIR", global = true)]
    driver_path: Vec<PathBuf>,
    /// Run every driver in a worker process (as if each open_port had the
    /// `isolated` option): a driver that crashes ends its ports, not porthost.
    #[arg(long, global = true)]
    isolate: bool,
    /// Run driver NAME in a worker process (repeatable).
    #[arg(long = "isolate-driver", value_name = "NAME", global = true)]
    isolate_driver: Vec<String>,
    /// Threads in the async pool that runs driver_async jobs (ERTS's +A).
    #[arg(long = "async-threads", value_name = "N", default_value_t = 1, global = true)]
    async_threads: usize,
    /// Waiting threads sleep at once instead of spinning briefly first
    /// (ERTS's `+sbwt none`; see `HostConfig::busy_wait`).
    #[arg(long = "no-busy-wait", global = true)]
    no_busy_wait: bool,
    /// Give every external-program port {kill_timeout, MS}: when the port
    /// closes, its child's process group gets SIGTERM, then SIGKILL MS
    /// milliseconds later, and the child dies with porthost.
    #[arg(long = "kill-timeout", value_name = "MS", global = true)]
    kill_timeout: Option<u64>,
    /// Check every erl_driver call and callback of in-process drivers: each
    /// misuse is a `misuse:` line on stderr with the driver's backtrace,
    /// and the run exits with status 3 if there was any.
    #[arg(long, global = true)]
    check: bool,
    /// Write a trace of every callback into a driver and every erl_driver
    /// call out of it to FILE (`-` for stderr).
    #[arg(long, value_name = "FILE", global = true)]
    trace: Option<PathBuf>,
    /// Write the trace as JSON lines.
    #[arg(long = "trace-json", global = true)]
    trace_json: bool,
    /// Trace whole payloads (they are abbreviated otherwise).
    #[arg(long = "trace-full", global = true)]
    trace_full: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a port script: print each expression's value with ~w, one per
    /// line, as ../shared/erlrun.escript does under ERTS.
    Run {
        /// The script file.
        file: PathBuf,
    },
    /// An interactive Erlang-like shell over porthost's port BIFs.
    Shell,
    /// Turn a trace (from `run --trace`) into a port script that replays
    /// its port operations; printed on stdout.
    TraceToScript {
        /// The trace file.
        file: PathBuf,
    },
    /// Fuzz driver NAME: generated port_command, port_control and port_call
    /// inputs in isolated workers; a minimized script per distinct crash.
    Fuzz {
        /// The driver's name.
        name: String,
        /// How long to fuzz, in seconds.
        #[arg(long, value_name = "SECONDS", default_value_t = 60)]
        time: u64,
        /// Where the crash scripts go.
        #[arg(long, value_name = "DIR", default_value = "fuzz-out")]
        out: PathBuf,
        /// Which operations to send: command, control, call (comma-separated).
        #[arg(long, value_name = "OPS", default_value = "command,control,call")]
        ops: String,
        /// The random seed.
        #[arg(long, value_name = "N", default_value_t = 1)]
        seed: u64,
        /// Port scripts (files or directories) whose operations seed the corpus.
        #[arg(long, value_name = "PATH")]
        corpus: Vec<PathBuf>,
        /// The watchdog: a request running longer than this is a hang.
        #[arg(long = "hang-ms", value_name = "MS", default_value_t = 1000)]
        hang_ms: u64,
        /// Each worker's address-space limit, in MiB.
        #[arg(long = "memory-mb", value_name = "MIB", default_value_t = 1024)]
        memory_mb: u64,
        /// Stop after this many distinct crashes.
        #[arg(long = "max-crashes", value_name = "N", default_value_t = 100)]
        max_crashes: usize,
    },
    /// Serve isolated ports for a parent porthost (internal).
    #[command(hide = true)]
    Worker {
        /// The socket to the parent, an inherited file descriptor.
        #[arg(long)]
        fd: i32,
    },
}

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("porthost: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    if let Command::Worker { fd } = cli.command {
        // A parent run with --check checks its workers' drivers too (their
        // reports reach its stderr; they do not count in its exit status).
        if std::env::var_os("PORTHOST_CHECK").is_some() {
            porthost::check::enable_check();
        }
        if std::env::var_os("PORTHOST_CHECK_ABORT").is_some() {
            porthost::check::abort_on_misuse();
        }
        porthost::run_worker(fd, cli.driver_path)?;
        return Ok(ExitCode::SUCCESS);
    }
    if let Command::Fuzz { name, time, out, ops, seed, corpus, hang_ms, memory_mb, max_crashes } = &cli.command {
        let mut cfg = porthost::fuzz::FuzzConfig::new(name);
        cfg.driver_paths = cli.driver_path.clone();
        cfg.time = std::time::Duration::from_secs(*time);
        cfg.out = out.clone();
        cfg.seed = *seed;
        cfg.corpus = corpus.clone();
        cfg.hang = std::time::Duration::from_millis(*hang_ms);
        cfg.memory_bytes = Some(memory_mb << 20);
        cfg.max_crashes = *max_crashes;
        if cli.check {
            // The workers check their driver and die of the first misuse:
            // a crash like any other for the fuzzer.
            std::env::set_var("PORTHOST_CHECK", "1");
            std::env::set_var("PORTHOST_CHECK_ABORT", "1");
            cfg.check = true;
        }
        let words: Vec<&str> = ops.split(',').map(str::trim).collect();
        if let Some(bad) = words.iter().find(|w| !matches!(**w, "command" | "control" | "call")) {
            anyhow::bail!("--ops: unknown operation {bad} (command, control, call)");
        }
        cfg.kinds = porthost::fuzz::gen::Kinds {
            command: words.contains(&"command"),
            control: words.contains(&"control"),
            call: words.contains(&"call"),
        };
        let summary = porthost::fuzz::fuzz(cfg, &mut std::io::stdout()).map_err(anyhow::Error::msg)?;
        return Ok(if summary.crashes.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(3) });
    }
    if let Command::TraceToScript { file } = &cli.command {
        let text = std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
        print!("{}", porthost::check::trace::to_script(&text));
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(path) = &cli.trace {
        let out: Box<dyn Write + Send> = if path.as_os_str() == "-" {
            Box::new(std::io::stderr())
        } else {
            let f = std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
            Box::new(std::io::BufWriter::new(f))
        };
        porthost::check::trace::start(out, cli.trace_json, cli.trace_full);
    }
    if cli.check {
        // Workers (--isolate) inherit it: see the Worker branch above.
        std::env::set_var("PORTHOST_CHECK", "1");
    }
    let code = run_host(&cli)?;
    porthost::check::finish();
    porthost::check::trace::flush();
    // A script error keeps its own status; a clean run with misuses is 3.
    if code == ExitCode::SUCCESS && porthost::check::findings() > 0 {
        return Ok(ExitCode::from(3));
    }
    Ok(code)
}

fn run_host(cli: &Cli) -> anyhow::Result<ExitCode> {
    let host = Host::new(
        HostConfig::default()
            .driver_paths(cli.driver_path.clone())
            .isolate(cli.isolate)
            .isolated_drivers(cli.isolate_driver.clone())
            .check(cli.check)
            .async_threads(cli.async_threads)
            .busy_wait(!cli.no_busy_wait)
            .kill_timeout(cli.kill_timeout.map(std::time::Duration::from_millis)),
    );
    let mut rt = ProcessRuntime::new(host.spawn_process());
    match &cli.command {
        Command::Run { file } => {
            // Latin-1, byte for byte, as erlrun.escript reads scripts.
            let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
            let src = script::decode_latin1(&bytes);
            let forms = match script::parse_script(&src) {
                Ok(f) => f,
                Err(e) => {
                    eprintln!("{}:{e}", file.display());
                    return Ok(ExitCode::from(1));
                }
            };
            let stdout = std::io::stdout();
            let mut out = stdout.lock();
            let result = script::run_script(&forms, &mut rt, &mut out);
            out.flush()?;
            match result {
                Ok(()) => Ok(ExitCode::SUCCESS),
                Err(exc) => {
                    writeln!(out, "{exc}")?;
                    out.flush()?;
                    if let Some(why) = rt.last_error.take() {
                        eprintln!("porthost: {why}");
                    }
                    Ok(ExitCode::from(1))
                }
            }
        }
        Command::Shell => {
            script::shell::shell(&mut rt)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Worker { .. } | Command::TraceToScript { .. } | Command::Fuzz { .. } => unreachable!("handled above"),
    }
}
