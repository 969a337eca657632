//! rs_all_drv: every callback of the SDK, for porthost's tests; each one
//! panics when asked, to show that no panic unwinds into the host.
//!
//! `open_port({spawn_driver, "rs_all_drv [panic:CALLBACK]"}, [binary])`
//! with CALLBACK one of start, output, outputv, control, call, timeout,
//! ready_input, flush, process_exit, ready_async, async_work.
//! - `port_command(P, Data)` (outputv): Data goes to the driver queue and
//!   back as `{P, {data, Data}}` after a round through the queue;
//! - `port_control(P, $t, "")`: a 1 ms timer; its timeout sends `{P, timeout}`;
//! - `port_control(P, $a, Data)`: an async job reverses Data, then
//!   `{P, {async, Reversed}}`;
//! - `port_control(P, $m, "")`: monitors the caller; when it exits,
//!   `process_exit` sends `{P, {exited, Monitored}}` to the owner;
//! - `port_control(P, $s, "")`: watches a pipe made readable, whose
//!   `ready_input` sends `{P, ready_input}`;
//! - `port_control(P, $q, Data)`: queues Data and closes the port itself
//!   with `driver_failure_eof` after the queue drains: `flush` is not
//!   involved; `port_close` with a queued byte calls `flush`;
//! - `erlang:port_call(P, 0, Term)`: `{reply, Term, owner | other}`, as
//!   `driver_caller` is the port owner (`driver_connected`) or not.
use std::io::Write;
use std::os::fd::{AsRawFd, OwnedFd};

use porthost_driver::{driver, Badarg, Driver, Fd, IoVec, Mode, Monitor, Port, StartError, Term};

struct All {
    panic_in: String,
    monitor: Option<Monitor>,
    pipe: Option<(std::io::PipeReader, std::io::PipeWriter)>,
}

impl All {
    fn maybe_panic(&self, callback: &str) {
        if self.panic_in == callback {
            panic!("asked to panic in {callback}");
        }
    }
}

impl Driver for All {
    const NAME: &'static str = "rs_all_drv";
    const OUTPUTV: bool = true;

    fn start(_port: Port, command: &str) -> Result<Self, StartError> {
        let panic_in = command.split_whitespace().nth(1).and_then(|a| a.strip_prefix("panic:")).unwrap_or("").to_owned();
        if panic_in == "start" {
            panic!("asked to panic in start");
        }
        Ok(All { panic_in, monitor: None, pipe: None })
    }

    fn outputv(&mut self, port: Port, data: &IoVec<'_>) {
        self.maybe_panic("outputv");
        port.enqueue_iovec(data, 0);
        let queued = port.peek_queue();
        port.dequeue(queued.len());
        port.output(&queued);
    }

    fn control(&mut self, port: Port, op: u32, data: &[u8]) -> Result<Vec<u8>, Badarg> {
        self.maybe_panic("control");
        match op as u8 {
            b't' => port.set_timer(std::time::Duration::from_millis(1)),
            b'a' => {
                let mut bytes = data.to_vec();
                let panics = self.panic_in == "async_work";
                port.async_job(
                    move || {
                        if panics {
                            panic!("asked to panic in async work");
                        }
                        bytes.reverse();
                        bytes
                    },
                    |drv: &mut All, port, out| {
                        drv.maybe_panic("ready_async");
                        let _ = port.output_term(&Term::tuple([Term::Port(port), Term::tuple([Term::atom("async"), Term::binary(out)])]));
                    },
                )
                .map_err(|_| Badarg)?;
            }
            b'm' => self.monitor = port.monitor(port.caller()),
            b's' => {
                let (r, mut w) = std::io::pipe().map_err(|_| Badarg)?;
                w.write_all(b"x").map_err(|_| Badarg)?;
                port.select(r.as_raw_fd(), Mode::READ | Mode::USE, true).map_err(|_| Badarg)?;
                self.pipe = Some((r, w));
            }
            b'q' => {
                port.enqueue(data);
                port.eof();
            }
            b'Q' => port.enqueue(data),
            _ => return Err(Badarg),
        }
        Ok(b"ok".to_vec())
    }

    fn call(&mut self, port: Port, _op: u32, arg: Term) -> Result<Term, Badarg> {
        self.maybe_panic("call");
        let who = if port.caller() == port.connected() { "owner" } else { "other" };
        Ok(Term::tuple([Term::atom("reply"), arg, Term::atom(who)]))
    }

    fn timeout(&mut self, port: Port) {
        self.maybe_panic("timeout");
        let _ = port.output_term(&Term::tuple([Term::Port(port), Term::atom("timeout")]));
    }

    fn ready_input(&mut self, port: Port, _fd: Fd) {
        self.maybe_panic("ready_input");
        if let Some((r, _w)) = self.pipe.take() {
            port.deselect_and_close(OwnedFd::from(r));
        }
        let _ = port.output_term(&Term::tuple([Term::Port(port), Term::atom("ready_input")]));
    }

    fn flush(&mut self, port: Port) {
        self.maybe_panic("flush");
        port.dequeue(port.queue_len());
    }

    fn process_exit(&mut self, port: Port, monitor: Monitor) {
        self.maybe_panic("process_exit");
        let same = self.monitor.as_ref() == Some(&monitor);
        let _ = port.output_term(&Term::tuple([Term::Port(port), Term::tuple([Term::atom("exited"), Term::atom(if same { "monitored" } else { "other" })])]));
    }

    fn stop(mut self, port: Port) {
        if let Some((r, _w)) = self.pipe.take() {
            port.deselect_and_close(OwnedFd::from(r));
        }
    }
}

driver!(All);
