//! The port operations of `benches/ports.rs` on *isolated* ports: the
//! driver runs in a worker process (`HostConfig::isolate`), so each
//! operation is a request to the worker and its reply. What isolation costs
//! is the difference to the in-process figures. Drivers: the bundled
//! `echo_drv` and `queue_drv`; payload 28 bytes unless named otherwise.
use std::time::Duration;

use divan::Bencher;
use porthost::{Host, HostConfig, PortId, Process, Term};

fn main() {
    divan::main();
}

const WAIT: Option<Duration> = Some(Duration::from_secs(5));

fn isolated_host() -> Host {
    Host::new(HostConfig {
        isolate: true,
        worker_exe: Some(env!("CARGO_BIN_EXE_porthost").into()),
        ..HostConfig::default()
    })
}

fn setup(driver: &str, binary: bool) -> (Host, Process, PortId) {
    let host = isolated_host();
    let p = host.spawn_process();
    let opts = if binary { vec![Term::atom("binary")] } else { vec![] };
    let port = p.open_port_driver(driver, &opts).unwrap();
    (host, p, port)
}

fn payload(n: usize) -> Term {
    Term::binary(&vec![b'x'; n])
}

#[divan::bench]
fn port_control_28b(b: Bencher) {
    let (_h, p, port) = setup("echo_drv", false);
    let data = payload(28);
    b.bench_local(|| drop(divan::black_box(p.port_control(port, 0, &data).unwrap())));
}

#[divan::bench]
fn port_call_small_term(b: Bencher) {
    let (_h, p, port) = setup("echo_drv", false);
    let t = Term::tuple(vec![Term::atom("ok"), payload(28)]);
    b.bench_local(|| drop(divan::black_box(p.port_call(port, 0, &t).unwrap())));
}

#[divan::bench(args = [28, 65536])]
fn port_command_round_trip(b: Bencher, n: usize) {
    let (_h, p, port) = setup("echo_drv", true);
    let data = payload(n);
    b.bench_local(|| {
        p.port_command(port, &data).unwrap();
        drop(divan::black_box(p.receive(WAIT).unwrap().unwrap()));
    });
}

#[divan::bench]
fn port_command_pipelined_1000_28b(b: Bencher) {
    let (_h, p, port) = setup("echo_drv", true);
    let data = payload(28);
    b.bench_local(|| {
        for _ in 0..1000 {
            p.port_command(port, &data).unwrap();
        }
        for _ in 0..1000 {
            drop(p.receive(WAIT).unwrap().unwrap());
        }
    });
}

#[divan::bench]
fn open_port_and_close(b: Bencher) {
    let host = isolated_host();
    let p = host.spawn_process();
    // The worker starts with the first port; keep one open so that each
    // round measures a port, not a worker.
    let _keep = p.open_port_driver("echo_drv", &[]).unwrap();
    b.bench_local(|| {
        let q = p.open_port_driver("echo_drv", &[]).unwrap();
        p.port_close(q).unwrap();
    });
}

#[divan::bench]
fn queue_enqueue_and_dequeue_28b(b: Bencher) {
    let (_h, p, port) = setup("queue_drv", false);
    let data = payload(28);
    let n = Term::string("28");
    b.bench_local(|| {
        p.port_command(port, &data).unwrap();
        drop(divan::black_box(p.port_control(port, 'D' as u32, &n).unwrap()));
    });
}
