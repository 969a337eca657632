//! porthost's integration tests: one binary, a module per feature.
mod util;

mod abi_coverage;
mod cli;

mod ddll;
mod differential;
mod events;
mod ffi;
mod ports;
mod processes;
