//! Shell quoting exactly as GNU parallel 20221122 quotes inserted values for Bourne shells
//! (`shell_quote_scalar_default`), for csh and tcsh (`shell_quote_scalar_csh`) and, with fish's
//! own rules, for fish; which of these a shell needs ([`ShellFamily`]); and GNU's reading of
//! `-d` delimiters (`unquote_printf`).

use std::borrow::Cow;
use std::path::Path;

/// How a shell wants values quoted, told by its name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShellFamily {
    /// sh, bash, dash, ksh, zsh, mksh, posh, yash and kin: [`quote`].
    Posix,
    /// csh, tcsh: [`quote_csh`].
    Csh,
    /// fish: [`quote_fish`].
    Fish,
    /// Any other program: no quoting is known to be safe for it.
    Unknown,
}

impl ShellFamily {
    /// The family of the shell at `path`, by its file name: a login shell's leading `-` and a
    /// version at the end (`ksh93`, `zsh-5.9`, `bash5.2`) are ignored. GNU parallel instead
    /// calls any path containing `csh` a csh (and `rc` an rc shell, which hrun does not quote
    /// for): a name is a surer sign than a substring of a directory.
    pub fn of(path: &Path) -> ShellFamily {
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else { return ShellFamily::Unknown };
        let name = name.strip_prefix('-').unwrap_or(name);
        let base = name.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.');
        let base = base.strip_suffix('-').filter(|_| base.len() < name.len()).unwrap_or(base);
        match base {
            "sh" | "bash" | "rbash" | "dash" | "ash" | "ksh" | "mksh" | "lksh" | "pdksh" | "oksh" | "zsh"
            | "posh" | "yash" | "sash" | "static-sh" | "fizsh" | "rzsh" => ShellFamily::Posix,
            "csh" | "tcsh" | "bsd-csh" => ShellFamily::Csh,
            "fish" => ShellFamily::Fish,
            _ => ShellFamily::Unknown,
        }
    }

    /// `value` quoted for this family of shells; None for [`ShellFamily::Unknown`].
    pub fn quote(self, value: &str) -> Option<Cow<'_, str>> {
        match self {
            ShellFamily::Posix => Some(quote(value)),
            ShellFamily::Csh => Some(quote_csh(value)),
            ShellFamily::Fish => Some(quote_fish(value)),
            ShellFamily::Unknown => None,
        }
    }
}

/// GNU's `--shell-quote` (given `times` times): the line that prints `line` quoted that many
/// times with `quote` (GNU runs `perl -e 'print "@ARGV\n"' -- QUOTED`, which prints the same).
pub fn printing_quoted(line: &str, times: u8, quote: impl Fn(&str) -> String) -> String {
    let mut quoted = line.to_string();
    for _ in 0..times {
        quoted = quote(&quoted);
    }
    format!("printf '%s\\n' {}", quote(&quoted))
}

/// Quotes `value` for `sh`: bare when made only of ASCII `[-_.+A-Za-z0-9/]`, `''` when empty,
/// else in single quotes with each `'` written `'"'"'`, and the `''` this leaves at either
/// end removed (so `'a` becomes `"'"'a'`), as GNU parallel does.
pub fn quote(value: &str) -> Cow<'_, str> {
    if value.is_empty() {
        return Cow::Borrowed("''");
    }
    if value.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.+/".contains(&b)) {
        return Cow::Borrowed(value);
    }
    let mut q = String::with_capacity(value.len() + 2);
    q.push('\'');
    q.push_str(&value.replace('\'', "'\"'\"'"));
    q.push('\'');
    // GNU: s/^''//; s/''$//; each once, in this order.
    if q.starts_with("''") {
        q.drain(..2);
    }
    if q.ends_with("''") {
        q.truncate(q.len() - 2);
    }
    Cow::Owned(q)
}

