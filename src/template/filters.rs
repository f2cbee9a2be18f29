//! Filters over a source's values: `-E EOF` (the source ends there), `-r` (blank values
//! skipped) and `-l`/`-L`'s continued lines, each as GNU parallel's reader applies it.

use std::os::fd::RawFd;

use super::sources::{SourceError, Values, is_perl_space};

/// `-E EOF`: a source that ends at its first value equal to EOF (GNU parallel, as xargs).
pub(super) struct UntilEof {
    values: Box<dyn Values>,
    eof: String,
    ended: bool,
}

impl UntilEof {
    pub(super) fn new(values: Box<dyn Values>, eof: String) -> UntilEof {
        UntilEof { values, eof, ended: false }
    }
}

impl Values for UntilEof {
    fn next(&mut self) -> Result<Option<String>, SourceError> {
        if self.ended {
            return Ok(None);
        }
        match self.values.next()? {
            Some(v) if v == self.eof => {
                self.ended = true;
                Ok(None)
            }
            other => Ok(other),
        }
    }
    fn ready(&self) -> bool {
        self.ended || self.values.ready()
    }
    fn watch_fd(&self) -> Option<RawFd> {
        if self.ended { None } else { self.values.watch_fd() }
    }
}

/// `-r`: a source without its values that are empty or all blanks (GNU: `/^\s*$/`).
pub(super) struct NonBlank(pub(super) Box<dyn Values>);

impl Values for NonBlank {
    fn next(&mut self) -> Result<Option<String>, SourceError> {
        loop {
            match self.0.next()? {
                Some(v) if v.chars().all(is_perl_space) => continue,
                other => return Ok(other),
            }
        }
    }
    fn ready(&self) -> bool {
        self.0.ready()
    }
    fn watch_fd(&self) -> Option<RawFd> {
        self.0.watch_fd()
    }
}

/// `-l`/`-L` (GNU, as xargs): a value ending in a blank is joined with the next (no separator
/// added); `-r` skips a blank value before it could continue, as GNU's reader does.
pub(super) struct Continued {
    values: Box<dyn Values>,
    skip_empty: bool,
}

impl Continued {
    pub(super) fn new(values: Box<dyn Values>, skip_empty: bool) -> Continued {
        Continued { values, skip_empty }
    }
}

impl Values for Continued {
    fn next(&mut self) -> Result<Option<String>, SourceError> {
        let mut prepend: Option<String> = None;
        loop {
            let Some(v) = self.values.next()? else { return Ok(prepend) };
            let v = match prepend.take() {
                Some(mut p) => {
                    p.push_str(&v);
                    p
                }
                None => v,
            };
            if self.skip_empty && v.chars().all(is_perl_space) {
                continue;
            }
            if v.ends_with(is_perl_space) {
                prepend = Some(v);
                continue;
            }
            return Ok(Some(v));
        }
    }
    fn ready(&self) -> bool {
        self.values.ready()
    }
    fn watch_fd(&self) -> Option<RawFd> {
        self.values.watch_fd()
    }
}
