//! What GNU parallel 20221122's `--plus` replacement strings do to a value: `{+/}` `{+.}`
//! `{+..}` `{+...}` `{..}` `{...}` `{/..}` `{/...}`, and the bash-like edits `{:-X}` `{:N}`
//! `{:N:M}` `{#X}` `{##X}` `{%X}` `{%%X}` `{/X/Y}` `{/#X/Y}` `{/%X/Y}` `{//X/Y}` `{^X}` `{^^X}`
//! `{,X}` `{,,X}`.
//!
//! GNU writes each as a Perl substitution on the value, the user's X as a Perl regular
//! expression pasted into it; hrun runs the same substitution with the `regex` crate, X pasted in
//! the same way (so `{%a|b}` is `s/(.*)a|b$/$1/`, as in GNU). Where the two differ: hrun counts
//! characters where GNU counts bytes (`.`, `{:N}` on non-ASCII values), `$` matches only at the
//! very end (Perl: also before a final newline), and Perl-only syntax (look-around,
//! back-references) is refused when the template is read.

use std::sync::{Arc, LazyLock};

use regex::{Captures, Regex};

/// One `--plus` edit of a value, as written (`{%.gz}`'s body `%.gz`) and as it runs.
#[derive(Clone, Debug)]
pub struct Edit {
    written: Arc<str>,
    op: Arc<Op>,
}

impl PartialEq for Edit {
    fn eq(&self, other: &Self) -> bool {
        self.written == other.written
    }
}
impl Eq for Edit {}

#[derive(Debug)]
enum Op {
    Fixed(Fixed),
    /// `{:-X}`: `$_ ||= X` (an empty value, or `0`, becomes X).
    Default(String),
    /// `{:N}`: the value without its first N characters.
    Cut(usize),
    /// `{:N:M}`: M characters from the Nth (0-based).
    Substr(usize, usize),
    /// `s/RE/WITH/`, or `s/RE/WITH/g` when `all`.
    Subst {
        re: Regex,
        with: With,
        all: bool,
    },
    /// `s/RE/uc($1)/e` (`lc` when not `upper`), `g` when `all`.
    Case {
        re: Regex,
        upper: bool,
        all: bool,
    },
}

#[derive(Debug)]
enum With {
    /// The text as given (Perl interpolates the variable once: no `$1`, no `\1`).
    Text(String),
    /// `$1`: the first group.
    Group1,
}

/// The edits with no argument of their own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fixed {
    /// `{+/}`: `s:/[^/]*$:: || s:.*$::`
    DirPart,
    /// `{+.}`: `s:.*\.:: || s:.*$::`
    Ext,
    /// `{+..}`: `s:.*\.([^/.]*\.[^/.]*)$:$1: || s:.*$::`
    Ext2,
    /// `{+...}`
    Ext3,
    /// `{..}`: `s:\.[^/.]*\.[^/.]*$::`
    NoExt2,
    /// `{...}`
    NoExt3,
    /// `{/..}`: `s:.*/::; s:\.[^/.]*\.[^/.]*$::`
    BaseNoExt2,
    /// `{/...}`
    BaseNoExt3,
}

fn re(s: &str) -> Regex {
    Regex::new(s).expect("a fixed pattern")
}

static LAST_SLASH: LazyLock<Regex> = LazyLock::new(|| re(r"/[^/]*$"));
static LAST_LINE: LazyLock<Regex> = LazyLock::new(|| re(r".*$"));
static TO_DOT: LazyLock<Regex> = LazyLock::new(|| re(r".*\."));
static EXT2: LazyLock<Regex> = LazyLock::new(|| re(r".*\.([^/.]*\.[^/.]*)$"));
static EXT3: LazyLock<Regex> = LazyLock::new(|| re(r".*\.([^/.]*\.[^/.]*\.[^/.]*)$"));
static NOEXT2: LazyLock<Regex> = LazyLock::new(|| re(r"\.[^/.]*\.[^/.]*$"));
static NOEXT3: LazyLock<Regex> = LazyLock::new(|| re(r"\.[^/.]*\.[^/.]*\.[^/.]*$"));
static TO_SLASH: LazyLock<Regex> = LazyLock::new(|| re(r".*/"));

