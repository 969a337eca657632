//! The port-level driver API through the Rust API, with more than one
//! process: driver monitors (`driver_monitor_process` and `process_exit`),
//! `driver_create_port` for another process, busy ports cleared by another
//! process, port data locks under a driver thread, `ERL_DRV_FLAG_USE_INIT_ACK`
//! and the driver registry calls (`driver_lock_driver`, `add_driver_entry`,
//! `remove_driver_entry`). The drivers are `tests/drivers/port_drv.c`,
//! `soft_busy_drv.c` and `init_ack_drv.c`; the single-process cases are
//! differential scripts (`tests/scripts/busy_*.erl`, `ports_*.erl`).
//!
//! port_drv keeps driver-wide state (its event log, a saved pid) that every
//! host of this test binary shares, so these tests run one at a time.
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use porthost::{BifError, DdllError, Host, HostConfig, PortId, Process, Term};

use crate::util::{drivers_dir, Header};

const WAIT: Option<Duration> = Some(Duration::from_secs(5));
/// How long to wait for a message that must not come.
const QUIET: Option<Duration> = Some(Duration::from_millis(200));

fn serial() -> MutexGuard<'static, ()> {
    static SERIAL: Mutex<()> = Mutex::new(());
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn host() -> Host {
    Host::new(HostConfig::default().driver_paths(vec![drivers_dir(Header::Own).to_path_buf()]))
}

fn open(p: &Process, cmd: &str) -> PortId {
    p.open_port_driver(cmd, &[]).unwrap_or_else(|e| panic!("open_port {cmd}: {e}"))
}

/// `port_control(Port, Op, Data)` with a text reply.
fn ctl(p: &Process, port: PortId, op: char, data: &str) -> String {
    let t = p.port_control(port, op as u32, &Term::string(data)).unwrap_or_else(|e| panic!("control {op}: {e}"));
    String::from_utf8(t.iolist_to_bytes().unwrap()).unwrap()
}

/// The next `{Port, {data, Text}}` from `port`, as text.
fn data_from(p: &Process, port: PortId, timeout: Option<Duration>) -> Option<String> {
    let mut is_data = |m: &Term| matches!(m, Term::Tuple(t) if t.len() == 2 && t[0] == Term::Port(port));
    let m = p.receive_matching(&mut is_data, timeout).unwrap()?;
    let Term::Tuple(t) = &m else { unreachable!() };
    let Term::Tuple(d) = &t[1] else { panic!("not data: {}", t[1]) };
    assert!(d[0].is_atom("data"), "not data: {}", t[1]);
    Some(String::from_utf8(d[1].iolist_to_bytes().unwrap()).unwrap())
}

/// Any `{Port, {data, _}}` message, whichever port sent it: (port, text).
fn any_data(p: &Process) -> (PortId, String) {
    let m = p.receive(WAIT).unwrap().expect("a message");
    let Term::Tuple(t) = &m else { panic!("{m}") };
    let (Term::Port(port), Term::Tuple(d)) = (&t[0], &t[1]) else { panic!("{m}") };
    (*port, String::from_utf8(d[1].iolist_to_bytes().unwrap()).unwrap())
}

/// The usual cast: one test at a time (see the module docs), a host,
/// process A owning a port on `driver`, and a second process B.
fn two_processes(driver: &str) -> (MutexGuard<'static, ()>, Host, Process, PortId, Process) {
    let s = serial();
    let h = host();
    let a = h.spawn_process();
    let port = open(&a, driver);
    let b = h.spawn_process();
    (s, h, a, port, b)
}

fn monitors(p: &Process, port: PortId) -> String {
    p.port_info_item(port, &Term::atom("monitors")).unwrap().to_string()
}

