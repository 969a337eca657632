//! Isolated ports: a driver that crashes, hangs or eats memory in a worker
//! ends its own ports with a reason that says so, and nothing else.
use std::time::Duration;

use porthost::{BifError, Host, HostConfig, PortId, Process, Term, WorkerLimits};

use crate::util::{drivers_dir, Header};

const WAIT: Option<Duration> = Some(Duration::from_secs(20));

fn host() -> Host {
    Host::new(HostConfig {
        driver_paths: vec![drivers_dir(Header::Own).to_path_buf()],
        isolate: true,
        worker_exe: Some(env!("CARGO_BIN_EXE_porthost").into()),
        isolation_timeout: Some(Duration::from_secs(3)),
        worker_limits: WorkerLimits { memory_bytes: Some(512 << 20), cpu_seconds: Some(5) },
        ..HostConfig::default()
    })
}

fn owner(h: &Host) -> Process {
    let p = h.spawn_process();
    p.set_trap_exit(true).unwrap();
    p
}

/// The messages until the port's `'EXIT'`, and its reason.
fn until_exit(p: &Process, port: PortId) -> (Vec<String>, String) {
    let mut seen = Vec::new();
    loop {
        let m = p.receive(WAIT).unwrap().expect("the port ends");
        let text = m.to_string();
        if let Term::Tuple(t) = &m {
            if t.len() == 3 && t[0].is_atom("EXIT") && t[1] == Term::Port(port) {
                return (seen, t[2].to_string());
            }
        }
        seen.push(text);
    }
}

fn before(how: &str) -> String {
    format!("{{data,{}}}", Term::string(&format!("before {how}")))
}

/// Each way to die, and the reason the port exits with.
const CRASHES: [(&str, &str); 6] = [
    ("segv", "{driver_crashed,sigsegv}"),
    ("abort", "{driver_crashed,sigabrt}"),
    ("exit", "{driver_crashed,{exit_status,3}}"),
    ("recurse", "{driver_crashed,"),
    ("loop", "{driver_timeout,3000}"),
    ("alloc", "{driver_crashed,sigabrt}"),
];

/// Crashes `how` in `place` (`control`, `output` or `timeout`) and checks
/// the port's exit reason, that what the driver sent first arrived, and that
/// another port still answers.
fn crash_in(p: &Process, place: &str, how: &str, reason: &str, bystander: PortId) {
    let port = p.open_port_driver("crash_drv", &[]).unwrap();
    let data = Term::string(how);
    match place {
        "control" => {
            let r = p.port_control(port, 'c' as u32, &data);
            assert!(matches!(r, Err(BifError::Badarg { .. })), "{place} {how}: the call in flight fails: {r:?}");
        }
        "output" => {
            let _ = p.port_command(port, &data);
        }
        _ => {
            p.port_control(port, 't' as u32, &data).unwrap();
        }
    }
    let (seen, why) = until_exit(p, port);
    assert!(seen.iter().any(|m| m.ends_with(&format!("{}}}", before(how)))), "{place} {how}: {seen:?}");
    assert!(why.starts_with(reason), "{place} {how}: {why}");
    let alive = p.port_control(bystander, 0, &Term::string("ok")).unwrap();
    assert_eq!(alive.to_string(), "[111,107]", "{place} {how}: the host still answers");
}

#[test]
fn a_crash_in_control_ends_the_port_and_keeps_what_it_sent() {
    let h = host();
    let p = owner(&h);
    let bystander = p.open_port_driver("echo_drv", &[]).unwrap();
    for (how, reason) in CRASHES {
        crash_in(&p, "control", how, reason, bystander);
    }
}

#[test]
fn a_crash_in_output_ends_the_port_and_keeps_what_it_sent() {
    let h = host();
    let p = owner(&h);
    let bystander = p.open_port_driver("echo_drv", &[]).unwrap();
    for (how, reason) in CRASHES {
        crash_in(&p, "output", how, reason, bystander);
    }
}

