//! Command templates and input sources, as GNU parallel users write them:
//! `hrun exec ./sim -n 5 {} ::: a b :::: params.txt`, `find ... | hrun exec gzip {}`.
//!
//! A template and its sources make a stream of jobs. Each job becomes a [`Task`] whose
//! command (its identity for `--resume`, the `cmd` of its log record) is the template with
//! the job's values filled in and quoted, `{#}` and `{%}` left as written: exactly the line a
//! task file would hold for it (`--emit-tasks` writes those lines). At spawn time the command
//! is rendered again with `{#}` and `{%}` filled in. From there on a job is a task like any
//! other: slots, pinning, the log, resume.
//!
//! - [`args`]: splitting the words into the command and the sources;
//! - [`sources`]: reading values and ordering jobs (product, linked, `--link`, `--colsep`);
//! - [`replace`]: replacement strings and rendering, [`keys`]: finding them in the command,
//!   [`plus`]: `--plus`'s edits; [`quote`]: GNU's shell quoting.

pub mod args;
pub mod csv;
mod filters;
pub mod keys;
pub mod pack;
pub mod plus;
pub mod quote;
pub mod replace;
pub mod sources;
pub mod stream;

use std::sync::Arc;

pub use keys::Renames;
pub use replace::{Numbers, Quoting, Syntax, Template};
pub use sources::{Reading, Source, SourceError};
pub use stream::JobStream;

/// A template and its sources: what `hrun exec COMMAND ... SOURCES` was given.
#[derive(Clone, Debug)]
pub struct Spec {
    /// The command words as given (empty: the values are the commands).
    pub words: Vec<String>,
    pub template: Arc<Template>,
    /// `-a` files first, then the sources after the command, in order.
    pub sources: Vec<Source>,
    /// `--link`: pair every source, wrapping the shorter ones.
    pub link: bool,
    pub reading: Reading,
    /// No source was given: values come from standard input, one per line.
    pub implicit_stdin: bool,
    /// `-N`/`-n`/`-L`/`-l`: up to this many values (tuples of the sources) per job.
    pub max_args: Option<MaxArgs>,
    /// `-m`/`-X`/`--xargs`/`-s`: as many values per job as GNU fits in a command line.
    pub fill: Option<Fill>,
    /// How the command's replacement strings were read (`-I`, `--plus`, `--er`, ..., the
    /// quoting), for reading it again with `--header`'s names or `-N`.
    pub syntax: Syntax,
    /// `--tagstring STR`, parsed as a template.
    pub tagstring: Option<Arc<Template>>,
    /// The number of jobs and of slots, for `{##}`, `{0#}` and `{0%}`: given once known.
    pub counts: Arc<Counts>,
}

/// The number of jobs (`--total-jobs`, else the input's) and of slots, known only once the
/// input is counted and the slots planned; shared by every job of a template.
#[derive(Debug, Default)]
pub struct Counts {
    total: std::sync::OnceLock<u64>,
    slots: std::sync::OnceLock<usize>,
}

impl Counts {
    /// Sets the number of jobs (the first call counts).
    pub fn set_total(&self, n: u64) {
        let _ = self.total.set(n);
    }

    /// Sets the number of slots (the first call counts).
    pub fn set_slots(&self, n: usize) {
        let _ = self.slots.set(n);
    }

    pub fn total(&self) -> Option<u64> {
        self.total.get().copied()
    }
}

impl PartialEq for Counts {
    fn eq(&self, other: &Self) -> bool {
        (self.total.get(), self.slots.get()) == (other.total.get(), other.slots.get())
    }
}
impl Eq for Counts {}

/// GNU's `-N N` (context replace: a word with `{}` repeats per value) or `-n N` (`{}` is
/// all the values, space-separated): up to N values per job. `-N0`: one value is read per
/// job, and none is inserted (the command runs once per value, as it is).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MaxArgs {
    pub n: usize,
    pub context: bool,
}

/// GNU's `-m`, `-X`, `--xargs` (and its limit on every line, which `-s` lowers): a job takes
/// values while its command line, as GNU measures it ([`pack::Measure`]), stays below `max_len`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fill {
    pub max_len: usize,
    /// `-m`/`-X`/`--xargs`: as many values as fit (else, as GNU, the limit only cuts the
    /// number of values `-n`/`-N` ask for, one by default).
    pub many: bool,
    /// `-m`/`-X`: at the end of the input, the values of the job that reaches it are spread
    /// evenly over the slots (GNU's "distribute arguments at EOF").
    pub spread: bool,
    /// `-X`: context replace (a word holding `{}` repeats per value).
    pub context: bool,
}