#[test]
fn process_exit_runs_when_a_monitored_process_ends() {
    let (_s, _h, a, port, b) = two_processes("port_drv");
    let b_pid = b.pid();
    // driver_caller is B: the driver monitors B.
    assert_eq!(ctl(&b, port, 'm', "0"), "0");
    assert_eq!(ctl(&b, port, 'g', "0"), "caller");
    assert_eq!(monitors(&a, port), format!("{{monitors,[{{process,{}}}]}}", Term::Pid(b_pid)));
    drop(b);
    // process_exit ran with the monitor still live (get_monitored_process
    // gave B's pid); it is gone after.
    assert_eq!(data_from(&a, port, WAIT).unwrap(), "process_exit slot=0 monitored=same");
    assert_eq!(ctl(&a, port, 'g', "0"), "nil");
    assert_eq!(monitors(&a, port), "{monitors,[]}");
    assert_eq!(ctl(&a, port, 'u', "0"), "1");
}

#[test]
fn a_demonitored_process_ends_without_process_exit() {
    let (_s, _h, a, port, b) = two_processes("port_drv");
    assert_eq!(ctl(&b, port, 'm', "1"), "0");
    assert_eq!(ctl(&a, port, 'u', "1"), "0");
    assert_eq!(ctl(&a, port, 'u', "1"), "1");
    drop(b);
    assert_eq!(data_from(&a, port, QUIET), None);
}

#[test]
fn monitoring_a_process_that_has_ended_answers_1() {
    let (_s, _h, a, port, b) = two_processes("port_drv");
    assert_eq!(ctl(&b, port, 's', ""), "ok");
    drop(b);
    assert_eq!(ctl(&a, port, 'M', "2"), "1");
    assert_eq!(ctl(&a, port, 'g', "2"), "nil");
    assert_eq!(monitors(&a, port), "{monitors,[]}");
}

#[test]
fn a_driver_without_process_exit_cannot_monitor() {
    let (_s, _h, a, port, b) = two_processes("soft_busy_drv");
    assert_eq!(ctl(&b, port, 'm', "0"), "-1");
    assert_eq!(ctl(&b, port, 'g', "0"), "nil");
    drop(b);
    assert_eq!(data_from(&a, port, QUIET), None);
}

#[test]
fn two_monitors_of_one_process_differ_and_both_fire() {
    let (_s, _h, a, port, b) = two_processes("port_drv");
    assert_eq!(ctl(&b, port, 'm', "0"), "0");
    assert_eq!(ctl(&b, port, 'm', "1"), "0");
    assert_eq!(ctl(&a, port, 'C', "0 1"), "differ");
    assert_eq!(ctl(&a, port, 'C', "1 0"), "differ");
    assert_eq!(ctl(&a, port, 'C', "0"), "equal");
    b.exit(Term::atom("shutdown"));
    let mut got = vec![data_from(&a, port, WAIT).unwrap(), data_from(&a, port, WAIT).unwrap()];
    got.sort();
    assert_eq!(got, ["process_exit slot=0 monitored=same", "process_exit slot=1 monitored=same"]);
    assert_eq!(data_from(&a, port, QUIET), None);
}

/// Regression: the process's links were handled before its monitors, so a
/// port that its owner's end closed never got process_exit (ERTS 25 calls
/// it, then stop).
#[test]
fn an_owner_monitored_by_its_port_gets_process_exit_before_stop() {
    let _s = serial();
    let h = host();
    let watcher = h.spawn_process();
    let w = open(&watcher, "port_drv");
    let b = h.spawn_process();
    let q = open(&b, "port_drv");
    assert_eq!(ctl(&b, q, 'm', "0"), "0");
    ctl(&watcher, w, 'K', "");
    drop(b);
    assert!(watcher.port_info(q).unwrap().is_atom("undefined"));
    let log = ctl(&watcher, w, 'K', "");
    let n = log.strip_prefix("process_exit(").and_then(|r| r.split(')').next()).unwrap_or_else(|| panic!("{log}"));
    assert_eq!(log, format!("process_exit({n}) stop({n})"));
}

#[test]
fn a_closed_port_forgets_its_monitors() {
    let _s = serial();
    let h = host();
    let a = h.spawn_process();
    let port = open(&a, "port_drv");
    let other = open(&a, "port_drv");
    let b = h.spawn_process();
    assert_eq!(ctl(&b, port, 'm', "0"), "0");
    a.port_close(port).unwrap();
    drop(b);
    assert!(a.receive(QUIET).unwrap().is_none());
    assert_eq!(ctl(&a, other, 'F', ""), "0", "the host goes on");
}

