//! Isolated ports: a driver that crashes, hangs or eats memory in a worker
//! ends its own ports with a reason that says so, and nothing else.
use std::time::Duration;

use porthost::{BifError, Host, HostConfig, PortId, Process, Term, WorkerLimits};

use crate::util::{drivers_dir, Header};

// Generous: a driver looping outside a request ends by its worker's CPU limit
// (5 s of CPU), which a loaded machine stretches in wall-clock time.
const WAIT: Option<Duration> = Some(Duration::from_secs(60));

fn host() -> Host {
    Host::new(HostConfig::default().driver_paths(vec![drivers_dir(Header::Own).to_path_buf()]).isolate(true).worker_exe(Some(env!("CARGO_BIN_EXE_porthost").into())).isolation_timeout(Some(Duration::from_secs(3))).worker_limits(WorkerLimits::default().memory_bytes(Some(512 << 20)).cpu_seconds(Some(5))))
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
            // Accepted, as in ERTS when a driver fails in output: the
            // port exits afterwards.
            let r = p.port_command(port, &data);
            assert!(matches!(r, Ok(true)), "{place} {how}: port_command gave {r:?}");
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
        // A timeout runs outside any request: the watchdog sees its loop
        // all the same (the callback clock, `host/isolate/clock.rs`).
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
    for _ in 0..porthost::QUARANTINE_AFTER {
        let e = p.open_port_driver("crash_drv abort", &[]).unwrap_err();
        assert!(e.to_string().contains("sigabrt"), "{e}");
    }
    let e = p.open_port_driver("crash_drv", &[]).unwrap_err();
    assert!(e.to_string().contains("quarantined"), "{e}");
}

#[test]
fn isolated_drivers_by_name() {
    let h = Host::new(HostConfig::default().driver_paths(vec![drivers_dir(Header::Own).to_path_buf()]).isolated_drivers(vec!["crash_drv".into()]).worker_exe(Some(env!("CARGO_BIN_EXE_porthost").into())));
    let p = owner(&h);
    let port = p.open_port_driver("crash_drv", &[]).unwrap();
    let os_pid = p.port_info_item(port, &Term::atom("os_pid")).unwrap().to_string();
    assert_ne!(os_pid, "{os_pid,undefined}", "it runs in a worker");
    let echo = p.open_port_driver("echo_drv", &[]).unwrap();
    assert_eq!(p.port_info_item(echo, &Term::atom("os_pid")).unwrap().to_string(), "{os_pid,undefined}");
}

// The shared-memory rings (docs/isolation-ring.md): frames bigger than a
// ring, many frames in a row, several callers at once, events between
// requests and events left in the ring by a worker that died.

/// The size of each ring (`host/isolate/shm.rs`): the frames below are
/// chosen around it.
const RING: usize = 256 << 10;

/// [`host`] without the worker's CPU limit: the tests below keep a worker
/// busy for seconds (it spins while it waits for the next request), which
/// `RLIMIT_CPU` would end with `SIGXCPU` on a slow machine.
fn busy_host() -> Host {
    Host::new(HostConfig::default().driver_paths(vec![drivers_dir(Header::Own).to_path_buf()]).isolate(true).worker_exe(Some(env!("CARGO_BIN_EXE_porthost").into())).isolation_timeout(Some(Duration::from_secs(10))).worker_limits(WorkerLimits::default().memory_bytes(Some(1 << 30)).cpu_seconds(None)))
}

/// `len` bytes that differ with `seed` and with their position (xorshift),
/// so that a piece of a frame lost, repeated or moved shows.
fn pattern(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 32) as u8
        })
        .collect()
}

/// The data of `{Port, {data, Data}}` from `port`; panics on anything else.
/// `binary` says whether `Data` must be a binary (else a list).
fn data_from(m: &Term, port: PortId, binary: bool) -> Vec<u8> {
    let shape = || format!("not {{{}, {{data, _}}}}: {:.200}", Term::Port(port), m.to_string());
    let Term::Tuple(t) = m else { panic!("{}", shape()) };
    assert!(t.len() == 2 && t[0] == Term::Port(port), "{}", shape());
    let Term::Tuple(d) = &t[1] else { panic!("{}", shape()) };
    assert!(d.len() == 2 && d[0].is_atom("data"), "{}", shape());
    assert_eq!(matches!(d[1], Term::Binary(_)), binary, "binary mode: {binary}; {}", shape());
    d[1].iolist_to_bytes().unwrap_or_else(|| panic!("{}", shape()))
}

/// Compares without printing megabytes when they differ.
fn assert_same(got: &[u8], want: &[u8], what: &str) {
    if got != want {
        let at = got.iter().zip(want).position(|(a, b)| a != b).unwrap_or(got.len().min(want.len()));
        panic!("{what}: {} bytes back for {}, first difference at byte {at}", got.len(), want.len());
    }
}

