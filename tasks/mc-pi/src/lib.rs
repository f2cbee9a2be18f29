//! The Monte Carlo pi worker bundled with hrun, as a library: the sampling kernel, the
//! multi-threaded driver, and the `hrun-mc-pi` command itself ([`cli::main`]). The result
//! file's schema, which `hrun reduce` reads back, is in `hrun-protocol` (re-exported here).

pub mod bench;
pub mod cleanup;
pub mod cli;
pub mod kernel;
pub mod output;
pub mod run;

pub use hrun_protocol::{cli_error, result};
