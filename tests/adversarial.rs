//! The adversarial suite (issue 12): hostile scripts, hostile terms,
//! misbehaving drivers in-process and isolated, resource exhaustion under
//! `prlimit`, a worker that corrupts its ring, floods atoms or messages,
//! hangs outside a request, forks and crashes, or is killed or stopped
//! from outside. Each case says what went wrong, if anything, in one of
//! four columns (the host crashed, hung, gave a wrong or unclear error,
//! lost data); `the_adversarial_suite_has_zeros_in_every_bad_column` runs
//! them all and prints the table. The cases that prove a fix also run as
//! tests of their own, named after what broke.
//!
//! Cases that could take the host down run it as a child (`porthost
//! run`); cases on isolated ports run the parent here, so a parent crash
//! ends the whole test run (and fails it).
use std::path::PathBuf;
use std::time::{Duration, Instant};

use porthost::{BifError, Host, HostConfig, PortId, Process, Term};

use crate::util::{drivers_dir, porthost_run_full, tmp_dir, Header, RunOutput};

/// What went wrong in a case (the text is printed in the table).
#[derive(Debug)]
#[allow(dead_code)]
enum Bad {
    Crashed(String),
    Hung(String),
    WrongError(String),
    Lost(String),
}

type Outcome = Result<(), Bad>;

const WATCHDOG: Duration = Duration::from_secs(2);

fn host() -> Host {
    host_with(WATCHDOG)
}

/// A host whose watchdog waits `t` (longer than a debug build takes for
/// the big cases).
fn host_with(t: Duration) -> Host {
    Host::new(
        HostConfig::default()
            .driver_paths(vec![drivers_dir(Header::Own).to_path_buf()])
            .worker_exe(Some(env!("CARGO_BIN_EXE_porthost").into()))
            .isolation_timeout(Some(t)),
    )
}

fn owner(h: &Host) -> Process {
    let p = h.spawn_process();
    p.set_trap_exit(true).unwrap();
    p
}

fn isolated(p: &Process, per_port: bool) -> PortId {
    let opt = if per_port { Term::tuple(vec![Term::atom("isolated"), Term::atom("port")]) } else { Term::atom("isolated") };
    p.open_port_driver("hostile_drv", &[opt]).expect("hostile_drv opens isolated")
}

/// The port's exit reason, skipping other messages; `Hung` after `within`.
fn exit_reason(p: &Process, port: PortId, within: Duration) -> Result<String, Bad> {
    let deadline = Instant::now() + within;
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match p.receive(Some(left)).unwrap() {
            Some(Term::Tuple(ref t)) if t.len() == 3 && t[0].is_atom("EXIT") && t[1] == Term::Port(port) => return Ok(t[2].to_string()),
            Some(m) => {
                let mut text = m.to_string();
                text.truncate(80);
                seen.push(text);
            }
            None => {
                seen.truncate(5);
                return Err(Bad::Hung(format!("no exit of the port within {within:?} (got {seen:?})")));
            }
        }
    }
}

fn expect_reason(p: &Process, port: PortId, within: Duration, want: &str) -> Outcome {
    let why = exit_reason(p, port, within)?;
    if why.starts_with(want) {
        Ok(())
    } else {
        Err(Bad::WrongError(format!("exit {why}, wanted {want}")))
    }
}

/// The host still opens and drives a port, in-process and isolated.
fn still_serves(h: &Host) -> Outcome {
    let p = owner(h);
    for opts in [vec![], vec![Term::atom("isolated")]] {
        let port = p.open_port_driver("echo_drv", &opts).map_err(|e| Bad::Crashed(format!("the host no longer opens ports: {e:?}")))?;
        let r = p.port_control(port, 0, &Term::string("ok")).map_err(|e| Bad::Crashed(format!("the host no longer answers: {e:?}")))?;
        if r.to_string() != "[111,107]" {
            return Err(Bad::WrongError(format!("echo answered {r}")));
        }
        let _ = p.port_close(port);
    }
    Ok(())
}

fn control(p: &Process, port: PortId, op: char, arg: &[u8]) -> Result<Term, BifError> {
    p.port_control(port, op as u32, &Term::binary(arg))
}

// ---------------------------------------------------------------- class 4

