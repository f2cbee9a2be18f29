//! GNU's `--remove-rec-sep` (`--rrs`): each block without its record separators, as GNU's
//! `remove_rec_sep` takes them out: every record end followed by a record start, then a
//! record start at the block's start and a record end at its end (Perl's `$`: also just
//! before a last newline). Pure.

use memchr::memmem;

use super::Records;

/// How the separators are found: the strings themselves, or `--regexp`'s patterns.
#[derive(Clone, Debug)]
pub enum Remover {
    Plain { recstart: Vec<u8>, recend: Vec<u8> },
    Regexp { between: regex::bytes::Regex, start: regex::bytes::Regex, end: regex::bytes::Regex },
}

impl Remover {
    pub fn new(records: &Records) -> Result<Remover, String> {
        if !records.regexp {
            return Ok(Remover::Plain { recstart: records.recstart.clone(), recend: records.recend.clone() });
        }
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        let (s, e) = (text(&records.recstart), text(&records.recend));
        let build = |p: String| {
            regex::bytes::RegexBuilder::new(&p).unicode(false).multi_line(false).build().map_err(|err| {
                format!("--remove-rec-sep with --regexp: {p:?} is not a pattern hrun can use: {err}")
            })
        };
        Ok(Remover::Regexp {
            between: build(format!("(?:{e})(?:{s})"))?,
            start: build(format!("\\A(?:{s})"))?,
            end: build(format!("(?:{e})(\n?)\\z"))?,
        })
    }

    /// `block` without its separators.
    pub fn remove(&self, block: &[u8]) -> Vec<u8> {
        match self {
            Remover::Plain { recstart, recend } => {
                let between = [recend.as_slice(), recstart].concat();
                let mut out = replace_all(block, &between);
                if !recstart.is_empty() && out.starts_with(recstart) {
                    out.drain(..recstart.len());
                }
                if !recend.is_empty() {
                    if out.ends_with(recend) {
                        out.truncate(out.len() - recend.len());
                    } else if out.ends_with(b"\n") && out[..out.len() - 1].ends_with(recend) {
                        let at = out.len() - 1 - recend.len();
                        out.drain(at..out.len() - 1);
                    }
                }
                out
            }
            Remover::Regexp { between, start, end } => {
                let out = between.replace_all(block, &b""[..]);
                let out = start.replace(&out, &b""[..]);
                end.replace(&out, &b"$1"[..]).into_owned()
            }
        }
    }
}

/// `text` with every (non-overlapping, leftmost) copy of `pattern` taken out.
fn replace_all(text: &[u8], pattern: &[u8]) -> Vec<u8> {
    if pattern.is_empty() {
        return text.to_vec();
    }
    let mut out = Vec::with_capacity(text.len());
    let mut from = 0;
    for at in memmem::find_iter(text, pattern) {
        if at < from {
            continue;
        }
        out.extend_from_slice(&text[from..at]);
        from = at + pattern.len();
    }
    out.extend_from_slice(&text[from..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(recstart: &str, recend: &str) -> Remover {
        let records = Records { recstart: recstart.into(), recend: recend.into(), ..Records::default() };
        Remover::new(&records).unwrap()
    }

    #[test]
    fn separators_go_as_gnu_takes_them_out() {
        assert_eq!(plain("", "\n").remove(b"a\nb\nc\n"), b"abc");
        // Perl's `$` also matches before a last newline.
        assert_eq!(plain("", "b").remove(b"a\nb\nc\n"), b"a\n\nc\n");
        assert_eq!(plain("", "c").remove(b"a\nb\nc\n"), b"a\nb\n\n");
        assert_eq!(plain(">", "\n").remove(b">r1\nx\n>r2\ny\n"), b"r1\nxr2\ny");
        assert_eq!(replace_all(b"aaaa", b"aa"), b"");
        assert_eq!(replace_all(b"aaa", b"aa"), b"a");
    }

    #[test]
    fn patterns_too() {
        let records = Records {
            recstart: b"[>@]".to_vec(),
            recend: b"\n".to_vec(),
            regexp: true,
            ..Records::default()
        };
        assert_eq!(Remover::new(&records).unwrap().remove(b">r1\nx\n@r2\ny\n"), b"r1\nxr2\ny");
    }
}
