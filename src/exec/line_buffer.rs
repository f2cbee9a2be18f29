//! GNU parallel's `--line-buffer`: each running task's output is shown a whole line at a time
//! as it comes, lines of different tasks interleaved but never cut.
//!
//! The tasks write into their files as in grouped output (nothing has to drain a pipe while
//! they run); the writer thread looks at each running task's files every [`POLL`] and copies
//! the whole lines written since it last looked, and the rest (a last line without a newline)
//! when the task ends. A line is never held in memory: it is copied from the file, and the
//! part of a long line already looked at is not read again until its newline comes.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::time::Duration;

/// How often running tasks' files are looked at.
pub const POLL: Duration = Duration::from_millis(50);

/// A line longer than this is shown in pieces of this size rather than held back.
const LONGEST_HELD: u64 = 1 << 20;

/// One output file of a running task: how far it was shown, and how far a line without its
/// newline was looked at.
struct Stream {
    file: File,
    shown: u64,
    scanned: u64,
}

impl Stream {
    fn new(file: File) -> Stream {
        Stream { file, shown: 0, scanned: 0 }
    }

    /// Copies the whole lines after what was shown (everything, at the task's end) to `out`.
    fn copy(
        &mut self,
        out: &mut dyn Write,
        tag: Option<&str>,
        paint: Option<&str>,
        at_end: bool,
    ) -> io::Result<()> {
        let len = self.file.metadata()?.len();
        let until = if at_end { len } else { self.last_newline(len)? };
        if until > self.shown {
            match paint {
                Some(p) => copy_painted(&self.file, self.shown, until, out, tag, p)?,
                None => copy_lines(&self.file, self.shown, until, out, tag)?,
            }
            self.shown = until;
            self.scanned = self.scanned.max(until);
        }
        Ok(())
    }

    /// The end of the last whole line in the file, or of a held line that grew too long.
    fn last_newline(&mut self, len: u64) -> io::Result<u64> {
        let mut end = self.shown;
        let mut at = self.scanned.max(self.shown);
        let mut buf = vec![0u8; 64 * 1024];
        while at < len {
            let n = self.file.read_at(&mut buf[..(len - at).min(64 * 1024) as usize], at)?;
            if n == 0 {
                break;
            }
            if let Some(i) = buf[..n].iter().rposition(|&b| b == b'\n') {
                end = at + i as u64 + 1;
            }
            at += n as u64;
        }
        self.scanned = at;
        if end == self.shown && at - self.shown >= LONGEST_HELD {
            end = at;
        }
        Ok(end)
    }
}

/// Copies bytes `from..until` of `file` to `out`, each line led by `tag` and a tab.
fn copy_lines(file: &File, from: u64, until: u64, out: &mut dyn Write, tag: Option<&str>) -> io::Result<()> {
    let mut buf = vec![0u8; 64 * 1024];
    let mut at = from;
    let mut line_start = true;
    while at < until {
        let n = file.read_at(&mut buf[..(until - at).min(64 * 1024) as usize], at)?;
        if n == 0 {
            break;
        }
        for piece in buf[..n].split_inclusive(|&b| b == b'\n') {
            if let (Some(t), true) = (tag, line_start) {
                out.write_all(t.as_bytes())?;
                out.write_all(b"\t")?;
            }
            out.write_all(piece)?;
            line_start = piece.ends_with(b"\n");
        }
        at += n as u64;
    }
    out.flush()
}

/// `--color`: bytes `from..until` of `file` to `out`, each whole line in the colour `paint`
/// (and the tag) as GNU does; a last line without its newline (at the task's end) with the
/// tag alone, as GNU shows it.
fn copy_painted(
    file: &File,
    from: u64,
    until: u64,
    out: &mut dyn Write,
    tag: Option<&str>,
    paint: &str,
) -> io::Result<()> {
    let mut text = vec![0u8; (until - from) as usize];
    file.read_exact_at(&mut text, from)?;
    let tag = tag.map_or(String::new(), |t| format!("{t}\t"));
    let lead = format!("{paint}{tag}");
    let mut rest = &text[..];
    while let Some(i) = rest.iter().position(|&b| b == b'\n') {
        super::color::write_line(out, lead.as_bytes(), super::color::reset_for(paint), &rest[..i])?;
        rest = &rest[i + 1..];
    }
    if !rest.is_empty() {
        out.write_all(tag.as_bytes())?;
        out.write_all(rest)?;
    }
    out.flush()
}

/// A running task's files.
struct Task {
    out: Stream,
    err: Stream,
    tag: Option<String>,
    /// `--color`: its colour.
    paint: Option<String>,
}

