//! rs_tcp_drv: `driver_select` on a TCP socket.
//!
//! `open_port({spawn_driver, "rs_tcp_drv"}, [binary])` makes a loopback
//! TCP connection (a listener on 127.0.0.1, a client connected to it, the
//! accepted server side) and watches the server side for input.
//! `port_command(P, Data)` writes Data into the client end; each time the
//! server end is readable (`ready_input`), what it reads goes to the owner
//! as `{P, {data, Bytes}}`. `port_control(P, $c, "")` shuts the client's
//! writing side: the server reads end-of-file and the driver sends
//! `{P, eof}` and stops watching. On close, the socket is deselected and
//! closed once the host allows it (`stop_select`).
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::fd::{AsRawFd, OwnedFd};

use porthost_driver::{driver, Badarg, Driver, Fd, Mode, Port, StartError, Term};

struct Tcp {
    client: TcpStream,
    server: Option<TcpStream>,
}

impl Driver for Tcp {
    const NAME: &'static str = "rs_tcp_drv";

    fn start(port: Port, _command: &str) -> Result<Self, StartError> {
        let listener = TcpListener::bind("127.0.0.1:0").map_err(|_| StartError::General)?;
        let client = TcpStream::connect(listener.local_addr().map_err(|_| StartError::General)?).map_err(|_| StartError::General)?;
        let (server, _) = listener.accept().map_err(|_| StartError::General)?;
        server.set_nonblocking(true).map_err(|_| StartError::General)?;
        port.select(server.as_raw_fd(), Mode::READ | Mode::USE, true).map_err(|_| StartError::General)?;
        Ok(Tcp { client, server: Some(server) })
    }

    fn output(&mut self, port: Port, data: &[u8]) {
        if self.client.write_all(data).is_err() {
            port.fail("closed");
        }
    }

    fn ready_input(&mut self, port: Port, _fd: Fd) {
        let Some(server) = self.server.as_mut() else { return };
        let mut buf = [0u8; 4096];
        match server.read(&mut buf) {
            Ok(0) => {
                let server = self.server.take().expect("checked above");
                port.deselect_and_close(OwnedFd::from(server));
                let _ = port.output_term(&Term::tuple([Term::Port(port), Term::atom("eof")]));
            }
            Ok(n) => port.output(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::WouldBlock || e.kind() == ErrorKind::Interrupted => {}
            Err(_) => port.fail("read_error"),
        }
    }

    fn control(&mut self, _port: Port, op: u32, _data: &[u8]) -> Result<Vec<u8>, Badarg> {
        match op {
            0x63 /* $c */ => {
                self.client.shutdown(Shutdown::Write).map_err(|_| Badarg)?;
                Ok(b"ok".to_vec())
            }
            _ => Err(Badarg),
        }
    }

    fn stop(self, port: Port) {
        if let Some(server) = self.server {
            port.deselect_and_close(OwnedFd::from(server));
        }
    }
}

driver!(Tcp);
