//! `cargo +nightly fuzz run pure_eval`: the body is `porthost::fuzzing::pure_eval`
//! (also run, bounded, by `cargo test`).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| porthost::fuzzing::pure_eval(data));