#[test]
fn a_crash_in_timeout_ends_the_port_and_keeps_what_it_sent() {
    let h = host();
    let p = owner(&h);
    let bystander = p.open_port_driver("echo_drv", &[]).unwrap();
    for (how, reason) in CRASHES {
        // A timeout runs outside any request: no watchdog sees its loop, the
        // worker's CPU limit ends it.
        let reason = if how == "loop" { "{driver_crashed," } else { reason };
        crash_in(&p, "timeout", how, reason, bystander);
    }
}

#[test]
fn a_crash_in_start_is_an_open_port_error() {
    for (how, reason) in CRASHES {
        // A host each: three crashes at open would quarantine the driver.
        let h = host();
        let p = owner(&h);
        let e = p.open_port_driver(&format!("crash_drv {how}"), &[]).unwrap_err();
        let what = reason.trim_start_matches('{').split([',', '}']).nth(1).unwrap_or("");
        assert!(e.to_string().contains(what), "start {how}: {e}");
        assert!(p.ports().is_empty());
    }
}

#[test]
fn other_ports_and_other_workers_live_on() {
    let h = host();
    let p = owner(&h);
    let echo = p.open_port_driver("echo_drv", &[]).unwrap();
    let doomed = p.open_port_driver("crash_drv", &[Term::Tuple(vec![Term::atom("isolated"), Term::atom("port")])]).unwrap();
    let healthy = p.open_port_driver("crash_drv", &[Term::Tuple(vec![Term::atom("isolated"), Term::atom("port")])]).unwrap();
    let _ = p.port_control(doomed, 'c' as u32, &Term::string("abort"));
    let (_, why) = until_exit(&p, doomed);
    assert_eq!(why, "{driver_crashed,sigabrt}");
    assert_eq!(p.port_control(healthy, 'e' as u32, &Term::string("ok")).unwrap().to_string(), "[111,107]");
    assert_eq!(p.port_control(echo, 0, &Term::string("hi")).unwrap().to_string(), "[104,105]");
    // The owner may open the driver again: a new worker starts.
    let again = p.open_port_driver("crash_drv", &[]).unwrap();
    assert_eq!(p.port_control(again, 'e' as u32, &Term::string("x")).unwrap().to_string(), "[120]");
}

#[test]
fn a_crash_kills_an_owner_that_does_not_trap_exits() {
    let h = host();
    let p = h.spawn_process();
    let port = p.open_port_driver("crash_drv", &[]).unwrap();
    let r = p.port_control(port, 'c' as u32, &Term::string("segv"));
    assert!(matches!(&r, Err(BifError::Exited(reason)) if reason.to_string() == "{driver_crashed,sigsegv}"), "{r:?}");
}

#[test]
fn a_driver_that_keeps_crashing_at_open_is_quarantined() {
    let h = host();
    let p = owner(&h);
    for _ in 0..porthost::isolate::QUARANTINE_AFTER {
        let e = p.open_port_driver("crash_drv abort", &[]).unwrap_err();
        assert!(e.to_string().contains("sigabrt"), "{e}");
    }
    let e = p.open_port_driver("crash_drv", &[]).unwrap_err();
    assert!(e.to_string().contains("quarantined"), "{e}");
}

#[test]
fn isolated_drivers_by_name() {
    let h = Host::new(HostConfig {
        driver_paths: vec![drivers_dir(Header::Own).to_path_buf()],
        isolated_drivers: vec!["crash_drv".into()],
        worker_exe: Some(env!("CARGO_BIN_EXE_porthost").into()),
        ..HostConfig::default()
    });
    let p = owner(&h);
    let port = p.open_port_driver("crash_drv", &[]).unwrap();
    let os_pid = p.port_info_item(port, &Term::atom("os_pid")).unwrap().to_string();
    assert_ne!(os_pid, "{os_pid,undefined}", "it runs in a worker");
    let echo = p.open_port_driver("echo_drv", &[]).unwrap();
    assert_eq!(p.port_info_item(echo, &Term::atom("os_pid")).unwrap().to_string(), "{os_pid,undefined}");
}
