//! External-program ports through the Rust API: porthost's options beyond
//! ERTS (which ERTS refuses, so the differential scripts `ext_*` cannot
//! cover them) and the absence of orphans, zombies and leaked descriptors.

use std::time::{Duration, Instant};

use porthost::{Host, HostConfig, PortId, Process, Term};

const WAIT: Option<Duration> = Some(Duration::from_secs(10));

fn a(s: &str) -> Term {
    Term::atom(s)
}

fn tuple(items: Vec<Term>) -> Term {
    Term::Tuple(items)
}

fn open(p: &Process, cmd: &str, opts: Vec<Term>) -> PortId {
    p.open_port(&tuple(vec![a("spawn"), Term::string(cmd)]), &opts).unwrap_or_else(|e| panic!("open_port {cmd}: {e}"))
}

/// `{spawn_executable, "/bin/sh"}` running `script` (`{spawn, Cmd}` runs
/// `sh -c "exec Cmd"`, which takes one command, not a script).
fn sh(p: &Process, script: &str, mut opts: Vec<Term>) -> PortId {
    opts.push(tuple(vec![a("args"), Term::List(vec![Term::string("-c"), Term::string(script)])]));
    p.open_port(&tuple(vec![a("spawn_executable"), Term::string("/bin/sh")]), &opts)
        .unwrap_or_else(|e| panic!("open_port sh -c {script}: {e}"))
}

/// The next message, as text (`{#Port<0.5>,{data,...}}`).
fn next(p: &Process) -> String {
    p.receive(WAIT).unwrap().map(|m| m.to_string()).unwrap_or_else(|| "timeout".into())
}

/// The bytes of a `{Port, {data, Bytes}}` or `{Port, {data, {eol, Line}}}`.
fn data(msg: &Term) -> Vec<u8> {
    let Term::Tuple(t) = msg else { panic!("not a port message: {msg}") };
    let Term::Tuple(d) = &t[1] else { panic!("not a port message: {msg}") };
    match &d[1] {
        Term::Tuple(line) => line[1].iolist_to_bytes().unwrap(),
        other => other.iolist_to_bytes().unwrap(),
    }
}

/// True while `pid` is a live process (a zombie counts as gone).
fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat.rsplit(')').next().unwrap_or("").trim_start().starts_with('Z'),
        Err(_) => false,
    }
}

