//! The Rust API on real drivers: ports, messages, exits, the port table.
use std::time::Duration;

use porthost::{BifError, Host, HostConfig, PortId, Process, Term};

use crate::util::{drivers_dir, Header};

const WAIT: Option<Duration> = Some(Duration::from_secs(5));

fn host() -> Host {
    Host::new(HostConfig::default().driver_paths(vec![drivers_dir(Header::Own).to_path_buf()]))
}

fn open(p: &Process, cmd: &str, opts: &[Term]) -> PortId {
    p.open_port_driver(cmd, opts).unwrap_or_else(|e| panic!("open_port {cmd}: {e}"))
}

fn control_text(p: &Process, port: PortId, op: char, data: &str) -> String {
    let t = p.port_control(port, op as u32, &Term::string(data)).unwrap();
    String::from_utf8(t.iolist_to_bytes().unwrap()).unwrap()
}

#[test]
fn echo_round_trips_command_control_and_call() {
    let h = Host::new(HostConfig::default());
    let p = h.spawn_process();
    let port = open(&p, "echo_drv", &[Term::atom("binary")]);
    p.port_command(port, &Term::List(vec![Term::Int(1), Term::binary(b"23")])).unwrap();
    let msg = p.receive(WAIT).unwrap().unwrap();
    assert_eq!(msg.to_string(), format!("{{{},{{data,<<1,50,51>>}}}}", Term::Port(port)));
    assert_eq!(p.port_control(port, 0, &Term::string("ab")).unwrap().to_string(), "[97,98]");
    let t = Term::Tuple(vec![Term::atom("x"), Term::Int(-7), Term::binary(b"z"), Term::Float(1.5)]);
    assert_eq!(p.port_call(port, 3, &t).unwrap(), t);
    p.port_close(port).unwrap();
    assert!(matches!(p.port_command(port, &Term::nil()), Err(BifError::Badarg { .. })));
}

#[test]
fn a_closed_port_id_never_reaches_a_later_port() {
    let h = host();
    let p = h.spawn_process();
    let a = open(&p, "probe_drv", &[]);
    p.port_close(a).unwrap();
    let b = open(&p, "probe_drv", &[]);
    assert_eq!(b.0, a.0 + 1, "numbers increase as in ERTS");
    assert!(p.port_control(a, 'c' as u32, &Term::nil()).is_err());
    assert_eq!(control_text(&p, b, 'c', ""), "probe_drv");
    assert_eq!(p.port_info(a).unwrap().to_string(), "undefined");
}

/// A caller that found the port open and then waited for its lock while
/// another process's callback ended the port gets `badarg`: the driver
/// never sees a call after its `stop`, as in ERTS. Each BIF the same way.
#[test]
fn a_port_closed_while_a_caller_waits_for_its_lock_is_badarg_not_a_call_after_stop() {
    let h = host();
    let owner = h.spawn_process();
    owner.set_trap_exit(true).unwrap();
    type Bif = fn(&Process, PortId) -> Result<(), BifError>;
    let ops: [(&str, Bif); 3] = [
        ("port_control", |p, port| p.port_control(port, 'K' as u32, &Term::nil()).map(drop)),
        ("port_call", |p, port| p.port_call(port, 0, &Term::atom("x")).map(drop)),
        ("port_command", |p, port| p.port_command(port, &Term::string("x")).map(drop)),
    ];
    for (name, op) in ops {
        let port = open(&owner, "probe_drv", &[]);
        let h2 = h.clone();
        let waiter = std::thread::spawn(move || {
            let p = h2.spawn_process();
            // Well inside the sleeping callback below.
            std::thread::sleep(Duration::from_millis(150));
            op(&p, port)
        });
        // Holds the driver's lock for 500 ms, then exits the port.
        let _ = owner.port_control(port, 'S' as u32, &Term::string("500"));
        let r = waiter.join().unwrap();
        assert!(matches!(&r, Err(BifError::Badarg { .. })), "{name}: {r:?}");
    }
}

