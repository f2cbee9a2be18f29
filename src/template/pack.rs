//! GNU parallel's `-m`, `-X`, `--xargs` and `-s`: as many values per job as fit in a command
//! line, measured exactly as GNU 20221122 measures it (`CommandLine::len`), so that jobs are cut
//! where GNU cuts them; and GNU's longest command line (`--max-line-length-allowed`).
//!
//! GNU does not render a line to measure it: it adds, per replacement string, the lengths of
//! the (quoted, transformed) values pushed so far, and the template's text around them: the
//! words holding a replacement string (context groups, repeated per value under `-X`) and the
//! rest. A job takes values while that length stays below the limit.

use super::replace::{Piece, Rep, Template, transform};

/// A template as GNU measures it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Measure {
    /// The text outside context groups, the spaces between words included.
    base: usize,
    /// The text of the context groups, without their replacement strings.
    context: usize,
    /// The number of context groups (words holding a replacement string).
    groups: usize,
    /// Each distinct replacement string and how often it occurs.
    reps: Vec<(Rep, usize)>,
    /// Values are shell-quoted (not under `-q`, which instead triples the length).
    quoted: bool,
    /// `-X`/`-N`/`-L`: context groups repeat per value.
    context_replace: bool,
}

/// The values gathered for a job so far, as GNU counts them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filled {
    /// Per replacement string (in [`Measure`]'s order), the summed lengths of its values.
    sums: Vec<usize>,
    /// The number of values (all columns of all records).
    args: usize,
}

impl Measure {
    /// GNU's `replacement_counts_and_lengths` for `template`.
    pub fn of(template: &Template, context_replace: bool) -> Measure {
        let (pieces, append, commands) = template.layout();
        let mut reps: Vec<(Rep, usize)> = Vec::new();
        let mut count = |r: &Rep| match reps.iter_mut().find(|(x, _)| x == r) {
            Some((_, n)) => *n += 1,
            None => reps.push((r.clone(), 1)),
        };
        // The template with each replacement string as a NUL, as GNU marks them.
        let mut text = String::new();
        for p in pieces {
            match p {
                Piece::Text(t) => text.push_str(t),
                Piece::Rep(r) => {
                    count(r);
                    text.push('\0');
                }
            }
        }
        if append || commands {
            // GNU adds the word `{}` to a command without one (`{}` alone for no command).
            if append {
                text.push(' ');
            }
            text.push('\0');
            count(&Rep::All(super::replace::Transform::Whole));
        }
        let (mut context, mut groups) = (0, 0);
        for word in text.split(is_perl_space).filter(|w| w.contains('\0')) {
            context += word.len() - word.matches('\0').count();
            groups += 1;
        }
        let base = text.len() - text.matches('\0').count() - context;
        let quoted = !template.quotes_words();
        Measure { base, context, groups, reps, quoted, context_replace }
    }

    /// `filled` with one more record (a job's values from each source), job number `seq`.
    pub fn grow(&self, filled: &Filled, record: &[String], seq: u64) -> Filled {
        let mut sums = if filled.sums.is_empty() { vec![0; self.reps.len()] } else { filled.sums.clone() };
        for ((rep, _), sum) in self.reps.iter().zip(sums.iter_mut()) {
            *sum += self.rep_len(rep, record, seq);
        }
        Filled { sums, args: filled.args + record.len() }
    }

    fn value_len(&self, v: &str, t: &super::replace::Transform) -> usize {
        let v = transform(v, t);
        if self.quoted { self.quoting_len(&v) } else { v.len() }
    }

    fn quoting_len(&self, v: &str) -> usize {
        super::replace::Quoting::Posix.apply(v).len()
    }

    /// What one record adds to a replacement string's length (GNU's `CommandLine::push`: a
    /// positional string, `{#}` and `{%}` among them, counts its column only).
    fn rep_len(&self, rep: &Rep, record: &[String], seq: u64) -> usize {
        let column = |n: i64| {
            if n > 0 {
                record.get(n as usize - 1)
            } else {
                record.len().checked_sub(n.unsigned_abs() as usize).and_then(|i| record.get(i))
            }
        };
        match rep {
            Rep::All(t) => record.iter().map(|v| self.value_len(v, t)).sum(),
            Rep::Pos(n, t) => column(*n).map_or(0, |v| self.value_len(v, t)),
            Rep::Seq | Rep::Total | Rep::SeqPadded => seq.to_string().len(),
            Rep::Slot | Rep::SlotPadded => 1,
            Rep::Var(v) => v.len() + 3,
        }
    }

