//! Finding the replacement strings in a command word as GNU parallel 20221122 finds them: each
//! string it knows (`{}`, `{.}`... under the names `-I`, `--er`, `--bnr`, `--dnr`, `--bner`,
//! `--seqreplace` and `--slotreplace` give them, and with `--plus` its own) is a key; keys are
//! taken longest first, each over the text the longer ones left, and a key that starts with `{`
//! also matches with a position after the brace (`{2.}`, `{-1+/}`, `{2%.gz}`), blanks allowed
//! before the rest. `--header :` names come before all of them (`{name}` is its column).

use std::sync::LazyLock;

use regex::Regex;

use super::plus::{Edit, Fixed};
use super::replace::{Piece, Rep, Skip, Syntax, Transform};

/// The names `-I`, `--er`, `--bnr`, `--dnr`, `--bner`, `--seqreplace` and `--slotreplace`
/// give `{.}`, `{/}`, `{//}`, `{/.}`, `{#}` and `{%}` (`-I` is [`Syntax::replace`]); None: GNU's own.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Renames {
    pub ext: Option<String>,
    pub base: Option<String>,
    pub dir: Option<String>,
    pub base_ext: Option<String>,
    pub seq: Option<String>,
    pub slot: Option<String>,
}

impl Renames {
    /// Each rename given, as GNU's option and its value (for the log's name and messages).
    pub fn given(&self) -> Vec<(&'static str, &str)> {
        [
            ("--er", &self.ext),
            ("--bnr", &self.base),
            ("--dnr", &self.dir),
            ("--bner", &self.base_ext),
            ("--seqreplace", &self.seq),
            ("--slotreplace", &self.slot),
        ]
        .into_iter()
        .filter_map(|(o, v)| Some((o, v.as_deref()?)))
        .collect()
    }
}