/// A job's arguments and the template that renders them, carried by its [`Task`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobArgs {
    pub template: Arc<Template>,
    pub args: Vec<String>,
    /// `--tagstring`: what prefixes the job's output lines.
    pub tag: Option<Arc<Template>>,
    /// The number of jobs and of slots (`{##}`, `{0#}`, `{0%}`).
    pub counts: Arc<Counts>,
}

impl JobArgs {
    /// True when the job is skipped (`{choose_k}`, `{uniq}` and its values): it runs nothing
    /// and counts as failed, as in GNU.
    pub fn skipped(&self) -> bool {
        self.template.skips(&self.args)
    }

    /// The command to run for job `seq` on slot `slot`.
    pub fn command(&self, seq: u64, slot: usize) -> String {
        let line =
            self.template.render_at(&self.args, self.numbers(seq, Some(slot)), self.template.quoting());
        self.template.job_line(line)
    }

    /// What `--tag` (the values, space-separated) or `--tagstring` (its replacement strings
    /// filled in, values unquoted) prefixes the job's output lines with.
    pub fn tag(&self, seq: u64, slot: Option<usize>) -> String {
        match &self.tag {
            Some(t) => t.render_tag(&self.args, self.numbers(seq, slot)),
            None => self.args.join(" "),
        }
    }

    fn numbers(&self, seq: u64, slot: Option<usize>) -> Numbers {
        Numbers { seq: Some(seq), slot, total: self.counts.total(), slots: self.counts.slots.get().copied() }
    }
}

impl Spec {
    /// Checks what can be checked before anything is read: a positional replacement string
    /// needs a source at that position (with `--colsep` the columns are only known per value).
    pub fn check(&self) -> Result<(), String> {
        let per_job = self.sources.len().max(1)
            * match (self.max_args, self.fill) {
                (Some(m), _) => m.n,
                (None, Some(f)) if f.many => usize::MAX / 64,
                (None, _) => 1,
            };
        if self.reading.colsep.is_none()
            && self.reading.csv.is_none()
            && let Some(n) = self.template.max_position()
            && n > per_job as u64
        {
            return Err(format!(
                "the command uses argument {{{n}}} (or {{-{n}}}), but a job has only {per_job} value(s) \
                 ({} input source(s){}); number them from 1",
                self.sources.len().max(1),
                self.max_args.map_or(String::new(), |m| format!(" x -N {}", m.n))
            ));
        }
        if let Some((a, b)) = sources::same_stream_twice(&self.sources) {
            return Err(format!(
                "input sources {a} and {b} are the same stream (standard input, a pipe or a FIFO), which can \
                 be read only once; give it once, or save it to a file first"
            ));
        }
        Ok(())
    }

    /// Opens the sources; the first job is read (an empty source is refused here).
    pub fn open(&self) -> Result<JobStream, SourceError> {
        let jobs = sources::Jobs::open(&self.sources, self.link, &self.reading, self.implicit_stdin)?;
        let context = self.context();
        let template = if jobs.names.is_empty() && !context {
            self.template.clone()
        } else {
            // The header's names become replacement strings; checked when the spec was made.
            let syntax = Syntax { names: jobs.names.clone(), context, ..self.syntax.clone() };
            Arc::new(Template::parse_in(&self.words, &syntax).unwrap_or_else(|_| (*self.template).clone()))
        };
        Ok(JobStream {
            counts: self.counts.clone(),
            tag: self.tagstring.clone(),
            jobs,
            seq: 0,
            per_job: match (self.max_args, self.fill) {
                (Some(m), _) => m.n.max(1),
                (None, Some(f)) if f.many => usize::MAX,
                (None, _) => 1,
            },
            insert_none: self.max_args.is_some_and(|m| m.n == 0),
            partial: Default::default(),
            fill: self.fill.map(|f| (f, pack::Measure::of(&template, context))),
            held: Default::default(),
            spread: false,
            template,
        })
    }

    /// True when a word holding `{}` repeats per value (`-X`, `-N`, `-L`).
    pub fn context(&self) -> bool {
        self.max_args.is_some_and(|m| m.context) || self.fill.is_some_and(|f| f.context)
    }

    /// True when the jobs can be made again from the start (no standard input or pipe).
    pub fn rereadable(&self) -> bool {
        sources::rereadable(&self.sources)
    }