/// Bytes a hostile driver writes into the ring to the parent as one frame,
/// behind the worker's back.
fn garbage_frames() -> Vec<(&'static str, Vec<u8>)> {
    let mut deep = vec![131u8];
    for _ in 0..100_000 {
        deep.extend([104, 1]);
    }
    deep.extend([106]);
    vec![
        ("not the external format", b"\x01\x02garbage".to_vec()),
        ("a term that is no tuple", vec![131, 97, 1]),
        ("a tuple of no protocol tag", vec![131, 104, 3, 100, 0, 5, b'b', b'o', b'g', b'u', b's', 97, 1, 97, 2]),
        ("a reply with no id", vec![131, 104, 1, 100, 0, 5, b'r', b'e', b'p', b'l', b'y']),
        ("a zip bomb", vec![131, 80, 0x7f, 0xff, 0xff, 0xff, 120, 156, 203, 96, 0, 0, 0, 0]),
        ("a list claiming 2^32 elements", vec![131, 108, 255, 255, 255, 255, 106]),
        ("a tuple 100,000 deep", deep),
    ]
}

/// A worker whose driver writes `bytes` (or, with op `L`, a length far
/// over the limit; `h`, an impossible head) into its ring is killed, its
/// port exits with `{driver_crashed, corrupt_ring}`, and the parent lives.
fn corrupt_ring_case(op: char, bytes: &[u8]) -> Outcome {
    let h = host();
    let p = owner(&h);
    let port = isolated(&p, true);
    match control(&p, port, op, bytes) {
        Err(BifError::Badarg { .. }) => {}
        other => return Err(Bad::WrongError(format!("the control answered {other:?}"))),
    }
    expect_reason(&p, port, Duration::from_secs(10), "{driver_crashed,corrupt_ring}")?;
    still_serves(&h)
}

#[test]
fn garbage_a_worker_writes_into_its_ring_kills_the_worker_not_the_parent() {
    for (what, bytes) in garbage_frames() {
        corrupt_ring_case('w', &bytes).unwrap_or_else(|e| panic!("{what}: {e:?}"));
    }
    corrupt_ring_case('L', b"x").expect("a frame length over the limit");
    corrupt_ring_case('h', b"").expect("an impossible head");
}

/// Two workers sending 600,000 fresh atoms each (from a driver thread and
/// from a callback) are killed with `{driver_crashed, too_many_atoms}`
/// once past their share; the parent's atom table keeps room.
fn atom_flood_case() -> Outcome {
    let h = host_with(Duration::from_secs(60));
    let p = owner(&h);
    let a = isolated(&p, true);
    let b = isolated(&p, true);
    control(&p, a, 'A', b"600000").map_err(|e| Bad::WrongError(format!("{e:?}")))?;
    let _ = control(&p, b, 'a', b"600000");
    // Both exits, in whichever order they come.
    let mut left = vec![a, b];
    let deadline = Instant::now() + Duration::from_secs(60);
    while !left.is_empty() {
        let m = p.receive(Some(deadline.saturating_duration_since(Instant::now()))).unwrap().ok_or_else(|| Bad::Hung(format!("no exit of {left:?}")))?;
        if let Term::Tuple(ref t) = m {
            if let [tag, Term::Port(port), why] = t.as_slice() {
                if tag.is_atom("EXIT") && left.contains(port) {
                    if why.to_string() != "{driver_crashed,too_many_atoms}" {
                        return Err(Bad::WrongError(format!("exit {why}")));
                    }
                    left.retain(|x| x != port);
                }
            }
        }
    }
    // The parent can still make atoms of its own.
    porthost::Atom::try_new("adversarial_after_the_flood").map_err(|e| Bad::Crashed(format!("atom table: {e}")))?;
    still_serves(&h)
}

#[test]
fn workers_flooding_fresh_atoms_cannot_fill_the_parents_atom_table() {
    atom_flood_case().unwrap();
}

