//! `porthost bridge`: the session protocol (see `super`) over standard
//! input and output, as a port program of a BEAM node opened with
//! `{packet, 4}`. porthost ends when its input closes (the BEAM node closed
//! the port or died), closing every port first.
//!
//! # Batches
//! Frames written while the requests already read run (the replies and
//! messages of a pipelined burst) go out together, in one `write`, and as
//! one packet: a *batch*, the byte 0 followed by the frames, each with its
//! 4-byte length as in `{packet, 4}`. A frame in the external term format
//! starts with 131, so the client tells the two apart; a batch costs the
//! BEAM one port message and one wake-up of the bridge process for many
//! frames (ERTS delivers one message per `{packet, 4}` packet). A batch
//! holds up to [`BATCH`] bytes; a larger frame goes alone, written from
//! where it is. The client sends every request in a batch: a lone one as
//! a batch of one, a burst as up to 32 requests its callers made while
//! the bridge process was busy (see `porthost.erl`'s "Bursts" and
//! [`Session::handle_packet`]).

use std::fs::File;
use std::io::{self, BufReader, Read, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::session::{Exits, Out, Session};
use crate::spin::{Budget, Room};
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
    let busy_wait = config.busy_wait;
    let host = Host::new(config);
    let exits = Exits::install(&host)?;
    let writer = Arc::new(Mutex::new(Writer::new(output)));
    let w = writer.clone();
    let out: Out = Arc::new(move |head: &[u8], tail: &[u8]| w.lock().frame(head, tail));
    let mut session = Session::new(&host, out, exits);
    let mut input = BufReader::with_capacity(1 << 18, SpinRead { file: input, busy_wait, room: Room::new() });
    let mut frame = Vec::new();
    while read_frame(&mut input, &mut frame)? {
        writer.lock().batching = true;
        session.handle_packet(&frame)?;
        if input.buffer().is_empty() {
            // No request waits: send what the batch wrote.
            writer.lock().end_batch()?;
        }
    }
    drop(session);
    Ok(())
}

/// How long the reader spins on standard input before it sleeps in
/// `read`, at most (see [`SpinRead`]).
static READ_SPIN: Budget = Budget::new(Duration::from_micros(100));

/// Standard input, waited for as ERTS's schedulers wait for work: when
/// nothing is there, the reader looks again (`poll` with no timeout) for a
/// while before it sleeps in `read`. A BEAM caller that waits for a reply
/// sends its next request within microseconds of it, and on a virtual
/// machine waking a thread whose CPU has gone idle costs tens of
/// microseconds: a 28-byte round trip from a BEAM node took about 20 µs
/// with a sleeping reader and 6 µs with a spinning one (README, "Speed").
/// The spin adapts (`crate::spin`): it shrinks while spinning does not
/// pay, and stops while the machine has more runnable threads than CPUs
/// ([`Room`]; beside two CPU hogs a spinning reader made that round trip
/// 5 times slower).
struct SpinRead {
    file: File,
    busy_wait: bool,
    room: Room,
}

impl Read for SpinRead {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if !self.busy_wait || crate::sys::stdio::readable_now(&self.file) || !self.room.roomy(Instant::now()) {
            return self.file.read(buf);
        }
        let start = Instant::now();
        if READ_SPIN.spin_until(|| crate::sys::stdio::readable_now(&self.file)) {
            return self.file.read(buf);
        }
        let n = self.file.read(buf);
        READ_SPIN.slept(start.elapsed());
        n
    }
}

/// The pipe buffer size asked for (Linux's default `pipe-max-size`).
const PIPE_SIZE: usize = 1 << 20;

/// The most bytes of frames a batch holds (see the module's "Batches").
const BATCH: usize = 1 << 16;

/// The length and tag of a batch: `{packet, 4}`'s length, then 0.
const BATCH_HEAD: usize = 5;

/// The output: frames written while requests that were already read run
/// go out together as a batch, at its end; others at once.
struct Writer {
    out: File,
    batching: bool,
    /// Room for a batch's head, then each frame with its length.
    buf: Vec<u8>,
    /// How many frames `buf` holds.
    frames: usize,
}

impl Writer {
    fn new(out: File) -> Writer {
        let mut buf = Vec::with_capacity(BATCH_HEAD + BATCH);
        buf.resize(BATCH_HEAD, 0);
        Writer { out, batching: false, buf, frames: 0 }
    }