impl Task {
    /// Shows what the task wrote since the last look: whole lines, or everything `at_end`.
    fn copy(&mut self, out: &mut dyn Write, err: &mut dyn Write, at_end: bool) -> io::Result<()> {
        self.out.copy(out, self.tag.as_deref(), self.paint.as_deref(), at_end)?;
        self.err.copy(err, self.tag.as_deref(), self.paint.as_deref(), at_end)
    }
}

/// Where a task shown in task order (`-k --line-buffer`) stands.
enum Entry {
    Running(Task),
    /// Ended, its output not all shown yet: an earlier task is still running.
    Ended(Task),
    /// Its attempt ended to be retried: its place is kept until the next attempt starts.
    Retrying,
}

/// The running tasks whose output is shown line by line, in task order. With `-k` (GNU's
/// `-k --line-buffer`) only the oldest task's lines come as they are written; a later task's
/// wait until every task before it has ended, then come at once.
#[derive(Default)]
pub struct Lines {
    tasks: BTreeMap<u64, Entry>,
    ordered: bool,
    /// Tasks let go since the last [`Lines::take_free`].
    free: Vec<u64>,
}

impl Lines {
    /// Shown in task order (`-k`).
    pub fn ordered() -> Lines {
        Lines { ordered: true, ..Lines::default() }
    }

    /// Task `seq` started writing into `out` and `err` (hrun's own descriptors of its files).
    pub fn watch(&mut self, seq: u64, out: File, err: File, tag: Option<String>, paint: Option<String>) {
        let task = Task { out: Stream::new(out), err: Stream::new(err), tag, paint };
        self.tasks.insert(seq, Entry::Running(task));
    }

    /// Shows the whole lines every running task (with `-k`: the oldest) wrote since the last
    /// look.
    pub fn poll(&mut self, out: &mut dyn Write, err: &mut dyn Write) -> io::Result<()> {
        for entry in self.tasks.values_mut() {
            match entry {
                Entry::Running(t) => t.copy(out, err, false)?,
                Entry::Ended(_) | Entry::Retrying => {}
            }
            if self.ordered {
                break;
            }
        }
        Ok(())
    }

    /// Task `seq` ended: the rest of its output is shown (`show`; not for an attempt that is
    /// retried), and its files are let go ([`Lines::take_free`]; with `-k`, a task that ends
    /// behind a running one keeps them until its turn).
    pub fn end(&mut self, seq: u64, show: bool, out: &mut dyn Write, err: &mut dyn Write) -> io::Result<()> {
        let Some(Entry::Running(mut t)) = self.tasks.remove(&seq) else {
            self.free.push(seq);
            return Ok(());
        };
        if !self.ordered {
            self.free.push(seq);
            return if show { t.copy(out, err, true) } else { Ok(()) };
        }
        if show {
            self.tasks.insert(seq, Entry::Ended(t));
        } else {
            self.tasks.insert(seq, Entry::Retrying);
            self.free.push(seq);
        }
        self.advance(out, err)
    }

    /// `-k`: shows the oldest tasks that have ended, in order, then what the oldest still
    /// running wrote so far.
    fn advance(&mut self, out: &mut dyn Write, err: &mut dyn Write) -> io::Result<()> {
        while let Some(mut head) = self.tasks.first_entry() {
            match head.get_mut() {
                Entry::Ended(t) => t.copy(out, err, true)?,
                Entry::Running(t) => return t.copy(out, err, false),
                Entry::Retrying => return Ok(()),
            }
            self.free.push(head.remove_entry().0);
        }
        Ok(())
    }

    /// hrun is ending: what is still held (with `-k`, tasks that ended behind one cut short)
    /// is shown in order, and every task let go.
    pub fn finish(&mut self, out: &mut dyn Write, err: &mut dyn Write) -> io::Result<()> {
        while let Some((seq, entry)) = self.tasks.pop_first() {
            self.free.push(seq);
            if let Entry::Ended(mut t) = entry {
                t.copy(out, err, true)?;
            }
        }
        Ok(())
    }

    /// The tasks whose files hrun may reuse now (their output shown or dropped).
    pub fn take_free(&mut self) -> Vec<u64> {
        std::mem::take(&mut self.free)
    }

    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Seek;

    fn file(content: &[u8]) -> File {
        let mut f = tempfile::tempfile().unwrap();
        f.write_all(content).unwrap();
        f.rewind().unwrap();
        f
    }