/// A term nested 200,000 deep from a worker's driver arrives whole.
fn deep_term_case() -> Outcome {
    let h = host_with(Duration::from_secs(60));
    let p = owner(&h);
    let port = isolated(&p, true);
    let r = control(&p, port, 'n', b"200000").map_err(|e| Bad::WrongError(format!("{e:?}")))?;
    if r.to_string() != "[49]" {
        return Err(Bad::WrongError(format!("erl_drv_output_term gave {r}")));
    }
    let m = p.receive(Some(Duration::from_secs(30))).unwrap().ok_or_else(|| Bad::Lost("the deep term".into()))?;
    let Term::Tuple(ref t) = m else { return Err(Bad::Lost(format!("got {m:?}"))) };
    let mut depth = 0;
    let mut at = &t[1];
    while let Term::Tuple(inner) = at {
        depth += 1;
        at = &inner[0];
    }
    if depth != 200_000 || !at.is_atom("x") {
        return Err(Bad::Lost(format!("depth {depth}, innermost {at:?}")));
    }
    let _ = p.port_close(port);
    still_serves(&h)
}

#[test]
fn a_term_200000_deep_from_a_worker_does_not_overflow_the_parent() {
    deep_term_case().unwrap();
}

// ---------------------------------------------------------------- class 5

/// Receives `{Port, {seq, I}}` until `{Port, {done, N}}`: every I in order
/// and N of them.
fn count_until_done(p: &Process, port: PortId) -> Result<(i64, i64), Bad> {
    let mut got = 0i64;
    loop {
        let m = p.receive(Some(Duration::from_secs(30))).unwrap().ok_or_else(|| Bad::Hung(format!("after {got} messages")))?;
        let Term::Tuple(ref t) = m else { continue };
        if !(2..=3).contains(&t.len()) || t[0] != Term::Port(port) {
            continue;
        }
        let Term::Tuple(ref body) = t[1] else { continue };
        match (body[0].as_atom().map(|a| a.name()), body[1].as_int()) {
            (Some("seq"), Some(i)) => {
                if i != got + 1 {
                    return Err(Bad::Lost(format!("message {} came after {got}", i)));
                }
                got = i;
            }
            (Some("done"), Some(n)) => return Ok((got, n)),
            _ => {}
        }
    }
}

/// 50,000 terms a driver thread sends at full speed: 50,000 received, in
/// order, in-process and isolated.
fn thread_output_case(isolate: bool) -> Outcome {
    let h = host();
    let p = owner(&h);
    let port = if isolate { isolated(&p, true) } else { p.open_port_driver("hostile_drv", &[]).unwrap() };
    control(&p, port, 'f', b"50000").map_err(|e| Bad::WrongError(format!("{e:?}")))?;
    let (got, sent) = count_until_done(&p, port)?;
    if (got, sent) != (50_000, 50_000) {
        return Err(Bad::Lost(format!("{got} received of {sent} sent")));
    }
    let _ = p.port_close(port);
    Ok(())
}

#[test]
fn fifty_thousand_terms_from_a_driver_thread_all_arrive() {
    thread_output_case(false).expect("in-process");
    thread_output_case(true).expect("isolated");
}

/// A thread floods for 3 s while its owner does not read: the worker is
/// held back (the parent holds at most MAX_PENDING messages plus a ring's
/// worth), and then every message arrives.
///
/// `big`: each message carries 64 KiB, so the bound is
/// `MAX_PENDING_BYTES` (1,024 such messages) plus the ring's 4; the thread
/// could send several times that in 3 s (the host grew to 1.4 GiB).
fn flood_case(big: bool) -> Outcome {
    let h = host();
    let p = owner(&h);
    let port = isolated(&p, true);
    control(&p, port, if big { 'B' } else { 'F' }, b"3000").map_err(|e| Bad::WrongError(format!("{e:?}")))?;
    std::thread::sleep(Duration::from_millis(3500));
    let sent = control(&p, port, 's', b"").map_err(|e| Bad::WrongError(format!("{e:?}")))?;
    let sent: i64 = sent.iter_bytes_text().parse().unwrap_or(-1);
    // A 256 KiB ring holds about 10,000 small frames, or 4 big ones.
    let bound = if big { (porthost::MAX_PENDING_BYTES / (64 << 10) + 16) as i64 } else { (porthost::MAX_PENDING + 40_000) as i64 };
    if !(0..=bound).contains(&sent) {
        return Err(Bad::Lost(format!("{sent} sent in 3 s to an owner that did not read: not held back (bound {bound})")));
    }
    let (got, total) = count_until_done(&p, port)?;
    if got != total || total < sent {
        return Err(Bad::Lost(format!("{got} received of {total} sent")));
    }
    let _ = p.port_close(port);
    Ok(())
}

