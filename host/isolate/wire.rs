//! The worker protocol's framing: each frame is a 4-byte big-endian length
//! and a term in the external term format (the same encoding ERTS uses for
//! distribution), so requests, replies and events are plain Erlang terms.
//! See `crate::isolate` for the messages.

use std::io::{self, Read, Write};

use crate::term::{ext, Term};

/// The largest frame accepted (a 64 MiB command is the practical limit).
const MAX_FRAME: usize = 1 << 30;

/// Writes one frame.
pub fn write_frame(w: &mut impl Write, t: &Term) -> io::Result<()> {
    let body = ext::term_to_binary(t);
    let mut frame = Vec::with_capacity(4 + body.len());
    frame.extend_from_slice(&(body.len() as u32).to_be_bytes());
    frame.extend_from_slice(&body);
    w.write_all(&frame)?;
    w.flush()
}

/// Reads one frame; `Ok(None)` at a clean end of stream.
///
/// # Errors
/// I/O errors, and `InvalidData` for a frame that is too long or not in the
/// external term format.
pub fn read_frame(r: &mut impl Read) -> io::Result<Option<Term>> {
    let mut len = [0u8; 4];
    match r.read_exact(&mut len) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let len = u32::from_be_bytes(len) as usize;
    if len > MAX_FRAME {
        return Err(io::Error::new(io::ErrorKind::InvalidData, format!("frame of {len} bytes")));
    }
    let mut body = vec![0u8; len];
    r.read_exact(&mut body)?;
    ext::binary_to_term(&body)
        .map(Some)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "frame is not in the external term format"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_and_end_cleanly() {
        let mut buf = Vec::new();
        let t = Term::Tuple(vec![Term::atom("control"), Term::Int(7), Term::binary(b"abc")]);
        write_frame(&mut buf, &t).unwrap();
        write_frame(&mut buf, &Term::nil()).unwrap();
        let mut r = &buf[..];
        assert_eq!(read_frame(&mut r).unwrap().unwrap(), t);
        assert_eq!(read_frame(&mut r).unwrap().unwrap(), Term::nil());
        assert!(read_frame(&mut r).unwrap().is_none());
        let mut bad: &[u8] = &[0, 0, 0, 2, 1, 2];
        assert!(read_frame(&mut bad).is_err());
    }
}
