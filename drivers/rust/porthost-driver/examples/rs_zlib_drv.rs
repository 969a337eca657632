//! rs_zlib_drv: streaming zlib compression (`flate2`) off the port's
//! thread, with the driver queue and async jobs.
//!
//! `open_port({spawn_driver, "rs_zlib_drv deflate" | "rs_zlib_drv inflate"}, [binary])`.
//! `port_command(P, Data)` queues Data (`driver_enq`); while no job runs,
//! the queued bytes go to an async job that feeds them through the
//! stream and sends what comes out as `{P, {data, Bytes}}`.
//! `port_control(P, $f, "")` ends the stream: when the queue has drained,
//! the stream's tail is sent, then `{P, finished}` (`erl_drv_output_term`).
use std::io::Write;

use flate2::write::{ZlibDecoder, ZlibEncoder};
use flate2::Compression;
use porthost_driver::{driver, Badarg, Driver, Port, StartError, Term};

enum Stream {
    Deflate(ZlibEncoder<Vec<u8>>),
    Inflate(ZlibDecoder<Vec<u8>>),
}

impl Stream {
    /// Feeds `data`, returns what came out.
    fn feed(&mut self, data: &[u8]) -> std::io::Result<Vec<u8>> {
        match self {
            Stream::Deflate(e) => {
                e.write_all(data)?;
                Ok(std::mem::take(e.get_mut()))
            }
            Stream::Inflate(d) => {
                d.write_all(data)?;
                Ok(std::mem::take(d.get_mut()))
            }
        }
    }
    /// Ends the stream, returns its tail.
    fn finish(self) -> std::io::Result<Vec<u8>> {
        match self {
            Stream::Deflate(e) => e.finish(),
            Stream::Inflate(d) => d.finish(),
        }
    }
}

struct Zlib {
    /// `None` while a job holds it.
    stream: Option<Stream>,
    finishing: bool,
}

impl Zlib {
    /// Starts a job on the queued bytes if none runs; finishes the stream
    /// when asked and idle.
    fn pump(&mut self, port: Port) {
        let Some(mut stream) = self.stream.take() else { return };
        let chunk = port.peek_queue();
        if chunk.is_empty() {
            if self.finishing {
                self.finishing = false;
                match stream.finish() {
                    Ok(tail) => {
                        if !tail.is_empty() {
                            port.output(&tail);
                        }
                        let _ = port.output_term(&Term::tuple([Term::Port(port), Term::atom("finished")]));
                    }
                    Err(_) => port.fail("data_error"),
                }
                self.stream = None;
            } else {
                self.stream = Some(stream);
            }
            return;
        }
        port.dequeue(chunk.len());
        let queued = port.async_job(
            move || {
                let out = stream.feed(&chunk);
                (stream, out)
            },
            |drv: &mut Zlib, port, (stream, out)| match out {
                Ok(bytes) => {
                    if !bytes.is_empty() {
                        port.output(&bytes);
                    }
                    drv.stream = Some(stream);
                    drv.pump(port);
                }
                Err(_) => port.fail("data_error"),
            },
        );
        if queued.is_err() {
            port.fail("no_async");
        }
    }
}

impl Driver for Zlib {
    const NAME: &'static str = "rs_zlib_drv";

    fn start(_port: Port, command: &str) -> Result<Self, StartError> {
        let stream = match command.split_whitespace().nth(1) {
            Some("deflate") => Stream::Deflate(ZlibEncoder::new(Vec::new(), Compression::default())),
            Some("inflate") => Stream::Inflate(ZlibDecoder::new(Vec::new())),
            _ => return Err(StartError::Badarg),
        };
        Ok(Zlib { stream: Some(stream), finishing: false })
    }

    fn output(&mut self, port: Port, data: &[u8]) {
        port.enqueue(data);
        self.pump(port);
    }

    fn control(&mut self, port: Port, op: u32, _data: &[u8]) -> Result<Vec<u8>, Badarg> {
        match op {
            0x66 /* $f */ => {
                self.finishing = true;
                self.pump(port);
                Ok(b"ok".to_vec())
            }
            _ => Err(Badarg),
        }
    }
}

driver!(Zlib);