#[test]
fn a_flood_against_an_owner_that_does_not_read_is_held_back_and_nothing_is_lost() {
    flood_case(false).expect("small messages");
    flood_case(true).expect("64 KiB messages");
}

// ---------------------------------------------------------------- class 6

/// A driver stuck in its `timeout` callback, outside any request, is
/// killed by the watchdog within about its time.
fn stuck_timeout_case() -> Outcome {
    let h = host();
    let p = owner(&h);
    let port = isolated(&p, true);
    let t0 = Instant::now();
    control(&p, port, 't', b"10").map_err(|e| Bad::WrongError(format!("{e:?}")))?;
    // Noticed within the watchdog time, give or take a loaded machine
    // (before, only the next request noticed, if one came).
    expect_reason(&p, port, WATCHDOG * 10, &format!("{{driver_timeout,{}}}", WATCHDOG.as_millis()))?;
    if t0.elapsed() > WATCHDOG + Duration::from_secs(8) {
        return Err(Bad::Hung(format!("noticed after {:?}", t0.elapsed())));
    }
    still_serves(&h)
}

#[test]
fn a_driver_stuck_in_timeout_outside_a_request_is_noticed_by_the_watchdog() {
    stuck_timeout_case().unwrap();
}

/// A driver that forks a helper (exec'd or not) and then aborts: the port
/// exits `{driver_crashed, sigabrt}` at once, although the helper lives on.
fn fork_and_crash_case(op: char) -> Outcome {
    let h = host();
    let p = owner(&h);
    let port = isolated(&p, true);
    let t0 = Instant::now();
    let _ = control(&p, port, op, b"");
    // At once, give or take a loaded machine; the helper lives 30 s.
    expect_reason(&p, port, Duration::from_secs(25), "{driver_crashed,sigabrt}")?;
    if t0.elapsed() > Duration::from_secs(10) {
        return Err(Bad::Hung(format!("the crash was seen after {:?}", t0.elapsed())));
    }
    still_serves(&h)
}

#[test]
fn a_driver_that_forks_a_helper_and_crashes_is_seen_dead_at_once() {
    fork_and_crash_case('k').expect("a helper that execs");
    fork_and_crash_case('K').expect("a helper that does not exec");
}

/// A worker killed (SIGKILL) or stopped (SIGSTOP) from outside while its
/// driver floods: the port exits with `{driver_crashed, sigkill}` or
/// `{driver_timeout, Ms}`; what arrived before is a gapless prefix.
fn killed_or_stopped_case(signal: i32, after_ms: u64) -> Outcome {
    let h = host();
    let p = owner(&h);
    let port = isolated(&p, true);
    let os_pid = match p.port_info_item(port, &Term::atom("os_pid")) {
        Ok(Term::Tuple(ref t)) => t[1].as_int().unwrap_or(0),
        other => return Err(Bad::WrongError(format!("os_pid: {other:?}"))),
    };
    control(&p, port, 'F', b"2000").map_err(|e| Bad::WrongError(format!("{e:?}")))?;
    std::thread::sleep(Duration::from_millis(after_ms));
    // SAFETY: a signal to the worker this test started.
    unsafe { libc::kill(os_pid as i32, signal) };
    let want = if signal == libc::SIGKILL { "{driver_crashed,sigkill}".to_owned() } else { format!("{{driver_timeout,{}}}", WATCHDOG.as_millis()) };
    if signal == libc::SIGSTOP {
        // A stopped worker is noticed by the next request's watchdog.
        let _ = control(&p, port, 's', b"");
    }
    let mut last = 0i64;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let m = p.receive(Some(left)).unwrap().ok_or_else(|| Bad::Hung("no exit".into()))?;
        let Term::Tuple(ref t) = m else { continue };
        if t.len() == 3 && t[0].is_atom("EXIT") && t[1] == Term::Port(port) {
            let why = t[2].to_string();
            if why != want {
                return Err(Bad::WrongError(format!("exit {why}, wanted {want}")));
            }
            break;
        }
        if let [Term::Port(_), Term::Tuple(ref body)] = t.as_slice() {
            if let (true, Some(i)) = (body[0].is_atom("seq"), body[1].as_int()) {
                if i != last + 1 {
                    return Err(Bad::Lost(format!("message {i} came after {last}")));
                }
                last = i;
            }
        }
    }
    still_serves(&h)
}