#[test]
fn commands_larger_than_the_ring_come_back_intact() {
    let h = busy_host();
    let p = owner(&h);
    let bin = p.open_port_driver("echo_drv", &[Term::atom("binary")]).unwrap();
    // Around the ring's size (the frame adds a header and the request's
    // tuple), then 3 MB: a frame that streams through in a dozen pieces.
    let mut sizes = vec![64 << 10, RING - 200, RING - 64, RING - 1, RING, RING + 1, RING + 4096];
    sizes.extend((RING - 96..RING - 32).step_by(7));
    sizes.push(3 << 20);
    for (i, &n) in sizes.iter().enumerate() {
        let bytes = pattern(i as u64, n);
        assert!(p.port_command(bin, &Term::binary(&bytes)).unwrap());
        let m = p.receive(WAIT).unwrap().expect("the echo of a command");
        assert_same(&data_from(&m, bin, true), &bytes, &format!("command {i} of {n} bytes"));
    }
    // A list-mode port: the echo is a list, about twice the bytes on the wire.
    let list = p.open_port_driver("echo_drv", &[]).unwrap();
    let bytes = pattern(99, 3 << 20);
    p.port_command(list, &Term::binary(&bytes)).unwrap();
    let m = p.receive(WAIT).unwrap().expect("the echo of a command");
    assert_same(&data_from(&m, list, false), &bytes, "3 MB command in list mode");
    // A reply (not an event) larger than the ring: port_control and port_call.
    let r = p.port_control(list, 0, &Term::binary(&bytes)).unwrap();
    assert_same(&r.iolist_to_bytes().expect("an iolist"), &bytes, "3 MB port_control");
    let t = Term::tuple(vec![Term::atom("big"), Term::binary(&bytes), Term::Int(7)]);
    let r = p.port_call(list, 0, &t).unwrap();
    assert!(r == t, "3 MB port_call: {:.200}", r.to_string());
    assert_eq!(p.receive(Some(Duration::ZERO)).unwrap(), None, "nothing more");
}

#[test]
fn a_thousand_pipelined_64k_commands_come_back_in_order() {
    const N: u32 = 1000;
    const SIZE: usize = 64 << 10;
    let h = busy_host();
    let p = owner(&h);
    let port = p.open_port_driver("echo_drv", &[Term::atom("binary")]).unwrap();
    let payload = |i: u32| {
        let mut b = i.to_be_bytes().to_vec();
        b.extend(pattern(u64::from(i) + 1000, SIZE - 4));
        b
    };
    for i in 0..N {
        assert!(p.port_command(port, &Term::binary(&payload(i))).unwrap());
    }
    for i in 0..N {
        let m = p.receive(WAIT).unwrap().unwrap_or_else(|| panic!("reply {i} of {N} never came"));
        let got = data_from(&m, port, true);
        assert_eq!(got.len(), SIZE, "reply {i}");
        let seq = u32::from_be_bytes(got[..4].try_into().unwrap());
        assert_eq!(seq, i, "replies in order");
        assert_same(&got, &payload(i), &format!("reply {i}"));
    }
    assert_eq!(p.receive(Some(Duration::ZERO)).unwrap(), None, "no reply twice");
}

#[test]
fn four_threads_share_a_worker_and_each_gets_its_own_answers() {
    const CALLS: u32 = 5_000;
    let h = busy_host();
    let threads: Vec<_> = (0..4u8)
        .map(|t| {
            let p = owner(&h);
            std::thread::spawn(move || {
                let port = p.open_port_driver("echo_drv", &[]).unwrap();
                // Odd threads switch their port to binary control replies.
                let op = u32::from(t % 2);
                let pid = p.port_info_item(port, &Term::atom("os_pid")).unwrap().to_string();
                for i in 0..CALLS {
                    // Thread, counter, and a tail of 0..=300 bytes, so that
                    // frames of many sizes wrap the ring at many places.
                    let mut b = vec![t];
                    b.extend(i.to_be_bytes());
                    b.extend(pattern(u64::from(t) << 32 | u64::from(i), (i % 301) as usize));
                    let r = p.port_control(port, op, &Term::binary(&b)).unwrap();
                    assert_eq!(matches!(r, Term::Binary(_)), op == 1, "thread {t} call {i}: {r}");
                    assert_same(&r.iolist_to_bytes().unwrap(), &b, &format!("thread {t} call {i}"));
                    if i % 1000 == 0 {
                        // An event, in a request, among the other threads'.
                        let mut c = vec![t, b'c'];
                        c.extend(i.to_be_bytes());
                        p.port_command(port, &Term::binary(&c)).unwrap();
                        let m = p.receive(WAIT).unwrap().expect("the echo of a command");
                        assert_same(&data_from(&m, port, false), &c, &format!("thread {t} command {i}"));
                    }
                }
                assert_eq!(p.receive(Some(Duration::ZERO)).unwrap(), None, "thread {t}: no stray message");
                pid
            })
        })
        .collect();
    let pids: Vec<String> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert!(pids.iter().all(|p| *p == pids[0]), "one worker for the driver: {pids:?}");
}

