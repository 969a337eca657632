//! porthost's integration tests: one binary, a module per feature.
mod util;

mod abi_coverage;
mod adversarial;
mod cli;

mod ddll;
mod differential;
mod driver_api;
mod events;
mod external;
mod ffi;
mod hostile;
mod isolation;
mod ports;
mod processes;
mod sdk;
