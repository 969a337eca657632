//! porthost's integration tests: one binary, a module per feature.
mod util;

mod abi_coverage;
mod beam;
mod check;
mod adversarial;
mod cli;
mod conformance;

mod ddll;
mod differential;
mod driver_api;
mod events;
mod external;
mod ffi;
mod fuzz;
mod hostile;
mod isolation;
mod kit;
mod ports;
mod processes;
mod recon;
mod sdk;
