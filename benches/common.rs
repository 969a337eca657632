//! Helpers shared by the bench files (included with `#[path]`).

use std::io::Read;
use std::net::TcpStream;

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
