//! `cargo +nightly fuzz run worker_frame`: the body is `porthost::fuzzing::worker_frame`
//! (also run, bounded, by `cargo test`).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| porthost::fuzzing::worker_frame(data));
