//! The OS layer: what porthost asks of Linux directly, apart from the
//! poller (the `polling` crate) and loading (`libloading`).

pub mod crash;
pub mod stdio;