#[test]
fn timer_output_reaches_the_owner_while_no_request_is_in_flight() {
    const TICKS: u32 = 100;
    let h = host();
    let p = owner(&h);
    let ports: Vec<PortId> = (0..4).map(|_| p.open_port_driver("timer_drv", &[]).unwrap()).collect();
    for &port in &ports {
        // Each timeout sends "tick I" and re-arms a 5 ms timer, in the worker.
        let r = p.port_control(port, 'n' as u32, &Term::string(&TICKS.to_string())).unwrap();
        assert_eq!(r.to_string(), Term::string("ok").to_string());
    }
    // No request from here on: the ticks come through the reader thread.
    let mut next = vec![1u32; ports.len()];
    for _ in 0..TICKS as usize * ports.len() {
        let m = p.receive(WAIT).unwrap().unwrap_or_else(|| panic!("ticks missing; next expected {next:?}"));
        let Term::Tuple(t) = &m else { panic!("{m}") };
        let Term::Port(from) = t[0] else { panic!("{m}") };
        let k = ports.iter().position(|&q| q == from).unwrap_or_else(|| panic!("{m}"));
        let text = String::from_utf8(data_from(&m, from, false)).unwrap();
        assert_eq!(text, format!("tick {}", next[k]), "port {k}: ticks in order");
        next[k] += 1;
    }
    assert_eq!(p.receive(Some(Duration::from_millis(50))).unwrap(), None, "no tick past {TICKS}");
    for port in ports {
        assert_eq!(p.port_control(port, 'c' as u32, &Term::nil()).unwrap().to_string(), Term::string("0").to_string());
    }
}

#[test]
fn async_output_arrives_whether_or_not_a_request_is_in_flight() {
    const JOBS: i64 = 2000;
    let h = host();
    let p = owner(&h);
    let port = p.open_port_driver("async_drv", &[]).unwrap();
    // Each job's ready_async sends "sum N S" from the worker's async side,
    // during the requests that follow or between them.
    for n in 1..=JOBS {
        p.port_control(port, 'a' as u32, &Term::string(&n.to_string())).unwrap();
    }
    let mut seen = vec![false; JOBS as usize + 1];
    for _ in 0..JOBS {
        let m = p.receive(WAIT).unwrap().unwrap_or_else(|| {
            panic!("missing: {:?}", (1..=JOBS).filter(|&n| !seen[n as usize]).take(10).collect::<Vec<_>>())
        });
        let text = String::from_utf8(data_from(&m, port, false)).unwrap();
        let [_, n, s] = text.split(' ').collect::<Vec<_>>()[..] else { panic!("{text}") };
        let (n, s): (i64, i64) = (n.parse().unwrap(), s.parse().unwrap());
        assert_eq!(s, n * (n + 1) * (2 * n + 1) / 6, "{text}");
        assert!(!std::mem::replace(&mut seen[n as usize], true), "{text} twice");
    }
    assert_eq!(p.receive(Some(Duration::from_millis(50))).unwrap(), None);
}

#[test]
fn output_left_in_the_ring_by_a_worker_that_dies_arrives_before_the_exits() {
    // Ports of one worker: the first BYSTANDERS arm a timer (100 ms) whose
    // timeout only sends "before tick<I>" (crash_drv sends that for any
    // word it does not know), the last arms one that sends "before segv"
    // and crashes. Their deadlines are in the order armed and one timer
    // thread runs them in deadline order, so every message is written
    // before the crash; some are still in the ring when the worker dies.
    const BYSTANDERS: usize = 60;
    let h = host();
    let p = owner(&h);
    for round in 0..3 {
        let ports: Vec<PortId> = (0..=BYSTANDERS).map(|_| p.open_port_driver("crash_drv", &[]).unwrap()).collect();
        let word = |k: usize| if k == BYSTANDERS { "segv".to_string() } else { format!("tick{k}") };
        for (k, &port) in ports.iter().enumerate() {
            p.port_control(port, 't' as u32, &Term::string(&word(k))).unwrap();
        }
        let mut sent = vec![false; ports.len()];
        let mut exited = vec![false; ports.len()];
        while exited.iter().any(|e| !e) {
            let m = p.receive(WAIT).unwrap().unwrap_or_else(|| panic!("round {round}: sent {sent:?}, exited {exited:?}"));
            let Term::Tuple(t) = &m else { panic!("{m}") };
            if t.len() == 3 && t[0].is_atom("EXIT") {
                let k = ports.iter().position(|&q| t[1] == Term::Port(q)).unwrap_or_else(|| panic!("{m}"));
                assert!(sent[k], "round {round}: port {k} exited before its message arrived");
                assert_eq!(t[2].to_string(), "{driver_crashed,sigsegv}", "round {round}: port {k}");
                assert!(!std::mem::replace(&mut exited[k], true), "round {round}: port {k} exited twice");
            } else {
                let Term::Port(from) = t[0] else { panic!("{m}") };
                let k = ports.iter().position(|&q| q == from).unwrap_or_else(|| panic!("{m}"));
                let text = String::from_utf8(data_from(&m, from, false)).unwrap();
                assert_eq!(text, format!("before {}", word(k)), "round {round}: port {k}");
                assert!(!std::mem::replace(&mut sent[k], true), "round {round}: port {k} sent twice");
            }
        }
        assert!(p.ports().is_empty(), "round {round}: {:?}", p.ports());
    }
}
