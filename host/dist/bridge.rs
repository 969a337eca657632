//! `porthost bridge`: the session protocol (see `super`) over standard
//! input and output, as a port program of a BEAM node opened with
//! `{packet, 4}`. porthost ends when its input closes (the BEAM node closed
//! the port or died), closing every port first.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::sync::Arc;

use parking_lot::Mutex;

use super::session::{Exits, Out, Session};
use crate::term::ext;
use crate::{Host, HostConfig};

/// The largest frame accepted (the `{packet, 4}` length is checked
/// before anything is allocated for it).
const MAX_FRAME: usize = 1 << 30;

/// Serves the bridge protocol on fds 0 and 1 until input ends.
///
/// # Errors
/// Standard input or output could not be set up, or reading failed.
pub(crate) fn run(config: HostConfig) -> io::Result<()> {
    let (input, output) = crate::sys::stdio::take_stdio()?;
    let host = Host::new(config);
    let exits = Exits::install(&host)?;
    let writer = Arc::new(Mutex::new(BufWriter::with_capacity(1 << 16, output)));
    let out: Out = Arc::new(move |t| write_frame(&writer, &ext::term_to_binary(t)));
    let mut session = Session::new(&host, out, exits);
    let mut input = BufReader::with_capacity(1 << 16, input);
    let mut frame = Vec::new();
    while read_frame(&mut input, &mut frame)? {
        session.handle(&frame)?;
    }
    drop(session);
    Ok(())
}

fn write_frame(w: &Mutex<BufWriter<File>>, bytes: &[u8]) -> io::Result<()> {
    let mut w = w.lock();
    w.write_all(&(bytes.len() as u32).to_be_bytes())?;
    w.write_all(bytes)?;
    w.flush()
}

/// Reads one `{packet, 4}` frame into `buf`; `false` at the end of input.
fn read_frame(r: &mut impl Read, buf: &mut Vec<u8>) -> io::Result<bool> {
    let mut len = [0u8; 4];
    match r.read_exact(&mut len) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(false),
        Err(e) => return Err(e),
    }
    let len = u32::from_be_bytes(len) as usize;
    if len > MAX_FRAME {
        return Err(io::Error::new(io::ErrorKind::InvalidData, format!("a frame of {len} bytes")));
    }
    buf.clear();
    buf.resize(len, 0);
    match r.read_exact(buf) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(false),
        Err(e) => Err(e),
    }
}
