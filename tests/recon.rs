//! recon's port view (issue 15): `recon:port_info/1,2` and
//! `recon:port_types/0` against real recon, rankings against known
//! traffic, the port limit, the control socket, `porthost top`.
//!
//! # recon's golden files
//! recon is not in Debian's packages and CI cannot fetch it, so each
//! script in `tests/recon/` has a golden file, `tests/recon/NAME.recon`:
//! what the script prints under ERTS with the real recon loaded
//! (normalised as the differential tests normalise). The test compares
//! porthost's output with it. To regenerate the golden files from real
//! recon, give the directory of a recon checkout (its `src/recon.erl` and
//! `src/recon_lib.erl` are compiled with `erlc` into the test's temporary
//! directory):
//!
//! ```sh
//! PORTHOST_RECON_SRC=/path/to/recon PORTHOST_BLESS=1 cargo test --test tests recon::
//! ```
//!
//! With `PORTHOST_RECON_SRC` and without `PORTHOST_BLESS`, the test also
//! runs the script under ERTS and real recon and fails if that differs
//! from the golden file. The golden files were made with ferd/recon at
//! commit fcbdf76 (2.5.x) and OTP 25.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use porthost::recon::Attr;
use porthost::{Host, HostConfig, Term};

use crate::util::{self, Header};

fn recon_dir() -> PathBuf {
    util::repo_dir().join("tests/recon")
}

/// Compiles recon from `PORTHOST_RECON_SRC` (a checkout: `src/*.erl`, or a
/// directory holding the two files), once; its ebin directory.
fn recon_ebin() -> Option<PathBuf> {
    static EBIN: std::sync::OnceLock<Option<PathBuf>> = std::sync::OnceLock::new();
    EBIN.get_or_init(|| {
        let src = PathBuf::from(std::env::var_os("PORTHOST_RECON_SRC")?);
        let ebin = util::tmp_dir().join("recon_ebin");
        std::fs::create_dir_all(&ebin).unwrap();
        for m in ["recon", "recon_lib"] {
            let file = [src.join("src").join(format!("{m}.erl")), src.join(format!("{m}.erl"))]
                .into_iter()
                .find(|p| p.is_file())
                .unwrap_or_else(|| panic!("PORTHOST_RECON_SRC={}: no {m}.erl there", src.display()));
            let st = Command::new("erlc").arg("-o").arg(&ebin).arg(&file).status().expect("erlc");
            assert!(st.success(), "erlc {} failed", file.display());
        }
        Some(ebin)
    })
    .clone()
}

fn instantiate(name: &str, header: Header) -> PathBuf {
    let src = std::fs::read_to_string(recon_dir().join(format!("{name}.erl"))).unwrap();
    let text = src.replace("@BUNDLED@", util::bundled_dir(header).to_str().unwrap());
    let dir = util::tmp_dir().join("recon").join(format!("{header:?}"));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}.erl"));
    std::fs::write(&path, text).unwrap();
    path
}

fn with_status(stdout: &str, status: i32) -> String {
    format!("{}exit status: {status}\n", util::normalize(stdout))
}

fn check_recon_script(name: &str) {
    let golden_path = recon_dir().join(format!("{name}.recon"));
    if let Some(ebin) = recon_ebin() {
        let script = instantiate(name, Header::Otp);
        let mut cmd = Command::new("escript");
        cmd.arg(util::shared_dir().join("erlrun.escript")).arg(&script);
        cmd.env("ERL_FLAGS", format!("-pa {}", ebin.display()));
        let out = util::run_command(cmd, "escript with recon");
        let erts = with_status(&util::strip_logger_reports(&out.stdout), out.status);
        if std::env::var_os("PORTHOST_BLESS").is_some() {
            std::fs::write(&golden_path, &erts).unwrap();
        } else {
            let golden = std::fs::read_to_string(&golden_path).unwrap_or_default();
            assert_eq!(golden, erts, "real recon's output differs from {}", golden_path.display());
        }
    }
    let golden = std::fs::read_to_string(&golden_path)
        .unwrap_or_else(|e| panic!("{}: {e} (see tests/recon.rs to make it)", golden_path.display()));
    let script = instantiate(name, Header::Own);
    let out = util::porthost_run_full(&script, &[]);
    let got = with_status(&out.stdout, out.status);
    assert!(
        got == golden,
        "porthost differs from recon under ERTS (- recon, + porthost):\n{}\nstderr: {}",
        util::line_diff(&golden, &got),
        out.stderr
    );
}

#[test]
fn recon_port_info_matches_real_recon() {
    check_recon_script("port_info");
}

