//! The jobs of a template as tasks: values gathered per job (`-N`/`-n`/`-L`/`-l`: a number of
//! them; `-m`/`-X`/`--xargs`: as many as GNU fits in a command line, spread over the slots at
//! the end of the input), read one ahead.

use std::collections::VecDeque;
use std::os::fd::RawFd;
use std::sync::Arc;

use super::pack::{Filled, Measure};
use super::{Counts, Fill, JobArgs, SourceError, Template, sources};

/// The jobs of a template, as tasks, read one ahead.
pub struct JobStream {
    pub(super) template: Arc<Template>,
    pub(super) counts: Arc<Counts>,
    pub(super) tag: Option<Arc<Template>>,
    pub(super) jobs: sources::Jobs,
    pub(super) seq: u64,
    /// Records (a value of each source) per job at most.
    pub(super) per_job: usize,
    /// `-N0`: a job's value is read, not inserted.
    pub(super) insert_none: bool,
    /// The next job's records gathered so far.
    pub(super) partial: Partial,
    /// `-m`/`-X`/`--xargs`/`-s`: the limit, and the template as GNU measures it.
    pub(super) fill: Option<(Fill, Measure)>,
    /// Records read and given back (one past a full line; a spread job's rest), read first.
    pub(super) held: VecDeque<Vec<String>>,
    /// The values were spread over the slots already (GNU does it once).
    pub(super) spread: bool,
}

/// A job being gathered from a source that streams.
#[derive(Default)]
pub(super) struct Partial {
    records: Vec<Vec<String>>,
    filled: Filled,
    /// The line is full: no more records for this job.
    full: bool,
    /// The sources are read to their end (records may still be held).
    ended: bool,
    error: Option<SourceError>,
}

impl JobStream {
    /// The next job: its number, its command (the template with its values), and its values.
    pub fn next_job(&mut self) -> Result<Option<(u64, String, JobArgs)>, SourceError> {
        if let Some(e) = self.partial.error.take() {
            return Err(e);
        }
        self.gather(true)?;
        if self.partial.records.is_empty() {
            return Ok(None);
        }
        let ended = self.partial.ended;
        let partial = std::mem::replace(&mut self.partial, Partial { ended, ..Partial::default() });
        let mut args: Vec<String> = partial.records.into_iter().flatten().collect();
        if self.insert_none {
            args.clear();
        }
        self.seq += 1;
        let cmd = self.template.render(&args, None, None);
        let job = JobArgs {
            template: self.template.clone(),
            args,
            tag: self.tag.clone(),
            counts: self.counts.clone(),
        };
        Ok(Some((self.seq, cmd, job)))
    }

    /// True when the next job can be had without waiting for a slow producer: the records
    /// that can be read without waiting are gathered here.
    pub fn ready(&mut self) -> bool {
        match self.gather(false) {
            Ok(done) => done,
            Err(e) => {
                self.partial.error = Some(e);
                true
            }
        }
    }

    /// The next record: a held one, else the sources'; `Ok(None)` when it would wait
    /// (`wait` false), `Ok(Some(None))` at the end.
    fn pull(&mut self, wait: bool) -> Result<Option<Option<Vec<String>>>, SourceError> {
        if let Some(r) = self.held.pop_front() {
            return Ok(Some(Some(r)));
        }
        if self.partial.ended {
            return Ok(Some(None));
        }
        if !wait && !self.jobs.ready() {
            return Ok(None);
        }
        let next = self.jobs.next_job()?;
        self.partial.ended |= next.is_none();
        Ok(Some(next))
    }

    /// Gathers the next job's records; false when that would wait (`wait` false).
    fn gather(&mut self, wait: bool) -> Result<bool, SourceError> {
        while !self.partial.full && self.partial.records.len() < self.per_job {
            match self.pull(wait)? {
                None => return Ok(false),
                Some(None) => break,
                Some(Some(record)) => self.add(record)?,
            }
        }
        let Some((fill, _)) = self.fill else { return Ok(true) };
        if !fill.spread || self.spread {
            return Ok(true);
        }
        // GNU spreads the values of the job that empties the input over the slots.
        if self.held.is_empty() && !self.partial.ended {
            match self.pull(wait)? {
                None => return Ok(false),
                Some(None) => {}
                Some(Some(record)) => self.held.push_back(record),
            }
        }
        if self.held.is_empty() && self.partial.ended {
            self.spread = true;
            let n = self.partial.records.len();
            let slots = self.counts.slots.get().copied().unwrap_or(1).max(1);
            if n > 1 {
                self.per_job = n.div_ceil(slots);
                let records = std::mem::take(&mut self.partial.records);
                self.partial.filled = Filled::default();
                let mut records = records.into_iter();
                for r in records.by_ref().take(self.per_job) {
                    self.add(r)?;
                }
                self.held.extend(records);
            }
        }
        Ok(true)
    }

