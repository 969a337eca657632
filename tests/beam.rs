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
fn a_caller_that_outpaces_a_stalled_bridge_is_held_back() {
    let dir = util::drivers_dir(Header::Own).to_str().unwrap().to_owned();
    let out = beam_ops(&[], &["backpressure", porthost_exe(), &dir]).stdout;
    assert_eq!(out, "{held_back,true,true}\n{replies,300}\n");
}

#[test]
fn fifty_processes_drive_twenty_ports_each_over_one_bridge() {
    let t = Instant::now();
    let out = beam_ops(&[], &["load", porthost_exe(), "50", "20", "40"]).stdout;
    assert!(out.starts_with("{load,40000,0,[]}\n"), "{out}");
    assert!(t.elapsed() < Duration::from_secs(60), "took {:?}", t.elapsed());
}

// ---- porthost as a node of the cluster ----

/// A private EPMD on the loopback, on a port of its own, so that tests
/// running at once (and other users of the machine) do not meet; killed
/// with the guard.
struct Cluster {
    /// Killed when the cluster is dropped.
    _epmd: Reaped,
    port: u16,
    cookie: &'static str,
    host: String,
}

impl Cluster {
    fn start() -> Cluster {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let epmd = Reaped(
            Command::new("epmd")
                .args(["-port", &port.to_string(), "-address", "127.0.0.1"])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("cannot run `epmd` (the tests need Erlang/OTP 25: erlang-nox)"),
        );
        wait_until("EPMD listens", Duration::from_secs(10), || std::net::TcpStream::connect(("127.0.0.1", port)).is_ok());
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap().trim().split('.').next().unwrap().to_owned();
        Cluster { _epmd: epmd, port, cookie: "porthost_test_cookie", host }
    }

    fn env(&self, cmd: &mut Command) {
        cmd.env("ERL_EPMD_PORT", self.port.to_string()).env("ERL_EPMD_ADDRESS", "127.0.0.1");
    }

    /// A porthost node NAME, with the test drivers on its path; its
    /// standard error goes to a file (see [`PorthostNode::log`]).
    fn porthost(&self, name: &str) -> PorthostNode {
        self.porthost_with(name, &[])
    }

    /// As [`Cluster::porthost`], with more options (after `node`), every
    /// port's open and close logged.
    fn porthost_with(&self, name: &str, node_args: &[&str]) -> PorthostNode {
        let log = util::tmp_dir().join(format!("beam_{name}_{}.log", self.port));
        let dir = util::drivers_dir(Header::Own);
        let mut cmd = Command::new(porthost_exe());
        cmd.args(["--log", "porthost::port::lifecycle=debug", "--driver-path", dir.to_str().unwrap()])
            .args(["node", "--sname", name, "--cookie", self.cookie])
            .args(node_args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap());
        self.env(&mut cmd);
        let child = Reaped(cmd.spawn().unwrap());
        let node = PorthostNode { child, log, name: format!("{name}@{}", self.host) };
        wait_until("the porthost node registers", Duration::from_secs(10), || node.log().contains("listening"));
        node
    }

    /// `erl` as node SNAME with `cookie`, running beam_ops ARGS.
    fn erl(&self, sname: &str, cookie: &str, args: &[&str]) -> Command {
        let mut cmd = Command::new("erl");
        cmd.arg("-noshell")
            .arg("-pa")
            .arg(ebin())
            .args(["-sname", sname, "-setcookie", cookie, "-start_epmd", "false"])
            .args(["-run", "beam_ops", "main"])
            .args(args);
        self.env(&mut cmd);
        cmd
    }

    fn beam_ops(&self, sname: &str, args: &[&str]) -> String {
        let out = util::run_command(self.erl(sname, self.cookie, args), "`erl`");
        let stdout = util::strip_logger_reports(&out.stdout);
        assert!(out.status == 0 && !stdout.contains("FAILED"), "beam_ops {args:?}: {}\n{stdout}\n{}", out.status, out.stderr);
        stdout
    }
}

struct PorthostNode {
    child: Reaped,
    log: PathBuf,
    name: String,
}

