//! Event delivery: timer fire, `driver_async` round trip, `driver_select`
//! wake-up to `ready_input`, and the driver queue (enqueue via `outputv`,
//! dequeue via `driver_deq`). Drivers: the test drivers of
//! `tests/drivers/` (built here with `cc` against `include/`) and the
//! bundled `queue_drv`.
use std::io::Write;
use std::time::Duration;

use divan::Bencher;

#[path = "common.rs"]
mod common;
use porthost::{Host, HostConfig, PortId, Process, Term};

fn main() {
    divan::main();
}

const WAIT: Option<Duration> = Some(Duration::from_secs(5));

fn setup(driver: &str) -> (Host, Process, PortId) {
    let host = Host::new(HostConfig::default().driver_paths(vec![common::test_drivers()]));
    let p = host.spawn_process();
    let port = p.open_port_driver(driver, &[]).unwrap();
    (host, p, port)
}

fn receive(p: &Process) {
    drop(divan::black_box(p.receive(WAIT).unwrap().expect("a message")));
}

#[divan::bench]
fn timer_fire(b: Bencher) {
    let (_h, p, port) = setup("timer_drv");
    let zero = Term::string("0");
    b.bench_local(|| {
        p.port_control(port, 's' as u32, &zero).unwrap();
        receive(&p);
    });
}

#[divan::bench]
fn async_round_trip(b: Bencher) {
    let (_h, p, port) = setup("async_drv");
    let one = Term::string("1");
    b.bench_local(|| {
        p.port_control(port, 'a' as u32, &one).unwrap();
        receive(&p);
    });
}

#[divan::bench]
fn select_wakeup_to_ready_input(b: Bencher) {
    let (_h, p, port) = setup("select_drv");
    let mut client = common::select_client(&p, port);
    let mut echo = [0u8; 4];
    b.bench_local(|| {
        client.write_all(b"ping").unwrap();
        receive(&p);
        common::read_polled(&mut client, &mut echo);
    });
}

#[divan::bench]
fn queue_enqueue_and_dequeue_28b(b: Bencher) {
    let host = Host::new(HostConfig::default());
    let p = host.spawn_process();
    let port = p.open_port_driver("queue_drv", &[]).unwrap();
    let data = Term::binary(&[b'q'; 28]);
    let n = Term::string("28");
    b.bench_local(|| {
        p.port_command(port, &data).unwrap();
        drop(divan::black_box(p.port_control(port, 'D' as u32, &n).unwrap()));
    });
}