impl Edit {
    /// A fixed edit (`{+/}`, `{..}`, ...); `written` is its string as the template has it.
    pub fn fixed(written: &str, f: Fixed) -> Edit {
        Edit { written: written.into(), op: Arc::new(Op::Fixed(f)) }
    }

    /// The edit of a bash-like replacement string: `kind` is the part before the user's
    /// text (`:-`, `:`, `#`, `##`, `%`, `%%`, `/`, `/#`, `/%`, `//`, `^`, `^^`, `,`, `,,`), `args`
    /// the user's text (a regular expression, then for `/` forms the replacement; two numbers
    /// for `:N:M`). Err: a regular expression hrun cannot read, a number too large.
    pub fn bash(kind: &str, args: &[&str]) -> Result<Edit, String> {
        let written = match (kind, args) {
            (":", [n, m]) => format!(":{n}:{m}"),
            ("/" | "/#" | "/%" | "//", [x, y]) => format!("{kind}{x}/{y}"),
            (_, [x]) => format!("{kind}{x}"),
            _ => return Err(format!("{kind}: not a --plus replacement string")),
        };
        let number = |s: &str| {
            s.parse::<usize>().map_err(|_| format!("{{{written}}}: {s} is not a number hrun can count to"))
        };
        let regex = |s: String| {
            Regex::new(&s).map_err(|e| {
                format!(
                    "{{{written}}}: hrun cannot read this regular expression ({}); GNU parallel would \
                     give it to Perl: write it in the syntax both read",
                    e.to_string().lines().last().unwrap_or("").trim().trim_start_matches("error: ")
                )
            })
        };
        let subst =
            |re: String, with: With, all: bool| Ok::<_, String>(Op::Subst { re: regex(re)?, with, all });
        let case =
            |re: String, upper: bool, all: bool| Ok::<_, String>(Op::Case { re: regex(re)?, upper, all });
        let text = |y: &str| With::Text(y.to_string());
        let op = match (kind, args) {
            (":-", [x]) => Op::Default(x.to_string()),
            (":", [n]) => Op::Cut(number(n)?),
            (":", [n, m]) => Op::Substr(number(n)?, number(m)?),
            ("#", [x]) => subst(format!("^{}(.*)", ungreedy(x)), With::Group1, false)?,
            ("##", [x]) => subst(format!("^{x}"), text(""), false)?,
            ("%", [x]) => subst(format!("(.*){}$", ungreedy(x)), With::Group1, false)?,
            ("%%", [x]) => subst(format!("{x}$"), text(""), false)?,
            ("/", [x, y]) => subst(x.to_string(), text(y), false)?,
            ("/#", [x, y]) => subst(format!("^{x}"), text(y), true)?,
            ("/%", [x, y]) => subst(format!("{x}$"), text(y), true)?,
            ("//", [x, y]) => subst(x.to_string(), text(y), true)?,
            ("^", [x]) => case(format!("^({x})"), true, false)?,
            ("^^", [x]) => case(format!("({x})"), true, true)?,
            (",", [x]) => case(format!("^({x})"), false, false)?,
            (",,", [x]) => case(format!("({x})"), false, true)?,
            _ => return Err(format!("{{{written}}}: not a --plus replacement string")),
        };
        Ok(Edit { written: written.into(), op: Arc::new(op) })
    }

    /// The edit on one value.
    pub fn apply(&self, v: &str) -> String {
        match &*self.op {
            Op::Fixed(f) => fixed(v, *f),
            Op::Default(x) => {
                if v.is_empty() || v == "0" {
                    x.clone()
                } else {
                    v.to_string()
                }
            }
            Op::Cut(n) => v.chars().skip(*n).collect(),
            Op::Substr(n, m) => v.chars().skip(*n).take(*m).collect(),
            Op::Subst { re, with, all } => {
                let limit = if *all { 0 } else { 1 };
                match with {
                    With::Text(t) => re.replacen(v, limit, regex::NoExpand(t)).into_owned(),
                    With::Group1 => re
                        .replacen(v, limit, |c: &Captures<'_>| {
                            c.get(1).map_or("", |m| m.as_str()).to_string()
                        })
                        .into_owned(),
                }
            }
            Op::Case { re, upper, all } => {
                let limit = if *all { 0 } else { 1 };
                re.replacen(v, limit, |c: &Captures<'_>| {
                    let m = c.get(1).map_or("", |m| m.as_str());
                    if *upper { m.to_ascii_uppercase() } else { m.to_ascii_lowercase() }
                })
                .into_owned()
            }
        }
    }
}

