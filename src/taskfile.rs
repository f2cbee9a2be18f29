//! Streaming task-file parser: one shell command per line, read lazily so that memory does
//! not grow with the number of tasks (a million-line file is normal).
//!
//! Format (documented in docs/exec.md):
//! - blank lines and lines starting with `#` are skipped; `\r\n` endings are accepted;
//! - directives are comments of the form `#hrun key=value [key=value ...]`, allowed only before
//!   the first task (they shape the slot plan, which is fixed before anything runs). Known keys:
//!   `threads` (CPUs per task);
//! - every other line is a task. Tasks are numbered 1, 2, ... (`seq`), skipping comments, and
//!   also keep their 1-based line number in the file (`line`, which GNU parallel calls the seq
//!   when it reads the same file as commands).

use std::io::{self, BufRead, BufReader, Read};
use std::os::fd::RawFd;
use std::path::{Path, PathBuf};

use crate::task::Task;

/// Settings given by `#hrun` directives at the top of the file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Directives {
    pub threads: Option<usize>,
}

/// Why the task file cannot be read; the message names the file, the line and the value.
#[derive(Debug, thiserror::Error)]
pub enum TaskFileError {
    // `cause`, not `source`: the message already says it, so error chains print it once.
    #[error("cannot open task file {path}: {cause}")]
    Open { path: String, cause: io::Error },
    #[error("cannot read task file {path}: {cause}")]
    Read { path: String, cause: io::Error },
    #[error("{path}:{line}: {why}")]
    Line { path: String, line: u64, why: String },
}

/// A task file being read: the directives, then the tasks one at a time.
pub struct TaskFile {
    name: String,
    reader: BufReader<Box<dyn Read>>,
    /// A descriptor that may have no data yet (standard input: a pipe from a slow
    /// producer); the dispatcher polls it instead of blocking in a read.
    watch: Option<RawFd>,
    line_no: u64,
    seq: u64,
    buf: Vec<u8>,
    /// The first task, read while looking for directives.
    pending: Option<Task>,
    pub directives: Directives,
}

pub use crate::guarded::{open_stdin, stdin_is_file};

/// Where tasks come from: a path, or `-` for standard input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    Stdin,
    Path(PathBuf),
}

impl Source {
    pub fn from_arg(arg: &Path) -> Self {
        if arg == Path::new("-") { Source::Stdin } else { Source::Path(arg.to_path_buf()) }
    }

    /// The name used in messages and in the run log.
    pub fn name(&self) -> String {
        match self {
            Source::Stdin => "<stdin>".to_string(),
            Source::Path(p) => p.display().to_string(),
        }
    }
}

impl TaskFile {
    /// Opens the source and reads up to the first task, collecting directives on the way.
    pub fn open(source: &Source) -> Result<Self, TaskFileError> {
        let name = source.name();
        let mut watch = None;
        let reader: Box<dyn Read> = match source {
            Source::Stdin => {
                let (reader, fd) = open_stdin();
                watch = fd;
                reader
            }
            Source::Path(p) => {
                let open_err = |cause| TaskFileError::Open { path: name.clone(), cause };
                let meta = std::fs::metadata(p).map_err(open_err)?;
                if meta.is_dir() {
                    return Err(TaskFileError::Open {
                        path: name.clone(),
                        cause: io::Error::other("it is a directory; give a file with one command per line"),
                    });
                }
                crate::guarded::open(p).map_err(open_err)?.0
            }
        };
        let mut tf = Self::from_reader(name, reader)?;
        tf.watch = watch;
        Ok(tf)
    }

    /// Like [`TaskFile::open`] over any reader; `name` is used in messages.
    pub fn from_reader(name: String, reader: Box<dyn Read>) -> Result<Self, TaskFileError> {
        let mut tf = TaskFile {
            name,
            reader: BufReader::with_capacity(64 * 1024, reader),
            watch: None,
            line_no: 0,
            seq: 0,
            buf: Vec::with_capacity(256),
            pending: None,
            directives: Directives::default(),
        };
        tf.pending = tf.read_task(true)?;
        Ok(tf)
    }