/// What a key stands for.
#[derive(Clone, Debug)]
enum Means {
    /// A value, transformed: `{}` for every value, `{2}` for one.
    Value(Transform),
    /// A number of the job (`{#}`, `{%}`, `{##}`, `{0#}`, `{0%}`): no position.
    Number(Rep),
    /// `{slot}`, `{host}`...: the variable, for the shell to expand.
    Var(&'static str),
    /// A bash-like `--plus` edit, its groups the user's text.
    Bash(&'static str),
}

#[derive(Clone, Debug)]
enum Find {
    /// The key's own text; with a position too when it starts with `{`.
    Text(String),
    /// A `--plus` pattern: without and with a position.
    Pattern(&'static Regex, &'static Regex),
}

#[derive(Clone, Debug)]
struct Key {
    /// GNU's length of the key (its text, or its pattern's), which orders the search.
    len: usize,
    find: Find,
    means: Means,
}

const BLANKS: [char; 6] = ['\t', '\n', '\x0b', '\x0c', '\r', ' '];

/// GNU's `--plus` patterns (its `%Global::plus` keys) and the edit each makes.
const PATTERNS: &[(&str, &str)] = &[
    (r"{:-([^}]+?)}", ":-"),
    (r"{:(\d+?)}", ":"),
    (r"{:(\d+?):(\d+?)}", ":"),
    (r"{#([^#}][^}]*?)}", "#"),
    (r"{##([^#}][^}]*?)}", "##"),
    (r"{%([^}]+?)}", "%"),
    (r"{%%([^}]+?)}", "%%"),
    (r"{/([^#%}/]+?)/([^}]*?)}", "/"),
    (r"{/#([^}]+?)/([^}]*?)}", "/#"),
    (r"{/%([^}]+?)/([^}]*?)}", "/%"),
    (r"{//([^}]+?)/([^}]*?)}", "//"),
    (r"{^([^}]+?)}", "^"),
    (r"{^^([^}]+?)}", "^^"),
    (r"{,([^}]+?)}", ","),
    (r"{,,([^}]+?)}", ",,"),
];

/// Each pattern as GNU searches for it (`\Q$prefix\E $group \Q$postfix\E`), and with a position.
static COMPILED: LazyLock<Vec<(usize, Regex, Regex, &'static str)>> = LazyLock::new(|| {
    PATTERNS
        .iter()
        .map(|(key, kind)| {
            let open = key.find('(').expect("a group");
            let close = key.rfind(')').expect("a group");
            let (prefix, group, postfix) = (&key[..open], &key[open..=close], &key[close + 1..]);
            // Perl's `\d` on GNU's bytes is ASCII.
            let group = group.replace(r"\d", "[0-9]");
            let tail = format!("{group}{}", regex::escape(postfix));
            let plain = Regex::new(&format!("{}{tail}", regex::escape(prefix))).expect("GNU's pattern");
            let at = format!(r"\{{(-?[0-9]+)[\t\n\x0b\x0c\r ]*{}{tail}", regex::escape(&prefix[1..]));
            (key.len(), plain, Regex::new(&at).expect("GNU's pattern"), *kind)
        })
        .collect()
});

/// The keys for `syntax`, longest first (ties in a fixed order; GNU's hash order varies).
fn keys(syntax: &Syntax) -> Vec<Key> {
    let r = &syntax.renames;
    let name = |given: &Option<String>, gnu: &str| given.clone().unwrap_or_else(|| gnu.to_string());
    let text = |s: String, means: Means| Key { len: s.len(), find: Find::Text(s), means };
    let mut keys = vec![
        text(name(&syntax.replace.clone().filter(|r| !r.is_empty()), "{}"), Means::Value(Transform::Whole)),
        text(name(&r.seq, "{#}"), Means::Number(Rep::Seq)),
        text(name(&r.slot, "{%}"), Means::Number(Rep::Slot)),
        text(name(&r.base, "{/}"), Means::Value(Transform::Base)),
        text(name(&r.dir, "{//}"), Means::Value(Transform::Dir)),
        text(name(&r.base_ext, "{/.}"), Means::Value(Transform::BaseNoExt)),
        text(name(&r.ext, "{.}"), Means::Value(Transform::NoExt)),
    ];
    if syntax.plus {
        let fixed = |s: &str, f: Fixed| text(s.into(), Means::Value(Transform::Plus(Edit::fixed(s, f))));
        keys.extend([
            fixed("{+/}", Fixed::DirPart),
            fixed("{+.}", Fixed::Ext),
            fixed("{+..}", Fixed::Ext2),
            fixed("{+...}", Fixed::Ext3),
            fixed("{..}", Fixed::NoExt2),
            fixed("{...}", Fixed::NoExt3),
            fixed("{/..}", Fixed::BaseNoExt2),
            fixed("{/...}", Fixed::BaseNoExt3),
            text("{##}".into(), Means::Number(Rep::Total)),
            text("{0#}".into(), Means::Number(Rep::SeqPadded)),
            text("{0%}".into(), Means::Number(Rep::SlotPadded)),
            text("{slot}".into(), Means::Var("PARALLEL_JOBSLOT")),
            text("{host}".into(), Means::Var("PARALLEL_SSHHOST")),
            text("{sshlogin}".into(), Means::Var("PARALLEL_SSHLOGIN")),
            text("{hgrp}".into(), Means::Var("PARALLEL_HOSTGROUPS")),
            text("{agrp}".into(), Means::Var("PARALLEL_ARGHOSTGROUPS")),
            text("{choose_k}".into(), Means::Value(Transform::Skip(Skip::ChooseK))),
            text("{uniq}".into(), Means::Value(Transform::Skip(Skip::Uniq))),
        ]);
        keys.extend(COMPILED.iter().map(|(len, plain, at, kind)| Key {
            len: *len,
            find: Find::Pattern(plain, at),
            means: Means::Bash(kind),
        }));
    }
    keys.retain(|k| !matches!(&k.find, Find::Text(t) if t.is_empty()));
    keys.sort_by_key(|k| std::cmp::Reverse(k.len));
    keys
}

/// One match: where, the position written in it (if any), and the user's groups.
struct Found<'t> {
    start: usize,
    end: usize,
    position: Option<&'t str>,
    groups: Vec<&'t str>,
}