#[test]
fn a_worker_killed_or_stopped_from_outside_ends_its_ports_cleanly() {
    killed_or_stopped_case(libc::SIGKILL, 150).unwrap();
    killed_or_stopped_case(libc::SIGSTOP, 150).unwrap();
}

/// A script: its name and text.
fn script(name: &str, text: &str) -> PathBuf {
    let dir = tmp_dir().join("adversarial");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn run(name: &str, text: &str, args: &[&str]) -> Result<RunOutput, Bad> {
    let out = porthost_run_full(&script(name, text), args);
    if out.status >= 128 {
        return Err(Bad::Crashed(format!("{name}: killed by signal {} ({})", out.status - 128, out.stderr)));
    }
    Ok(out)
}

/// `text` prints `want` and exits 0, within `limit`.
fn script_case(name: &str, text: &str, want: &str, limit: Duration) -> Outcome {
    let t0 = Instant::now();
    let out = run(name, text, &[])?;
    if out.status != 0 || out.stdout != want {
        return Err(Bad::WrongError(format!("{name}: status {}, printed {:?} ({})", out.status, out.stdout, out.stderr)));
    }
    if t0.elapsed() > limit {
        return Err(Bad::Hung(format!("{name}: took {:?}", t0.elapsed())));
    }
    Ok(())
}

/// Evaluator paths that were quadratic: each takes well under `limit`
/// even in a debug build (they ran for minutes at these sizes).
fn quadratic_cases() -> Vec<(&'static str, String, String)> {
    vec![
        ("subtract_100000.erl", "L = lists:seq(1, 100000), ok.\nlength(L -- lists:reverse(L)).\nlength(L -- lists:seq(1, 100000, 2)).\n".into(), "ok\n0\n50000\n".into()),
        ("tuple_20000.erl", "T = lists:foldl(fun(_, A) -> {A} end, x, lists:seq(1, 20000)), ok.\nsize(T).\n".into(), "ok\n1\n".into()),
        (
            "closure_100000.erl",
            "L = lists:seq(1, 100000), ok.\nlength(lists:map(fun(X) -> X + 1 end, L)).\nlists:foldl(fun(X, A) -> X + A end, 0, L).\nF = fun() -> length(L) end, F().\n".into(),
            "ok\n100000\n5000050000\n100000\n".into(),
        ),
        ("bignum_1mb.erl", "B = <<131, 111, 1000000:32, 0, (binary:copy(<<255>>, 1000000))/binary>>, ok.\nX = binary_to_term(B), ok.\nX > 0.\nterm_to_binary(X) =:= B.\n".into(), "ok\nok\ntrue\ntrue\n".into()),
    ]
}

#[test]
fn quadratic_evaluator_paths_are_linear() {
    for (name, text, want) in quadratic_cases() {
        script_case(name, &text, &want, Duration::from_secs(30)).unwrap();
    }
}

// ---------------------------------------------------------------- class 7

/// A library outside the driver path is never loaded by `open_port`: not
/// by an absolute name, not by `..`; the answer is `badarg` with a reason.
fn loading_case() -> Outcome {
    let base = tmp_dir().join("adversarial_loading");
    let (path_dir, outside) = (base.join("drivers"), base.join("outside"));
    for d in [&path_dir, &outside] {
        std::fs::create_dir_all(d).unwrap();
    }
    let marker = base.join("constructor_ran");
    let _ = std::fs::remove_file(&marker);
    let src = base.join("evil.c");
    std::fs::write(
        &src,
        format!("#include <stdio.h>\n__attribute__((constructor)) static void evil(void) {{ FILE *f = fopen(\"{}\", \"w\"); if (f) fclose(f); }}\n", marker.display()),
    )
    .unwrap();
    let so = outside.join("evil.so");
    let cc = std::process::Command::new("cc").args(["-shared", "-fPIC", "-o"]).arg(&so).arg(&src).status().unwrap();
    assert!(cc.success());
    let mut text = String::new();
    for name in [so.with_extension("").display().to_string(), "../outside/evil".into(), "sub/evil".into(), "..".into()] {
        text.push_str(&format!("catch open_port({{spawn_driver, \"{name}\"}}, []).\ncatch open_port({{spawn_driver, \"{name}\"}}, [isolated]).\n"));
    }
    let out = run("loading.erl", &text, &["--driver-path", path_dir.to_str().unwrap()])?;
    if marker.exists() {
        return Err(Bad::WrongError("a library outside the driver path was loaded (its constructor ran)".into()));
    }
    let want = "{'EXIT',{badarg,[]}}\n".repeat(8);
    if out.stdout != want || out.status != 0 {
        return Err(Bad::WrongError(format!("printed {:?}", out.stdout)));
    }
    // The reason is given where a human looks.
    let h = host();
    match owner(&h).open_port_driver("../outside/evil", &[]) {
        Err(BifError::Badarg { why }) if why.contains("driver path") => Ok(()),
        other => Err(Bad::WrongError(format!("no clear reason: {other:?}"))),
    }
}

#[test]
fn absolute_and_dotdot_driver_names_load_nothing_outside_the_driver_path() {
    loading_case().unwrap();
}

/// Every descriptor porthost and its workers hold past the standard three
/// is close-on-exec (a driver's helper inherits none), with ports of every
/// kind open.
fn cloexec_case() -> Outcome {
    let text = "E = open_port({spawn, \"cat\"}, []), ok.\n\
                I = open_port({spawn_driver, \"hostile_drv\"}, [isolated]), ok.\n\
                P = open_port({spawn_driver, \"hostile_drv\"}, []), ok.\n\
                port_control(P, $d, \"\").\n\
                port_control(I, $d, \"\").\n";
    // Started with nothing past the standard three (the test process may
    // hold descriptors of its own that a child would inherit).
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_porthost"));
    cmd.arg("run").arg(script("cloexec.erl", text)).arg("--driver-path").arg(drivers_dir(Header::Own));
    // SAFETY: between fork and exec, only close_range (async-signal-safe).
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(&mut cmd, || {
            libc::syscall(libc::SYS_close_range, 3 as libc::c_uint, libc::c_uint::MAX, 0 as libc::c_uint);
            Ok(())
        });
    }
    let out = crate::util::run_command(cmd, "porthost run");
    if out.stdout != "ok\nok\nok\n[]\n[]\n" {
        return Err(Bad::WrongError(format!("descriptors without close-on-exec (host, then worker): {:?} {}", out.stdout, out.stderr)));
    }
    Ok(())
}

