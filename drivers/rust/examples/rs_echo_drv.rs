//! rs_echo_drv: an echo driver written with the porthost-driver SDK.
//!
//! `port_command(P, Data)` sends Data back; `port_control(P, 0, Data)`
//! answers Data; `port_control(P, 1, _)` panics (the port fails with
//! `driver_panic`, the host goes on); any other operation is `badarg`.
use porthost_driver::{driver, Badarg, Driver, Port, StartError};

struct Echo;

impl Driver for Echo {
    const NAME: &'static str = "rs_echo_drv";

    fn start(_port: Port, command: &str) -> Result<Self, StartError> {
        if command.ends_with(" refuse") {
            return Err(StartError::Badarg);
        }
        Ok(Echo)
    }

    fn output(&mut self, port: Port, data: &[u8]) {
        port.output(data);
    }

    fn control(&mut self, _port: Port, op: u32, data: &[u8]) -> Result<Vec<u8>, Badarg> {
        match op {
            0 => Ok(data.to_vec()),
            1 => panic!("asked to panic"),
            _ => Err(Badarg),
        }
    }
}

driver!(Echo);
