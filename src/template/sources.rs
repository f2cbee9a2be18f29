//! Input sources and the jobs they make, in GNU parallel's order.
//!
//! A source is a list of values: `::: a b` on the command line, or the records of a file
//! (`:::: FILE`, `-a FILE`, `-` for standard input), separated by newlines (`-0`: NUL; `-d`:
//! any string), kept exactly (blanks, empty records and `\r` included). `:::+`/`::::+` link a
//! source to the one before: linked sources advance together and stop at the shorter. Jobs
//! are the cartesian product of the (groups of linked) sources, the last varying fastest;
//! `--link` instead pairs every source and wraps the shorter ones around.
//!
//! Memory: the first group is read as a stream, one job ahead, so a million values from
//! standard input run in flat memory; later groups repeat for every value of the first, so
//! they are read whole before anything runs.

use std::io::{self, BufRead, BufReader, Read};
use std::os::fd::RawFd;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::filters::{Continued, NonBlank, UntilEof};

/// Where a source's values come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// `::: VALUE...`
    Values(Arc<Vec<String>>),
    /// `:::: FILE`, `-a FILE`; `-` is standard input.
    File(PathBuf),
}

impl Input {
    pub fn is_stdin(&self) -> bool {
        matches!(self, Input::File(p) if p.as_os_str() == "-")
    }

    /// The name used in messages.
    pub fn name(&self) -> String {
        match self {
            Input::Values(_) => ":::".to_string(),
            Input::File(p) if p.as_os_str() == "-" => "<stdin>".to_string(),
            Input::File(p) => p.display().to_string(),
        }
    }
}

/// One source as given on the command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Source {
    pub input: Input,
    /// `:::+` / `::::+`: advances with the source before it.
    pub linked: bool,
}

/// How values are read and split.
#[derive(Clone, Debug)]
pub struct Reading {
    /// The record separator of files and standard input (`\n`; `-0`: NUL; `-d`).
    pub delimiter: Vec<u8>,
    /// `--colsep`: each value is split into columns, each trimmed of blanks (GNU's
    /// `--trim lr`, which `--colsep` implies).
    /// On bytes, without Unicode classes, as Perl's `split` matches GNU's byte strings.
    pub colsep: Option<regex::bytes::Regex>,
    /// `-r`: values that are empty or all blanks are skipped.
    pub skip_empty: bool,
    /// `--header :`: the first value of each source names its columns.
    pub header: bool,
    /// `--trim`: blanks taken off each value (each column, with `--colsep`).
    pub trim: Trim,
    /// `-E EOF`: each source ends at a value equal to EOF (never empty).
    pub eof: Option<String>,
    /// `--skip-first-line`: the first value of the first source is not used.
    pub skip_first_line: bool,
    /// `-l`/`-L`: a value ending in a blank continues with the next (xargs' lines).
    pub continue_lines: bool,
    /// `--csv`: values are CSV records (joined across lines while a quote is open), their
    /// fields separated by this character the columns.
    pub csv: Option<char>,
}

/// GNU's `--trim`: which ends of a value lose their blanks (Perl's `\s`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Trim {
    #[default]
    None,
    Left,
    Right,
    Both,
}

impl Trim {
    /// `--trim n|l|r|lr|rl`.
    pub fn parse(text: &str) -> Result<Trim, String> {
        Ok(match text {
            "n" => Trim::None,
            "l" => Trim::Left,
            "r" => Trim::Right,
            "lr" | "rl" => Trim::Both,
            _ => return Err(format!("--trim {text:?}: {}", crate::exit::TRIM_CHOICES)),
        })
    }

    pub(super) fn apply(self, v: &str) -> &str {
        match self {
            Trim::None => v,
            Trim::Left => v.trim_start_matches(is_perl_space),
            Trim::Right => v.trim_end_matches(is_perl_space),
            Trim::Both => v.trim_matches(is_perl_space),
        }
    }
}

impl Default for Reading {
    fn default() -> Self {
        Reading {
            delimiter: b"\n".to_vec(),
            colsep: None,
            skip_empty: false,
            header: false,
            trim: Trim::None,
            eof: None,
            skip_first_line: false,
            continue_lines: false,
            csv: None,
        }
    }
}

