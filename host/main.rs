//! The `porthost` command: runs port scripts (`porthost run FILE`) and an
//! interactive shell (`porthost shell`) over a host; for driver authors,
//! `test` (a directory of scripts against their expected outputs),
//! `new-driver` (a project from a template) and `config` (compiler flags).
#![deny(unsafe_code)]

mod cmd;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use porthost::script::{self, ProcessRuntime};
use porthost::{Host, HostConfig};

mod top;

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
    /// At most N ports open at once (ERTS's +Q N, also accepted as `+Q N`:
    /// 1024..=134217727, rounded up to a power of two; default 65536); past
    /// it open_port raises system_limit.
    #[arg(long = "port-limit", value_name = "N", global = true, value_parser = parse_port_limit)]
    port_limit: Option<usize>,
    /// At most N ports open at once on driver NAME (repeatable).
    #[arg(long = "driver-limit", value_name = "NAME=N", global = true, value_parser = parse_driver_limit)]
    driver_limit: Vec<(String, usize)>,
    /// Open a control socket at PATH (mode 0600, this user only) for
    /// `porthost ports --connect PATH` and `porthost top --connect PATH`.
    #[arg(long = "control", value_name = "PATH", global = true)]
    control: Option<PathBuf>,
    /// Log port lifecycle, driver load/unload and driver errors to stderr
    /// at LEVEL (error, warn, info, debug, trace, or a RUST_LOG filter);
    /// RUST_LOG does the same. Off by default.
    #[arg(long = "log", value_name = "LEVEL", global = true)]
    log: Option<String>,
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

/// ERTS's `+Q N` (before the subcommand) as `--port-limit N`.
fn erts_flags(args: impl Iterator<Item = std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    args.map(|a| if a == "+Q" { "--port-limit".into() } else { a }).collect()
}

fn parse_port_limit(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if (1024..=134_217_727).contains(&n) => Ok(n),
        _ => Err(format!("bad number of ports {s} (1024..=134217727, as ERTS's +Q)")),
    }
}

fn parse_driver_limit(s: &str) -> Result<(String, usize), String> {
    let (name, n) = s.split_once('=').ok_or_else(|| format!("{s} is not NAME=N"))?;
    Ok((name.to_owned(), n.parse().map_err(|_| format!("{n} is not a number of ports"))?))
}

/// Logs to stderr with `--log LEVEL` or `RUST_LOG`; nothing otherwise.
fn init_logging(level: Option<&str>) {
    let filter = match (level, std::env::var("RUST_LOG")) {
        (Some(l), _) => tracing_subscriber::EnvFilter::new(l),
        (None, Ok(env)) if !env.is_empty() => tracing_subscriber::EnvFilter::new(env),
        _ => return,
    };
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}

#[derive(Subcommand)]
enum Command {
    /// Run a port script: print each expression's value with ~w, one per
    /// line, as ../shared/erlrun.escript does under ERTS.
    Run {
        /// The script file (`-`: standard input).
        file: PathBuf,
        /// Print values with ~p (as the shell does) instead of ~w.
        #[arg(long)]
        pretty: bool,
    },
    /// An interactive Erlang-like shell over porthost's port BIFs.
    Shell,
    /// Run every port script (*.erl) in DIR and compare each one's output
    /// with NAME.out beside it (port and pid numbers may differ); exit 1 if
    /// any differs.
    Test {
        /// The directory of the scripts.
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// Record each script's output as its NAME.out instead of comparing.
        #[arg(long)]
        bless: bool,
        /// Also run each script under real ERTS (escript) and report where
        /// the outputs differ.
        #[arg(long = "against-erts")]
        against_erts: bool,
    },
    /// Create a driver project (source, build, tests) in DIR (default
    /// ./NAME).
    NewDriver {
        /// The driver's name (its .so file, its driver_name, an atom).
        name: String,
        /// The driver's language.
        #[arg(long, value_enum, default_value = "c")]
        lang: cmd::new_driver::Lang,
        /// Where to create it.
        dir: Option<PathBuf>,
    },
    /// Print what a C compiler needs to build a driver against porthost's
    /// erl_driver.h.
    Config {
        /// The flags to compile a driver with (-I...).
        #[arg(long)]
        cflags: bool,
        /// The directory of erl_driver.h.
        #[arg(long = "include-dir")]
        include_dir: bool,
        /// A pkg-config file (save it as porthost.pc on PKG_CONFIG_PATH).
        #[arg(long = "pkg-config")]
        pkg_config: bool,
    },
    /// List the ports of a running porthost (one started with --control).
    Ports {
        /// The host's control socket.
        #[arg(long, value_name = "PATH")]
        connect: PathBuf,
        /// Print JSON (an array of objects) instead of a table.
        #[arg(long)]
        json: bool,
        /// Sort by this counter, largest first: input, output, io,
        /// queue_size, memory, commands, messages (default: port number).
        #[arg(long, value_name = "ATTR")]
        sort: Option<String>,
    },
    /// A live view of a running porthost's ports (one started with
    /// --control): sorted by a counter or its rate, refreshing.
    Top {
        /// The host's control socket.
        #[arg(long, value_name = "PATH")]
        connect: PathBuf,
        /// Refresh every MS milliseconds.
        #[arg(long, value_name = "MS", default_value_t = 1000)]
        interval: u64,
    },
    /// Serve a BEAM node as its port program: `{packet, 4}` frames over
    /// stdin and stdout (started by the Erlang client's
    /// `porthost:start_bridge/1`).
    Bridge,
    /// Join an Erlang cluster as a hidden node and serve porthost's Erlang
    /// client there (`{porthost, 'NAME@HOST'}`), until killed.
    Node {
        /// Short node name (NAME or NAME@HOST), as `erl -sname`.
        #[arg(long, conflicts_with = "name", required_unless_present = "name")]
        sname: Option<String>,
        /// Long node name (NAME or NAME@HOST), as `erl -name`.
        #[arg(long)]
        name: Option<String>,
        /// The cookie (default: the first line of ~/.erlang.cookie).
        #[arg(long)]
        cookie: Option<String>,
        /// The address to listen on (default: all interfaces).
        #[arg(long, value_name = "ADDR")]
        listen: Option<String>,
        /// The port to listen on (default: one the system picks), as
        /// `erl -kernel inet_dist_listen_min N inet_dist_listen_max N`.
        #[arg(long)]
        port: Option<u16>,
        /// As `erl -kernel net_ticktime`: a connected node silent for about
        /// this long is taken as dead (its ports close with reason
        /// noconnection); porthost ticks every quarter of it. Give every
        /// node of the cluster the same.
        #[arg(long, value_name = "SECONDS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
        net_ticktime: u64,
    },
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
    let cli = Cli::parse_from(erts_flags(std::env::args_os()));
    init_logging(cli.log.as_deref());
    match &cli.command {
        Command::Ports { connect, json, sort } => return top::ports(connect, *json, sort.as_deref()),
        Command::Top { connect, interval } => return top::top(connect, std::time::Duration::from_millis(*interval)),
        _ => {}
    }
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
    let code = run_host(cli)?;
    porthost::check::finish();
    porthost::check::trace::flush();
    // A script error keeps its own status; a clean run with misuses is 3.
    if code == ExitCode::SUCCESS && porthost::check::findings() > 0 {
        return Ok(ExitCode::from(3));
    }
    Ok(code)
}