fn wait_until(what: &str, mut ok: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ok() {
        assert!(start.elapsed() < Duration::from_secs(10), "timed out waiting: {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The children of this process that are zombies (exited, not reaped).
fn zombie_children() -> Vec<i32> {
    let me = std::process::id().to_string();
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else { continue };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { continue };
        let fields: Vec<&str> = stat.rsplit(')').next().unwrap_or("").split_whitespace().collect();
        if fields.first() == Some(&"Z") && fields.get(1) == Some(&me.as_str()) {
            out.push(pid);
        }
    }
    out
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// A shell whose child ignores SIGTERM and starts a grandchild that does
/// too; it prints both pids, one a line, then waits.
const STUBBORN: &str = "trap '' TERM; sh -c 'trap \"\" TERM; echo $$; exec sleep 100' & echo $$; wait";

fn two_pids(p: &Process) -> (i32, i32) {
    let mut pids = Vec::new();
    while pids.len() < 2 {
        let m = p.receive(WAIT).unwrap().expect("a pid line");
        pids.push(String::from_utf8(data(&m)).unwrap().trim().parse::<i32>().unwrap());
    }
    (pids[0], pids[1])
}

#[test]
fn kill_timeout_kills_a_child_that_ignores_sigterm_and_its_grandchildren() {
    let h = Host::new(HostConfig::default());
    let p = h.spawn_process();
    let port = sh(&p, STUBBORN, vec![tuple(vec![a("line"), Term::Int(64)]), tuple(vec![a("kill_timeout"), Term::Int(200)])]);
    let (x, y) = two_pids(&p);
    assert!(alive(x) && alive(y));
    let closed = Instant::now();
    p.port_close(port).unwrap();
    // SIGTERM is ignored, so both live until SIGKILL, 200 ms later.
    std::thread::sleep(Duration::from_millis(50));
    assert!(alive(x) && alive(y), "SIGTERM came, and was ignored");
    wait_until("the child and its grandchild die", || !alive(x) && !alive(y));
    assert!(closed.elapsed() >= Duration::from_millis(190), "SIGKILL came after kill_timeout");
}

#[test]
fn without_kill_timeout_a_child_outlives_its_port_as_in_erts() {
    let h = Host::new(HostConfig::default());
    let p = h.spawn_process();
    let port = sh(&p, "trap '' TERM; echo $$; exec sleep 3", vec![tuple(vec![a("line"), Term::Int(64)])]);
    let m = p.receive(WAIT).unwrap().expect("the pid");
    let pid: i32 = String::from_utf8(data(&m)).unwrap().trim().parse().unwrap();
    p.port_close(port).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert!(alive(pid), "ERTS leaves the child running");
    wait_until("the child exits by itself, and is reaped", || !alive(pid));
}

#[test]
fn host_config_kill_timeout_is_every_external_port_default() {
    let h = Host::new(HostConfig::default().kill_timeout(Some(Duration::from_millis(100))));
    let p = h.spawn_process();
    let port = sh(&p, STUBBORN, vec![tuple(vec![a("line"), Term::Int(64)])]);
    let (x, y) = two_pids(&p);
    p.port_close(port).unwrap();
    wait_until("the child and its grandchild die", || !alive(x) && !alive(y));
}

#[test]
fn the_owner_exit_kills_the_children_of_a_port_with_kill_timeout() {
    let h = Host::new(HostConfig::default());
    let owner = h.spawn_process();
    sh(&owner, STUBBORN, vec![tuple(vec![a("line"), Term::Int(64)]), tuple(vec![a("kill_timeout"), Term::Int(50)])]);
    let (x, y) = two_pids(&owner);
    drop(owner);
    wait_until("the child and its grandchild die", || !alive(x) && !alive(y));
}

#[test]
fn stderr_messages_arrive_apart_from_stdout() {
    let h = Host::new(HostConfig::default());
    let p = h.spawn_process();
    let port = sh(&p, "echo out; echo err >&2", vec![a("stderr_messages"), a("binary")]);
    let mut got = vec![next(&p), next(&p)];
    got.sort();
    let pt = Term::Port(port);
    assert_eq!(got, vec![format!("{{{pt},{{data,<<111,117,116,10>>}}}}"), format!("{{{pt},{{stderr,<<101,114,114,10>>}}}}")]);
}

#[test]
fn close_input_gives_the_child_eof_and_its_output_still_arrives() {
    let h = Host::new(HostConfig::default());
    let p = h.spawn_process();
    let port = sh(&p, "cat; echo done", vec![a("exit_status"), a("binary")]);
    p.port_command(port, &Term::string("abc")).unwrap();
    p.close_input(port).unwrap();
    let mut out = Vec::new();
    loop {
        let m = p.receive(WAIT).unwrap().expect("a message");
        if m.to_string().contains("exit_status") {
            assert_eq!(m.to_string(), format!("{{{},{{exit_status,0}}}}", Term::Port(port)));
            break;
        }
        out.extend(data(&m));
    }
    assert_eq!(out, b"abcdone\n");
}

#[test]
fn close_input_on_a_driver_port_is_badarg() {
    let h = Host::new(HostConfig::default());
    let p = h.spawn_process();
    let port = p.open_port_driver("echo_drv", &[]).unwrap();
    assert!(p.close_input(port).is_err());
}

/// `port_info(Port, input)`: the bytes the port has delivered.
fn input(p: &Process, port: PortId) -> i64 {
    match p.port_info_item(port, &a("input")).unwrap() {
        Term::Tuple(ref t) => t[1].as_int().unwrap(),
        other => panic!("port_info input: {other}"),
    }
}

#[test]
fn max_pending_bounds_what_a_child_writing_at_full_speed_can_queue() {
    let h = Host::new(HostConfig::default());
    let p = h.spawn_process();
    let port = open(&p, "yes", vec![tuple(vec![a("max_pending"), Term::Int(4)]), a("binary")]);
    // The owner reads nothing: reading stops once 4 messages wait (one
    // read, at most 64 KiB, can pass that by a few).
    std::thread::sleep(Duration::from_millis(300));
    let held = input(&p, port);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(input(&p, port), held, "the child's output is not read while 4 messages wait");
    assert!(held > 0 && held <= 8 * 65536, "{held} bytes delivered");
    // Received, they let the child go on.
    for _ in 0..100 {
        p.receive(WAIT).unwrap().expect("the child goes on once its messages are received");
    }
    assert!(input(&p, port) > held);
    p.port_close(port).unwrap();
}

#[test]
fn closed_external_ports_leave_no_descriptor_and_no_zombie() {
    let h = Host::new(HostConfig::default());
    let p = h.spawn_process();
    // Warm up the engine's shared thread and the host's, and the guardian
    // (its pipe stays open: it is started by the first child with a
    // kill_timeout, and lives as long as porthost).
    let w = open(&p, "true", vec![tuple(vec![a("kill_timeout"), Term::Int(0)])]);
    let _ = p.port_close(w);
    std::thread::sleep(Duration::from_millis(100));
    let fds = open_fds();
    for i in 0..20 {
        let port = open(&p, "cat", vec![a("exit_status")]);
        p.port_command(port, &Term::string("x")).unwrap();
        if i % 2 == 0 {
            p.port_close(port).unwrap();
        } else {
            // Left to end by itself: EOF on its input from close_input.
            p.close_input(port).unwrap();
        }
    }
    // A child that dies at once, and one that is killed.
    let _ = sh(&p, "exit 3", vec![a("exit_status")]);
    let k = sh(&p, "echo $$; exec sleep 100", vec![tuple(vec![a("line"), Term::Int(16)]), tuple(vec![a("kill_timeout"), Term::Int(0)])]);
    while !p.receive(WAIT).unwrap().is_some_and(|m| m.to_string().contains("eol")) {}
    p.port_close(k).unwrap();
    wait_until("every descriptor is closed", || open_fds() <= fds);
    wait_until("every child is reaped", || zombie_children().is_empty());
}

#[test]
fn a_missing_program_is_enoent_and_the_host_goes_on() {
    let h = Host::new(HostConfig::default());
    let p = h.spawn_process();
    let e = p.open_port(&tuple(vec![a("spawn_executable"), Term::string("/nonexistent/prog")]), &[]).unwrap_err();
    assert_eq!(e.to_exception().1.to_string(), "enoent");
    let plain = std::env::temp_dir().join(format!("porthost-not-executable-{}", std::process::id()));
    std::fs::write(&plain, "not a program").unwrap();
    let e = p.open_port(&tuple(vec![a("spawn_executable"), Term::string(plain.to_str().unwrap())]), &[]).unwrap_err();
    let _ = std::fs::remove_file(&plain);
    assert_eq!(e.to_exception().1.to_string(), "eacces");
    let port = open(&p, "echo ok", vec![a("binary")]);
    assert_eq!(next(&p), format!("{{{},{{data,<<111,107,10>>}}}}", Term::Port(port)));
}
