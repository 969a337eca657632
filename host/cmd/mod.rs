//! The driver author's subcommands: `test`, `new-driver`, `config`.
pub mod config;
pub mod new_driver;
pub mod test;