/// Why a source cannot be read; the message names the source and the value.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("cannot open input source {name}: {cause}")]
    Open { name: String, cause: io::Error },
    #[error("cannot read input source {name}: {cause}")]
    Read { name: String, cause: io::Error },
    #[error("{name}: value {n}: {why}")]
    Value { name: String, n: u64, why: String },
    #[error("Command line too long ({len} >= {max}) at input 0: {shown}")]
    TooLong { len: usize, max: usize, shown: String },
    #[error(
        "input source {0} is empty: it has no values (GNU parallel would run its jobs with one empty value)"
    )]
    Empty(String),
}

/// Values of one source, read one at a time.
pub(super) trait Values {
    fn next(&mut self) -> Result<Option<String>, SourceError>;
    /// True when the next value can be had without waiting for a slow producer.
    fn ready(&self) -> bool;
    /// The descriptor to poll when not ready.
    fn watch_fd(&self) -> Option<RawFd>;
}

struct ListValues {
    values: Arc<Vec<String>>,
    next: usize,
}

impl Values for ListValues {
    fn next(&mut self) -> Result<Option<String>, SourceError> {
        let v = self.values.get(self.next).cloned();
        self.next += 1;
        Ok(v)
    }
    fn ready(&self) -> bool {
        true
    }
    fn watch_fd(&self) -> Option<RawFd> {
        None
    }
}

/// Records of a file or of standard input.
struct RecordValues {
    name: String,
    reader: BufReader<Box<dyn Read>>,
    delimiter: Vec<u8>,
    /// A descriptor that may have no data yet (standard input, a pipe, a FIFO).
    watch: Option<RawFd>,
    n: u64,
    buf: Vec<u8>,
    /// Values seen ending in CR, and not, until three of one kind (GNU's DOS-file warning).
    crnl: Option<(u8, u8)>,
}

impl RecordValues {
    fn open(input: &Input, delimiter: &[u8]) -> Result<RecordValues, SourceError> {
        let name = input.name();
        let open_err = |cause| SourceError::Open { name: name.clone(), cause };
        let (reader, watch): (Box<dyn Read>, Option<RawFd>) = match input {
            Input::File(p) if p.as_os_str() == "-" => crate::guarded::open_stdin(),
            Input::File(p) => {
                if std::fs::metadata(p).map_err(open_err)?.is_dir() {
                    return Err(open_err(io::Error::other("it is a directory")));
                }
                crate::guarded::open(p).map_err(open_err)?
            }
            Input::Values(_) => unreachable!("a list of values is not read from a file"),
        };
        Ok(RecordValues {
            name,
            reader: BufReader::with_capacity(64 * 1024, reader),
            delimiter: delimiter.to_vec(),
            watch,
            n: 0,
            buf: Vec::with_capacity(256),
            // Only where values end at newlines: -d '\r\n' is the cure.
            crnl: (delimiter == b"\n").then_some((0, 0)),
        })
    }

    /// As GNU parallel: when the first three values end in CR (a DOS text file) and none
    /// without, says so once: the CR stays in each value.
    fn look_for_crnl(&mut self) {
        let Some((cr, nl)) = self.crnl.as_mut() else { return };
        match self.buf.ends_with(b"\r") {
            true => *cr += 1,
            false => *nl += 1,
        }
        if *cr == 3 || *nl == 3 {
            if *nl == 0 {
                crate::messages::shared_warning(
                    format!(
                        "the first three values of {} end in CR-NL (a DOS text file?): each value keeps its CR; \
                         give -d '\\r\\n' to split at CR-NL",
                        self.name
                    ),
                    "The first three values end in CR-NL. Consider using -d \"\\r\\n\"",
                );
            }
            self.crnl = None;
        }
    }

    fn value_error(&self, why: String) -> SourceError {
        SourceError::Value { name: self.name.clone(), n: self.n, why }
    }
}

