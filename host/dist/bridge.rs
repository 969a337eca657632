//! `porthost bridge`: the session protocol (see `super`) over standard
//! input and output, as a port program of a BEAM node opened with
//! `{packet, 4}`. porthost ends when its input closes (the BEAM node closed
//! the port or died), closing every port first.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::sync::Arc;

use parking_lot::Mutex;

use super::session::{Exits, Out, Session};
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
    // Room for a 64 KiB frame and more in each pipe: a frame that does not
    // fit takes a wake-up of the reader per pipe-full.
    crate::sys::stdio::grow_pipe(&input, PIPE_SIZE);
    crate::sys::stdio::grow_pipe(&output, PIPE_SIZE);
    let host = Host::new(config);
    let exits = Exits::install(&host)?;
    let writer = Arc::new(Mutex::new(Writer { out: BufWriter::with_capacity(1 << 16, output), batching: false }));
    let w = writer.clone();
    let out: Out = Arc::new(move |head: &[u8], tail: &[u8]| w.lock().frame(head, tail));
    let mut session = Session::new(&host, out, exits);
    let mut input = BufReader::with_capacity(1 << 18, input);
    let mut frame = Vec::new();
    while read_frame(&mut input, &mut frame)? {
        writer.lock().batching = true;
        session.handle(&frame)?;
        if input.buffer().is_empty() {
            // No request waits: send what the batch wrote.
            writer.lock().end_batch()?;
        }
    }
    drop(session);
    Ok(())
}

/// The pipe buffer size asked for (Linux's default `pipe-max-size`).
const PIPE_SIZE: usize = 1 << 20;

/// The output: frames written while requests that were already read run
/// (a batch) go out together, at its end; others at once.
struct Writer {
    out: BufWriter<File>,
    batching: bool,
}

impl Writer {
    /// Writes the frame `head` followed by `tail`.
    fn frame(&mut self, head: &[u8], tail: &[u8]) -> io::Result<()> {
        let size = head.len() + tail.len();
        let len = u32::try_from(size).map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "a frame over 4 GiB"))?;
        if size + 4 <= self.out.capacity() - self.out.buffer().len() {
            self.out.write_all(&len.to_be_bytes())?;
            self.out.write_all(head)?;
            self.out.write_all(tail)?;
            return if self.batching { Ok(()) } else { self.out.flush() };
        }
        // A big frame: what is buffered, then the length and the frame in
        // one writev, without copying (a reader that sees the length alone
        // would wake for nothing).
        self.out.flush()?;
        write_all_vectored(self.out.get_mut(), &[&len.to_be_bytes(), head, tail])
    }

    fn end_batch(&mut self) -> io::Result<()> {
        self.batching = false;
        self.out.flush()
    }
}

/// Writes `parts` in order with as few `writev` calls as the pipe allows.
fn write_all_vectored(w: &mut File, parts: &[&[u8]]) -> io::Result<()> {
    let mut parts: Vec<&[u8]> = parts.iter().copied().filter(|p| !p.is_empty()).collect();
    let mut first = 0;
    while first < parts.len() {
        let slices: Vec<io::IoSlice<'_>> = parts[first..].iter().map(|p| io::IoSlice::new(p)).collect();
        let mut n = match w.write_vectored(&slices) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        while first < parts.len() && n >= parts[first].len() {
            n -= parts[first].len();
            first += 1;
        }
        if n > 0 {
            parts[first] = &parts[first][n..];
        }
    }
    Ok(())
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