#[test]
fn driver_create_port_gives_the_caller_a_linked_port_of_its_own() {
    let (_s, h, a, port, b) = two_processes("port_drv");
    assert_eq!(ctl(&b, port, 'c', "kid port"), "ok");
    let (kid, hello) = any_data(&b);
    assert_eq!(hello, "hello");
    assert_ne!(kid, port);
    let info = |item: &str| b.port_info_item(kid, &Term::atom(item)).unwrap().to_string();
    assert_eq!(info("name"), format!("{{name,{}}}", Term::string("kid port")));
    assert_eq!(info("connected"), format!("{{connected,{}}}", Term::Pid(b.pid())));
    assert_eq!(info("links"), format!("{{links,[{}]}}", Term::Pid(b.pid())));
    assert_eq!(h.driver_info("port_drv").unwrap().port_count, 2);
    b.port_command(kid, &Term::string("x")).unwrap();
    assert_eq!(data_from(&b, kid, WAIT).unwrap(), "got:x");
    assert!(a.receive(QUIET).unwrap().is_none(), "the creator's owner gets nothing");
    // The new port is B's: B's end closes it (its stop runs).
    ctl(&a, port, 'K', "");
    drop(b);
    assert!(a.port_info(kid).unwrap().is_atom("undefined"));
    assert!(ctl(&a, port, 'K', "").starts_with("stop("));
    assert_eq!(h.driver_info("port_drv").unwrap().port_count, 1);
}

#[test]
fn driver_create_port_for_a_process_that_has_ended_fails() {
    let (_s, _h, a, port, b) = two_processes("port_drv");
    assert_eq!(ctl(&b, port, 's', ""), "ok");
    drop(b);
    assert_eq!(ctl(&a, port, 'x', "orphan"), "ok");
    assert_eq!(data_from(&a, port, WAIT).unwrap(), "create failed");
    assert_eq!(a.ports(), vec![port]);
}

#[test]
fn a_port_command_blocked_on_a_busy_port_goes_on_when_another_process_clears_it() {
    let _s = serial();
    let h = host();
    let a = h.spawn_process();
    let port = open(&a, "port_drv");
    assert_eq!(ctl(&a, port, 'b', "1"), "ok");
    let c = h.spawn_process();
    assert!(!c.port_command_opts(port, &Term::string("no"), false, true).unwrap());
    let err = c.port_command_opts(port, &Term::string("no"), true, false).unwrap_err();
    assert_eq!(err.to_exception().1.to_string(), "notsup");
    let (tx, rx) = std::sync::mpsc::channel();
    let sender = std::thread::spawn(move || {
        let r = c.port_command(port, &Term::string("late"));
        tx.send(()).unwrap();
        r
    });
    assert!(rx.recv_timeout(Duration::from_millis(200)).is_err(), "port_command waits while the port is busy");
    assert_eq!(data_from(&a, port, QUIET), None, "the driver got nothing yet");
    assert_eq!(ctl(&a, port, 'b', "0"), "ok");
    rx.recv_timeout(Duration::from_secs(5)).expect("port_command returns once the port is not busy");
    assert!(sender.join().unwrap().unwrap());
    assert_eq!(data_from(&a, port, WAIT).unwrap(), "got:late");
}

#[test]
fn soft_busy_lets_force_through_a_busy_port() {
    let _s = serial();
    let h = host();
    let a = h.spawn_process();
    let port = open(&a, "soft_busy_drv");
    assert_eq!(ctl(&a, port, 'b', "1"), "ok");
    assert!(!a.port_command_opts(port, &Term::string("n"), false, true).unwrap());
    assert!(a.port_command_opts(port, &Term::string("f"), true, false).unwrap());
    assert!(a.port_command_opts(port, &Term::string("g"), true, true).unwrap());
    assert_eq!(data_from(&a, port, WAIT).unwrap(), "got:f");
    assert_eq!(data_from(&a, port, WAIT).unwrap(), "got:g");
    assert_eq!(data_from(&a, port, QUIET), None);
}

