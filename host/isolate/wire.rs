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

/// The most new atoms one worker's frames may add to the parent's atom
/// table, over its life.
pub const WORKER_ATOMS: usize = 100_000;

/// The most new atoms all workers' frames together may add to the
/// parent's atom table: half of ERTS's limit (1,048,576), so that workers
/// can never fill it for the parent's own use.
pub const ALL_WORKERS_ATOMS: usize = crate::term::ATOM_LIMIT / 2;

/// The most terms (elements and containers) one frame from a worker may
/// decode to: 16 Mi terms, at most about 512 MiB in the parent, however
/// few bytes claim them (a byte per list element in the external format).
pub const FRAME_TERMS: usize = 16 << 20;

static ALL_WORKERS_MADE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Why the parent refuses a frame from a worker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Not a term in the external format, or not a frame of the protocol.
    Malformed,
    /// It would add more atoms than the worker's share
    /// ([`WORKER_ATOMS`], [`ALL_WORKERS_ATOMS`]).
    Atoms,
    /// It decodes to more than [`FRAME_TERMS`] terms.
    TooBig,
}

/// A frame from a worker, which is untrusted input: decoded within the
/// worker's atom budget (`made` counts the atoms this worker has added)
/// and [`FRAME_TERMS`], and checked to be a tuple tagged as the protocol
/// says (`reply`, `msg`, `send`, `exit`, `exit_unlinked`, `ddll`,
/// `created`).
///
/// # Errors
/// [`Refusal`]: the worker is to be killed.
pub fn decode_from_worker(frame: &[u8], made: &std::sync::atomic::AtomicUsize) -> Result<Term, Refusal> {
    use std::sync::atomic::Ordering::Relaxed;
    let allow = || {
        if made.fetch_add(1, Relaxed) >= WORKER_ATOMS {
            return false;
        }
        ALL_WORKERS_MADE.fetch_add(1, Relaxed) < ALL_WORKERS_ATOMS
    };
    let mut limits = ext::Limits { safe: false, new_atom: Some(&allow), nodes: FRAME_TERMS, refused: None };
    let Some((t, _)) = ext::decode_with(frame, &mut limits) else {
        return Err(match limits.refused {
            Some(ext::Refused::Atoms) => Refusal::Atoms,
            Some(ext::Refused::Nodes) => Refusal::TooBig,
            None => Refusal::Malformed,
        });
    };
    let known = matches!(&t, Term::Tuple(v) if v.len() >= 3 && v[0].as_atom().is_some_and(|a| {
        matches!(a.name(), "reply" | "msg" | "send" | "exit" | "exit_unlinked" | "ddll" | "created")
    }));
    if known {
        Ok(t)
    } else {
        Err(Refusal::Malformed)
    }
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
