//! Events through the Rust API: I/O readiness (`driver_select`), timers and
//! the async pool, driven by the test drivers `select_drv`, `timer_drv` and
//! `async_drv` (their commands are documented at the top of each
//! `tests/drivers/*.c`). The ERTS comparisons live in the
//! `tests/scripts/{select,timer,async}_*.erl` scripts; these tests add what a
//! script cannot do: a real TCP client, thousands of ports, several threads.
//!
//! The drivers keep driver-wide state (instance numbers, event logs, select_drv's
//! descriptor roles) in statics, which every host in this process shares (one
//! `dlopen`ed library), and each host's load runs `init` again: the tests here
//! take [`serial`] first so that no two of them overlap.
use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use porthost::{Host, HostConfig, PortId, Process, Term};

use crate::util::{drivers_dir, Header};

const WAIT: Option<Duration> = Some(Duration::from_secs(10));

/// Held for the whole of a test (taken before its host, so dropped after
/// it): the tests of this module run one at a time.
fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

fn host_with(async_threads: usize) -> Host {
    Host::new(HostConfig::default().driver_paths(vec![drivers_dir(Header::Own).to_path_buf()]).async_threads(async_threads))
}

fn host() -> Host {
    host_with(1)
}

fn open(p: &Process, cmd: &str) -> PortId {
    p.open_port_driver(cmd, &[]).unwrap_or_else(|e| panic!("open_port {cmd}: {e}"))
}

fn control_text(p: &Process, port: PortId, op: char, data: &str) -> String {
    let t = p.port_control(port, op as u32, &Term::string(data)).unwrap();
    String::from_utf8(t.iolist_to_bytes().unwrap()).unwrap()
}

/// The next `{Port, {data, Text}}` message: the port and the text.
fn next_data(p: &Process) -> (PortId, String) {
    let m = p.receive(WAIT).unwrap().expect("a message in time");
    data_of(&m).unwrap_or_else(|| panic!("not a data message: {m}"))
}

fn data_of(m: &Term) -> Option<(PortId, String)> {
    let Term::Tuple(t) = m else { return None };
    let [Term::Port(port), Term::Tuple(d)] = t.as_slice() else { return None };
    let [tag, data] = d.as_slice() else { return None };
    if !tag.is_atom("data") {
        return None;
    }
    Some((*port, String::from_utf8(data.iolist_to_bytes()?).ok()?))
}

/// The number of threads of this process (`Threads:` in
/// `/proc/self/status`).
fn thread_count() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("Threads:")).expect("a Threads: line");
    line["Threads:".len()..].trim().parse().unwrap()
}

#[test]
fn a_tcp_client_gets_its_bytes_back_from_the_drivers_echo_server() {
    let _serial = serial();
    let h = host();
    let p = h.spawn_process();
    let port = open(&p, "select_drv desel");
    let tcp_port: u16 = control_text(&p, port, 'L', "").parse().unwrap();
    let mut client = TcpStream::connect(("127.0.0.1", tcp_port)).unwrap();
    client.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    for round in ["hello", "porthost echo, round two"] {
        client.write_all(round.as_bytes()).unwrap();
        let mut back = vec![0; round.len()];
        client.read_exact(&mut back).unwrap();
        assert_eq!(back, round.as_bytes());
        assert_eq!(next_data(&p), (port, format!("got {}", round.len())));
    }
    drop(client);
    assert_eq!(next_data(&p), (port, "eof".to_owned()));
    assert_eq!(control_text(&p, port, 'K', ""), "start(1) accept stop_select(conn) deselect(conn)");
    assert_eq!(control_text(&p, port, 'n', ""), "1", "only the listener is left");
    p.port_close(port).unwrap();
    let watcher = open(&p, "select_drv");
    assert_eq!(control_text(&p, watcher, 'K', ""), "stop(1) stop_select(listen) deselect(listen) start(2)");
}

#[test]
fn many_tcp_clients_at_once_each_get_their_own_echo() {
    let _serial = serial();
    let h = host();
    let p = h.spawn_process();
    let port = open(&p, "select_drv desel");
    let tcp_port: u16 = control_text(&p, port, 'L', "").parse().unwrap();
    let clients: Vec<_> = (0..16)
        .map(|i| {
            std::thread::spawn(move || {
                let mut c = TcpStream::connect(("127.0.0.1", tcp_port)).unwrap();
                c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
                for j in 0..20 {
                    let msg = format!("client {i} message {j}");
                    c.write_all(msg.as_bytes()).unwrap();
                    let mut back = vec![0; msg.len()];
                    c.read_exact(&mut back).unwrap();
                    assert_eq!(back, msg.as_bytes());
                }
            })
        })
        .collect();
    for c in clients {
        c.join().unwrap();
    }
    // Every byte echoed was reported ("got N"), then every client's EOF.
    let (mut bytes, mut eofs) = (0, 0);
    let expected: usize = (0..16).flat_map(|i| (0..20).map(move |j| format!("client {i} message {j}").len())).sum();
    while eofs < 16 {
        let (from, text) = next_data(&p);
        assert_eq!(from, port);
        match text.strip_prefix("got ") {
            Some(n) => bytes += n.parse::<usize>().unwrap(),
            None => {
                assert_eq!(text, "eof");
                eofs += 1;
            }
        }
    }
    assert_eq!(bytes, expected);
    assert_eq!(control_text(&p, port, 'n', ""), "1", "every connection was released");
}

