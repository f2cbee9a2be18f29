//! Splitting a line into words as GNU parallel does for its profiles and `$PARALLEL`: Perl's
//! `Text::ParseWords::shellwords`, which is close to a shell but not one: `"..."` takes
//! backslash escapes, `'...'` keeps its backslashes (`'a\'b'` is `a\'b`), outside quotes `\x` is
//! `x`, and a line it cannot split (an unclosed quote, a trailing backslash) gives no words at all.

/// Perl's `\s` on a byte string.
fn blank(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\x0b' | '\x0c' | '\r')
}

/// The words of `line`, or None where `shellwords` gives up (GNU then takes nothing from it).
pub fn split(line: &str) -> Option<Vec<String>> {
    let chars: Vec<char> = line.chars().skip_while(|c| blank(*c)).collect();
    let mut line = &chars[..];
    let mut words: Vec<Option<String>> = Vec::new();
    let mut word: Option<String> = None;
    while !line.is_empty() {
        let (piece, used, ends_word) = if line[0] == '"' || line[0] == '\'' {
            let (inner, used) = quoted(line)?;
            let text = if line[0] == '"' { unescape(inner) } else { inner.iter().collect() };
            (text, used, false)
        } else {
            let (unquoted, delim) = unquoted(line)?;
            (unescape(&line[..unquoted]), unquoted + delim, delim > 0)
        };
        word.get_or_insert_with(String::new).push_str(&piece);
        line = &line[used..];
        if ends_word {
            words.push(word.take());
        }
        if line.is_empty() {
            words.push(word.take());
        }
    }
    if words.last().is_some_and(Option::is_none) {
        words.pop();
    }
    Some(words.into_iter().map(Option::unwrap_or_default).collect())
}

/// A quoted string at the start of `line`: its inside and the characters it spans, quotes
/// included. A backslash skips the character after it, even in single quotes.
fn quoted(line: &[char]) -> Option<(&[char], usize)> {
    let q = line[0];
    let mut i = 1;
    while i < line.len() {
        match line[i] {
            '\\' if i + 1 < line.len() => i += 2,
            '\\' => return None,
            c if c == q => return Some((&line[1..i], i + 1)),
            _ => i += 1,
        }
    }
    None
}

/// Unquoted text at the start of `line`, up to the nearest delimiter (the end, blanks, or a
/// quote): its length, and the length of the delimiter (blanks; 0 for the end or a quote).
fn unquoted(line: &[char]) -> Option<(usize, usize)> {
    let mut k = 0;
    loop {
        if k == line.len() {
            return Some((k, 0));
        }
        if blank(line[k]) {
            let n = line[k..].iter().take_while(|c| blank(**c)).count();
            return Some((k, n));
        }
        if k > 0 && (line[k] == '"' || line[k] == '\'') {
            return Some((k, 0));
        }
        match line[k] {
            '\\' if k + 1 < line.len() => k += 2,
            // A lone backslash at the end, or a quote where nothing can end the text.
            _ if line[k] == '\\' || line[k] == '"' || line[k] == '\'' => return None,
            _ => k += 1,
        }
    }
}

/// `\x` becomes `x`.
fn unescape(text: &[char]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut it = text.iter();
    while let Some(&c) = it.next() {
        out.push(if c == '\\' { it.next().copied().unwrap_or('\\') } else { c });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::split;

    fn words(line: &str) -> Vec<String> {
        split(line).unwrap_or_else(|| panic!("{line:?} did not split"))
    }

    #[test]
    fn splits_as_text_parsewords() {
        assert_eq!(words("  -j 4   --tag\t-k\n"), ["-j", "4", "--tag", "-k"]);
        assert_eq!(words(r#"--tagstring "a b" x"#), ["--tagstring", "a b", "x"]);
        assert_eq!(words(r#"a"b c"d 'e f'g"#), ["ab cd", "e fg"]);
        assert_eq!(words(r#""" x ''"#), ["", "x", ""]);
        assert_eq!(words(r#"a\ b \"c"#), ["a b", "\"c"]);
        // Single quotes keep backslashes, and a backslash there still skips a quote.
        assert_eq!(words(r"'a\'b' 'c\\d'"), [r"a\'b", r"c\\d"]);
        assert_eq!(words(r#""a\"b\\c\d""#), [r#"a"b\cd"#]);
        assert_eq!(words("é \u{a0}x"), ["é", "\u{a0}x"]);
        assert!(words("").is_empty());
        assert!(words(" \t ").is_empty());
    }

    #[test]
    fn gives_up_as_text_parsewords() {
        for bad in [r#"-j "4"#, "-j '4", r"-j 4\", r#"a "b"#, "'"] {
            assert_eq!(split(bad), None, "{bad:?}");
        }
    }
}