impl Values for RecordValues {
    fn next(&mut self) -> Result<Option<String>, SourceError> {
        self.buf.clear();
        let last = *self.delimiter.last().expect("a delimiter is never empty");
        loop {
            let n = self
                .reader
                .read_until(last, &mut self.buf)
                .map_err(|cause| SourceError::Read { name: self.name.clone(), cause })?;
            if n == 0 || self.buf.ends_with(&self.delimiter) {
                break;
            }
        }
        if self.buf.is_empty() {
            return Ok(None);
        }
        self.n += 1;
        if self.buf.ends_with(&self.delimiter) {
            self.buf.truncate(self.buf.len() - self.delimiter.len());
        }
        self.look_for_crnl();
        if let Some(i) = self.buf.iter().position(|&b| b == 0) {
            return Err(self.value_error(format!(
                "contains a NUL byte (at byte {}), which no command can hold; use -0 if NUL separates the values",
                i + 1
            )));
        }
        match String::from_utf8(std::mem::take(&mut self.buf)) {
            Ok(s) => Ok(Some(s)),
            Err(e) => {
                let at = e.utf8_error().valid_up_to() + 1;
                let shown = String::from_utf8_lossy(e.as_bytes()).chars().take(80).collect::<String>();
                Err(self.value_error(format!("not valid UTF-8 (byte {at} of {shown:?})")))
            }
        }
    }
    fn ready(&self) -> bool {
        self.watch.is_none() || !self.reader.buffer().is_empty()
    }
    fn watch_fd(&self) -> Option<RawFd> {
        self.watch
    }
}

fn open_values(input: &Input, reading: &Reading) -> Result<Box<dyn Values>, SourceError> {
    let values: Box<dyn Values> = match input {
        Input::Values(v) => Box::new(ListValues { values: v.clone(), next: 0 }),
        file => Box::new(RecordValues::open(file, &reading.delimiter)?),
    };
    let values = match reading.csv {
        Some(_) => Box::new(super::csv::Records::new(values, &reading.delimiter)),
        None => values,
    };
    let values = match &reading.eof {
        Some(eof) => Box::new(UntilEof::new(values, eof.clone())),
        None => values,
    };
    Ok(match (reading.continue_lines, reading.skip_empty) {
        (true, skip_empty) => Box::new(Continued::new(values, skip_empty)),
        (false, true) => Box::new(NonBlank(values)),
        (false, false) => values,
    })
}

/// Reads the rest of a source.
fn read_rest(src: &mut dyn Values) -> Result<Vec<String>, SourceError> {
    let mut out = Vec::new();
    while let Some(v) = src.next()? {
        out.push(v);
    }
    Ok(out)
}

/// Linked sources read together: one value of each per step, ending with the shortest.
struct Group {
    members: Vec<Box<dyn Values>>,
}

impl Group {
    fn next(&mut self) -> Result<Option<Vec<String>>, SourceError> {
        let mut tuple = Vec::with_capacity(self.members.len());
        for m in &mut self.members {
            match m.next()? {
                Some(v) => tuple.push(v),
                None => return Ok(None),
            }
        }
        Ok(Some(tuple))
    }
}

/// The sources split into groups: a source starts a group unless it is linked.
fn groups(sources: &[Source]) -> Vec<&[Source]> {
    let mut out: Vec<&[Source]> = Vec::new();
    let mut start = 0;
    for i in 1..=sources.len() {
        if i == sources.len() || !sources[i].linked {
            out.push(&sources[start..i]);
            start = i;
        }
    }
    out
}

/// Every job's values in order, read lazily (see the module documentation).
pub struct Jobs {
    order: Order,
    reading: Reading,
    /// The first job, read while opening (to refuse an empty source before anything runs).
    pending: Option<Vec<String>>,
    /// `--header :`: the column names, from the first value of each source, in source order.
    pub names: Vec<String>,
}

enum Order {
    /// The cartesian product: the first group streams, later groups are held whole.
    Product { first: Group, rest: Vec<Vec<Vec<String>>>, odometer: Vec<usize>, current: Option<Vec<String>> },
    /// `--link`: value `j` of every source, wrapping around the shorter ones.
    Linked { sources: Vec<Vec<String>>, next: usize, len: usize },
}

