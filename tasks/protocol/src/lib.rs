//! What hrun and its bundled worker `hrun-mc-pi` agree on: the worker's result file, which
//! `hrun reduce` reads back ([`result`]), and the rule that bad usage is one line and exit 2
//! ([`cli_error`]).

pub mod cli_error;
pub mod result;
