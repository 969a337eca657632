//! The porthost side of `bench/compare.sh`: the same operations, the same
//! driver (`echo_drv`), the same counts and the same statistic (median of 7
//! rounds, ns per operation) as `bench/erts_ops.escript` measures under
//! ERTS. Prints "NAME NS_PER_OP" lines. Not a divan bench: it mirrors the
//! ERTS script's loop so the two columns are comparable.
use std::time::{Duration, Instant};

use porthost::{Host, HostConfig, Term};

const WAIT: Option<Duration> = Some(Duration::from_secs(5));

fn report(name: &str, n: u32, mut f: impl FnMut(u32)) {
    f(n / 10);
    let mut times: Vec<f64> = (0..7)
        .map(|_| {
            let t0 = Instant::now();
            f(n);
            t0.elapsed().as_nanos() as f64 / n as f64
        })
        .collect();
    times.sort_by(f64::total_cmp);
    println!("{name} {:.1}", times[3]);
}

fn main() {
    let host = Host::new(HostConfig::default());
    let p = host.spawn_process();
    let port = p.open_port_driver("echo_drv", &[]).unwrap();
    let pb = p.open_port_driver("echo_drv", &[Term::atom("binary")]).unwrap();
    let d28 = Term::binary(&[b'x'; 28]);
    let d64k = Term::binary(&vec![b'x'; 65536]);
    let t = Term::Tuple(vec![Term::atom("ok"), d28.clone()]);
    report("port_control_28b", 200_000, |n| {
        for _ in 0..n {
            drop(p.port_control(port, 0, &d28).unwrap());
        }
    });
    report("port_call_small_term", 200_000, |n| {
        for _ in 0..n {
            drop(p.port_call(port, 0, &t).unwrap());
        }
    });
    let round_trip = |d: &Term, n: u32| {
        for _ in 0..n {
            p.port_command(pb, d).unwrap();
            drop(p.receive(WAIT).unwrap().unwrap());
        }
    };
    report("port_command_round_trip_28b", 200_000, |n| round_trip(&d28, n));
    report("port_command_round_trip_64k", 20_000, |n| round_trip(&d64k, n));
    report("port_command_pipelined_28b", 200_000, |n| {
        for _ in 0..n {
            p.port_command(pb, &d28).unwrap();
        }
        for _ in 0..n {
            drop(p.receive(WAIT).unwrap().unwrap());
        }
    });
    report("open_port_and_close", 20_000, |n| {
        for _ in 0..n {
            let q = p.open_port_driver("echo_drv", &[]).unwrap();
            p.port_close(q).unwrap();
        }
    });
}
