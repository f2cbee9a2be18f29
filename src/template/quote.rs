//! Shell quoting exactly as GNU parallel 20221122 quotes inserted values for Bourne shells
//! (`shell_quote_scalar_default`), and its reading of `-d` delimiters (`unquote_printf`).

use std::borrow::Cow;

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
}
