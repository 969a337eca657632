//! porthost's integration tests: one binary, a module per feature.
mod util;

mod ddll;
mod differential;
mod ffi;
mod ports;
