//! {{NAME}}: an Erlang port driver in Rust.
//!
//! `port_command(P, Data)` sends Data back to the port's owner;
//! `port_control(P, 0, Data)` answers Data in upper case; any other
//! operation raises `badarg`.
use porthost_driver::{driver, Badarg, Driver, Port, StartError};

struct State;

impl Driver for State {
    const NAME: &'static str = "{{NAME}}";

    fn start(_port: Port, _command: &str) -> Result<Self, StartError> {
        Ok(State)
    }

    fn output(&mut self, port: Port, data: &[u8]) {
        port.output(data);
    }

    fn control(&mut self, _port: Port, op: u32, data: &[u8]) -> Result<Vec<u8>, Badarg> {
        match op {
            0 => Ok(data.to_ascii_uppercase()),
            _ => Err(Badarg),
        }
    }
}

driver!(State);