#[test]
fn every_descriptor_of_the_host_and_its_workers_is_close_on_exec() {
    cloexec_case().unwrap();
}

/// Out of descriptors (`RLIMIT_NOFILE` 40): `open_port` of an external
/// program and of an isolated driver raise `emfile`, as ERTS does, and say
/// why on standard error; the host goes on. (A `cat` started at the limit
/// may end by itself, so closing the ports may race to `badarg`.)
fn emfile_case() -> Outcome {
    let text = "F = fun Loop(N, Acc) -> case catch open_port(element(1, hd(Acc)), element(2, hd(Acc))) of P when is_port(P) -> Loop(N + 1, Acc); E -> E end end, ok.\n\
                F(0, [{{spawn, \"cat\"}, []}]).\n\
                [catch port_close(P) || P <- erlang:ports()], ok.\n\
                F(0, [{{spawn_driver, \"echo_drv\"}, [{isolated, port}]}]).\n";
    let path = script("emfile.erl", text);
    let mut cmd = std::process::Command::new("prlimit");
    cmd.arg("--nofile=40").arg(env!("CARGO_BIN_EXE_porthost")).arg("run").arg(&path);
    // Started with nothing past the standard three: drivers that other
    // tests run in this process open sockets and pipes without
    // close-on-exec, and a child spawned meanwhile inherited enough of them
    // to be out of descriptors before it read its script.
    // SAFETY: between fork and exec, only close_range (async-signal-safe).
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(&mut cmd, || {
            libc::syscall(libc::SYS_close_range, 3 as libc::c_uint, libc::c_uint::MAX, 0 as libc::c_uint);
            Ok(())
        });
    }
    let out = crate::util::run_command(cmd, "prlimit porthost run");
    if out.status >= 128 {
        return Err(Bad::Crashed(format!("killed by signal {}", out.status - 128)));
    }
    if out.stdout != "ok\n{'EXIT',{emfile,[]}}\nok\n{'EXIT',{emfile,[]}}\n" {
        return Err(Bad::WrongError(format!("printed {:?} ({})", out.stdout, out.stderr)));
    }
    if !out.stderr.contains("Too many open files") {
        return Err(Bad::WrongError(format!("no reason given: {}", out.stderr)));
    }
    Ok(())
}