    /// The start of the default run log's name: the program's name and a hash of the
    /// template and how values are read (not the values), e.g. `sim-3fa2c1d0`, so the same
    /// command finds its log again for `--resume`, also after values were added.
    pub fn log_stem(&self) -> String {
        let first = self.words.first().and_then(|w| w.split_whitespace().next());
        // A template that starts with an assignment, a substitution or a keyword: its first
        // program (other templates keep the names their logs have always had).
        let shell_start =
            first.is_some_and(|f| f.contains('=') || f.starts_with(['$', '(', '`']) || KEYWORDS.contains(&f));
        let program = if shell_start { program_word(&self.words) } else { first };
        let program = program.map(|w| w.rsplit('/').next().unwrap_or(w)).unwrap_or("commands");
        let mut name: String =
            program.chars().filter(|c| c.is_ascii_alphanumeric() || "._-".contains(*c)).take(32).collect();
        if name.is_empty() || name.starts_with('.') {
            name.insert_str(0, "job");
        }
        format!("{name}-{:08x}", self.fingerprint() as u32)
    }

    /// FNV-1a over the words, the link mode and the reading options.
    fn fingerprint(&self) -> u64 {
        let mut text = String::new();
        for w in &self.words {
            text.push_str(w);
            text.push('\0');
        }
        text.push_str(if self.link { "link\0" } else { "\0" });
        if let Some(m) = self.max_args {
            text.push_str(&format!("max_args {} {}\0", m.n, m.context));
        }
        if let Some(f) = self.fill {
            text.push_str(&format!("fill {} {} {} {}\0", f.max_len, f.many, f.spread, f.context));
        }
        if let Some(r) = &self.syntax.replace {
            text.push_str(&format!("replace {r}\0"));
        }
        // Only when given, so that other templates keep their logs' names.
        if self.syntax.plus {
            text.push_str("plus\0");
        }
        for (option, value) in self.syntax.renames.given() {
            text.push_str(&format!("{option} {value}\0"));
        }
        text.push_str(if self.reading.skip_empty { "r\0" } else { "\0" });
        text.push_str(if self.reading.header { "header\0" } else { "\0" });
        text.push_str(&String::from_utf8_lossy(&self.reading.delimiter));
        text.push('\0');
        text.push_str(self.reading.colsep.as_ref().map_or("", |r| r.as_str()));
        // Not the values: a sweep given one more value finds its log, and `--resume` runs
        // only the new jobs (jobs are known by their commands).
        crate::log::command_hash(&text)
    }

    /// The command line in short, for the run record and messages: the template, then each
    /// source (at most a few values of each).
    pub fn describe(&self) -> String {
        let mut out =
            if self.words.is_empty() { "(values as commands)".to_string() } else { self.words.join(" ") };
        for s in &self.sources {
            match &s.input {
                sources::Input::Values(v) => {
                    out += if s.linked { " :::+" } else { " :::" };
                    for value in v.iter().take(5) {
                        out.push(' ');
                        out.push_str(&quote::quote(value));
                    }
                    if v.len() > 5 {
                        out += &format!(" ... ({} values)", v.len());
                    }
                }
                sources::Input::File(p) => {
                    out += if s.linked { " ::::+ " } else { " :::: " };
                    out.push_str(&quote::quote(&p.to_string_lossy()));
                }
            }
        }
        if self.implicit_stdin {
            out += " (values from standard input)";
        }
        out
    }
}

/// The first word of a template that names a program, for the log's name: a shell keyword
/// (`if`, `for`, `time`...) is passed over, and an assignment (`n=$(cat {})`) gives the command
/// of its value (`cat`), never `ncat`.
const KEYWORDS: [&str; 14] =
    ["if", "then", "for", "while", "until", "do", "time", "exec", "export", "env", "nice", "!", "{", "("];

fn program_word(words: &[String]) -> Option<&str> {
    // `for i in 1 2; do prog {}; done`: the loop's variable and list are no program (issue 26:
    // such a log was named after `i`); the first program is the one after `do`.
    let mut in_loop_head = false;
    words.iter().flat_map(|w| w.split_whitespace()).find_map(|t| {
        if in_loop_head || matches!(t, "for" | "select") {
            in_loop_head = t != "do" && t != ";do";
            return None;
        }
        let t = match t.split_once('=') {
            Some((name, value))
                if !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') =>
            {
                if !(value.starts_with("$(") || value.starts_with('`')) {
                    return None;
                }
                value
            }
            _ => t,
        };
        let t = t.trim_start_matches(['$', '(', '`', '"', '\'', '{']);
        let t = t.split([';', '|', '&', ')', '`', '"', '\'']).next().unwrap_or("");
        (!t.is_empty() && !KEYWORDS.contains(&t) && !t.starts_with('{') && t != "{}").then_some(t)
    })
}
