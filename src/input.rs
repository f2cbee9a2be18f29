//! Where tasks come from: a task file (one command per line), or a command template and its
//! input sources. Both give the same stream of [`Task`]s, so counting, `--resume`, the
//! dispatcher and the log never need to know which it was.

use std::os::fd::RawFd;
use std::sync::Arc;

use crate::task::Task;
use crate::taskfile::{self, TaskFile, TaskFileError};
use crate::template::{self, JobStream, SourceError};

/// What `hrun exec` was given to run.
#[derive(Clone, Debug)]
pub enum TaskSpec {
    File(taskfile::Source),
    Template(Arc<template::Spec>),
    /// `--pipe`/`--pipepart`: a command per block of input.
    Blocks(Arc<crate::pipe::Spec>),
}

/// Why tasks cannot be read; the message names the file or source, the line or value.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error(transparent)]
    File(#[from] TaskFileError),
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error("{0}; once it is final, run it again with --resume")]
    Changed(String),
    #[error("{0}")]
    Blocks(String),
}

impl TaskSpec {
    /// Opens the input and reads up to the first task.
    pub fn open(&self) -> Result<TaskStream, InputError> {
        Ok(match self {
            TaskSpec::File(source) => {
                TaskStream::new(Stream::File(TaskFile::open(source)?), self.name(), self.rereadable())
            }
            TaskSpec::Template(spec) => {
                TaskStream::new(Stream::Jobs(Box::new(spec.open()?)), self.name(), self.rereadable())
            }
            TaskSpec::Blocks(spec) => TaskStream::new(
                Stream::Blocks(
                    crate::pipe::stream::BlockStream::open(spec.clone()).map_err(InputError::Blocks)?,
                ),
                self.name(),
                self.rereadable(),
            ),
        })
    }

    /// The name in messages and in the run record: the task file, or the command line.
    pub fn name(&self) -> String {
        match self {
            TaskSpec::File(s) => s.name(),
            TaskSpec::Template(t) => t.describe(),
            TaskSpec::Blocks(b) => b.name(),
        }
    }

    /// How many tuples of values a job takes (`-N`/`-n`; 1 otherwise).
    pub fn per_job(&self) -> usize {
        match self {
            TaskSpec::Template(t) => t.max_args.map_or(1, |m| m.n.max(1)),
            TaskSpec::File(_) | TaskSpec::Blocks(_) => 1,
        }
    }

    /// True when the tasks can be read again from the start: needed to count them first
    /// and to check them against a log for `--resume`.
    pub fn rereadable(&self) -> bool {
        match self {
            TaskSpec::File(taskfile::Source::Path(p)) => std::fs::metadata(p).is_ok_and(|m| m.is_file()),
            TaskSpec::File(taskfile::Source::Stdin) => taskfile::stdin_is_file(),
            TaskSpec::Template(t) => t.rereadable(),
            // --pipepart's blocks are found again in the file; --pipe's stream is read once.
            TaskSpec::Blocks(b) => b.source != crate::pipe::Source::Stdin,
        }
    }

    /// What cannot be read twice, for messages: "the task file as a path ...".
    pub fn once_only(&self) -> &'static str {
        match self {
            TaskSpec::File(_) => {
                "the task file as a regular file (a path, or `-` redirected from one), not a pipe"
            }
            TaskSpec::Template(_) => {
                "input sources that can be read again (values, regular files), not standard input or a pipe"
            }
            TaskSpec::Blocks(_) => {
                "blocks of a file (--pipepart -a FILE), not --pipe's standard input, which is read once"
            }
        }
    }

    /// The default run log's name starts with this: the task file's stem, `stdin`, or the
    /// template's program and fingerprint.
    pub fn log_stem(&self) -> String {
        match self {
            TaskSpec::File(taskfile::Source::Stdin) => "stdin".to_string(),
            TaskSpec::File(taskfile::Source::Path(p)) => {
                p.file_stem().map_or("tasks".into(), |s| s.to_string_lossy().into_owned())
            }
            TaskSpec::Template(t) => t.log_stem(),
            TaskSpec::Blocks(b) => b.log_stem(),
        }
    }

    /// True when tasks or values are read from standard input.
    pub fn reads_stdin(&self) -> bool {
        match self {
            TaskSpec::File(s) => *s == taskfile::Source::Stdin,
            TaskSpec::Template(t) => t.sources.iter().any(|s| s.input.is_stdin()),
            TaskSpec::Blocks(b) => b.source == crate::pipe::Source::Stdin,
        }
    }

    /// What one line of input is: a command, or a value.
    pub fn unit(&self) -> &'static str {
        match self {
            TaskSpec::File(_) => "commands",
            TaskSpec::Template(_) => "values",
            TaskSpec::Blocks(_) => "blocks",
        }
    }

    /// How many values every job has, when that is known before reading them: one line of a
    /// task file; a template's sources times `-N` (unknown with `--colsep`).
    pub fn values_per_job(&self) -> Option<usize> {
        match self {
            TaskSpec::File(_) => Some(1),
            TaskSpec::Template(t)
                if t.reading.colsep.is_none() && t.fill.is_none() && t.reading.csv.is_none() =>
            {
                Some(t.sources.len().max(1) * t.max_args.map_or(1, |m| m.n))
            }
            TaskSpec::Template(_) | TaskSpec::Blocks(_) => None,
        }
    }

    pub fn template(&self) -> Option<&template::Spec> {
        match self {
            TaskSpec::Template(t) => Some(t),
            TaskSpec::File(_) | TaskSpec::Blocks(_) => None,
        }
    }
}