    /// The descriptor to poll before reading, when reading could block (standard input).
    pub fn watch_fd(&self) -> Option<RawFd> {
        self.watch
    }

    /// True when the next line (or part of it) is already read into memory.
    pub fn has_buffered(&self) -> bool {
        self.pending.is_some() || !self.reader.buffer().is_empty()
    }

    /// The next task, `Ok(None)` at the end of the file.
    pub fn next_task(&mut self) -> Result<Option<Task>, TaskFileError> {
        if let Some(t) = self.pending.take() {
            return Ok(Some(t));
        }
        self.read_task(false)
    }

    fn line_error(&self, why: String) -> TaskFileError {
        TaskFileError::Line { path: self.name.clone(), line: self.line_no, why }
    }

    /// Reads lines until a task; directives are accepted only while `in_header`.
    fn read_task(&mut self, in_header: bool) -> Result<Option<Task>, TaskFileError> {
        loop {
            self.buf.clear();
            let n = self
                .reader
                .read_until(b'\n', &mut self.buf)
                .map_err(|cause| TaskFileError::Read { path: self.name.clone(), cause })?;
            if n == 0 {
                return Ok(None);
            }
            self.line_no += 1;
            let mut bytes = &self.buf[..];
            if let Some(rest) = bytes.strip_suffix(b"\n") {
                bytes = rest;
            }
            if let Some(rest) = bytes.strip_suffix(b"\r") {
                bytes = rest;
            }
            let text = match std::str::from_utf8(bytes) {
                Ok(t) => t,
                Err(e) => {
                    let shown = String::from_utf8_lossy(bytes);
                    return Err(self.line_error(format!(
                        "not valid UTF-8 (byte {} of {shown:?}); save the file as UTF-8",
                        e.valid_up_to() + 1
                    )));
                }
            };
            if let Some(at) = text.find('\0') {
                return Err(self.line_error(format!(
                    "contains a NUL byte (at byte {}), which no command can hold",
                    at + 1
                )));
            }
            match classify(text) {
                LineKind::Skip => continue,
                LineKind::Directive(body) => {
                    if !in_header {
                        return Err(self.line_error(format!(
                            "directive {text:?} after the first task; move it to the top of the file"
                        )));
                    }
                    let body = body.to_string();
                    parse_directive(&body, &mut self.directives).map_err(|why| self.line_error(why))?;
                }
                LineKind::Task => {
                    self.seq += 1;
                    return Ok(Some(Task {
                        seq: self.seq,
                        line: self.line_no,
                        cmd: text.to_string(),
                        job: None,
                        occurrence: 1,
                        block: None,
                    }));
                }
            }
        }
    }
}

enum LineKind<'a> {
    Skip,
    Directive(&'a str),
    Task,
}

fn classify(text: &str) -> LineKind<'_> {
    let t = text.trim_start();
    if t.trim_end().is_empty() {
        return LineKind::Skip;
    }
    if let Some(rest) = t.strip_prefix("#hrun")
        && (rest.is_empty() || rest.starts_with(char::is_whitespace))
    {
        return LineKind::Directive(rest);
    }
    if t.starts_with('#') { LineKind::Skip } else { LineKind::Task }
}

