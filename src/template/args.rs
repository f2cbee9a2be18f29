//! The words after `hrun exec`'s options, split as GNU parallel splits its command line:
//! `COMMAND [WORD...]` up to the first source marker, then sources: `::: VALUE...`,
//! `:::+ VALUE...` (linked to the source before), `:::: FILE...` and `::::+ FILE...` (each
//! file a source of its own; `-` is standard input).

use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::Arc;

use super::sources::{Input, Source};

/// The positional words, split.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Words {
    pub command: Vec<String>,
    pub sources: Vec<Source>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Marker {
    Values { linked: bool },
    Files { linked: bool },
}

/// The words that start sources: `:::` and `::::` (GNU's `--arg-sep`, `--arg-file-sep`
/// change them), each with `+` for a linked source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Markers {
    pub values: String,
    pub files: String,
}

impl Default for Markers {
    fn default() -> Self {
        Markers { values: ":::".into(), files: "::::".into() }
    }
}

impl Markers {
    fn of(&self, word: &str) -> Option<Marker> {
        let (base, linked) = match word.strip_suffix('+') {
            Some(b) if b == self.values || b == self.files => (b, true),
            _ => (word, false),
        };
        if base == self.files {
            Some(Marker::Files { linked })
        } else if base == self.values {
            Some(Marker::Values { linked })
        } else {
            None
        }
    }

    /// True for a word that starts a source.
    pub fn is_marker(&self, word: &std::ffi::OsStr) -> bool {
        word.to_str().is_some_and(|w| self.of(w).is_some())
    }
}

/// Splits the words; refuses (with a one-line reason) what GNU parallel would silently
/// misread: a source with no values, a value with a newline (GNU splits it into several
/// jobs), a word that is not UTF-8. `delimiter`: values end with it (`-d`, `-0`); GNU splits
/// `:::` values at it too, and so does hrun (a newline then is part of a value). With the
/// default newline, a `:::` value holding one is refused instead.
pub fn split(words: &[OsString], delimiter: &[u8], markers: &Markers) -> Result<Words, String> {
    let marker = |w: &str| markers.of(w);
    let words: Vec<String> = words
        .iter()
        .map(|w| {
            w.to_str().map(str::to_string).ok_or_else(|| {
                format!("argument {:?} is not valid UTF-8; hrun's commands and values are text", w)
            })
        })
        .collect::<Result<_, _>>()?;
    let first = words.iter().position(|w| marker(w).is_some()).unwrap_or(words.len());
    let command = words[..first].to_vec();
    let mut sources = Vec::new();
    let mut i = first;
    while i < words.len() {
        let m = marker(&words[i]).expect("i is at a marker");
        let end = words[i + 1..].iter().position(|w| marker(w).is_some()).map_or(words.len(), |k| i + 1 + k);
        let items = &words[i + 1..end];
        if items.is_empty() {
            return Err(format!(
                "{} with no values after it: an input source needs at least one value",
                words[i]
            ));
        }
        match m {
            Marker::Values { linked } if delimiter != b"\n" => {
                let values = items.iter().flat_map(|v| split_value(v, delimiter)).collect();
                sources.push(Source { input: Input::Values(Arc::new(values)), linked });
            }
            Marker::Values { linked } => {
                if let Some(v) = items.iter().find(|v| v.contains('\n')) {
                    return Err(format!(
                        "{} value {v:?} contains a newline (GNU parallel would split it into several \
                         jobs); give each value as its own word, or put the values in a file and use \
                         :::: FILE with -0 or -d",
                        words[i]
                    ));
                }
                sources.push(Source { input: Input::Values(Arc::new(items.to_vec())), linked });
            }
            Marker::Files { linked } => {
                for f in items {
                    sources.push(Source { input: Input::File(PathBuf::from(f)), linked });
                }
            }
        }
        i = end;
    }
    Ok(Words { command, sources })
}

/// A `:::` value split at `delimiter`, every piece kept (`a,b,` is `a`, `b` and an empty
/// value), as GNU parallel splits command-line values with `-d`.
fn split_value(value: &str, delimiter: &[u8]) -> Vec<String> {
    let Ok(d) = std::str::from_utf8(delimiter) else { return vec![value.to_string()] };
    if d.is_empty() {
        return vec![value.to_string()];
    }
    value.split(d).map(str::to_string).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(words: &[&str]) -> Vec<OsString> {
        words.iter().map(OsString::from).collect()
    }

    fn split_nl(words: &[OsString]) -> Result<Words, String> {
        split(words, b"\n", &Markers::default())
    }

    /// As GNU parallel 20221122: `parallel -d , echo ::: 'a,b,' 'c<newline>d' ,x` runs a, b,
    /// an empty value, c<newline>d, an empty value and x.
    #[test]
    fn a_delimiter_splits_values_too() {
        let w = split(&os(&["echo", ":::", "a,b,", "c\nd", ",x"]), b",", &Markers::default()).unwrap();
        let Input::Values(v) = &w.sources[0].input else { panic!() };
        assert_eq!(**v, ["a", "b", "", "c\nd", "", "x"]);
    }

    #[test]
    fn command_then_sources() {
        let w =
            split_nl(&os(&["./sim", "-n", "5", "{}", ":::", "a", "-b", ":::+", "1", "2", "::::+", "f", "-"]))
                .unwrap();
        assert_eq!(w.command, ["./sim", "-n", "5", "{}"]);
        let kinds: Vec<(String, bool)> = w.sources.iter().map(|s| (s.input.name(), s.linked)).collect();
        assert_eq!(
            kinds,
            [(":::".into(), false), (":::".into(), true), ("f".into(), true), ("<stdin>".into(), true)]
        );
        assert_eq!(w.sources[0].input, Input::Values(Arc::new(vec!["a".into(), "-b".into()])));
    }

    #[test]
    fn other_markers_with_arg_sep_and_arg_file_sep() {
        let m = Markers { values: ",,".into(), files: "@@".into() };
        let w = split(&os(&["echo", ":::", ",,", "a", ",,+", "b", "@@", "f"]), b"\n", &m).unwrap();
        assert_eq!(w.command, ["echo", ":::"]);
        let kinds: Vec<(String, bool)> = w.sources.iter().map(|s| (s.input.name(), s.linked)).collect();
        assert_eq!(kinds, [(":::".into(), false), (":::".into(), true), ("f".into(), false)]);
    }

    #[test]
    fn no_command_and_no_source() {
        let w = split_nl(&os(&[":::", "echo 1", "echo 2"])).unwrap();
        assert!(w.command.is_empty());
        assert_eq!(w.sources.len(), 1);
        let w = split_nl(&os(&["echo", "{}"])).unwrap();
        assert!(w.sources.is_empty());
    }

    #[test]
    fn refusals_name_the_problem() {
        assert!(split_nl(&os(&["echo", ":::"])).unwrap_err().contains("::: with no values"));
        assert!(split_nl(&os(&["echo", ":::", "a", "::::"])).unwrap_err().contains(":::: with no values"));
        assert!(split_nl(&os(&["echo", ":::", "a\nb"])).unwrap_err().contains("contains a newline"));
        use std::os::unix::ffi::OsStringExt;
        let bad = vec![OsString::from("echo"), OsString::from(":::"), OsString::from_vec(vec![0xff])];
        assert!(split_nl(&bad).unwrap_err().contains("not valid UTF-8"));
    }
}