/// Tasks being read, checked against the count made before the run (a task file cut short
/// while hrun reads it must not look like a run that ran everything).
pub struct TaskStream {
    stream: Stream,
    name: String,
    /// Tasks the input held when they were counted.
    expected: Option<u64>,
    read: u64,
    /// Copies of each command seen so far, for each task's `occurrence`: kept for input that
    /// can be resumed (it costs about 20 bytes per distinct command); a pipe's tasks are
    /// all first copies.
    copies: Option<std::collections::HashMap<u64, u32>>,
}

enum Stream {
    File(TaskFile),
    Jobs(Box<JobStream>),
    Blocks(crate::pipe::stream::BlockStream),
    /// `--shuf`: every task of the input (read to its end), in the order they run; the input
    /// kept for what it says about itself (names, directives).
    Shuffled(std::collections::VecDeque<Task>, Box<Stream>),
}

impl Stream {
    fn next_task(&mut self) -> Result<Option<Task>, InputError> {
        Ok(match self {
            Stream::File(f) => f.next_task()?,
            Stream::Jobs(j) => j.next_job()?.map(|(seq, cmd, job)| Task {
                seq,
                line: seq,
                cmd,
                job: Some(job),
                occurrence: 1,
                block: None,
            }),
            Stream::Blocks(b) => b.next_task().map_err(InputError::Blocks)?.map(|(seq, cmd, block)| Task {
                seq,
                line: seq,
                cmd,
                job: None,
                occurrence: 1,
                block: Some(Arc::new(block)),
            }),
            Stream::Shuffled(tasks, _) => tasks.pop_front(),
        })
    }
}