fn run_host(cli: Cli) -> anyhow::Result<ExitCode> {
    let config = HostConfig::default()
        .driver_paths(cli.driver_path.clone())
        .isolate(cli.isolate)
        .isolated_drivers(cli.isolate_driver.clone())
        .async_threads(cli.async_threads)
        .busy_wait(!cli.no_busy_wait)
        .kill_timeout(cli.kill_timeout.map(std::time::Duration::from_millis))
        .port_limit(cli.port_limit.unwrap_or(porthost::DEFAULT_PORT_LIMIT))
        .driver_port_limits(cli.driver_limit.clone())
        .check(cli.check);
    match cli.command {
        Command::Bridge => {
            porthost::run_bridge(config)?;
            return Ok(ExitCode::SUCCESS);
        }
        Command::Node { sname, name, cookie, listen, port, net_ticktime } => {
            let long = name.is_some();
            let name = name.or(sname).unwrap_or_default();
            let net_ticktime = std::time::Duration::from_secs(net_ticktime);
            porthost::run_node(config, porthost::NodeOptions { name, long, cookie, listen, port, net_ticktime })?;
            return Ok(ExitCode::SUCCESS);
        }
        Command::Test { dir, bless, against_erts } => {
            return cmd::test::run(cmd::test::Options {
                dir,
                bless,
                against_erts,
                isolate: cli.isolate,
                driver_paths: cli.driver_path,
                no_busy_wait: cli.no_busy_wait,
            });
        }
        Command::NewDriver { name, lang, dir } => {
            let dir = cmd::new_driver::run(&name, lang, dir)?;
            println!("created {} ({lang:?} driver {name}); see its README.md", dir.display());
            return Ok(ExitCode::SUCCESS);
        }
        Command::Config { cflags, include_dir, pkg_config } => {
            let inc = porthost::kit::include_dir()?;
            if include_dir {
                println!("{}", inc.display());
            }
            if cflags || !(include_dir || pkg_config) {
                println!("{}", cmd::config::cflags(&inc));
            }
            if pkg_config {
                print!("{}", cmd::config::pkg_config(&inc));
            }
            return Ok(ExitCode::SUCCESS);
        }
        _ => {}
    }
    let host = Host::new(config);
    if let Some(path) = &cli.control {
        host.open_control_socket(path).with_context(|| format!("opening the control socket {}", path.display()))?;
    }
    let mut rt = ProcessRuntime::new(host.spawn_process());
    match cli.command {
        Command::Run { file, pretty } => {
            // Latin-1, byte for byte, as erlrun.escript reads scripts.
            let bytes = if file.as_os_str() == "-" {
                let mut b = Vec::new();
                std::io::Read::read_to_end(&mut std::io::stdin(), &mut b).context("reading standard input")?;
                b
            } else {
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?
            };
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
            let mut opts = script::RunOptions::default();
            opts.pretty = pretty;
            let result = script::run_script_with(&forms, &mut rt, &mut out, opts);
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
        Command::Worker { .. }
        | Command::Test { .. }
        | Command::NewDriver { .. }
        | Command::Config { .. }
        | Command::Ports { .. }
        | Command::Top { .. }
        | Command::Bridge
        | Command::Node { .. }
        | Command::TraceToScript { .. }
        | Command::Fuzz { .. } => unreachable!("handled above"),
    }
}
