//! `--regexp`: `--recstart` and `--recend` as regular expressions, records cut where GNU
//! parallel 20221122 cuts them with its Perl regexps (`pass_regexp`, `pass_n_regexps`,
//! `find_split_positions`). GNU's patterns need nothing but a match of `recend` followed by
//! `recstart` at a position, and which length of `recend` it takes there; Rust's `regex`
//! prefers among alternatives as Perl does (leftmost-first), so the same cuts are found by
//! searching for `(recend)(recstart)` and reading where its first group ends. Lookaround and
//! backreferences (which `regex` lacks) are refused when the options are read.

use regex::bytes::{Regex, RegexBuilder};

/// A compiled `recend` + `recstart`: where records are separated.
#[derive(Clone, Debug)]
pub struct Separator {
    /// `(recend)(recstart)`.
    both: Regex,
    /// `\A(?:recstart)`: a record starts at the beginning of the text.
    start: Regex,
}

/// Where `--pipe` reads the patterns (GNU's `/m`: `^` and `$` at line ends, `.` not a
/// newline) or `--pipepart` (GNU's `/s`: `.` a newline too, `^` only at the start).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavour {
    Stream,
    Part,
}

impl Separator {
    /// GNU's `recstartrecend` with `--regexp`: `--recend ''` alone matches any byte.
    pub fn new(recstart: &[u8], recend: &[u8], flavour: Flavour) -> Result<Separator, String> {
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        let (start, mut end) = (text(recstart), text(recend));
        if recstart.is_empty() && end.is_empty() {
            end = "(?s:.)".into();
        }
        let build = |pattern: String, what: &str| {
            let mut b = RegexBuilder::new(&pattern);
            b.multi_line(flavour == Flavour::Stream).dot_matches_new_line(flavour == Flavour::Part);
            b.clone().unicode(false).build().or_else(|_| b.unicode(true).build()).map_err(|e| {
                let why = e.to_string();
                let why = why.lines().last().unwrap_or_default().trim().trim_start_matches("error: ");
                format!("--regexp: {what} is not a regular expression hrun can use: {why}")
            })
        };
        let shown = |s: &str, name: &str| format!("{name} {}", crate::text::printable(s));
        build(format!("(?:{end})"), &shown(&end, "--recend"))?;
        build(format!("(?:{start})"), &shown(&start, "--recstart"))?;
        Ok(Separator {
            both: build(format!("((?:{end}))(?:{start})"), "--recend/--recstart")?,
            start: build(format!(r"\A(?:{start})"), "--recstart")?,
        })
    }

    /// The cut of the separator match starting at or after `from` that starts first: just
    /// after its `recend`.
    fn first_from(&self, buf: &[u8], from: usize) -> Option<(usize, usize)> {
        let c = self.both.captures_at(buf, from)?;
        let whole = c.get(0)?;
        Some((whole.start(), c.get(1)?.end()))
    }

    /// GNU's `pass_regexp`: the cut after the `recend` of the last separator match (by its
    /// start), when that is not 0.
    pub fn last_cut(&self, buf: &[u8]) -> Option<usize> {
        // Matches are enumerated by start from a window at the end, widened until one is found.
        let mut window = 64 * 1024;
        let mut upto = buf.len() + 1;
        loop {
            let from = buf.len().saturating_sub(window);
            let mut at = from;
            let mut last = None;
            while at < upto {
                let Some((start, cut)) = self.first_from(buf, at) else { break };
                if start >= upto {
                    break;
                }
                last = Some(cut);
                at = start + 1;
            }
            if let Some(cut) = last {
                return (cut > 0).then_some(cut);
            }
            if from == 0 {
                return None;
            }
            upto = from;
            window *= 4;
        }
    }

    /// GNU's `pass_n_regexps` after the garbage: the lengths of the blocks of `n` records
    /// each at the front of `buf` (each record starts with `recstart` and ends at the first
    /// separator after it).
    pub fn n_records(&self, buf: &[u8], n: usize) -> Vec<usize> {
        let mut blocks = Vec::new();
        let mut at = 0;
        'blocks: while at < buf.len() {
            let rest = &buf[at..];
            let mut end = 0;
            for _ in 0..n.max(1) {
                let Some(m) = self.start.find(&rest[end..]) else { break 'blocks };
                let Some((_, cut)) = self.first_from(rest, end + m.end()) else { break 'blocks };
                end = cut;
            }
            // GNU's lookahead: a record start must follow the last record.
            if end == 0 || !self.start.is_match(&rest[end..]) {
                break;
            }
            blocks.push(end);
            at += end;
        }
        blocks
    }

    /// GNU's garbage record: when `buf` does not start with a record start, what comes before
    /// the first separator (its length; 0 when there is none or it is empty).
    pub fn garbage(&self, buf: &[u8]) -> usize {
        if self.start.is_match(buf) {
            return 0;
        }
        self.first_from(buf, 0).map_or(0, |(_, cut)| cut)
    }

    /// `--pipepart`'s boundary in `buf` (bytes read from a block's nominal end, 128 KiB at a
    /// time): GNU's `m:^(.*$recend)$recstart:os`, the cut after the last match.
    pub fn part_cut(&self, buf: &[u8]) -> Option<usize> {
        self.last_cut_any(buf)
    }

    /// As [`Self::last_cut`], a cut of 0 included.
    fn last_cut_any(&self, buf: &[u8]) -> Option<usize> {
        let mut at = 0;
        let mut last = None;
        while at <= buf.len() {
            let Some((start, cut)) = self.first_from(buf, at) else { break };
            last = Some(cut);
            at = start + 1;
        }
        last
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sep(start: &str, end: &str) -> Separator {
        Separator::new(start.as_bytes(), end.as_bytes(), Flavour::Stream).unwrap()
    }

    #[test]
    fn the_last_separator_is_where_the_block_is_cut() {
        let s = sep("", "\n");
        assert_eq!(s.last_cut(b"a\nb\nc"), Some(4));
        assert_eq!(s.last_cut(b"abc"), None);
        // Alternatives in recend are tried as Perl tries them: the first that lets recstart follow.
        let s = sep(">", "x|xy");
        assert_eq!(s.last_cut(b">1xy>2xy>3"), Some(8));
        assert_eq!(s.last_cut(b">1xy>2x>3"), Some(7));
        let s = sep("[AB]", "");
        assert_eq!(s.last_cut(b"A1B2A3"), Some(4));
        assert_eq!(s.last_cut(b"A1"), None);
    }

    #[test]
    fn the_last_separator_is_found_far_from_the_end() {
        let s = sep("", "\n");
        let mut buf = b"a\n".to_vec();
        buf.extend(std::iter::repeat_n(b'b', 300_000));
        assert_eq!(s.last_cut(&buf), Some(2));
    }

    #[test]
    fn n_records_start_with_recstart() {
        let s = sep(">", "\n");
        // Each block is followed by a record start; the last record needs its end.
        assert_eq!(s.n_records(b">a\n>b\n>c\n>d\n>e", 2), vec![6, 6]);
        assert_eq!(s.n_records(b">a\n>b\n>c\n>d", 2), vec![6]);
        assert_eq!(s.garbage(b"junk\n>a\n"), 5);
        assert_eq!(s.garbage(b">a\n>b"), 0);
    }

    #[test]
    fn bad_patterns_are_refused_with_a_reason() {
        let e = Separator::new(b"(?=x)", b"", Flavour::Stream).unwrap_err();
        assert!(e.contains("--recstart (?=x)") && e.contains("look-around"), "{e}");
    }
}
