//! Showing text hrun does not control (task lines, paths, the contents of files it reads) on a
//! terminal or inside a one-line message: control characters escaped, so that an escape
//! sequence in a task line cannot redraw the terminal and a newline cannot split a message,
//! and the length capped, so that a 300 MB line in a file makes a short message, not a 300 MB one.

use std::borrow::Cow;
use std::fmt::Write;

/// How many bytes of a text [`printable`] shows before cutting it with `...`.
pub const MAX_SHOWN: usize = 300;

/// `s` as it may be shown: control characters escaped (`\n`, `\t`, `\r`, `\x1b`, `\u{9b}`, and
/// the bidirectional overrides that reorder what a terminal shows), cut after [`MAX_SHOWN`]
/// bytes with `...`. Borrowed when nothing needs changing.
/// `1 thread`, `8 threads`: a count and its noun, plural when it is not 1.
pub fn count(n: impl Into<u64>, noun: &str) -> String {
    let n = n.into();
    if n == 1 { format!("1 {noun}") } else { format!("{n} {noun}s") }
}

pub fn printable(s: &str) -> Cow<'_, str> {
    printable_max(s, MAX_SHOWN)
}

/// [`printable`] with a limit of `max` bytes (before the `...`).
pub fn printable_max(s: &str, max: usize) -> Cow<'_, str> {
    if s.len() <= max && !s.chars().any(needs_escape) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(max.min(s.len()) + 8);
    for c in s.chars() {
        if out.len() >= max {
            out.push_str("...");
            break;
        }
        push_escaped(&mut out, c);
    }
    Cow::Owned(out)
}

/// `s` with control characters and bidirectional overrides written as escapes, as
/// [`printable`] writes them, but newlines and tabs kept and no length limit: for text that is
/// shown on several lines (a page's tooltips), where no byte may restyle or reorder it.
pub fn controls_escaped(s: &str) -> Cow<'_, str> {
    if !s.chars().any(|c| needs_escape(c) && c != '\n' && c != '\t') {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '\n' | '\t' => out.push(c),
            c => push_escaped(&mut out, c),
        }
    }
    Cow::Owned(out)
}

/// `c` onto `out`, as an escape when it [`needs_escape`].
fn push_escaped(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\t' => out.push_str("\\t"),
        '\r' => out.push_str("\\r"),
        c if c.is_ascii_control() => {
            let _ = write!(out, "\\x{:02x}", c as u32);
        }
        c if needs_escape(c) => {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
        c => out.push(c),
    }
}

/// C0 and C1 controls, DEL, and the Unicode bidirectional controls (the "Trojan Source" set).
fn needs_escape(c: char) -> bool {
    c.is_control() || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {

    #[test]
    fn controls_are_escaped_and_lines_kept() {
        use super::controls_escaped;
        assert_eq!(controls_escaped("a\nb\tc"), "a\nb\tc");
        assert_eq!(controls_escaped("evil\u{202e}txt\x01\x1b[31m\r"), "evil\\u{202e}txt\\x01\\x1b[31m\\r");
        assert_eq!(controls_escaped("\u{9b}1m"), "\\u{9b}1m");
    }

    #[test]
    fn counts_are_plural_unless_one() {
        assert_eq!(super::count(1u64, "slot"), "1 slot");
        assert_eq!(super::count(0u64, "thread"), "0 threads");
        assert_eq!(super::count(8u64, "thread"), "8 threads");
    }

    use super::*;

    #[test]
    fn plain_text_is_borrowed_unchanged() {
        let s = "hrun-mc-pi -t 4 --seed 7 -o '/my dir/r.toml' ü";
        assert!(matches!(printable(s), Cow::Borrowed(t) if t == s));
    }

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(printable("a\x1b[2Jb"), "a\\x1b[2Jb");
        assert_eq!(printable("x\ntouch PWNED #"), "x\\ntouch PWNED #");
        assert_eq!(printable("\t\r\x7f\0"), "\\t\\r\\x7f\\x00");
        assert_eq!(printable("\u{9b}31m"), "\\u{9b}31m");
        assert_eq!(printable("evil\u{202e}txt.sh"), "evil\\u{202e}txt.sh");
    }

    #[test]
    fn long_text_is_cut_with_an_ellipsis() {
        let long = "a".repeat(10 * MAX_SHOWN);
        let shown = printable(&long);
        assert_eq!(shown.len(), MAX_SHOWN + 3);
        assert!(shown.ends_with("a..."));
        assert_eq!(printable(&"a".repeat(MAX_SHOWN)).len(), MAX_SHOWN, "at the limit: not cut");
        // Never cut inside a character, nor inside an escape.
        let wide = "é".repeat(MAX_SHOWN);
        assert!(printable(&wide).ends_with("é..."));
        assert_eq!(printable_max("\x1b\x1b\x1b", 5), "\\x1b\\x1b...");
    }
}
