//! In-process port operations, each comparable to the ERTS figure it
//! chases (`bench/compare.sh` runs the ERTS side): `port_control`,
//! `erlang:port_call`, `port_command` → `driver_output` → receive,
//! pipelined `port_command` throughput, `open_port` + `port_close`.
//! Payload 28 bytes unless named otherwise. Driver: the bundled `echo_drv`.
//! Results are dropped inside the timed closure: ERTS pays for its garbage
//! too.
use std::time::Duration;

use divan::Bencher;
use porthost::{Host, HostConfig, Process, PortId, Term};

fn main() {
    divan::main();
}

const WAIT: Option<Duration> = Some(Duration::from_secs(5));

fn setup(binary: bool) -> (Host, Process, PortId) {
    // PORTHOST_BENCH_CHECK=1: the same with the driver checker on.
    let host = Host::new(HostConfig::default().check(std::env::var_os("PORTHOST_BENCH_CHECK").is_some()));
    let p = host.spawn_process();
    let opts = if binary { vec![Term::atom("binary")] } else { vec![] };
    let port = p.open_port_driver("echo_drv", &opts).unwrap();
    (host, p, port)
}

fn payload(n: usize) -> Term {
    Term::binary(&vec![b'x'; n])
}

#[divan::bench]
fn port_control_28b(b: Bencher) {
    let (_h, p, port) = setup(false);
    let data = payload(28);
    b.bench_local(|| drop(divan::black_box(p.port_control(port, 0, &data).unwrap())));
}

#[divan::bench]
fn port_call_small_term(b: Bencher) {
    let (_h, p, port) = setup(false);
    let t = Term::Tuple(vec![Term::atom("ok"), payload(28)]);
    b.bench_local(|| drop(divan::black_box(p.port_call(port, 0, &t).unwrap())));
}

#[divan::bench(args = [28, 65536])]
fn port_command_round_trip(b: Bencher, n: usize) {
    let (_h, p, port) = setup(true);
    let data = payload(n);
    b.counter(divan::counter::BytesCount::new(n)).bench_local(|| {
        p.port_command(port, &data).unwrap();
        drop(divan::black_box(p.receive(WAIT).unwrap().unwrap()));
    });
}

#[divan::bench(args = [28, 65536])]
fn port_command_pipelined_1000(b: Bencher, n: usize) {
    let (_h, p, port) = setup(true);
    let data = payload(n);
    b.counter(divan::counter::BytesCount::new(n * 1000)).bench_local(|| {
        for _ in 0..1000 {
            p.port_command(port, &data).unwrap();
        }
        for _ in 0..1000 {
            p.receive(WAIT).unwrap().unwrap();
        }
    });
}

#[divan::bench]
fn open_port_and_close(b: Bencher) {
    let (_h, p, _port) = setup(false);
    b.bench_local(|| {
        let port = p.open_port_driver("echo_drv", &[]).unwrap();
        p.port_close(port).unwrap();
    });
}

/// The cost of isolation: `port_control` on a port whose driver runs in a
/// worker process, a round trip through the shared-memory rings
/// (`docs/isolation-ring.md`; target: under 2 µs median). Both sides spin
/// while they wait, so it needs the two cores to itself.
#[divan::bench]
fn isolated_port_control_28b(b: Bencher) {
    let host = Host::new(HostConfig::default().isolate(true).worker_exe(Some(env!("CARGO_BIN_EXE_porthost").into())));
    let p = host.spawn_process();
    let port = p.open_port_driver("echo_drv", &[]).unwrap();
    let data = payload(28);
    b.bench_local(|| drop(divan::black_box(p.port_control(port, 0, &data).unwrap())));
}