    /// Writes the frame `head` followed by `tail`.
    fn frame(&mut self, head: &[u8], tail: &[u8]) -> io::Result<()> {
        let size = head.len() + tail.len();
        let len = u32::try_from(size).map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "a frame over 4 GiB"))?;
        if self.buf.len() - BATCH_HEAD + 4 + size <= BATCH {
            self.buf.extend_from_slice(&len.to_be_bytes());
            self.buf.extend_from_slice(head);
            self.buf.extend_from_slice(tail);
            self.frames += 1;
            return if self.batching { Ok(()) } else { self.flush() };
        }
        // A big frame: what is buffered, then the length and the frame in
        // one writev, without copying (a reader that sees the length alone
        // would wake for nothing).
        self.flush()?;
        write_all_vectored(&mut self.out, &[&len.to_be_bytes(), head, tail])
    }

    fn end_batch(&mut self) -> io::Result<()> {
        self.batching = false;
        self.flush()
    }

    /// Writes the frames buffered: one alone as it is, several as a batch.
    fn flush(&mut self) -> io::Result<()> {
        let r = match self.frames {
            0 => Ok(()),
            1 => self.out.write_all(&self.buf[BATCH_HEAD..]),
            _ => {
                let len = (self.buf.len() - 4) as u32;
                self.buf[..4].copy_from_slice(&len.to_be_bytes());
                self.buf[4] = 0;
                self.out.write_all(&self.buf)
            }
        };
        self.buf.truncate(BATCH_HEAD);
        self.frames = 0;
        r
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

#[cfg(test)]
mod tests {
    use super::*;

    /// What a writer wrote (into a file of its own).
    fn written(name: &str, f: impl FnOnce(&mut Writer)) -> Vec<u8> {
        let path = std::env::temp_dir().join(format!("porthost-bridge-{}-{name}", std::process::id()));
        let mut writer = Writer::new(File::create(&path).unwrap());
        f(&mut writer);
        drop(writer);
        let out = std::fs::read(&path).unwrap();
        let _ = std::fs::remove_file(&path);
        out
    }

    fn packet(payload: &[u8]) -> Vec<u8> {
        [&(payload.len() as u32).to_be_bytes()[..], payload].concat()
    }

    /// Reads `want` bytes from `r`, however they come.
    fn read_n(r: &mut impl Read, want: usize) -> Vec<u8> {
        let mut got = vec![0u8; want];
        r.read_exact(&mut got).unwrap();
        got
    }

    #[test]
    fn a_spinning_reader_gets_what_comes_while_it_spins_after_it_sleeps_and_the_end() {
        for busy_wait in [true, false] {
            let (mut tx, rx) = std::os::unix::net::UnixStream::pair().unwrap();
            let file = File::from(std::os::fd::OwnedFd::from(rx));
            let mut input = SpinRead { file, busy_wait, room: Room::new() };
            let writer = std::thread::spawn(move || {
                // Within the spin, then well past its longest.
                std::thread::sleep(Duration::from_micros(20));
                tx.write_all(b"ab").unwrap();
                std::thread::sleep(Duration::from_millis(20));
                tx.write_all(b"cd").unwrap();
            });
            assert_eq!(read_n(&mut input, 2), b"ab");
            assert_eq!(read_n(&mut input, 2), b"cd");
            writer.join().unwrap();
            assert_eq!(input.read(&mut [0u8; 4]).unwrap(), 0, "the end of input");
        }
    }

    #[test]
    fn frames_of_a_batch_go_out_as_one_packet_and_a_lone_frame_as_itself() {
        let out = written("batch", |w| {
            w.frame(b"\x83one", b"").unwrap();
            w.batching = true;
            w.frame(b"\x83tw", b"o").unwrap();
            w.frame(b"\x83three", b"").unwrap();
            w.end_batch().unwrap();
            w.batching = true;
            w.frame(b"\x83four", b"").unwrap();
            w.end_batch().unwrap();
        });
        let batch = [&[0u8][..], &packet(b"\x83two"), &packet(b"\x83three")].concat();
        assert_eq!(out, [packet(b"\x83one"), packet(&batch), packet(b"\x83four")].concat());
    }

    #[test]
    fn a_frame_larger_than_a_batch_goes_alone_after_the_batch() {
        let big = vec![7u8; BATCH];
        let out = written("big", |w| {
            w.batching = true;
            w.frame(b"\x83a", b"").unwrap();
            w.frame(b"\x83b", b"").unwrap();
            w.frame(b"\x83", &big).unwrap();
            w.frame(b"\x83c", b"").unwrap();
            w.end_batch().unwrap();
        });
        let batch = [&[0u8][..], &packet(b"\x83a"), &packet(b"\x83b")].concat();
        let big_frame = [&b"\x83"[..], &big].concat();
        assert_eq!(out, [packet(&batch), packet(&big_frame), packet(b"\x83c")].concat());
    }
}