/// `tasks` in the order a generator seeded with `seed` draws (Fisher-Yates over SplitMix64),
/// numbered 1, 2, ... in that order, as GNU parallel's `--shuf` numbers them.
pub fn shuffle(tasks: &mut [Task], seed: u64) {
    let mut state = seed;
    let mut next = || {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    for i in (1..tasks.len()).rev() {
        let j = (next() % (i as u64 + 1)) as usize;
        tasks.swap(i, j);
    }
    for (i, t) in tasks.iter_mut().enumerate() {
        t.seq = i as u64 + 1;
    }
}

impl TaskStream {
    fn new(stream: Stream, name: String, rereadable: bool) -> TaskStream {
        let copies = rereadable.then(std::collections::HashMap::new);
        TaskStream { stream, name, expected: None, read: 0, copies }
    }

    /// Counts each command's copies even for input read once (a pipe being resumed): a task
    /// is known by its command and which copy of it it is.
    pub fn track_copies(&mut self) {
        self.copies.get_or_insert_with(std::collections::HashMap::new);
    }

    /// The input held `n` tasks when it was counted: reaching its end with another number
    /// is an error (it changed under hrun).
    pub fn expect_tasks(&mut self, n: u64) {
        self.expected = Some(n);
    }

    /// GNU's `--shuf` with `Some(seed)`: the whole input read now and put in a random order
    /// (see [`shuffle`]); as it is with None.
    pub fn shuffled(mut self, seed: Option<u64>) -> Result<TaskStream, InputError> {
        let Some(seed) = seed else { return Ok(self) };
        let mut all = Vec::new();
        while let Some(task) = self.stream.next_task()? {
            all.push(task);
        }
        shuffle(&mut all, seed);
        let TaskStream { stream, name, expected, read, copies } = self;
        Ok(TaskStream {
            stream: Stream::Shuffled(all.into(), Box::new(stream)),
            name,
            expected,
            read,
            copies,
        })
    }

    /// The next task, `Ok(None)` at the end.
    pub fn next_task(&mut self) -> Result<Option<Task>, InputError> {
        let mut next = self.stream.next_task()?;
        if let (Some(task), Some(copies)) = (next.as_mut(), self.copies.as_mut()) {
            let n = copies.entry(task.hash()).or_insert(0);
            *n += 1;
            task.occurrence = *n;
        }
        match (&next, self.expected) {
            (Some(_), _) => self.read += 1,
            (None, Some(n)) if n != self.read => {
                return Err(InputError::Changed(format!(
                    "{} changed while hrun was reading it: it held {n} task(s) when counted, {} now",
                    self.name, self.read
                )));
            }
            (None, _) => {}
        }
        Ok(next)
    }

    /// True when the next task can be read without waiting for a slow producer.
    pub fn ready(&mut self) -> bool {
        match &mut self.stream {
            Stream::File(f) => f.watch_fd().is_none() || f.has_buffered(),
            Stream::Jobs(j) => j.ready(),
            Stream::Blocks(b) => b.ready(),
            Stream::Shuffled(..) => true,
        }
    }

    /// The descriptor to poll when not [`ready`](Self::ready).
    pub fn watch_fd(&self) -> Option<RawFd> {
        match &self.stream {
            Stream::File(f) => f.watch_fd(),
            Stream::Jobs(j) => j.watch_fd(),
            Stream::Blocks(b) => b.watch_fd(),
            Stream::Shuffled(..) => None,
        }
    }

    /// True when the input streams (standard input, a pipe): its rest cannot be counted
    /// without waiting for its producer.
    pub fn streams(&self) -> bool {
        match &self.stream {
            Stream::File(f) => f.watch_fd().is_some(),
            Stream::Jobs(j) => j.streams(),
            Stream::Blocks(b) => b.streams(),
            Stream::Shuffled(..) => false,
        }
    }

    /// `--header :`'s names of the values' columns (none for a task file).
    pub fn names(&self) -> &[String] {
        self.stream.names()
    }

    /// `#hrun threads=N` from a task file's header.
    pub fn threads_directive(&self) -> Option<usize> {
        self.stream.threads_directive()
    }
}

impl Stream {
    fn names(&self) -> &[String] {
        match self {
            Stream::File(_) | Stream::Blocks(_) => &[],
            Stream::Jobs(j) => j.names(),
            Stream::Shuffled(_, inner) => inner.names(),
        }
    }

    fn threads_directive(&self) -> Option<usize> {
        match self {
            Stream::File(f) => f.directives.threads,
            Stream::Jobs(_) | Stream::Blocks(_) => None,
            Stream::Shuffled(_, inner) => inner.threads_directive(),
        }
    }
}

/// How a template's values are read, from the command line.
#[derive(Clone, Debug, Default)]
pub struct TemplateOptions {
    /// `-a FILE`: sources before the others.
    pub arg_files: Vec<std::path::PathBuf>,
    pub link: bool,
    pub reading: template::Reading,
    /// `-N`/`-n`/`-L`/`-l`.
    pub max_args: Option<template::MaxArgs>,
    /// `-m`/`-X`/`--xargs`/`-s`.
    pub fill: Option<template::Fill>,
    /// `-I STR`.
    pub replace: Option<String>,
    /// `--arg-sep`, `--arg-file-sep`.
    pub markers: template::args::Markers,
    /// `--tagstring`.
    pub tagstring: Option<String>,
    /// `--quote` (GNU's `-q`): each command word quoted whole.
    pub quote: bool,
    /// `--shell-quote`, how many times given: each job prints its line quoted.
    pub shell_quote: u8,
    /// `--plus`: GNU's further replacement strings.
    pub plus: bool,
    /// `--er`, `--bnr`, `--dnr`, `--bner`, `--seqreplace`, `--slotreplace`.
    pub renames: template::Renames,
    /// How values are quoted for the shell that runs the lines.
    pub quoting: template::Quoting,
    /// Why values cannot be quoted for that shell (its rules are unknown to hrun): refused
    /// only if a template inserts values.
    pub unquotable: Option<String>,
}

/// What the positional words of `hrun exec` mean: a single word is a task file (`-`:
/// standard input), unless no such file exists and it names a program on `PATH` (or an
/// exported bash function), which GNU parallel runs once per line of standard input; a
/// command with input sources, or with none (values then come from standard input, one per
/// line), is a template; sources alone run their values as commands.
pub fn classify(words: &[std::ffi::OsString], opts: TemplateOptions) -> Result<TaskSpec, String> {
    let split = template::args::split(words, &opts.reading.delimiter, &opts.markers)?;
    let mut sources: Vec<template::Source> = opts
        .arg_files
        .iter()
        .map(|f| template::Source { input: template::sources::Input::File(f.clone()), linked: false })
        .collect();
    let after_arg_files = !sources.is_empty();
    sources.extend(split.sources.into_iter().enumerate().map(|(i, mut s)| {
        // As GNU parallel: `:::+` cannot link to an `-a` source; it starts a source of its own.
        s.linked &= !(i == 0 && after_arg_files);
        s
    }));
    let implicit_stdin = sources.is_empty();
    match split.command.as_slice() {
        // No command and no source: each line of standard input is a command, as GNU
        // parallel runs `parallel < cmds.txt` (read as values: no comments, no `{#}`).
        [] if implicit_stdin => {}
        [one] if implicit_stdin && !is_command(one)? => {
            return Ok(TaskSpec::File(if one == "-" {
                taskfile::Source::Stdin
            } else {
                taskfile::Source::Path(one.into())
            }));
        }
        _ => {}
    }
    if implicit_stdin {
        sources.push(template::Source { input: template::sources::Input::File("-".into()), linked: false });
    }
    // With no command the values are the commands: nothing is quoted.
    if let Some(why) = opts.unquotable.as_ref().filter(|_| !split.command.is_empty()) {
        return Err(why.clone());
    }
    let syntax = template::Syntax {
        replace: opts.replace.clone(),
        quoting: opts.quoting,
        quote_words: opts.quote,
        shell_quote: opts.shell_quote,
        plus: opts.plus,
        renames: opts.renames.clone(),
        ..template::Syntax::default()
    };
    let template = template::Template::parse_in(&split.command, &syntax)?;
    let spec = template::Spec {
        words: split.command,
        template: Arc::new(template),
        sources,
        link: opts.link,
        reading: opts.reading,
        implicit_stdin,
        max_args: opts.max_args,
        fill: opts.fill,
        tagstring: match &opts.tagstring {
            Some(t) => Some(Arc::new(template::Template::parse_in(std::slice::from_ref(t), &syntax)?)),
            None => None,
        },
        syntax,
        counts: Default::default(),
    };
    spec.check()?;
    Ok(TaskSpec::Template(Arc::new(spec)))
}

/// For a single word: true when it is a command to run once per line of standard input (no
/// file of that name, and a program on `PATH` or an exported function), false when it is a
/// task file. A word that could be either is refused rather than guessed: a file that is a
/// program, a bare file name that is also a program on `PATH`, or a bare file name while
/// standard input holds data (which a task file would ignore). A path with a `/` is a file.
fn is_command(word: &str) -> Result<bool, String> {
    let path = std::path::Path::new(word);
    let first = word.split_whitespace().next().unwrap_or(word);
    let bare = !word.contains('/');
    let named_program = || std::env::var_os(format!("BASH_FUNC_{first}%%")).is_some() || on_path(first);
    if word == "-" || path.exists() {
        if path.is_file() && looks_like_program(path) {
            return Err(format!(
                "{word} is a program, not a task file (one command per line); to run it once per line \
                 of standard input, as `parallel {word}` does, write `hrun exec {word} {{}}`"
            ));
        }
        if word != "-" && bare && path.is_file() {
            if first == word && named_program() {
                return Err(format!(
                    "{word} is both a file here and a program on PATH: write `hrun exec ./{word}` to run \
                     the file's lines as tasks, or `hrun exec {word} {{}}` to run the program on each line \
                     of standard input"
                ));
            }
            if crate::sys::stdin_has_data() {
                return Err(format!(
                    "standard input holds data, but {word} is a task file, whose lines are the commands: \
                     the data would be ignored. Write `hrun exec ./{word}` to run the task file (with \
                     `< /dev/null` to keep data away), or a command with {{}} to run it on each line"
                ));
            }
        }
        return Ok(false);
    }
    // GNU parallel users also write the command as one quoted word: `parallel 'gzip -9 {}'`.
    let program = if first.contains('/') {
        first != word && std::path::Path::new(first).is_file()
    } else {
        named_program()
    };
    Ok(program || word.contains("{}"))
}

/// A file that starts as a script (`#!`) or an ELF binary does.
pub fn looks_like_program(path: &std::path::Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 4];
    let n = std::fs::File::open(path).and_then(|mut f| f.read(&mut head)).unwrap_or(0);
    head[..n].starts_with(b"#!") || head[..n].starts_with(b"\x7fELF")
}

