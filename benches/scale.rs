//! Scale: how the cost grows with the work (issue targets: 1,000,000 idle
//! ports in under 1 GiB; no growth in memory or descriptors over 1,000,000
//! open/close cycles), and message throughput with 1, 2 and 4 threads on
//! distinct ports. Prints what it measures; `PORTHOST_SCALE_PORTS` (default
//! 1,000,000) sets the first two counts.
use porthost::{Host, HostConfig};

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map(|d| d.count()).unwrap_or(0)
}

fn main() {
    let n: usize = std::env::var("PORTHOST_SCALE_PORTS").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
    // Room for all the idle ports at once (ERTS's `+Q`; the default is
    // 65,536, as in ERTS 25).
    let mut config = HostConfig::default();
    config.port_limit = n + 1024;
    let host = Host::new(config);
    let p = host.spawn_process();
    // Load the driver and run some cycles first, so that one-time costs
    // (the driver, the allocator's and the port table's first growth) are
    // not counted: the question is whether each cycle leaves something.
    for _ in 0..10_000 {
        let warm = p.open_port_driver("echo_drv", &[]).unwrap();
        p.port_close(warm).unwrap();
    }

    let (rss0, fd0) = (rss_kib(), fds());
    let t = std::time::Instant::now();
    for _ in 0..n {
        let q = p.open_port_driver("echo_drv", &[]).unwrap();
        p.port_close(q).unwrap();
    }
    let (rss1, fd1) = (rss_kib(), fds());
    println!(
        "open/close cycles: {n} in {:.2} s; RSS {rss0} KiB -> {rss1} KiB; descriptors {fd0} -> {fd1}",
        t.elapsed().as_secs_f64()
    );

    let before = rss_kib();
    let t = std::time::Instant::now();
    let ports: Vec<_> = (0..n).map(|_| p.open_port_driver("echo_drv", &[]).unwrap()).collect();
    let after = rss_kib();
    println!(
        "idle ports: {n} open in {:.2} s; RSS +{} MiB, {} bytes per port",
        t.elapsed().as_secs_f64(),
        (after - before) / 1024,
        (after - before) * 1024 / n as u64
    );
    drop(ports);
    drop(p);
    drop(host);

    // Message throughput with 1, 2 and 4 threads, each driving its own port
    // (28-byte port_command → driver_output → receive, pipelined by 100).
    for threads in [1, 2, 4] {
        // Room for all the idle ports at once (ERTS's `+Q`; the default is
    // 65,536, as in ERTS 25).
    let mut config = HostConfig::default();
    config.port_limit = n + 1024;
    let host = Host::new(config);
        let per_thread = 200_000usize;
        let t = std::time::Instant::now();
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let host = host.clone();
                std::thread::spawn(move || {
                    let p = host.spawn_process();
                    let port = p.open_port_driver("echo_drv", &[porthost::Term::atom("binary")]).unwrap();
                    let data = porthost::Term::binary(&[b'x'; 28]);
                    for _ in 0..per_thread / 100 {
                        for _ in 0..100 {
                            p.port_command(port, &data).unwrap();
                        }
                        for _ in 0..100 {
                            p.receive(Some(std::time::Duration::from_secs(5))).unwrap().unwrap();
                        }
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        let secs = t.elapsed().as_secs_f64();
        println!(
            "throughput: {threads} thread(s), {} messages in {secs:.2} s: {:.0} messages/s",
            threads * per_thread,
            (threads * per_thread) as f64 / secs
        );
    }
}