#[test]
fn closing_a_port_calls_no_stop_select_for_events_it_left_selected() {
    let _serial = serial();
    let h = host();
    let p = h.spawn_process();
    let watcher = open(&p, "select_drv");
    let port = open(&p, "select_drv");
    assert_eq!(control_text(&p, port, 'X', ""), "ok");
    control_text(&p, port, 'L', "");
    p.port_close(port).unwrap();
    assert_eq!(control_text(&p, watcher, 'K', ""), "start(1) start(2) stop(2)");
    // The pipe's write end closed in stop made the read end readable: no
    // ready_input reaches anyone.
    assert!(p.receive(Some(Duration::from_millis(100))).unwrap().is_none());
}

#[test]
fn a_second_port_selecting_an_event_steals_it_as_in_erts() {
    let _serial = serial();
    let h = host();
    let p = h.spawn_process();
    let a = open(&p, "select_drv");
    let b = open(&p, "select_drv");
    assert_eq!(control_text(&p, a, 'D', ""), "0");
    assert_eq!(control_text(&p, b, 'd', ""), "0");
    control_text(&p, a, 'w', "");
    assert_eq!(next_data(&p), (b, "shared 2".to_owned()));
    assert_eq!(control_text(&p, a, 'e', ""), "0");
    assert_eq!(control_text(&p, a, 'K', ""), "start(1) start(2) stop_select(shared) deselect(shared)");
}

#[test]
fn two_thousand_ports_with_timers_fire_once_each_without_a_thread_per_port() {
    let _serial = serial();
    const PORTS: usize = 2000;
    let h = host();
    let p = h.spawn_process();
    let ports: Vec<PortId> = (0..PORTS).map(|_| open(&p, "timer_drv")).collect();
    let before = thread_count();
    let start = Instant::now();
    for (i, port) in ports.iter().enumerate() {
        assert_eq!(control_text(&p, *port, 's', &(10 + i % 41).to_string()), "0");
    }
    let during = thread_count();
    let mut fired: HashMap<PortId, usize> = HashMap::new();
    for _ in 0..PORTS {
        let (port, text) = next_data(&p);
        assert_eq!(text, "timeout 0 0");
        *fired.entry(port).or_default() += 1;
    }
    let elapsed = start.elapsed();
    assert!(p.receive(Some(Duration::from_millis(100))).unwrap().is_none(), "one timeout per port");
    assert_eq!(fired.len(), PORTS);
    assert!(fired.values().all(|n| *n == 1));
    assert!(elapsed >= Duration::from_millis(10), "no timer fired early: {elapsed:?}");
    // Other tests run in this process too; a thread per timer would add
    // thousands.
    assert!(during < before + 50 && during < 500, "threads: {before} before the timers, {during} with {PORTS} armed");
}