#[test]
fn running_out_of_descriptors_is_emfile_with_a_reason() {
    emfile_case().unwrap();
}

// ---------------------------------------------------------------- the rest

/// Hostile scripts and terms (classes 1-3, 8): each prints a value or a
/// clear error and the host exits by itself.
fn hostile_script_cases() -> Vec<(&'static str, String, String)> {
    vec![
        ("nest_3000.erl", format!("length({}{}).\n", "[".repeat(3000), "]".repeat(3000)), "1\n".into()),
        ("ops_30000.erl", format!("1{}.\n", " + 1".repeat(30_000)), "30001\n".into()),
        ("recursion_100000.erl", "F = fun G(0) -> 0; G(N) -> 1 + G(N - 1) end, ok.\nF(100000).\n".into(), "ok\n100000\n".into()),
        ("zip_bomb.erl", "catch binary_to_term(<<131,80,6,64,0,0,120,156,203,96,0,0,0,0>>).\n".into(), "{'EXIT',{badarg,[]}}\n".into()),
        ("huge_binary.erl", "catch <<0:(1 bsl 40)>>.\n".into(), "{'EXIT',{system_limit,[]}}\n".into()),
        ("long_atom.erl", "catch binary_to_term(<<131,118,1,0,(binary:copy(<<\"a\">>, 256))/binary>>).\n".into(), "{'EXIT',{badarg,[]}}\n".into()),
    ]
}

/// A crash of every kind in an isolated driver ends its port only.
fn isolated_crash_case(how: &str, want: &str) -> Outcome {
    let h = host();
    let p = owner(&h);
    let port = p.open_port_driver("crash_drv", &[Term::atom("isolated")]).map_err(|e| Bad::WrongError(format!("{e:?}")))?;
    let _ = p.port_control(port, 'c' as u32, &Term::string(how));
    expect_reason(&p, port, Duration::from_secs(20), want)?;
    still_serves(&h)
}

/// Runs `f` on a thread of its own: `Hung` if it does not finish in
/// `limit`; a panic is a crash of the case's host.
fn guarded(limit: Duration, f: impl FnOnce() -> Outcome + Send + 'static) -> Outcome {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|e| {
            let what = e.downcast_ref::<String>().cloned().or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()));
            Err(Bad::Crashed(format!("panic: {}", what.unwrap_or_default())))
        });
        let _ = tx.send(r);
    });
    rx.recv_timeout(limit).unwrap_or_else(|_| Err(Bad::Hung(format!("did not finish within {limit:?}"))))
}

/// A watchdog far shorter than a crashing worker takes to print its
/// backtrace (it starts `addr2line`): the port still exits with the
/// crash, not with `driver_timeout` (CI, on a loaded machine, once gave
/// a wrong error in the adversarial suite; this was the likeliest).
///
/// With an 8 ms watchdog the open itself or the request's way to the
/// driver may outlast it on a loaded machine, which is a real timeout:
/// so each kind gets a few tries, and one crash reported as a crash
/// passes. Before the fix, every try gave `{driver_timeout,8}`.
#[test]
fn a_crash_whose_backtrace_outlasts_the_watchdog_is_still_a_crash() {
    for (how, want) in [("segv", "{driver_crashed,sigsegv}"), ("abort", "{driver_crashed,sigabrt}")] {
        let mut seen = Vec::new();
        for _ in 0..5 {
            let h = host_with(Duration::from_millis(8));
            let p = owner(&h);
            let Ok(port) = p.open_port_driver("crash_drv", &[Term::atom("isolated")]) else { continue };
            let _ = p.port_control(port, 'c' as u32, &Term::string(how));
            let why = exit_reason(&p, port, Duration::from_secs(20)).unwrap();
            if why == want {
                break;
            }
            seen.push(why);
        }
        assert!(seen.len() < 5, "{how}: {seen:?}");
    }
}