#[test]
fn driver_failure_kills_an_owner_that_does_not_trap_exits() {
    let h = host();
    let p = h.spawn_process();
    let port = open(&p, "probe_drv", &[]);
    let err = p.port_control(port, 'f' as u32, &Term::string("3")).unwrap_err();
    assert!(matches!(&err, BifError::Exited(r) if r.as_int() == Some(3)), "{err:?}");
    assert!(matches!(p.port_command(port, &Term::nil()), Err(BifError::Exited(_))));
}

#[test]
fn driver_failure_posix_reaches_a_trapping_owner_as_an_exit_message() {
    let h = host();
    let p = h.spawn_process();
    p.set_trap_exit(true).unwrap();
    let port = open(&p, "probe_drv", &[]);
    p.port_control(port, 'p' as u32, &Term::string("22")).unwrap();
    let msg = p.receive(WAIT).unwrap().unwrap();
    assert_eq!(msg.to_string(), format!("{{'EXIT',{},einval}}", Term::Port(port)));
    assert!(p.ports().is_empty());
}

#[test]
fn start_errors_raise_what_open_port_raises() {
    let h = host();
    let p = h.spawn_process();
    let e = p.open_port_driver("start_error_drv general", &[]).unwrap_err();
    assert_eq!(e.to_exception().1.to_string(), "einval");
    let e = p.open_port_driver("start_error_drv badarg", &[]).unwrap_err();
    assert_eq!(e.to_exception().1.to_string(), "badarg");
    let e = p.open_port_driver("no_such_driver_anywhere", &[]).unwrap_err();
    assert!(e.to_string().contains("no_such_driver_anywhere"), "{e}");
    assert!(p.ports().is_empty());
}

#[test]
fn dropping_the_owner_closes_its_ports() {
    let h = host();
    let watcher = h.spawn_process();
    let w = open(&watcher, "probe_drv", &[]);
    control_text(&watcher, w, 'K', "");
    let owner = h.spawn_process();
    let port = open(&owner, "probe_drv", &[]);
    drop(owner);
    assert_eq!(watcher.ports(), vec![w]);
    assert_eq!(control_text(&watcher, w, 'K', ""), "start(2) stop(2)");
    let _ = port;
}

#[test]
fn port_close_lingers_until_the_driver_queue_drains() {
    let h = host();
    let p = h.spawn_process();
    p.set_trap_exit(true).unwrap();
    let port = open(&p, "probe_drv", &[]);
    control_text(&p, port, 'q', "abc");
    control_text(&p, port, 'k', "");
    p.port_close(port).unwrap();
    // The exit signal goes at once; the port stays until its queue drains.
    let msg = p.receive(WAIT).unwrap().unwrap();
    assert_eq!(msg.to_string(), format!("{{'EXIT',{},normal}}", Term::Port(port)));
    assert_eq!(p.ports(), vec![port]);
    assert!(p.port_control(port, 'c' as u32, &Term::nil()).is_err(), "a closing port takes no control");
    let info = p.port_info_item(port, &Term::atom("queue_size")).unwrap();
    assert_eq!(info.to_string(), "{queue_size,3}");
}

#[test]
fn many_threads_drive_distinct_ports_and_lose_no_message() {
    let h = Host::new(HostConfig::default());
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let h = h.clone();
            std::thread::spawn(move || {
                let p = h.spawn_process();
                let port = p.open_port_driver("echo_drv", &[Term::atom("binary")]).unwrap();
                for i in 0..2000u32 {
                    p.port_command(port, &Term::binary(&(t * 100_000 + i).to_be_bytes())).unwrap();
                }
                for i in 0..2000u32 {
                    let m = p.receive(WAIT).unwrap().expect("a message for every command");
                    let Term::Tuple(t2) = &m else { panic!() };
                    let Term::Tuple(d) = &t2[1] else { panic!() };
                    let Term::Binary(b) = &d[1] else { panic!() };
                    assert_eq!(b.as_slice(), (t * 100_000 + i).to_be_bytes());
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}
