//! The Monte Carlo pi worker bundled with hrun, as a library: the sampling kernel, the
//! multi-threaded driver, the result-file schema that `hrun reduce` reads back, and the
//! `hrun-mc-pi` command itself ([`cli::main`]).

pub mod bench;
pub mod cleanup;
pub mod cli;
pub mod cli_error;
pub mod kernel;
pub mod output;
pub mod result;
pub mod run;