/// Quotes `value` for csh and tcsh as GNU parallel does: a backslash before each character
/// that either shell treats specially (`!`, `$`, quotes, blanks, glob and redirection
/// characters, the control characters 0x02-0x1a but newline), each newline written `"\<newline>"` (a
/// newline inside double quotes, after a backslash, is kept), `''` when empty.
///
/// GNU also puts a backslash before each byte 0x82-0xff, which splits UTF-8 characters (and
/// makes the command not UTF-8); here a run of non-ASCII characters is put in single quotes
/// instead (`é` is `'é'`), which both tcsh and BSD csh read back exactly in any locale. For
/// ASCII values the result is GNU's, byte for byte.
pub fn quote_csh(value: &str) -> Cow<'_, str> {
    let special = |c: char| {
        matches!(c, '\u{2}'..='\u{9}' | '\u{b}'..='\u{1a}') || "\\#?`(){}[]^*<=>~|; \"!$&'".contains(c)
    };
    if value.is_empty() {
        return Cow::Borrowed("''");
    }
    if !value.chars().any(|c| special(c) || c == '\n' || !c.is_ascii()) {
        // GNU: a lone NUL becomes nothing (no argument can hold one anyway).
        return Cow::Borrowed(if value == "\0" { "" } else { value });
    }
    let mut q = String::with_capacity(value.len() * 2);
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        if !c.is_ascii() {
            q.push('\'');
            q.push(c);
            while let Some(&n) = chars.peek().filter(|n| !n.is_ascii()) {
                q.push(n);
                chars.next();
            }
            q.push('\'');
        } else if c == '\n' {
            q.push_str("\"\\\n\"");
        } else {
            if special(c) {
                q.push('\\');
            }
            q.push(c);
        }
    }
    Cow::Owned(q)
}

/// Quotes `value` for fish: as [`quote`] (GNU parallel's Bourne quoting, which GNU also uses
/// for fish), with each backslash doubled. Inside fish's single quotes `\\` and `\'` are
/// escapes, so GNU's `'a\'` leaves the quote open and runs the rest of the line as code; here
/// it is `'a\\'`. A value without a backslash is quoted exactly as GNU quotes it.
pub fn quote_fish(value: &str) -> Cow<'_, str> {
    if !value.contains('\\') {
        return quote(value);
    }
    Cow::Owned(quote(&value.replace('\\', "\\\\")).into_owned())
}