#[test]
fn a_driver_thread_and_the_port_share_the_queue_under_the_pdl() {
    let _s = serial();
    let h = host();
    let a = h.spawn_process();
    let port = open(&a, "port_drv");
    assert_eq!(ctl(&a, port, 'P', ""), "pdl");
    for _ in 0..20 {
        assert_eq!(ctl(&a, port, 'T', "3000"), "ok");
        for _ in 0..5 {
            assert_eq!(ctl(&a, port, 'E', "400"), "ok");
        }
        assert_eq!(ctl(&a, port, 'J', ""), "ok total=6000");
    }
    assert_eq!(ctl(&a, port, 'r', ""), "1");
    // A reference kept past the port's close: the port's own one goes.
    assert_eq!(ctl(&a, port, 'S', ""), "2");
    a.port_close(port).unwrap();
    let other = open(&a, "port_drv");
    assert_eq!(ctl(&a, other, 'R', ""), "1");
    assert_eq!(ctl(&a, other, 'D', ""), "0");
}

/// Runs `f` on a thread and fails the test if it takes longer than 20 s
/// (a lost `erl_drv_init_ack` would make `open_port` wait for ever).
fn within_20s<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || tx.send(f()).unwrap());
    rx.recv_timeout(Duration::from_secs(20)).expect("open_port never returned")
}

/// Regression: an async job queued by start could run before `open` marked
/// the port open; its ready_async (and the ack in it) was then skipped and
/// open_port waited for ever.
#[test]
fn init_ack_from_an_async_job_started_in_start_is_never_lost() {
    let _s = serial();
    let h = host();
    within_20s(move || {
        let a = h.spawn_process();
        for _ in 0..300 {
            let port = open(&a, "init_ack_drv async ok");
            assert_eq!(ctl(&a, port, 'w', ""), "ack");
            a.port_close(port).unwrap();
            let err = a.open_port_driver("init_ack_drv async badarg", &[]).unwrap_err();
            assert!(matches!(err, BifError::Badarg { .. }), "{err:?}");
        }
    });
}

#[test]
fn init_ack_errors_raise_and_close_the_port_through_stop() {
    let _s = serial();
    let h = host();
    within_20s(move || {
        let a = h.spawn_process();
        a.set_trap_exit(true).unwrap();
        let log_port = open(&a, "init_ack_drv async ok");
        ctl(&a, log_port, 'K', "");
        for (cmd, reason) in [("timer general", "einval"), ("async errno", "enoent"), ("timer badarg", "badarg")] {
            let err = a.open_port_driver(&format!("init_ack_drv {cmd}"), &[]).unwrap_err();
            assert_eq!(err.to_exception().1.to_string(), reason, "{cmd}");
            let log = ctl(&a, log_port, 'K', "");
            assert!(log.ends_with("stop(start)"), "{cmd}: {log}");
        }
        assert_eq!(a.ports(), vec![log_port]);
        // The output sent before the failed acks arrived; no exit message.
        let mut msgs = Vec::new();
        while let Some(m) = a.receive(QUIET).unwrap() {
            msgs.push(m.to_string());
        }
        assert_eq!(msgs.len(), 2, "{msgs:?}");
        assert!(msgs.iter().all(|m| m.ends_with(&format!("{{data,{}}}}}", Term::string("started")))), "{msgs:?}");
    });
}

/// porthost completes an open whose driver acks from start itself. ERTS 25
/// loses that ack (open_port waits for ever), so no script shows this.
#[test]
fn init_ack_from_start_completes_the_open() {
    let _s = serial();
    let h = host();
    within_20s(move || {
        let a = h.spawn_process();
        let port = open(&a, "init_ack_drv start ok");
        assert_eq!(ctl(&a, port, 'w', ""), "ack");
        let err = a.open_port_driver("init_ack_drv start general", &[]).unwrap_err();
        assert_eq!(err.to_exception().1.to_string(), "einval");
        assert_eq!(a.ports(), vec![port]);
    });
}