fn echo_host() -> Host {
    Host::new(HostConfig::default())
}

#[test]
fn port_count_ranks_known_traffic() {
    let host = echo_host();
    let owner = host.spawn_process();
    let ports: Vec<_> = (0..4).map(|_| owner.open_port_driver("echo_drv", &[Term::atom("binary")]).unwrap()).collect();
    // Port i gets i + 1 commands of 10 * (i + 1) bytes each.
    for (i, p) in ports.iter().enumerate() {
        for _ in 0..=i {
            owner.port_command(*p, &Term::binary(&vec![b'x'; 10 * (i + 1)])).unwrap();
        }
    }
    for _ in 0..10 {
        owner.receive(Some(Duration::from_secs(5))).unwrap().expect("an echo");
    }
    let top = host.port_count(Attr::Output, 2);
    let got: Vec<_> = top.iter().map(|r| (r.port, r.value, r.counters.commands)).collect();
    assert_eq!(got, [(ports[3], 160, 4), (ports[2], 90, 3)]);
    let io = host.port_count(Attr::Io, 10);
    assert_eq!(io.len(), 4);
    assert_eq!(io[0].value, 320);
    assert_eq!(io[3].port, ports[0]);
    let msgs = host.port_count(Attr::Messages, 1);
    assert_eq!((msgs[0].port, msgs[0].value), (ports[3], 4));
    assert!(host.port_count(Attr::Input, 0).is_empty());
}

#[test]
fn port_window_counts_new_ports_from_zero_and_leaves_out_closed_ones() {
    let host = echo_host();
    let owner = host.spawn_process();
    let quiet = owner.open_port_driver("echo_drv", &[Term::atom("binary")]).unwrap();
    let busy = owner.open_port_driver("echo_drv", &[Term::atom("binary")]).unwrap();
    let doomed = owner.open_port_driver("echo_drv", &[Term::atom("binary")]).unwrap();
    // Traffic before the window does not count.
    owner.port_command(quiet, &Term::binary(&[0; 1000])).unwrap();
    owner.port_command(doomed, &Term::binary(&[0; 5000])).unwrap();
    let h2 = host.clone();
    let during = std::thread::spawn(move || {
        let p = h2.spawn_process();
        std::thread::sleep(Duration::from_millis(150));
        // Inside the window: busy gets 300 bytes, a new port 50, doomed
        // (5,000 bytes before the window) closes.
        let newp = p.open_port_driver("echo_drv", &[Term::atom("binary")]).unwrap();
        p.port_command(newp, &Term::binary(&[0; 50])).unwrap();
        p.port_command(busy, &Term::binary(&[0; 300])).unwrap();
        p.port_close(doomed).unwrap();
        (p, newp)
    });
    let w = host.port_window(Attr::Output, 10, Duration::from_millis(400));
    let (_p, newp) = during.join().unwrap();
    let got: Vec<_> = w.iter().map(|r| (r.port, r.value)).collect();
    assert_eq!(got, [(busy, 300), (newp, 50), (quiet, 0)]);
    // The counters are the second sample's totals.
    assert_eq!(w[2].counters.output, 1000);
}

