//! `cargo +nightly fuzz run ext_round_trip`: the body is `porthost::fuzzing::ext_round_trip`
//! (also run, bounded, by `cargo test`).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| porthost::fuzzing::ext_round_trip(data));