#[test]
fn async_jobs_from_four_threads_on_distinct_ports_lose_nothing() {
    let _serial = serial();
    let h = host_with(4);
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let h = h.clone();
            std::thread::spawn(move || {
                let p = h.spawn_process();
                let port = open(&p, "async_drv");
                // Keyed jobs: one queue, results in submission order even
                // though earlier jobs sleep longer.
                assert_eq!(control_text(&p, port, 'k', "20"), "ok");
                for i in 1..=20 {
                    assert_eq!(next_data(&p), (port, format!("job {i}")), "thread {t}");
                }
                // Unkeyed jobs spread over the workers: all come back.
                let mut ids = Vec::new();
                for n in 1..=300i64 {
                    let id: i64 = control_text(&p, port, 'a', &n.to_string()).parse().unwrap();
                    ids.push(id);
                }
                assert!(ids.iter().all(|id| *id > 0) && ids.windows(2).all(|w| w[0] < w[1]), "ids increase");
                let mut sums: Vec<String> = (0..300).map(|_| next_data(&p).1).collect();
                sums.sort();
                let mut expected: Vec<String> =
                    (1..=300i64).map(|n| format!("sum {n} {}", n * (n + 1) * (2 * n + 1) / 6)).collect();
                expected.sort();
                assert_eq!(sums, expected, "thread {t}");
                assert!(p.receive(Some(Duration::from_millis(50))).unwrap().is_none());
                port
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}

#[test]
fn driver_async_writes_the_queue_number_back_into_the_key() {
    let _serial = serial();
    let h = host_with(4);
    let p = h.spawn_process();
    let port = open(&p, "async_drv");
    // key = driver_async_port_key(port) + N; after the call, key % 4.
    let base: u32 = control_text(&p, port, 'q', "0").parse().unwrap();
    assert!(base < 4);
    for n in 1..8u32 {
        let k: u32 = control_text(&p, port, 'q', &n.to_string()).parse().unwrap();
        assert_eq!(k, (base + n) % 4);
    }
    for _ in 0..8 {
        assert!(next_data(&p).1.starts_with("sum "));
    }
}

#[test]
fn driver_async_without_threads_runs_the_job_at_once_and_returns_0() {
    let _serial = serial();
    let h = host_with(0);
    let p = h.spawn_process();
    let port = open(&p, "async_drv");
    assert_eq!(control_text(&p, port, 'a', "4"), "0");
    // ready_async ran inside port_control: the result is already here.
    let m = p.receive(Some(Duration::ZERO)).unwrap().expect("delivered before port_control returned");
    assert_eq!(data_of(&m), Some((port, "sum 4 30".to_owned())));
    assert_eq!(control_text(&p, port, 'q', "5"), "0", "no threads: queue 0");
}

#[test]
fn a_job_whose_port_closed_comes_back_through_async_free() {
    let _serial = serial();
    let h = host();
    let p = h.spawn_process();
    let watcher = open(&p, "async_drv");
    let port = open(&p, "async_drv");
    control_text(&p, port, 'w', "");
    control_text(&p, port, 'k', "3");
    p.port_close(port).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let expected = "start(1) start(2) stop(2) async_free(2:wait) async_free(2:job) async_free(2:job) async_free(2:job)";
    let mut parts: Vec<String> = Vec::new();
    while Instant::now() < deadline && parts.join(" ").len() < expected.len() {
        let chunk = control_text(&p, watcher, 'K', "");
        if !chunk.is_empty() {
            parts.push(chunk);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(parts.join(" "), expected);
    assert!(p.receive(Some(Duration::from_millis(50))).unwrap().is_none(), "no ready_async");
}

/// A port closed (or its host dropped) while the poll thread runs its
/// `ready_input` takes the driver lock and the port lock in the same order
/// as the callback does: this used to deadlock (the closing thread held the
/// port lock and waited for the driver lock the poll thread held). A
/// watchdog fails the test instead of letting it hang.
#[test]
fn closing_ports_while_their_ready_input_runs_does_not_deadlock() {
    let _serial = serial();
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for _ in 0..100 {
            let h = host();
            let p = h.spawn_process();
            let port = open(&p, "select_drv");
            let tcp_port: u16 = control_text(&p, port, 'L', "").parse().unwrap();
            // Clients that keep the poll thread busy with this port.
            let clients: Vec<_> = (0..3)
                .map(|_| {
                    let mut c = TcpStream::connect(("127.0.0.1", tcp_port)).unwrap();
                    let handle = c.try_clone().unwrap();
                    (handle, std::thread::spawn(move || while c.write_all(b"ping").is_ok() {}))
                })
                .collect();
            std::thread::sleep(Duration::from_millis(2));
            // The owner exits: the port gets the exit signal and closes.
            drop(p);
            drop(h);
            // Nobody reads any more: end the writers.
            let clients: Vec<_> = clients
                .into_iter()
                .map(|(handle, writer)| {
                    let _ = handle.shutdown(std::net::Shutdown::Both);
                    writer
                })
                .collect();
            clients.into_iter().for_each(|c| c.join().unwrap());
        }
        done_tx.send(()).unwrap();
    });
    assert!(
        done_rx.recv_timeout(Duration::from_secs(120)).is_ok(),
        "closing select_drv ports while their events fire deadlocked"
    );
}

/// With `busy_wait: false` (ERTS's `+sbwt none`) waiting threads sleep at
/// once, and every answer still comes: select echoes, async results, 0 ms
/// timers.
#[test]
fn without_busy_waiting_every_answer_still_comes() {
    let _serial = serial();
    let h = Host::new(HostConfig::default().driver_paths(vec![drivers_dir(Header::Own).to_path_buf()]).busy_wait(false));
    let p = h.spawn_process();
    let sel = open(&p, "select_drv");
    let tcp_port: u16 = control_text(&p, sel, 'L', "").parse().unwrap();
    let mut client = TcpStream::connect(("127.0.0.1", tcp_port)).unwrap();
    client.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    for round in 0..20 {
        client.write_all(b"ping").unwrap();
        let mut back = [0u8; 4];
        client.read_exact(&mut back).unwrap();
        assert_eq!(&back, b"ping", "round {round}");
        assert_eq!(next_data(&p), (sel, "got 4".to_owned()), "round {round}");
    }
    let asy = open(&p, "async_drv");
    for n in 1..=20i64 {
        control_text(&p, asy, 'a', &n.to_string());
        assert_eq!(next_data(&p), (asy, format!("sum {n} {}", n * (n + 1) * (2 * n + 1) / 6)), "job {n}");
    }
    let tmr = open(&p, "timer_drv");
    for round in 0..20 {
        assert_eq!(control_text(&p, tmr, 's', "0"), "0");
        assert_eq!(next_data(&p), (tmr, "timeout 0 0".to_owned()), "timer {round}");
    }
}
