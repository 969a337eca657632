//! Helpers shared by the bench files (included with `#[path]`; each bench
//! uses some of them).
#![allow(dead_code)]

use std::io::Read;
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::Command;

/// Builds the test drivers `timer_drv`, `async_drv` and `select_drv`
/// (`tests/drivers/`, against `include/erl_driver.h`, `-O2`) into a fresh
/// directory under the system's temporary directory and returns it.
///
/// # Panics
/// If `cc` cannot be run or fails.
pub fn test_drivers() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let out = std::env::temp_dir().join(format!("porthost-bench-drivers-{}", std::process::id()));
    std::fs::create_dir_all(&out).unwrap();
    for name in ["timer_drv", "async_drv", "select_drv"] {
        let st = Command::new("cc")
            .args(["-shared", "-fPIC", "-O2", "-Iinclude", "-o"])
            .arg(out.join(format!("{name}.so")))
            .arg(root.join(format!("tests/drivers/{name}.c")))
            .current_dir(&root)
            .status()
            .expect("running cc");
        assert!(st.success(), "compiling {name}");
    }
    out
}

/// Fills `buf` from the non-blocking `sock`, spinning while no bytes are
/// there. The select benches read their echo this way because ERTS's
/// `gen_tcp:recv` is served by its own poll set and busy-waiting
/// schedulers: a client thread that sleeps in `read(2)` would add a (virtual)
/// CPU wake-up of its own to each round.
///
/// # Panics
/// On a read error other than `WouldBlock`, or end of stream.
pub fn read_polled(sock: &mut TcpStream, buf: &mut [u8]) {
    let mut got = 0;
    while got < buf.len() {
        match sock.read(&mut buf[got..]) {
            Ok(0) => panic!("the echo server closed the connection"),
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => std::hint::spin_loop(),
            Err(e) => panic!("reading the echo: {e}"),
        }
    }
}

/// Has the `select_drv` port `port` listen on TCP (its control `$L`) and
/// connects a client to it: no delay, non-blocking (read its echo with
/// [`read_polled`]).
///
/// # Panics
/// If the control or the connection fails.
pub fn select_client(p: &porthost::Process, port: porthost::PortId) -> TcpStream {
    let tcp = p.port_control(port, 'L' as u32, &porthost::Term::nil()).unwrap();
    let tcp: u16 = String::from_utf8(tcp.iolist_to_bytes().unwrap()).unwrap().parse().unwrap();
    let client = TcpStream::connect(("127.0.0.1", tcp)).unwrap();
    client.set_nodelay(true).unwrap();
    client.set_nonblocking(true).unwrap();
    client
}
