//! The step between a block's task starting and its command: `hrun __hrun-feed PATH RANGES --
//! PROGRAM ARGS...` (hrun's own binary, exec'd by the launcher in the task's place, pinned and
//! in the task's process group like any task) opens the block's file and execs PROGRAM with
//! the block on its standard input. A block that is a whole file (a `--pipe` spool) becomes
//! standard input itself; a range of a file (`--pipepart`, or a header before a block) is
//! streamed into a pipe by a forked child with `splice`, so the bytes never pass through user
//! memory. Keeping this out of the launcher leaves its protocol and the cloned child as they
//! are: a block task is a task whose program is this step.

use std::ffi::{CString, OsStr, OsString};
use std::os::unix::ffi::OsStrExt;

use super::Block;

/// The word after hrun's path that asks for this step (never a subcommand a user types).
pub const FEED: &str = "__hrun-feed";

/// `program` and `argv` run with `block` on standard input: through hrun's binary `exe`.
pub fn wrap(exe: &CString, block: &Block, program: CString, argv: Vec<CString>) -> (CString, Vec<CString>) {
    let ranges = block.ranges.iter().map(|(o, l)| format!("{o}:{l}")).collect::<Vec<_>>().join(",");
    let mut words = vec![exe.clone(), cstring(FEED), cstring(&block.path()), cstring(&ranges), cstring("--")];
    // The program's path replaces argv[0] (which the shell gets as $0 either way).
    words.push(program);
    words.extend(argv.into_iter().skip(1));
    (exe.clone(), words)
}

fn cstring(s: &str) -> CString {
    CString::new(s).unwrap_or_default()
}

/// The ranges as written by [`wrap`].
fn parse_ranges(text: &str) -> Option<Vec<(u64, u64)>> {
    text.split(',')
        .filter(|r| !r.is_empty())
        .map(|r| {
            let (o, l) = r.split_once(':')?;
            Some((o.parse().ok()?, l.parse().ok()?))
        })
        .collect()
}

/// hrun started as the feed step (`args`: the words after [`FEED`]): returns only on
/// failure, with the exit status (127 as a shell's for a command that cannot start).
pub fn main(args: &[OsString]) -> i32 {
    let (Some(path), Some(ranges), Some(dashes)) = (args.first(), args.get(1), args.get(2)) else {
        eprintln!("hrun: {FEED} is hrun's own step between a block and its task, not a command");
        return 2;
    };
    let Some(ranges) = ranges.to_str().and_then(parse_ranges) else {
        eprintln!("hrun: {FEED}: bad ranges {}", ranges.to_string_lossy());
        return 2;
    };
    if dashes != "--" || args.len() < 4 {
        eprintln!("hrun: {FEED}: no command");
        return 2;
    }
    let err = crate::sys::feed::exec_with_stdin(std::path::Path::new(path), &ranges, &args[3..]);
    eprintln!(
        "hrun: cannot give the block to {}: {err}",
        crate::text::printable(&String::from_utf8_lossy(OsStr::new(&args[3]).as_bytes()))
    );
    127
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_round_trip() {
        assert_eq!(parse_ranges("0:10,100:5"), Some(vec![(0, 10), (100, 5)]));
        assert_eq!(parse_ranges(""), Some(vec![]));
        assert_eq!(parse_ranges("1:x"), None);
    }
}
