//! GNU parallel's `--color` (each job's output lines in a colour of its own, chosen by its job
//! number), `--color-failed` (a failed job's lines white on red), `--ctag` and
//! `--ctag-string` (`--tag` and `--tagstring` with `--color`), byte for byte as GNU parallel
//! 20221122 writes them without a terminal: each line is `COLOUR TAG LINE RESET \n`, where
//! COLOUR is `ESC[48;5;B;38;5;Fm ESC[K` and RESET `ESC[m` (GNU asks `tput` on a terminal, which
//! gives the same on most).

use std::io::{self, Write};
use std::sync::OnceLock;

/// Clear to the end of the line (GNU's `tput el` when it has no terminal).
const EOL: &str = "\x1b[K";
/// Back to normal (GNU's `tput sgr0` when it has no terminal).
pub const RESET: &str = "\x1b[m";
/// `--color-failed`: white on red.
const FAILED: &str = "\x1b[48;5;196;38;5;231m";

/// What `--color` and `--color-failed` ask for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Colors {
    /// `--color`, `--ctag`, `--ctag-string`.
    pub each: bool,
    /// `--color-failed`.
    pub failed: bool,
}

impl Colors {
    pub fn any(&self) -> bool {
        self.each || self.failed
    }

    /// The colour of job `seq`'s lines (`failed`: it failed; None for a running job with
    /// `--line-buffer`, where GNU shows only `--color`), or None: not coloured. Empty: lines
    /// are written as coloured ones, without a colour (GNU's way with `--color-failed` for a
    /// job that succeeded: a newline after a last line, the tag after each `\r`).
    pub fn of(&self, seq: u64, failed: Option<bool>) -> Option<String> {
        if self.failed && failed == Some(true) {
            return Some(format!("{FAILED}{EOL}"));
        }
        if !self.each {
            return (self.failed && failed.is_some()).then(String::new);
        }
        let p = palette();
        Some(format!("{}{EOL}", p[(seq % p.len() as u64) as usize]))
    }
}

/// GNU's readable colour pairs (background, black or white text), in its order: adjacent
/// entries unlike each other.
fn palette() -> &'static [String] {
    static P: OnceLock<Vec<String>> = OnceLock::new();
    P.get_or_init(|| {
        let dark: &[(u32, u32)] = &[
            (6, 7),
            (9, 11),
            (13, 15),
            (40, 51),
            (75, 87),
            (113, 123),
            (147, 159),
            (171, 182),
            (185, 231),
            (249, 254),
        ];
        let light: &[(u32, u32)] = &[
            (1, 9),
            (12, 13),
            (16, 45),
            (52, 81),
            (88, 114),
            (124, 149),
            (160, 178),
            (180, 180),
            (182, 184),
            (196, 214),
            (232, 250),
        ];
        let pairs: Vec<(u32, &str)> = dark
            .iter()
            .flat_map(|&(a, b)| (a..=b).map(|c| (c, "000")))
            .chain(light.iter().flat_map(|&(a, b)| (a..=b).map(|c| (c, "231"))))
            .collect();
        // GNU: sort { ($a%23 <=> $b%23) or ($b%7 <=> $a%7) } over the indices (a stable sort).
        let mut order: Vec<usize> = (0..pairs.len()).collect();
        order.sort_by(|&a, &b| (a % 23).cmp(&(b % 23)).then((b % 7).cmp(&(a % 7))));
        order.iter().map(|&i| format!("\x1b[48;5;{:03};38;5;{}m", pairs[i].0, pairs[i].1)).collect()
    })
}

/// Writes one line (without its newline) as GNU does with a colour: `lead` (the colour and
/// the tag), the line with each `\r` as `reset` `\r` `lead`, then `reset` and a newline.
pub fn write_line(out: &mut dyn Write, lead: &[u8], reset: &str, line: &[u8]) -> io::Result<u64> {
    let mut n = 0;
    out.write_all(lead)?;
    n += lead.len();
    for (i, piece) in line.split(|&b| b == b'\r').enumerate() {
        if i > 0 {
            out.write_all(reset.as_bytes())?;
            out.write_all(b"\r")?;
            out.write_all(lead)?;
            n += reset.len() + 1 + lead.len();
        }
        out.write_all(piece)?;
        n += piece.len();
    }
    out.write_all(reset.as_bytes())?;
    out.write_all(b"\n")?;
    Ok((n + reset.len() + 1) as u64)
}

/// The reset that ends a line in colour `paint` (none for an empty one).
pub fn reset_for(paint: &str) -> &'static str {
    if paint.is_empty() { "" } else { RESET }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gnus_palette() {
        let p = palette();
        assert_eq!(p.len(), 122 + 185);
        // GNU 20221122's colours for jobs 1, 2, 3 (`parallel -k --color echo ::: 1 2 3`).
        assert_eq!(p[0], "\x1b[48;5;185;38;5;000m");
        assert_eq!(p[1], "\x1b[48;5;134;38;5;231m");
        assert_eq!(p[2], "\x1b[48;5;021;38;5;231m");
        assert_eq!(p[3], "\x1b[48;5;243;38;5;231m");
    }

    #[test]
    fn failed_wins_and_line_buffer_shows_only_color() {
        let c = Colors { each: true, failed: true };
        assert_eq!(c.of(1, Some(true)).unwrap(), format!("{FAILED}{EOL}"));
        assert_ne!(c.of(1, Some(false)), c.of(1, Some(true)));
        assert_eq!(c.of(1, None), c.of(1, Some(false)));
        let f = Colors { each: false, failed: true };
        assert_eq!(f.of(1, Some(false)), Some(String::new()), "written as coloured, without colour");
        assert_eq!(f.of(1, None), None);
        assert_eq!(Colors::default().of(1, Some(true)), None);
    }

    #[test]
    fn a_line_with_carriage_returns() {
        let mut out = Vec::new();
        let n = write_line(&mut out, b"C\t", RESET, b"a\rb").unwrap();
        assert_eq!(out, b"C\ta\x1b[m\rC\tb\x1b[m\n");
        assert_eq!(n, out.len() as u64);
        let mut plain = Vec::new();
        write_line(&mut plain, b"t\t", reset_for(""), b"a\r").unwrap();
        assert_eq!(plain, b"t\ta\rt\t\n");
    }
}