    #[test]
    fn whole_lines_now_the_rest_at_the_end() {
        let out = file(b"one\ntw");
        let mut lines = Lines::default();
        lines.watch(1, out.try_clone().unwrap(), file(b""), Some("t".into()), None);
        let (mut o, mut e) = (Vec::new(), Vec::new());
        lines.poll(&mut o, &mut e).unwrap();
        assert_eq!(o, b"t\tone\n");
        out.write_all_at(b"o\nthree", 6).unwrap();
        lines.poll(&mut o, &mut e).unwrap();
        assert_eq!(o, b"t\tone\nt\ttwo\n");
        lines.end(1, true, &mut o, &mut e).unwrap();
        assert_eq!(o, b"t\tone\nt\ttwo\nt\tthree");
        assert!(lines.is_empty() && e.is_empty());
    }

    #[test]
    fn a_line_longer_than_the_limit_comes_in_pieces() {
        let long = vec![b'x'; (LONGEST_HELD + 10) as usize];
        let mut lines = Lines::default();
        lines.watch(1, file(&long), file(b""), None, None);
        let (mut o, mut e) = (Vec::new(), Vec::new());
        lines.poll(&mut o, &mut e).unwrap();
        assert_eq!(o.len(), long.len(), "held no longer than the limit");
        lines.end(1, true, &mut o, &mut e).unwrap();
        assert_eq!(o.len(), long.len(), "nothing twice");
    }

    #[test]
    fn in_order_the_oldest_task_comes_as_it_writes_the_others_at_their_turn() {
        let (one, two, three) = (file(b"1a\n"), file(b"2a\n"), file(b"3a\n"));
        let mut lines = Lines::ordered();
        for (seq, f) in [(1, &one), (2, &two), (3, &three)] {
            lines.watch(seq, f.try_clone().unwrap(), file(b""), None, None);
        }
        let (mut o, mut e) = (Vec::new(), Vec::new());
        lines.poll(&mut o, &mut e).unwrap();
        assert_eq!(o, b"1a\n", "only the oldest");
        two.write_all_at(b"2b", 3).unwrap();
        lines.end(2, true, &mut o, &mut e).unwrap();
        assert_eq!(lines.take_free(), Vec::<u64>::new(), "2 waits for 1");
        assert_eq!(o, b"1a\n");
        one.write_all_at(b"1b\n", 3).unwrap();
        lines.end(1, true, &mut o, &mut e).unwrap();
        assert_eq!(lines.take_free(), [1, 2]);
        assert_eq!(o, b"1a\n1b\n2a\n2b3a\n", "1's rest, 2 whole, then 3 so far");
        three.write_all_at(b"3b\n", 3).unwrap();
        lines.poll(&mut o, &mut e).unwrap();
        lines.end(3, true, &mut o, &mut e).unwrap();
        assert_eq!(lines.take_free(), [3]);
        assert_eq!(o, b"1a\n1b\n2a\n2b3a\n3b\n");
        assert!(lines.is_empty() && e.is_empty());
    }

    #[test]
    fn in_order_a_retried_task_keeps_its_place() {
        let mut lines = Lines::ordered();
        lines.watch(1, file(b"cut"), file(b""), None, None);
        lines.watch(2, file(b"two\n"), file(b""), None, None);
        let (mut o, mut e) = (Vec::new(), Vec::new());
        lines.end(2, true, &mut o, &mut e).unwrap();
        lines.end(1, false, &mut o, &mut e).unwrap();
        assert_eq!(lines.take_free(), [1], "its files go, its place stays");
        assert!(o.is_empty(), "no whole line of the first attempt, no rest of it: {o:?}");
        lines.watch(1, file(b"one\n"), file(b""), None, None);
        lines.end(1, true, &mut o, &mut e).unwrap();
        assert_eq!(lines.take_free(), [1, 2]);
        assert_eq!(o, b"one\ntwo\n");
        lines.watch(3, file(b"cut"), file(b""), None, None);
        lines.watch(4, file(b"four\n"), file(b""), None, None);
        lines.end(4, true, &mut o, &mut e).unwrap();
        lines.finish(&mut o, &mut e).unwrap();
        assert_eq!(lines.take_free(), [3, 4]);
        assert_eq!(o, b"one\ntwo\nfour\n", "a task cut short shows nothing more at the end");
    }

    #[test]
    fn a_retried_attempt_shows_no_rest() {
        let mut lines = Lines::default();
        lines.watch(2, file(b"done\npartial"), file(b""), None, None);
        let (mut o, mut e) = (Vec::new(), Vec::new());
        lines.end(2, false, &mut o, &mut e).unwrap();
        assert!(o.is_empty());
    }
}