impl Key {
    fn find<'t>(&self, text: &'t str, positional: bool) -> Option<Found<'t>> {
        match (&self.find, positional) {
            (Find::Text(k), false) => text.find(k.as_str()).map(|i| Found {
                start: i,
                end: i + k.len(),
                position: None,
                groups: vec![],
            }),
            (Find::Text(k), true) => find_positional(text, k.strip_prefix('{')?),
            (Find::Pattern(re, _), false) => {
                let c = re.captures(text)?;
                let m = c.get(0).expect("the whole match");
                let groups = c.iter().skip(1).map(|g| g.map_or("", |g| g.as_str())).collect();
                Some(Found { start: m.start(), end: m.end(), position: None, groups })
            }
            (Find::Pattern(_, re), true) => {
                let c = re.captures(text)?;
                let m = c.get(0).expect("the whole match");
                let groups = c.iter().skip(2).map(|g| g.map_or("", |g| g.as_str())).collect();
                Some(Found { start: m.start(), end: m.end(), position: c.get(1).map(|p| p.as_str()), groups })
            }
        }
    }

    /// The replacement string a match stands for (`written`: its text, for messages).
    fn rep(&self, found: &Found<'_>, written: &str) -> Result<Rep, String> {
        let at = |t: Transform| match found.position {
            None => Ok(Rep::All(t)),
            Some(p) => position(p, written).map(|n| Rep::Pos(n, t)),
        };
        match &self.means {
            Means::Value(t) => at(t.clone()),
            Means::Bash(kind) => at(Transform::Plus(Edit::bash(kind, &found.groups)?)),
            _ if found.position.is_some() => Err(format!(
                "{written}: a position means nothing on this replacement string (GNU parallel reads \
                 the digits as part of another number); write it without one"
            )),
            Means::Number(r) => Ok(r.clone()),
            Means::Var(v) => Ok(Rep::Var(v)),
        }
    }
}

fn position(p: &str, written: &str) -> Result<i64, String> {
    match p.parse::<i64>() {
        Ok(n) if n != 0 => Ok(n),
        Ok(_) => Err(format!("{written}: argument positions start at 1")),
        Err(_) => Err(format!("{written}: no such argument position")),
    }
}

/// `\{(-?\d+)\s*REST`, leftmost: a key's text with a position after its brace.
fn find_positional<'t>(text: &'t str, rest: &str) -> Option<Found<'t>> {
    for (i, _) in text.match_indices('{') {
        let after = &text[i + 1..];
        let sign = usize::from(after.starts_with('-'));
        let digits = after[sign..].bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            continue;
        }
        let tail = after[sign + digits..].trim_start_matches(BLANKS);
        if tail.starts_with(rest) {
            let end = text.len() - tail.len() + rest.len();
            return Some(Found { start: i, end, position: Some(&after[..sign + digits]), groups: vec![] });
        }
    }
    None
}

/// `--header :`'s names: `{name}`, `{name.}`, `{name/}`, `{name//}` and `{name/.}` are
/// column `i + 1` (GNU rewrites them to `{i+1...}` before anything else).
fn column_keys(names: &[String]) -> Vec<(String, Rep)> {
    let suffixes = [
        ("", Transform::Whole),
        ("/", Transform::Base),
        ("//", Transform::Dir),
        (".", Transform::NoExt),
        ("/.", Transform::BaseNoExt),
    ];
    let mut keys = Vec::new();
    for (i, n) in names.iter().enumerate() {
        for (s, t) in &suffixes {
            keys.push((format!("{{{n}{s}}}"), Rep::Pos(i as i64 + 1, t.clone())));
        }
    }
    keys
}

/// Splits each text piece at the leftmost match `find` gives, over and over; `make` says what
/// a match stands for.
fn split_all<'k>(
    pieces: Vec<Piece>,
    find: impl Fn(&str) -> Option<(usize, usize, Result<Rep, String>)> + 'k,
) -> Result<Vec<Piece>, String> {
    let mut out = Vec::with_capacity(pieces.len());
    for p in pieces {
        let Piece::Text(mut rest) = p else {
            out.push(p);
            continue;
        };
        while let Some((start, end, rep)) = find(&rest) {
            if start > 0 {
                out.push(Piece::Text(rest[..start].to_string()));
            }
            out.push(Piece::Rep(rep?));
            rest = rest[end..].to_string();
        }
        if !rest.is_empty() {
            out.push(Piece::Text(rest));
        }
    }
    Ok(out)
}

/// The pieces of the command words: each word searched on its own, as GNU does, the words
/// joined by a space (neighbouring texts as one piece).
pub(super) fn parse(words: &[String], syntax: &Syntax) -> Result<Vec<Piece>, String> {
    let keys = keys(syntax);
    let columns = column_keys(&syntax.names);
    let mut out: Vec<Piece> = Vec::new();
    for (i, word) in words.iter().enumerate() {
        if i > 0 {
            push_text(&mut out, " ");
        }
        let mut pieces = vec![Piece::Text(word.clone())];
        for (key, rep) in &columns {
            pieces =
                split_all(pieces, |t| t.find(key.as_str()).map(|i| (i, i + key.len(), Ok(rep.clone()))))?;
        }
        for key in &keys {
            for positional in [false, true] {
                pieces = split_all(pieces, |t| {
                    let f = key.find(t, positional)?;
                    Some((f.start, f.end, key.rep(&f, &t[f.start..f.end])))
                })?;
            }
        }
        for p in pieces {
            match p {
                Piece::Text(t) => push_text(&mut out, &t),
                p => out.push(p),
            }
        }
    }
    Ok(out)
}