/// `s:RE::` (the first match removed, or `$1` put in its place when `group`); None when RE
/// does not match (Perl's `s///` returning 0, for `||`).
fn subst_once(v: &str, re: &Regex, group: bool) -> Option<String> {
    let c = re.captures(v)?;
    let m = c.get(0).expect("the whole match");
    let with = if group { c.get(1).map_or("", |g| g.as_str()) } else { "" };
    Some(format!("{}{with}{}", &v[..m.start()], &v[m.end()..]))
}

fn fixed(v: &str, f: Fixed) -> String {
    let or_last_line = |first: Option<String>| first.unwrap_or_else(|| LAST_LINE.replace(v, "").into_owned());
    let cut = |v: &str, re: &Regex| subst_once(v, re, false).unwrap_or_else(|| v.to_string());
    match f {
        Fixed::DirPart => or_last_line(subst_once(v, &LAST_SLASH, false)),
        Fixed::Ext => or_last_line(subst_once(v, &TO_DOT, false)),
        Fixed::Ext2 => or_last_line(subst_once(v, &EXT2, true)),
        Fixed::Ext3 => or_last_line(subst_once(v, &EXT3, true)),
        Fixed::NoExt2 => cut(v, &NOEXT2),
        Fixed::NoExt3 => cut(v, &NOEXT3),
        Fixed::BaseNoExt2 => cut(&cut(v, &TO_SLASH), &NOEXT2),
        Fixed::BaseNoExt3 => cut(&cut(v, &TO_SLASH), &NOEXT3),
    }
}

