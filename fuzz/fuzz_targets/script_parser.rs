//! `cargo +nightly fuzz run script_parser`: the body is `porthost::fuzzing::script_parser`
//! (also run, bounded, by `cargo test`).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| porthost::fuzzing::script_parser(data));
