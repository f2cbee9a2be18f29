//! GNU parallel 20221122's command line, as data and as its parser reads it: every option with
//! hrun's answer to it ([`options`], [`table`]), Perl's Getopt::Long as GNU configures it
//! ([`getopt`]), the words GNU adds before the command line from its profiles and `$PARALLEL`
//! ([`profile`], [`shellwords`]), `#!` use ([`shebang`]), what the printing options print
//! ([`answers`]). The page of options (docs/gnu-options.md) is made in `cli::gnu_doc`, which
//! knows what `hrun exec` takes.
//!
//! Pure apart from reading profile files: the caller decides what to do with what it gets.

pub mod answers;
pub mod getopt;
pub mod options;
pub mod profile;
pub mod shebang;
pub mod shellwords;
pub mod table;

pub use getopt::{Given, Mode, Origin, Parsed, Problem};
pub use options::{Answer, GnuOption, Kind, Meaning, Repeats, Takes};
pub use table::OPTIONS;

/// The release of GNU parallel whose options and behaviour hrun follows.
pub const VERSION: u64 = 20221122;

#[cfg(test)]
mod getopt_tests;
#[cfg(test)]
mod oracle;