impl Jobs {
    /// Opens the sources and reads the first job. `implicit_stdin`: standard input is the
    /// only source because none was given; it may then be empty (no jobs, as GNU parallel).
    pub fn open(
        sources: &[Source],
        link_all: bool,
        reading: &Reading,
        implicit_stdin: bool,
    ) -> Result<Jobs, SourceError> {
        let mut opened: Vec<Box<dyn Values>> =
            sources.iter().map(|s| open_values(&s.input, reading)).collect::<Result<_, _>>()?;
        if reading.skip_first_line
            && let Some(first) = opened.first_mut()
        {
            first.next()?;
        }
        let mut names = Vec::new();
        if reading.header {
            for (s, values) in sources.iter().zip(opened.iter_mut()) {
                let header = values.next()?.ok_or_else(|| SourceError::Empty(s.input.name()))?;
                names.extend(match reading.csv {
                    Some(sep) => super::csv::columns(&header, sep, reading.trim),
                    None => split_columns(&header, reading.colsep.as_ref(), reading.trim),
                });
            }
        }
        let order = if link_all {
            let mut all = Vec::with_capacity(sources.len());
            for (s, values) in sources.iter().zip(opened.iter_mut()) {
                let values = read_rest(values.as_mut())?;
                if values.is_empty() {
                    return Err(SourceError::Empty(s.input.name()));
                }
                all.push(values);
            }
            let len = all.iter().map(Vec::len).max().unwrap_or(0);
            Order::Linked { sources: all, next: 0, len }
        } else {
            let groups = groups(sources);
            // Hand each group its opened sources, in order.
            let mut members: Vec<Vec<Box<dyn Values>>> = Vec::with_capacity(groups.len());
            let mut it = opened.into_iter();
            for g in &groups {
                members.push(it.by_ref().take(g.len()).collect());
            }
            let mut members = members.into_iter();
            let first = Group { members: members.next().unwrap_or_default() };
            let mut rest = Vec::with_capacity(groups.len().saturating_sub(1));
            for (g, m) in groups.iter().skip(1).zip(members) {
                let mut group = Group { members: m };
                let mut tuples = Vec::new();
                while let Some(t) = group.next()? {
                    tuples.push(t);
                }
                if tuples.is_empty() {
                    return Err(SourceError::Empty(describe_group(g)));
                }
                rest.push(tuples);
            }
            Order::Product { first, odometer: vec![0; rest.len()], rest, current: None }
        };
        let mut jobs = Jobs { order, reading: reading.clone(), pending: None, names };
        jobs.pending = jobs.read_next()?;
        // With -r an input of blanks only means nothing to run, as GNU parallel.
        if jobs.pending.is_none() && !implicit_stdin && !reading.skip_empty {
            let first = groups(sources).first().map_or_else(String::new, |g| describe_group(g));
            return Err(SourceError::Empty(first));
        }
        Ok(jobs)
    }

    /// The next job's arguments (after `--colsep`), `None` after the last.
    pub fn next_job(&mut self) -> Result<Option<Vec<String>>, SourceError> {
        match self.pending.take() {
            Some(j) => Ok(Some(j)),
            None => self.read_next(),
        }
    }

    /// True when the next job can be had without waiting for a slow producer.
    pub fn ready(&self) -> bool {
        if self.pending.is_some() {
            return true;
        }
        match &self.order {
            Order::Linked { .. } => true,
            Order::Product { first, odometer, current, .. } => {
                // Within a value of the first group, the next job comes from the held groups.
                let more_of_current = current.is_some() && odometer.iter().any(|&i| i != 0);
                more_of_current || first.members.iter().all(|m| m.ready())
            }
        }
    }

    /// A descriptor to poll when the next job is not ready.
    pub fn watch_fd(&self) -> Option<RawFd> {
        match &self.order {
            Order::Product { first, .. } => {
                first.members.iter().find(|m| !m.ready()).and_then(|m| m.watch_fd())
            }
            Order::Linked { .. } => None,
        }
    }

    /// True when some source is read as it arrives (standard input or a pipe).
    pub fn streams(&self) -> bool {
        match &self.order {
            Order::Product { first, .. } => first.members.iter().any(|m| m.watch_fd().is_some()),
            Order::Linked { .. } => false,
        }
    }

    fn read_next(&mut self) -> Result<Option<Vec<String>>, SourceError> {
        let raw = match &mut self.order {
            Order::Linked { sources, next, len } => {
                if *next >= *len {
                    return Ok(None);
                }
                let j = *next;
                *next += 1;
                sources.iter().map(|s| s[j % s.len()].clone()).collect()
            }
            Order::Product { first, rest, odometer, current } => {
                // The odometer wraps to all zeros after the last combination of the rest.
                if current.is_none() || odometer.iter().all(|&i| i == 0) {
                    match first.next()? {
                        Some(t) => *current = Some(t),
                        None => return Ok(None),
                    }
                }
                let mut job = current.clone().expect("set above");
                for (g, &i) in rest.iter().zip(odometer.iter()) {
                    job.extend(g[i].iter().cloned());
                }
                for k in (0..odometer.len()).rev() {
                    odometer[k] += 1;
                    if odometer[k] < rest[k].len() {
                        break;
                    }
                    odometer[k] = 0;
                }
                job
            }
        };
        Ok(Some(self.columns(raw)))
    }

