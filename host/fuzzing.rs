//! The bodies of the fuzz targets: the script parser, the evaluator on pure
//! expressions, the external term format's decoder and encoder, and the
//! decoder of frames from an isolated worker. `fuzz/` drives them with
//! libFuzzer (`cargo +nightly fuzz run TARGET`, see `fuzz/README.md`);
//! the tests below drive the same bodies with proptest for a bounded
//! number of cases in every `cargo test`, on the stable toolchain.
//!
//! Each body panics only on a bug: no input may panic, overflow the stack
//! or abort in them; the round trip must give back what it was given.
//! Not a stable API.
#![deny(unsafe_code)]

use std::sync::atomic::AtomicUsize;

use crate::script::{parse_script, Session};
use crate::term::{ext, Term};

/// Script text: parsing gives forms or an error, never a panic.
pub fn script_parser(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let _ = parse_script(&text);
}

/// The longest input the evaluator target runs: short programs keep each
/// run short.
pub const EVAL_MAX_INPUT: usize = 512;

/// Script text evaluated as pure expressions (no ports, no processes):
/// each form gives a value or an exception, never a panic. Inputs that can
/// run for ever or allocate without bound *by design* (recursion through
/// funs, `receive`, shifts and counts large enough to ask for gigabytes,
/// which ERTS would allocate as well) are skipped.
pub fn pure_eval(data: &[u8]) {
    if data.len() > EVAL_MAX_INPUT {
        return;
    }
    let text = String::from_utf8_lossy(data);
    if ["fun", "receive", "bsl", "duplicate", "seq", "copy", "make_", "spawn", "after"].iter().any(|w| text.contains(w))
        || text.split(|c: char| !c.is_ascii_digit()).any(|d| d.len() > 5)
    {
        return;
    }
    let Ok(forms) = parse_script(&text) else { return };
    let mut s = Session::new();
    for f in &forms {
        let _ = s.eval_pure(f);
    }
}

/// External format bytes: a term decoded from them encodes to bytes that
/// decode to the same term, and encode again to the same bytes. (Atoms it
/// makes stay, as in ERTS; once the table is full, decoding refuses new
/// ones, which is fine.)
pub fn ext_round_trip(data: &[u8]) {
    let mut framed = Vec::with_capacity(data.len() + 1);
    if data.first() != Some(&131) {
        framed.push(131);
    }
    framed.extend_from_slice(data);
    let Some((t, _)) = ext::decode(&framed, false) else { return };
    let Some(bytes) = ext::try_term_to_binary(&t) else { return };
    let again = ext::binary_to_term(&bytes).expect("what we encode decodes");
    assert!(again == t, "round trip changed {t:?} into {again:?}");
    assert_eq!(ext::try_term_to_binary(&again).as_deref(), Some(&bytes[..]), "encoding is not stable for {t:?}");
}

/// A frame from an isolated worker: refused or a protocol term, never a
/// panic, and never more than the worker's budget of new atoms.
pub fn worker_frame(data: &[u8]) {
    let made = AtomicUsize::new(0);
    let _ = crate::isolate::wire::decode_from_worker(data, &made);
    let _ = Term::nil();
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// Bytes that look like the external format more often than random
    /// ones: tags and small lengths.
    fn ext_like() -> impl Strategy<Value = Vec<u8>> {
        let byte = prop_oneof![
            3 => prop::sample::select(vec![70u8, 77, 80, 97, 98, 99, 100, 104, 105, 106, 107, 108, 109, 110, 111, 112, 113, 115, 116, 118, 119, 88, 89, 90, 82, 83]),
            2 => 0u8..8,
            1 => any::<u8>(),
        ];
        prop::collection::vec(byte, 0..64)
    }

    /// Scripts from the language's own words.
    fn script_like() -> impl Strategy<Value = String> {
        let tok = prop::sample::select(vec![
            "1", "-2", "3.5", "$a", "x", "'b'", "\"s\"", "X", "Y", "_", "(", ")", "[", "]", "{", "}", "<<", ">>", ",", ".", "|", "||", "<-",
            "+", "-", "*", "/", "div", "rem", "band", "bor", "bxor", "bsr", "==", "=:=", "=/=", "<", ">=", "++", "--", "=", "andalso",
            "orelse", "not", "case", "of", "end", "if", "when", "->", ";", "catch", "try", "begin", "length(", "element(", "hd(",
            "tl(", "lists:reverse(", "lists:sort(", "term_to_binary(", "binary_to_term(", "atom_to_list(", "list_to_atom(", "#{", "=>",
            ":=", "/binary", ":8", "throw(", "error(", "exit(", "\n",
        ]);
        prop::collection::vec(tok, 0..48).prop_map(|v| v.join(" "))
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn the_script_parser_target_never_panics(s in script_like(), raw in prop::collection::vec(any::<u8>(), 0..128)) {
            script_parser(s.as_bytes());
            script_parser(&raw);
        }

        #[test]
        fn the_pure_evaluator_target_never_panics(s in script_like()) {
            pure_eval(format!("{s}.\n").as_bytes());
        }

        #[test]
        fn the_external_format_round_trip_target_holds(b in ext_like(), raw in prop::collection::vec(any::<u8>(), 0..64)) {
            ext_round_trip(&b);
            ext_round_trip(&raw);
        }

        #[test]
        fn the_worker_frame_target_never_panics(b in ext_like()) {
            let mut framed = vec![131u8];
            framed.extend(&b);
            worker_frame(&framed);
            worker_frame(&b);
        }
    }

    /// Terms that must survive the round trip (the target on valid input).
    #[test]
    fn valid_terms_round_trip_through_the_target() {
        let t = Term::tuple(vec![Term::atom("a"), Term::Int(-1), Term::binary(b"xyz"), Term::List(vec![Term::Float(1.5), Term::nil()])]);
        ext_round_trip(&ext::term_to_binary(&t));
    }
}
