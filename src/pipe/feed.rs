//! The step between a block's task starting and its command: `hrun __hrun-feed PATH RANGES --
//! PROGRAM ARGS...` (hrun's own binary, exec'd by the launcher in the task's place, pinned and
//! in the task's process group like any task) opens the block's file and execs PROGRAM with
//! the block on its standard input. A block that is a whole file (a `--pipe` spool) becomes
//! standard input itself; a range of a file (`--pipepart`, or a header before a block) is
//! streamed into a pipe by a forked child with `splice`, so the bytes never pass through user
//! memory. Keeping this out of the launcher leaves its protocol and the cloned child as they
//! are: a block task is a task whose program is this step.

use std::borrow::Cow;
use std::ffi::{CString, OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::sync::atomic::{AtomicU64, Ordering};

use super::{Block, Delivery};
use crate::sys::feed::Mode;

/// The word after hrun's path that asks for this step (never a subcommand a user types).
pub const FEED: &str = "__hrun-feed";

/// `program` and `argv` run with `block` delivered as it says: through hrun's binary `exe`.
/// `name`: the FIFO's path for `--fifo` (from [`named`]).
pub fn wrap(
    exe: &CString,
    block: &Block,
    name: Option<&str>,
    program: CString,
    argv: Vec<CString>,
) -> (CString, Vec<CString>) {
    let ranges = block.ranges.iter().map(|(o, l)| format!("{o}:{l}")).collect::<Vec<_>>().join(",");
    let mode = match (&block.delivery, name) {
        (Delivery::Fifo, Some(fifo)) => format!("fifo:{fifo}"),
        (Delivery::Cat, _) => "cat".to_string(),
        _ => "stdin".to_string(),
    };
    let mut words = vec![
        exe.clone(),
        cstring(FEED),
        cstring(&mode),
        cstring(&block.path()),
        cstring(&ranges),
        cstring("--"),
    ];
    // The program's path replaces argv[0] (which the shell gets as $0 either way).
    words.push(program);
    words.extend(argv.into_iter().skip(1));
    (exe.clone(), words)
}

/// The descriptor a `--cat` block is on in its command: `{}` is `/dev/fd/3`.
pub const CAT_FD: i32 = 3;

/// Fresh FIFO names within one hrun.
static FIFOS: AtomicU64 = AtomicU64::new(0);

/// `line` with `{}` naming the block (`--cat`, `--fifo`), and the FIFO's path; `line` as it
/// is for a block on standard input.
pub fn named<'a>(block: &Block, line: Cow<'a, str>) -> (Cow<'a, str>, Option<String>) {
    let name = match block.delivery {
        Delivery::Stdin => return (line, None),
        Delivery::Cat => format!("/dev/fd/{CAT_FD}"),
        Delivery::Fifo => {
            let n = FIFOS.fetch_add(1, Ordering::Relaxed);
            std::env::temp_dir().join(format!("hrun-fifo-{}-{n}", std::process::id())).display().to_string()
        }
    };
    let line = Cow::Owned(line.replace("{}", &shell_word(&name)));
    (line, (block.delivery == Delivery::Fifo).then_some(name))
}

/// A path as one POSIX shell word.
fn shell_word(path: &str) -> String {
    if path.bytes().all(|b| b.is_ascii_alphanumeric() || b"/._-+:@%".contains(&b)) {
        path.to_string()
    } else {
        format!("'{}'", path.replace('\'', "'\\''"))
    }
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
    let [mode, path, ranges, dashes, ..] = args else {
        eprintln!("hrun: {FEED} is hrun's own step between a block and its task, not a command");
        return 2;
    };
    let Some(ranges) = ranges.to_str().and_then(parse_ranges) else {
        eprintln!("hrun: {FEED}: bad ranges {}", ranges.to_string_lossy());
        return 2;
    };
    let mode = match mode.to_str() {
        Some("stdin") => Mode::Stdin,
        Some("cat") => Mode::Cat(CAT_FD),
        Some(m) if m.starts_with("fifo:") => Mode::Fifo(std::path::PathBuf::from(&m[5..])),
        _ => {
            eprintln!("hrun: {FEED}: bad mode {}", mode.to_string_lossy());
            return 2;
        }
    };
    if dashes != "--" || args.len() < 5 {
        eprintln!("hrun: {FEED}: no command");
        return 2;
    }
    let err = crate::sys::feed::exec_fed(&mode, std::path::Path::new(path), &ranges, &args[4..]);
    eprintln!(
        "hrun: cannot give the block to {}: {err}",
        crate::text::printable(&String::from_utf8_lossy(OsStr::new(&args[4]).as_bytes()))
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

    #[test]
    fn braces_name_the_block_for_cat_and_fifo() {
        let file = std::sync::Arc::new(tempfile::tempfile().unwrap());
        let mut block = Block::new(file, vec![(0, 1)], 0, 1);
        assert_eq!(named(&block, "wc {}".into()), (Cow::from("wc {}"), None));
        block.delivery = Delivery::Cat;
        assert_eq!(named(&block, "wc {}".into()).0, "wc /dev/fd/3");
        block.delivery = Delivery::Fifo;
        let (line, fifo) = named(&block, "wc < {}".into());
        let fifo = fifo.unwrap();
        assert!(fifo.contains(&format!("hrun-fifo-{}-", std::process::id())), "{fifo}");
        assert_eq!(line, format!("wc < {}", shell_word(&fifo)));
        assert_eq!(shell_word("/tmp/a b"), "'/tmp/a b'");
        assert_eq!(shell_word("/tmp/it's"), "'/tmp/it'\\''s'");
    }
}
