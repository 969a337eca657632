//! Processes among themselves: links, exit signals, monitors.
use std::time::Duration;

use porthost::{BifError, Host, HostConfig, Term};

const WAIT: Option<Duration> = Some(Duration::from_secs(5));

#[test]
fn a_linked_process_dying_kills_a_process_that_does_not_trap_exits() {
    let h = Host::new(HostConfig::default());
    let a = h.spawn_process();
    let b = h.spawn_process();
    a.link_process(b.pid()).unwrap();
    b.exit(Term::atom("boom"));
    let err = a.receive(WAIT).unwrap_err();
    assert!(matches!(&err, BifError::Exited(r) if r.is_atom("boom")), "{err:?}");
    assert!(!h.is_process_alive(a.pid()));
}

#[test]
fn a_trapping_process_gets_exit_messages_and_down_messages() {
    let h = Host::new(HostConfig::default());
    let a = h.spawn_process();
    a.set_trap_exit(true).unwrap();
    let b = h.spawn_process();
    let c = h.spawn_process();
    a.link_process(b.pid()).unwrap();
    let r = a.monitor_process(c.pid()).unwrap();
    drop(b);
    c.exit(Term::atom("done"));
    let m1 = a.receive(WAIT).unwrap().unwrap();
    let m2 = a.receive(WAIT).unwrap().unwrap();
    assert_eq!(m1.to_string(), format!("{{'EXIT',{},normal}}", Term::Pid(h_pid(&m1))));
    assert_eq!(m2.to_string(), format!("{{'DOWN',{},process,{},done}}", Term::Ref(r), Term::Pid(c_pid(&m2))));
    let dead = a.monitor_process(c_pid(&m2)).unwrap();
    let m3 = a.receive(WAIT).unwrap().unwrap();
    assert!(m3.to_string().ends_with(",noproc}"), "{m3}");
    let _ = dead;
}

fn h_pid(t: &Term) -> porthost::Pid {
    match t {
        Term::Tuple(v) => match v[1] {
            Term::Pid(p) => p,
            _ => panic!("{t}"),
        },
        _ => panic!("{t}"),
    }
}

fn c_pid(t: &Term) -> porthost::Pid {
    match t {
        Term::Tuple(v) => match v[3] {
            Term::Pid(p) => p,
            _ => panic!("{t}"),
        },
        _ => panic!("{t}"),
    }
}

#[test]
fn exit_kill_cannot_be_trapped() {
    let h = Host::new(HostConfig::default());
    let a = h.spawn_process();
    let b = h.spawn_process();
    b.set_trap_exit(true).unwrap();
    a.exit_process(b.pid(), Term::atom("kill")).unwrap();
    assert!(matches!(b.receive(WAIT), Err(BifError::Exited(r)) if r.is_atom("killed")));
}
