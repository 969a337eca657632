//! porthost's integration tests: one binary, a module per feature.
mod util;

mod cli;

mod ddll;
mod differential;
mod ffi;
mod ports;
