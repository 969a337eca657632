//! The cost of rankings with 100,000 ports open (issue 15): one
//! `port_count` (a pass over the port table reading each port's counters,
//! then a partial sort for the top N) and one `port_window` with a 0 ms
//! window (two passes and a hash join; a real window adds its sleep).
//! Driver: the bundled `echo_drv`; 100 of the ports have traffic.
use std::sync::LazyLock;
use std::time::Duration;

use porthost::recon::Attr;
use porthost::{Host, HostConfig, Term};

fn main() {
    divan::main();
}

const PORTS: usize = 100_000;

static HOST: LazyLock<Host> = LazyLock::new(|| {
    let host = Host::new(HostConfig::default().port_limit(1 << 18));
    let p = host.spawn_process();
    for i in 0..PORTS {
        let port = p.open_port_driver("echo_drv", &[Term::atom("binary")]).unwrap();
        if i % 1000 == 0 {
            p.port_command(port, &Term::binary(&vec![b'x'; i / 100 + 1])).unwrap();
        }
    }
    // The owner lives as long as the bench: its ports stay open.
    Box::leak(Box::new(p));
    host
});

#[divan::bench(args = [Attr::Io, Attr::Memory])]
fn port_count_top10(attr: Attr) -> usize {
    HOST.port_count(attr, 10).len()
}

#[divan::bench]
fn port_window_0ms_top10() -> usize {
    HOST.port_window(Attr::Io, 10, Duration::ZERO).len()
}

#[divan::bench]
fn port_counters_all() -> usize {
    HOST.port_counters().len()
}
