//! The worker protocol's encoding: every request, reply and event is an
//! Erlang term in the external term format (the encoding ERTS uses for
//! distribution), one per frame of the shared-memory rings (module
//! `crate::isolate::ring`, which adds the length). See `crate::isolate`
//! for the messages.
#![deny(unsafe_code)]

use std::io;

use crate::term::{ext, Term};

/// The bytes of one frame: `t` in the external term format.
pub fn encode(t: &Term) -> Vec<u8> {
    ext::term_to_binary(t)
}

/// The term of one frame.
///
/// # Errors
/// `InvalidData` for bytes that are not in the external term format.
pub fn decode(frame: &[u8]) -> io::Result<Term> {
    ext::binary_to_term(frame).ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "frame is not in the external term format"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_and_garbage_is_refused() {
        let t = Term::Tuple(vec![Term::atom("control"), Term::Int(7), Term::binary(b"abc")]);
        assert_eq!(decode(&encode(&t)).unwrap(), t);
        assert_eq!(decode(&encode(&Term::nil())).unwrap(), Term::nil());
        assert!(decode(&[1, 2]).is_err());
    }
}