    /// Adds a record to the job, unless its line would then be too long: then the record is
    /// held for the next job, or, alone, too long for any (GNU's error).
    fn add(&mut self, record: Vec<String>) -> Result<(), SourceError> {
        if let Some((fill, measure)) = &self.fill {
            let grown = measure.grow(&self.partial.filled, &record, self.seq + 1);
            let len = measure.len(&grown);
            if len >= fill.max_len {
                if self.partial.records.is_empty() {
                    let all = record.join(" ");
                    let shown = match all.char_indices().nth(50) {
                        Some((i, _)) => format!("{}...", &all[..i]),
                        None => all,
                    };
                    return Err(SourceError::TooLong { len, max: fill.max_len, shown });
                }
                self.held.push_front(record);
                self.partial.full = true;
                return Ok(());
            }
            self.partial.filled = grown;
        }
        self.partial.records.push(record);
        Ok(())
    }

    /// The descriptor to poll before reading on, when not ready.
    pub fn watch_fd(&self) -> Option<RawFd> {
        self.jobs.watch_fd()
    }

    /// `--header :`'s column names (empty without it).
    pub fn names(&self) -> &[String] {
        &self.jobs.names
    }

    /// True when a source streams from standard input or a pipe (read once only).
    pub fn streams(&self) -> bool {
        self.jobs.streams()
    }
}

#[cfg(test)]
mod tests {
    use crate::input::{TaskSpec, TemplateOptions, classify};
    use crate::template::{Fill, MaxArgs};

    /// The commands of `words` with values packed as `fill` says, over `slots` slots.
    fn commands(words: &str, fill: Fill, max_args: Option<MaxArgs>, slots: usize) -> Vec<String> {
        let words: Vec<std::ffi::OsString> = words.split(' ').map(Into::into).collect();
        let opts = TemplateOptions { fill: Some(fill), max_args, ..TemplateOptions::default() };
        let TaskSpec::Template(spec) = classify(&words, opts).unwrap() else { panic!("a template") };
        spec.counts.set_slots(slots);
        let mut jobs = spec.open().unwrap();
        std::iter::from_fn(|| jobs.next_job().unwrap().map(|(_, cmd, _)| cmd)).collect()
    }

    const M: Fill = Fill { max_len: 100, many: true, spread: true, context: false };

    #[test]
    fn lines_fill_then_the_last_values_spread_over_the_slots() {
        let values: Vec<String> = (1..=92).map(|i| i.to_string()).collect();
        let words = format!("echo ::: {}", values.join(" "));
        // GNU: 1..34, 35..65, then the 27 left over 5 slots: 6 6 6 6 3.
        let got = commands(&words, M, None, 5);
        let sizes: Vec<usize> = got.iter().map(|c| c.split(' ').count() - 1).collect();
        assert_eq!(sizes, [34, 31, 6, 6, 6, 6, 3]);
        assert_eq!(got[0], format!("echo {}", values[..34].join(" ")));
        // Without spreading (--xargs) the last line is full as far as it goes.
        let sizes: Vec<usize> = commands(&words, Fill { spread: false, ..M }, None, 5)
            .iter()
            .map(|c| c.split(' ').count() - 1)
            .collect();
        assert_eq!(sizes, [34, 31, 27]);
    }

    #[test]
    fn few_values_spread_and_max_args_still_counts() {
        assert_eq!(
            commands("echo ::: 1 2 3 4 5 6 7 8", M, None, 4),
            ["echo 1 2", "echo 3 4", "echo 5 6", "echo 7 8"]
        );
        let n3 = Some(MaxArgs { n: 3, context: false });
        assert_eq!(
            commands("echo ::: 1 2 3 4 5 6 7", Fill { spread: false, ..M }, n3, 4),
            ["echo 1 2 3", "echo 4 5 6", "echo 7"]
        );
        // Context replace repeats the word per value.
        let x = Fill { context: true, ..M };
        assert_eq!(commands("echo a{}b ::: 1 2 3", x, None, 2), ["echo a1b a2b", "echo a3b"]);
    }

    #[test]
    fn a_value_longer_than_the_line_is_an_error() {
        let words: Vec<std::ffi::OsString> = "echo ::: 1 12345678901".split(' ').map(Into::into).collect();
        let fill = Fill { max_len: 10, ..M };
        let opts = TemplateOptions { fill: Some(fill), ..TemplateOptions::default() };
        let TaskSpec::Template(spec) = classify(&words, opts).unwrap() else { panic!("a template") };
        let mut jobs = spec.open().unwrap();
        assert_eq!(jobs.next_job().unwrap().unwrap().1, "echo 1");
        let e = jobs.next_job().unwrap_err().to_string();
        assert_eq!(e, "Command line too long (16 >= 10) at input 0: 12345678901");
    }
}