/// Parses the `key=value` words of one `#hrun` directive into `into`.
fn parse_directive(body: &str, into: &mut Directives) -> Result<(), String> {
    let words: Vec<&str> = body.split_whitespace().collect();
    if words.is_empty() {
        return Err("empty #hrun directive; write e.g. `#hrun threads=4`".into());
    }
    for word in words {
        let Some((key, value)) = word.split_once('=') else {
            return Err(format!("directive word {word:?} is not key=value; write e.g. `#hrun threads=4`"));
        };
        match key {
            "threads" => {
                let t: usize =
                    value.parse().map_err(|_| format!("directive threads={value:?}: not a whole number"))?;
                if let Some(before) = into.threads {
                    return Err(format!(
                        "directive threads={value} after threads={before}: give threads once"
                    ));
                }
                into.threads = Some(t);
            }
            _ => return Err(format!("unknown directive key {key:?} in {word:?} (known: threads)")),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &[u8]) -> Result<(Directives, Vec<Task>), TaskFileError> {
        let mut tf = TaskFile::from_reader("t.txt".into(), Box::new(io::Cursor::new(text.to_vec())))?;
        let mut tasks = Vec::new();
        while let Some(t) = tf.next_task()? {
            tasks.push(t);
        }
        Ok((tf.directives.clone(), tasks))
    }

    #[test]
    fn skips_comments_and_blanks_and_numbers_tasks() {
        let (d, tasks) =
            parse(b"#hrun threads=4\n\necho a\n  # note\n\t\necho b\r\n#hrunner x\necho c").unwrap();
        assert_eq!(d.threads, Some(4));
        let got: Vec<(u64, u64, &str)> = tasks.iter().map(|t| (t.seq, t.line, t.cmd.as_str())).collect();
        assert_eq!(got, [(1, 3, "echo a"), (2, 6, "echo b"), (3, 8, "echo c")]);
    }

    #[test]
    fn crlf_endings_are_stripped() {
        let (_, tasks) = parse(b"a\r\nb\r\n").unwrap();
        assert_eq!(tasks[0].cmd, "a");
        assert_eq!(tasks[1].cmd, "b");
    }

    #[test]
    fn empty_file_has_no_tasks() {
        assert!(parse(b"").unwrap().1.is_empty());
        assert!(parse(b"# only\n\n").unwrap().1.is_empty());
    }

    #[test]
    fn bad_directives_name_file_line_and_value() {
        for (text, needle) in [
            (&b"#hrun threads=x\n"[..], "t.txt:1: directive threads=\"x\""),
            (b"#hrun\n", "t.txt:1: empty"),
            (b"\n#hrun colour=red\n", "t.txt:2: unknown directive key \"colour\""),
            (b"#hrun threads\n", "t.txt:1: directive word \"threads\""),
            (b"a\n#hrun threads=2\n", "t.txt:2: directive \"#hrun threads=2\" after the first task"),
            (b"#hrun threads=1 threads=2\n", "t.txt:1: directive threads=2 after threads=1"),
            (b"#hrun threads=1\n#hrun threads=1\na\n", "t.txt:2: directive threads=1 after threads=1"),
            (b"echo a\0b\n", "t.txt:1: contains a NUL byte (at byte 7)"),
        ] {
            let e = parse(text).unwrap_err().to_string();
            assert!(e.contains(needle), "{e}");
        }
    }

    #[test]
    fn non_utf8_names_the_line() {
        let e = parse(b"ok\nbad \xff here\n").unwrap_err().to_string();
        assert!(e.starts_with("t.txt:2: not valid UTF-8 (byte 5"), "{e}");
    }
}

/// The parser never panics, whatever bytes it is fed, and never invents tasks.
#[cfg(test)]
mod prop {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
            let lines = bytes.iter().filter(|&&b| b == b'\n').count() as u64 + 1;
            if let Ok(mut tf) = TaskFile::from_reader("fuzz".into(), Box::new(io::Cursor::new(bytes))) {
                let mut last_line = 0;
                while let Ok(Some(t)) = tf.next_task() {
                    prop_assert!(t.line > last_line && t.line <= lines);
                    prop_assert!(!t.cmd.contains('\n'));
                    last_line = t.line;
                }
            }
        }

        #[test]
        fn line_structured_input_round_trips(lines in proptest::collection::vec("[ -~]{0,40}", 0..50)) {
            // Directives have rules of their own (tested above).
            prop_assume!(!lines.iter().any(|l| l.trim_start().starts_with("#hrun")));
            let text = lines.join("\n");
            let mut tf = TaskFile::from_reader("t".into(), Box::new(io::Cursor::new(text.into_bytes()))).unwrap();
            let mut got = Vec::new();
            while let Ok(Some(t)) = tf.next_task() {
                got.push(t.cmd);
            }
            let want: Vec<&String> = lines
                .iter()
                .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
                .collect();
            prop_assert_eq!(got.iter().collect::<Vec<_>>(), want);
        }
    }
}