/// GNU's `make_regexp_ungreedy`: a `?` after each quantifier (`*`, `+`, `}`) outside
/// brackets and escapes that is not followed by one already.
pub fn ungreedy(re: &str) -> String {
    let (mut class, mut escape, mut found) = (false, false, false);
    let mut out = String::with_capacity(re.len() + 4);
    for c in re.chars() {
        if found {
            if c != '?' {
                out.push('?');
            }
            found = false;
        }
        out.push(c);
        if escape {
            escape = false;
        } else if c == '\\' {
            escape = true;
        } else if c == '[' {
            class = true;
        } else if class {
            class = c != ']';
        } else if matches!(c, '*' | '}' | '+') {
            found = true;
        }
    }
    if found {
        out.push('?');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bash(kind: &str, args: &[&str], v: &str) -> String {
        Edit::bash(kind, args).unwrap().apply(v)
    }

    /// `parallel --plus --dry-run echo {+/} {+.} {+..} {+...} {..} {...} {/..} {/...} ::: ...`,
    /// 20221122.
    #[test]
    fn fixed_edits_match_gnu_parallel() {
        use Fixed::*;
        let all = [DirPart, Ext, Ext2, Ext3, NoExt2, NoExt3, BaseNoExt2, BaseNoExt3];
        for (v, want) in [
            ("a/b.c.d.e", ["a", "e", "d.e", "c.d.e", "a/b.c", "a/b", "b.c", "b"]),
            ("x.y", ["", "y", "", "", "x.y", "x.y", "x.y", "x.y"]),
            ("noext", ["", "", "", "", "noext", "noext", "noext", "noext"]),
            ("/r/s.t", ["/r", "t", "", "", "/r/s.t", "/r/s.t", "s.t", "s.t"]),
        ] {
            let got: Vec<String> = all.iter().map(|f| fixed(v, *f)).collect();
            assert_eq!(got, want, "{v}");
        }
    }

    /// `parallel --plus --dry-run echo '{:-def} {:2} {:1:3} {#a} {##a*} {%.c} {%%.*} {/b/X}
    /// {/#a/Z} {/%c/Y} {//b/W}' ::: abcb.c.c 0 ''`, 20221122.
    #[test]
    fn bash_like_edits_match_gnu_parallel() {
        let edits: &[(&str, &[&str])] = &[
            (":-", &["def"]),
            (":", &["2"]),
            (":", &["1", "3"]),
            ("#", &["a"]),
            ("##", &["a*"]),
            ("%", &[".c"]),
            ("%%", &[".*"]),
            ("/", &["b", "X"]),
            ("/#", &["a", "Z"]),
            ("/%", &["c", "Y"]),
            ("//", &["b", "W"]),
        ];
        for (v, want) in [
            (
                "abcb.c.c",
                [
                    "abcb.c.c", "cb.c.c", "bcb", "bcb.c.c", "bcb.c.c", "abcb.c", "", "aXcb.c.c", "Zbcb.c.c",
                    "abcb.c.Y", "aWcW.c.c",
                ],
            ),
            ("0", ["def", "", "", "0", "0", "0", "", "0", "0", "0", "0"]),
            ("", ["def", "", "", "", "", "", "", "", "", "", ""]),
        ] {
            let got: Vec<String> = edits.iter().map(|(k, a)| bash(k, a, v)).collect();
            assert_eq!(got, want, "{v:?}");
        }
    }

    /// As GNU pastes X into its Perl: `{%a|b}` is `s/(.*)a|b$/$1/`; replacements are text.
    #[test]
    fn the_regex_is_pasted_in_as_gnu_pastes_it() {
        assert_eq!(bash("%", &["a|b"], "xaybz"), "xybz");
        assert_eq!(bash("#", &["a|b"], "xaybz"), "xayz");
        assert_eq!(bash("##", &["a|b"], "bxa"), "xa");
        assert_eq!(bash("%%", &["a|b"], "bxa"), "bx");
        assert_eq!(bash("/", &["a", "\\$1"], "cat"), "c\\$1t");
        assert_eq!(bash("/", &["(a)", "x\\1"], "cat"), "cx\\1t");
        assert_eq!(bash("/", &["a", "$1"], "cat"), "c$1t");
        // Shortest match for # and %, longest for ## and %%.
        assert_eq!(bash("#", &["z.*z."], "z.z.z.foo"), "z.foo");
        assert_eq!(bash("##", &["z.*z."], "z.z.z.foo"), "foo");
        assert_eq!(bash("%", &[".z.*z"], "foo.z.z.z"), "foo.z");
        assert_eq!(bash("%%", &[".z.*z"], "foo.z.z.z"), "foo");
    }

    /// `{^a} {^^b} {,A} {,,B}` on `abAB`: `AbAB aBAB abAB abAb` (ASCII only, as Perl's `uc`
    /// on bytes).
    #[test]
    fn case_edits() {
        assert_eq!(bash("^", &["a"], "abAB"), "AbAB");
        assert_eq!(bash("^^", &["b"], "abAB"), "aBAB");
        assert_eq!(bash(",", &["A"], "abAB"), "abAB");
        assert_eq!(bash(",,", &["B"], "abAB"), "abAb");
        assert_eq!(bash("^^", &["."], "é-a"), "é-A");
    }

    #[test]
    fn substrings_past_the_end_are_empty() {
        assert_eq!(bash(":", &["9"], "abc"), "");
        assert_eq!(bash(":", &["1", "9"], "abc"), "bc");
        assert_eq!(bash(":", &["9", "1"], "abc"), "");
    }

    #[test]
    fn ungreedy_is_gnus() {
        assert_eq!(ungreedy("a*b+c{2}d"), "a*?b+?c{2}?d");
        assert_eq!(ungreedy("a*?[*+]\\*x+"), "a*?[*+]\\*x+?");
    }

    #[test]
    fn unreadable_regexes_are_refused_with_the_string() {
        let why = Edit::bash("%", &["(?=x)"]).unwrap_err();
        assert!(why.starts_with("{%(?=x)}: hrun cannot read this regular expression"), "{why}");
        assert!(Edit::bash(":", &["99999999999999999999999"]).unwrap_err().contains("not a number"));
    }
}