#[test]
fn scripts_rank_ports_and_read_the_port_limit() {
    let script = util::tmp_dir().join("recon_rank.erl");
    std::fs::write(
        &script,
        r#"A = open_port({spawn_driver, "echo_drv"}, [binary]).
B = open_port({spawn_driver, "echo_drv"}, [binary]).
port_command(A, <<"12345">>), port_command(B, <<"1">>), port_command(B, <<"2">>).
[{P, V} || {P, V, _} <- porthost:port_count(output, 5)] =:= [{A, 5}, {B, 2}].
[{P, V} || {P, V, _} <- porthost:port_count(commands, 1)] =:= [{B, 2}].
spawn(fun() -> receive after 20 -> port_command(A, <<"x">>) end end), [{A, 1, _}] = porthost:port_window(output, 1, 300), ok.
erlang:system_info(port_limit).
erlang:system_info(port_count).
porthost:port_count(bogus, 3).
"#,
    )
    .unwrap();
    let (out, status) = util::porthost_run(&script, &[]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(status, 1, "{out}");
    assert_eq!(&lines[3..], ["true", "true", "ok", "65536", "2", "error: {error,badarg}"], "{out}");
}

#[test]
fn port_limit_raises_system_limit_as_erts() {
    // erl +Q 1024: the 1,022nd open_port of a script raises system_limit
    // there (ERTS's own 3 ports count); porthost has none of its own.
    let host = Host::new(HostConfig::default().port_limit(1000));
    assert_eq!(host.port_limit(), 1024);
    assert_eq!(Host::new(HostConfig::default()).port_limit(), 65_536);
    assert_eq!(Host::new(HostConfig::default().port_limit(1500)).port_limit(), 2048);
    let owner = host.spawn_process();
    for _ in 0..1024 {
        owner.open_port_driver("echo_drv", &[]).unwrap();
    }
    let err = owner.open_port_driver("echo_drv", &[]).unwrap_err();
    assert_eq!(err.to_string(), "system_limit: too many ports");
    let e = owner.open_port(&Term::tuple(vec![Term::atom("spawn"), Term::string("cat")]), &[]).unwrap_err();
    assert!(matches!(e, porthost::BifError::SystemLimit), "{e}");
}

#[test]
fn per_driver_limit() {
    let host = Host::new(HostConfig::default().driver_port_limits(vec![("echo_drv".into(), 2)]));
    let owner = host.spawn_process();
    let a = owner.open_port_driver("echo_drv", &[]).unwrap();
    owner.open_port_driver("echo_drv", &[]).unwrap();
    assert!(matches!(owner.open_port_driver("echo_drv", &[]), Err(porthost::BifError::SystemLimit)));
    // Other drivers are not limited; a closed port frees its place.
    owner.open_port_driver("queue_drv", &[]).unwrap();
    owner.port_close(a).unwrap();
    owner.open_port_driver("echo_drv", &[]).unwrap();
}

#[test]
fn port_limit_in_a_script_matches_erts_error() {
    let script = util::tmp_dir().join("recon_limit.erl");
    std::fs::write(
        &script,
        "Open = fun Loop(0) -> ok; Loop(N) -> open_port({spawn_driver, \"echo_drv\"}, []), Loop(N - 1) end, ok.\n\
         Open(1024).\nerlang:system_info(port_limit).\nOpen(1).\n",
    )
    .unwrap();
    let (out, status) = util::porthost_run(&script, &["--port-limit", "1024"]);
    assert_eq!((out.as_str(), status), ("ok\nok\n1024\nerror: {error,system_limit}\n", 1));
    let (out, status) = util::porthost_run(&script, &["+Q", "1500"]);
    assert_eq!((out.as_str(), status), ("ok\nok\n2048\nok\n", 0));
}

#[test]
fn driver_memory_is_counted_against_its_port() {
    // echo_drv allocates its state in `start` with driver_alloc, and a
    // control answer over 64 bytes in a driver_alloc buffer that the host
    // frees: the first counts, the second comes and goes.
    let script = util::tmp_dir().join("recon_mem.erl");
    std::fs::write(
        &script,
        "P = open_port({spawn_driver, \"echo_drv\"}, []).\n\
         Mem = fun() -> {memory, L} = lists:keyfind(memory, 1, porthost:port_stats(P)), element(2, lists:keyfind(driver_alloc, 1, L)) end, ok.\n\
         D = Mem(), D > 0.\n\
         length(port_control(P, 0, lists:duplicate(100, $a))).\n\
         Mem() =:= D.\n\
         {memory, M} = erlang:port_info(P, memory), M > D.\n",
    )
    .unwrap();
    let (out, status) = util::porthost_run(&script, &[]);
    assert_eq!((out.as_str(), status), ("#Port<0.5>\nok\ntrue\n100\ntrue\ntrue\n", 0));
}

/// A `porthost run` of a script that keeps two ports open for a while,
/// with a control socket.
struct Running {
    child: std::process::Child,
    sock: PathBuf,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_host(tag: &str, seconds: u32) -> Running {
    let dir = util::tmp_dir().join(format!("control_{tag}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let sock = dir.join("porthost.sock");
    let script = dir.join("keep.erl");
    std::fs::write(
        &script,
        format!(
            "P = open_port({{spawn_driver, \"echo_drv\"}}, [binary]).\nport_command(P, \"hello\").\n\
             Q = open_port({{spawn, \"cat\"}}, [binary]).\nport_command(Q, <<\"abcdefgh\">>).\n\
             port_command(Q, <<\"ij\">>).\nready.\nreceive after {} -> ok end.\n",
            seconds * 1000
        ),
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_porthost"))
        .arg("--control")
        .arg(&sock)
        .arg("run")
        .arg(&script)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Wait for the script to say it is ready.
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut line = String::new();
    while Instant::now() < deadline {
        line.clear();
        if out.read_line(&mut line).unwrap() == 0 || line.trim() == "ready" {
            break;
        }
    }
    assert_eq!(line.trim(), "ready");
    Running { child, sock }
}

fn porthost(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_porthost")).args(args).output().unwrap()
}

#[test]
fn ports_connect_lists_a_running_hosts_ports() {
    let h = start_host("ports", 30);
    let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&h.sock).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600);
    let sock = h.sock.to_str().unwrap();
    let out = porthost(&["ports", "--connect", sock]);
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(lines[0].starts_with("PORT"));
    let cols = |l: &str| l.split_whitespace().map(str::to_owned).collect::<Vec<_>>();
    // echo_drv: 5 bytes each way (once the echo is back), 1 command.
    let echo = cols(lines[1]);
    assert_eq!((echo[0].as_str(), echo[1].as_str(), echo[3].as_str(), echo[4].as_str(), echo[8].as_str()), ("#Port<0.5>", "driver", "5", "1", "echo_drv"));
    let cat = cols(lines[2]);
    assert_eq!((cat[1].as_str(), cat[3].as_str(), cat[4].as_str(), cat[8].as_str()), ("external", "10", "2", "cat"));
    let out = porthost(&["ports", "--connect", sock, "--json", "--sort", "output"]);
    let json = String::from_utf8(out.stdout).unwrap();
    assert!(json.starts_with("[{\"port\":\"#Port<0.6>\",\"id\":6,\"kind\":\"external\",\"name\":\"cat\""), "{json}");
    // The library client, and one port's full info.
    let mut c = porthost::ControlClient::connect(&h.sock).unwrap();
    assert_eq!(c.ports().unwrap().len(), 2);
    let info = c.info(6).unwrap().unwrap();
    assert!(info.contains("{kind,external}") && info.contains("{os_process,[{pid,"), "{info}");
    assert_eq!(c.info(99).unwrap(), None);
}

fn run_as_nobody(args: &[&str]) -> Option<std::process::Output> {
    let setpriv = ["/usr/bin/setpriv", "/bin/setpriv"].into_iter().find(|p| Path::new(p).exists())?;
    if unsafe_free_euid() != 0 {
        return None;
    }
    let mut cmd = Command::new(setpriv);
    cmd.args(["--reuid=nobody", "--regid=nogroup", "--clear-groups", env!("CARGO_BIN_EXE_porthost")]).args(args);
    cmd.output().ok()
}

/// The effective uid, read from /proc (no `unsafe` in the tests).
fn unsafe_free_euid() -> u32 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
    line.split_whitespace().nth(2).unwrap().parse().unwrap()
}

#[test]
fn control_socket_refuses_another_user() {
    let h = start_host("nobody", 30);
    // The socket and its directory must be reachable by `nobody` for the
    // second check to be the one that refuses.
    let sock = h.sock.to_str().unwrap();
    let Some(out) = run_as_nobody(&["ports", "--connect", sock]) else {
        eprintln!("not root or no setpriv: only the unit test of SO_PEERCRED runs");
        return;
    };
    assert!(!out.status.success());
    // Mode 0600 stops it at connect...
    assert!(String::from_utf8_lossy(&out.stderr).contains("Permission denied"), "{out:?}");
    // ...and with the mode opened up, SO_PEERCRED still does.
    use std::os::unix::fs::PermissionsExt;
    let reachable = h.sock.ancestors().skip(1).all(|d| std::fs::metadata(d).is_ok_and(|m| m.permissions().mode() & 0o001 != 0));
    if !reachable {
        eprintln!("{}: a directory above is closed to others: the SO_PEERCRED half is not exercised", h.sock.display());
        return;
    }
    std::fs::set_permissions(&h.sock, std::fs::Permissions::from_mode(0o666)).unwrap();
    let out = run_as_nobody(&["ports", "--connect", sock]).unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("permission denied"), "{out:?}");
    // The owner still gets in.
    assert!(porthost(&["ports", "--connect", sock]).status.success());
}

fn tmux(args: &[&str]) -> Option<String> {
    let out = Command::new("tmux").args(args).output().ok()?;
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn capture(session: &str, want: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let screen = tmux(&["capture-pane", "-p", "-t", session]).unwrap_or_default();
        if screen.contains(want) || Instant::now() > deadline {
            return screen;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn top_runs_under_tmux() {
    if tmux(&["-V"]).is_none() {
        eprintln!("tmux is not installed: porthost top is not exercised");
        return;
    }
    let h = start_host("top", 60);
    let session = format!("porthost-top-{}", std::process::id());
    let cmd = format!("{} top --connect {} --interval 200", env!("CARGO_BIN_EXE_porthost"), h.sock.display());
    let ok = Command::new("tmux")
        .args(["new-session", "-d", "-s", &session, "-x", "140", "-y", "30", &cmd])
        .status()
        .unwrap()
        .success();
    assert!(ok);
    struct Kill(String);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = Command::new("tmux").args(["kill-session", "-t", &self.0]).status();
        }
    }
    let _kill = Kill(session.clone());
    let screen = capture(&session, "echo_drv");
    assert!(screen.contains("porthost top — 2 ports — sorted by io rate"), "{screen}");
    assert!(screen.contains("#Port<0.5>") && screen.contains("cat"), "{screen}");
    if let Some(path) = std::env::var_os("PORTHOST_TOP_CAPTURE") {
        std::fs::File::create(path).unwrap().write_all(screen.as_bytes()).unwrap();
    }
    // `r`: totals; `s`: next counter (io -> queue_size).
    tmux(&["send-keys", "-t", &session, "r"]);
    let screen = capture(&session, "sorted by io total");
    assert!(screen.contains("sorted by io total"), "{screen}");
    // By io total the cat port (20 bytes) comes before echo_drv (10).
    let cat_at = screen.find("cat").unwrap();
    let echo_at = screen.find("echo_drv").unwrap();
    assert!(cat_at < echo_at, "{screen}");
    tmux(&["send-keys", "-t", &session, "s"]);
    let screen = capture(&session, "sorted by queue_size");
    assert!(screen.contains("sorted by queue_size total"), "{screen}");
    // Enter: the selected port's full info.
    tmux(&["send-keys", "-t", &session, "Enter"]);
    let screen = capture(&session, "Esc to close");
    assert!(screen.contains("{counters,[{input,"), "{screen}");
    if let Some(path) = std::env::var_os("PORTHOST_TOP_CAPTURE") {
        let mut f = std::fs::OpenOptions::new().append(true).open(path).unwrap();
        f.write_all(b"\n").unwrap();
        f.write_all(screen.as_bytes()).unwrap();
    }
    tmux(&["send-keys", "-t", &session, "q"]);
}

#[test]
fn port_stats_shows_a_selected_listening_socket() {
    // select_drv's control $L listens on 127.0.0.1 and selects the socket.
    let script = util::tmp_dir().join("recon_socket.erl");
    std::fs::write(
        &script,
        format!(
            "erl_ddll:load_driver(\"{}\", select_drv).\n\
             P = open_port({{spawn_driver, \"select_drv desel\"}}, []).\n\
             TcpPort = list_to_integer(port_control(P, $L, \"\")), ok.\n\
             Stats = porthost:port_stats(P), ok.\n\
             {{selected, [{{Fd, [input]}}]}} = lists:keyfind(selected, 1, Stats), ok.\n\
             {{sockets, [{{Fd, Props}}]}} = lists:keyfind(sockets, 1, Stats), ok.\n\
             lists:keyfind(type, 1, Props).\n\
             {{sockname, {{{{127,0,0,1}}, TcpPort}}}} = lists:keyfind(sockname, 1, Props), ok.\n\
             lists:keyfind(peername, 1, Props).\n\
             {{tcp_info, TI}} = lists:keyfind(tcp_info, 1, Props), lists:keyfind(state, 1, TI).\n",
            util::drivers_dir(Header::Own).display()
        ),
    )
    .unwrap();
    let (out, status) = util::porthost_run(&script, &[]);
    // TCP_LISTEN is state 10.
    assert_eq!((out.as_str(), status), ("ok\n#Port<0.5>\nok\nok\nok\nok\n{type,stream}\nok\nfalse\n{state,10}\n", 0), "{out}");
}

#[test]
fn logs_are_off_by_default_and_on_with_log_or_rust_log() {
    let script = util::tmp_dir().join("recon_log.erl");
    std::fs::write(&script, "P = open_port({spawn_driver, \"echo_drv\"}, []).\nport_close(P).\n").unwrap();
    let quiet = util::porthost_run_full(&script, &[]);
    assert_eq!(quiet.stderr, "");
    let loud = util::porthost_run_full(&script, &["--log", "debug"]);
    assert!(loud.stderr.contains("driver loaded driver=\"echo_drv\""), "{}", loud.stderr);
    assert!(loud.stderr.contains("port opened port=#Port<0.5>"), "{}", loud.stderr);
    assert!(loud.stderr.contains("port closed port=#Port<0.5> name=echo_drv reason=normal"), "{}", loud.stderr);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_porthost"));
    cmd.arg("run").arg(&script).env("RUST_LOG", "porthost::ddll=info");
    let env = util::run_command(cmd, "porthost with RUST_LOG");
    assert!(env.stderr.contains("driver loaded") && !env.stderr.contains("port opened"), "{}", env.stderr);
}