#[test]
fn a_port_that_dies_before_acking_is_what_open_port_returns() {
    let _s = serial();
    let h = host();
    within_20s(move || {
        let a = h.spawn_process();
        a.set_trap_exit(true).unwrap();
        let port = open(&a, "init_ack_drv die ok");
        assert!(a.port_info(port).unwrap().is_atom("undefined"));
        assert_eq!(data_from(&a, port, WAIT).unwrap(), "started");
        let exit = a.receive(WAIT).unwrap().unwrap();
        assert_eq!(exit.to_string(), format!("{{'EXIT',{},died}}", Term::Port(port)));
    });
}

#[test]
fn erl_drv_set_os_pid_is_what_port_info_reports() {
    let _s = serial();
    let h = host();
    let a = h.spawn_process();
    let port = open(&a, "port_drv");
    let os_pid = || a.port_info_item(port, &Term::atom("os_pid")).unwrap().to_string();
    assert_eq!(os_pid(), "{os_pid,undefined}");
    ctl(&a, port, 'p', "31337");
    assert_eq!(os_pid(), "{os_pid,31337}");
    ctl(&a, port, 'p', "-5");
    assert_eq!(os_pid(), "{os_pid,undefined}");
}

#[test]
fn driver_lock_driver_makes_the_driver_permanent() {
    let _s = serial();
    let h = host();
    let a = h.spawn_process();
    a.ddll_load(drivers_dir(Header::Own), "soft_busy_drv", false).unwrap();
    let port = open(&a, "soft_busy_drv");
    assert!(!h.driver_info("soft_busy_drv").unwrap().permanent);
    assert_eq!(ctl(&a, port, 'k', ""), "0");
    assert!(h.driver_info("soft_busy_drv").unwrap().permanent);
    a.port_close(port).unwrap();
    assert!(matches!(a.ddll_unload("soft_busy_drv"), Err(DdllError::Permanent)));
    assert!(matches!(a.ddll_load(drivers_dir(Header::Own), "soft_busy_drv", false), Err(DdllError::Permanent)));
    assert!(h.loaded_drivers().contains(&"soft_busy_drv".to_owned()));
    // Its state survives: the instance numbers go on.
    let again = open(&a, "soft_busy_drv");
    assert_eq!(ctl(&a, again, 'K', ""), "start(1) stop(1) start(2)");
}

#[test]
fn an_added_driver_entry_opens_in_every_host_until_removed() {
    let _s = serial();
    let h = host();
    let a = h.spawn_process();
    let port = open(&a, "port_drv");
    assert_eq!(ctl(&a, port, 'k', ""), "0");
    assert_eq!(ctl(&a, port, 'X', ""), "-1", "the driver's own entry, loaded by erl_ddll");
    assert_eq!(ctl(&a, port, 'Y', ""), "0", "an entry never added");
    ctl(&a, port, 'K', "");
    assert_eq!(ctl(&a, port, 'a', ""), "ok");
    assert_eq!(ctl(&a, port, 'K', ""), "extra_init");
    let extra = open(&a, "port_drv_extra");
    a.port_command(extra, &Term::string("x")).unwrap();
    assert_eq!(data_from(&a, extra, WAIT).unwrap(), "got:x");
    let h2 = host();
    let b = h2.spawn_process();
    let extra2 = open(&b, "port_drv_extra");
    let name = b.port_info_item(extra2, &Term::atom("name")).unwrap();
    assert_eq!(name.to_string(), format!("{{name,{}}}", Term::string("port_drv_extra")));
    b.port_close(extra2).unwrap();
    a.port_close(extra).unwrap();
    assert_eq!(ctl(&a, port, 'e', ""), "1");
    assert_eq!(ctl(&a, port, 'e', ""), "0");
    assert!(a.open_port_driver("port_drv_extra", &[]).is_err());
    assert!(b.open_port_driver("port_drv_extra", &[]).is_err());
}