    /// `--colsep`: each value split into its columns, each trimmed; an empty value is one
    /// empty column.
    fn columns(&self, values: Vec<String>) -> Vec<String> {
        let trim = self.reading.trim;
        if let Some(sep) = self.reading.csv {
            return values.iter().flat_map(|v| super::csv::columns(v, sep, trim)).collect();
        }
        match &self.reading.colsep {
            None if trim == Trim::None => values,
            None => values.iter().map(|v| trim.apply(v).to_string()).collect(),
            Some(re) => values.iter().flat_map(|v| split_columns(v, Some(re), trim)).collect(),
        }
    }
}

/// One value's columns: split where `colsep` matches, each trimmed; an empty value is one
/// empty column; without a colsep, the value itself.
/// As Perl's `split /RE/, $value, -1`: a regex's capture groups are columns too.
fn split_columns(value: &str, colsep: Option<&regex::bytes::Regex>, trim: Trim) -> Vec<String> {
    let Some(re) = colsep else { return vec![trim.apply(value).to_string()] };
    if value.is_empty() {
        return vec![String::new()];
    }
    let bytes = value.as_bytes();
    let mut fields: Vec<&[u8]> = Vec::new();
    let mut last = 0;
    for caps in re.captures_iter(bytes) {
        let m = caps.get(0).expect("group 0 is the match");
        fields.push(&bytes[last..m.start()]);
        fields.extend((1..caps.len()).map(|g| caps.get(g).map_or(&b""[..], |c| c.as_bytes())));
        last = m.end();
    }
    fields.push(&bytes[last..]);
    fields.into_iter().map(|f| trim.apply(&String::from_utf8_lossy(f)).to_string()).collect()
}

/// Perl's `\s` on bytes: space, tab, newline, vertical tab, form feed, carriage return.
pub(super) fn is_perl_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\x0b' | '\x0c' | '\r')
}

fn describe_group(g: &[Source]) -> String {
    g.iter().map(|s| s.input.name()).collect::<Vec<_>>().join(" + ")
}

/// Two sources that are one stream that can be read only once: standard input twice, or the
/// same pipe or FIFO (by device and inode, so `-` and `/dev/stdin` are caught too).
pub fn same_stream_twice(sources: &[Source]) -> Option<(String, String)> {
    use std::os::unix::fs::MetadataExt;
    let id = |s: &Source| -> Option<(u64, u64)> {
        let Input::File(p) = &s.input else { return None };
        let meta = if p.as_os_str() == "-" { std::fs::metadata("/dev/stdin") } else { std::fs::metadata(p) };
        match meta {
            Ok(m) if !m.is_file() => Some((m.dev(), m.ino())),
            // Standard input that cannot be looked at: count it as one stream.
            Err(_) if p.as_os_str() == "-" => Some((0, 0)),
            _ => None,
        }
    };
    let ids: Vec<(String, Option<(u64, u64)>)> = sources.iter().map(|s| (s.input.name(), id(s))).collect();
    for (i, (a, ia)) in ids.iter().enumerate() {
        if let Some((b, _)) = ids[i + 1..].iter().find(|(_, ib)| ia.is_some() && ib == ia) {
            return Some((a.clone(), b.clone()));
        }
    }
    None
}

/// True when every source can be read again from the start (for `--resume` and for counting
/// the jobs): values, and regular files.
pub fn rereadable(sources: &[Source]) -> bool {
    sources.iter().all(|s| match &s.input {
        Input::Values(_) => true,
        Input::File(p) if p.as_os_str() == "-" => crate::guarded::stdin_is_file(),
        Input::File(p) => std::fs::metadata(p).is_ok_and(|m| m.is_file()),
    })
}