impl PorthostNode {
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

#[test]
fn the_node_answers_as_local_erts_ports() {
    let expected = local_erts();
    let cluster = Cluster::start();
    let node = cluster.porthost("ph_ops");
    let got = cluster.beam_ops("beam_ops_a", &["node", &node.name]);
    assert_eq!(got, expected, "{}", util::line_diff(&expected, &got));
    assert!(node.log().contains("beam_ops_a@"), "{}", node.log());
}

#[test]
fn an_isolated_crash_on_the_node_is_an_exit_reason() {
    let cluster = Cluster::start();
    let node = cluster.porthost("ph_crash");
    crash_lines(&cluster.beam_ops("beam_crash", &["crash_node", &node.name]));
}

#[test]
fn the_node_refuses_a_wrong_cookie_and_logs_it() {
    let cluster = Cluster::start();
    let node = cluster.porthost("ph_cookie");
    let mut cmd = cluster.erl("beam_cookie", "not_the_cookie", &["node", &node.name]);
    cmd.args(["-kernel", "net_setuptime", "5"]);
    let out = util::run_command(cmd, "`erl`");
    assert!(out.stdout.contains("FAILED error:badarg"), "{}", out.stdout);
    wait_until("the refusal is logged", Duration::from_secs(5), || node.log().contains("wrong cookie"));
    assert!(node.log().contains("refused a connection from beam_cookie@"), "{}", node.log());
}

#[test]
fn a_dead_porthost_node_gives_each_owner_noconnection() {
    let cluster = Cluster::start();
    let mut node = cluster.porthost("ph_dies");
    let mut erl = Reaped(cluster.erl("beam_dies", cluster.cookie, &["disconnect_node", &node.name]).stdout(Stdio::piped()).spawn().unwrap());
    let mut out = BufReader::new(erl.0.stdout.take().unwrap());
    line_starting(&mut out, "ready");
    node.child.0.kill().unwrap();
    node.child.0.wait().unwrap();
    let mut rest = String::from("ready\n");
    for _ in 0..3 {
        rest.push_str(&line_starting(&mut out, ""));
        rest.push('\n');
    }
    disconnect_lines(&rest);
    assert!(erl.0.wait().unwrap().success());
}

#[test]
fn a_dead_beam_node_leaves_nothing_on_the_porthost_node() {
    let cluster = Cluster::start();
    let node = cluster.porthost("ph_stays");
    let mut erl = Reaped(cluster.erl("beam_goes", cluster.cookie, &["hold_node", &node.name]).stdout(Stdio::piped()).spawn().unwrap());
    let mut out = BufReader::new(erl.0.stdout.take().unwrap());
    assert_eq!(line_starting(&mut out, "{open,"), "{open,[120],[121]}");
    let pid = node.child.0.id();
    let workers = children_of(pid);
    assert_eq!(workers.len(), 1, "the {{isolated, port}} port has its worker");
    erl.0.kill().unwrap();
    erl.0.wait().unwrap();
    wait_until("the session's ports close and the worker ends", Duration::from_secs(10), || !alive(workers[0]));
    wait_until("the disconnect is logged", Duration::from_secs(5), || node.log().contains("beam_goes@") && node.log().contains("disconnected"));
    assert!(alive(pid), "the porthost node serves on");
}

#[test]
fn fifty_processes_drive_twenty_ports_each_on_one_node() {
    let cluster = Cluster::start();
    let node = cluster.porthost("ph_load");
    let t = Instant::now();
    let out = cluster.beam_ops("beam_load", &["load_node", &node.name, "50", "20", "40"]);
    assert!(out.starts_with("{load,40000,0,[]}\n"), "{out}");
    assert!(t.elapsed() < Duration::from_secs(60), "took {:?}", t.elapsed());
}

#[test]
fn the_node_will_not_start_without_a_cookie() {
    let home = util::tmp_dir().join("beam_no_cookie_home");
    std::fs::create_dir_all(&home).unwrap();
    let _ = std::fs::remove_file(home.join(".erlang.cookie"));
    let node = |home: &Path| {
        let mut cmd = Command::new(porthost_exe());
        cmd.args(["node", "--sname", "ph_no_cookie"]).env("HOME", home).env("ERL_EPMD_PORT", "1");
        util::run_command(cmd, "porthost node")
    };
    let out = node(&home);
    assert!(out.status != 0 && out.stderr.contains("no --cookie"), "{}", out.stderr);
    // A cookie file others can read is refused, as OTP refuses it.
    let file = home.join(".erlang.cookie");
    std::fs::write(&file, "readable_by_all\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = node(&home);
    assert!(out.status != 0 && out.stderr.contains("accessible by its owner only"), "{}", out.stderr);
    // Read by its owner only, it is used (EPMD on port 1 is then what fails).
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o400)).unwrap();
    let out = node(&home);
    assert!(out.status != 0 && out.stderr.contains("EPMD on 127.0.0.1:1"), "{}", out.stderr);
}

fn signal(pid: u32, sig: &str) {
    let st = Command::new("kill").args([sig, &pid.to_string()]).status().unwrap();
    assert!(st.success(), "kill {sig} {pid}");
}