fn push_text(out: &mut Vec<Piece>, t: &str) {
    match out.last_mut() {
        Some(Piece::Text(a)) => a.push_str(t),
        _ => out.push(Piece::Text(t.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::super::replace::{Numbers, Quoting, Template};
    use super::*;

    fn render(syntax: &Syntax, words: &[&str], args: &[&str]) -> Result<String, String> {
        let words: Vec<String> = words.iter().map(|s| s.to_string()).collect();
        let t = Template::parse_in(&words, syntax)?;
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let n = Numbers { seq: Some(7), slot: Some(2), total: Some(12), slots: Some(16) };
        Ok(t.render_at(&args, n, Quoting::Posix))
    }

    fn plus() -> Syntax {
        Syntax { plus: true, ..Syntax::default() }
    }

    /// `parallel --plus --dry-run echo '{2+/} {1..} {-1%.x} {2:1:2} {1 +.}' ::: a/b.c.d ::: x/y.x`
    /// gives `echo x a/b x/y /y {1 +.}` (20221122): the last is two words there.
    #[test]
    fn positions_go_with_plus_strings() {
        let got =
            render(&plus(), &["echo", "{2+/} {1..} {-1%.x} {2:1:2}", "{1", "+.}"], &["a/b.c.d", "x/y.x"]);
        assert_eq!(got.unwrap(), "echo x a/b x/y /y {1 +.}");
        assert_eq!(render(&plus(), &["echo {1 +.}"], &["a.b"]).unwrap(), "echo b");
    }

    /// Longer keys first, as GNU: `{%%x}` is `%%`, not `%` of `%x`; in `{%{:-x}` the longer
    /// `{:-x}` is taken first and `{%` stays text.
    #[test]
    fn longer_keys_are_taken_first() {
        assert_eq!(render(&plus(), &[r"echo {%%\..*}"], &["a.b.c"]).unwrap(), "echo a");
        assert_eq!(render(&plus(), &[r"echo {%\..*}"], &["a.b.c"]).unwrap(), "echo a.b");
        // X is a regular expression: `.` is any character.
        assert_eq!(render(&plus(), &["echo {%%.*}"], &["a.b.c"]).unwrap(), "echo ''");
        assert_eq!(render(&plus(), &["echo {%{:-x}"], &[""]).unwrap(), "echo {%x");
        assert_eq!(render(&plus(), &["echo {##} {#} {0#} {0%} {%}"], &["a"]).unwrap(), "echo 12 7 07 02 2");
    }

    #[test]
    fn without_plus_its_strings_are_text_or_refused() {
        let plain = Syntax::default();
        assert_eq!(render(&plain, &["echo {+/} {..}"], &["a/b"]).unwrap(), "echo {+/} {..} a/b");
        assert!(render(&plain, &["echo {##}"], &["a"]).unwrap_err().contains("add --plus"));
    }

    /// `{slot}` and the host strings are the variables, unquoted, as GNU writes them.
    #[test]
    fn host_strings_are_variables_for_the_shell() {
        let got = render(&plus(), &["echo {slot} {host} {sshlogin} {hgrp} {agrp}"], &["a"]).unwrap();
        assert_eq!(
            got,
            "echo ${PARALLEL_JOBSLOT} ${PARALLEL_SSHHOST} ${PARALLEL_SSHLOGIN} ${PARALLEL_HOSTGROUPS} \
             ${PARALLEL_ARGHOSTGROUPS}"
        );
    }

    /// `parallel --er EE --bnr BB --dnr DD --bner BE --seqreplace SS --slotreplace LL -j1 echo
    /// EE BB DD BE SS LL {} {.} ::: a/b.c`: `a/b a/b.c b.c a b 1 1 a/b.c a/b` (the renamed `{.}`
    /// is text; positions stay on keys that start with a brace).
    #[test]
    fn renamed_strings() {
        let r = Renames {
            ext: Some("EE".into()),
            base: Some("BB".into()),
            dir: Some("DD".into()),
            base_ext: Some("BE".into()),
            seq: Some("SS".into()),
            slot: Some("LL".into()),
        };
        let syntax = Syntax { renames: r, ..Syntax::default() };
        let got = render(&syntax, &["echo EE BB DD BE SS LL {} {.} {1}"], &["a/b.c"]).unwrap();
        assert_eq!(got, "echo a/b b.c a b 7 2 a/b.c {.} a/b.c");
        let braced = Syntax {
            renames: Renames { ext: Some("{E}".into()), ..Renames::default() },
            ..Syntax::default()
        };
        assert_eq!(render(&braced, &["echo {E} {1E}"], &["a.x"]).unwrap(), "echo a a");
    }

    #[test]
    fn refusals_name_the_string() {
        let why = render(&plus(), &["echo {2#}"], &["a"]).unwrap_err();
        assert!(why.starts_with("{2#}: a position means nothing"), "{why}");
        assert!(render(&plus(), &["echo {0:1}"], &["a"]).unwrap_err().contains("start at 1"));
    }

    /// GNU 20221122's `{choose_k}` and `{uniq}`: the value as `{}` (`{1uniq}` as `{1}`), and
    /// the rule that skips a job (`parallel --plus -k echo {choose_k} ::: A B C ::: A B C`
    /// runs `A B`, `A C`, `B C`; `'' a` is skipped by `{uniq}`; `10 9` is in order as text).
    #[test]
    fn choose_k_and_uniq_show_the_values_and_skip_by_their_rule() {
        assert_eq!(render(&plus(), &["echo {choose_k}"], &["a", "b"]).unwrap(), "echo a b");
        assert_eq!(render(&plus(), &["echo {2uniq}+{1uniq}"], &["a", "b"]).unwrap(), "echo b+a");
        let skips = |t: &str, args: &[&str]| {
            let t = Template::parse_in(&[t.to_string()], &plus()).unwrap();
            t.skips(&args.iter().map(|s| s.to_string()).collect::<Vec<_>>())
        };
        assert!(!skips("{choose_k}", &["A", "B", "C"]));
        assert!(skips("{choose_k}", &["A", "C", "B"]));
        assert!(skips("{choose_k}", &["A", "A"]));
        assert!(!skips("{choose_k}", &["10", "9"]));
        assert!(!skips("{choose_k}", &["", "a"]));
        assert!(!skips("{uniq}", &["B", "A", "C"]));
        assert!(skips("{uniq}", &["A", "B", "A"]));
        assert!(skips("{uniq}", &["", "a"]));
        assert!(!skips("{1uniq}", &["a"]));
        assert!(!skips("{}", &["a", "a"]), "no rule, no skip");
        assert!(skips("x{1uniq}{2}", &["a", "a"]));
        let choose = |k: usize, vals: &[&str]| {
            let mut n = 0;
            let mut idx = vec![0; k];
            'all: loop {
                let args: Vec<&str> = idx.iter().map(|&i| vals[i]).collect();
                n += usize::from(!skips("{choose_k}", &args));
                for d in (0..k).rev() {
                    idx[d] += 1;
                    if idx[d] < vals.len() {
                        continue 'all;
                    }
                    idx[d] = 0;
                }
                break n;
            }
        };
        // n choose k, over the product of k copies of n values.
        assert_eq!(choose(3, &["A", "B", "C", "D"]), 4);
        assert_eq!(choose(2, &["A", "B", "C", "D", "E"]), 10);
    }

    /// Values with quotes, newlines and backslashes stay one quoted word after an edit.
    #[test]
    fn edited_values_are_still_quoted() {
        use super::super::quote::quote;
        for v in ["it's", "a\nb", "a\\", "$(id)", "x y", "`id`;"] {
            assert_ne!(quote(v), v, "{v:?} needs quoting");
            assert_eq!(render(&plus(), &["echo {/Q/y}"], &[v]).unwrap(), format!("echo {}", quote(v)));
            let edited = format!("{v}.gz");
            assert_eq!(render(&plus(), &["echo {%.gz}"], &[&edited]).unwrap(), format!("echo {}", quote(v)));
        }
        assert_eq!(render(&plus(), &["echo {:-it's}"], &[""]).unwrap(), "echo 'it'\"'\"'s'");
    }

    /// GNU rewrites the names in their order: with names `a` and `a.`, `{a.}` is `{1.}`.
    #[test]
    fn header_names_come_first() {
        let syntax = Syntax { names: vec!["a".into(), "a.".into()], plus: true, ..Syntax::default() };
        assert_eq!(
            render(&syntax, &["echo {a.} {a} {a/} {1+.}"], &["x.y", "z"]).unwrap(),
            "echo x x.y x.y y"
        );
    }
}