/// The files among the sources (to check that no output of hrun's is one of them).
pub fn files(sources: &[Source]) -> impl Iterator<Item = &Path> {
    sources.iter().filter_map(|s| match &s.input {
        Input::File(p) if p.as_os_str() != "-" => Some(p.as_path()),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(v: &[&str]) -> Source {
        Source { input: Input::Values(Arc::new(v.iter().map(|s| s.to_string()).collect())), linked: false }
    }

    fn linked(v: &[&str]) -> Source {
        Source { linked: true, ..values(v) }
    }

    fn all(sources: &[Source], link: bool, reading: &Reading) -> Vec<String> {
        let mut jobs = Jobs::open(sources, link, reading, false).unwrap();
        let mut out = Vec::new();
        while let Some(j) = jobs.next_job().unwrap() {
            out.push(j.join(" "));
        }
        out
    }

    #[test]
    fn product_last_source_fastest() {
        let got = all(&[values(&["a", "b"]), values(&["1", "2", "3"])], false, &Reading::default());
        assert_eq!(got, ["a 1", "a 2", "a 3", "b 1", "b 2", "b 3"]);
        let got =
            all(&[values(&["a"]), values(&["1", "2"]), values(&["x", "y"])], false, &Reading::default());
        assert_eq!(got, ["a 1 x", "a 1 y", "a 2 x", "a 2 y"]);
    }

    #[test]
    fn linked_sources_stop_at_the_shorter_and_link_wraps() {
        let s = [values(&["a", "b", "c"]), linked(&["1", "2"]), values(&["X", "Y"])];
        assert_eq!(all(&s, false, &Reading::default()), ["a 1 X", "a 1 Y", "b 2 X", "b 2 Y"]);
        assert_eq!(all(&s, true, &Reading::default()), ["a 1 X", "b 2 Y", "c 1 X"]);
    }

    #[test]
    fn files_keep_blanks_empty_records_and_cr() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("v");
        std::fs::write(&f, "x\r\ny\n\n  z  \nlast").unwrap();
        let s = [Source { input: Input::File(f), linked: false }];
        let mut jobs = Jobs::open(&s, false, &Reading::default(), false).unwrap();
        let mut got = Vec::new();
        while let Some(j) = jobs.next_job().unwrap() {
            got.push(j[0].clone());
        }
        assert_eq!(got, ["x\r", "y", "", "  z  ", "last"]);
    }

    #[test]
    fn other_delimiters_keep_newlines() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("v");
        std::fs::write(&f, "a:b::c\n").unwrap();
        let reading = Reading { delimiter: b":".to_vec(), ..Reading::default() };
        let s = [Source { input: Input::File(f.clone()), linked: false }];
        assert_eq!(all(&s, false, &reading), ["a", "b", "", "c\n"]);
        std::fs::write(&f, "a<>b<c<>").unwrap();
        let reading = Reading { delimiter: b"<>".to_vec(), ..Reading::default() };
        assert_eq!(all(&s, false, &reading), ["a", "b<c"]);
    }

    #[test]
    fn colsep_splits_and_trims_like_gnu() {
        let reading = Reading {
            colsep: Some(regex::bytes::Regex::new(",").unwrap()),
            trim: Trim::Both,
            ..Reading::default()
        };
        let mut jobs = Jobs::open(&[values(&["a,b,,", " a , b ", ""])], false, &reading, false).unwrap();
        assert_eq!(jobs.next_job().unwrap().unwrap(), ["a", "b", "", ""]);
        assert_eq!(jobs.next_job().unwrap().unwrap(), ["a", "b"]);
        assert_eq!(jobs.next_job().unwrap().unwrap(), [""]);
        // Perl: captured separators are columns; no Unicode classes (a no-break space is no \s).
        let re = |s: &str| Some(regex::bytes::RegexBuilder::new(s).unicode(false).build().unwrap());
        assert_eq!(split_columns("a,b", re("(,)").as_ref(), Trim::Both), ["a", ",", "b"]);
        assert_eq!(split_columns("a\u{a0}b c", re("\\s").as_ref(), Trim::Both), ["a\u{a0}b", "c"]);
    }

    #[test]
    fn empty_sources_are_refused_unless_implicit_stdin() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("empty");
        std::fs::write(&f, "").unwrap();
        let empty = Source { input: Input::File(f), linked: false };
        for s in [vec![empty.clone()], vec![values(&["a"]), empty.clone()]] {
            let e = Jobs::open(&s, false, &Reading::default(), false).err().unwrap().to_string();
            assert!(e.contains("is empty"), "{e}");
        }
        assert!(
            Jobs::open(&[empty], false, &Reading::default(), true).unwrap().next_job().unwrap().is_none()
        );
    }

    #[test]
    fn bad_values_name_the_source_and_value() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("v");
        std::fs::write(&f, b"ok\nbad\xff\n").unwrap();
        let mut jobs =
            Jobs::open(&[Source { input: Input::File(f), linked: false }], false, &Reading::default(), false)
                .unwrap();
        jobs.next_job().unwrap();
        let e = jobs.next_job().unwrap_err().to_string();
        assert!(e.contains("/v: value 2: not valid UTF-8 (byte 4"), "{e}");
    }
}