#[test]
fn the_adversarial_suite_has_zeros_in_every_bad_column() {
    type Case = (String, Box<dyn FnOnce() -> Outcome + Send>);
    let mut cases: Vec<Case> = Vec::new();
    for (name, text, want) in hostile_script_cases().into_iter().chain(quadratic_cases()) {
        cases.push((format!("script {name}"), Box::new(move || script_case(name, &text, &want, Duration::from_secs(30)))));
    }
    for (what, bytes) in garbage_frames() {
        cases.push((format!("worker writes {what}"), Box::new(move || corrupt_ring_case('w', &bytes))));
    }
    cases.push(("worker writes a length over the limit".into(), Box::new(|| corrupt_ring_case('L', b"x"))));
    cases.push(("worker makes its ring's head impossible".into(), Box::new(|| corrupt_ring_case('h', b""))));
    cases.push(("two workers flood 600,000 atoms each".into(), Box::new(atom_flood_case)));
    cases.push(("worker sends a term 200,000 deep".into(), Box::new(deep_term_case)));
    cases.push(("driver thread sends 50,000 terms (in-process)".into(), Box::new(|| thread_output_case(false))));
    cases.push(("driver thread sends 50,000 terms (isolated)".into(), Box::new(|| thread_output_case(true))));
    cases.push(("3 s flood against an owner that does not read".into(), Box::new(|| flood_case(false))));
    cases.push(("3 s flood of 64 KiB messages against an owner that does not read".into(), Box::new(|| flood_case(true))));
    cases.push(("driver stuck in timeout outside a request".into(), Box::new(stuck_timeout_case)));
    cases.push(("driver forks a helper (exec) and aborts".into(), Box::new(|| fork_and_crash_case('k'))));
    cases.push(("driver forks a helper (no exec) and aborts".into(), Box::new(|| fork_and_crash_case('K'))));
    for ms in [0, 40, 300] {
        cases.push((format!("worker SIGKILLed {ms} ms into a flood"), Box::new(move || killed_or_stopped_case(libc::SIGKILL, ms))));
    }
    cases.push(("worker SIGSTOPped during a flood".into(), Box::new(|| killed_or_stopped_case(libc::SIGSTOP, 100))));
    for (how, want) in [("segv", "{driver_crashed,sigsegv}"), ("abort", "{driver_crashed,sigabrt}"), ("exit", "{driver_crashed,{exit_status,3}}")] {
        cases.push((format!("isolated driver crashes ({how})"), Box::new(move || isolated_crash_case(how, want))));
    }
    cases.push(("absolute and .. driver names".into(), Box::new(loading_case)));
    cases.push(("descriptors close-on-exec".into(), Box::new(cloexec_case)));
    cases.push(("out of descriptors (RLIMIT_NOFILE 40)".into(), Box::new(emfile_case)));

    let t0 = Instant::now();
    let mut rows = Vec::new();
    let (mut crashed, mut hung, mut wrong, mut lost) = (0, 0, 0, 0);
    for (name, case) in cases {
        let r = guarded(Duration::from_secs(90), case);
        let col = match &r {
            Ok(()) => "ok",
            Err(Bad::Crashed(_)) => {
                crashed += 1;
                "CRASHED"
            }
            Err(Bad::Hung(_)) => {
                hung += 1;
                "HUNG"
            }
            Err(Bad::WrongError(_)) => {
                wrong += 1;
                "WRONG ERROR"
            }
            Err(Bad::Lost(_)) => {
                lost += 1;
                "DATA LOST"
            }
        };
        rows.push(format!("  {col:<12} {name}{}", r.err().map(|e| format!(": {e:?}")).unwrap_or_default()));
    }
    let n = rows.len();
    eprintln!("adversarial suite ({:?}):\n{}", t0.elapsed(), rows.join("\n"));
    eprintln!("| cases | host crashed | hung | wrong error | data lost |\n|---:|---:|---:|---:|---:|\n| {n} | {crashed} | {hung} | {wrong} | {lost} |");
    let bad: Vec<&String> = rows.iter().filter(|r| !r.trim_start().starts_with("ok ")).collect();
    assert_eq!((crashed, hung, wrong, lost), (0, 0, 0, 0), "the bad rows: {bad:#?}");
}

/// The text of a list-mode reply.
trait ReplyText {
    fn iter_bytes_text(&self) -> String;
}

impl ReplyText for Term {
    fn iter_bytes_text(&self) -> String {
        String::from_utf8_lossy(&self.iolist_to_bytes().unwrap_or_default()).into_owned()
    }
}