/// A regular file that could be a task file: not a program (see [`looks_like_program`]).
pub fn is_task_file(word: &std::ffi::OsStr) -> bool {
    let path = std::path::Path::new(word);
    word == "-" || (path.is_file() && !looks_like_program(path))
}

fn on_path(name: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::env::var_os("PATH").is_some_and(|p| {
        std::env::split_paths(&p).any(|d| {
            std::fs::metadata(d.join(name)).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
    })
}

/// The flags that say how a template's values are read.
#[derive(Clone, Copy, Debug, Default)]
pub struct ReadingFlags<'a> {
    pub null: bool,
    pub delimiter: Option<&'a str>,
    pub colsep: Option<&'a str>,
    /// `--header`: only `:` (the first value names the source) is understood.
    pub header: Option<&'a str>,
    pub skip_empty: bool,
    /// `--trim`.
    pub trim: Option<&'a str>,
    /// `-E`/`--eof` (empty: none).
    pub eof: Option<&'a str>,
    pub skip_first_line: bool,
    /// `-l`/`-L`: a value ending in a blank continues with the next.
    pub continue_lines: bool,
    /// `--csv`.
    pub csv: bool,
}

/// How values are read: `-0`, `-d DELIM`, `--colsep REGEX` (refused when it can match the
/// empty string: it would split between every character), `--header :` (which splits at tabs
/// unless `--colsep` says otherwise, as GNU parallel), `-r`.
pub fn reading(flags: ReadingFlags<'_>) -> Result<template::Reading, String> {
    let ReadingFlags {
        null,
        delimiter,
        colsep,
        header,
        skip_empty,
        trim,
        eof,
        skip_first_line,
        continue_lines,
        csv,
    } = flags;
    // GNU: --csv's separator is --colsep's text (one character), else `,`; no regex split.
    let (csv, colsep) = match (csv, colsep) {
        (false, c) => (None, c),
        (true, None) => (Some(','), None),
        (true, Some(c)) => match template::quote::unescape_delimiter(c)[..] {
            [b] if b.is_ascii() => (Some(b as char), None),
            _ => return Err(format!("--csv --colsep {c:?}: the CSV separator is one ASCII character")),
        },
    };
    // As GNU: --colsep (or --header's tab) trims columns; --csv's own `,` does not.
    let user_colsep =
        if csv.is_some() { flags.colsep.is_some() } else { colsep.is_some() || header.is_some() };
    let eof = eof.filter(|e| !e.is_empty()).map(String::from);
    let header = match header {
        None => false,
        Some(":") => true,
        Some(other) => {
            return Err(format!(
                "--header {other:?}: only `--header :` (the first value of each source names it) is supported"
            ));
        }
    };
    let colsep = colsep.or(header.then_some("\t"));
    let delimiter = match (null, delimiter) {
        (true, _) => vec![0],
        (false, Some(d)) => {
            let d = template::quote::unescape_delimiter(d);
            if d.is_empty() {
                return Err("-d needs a delimiter of at least one character".into());
            }
            d
        }
        (false, None) => b"\n".to_vec(),
    };
    let colsep = match colsep {
        None => None,
        Some(c) => {
            let re = regex::bytes::RegexBuilder::new(c).unicode(false).build().map_err(|e| {
                format!(
                    "--colsep {c:?} is not a regular expression hrun can use: {}",
                    e.to_string().replace('\n', " ")
                )
            })?;
            if re.is_match(b"") {
                return Err(format!(
                    "--colsep {c:?} can match the empty string, so it would split between every character; \
                     escape a literal character (e.g. '\\|' for |)"
                ));
            }
            Some(re)
        }
    };
    // As GNU parallel: --colsep trims each column unless --trim says otherwise.
    let trim = match trim {
        Some(t) => template::sources::Trim::parse(t)?,
        None if user_colsep => template::sources::Trim::Both,
        None => template::sources::Trim::None,
    };
    let colsep = if csv.is_some() { None } else { colsep };
    Ok(template::Reading {
        delimiter,
        colsep,
        skip_empty,
        header,
        trim,
        eof,
        skip_first_line,
        continue_lines,
        csv,
    })
}