/// A `-d` delimiter as GNU parallel reads it: `\t`, `\n`, `\r`, octal `\NNN` and `\N` are
/// turned into the bytes they name; everything else is taken as written.
pub fn unescape_delimiter(d: &str) -> Vec<u8> {
    let b = d.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 1 < b.len() {
            let next = b[i + 1];
            let simple = match next {
                b't' => Some(b'\t'),
                b'n' => Some(b'\n'),
                b'r' => Some(b'\r'),
                _ => None,
            };
            if let Some(c) = simple {
                out.push(c);
                i += 2;
                continue;
            }
            let digits = b[i + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
            // GNU tries three digits first, then one (`\12` is `\1` then `2`), and Perl reads
            // them as an octal escape: its octal prefix names a byte, the rest stays text.
            let n = if digits >= 3 { 3 } else { digits.min(1) };
            if n > 0 {
                let text = &b[i + 1..i + 1 + n];
                let octal = text.iter().take_while(|c| (b'0'..=b'7').contains(c)).count();
                if octal > 0 {
                    let value = text[..octal].iter().fold(0u32, |v, c| v * 8 + u32::from(c - b'0'));
                    out.push((value & 0xff) as u8);
                }
                out.extend_from_slice(&text[octal..]);
                i += 1 + n;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_matches_gnu_parallel() {
        // Each pair: a value and `parallel --dry-run echo {} ::: VALUE`'s rendering of it.
        for (value, want) in [
            ("abc", "abc"),
            ("a+b-c_d.e/f", "a+b-c_d.e/f"),
            ("", "''"),
            ("a b", "'a b'"),
            ("a=b", "'a=b'"),
            ("it's", "'it'\"'\"'s'"),
            ("'a", "\"'\"'a'"),
            ("a'", "'a'\"'\""),
            ("'", "\"'\""),
            ("''", "\"'\"''\"'\""),
            ("é", "'é'"),
            ("~", "'~'"),
            ("-n", "-n"),
            ("$x", "'$x'"),
            ("a\\b", "'a\\b'"),
            ("a\tb", "'a\tb'"),
        ] {
            assert_eq!(quote(value), want, "{value:?}");
        }
    }

    #[test]
    fn csh_quoting_matches_gnu_parallel() {
        // Each pair: a value and `PARALLEL_SHELL=tcsh parallel --dry-run echo {} ::: VALUE`'s
        // rendering of it.
        for (value, want) in [
            ("abc", "abc"),
            ("a+b-c_d.e/f%g:h@i,j", "a+b-c_d.e/f%g:h@i,j"),
            ("", "''"),
            ("\0", ""),
            ("a b", "a\\ b"),
            ("it's", "it\\'s"),
            ("x!y", "x\\!y"),
            ("l1\nl2", "l1\"\\\n\"l2"),
            ("\\", "\\\\"),
            ("a=b", "a\\=b"),
            ("$x`y`", "\\$x\\`y\\`"),
            ("a\tb\u{1}c\u{1b}", "a\\\tb\u{1}c\u{1b}"),
            ("{}[]()<>~|;&*?#^\"", "\\{\\}\\[\\]\\(\\)\\<\\>\\~\\|\\;\\&\\*\\?\\#\\^\\\""),
            // Not GNU's bytes (it escapes each byte of é): a quoted run, still UTF-8.
            ("é!中文", "'é'\\!'中文'"),
        ] {
            assert_eq!(quote_csh(value), want, "{value:?}");
        }
    }

    #[test]
    fn fish_quoting_is_gnus_with_backslashes_doubled() {
        for (value, want) in [
            ("abc", "abc"),
            ("", "''"),
            ("it's", "'it'\"'\"'s'"),
            ("a\\", "'a\\\\'"),
            ("a\\'b", "'a\\\\'\"'\"'b'"),
            ("\\\\", "'\\\\\\\\'"),
            ("l1\nl2", "'l1\nl2'"),
        ] {
            assert_eq!(quote_fish(value), want, "{value:?}");
        }
    }

    #[test]
    fn shell_families_by_name() {
        use ShellFamily::*;
        for (path, family) in [
            ("/bin/sh", Posix),
            ("/usr/bin/bash", Posix),
            ("dash", Posix),
            ("/bin/ksh93", Posix),
            ("/usr/local/bin/zsh-5.9", Posix),
            ("bash5.2", Posix),
            ("/bin/mksh", Posix),
            ("/usr/bin/posh", Posix),
            ("/usr/bin/yash", Posix),
            ("-bash", Posix),
            ("/bin/csh", Csh),
            ("/usr/bin/tcsh", Csh),
            ("/usr/bin/bsd-csh", Csh),
            ("-tcsh", Csh),
            ("/usr/bin/fish", Fish),
            ("/usr/bin/rc", Unknown),
            ("/usr/bin/python3", Unknown),
            ("/opt/cshtools/bin/nu", Unknown),
            ("/usr/bin/env", Unknown),
            ("", Unknown),
        ] {
            assert_eq!(ShellFamily::of(Path::new(path)), family, "{path}");
        }
        assert_eq!(Unknown.quote("x"), None);
        assert_eq!(Csh.quote("a b").unwrap(), "a\\ b");
    }

    #[test]
    fn delimiters_unescape_as_gnu_parallel() {
        assert_eq!(unescape_delimiter("\\t"), b"\t");
        assert_eq!(unescape_delimiter("\\n"), b"\n");
        assert_eq!(unescape_delimiter("\\r\\n"), b"\r\n");
        assert_eq!(unescape_delimiter("\\0"), b"\0");
        assert_eq!(unescape_delimiter("\\101"), b"A");
        assert_eq!(unescape_delimiter(":"), b":");
        assert_eq!(unescape_delimiter("\\x"), b"\\x");
        assert_eq!(unescape_delimiter("\\"), b"\\");
    }
    /// Values as they reach a shell: quotes, backslashes, `!`, `$`, blanks, newlines, glob and
    /// redirection characters, control characters, and non-ASCII text (no NUL: no argument
    /// can hold one).
    fn value() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let special: Vec<char> = "'\"\\!$` \t\n*?[]{}~#&|;<>()=%^@:,-+./_".chars().collect();
        let other = vec!['\u{7f}', 'é', '中', '😀', '\u{a0}', '\u{85}', '\u{2028}', '\u{f600}', '\u{ffff}'];
        let c = prop_oneof![
            4 => proptest::sample::select(special),
            // Backslashes and quotes, where shells differ most, more often.
            1 => proptest::sample::select(vec!['\\', '\'']),
            3 => proptest::char::range('a', 'z'),
            1 => proptest::char::range('\u{1}', '\u{1f}'),
            1 => proptest::sample::select(other),
        ];
        proptest::collection::vec(c, 0..12).prop_map(|v| v.into_iter().collect())
    }

    /// The installed shells of a family, found once; a missing one is skipped (said once),
    /// except under CI for those CI installs (sh, bash, dash, csh, tcsh, fish).
    fn shells(family: ShellFamily) -> &'static [std::path::PathBuf] {
        use std::sync::OnceLock;
        static FOUND: OnceLock<Vec<(ShellFamily, std::path::PathBuf)>> = OnceLock::new();
        let found = FOUND.get_or_init(|| {
            let names = [
                "sh", "bash", "dash", "ksh", "mksh", "zsh", "posh", "yash", "csh", "tcsh", "bsd-csh", "fish",
            ];
            let path = std::env::var_os("PATH").unwrap_or_default();
            let mut found = Vec::new();
            for name in names {
                match std::env::split_paths(&path).map(|d| d.join(name)).find(|p| p.is_file()) {
                    Some(p) => found.push((ShellFamily::of(&p), p)),
                    None => {
                        let ci_has = ["sh", "bash", "dash", "csh", "tcsh", "fish"].contains(&name);
                        assert!(
                            !ci_has || std::env::var_os("CI").is_none(),
                            "{name} must be installed in CI"
                        );
                        eprintln!("skipped: {name} is not installed");
                    }
                }
            }
            found
        });
        let of: Vec<std::path::PathBuf> =
            found.iter().filter(|(f, _)| *f == family).map(|(_, p)| p.clone()).collect();
        Box::leak(of.into_boxed_slice())
    }

    /// What `SHELL -c "printf '%s\0' QUOTED..."` prints, split at the NULs.
    fn printed(shell: &std::path::Path, quoted: &[String], locale: &str) -> Vec<String> {
        let home = tempfile::tempdir().unwrap();
        let out = std::process::Command::new(shell)
            .arg("-c")
            .arg(format!("printf '%s\\0' {}", quoted.join(" ")))
            .env("HOME", home.path())
            .env("XDG_CONFIG_HOME", home.path())
            .env("XDG_DATA_HOME", home.path())
            .env("LC_ALL", locale)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        let text = String::from_utf8(out.stdout).unwrap_or_default();
        let mut values: Vec<String> = text.split('\0').map(String::from).collect();
        values.pop();
        values
    }

    fn reads_back(family: ShellFamily, values: &[String], locales: &[&str]) -> Result<(), String> {
        let quoted: Vec<String> = values.iter().map(|v| family.quote(v).unwrap().into_owned()).collect();
        for shell in shells(family) {
            for locale in locales {
                let got = printed(shell, &quoted, locale);
                if got != values {
                    return Err(format!("{} ({locale}) printed {got:?} for {quoted:?}", shell.display()));
                }
            }
        }
        Ok(())
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]

        #[test]
        fn posix_shells_read_back_each_value(values in proptest::collection::vec(value(), 1..6)) {
            reads_back(ShellFamily::Posix, &values, &["C.UTF-8"]).map_err(proptest::test_runner::TestCaseError::fail)?;
        }

        #[test]
        fn csh_and_tcsh_read_back_each_value(values in proptest::collection::vec(value(), 1..6)) {
            reads_back(ShellFamily::Csh, &values, &["C.UTF-8", "C"]).map_err(proptest::test_runner::TestCaseError::fail)?;
        }

        #[test]
        fn fish_reads_back_each_value(values in proptest::collection::vec(value(), 1..6)) {
            reads_back(ShellFamily::Fish, &values, &["C.UTF-8"]).map_err(proptest::test_runner::TestCaseError::fail)?;
        }
    }

    #[test]
    fn a_trailing_backslash_does_not_open_fish_code() {
        // GNU 20221122 quotes `a\` as `'a\'` for fish too: fish then reads `\'` as a quote and
        // runs what follows as code.
        let value = "a\\".to_string();
        let Some(fish) = shells(ShellFamily::Fish).first() else { return };
        let gnu = printed(fish, &[quote(&value).into_owned(), "';echo".into(), "pwned'".into()], "C.UTF-8");
        assert_ne!(gnu.first(), Some(&value), "GNU's quoting is safe in fish after all?");
        let ours =
            printed(fish, &[quote_fish(&value).into_owned(), "';echo".into(), "pwned'".into()], "C.UTF-8");
        assert_eq!(ours, [value, ";echo pwned".to_string()]);
    }
}