    /// GNU's `CommandLine::len`: the length it reckons the job's command line has.
    pub fn len(&self, filled: &Filled) -> usize {
        let args = filled.args;
        let sums = || self.reps.iter().zip(filled.sums.iter().chain(std::iter::repeat(&0)));
        let mut len = self.base;
        if self.context_replace {
            len += args * self.context;
            len += sums().map(|((_, count), sum)| sum * count).sum::<usize>();
            len += args.saturating_sub(1) * self.groups;
        } else {
            len += self.context;
            len += sums().map(|((_, count), sum)| (args.saturating_sub(1) + sum) * count).sum::<usize>();
        }
        if self.quoted { len } else { len * 3 }
    }
}

/// Perl's `\s`.
fn is_perl_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\x0b' | '\x0c' | '\r')
}

/// GNU's longest command line (`Limits::Command::real_max_length`): its search for the longest
/// `echo cc...c` that runs, made here against `fits` (true when a line that long can run)
/// rather than by running it: a search by 16-fold steps from 324, then halving to within 1%.
pub fn gnu_find_max(fits: impl Fn(u64) -> bool) -> u64 {
    let upper = 100_000_000;
    let mut len: u64 = 324;
    loop {
        if len > upper {
            return len;
        }
        len *= 16;
        if !fits(len) {
            break;
        }
    }
    let (mut lower, mut upper) = (len / 16, len);
    loop {
        if lower == upper || lower + 1 == upper || lower as f64 / upper as f64 > 0.99 {
            return lower;
        }
        let middle = (upper - lower) / 2 + lower;
        if fits(middle) { lower = middle } else { upper = middle }
    }
}

/// The longest command line on this system as GNU finds it: one argument may hold at most
/// `MAX_ARG_STRLEN` (32 pages) bytes, all of them with the environment at most `ARG_MAX`.
pub fn max_line_length() -> u64 {
    let page = crate::sys::page_size() as u64;
    let arg_max = crate::sys::arg_max().unwrap_or(2 * 1024 * 1024) as u64;
    let env: u64 = std::env::vars_os().map(|(k, v)| (k.len() + v.len() + 2 + 8) as u64).sum();
    let longest_arg = 32 * page - 1;
    let total = arg_max.saturating_sub(env);
    gnu_find_max(|len| len <= longest_arg && len < total)
}

/// GNU's usable length (`--show-limits`' second number): room for its wrapping, halved for
/// hex-quoting; `-s N` lowers it (a larger N is warned about and not used).
pub fn usable_length(max: u64) -> u64 {
    max.saturating_sub(3000) / 2
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::Syntax;

    fn measure(words: &[&str], context: bool) -> Measure {
        let words: Vec<String> = words.iter().map(|s| s.to_string()).collect();
        let t = Template::parse_in(&words, &Syntax { context, ..Syntax::default() }).unwrap();
        Measure::of(&t, context)
    }

    fn len_with(m: &Measure, values: &[&str]) -> usize {
        let mut f = Filled::default();
        for v in values {
            f = m.grow(&f, &[v.to_string()], 1);
        }
        m.len(&f)
    }

    #[test]
    fn gnu_finds_the_same_longest_line_for_any_limit_near_the_real_one() {
        // GNU 20221122 on Linux with 4 KiB pages prints 130329: the search stops within 1%.
        for limit in [130_329, 131_071, 131_085] {
            assert_eq!(gnu_find_max(|l| l <= limit), 130_329);
        }
        assert_eq!(usable_length(130_329), 63_664);
    }

    #[test]
    fn lengths_are_gnus() {
        // `echo` gets `{}` appended: "echo 1 2 ... 34" is 97 long, so 35 makes 100 (>= -s 100).
        let m = measure(&["echo"], false);
        let values: Vec<String> = (1..=34).map(|i| i.to_string()).collect();
        let refs: Vec<&str> = values.iter().map(String::as_str).collect();
        assert_eq!(len_with(&m, &refs), 97);
        // -X repeats the context per value: "echo a1b a2b" is 12 long.
        assert_eq!(len_with(&measure(&["echo", "a{}b"], true), &["1", "2"]), 12);
        // -m: "echo a1 2b" is 10.
        assert_eq!(len_with(&measure(&["echo", "a{}b"], false), &["1", "2"]), 10);
        // Quoted values count quoted.
        assert_eq!(len_with(&measure(&["echo"], false), &["a b"]), "echo 'a b'".len());
    }
}