#[test]
fn a_stopped_beam_node_is_dropped_after_net_ticktime() {
    let cluster = Cluster::start();
    let node = cluster.porthost_with("ph_tick", &["--net-ticktime", "2"]);
    let mut cmd = cluster.erl("beam_stops", cluster.cookie, &["hold_node", &node.name]);
    cmd.args(["-kernel", "net_ticktime", "2"]);
    let mut erl = Reaped(cmd.stdout(Stdio::piped()).spawn().unwrap());
    let mut out = BufReader::new(erl.0.stdout.take().unwrap());
    assert_eq!(line_starting(&mut out, "{open,"), "{open,[120],[121]}");
    let workers = children_of(node.child.0.id());
    assert_eq!(workers.len(), 1, "the {{isolated, port}} port has its worker");
    // Stopped, the node neither closes its connection nor ticks.
    signal(erl.0.id(), "-STOP");
    wait_until("the silent node is dropped and its worker ends", Duration::from_secs(30), || !alive(workers[0]));
    let log = node.log();
    assert!(log.contains("beam_stops@") && log.contains("(net_ticktime): connection closed"), "{log}");
    assert_eq!(log.matches("reason=noconnection").count(), 2, "both ports close with noconnection:\n{log}");
    assert!(alive(node.child.0.id()), "the porthost node serves on");
    signal(erl.0.id(), "-CONT");
}

#[test]
fn a_quiet_beam_node_keeps_its_ports_past_net_ticktime() {
    let cluster = Cluster::start();
    let node = cluster.porthost_with("ph_quiet", &["--net-ticktime", "2"]);
    let mut cmd = cluster.erl("beam_quiet", cluster.cookie, &["quiet_node", &node.name, "6"]);
    cmd.args(["-kernel", "net_ticktime", "2"]);
    let out = util::run_command(cmd, "`erl`");
    let stdout = util::strip_logger_reports(&out.stdout);
    // Three ticktimes without a request: the ticks alone keep both sides
    // connected, and the ports open.
    assert_eq!(stdout, "{open,[120],[121]}\n{still,[120],[121],true,no_exit}\n", "{}\n{}", out.stderr, node.log());
    let log = node.log();
    assert!(!log.contains("net_ticktime"), "{log}");
}

#[test]
fn a_call_longer_than_net_ticktime_keeps_its_connection() {
    let cluster = Cluster::start();
    let node = cluster.porthost_with("ph_long_call", &["--net-ticktime", "2"]);
    let mut cmd = cluster.erl("beam_long_call", cluster.cookie, &["long_call_node", &node.name, "5000"]);
    cmd.args(["-kernel", "net_ticktime", "2"]);
    let out = util::run_command(cmd, "`erl`");
    // The session reads nothing for 5 s, but the peer's ticks arrive.
    assert_eq!(util::strip_logger_reports(&out.stdout), "{long_call,[115,108,101,112,116],true,[111,107]}\n", "{}\n{}", out.stderr, node.log());
    assert!(!node.log().contains("net_ticktime"), "{}", node.log());
}

#[test]
fn a_beam_node_killed_during_a_call_leaves_nothing_behind() {
    let cluster = Cluster::start();
    let node = cluster.porthost("ph_mid_call");
    let mut erl = Reaped(cluster.erl("beam_mid_call", cluster.cookie, &["call_node", &node.name, "1500"]).stdout(Stdio::piped()).spawn().unwrap());
    let mut out = BufReader::new(erl.0.stdout.take().unwrap());
    line_starting(&mut out, "calling");
    let pid = node.child.0.id();
    let workers = children_of(pid);
    assert_eq!(workers.len(), 1, "the {{isolated, port}} port has its worker");
    erl.0.kill().unwrap();
    erl.0.wait().unwrap();
    // The calls finish, their replies go nowhere, the ports close.
    wait_until("the worker ends", Duration::from_secs(30), || !alive(workers[0]));
    wait_until("both ports close", Duration::from_secs(10), || node.log().matches("reason=noconnection").count() == 2);
    assert!(alive(pid), "the porthost node serves on");
    // And it still serves.
    let out = cluster.beam_ops("beam_after", &["hold_then_quit", &node.name]);
    assert_eq!(out, "{open,[120],[121]}\n");
}

#[test]
fn a_beam_node_uses_two_porthost_nodes_and_two_beam_nodes_share_one() {
    let cluster = Cluster::start();
    let (a, b) = (cluster.porthost("ph_share_a"), cluster.porthost("ph_share_b"));
    // One BEAM node holds ports on A while another uses A and B.
    let mut holder = Reaped(cluster.erl("beam_holder", cluster.cookie, &["hold_node", &a.name]).stdout(Stdio::piped()).spawn().unwrap());
    let mut out = BufReader::new(holder.0.stdout.take().unwrap());
    assert_eq!(line_starting(&mut out, "{open,"), "{open,[120],[121]}");
    let got = cluster.beam_ops("beam_spread", &["spread", &a.name, &b.name]);
    assert_eq!(got, "[[111,110,101],[116,119,111]]\n[<<116,111,32,111,110,101>>,<<116,111,32,116,119,111>>]\n[true,true]\ntrue\n");
    let log = a.log();
    assert!(log.contains("beam_holder@") && log.contains("beam_spread@"), "{log}");
    // The holder's ports are still there: its session is its own.
    assert_eq!(children_of(a.child.0.id()).len(), 1, "{log}");
}
