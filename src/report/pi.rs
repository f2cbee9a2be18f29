//! The pi estimate of a run of the bundled worker: the result files its task lines name with
//! `-o PATH.toml`, read and combined by `reduce`. Anything else (other programs, files gone,
//! files that are not results) is left out without a word: the estimate is a bonus.

use std::collections::BTreeSet;
use std::path::PathBuf;

use super::Report;
use crate::reduce::Reduction;

/// The combined estimate of the result files that succeeded tasks wrote, if any can be read.
pub fn estimate(report: &Report) -> Option<(Reduction, usize)> {
    let mut files = BTreeSet::new();
    for b in report.bars.iter().filter(|b| b.outcome == crate::log::Outcome::Succeeded) {
        if let Some(p) = result_path(&b.cmd) {
            let dir = &report.runs[b.run].dir;
            files.insert(if p.is_absolute() { p } else { dir.join(p) });
        }
    }
    let files: Vec<PathBuf> = files.into_iter().collect();
    let r = crate::reduce::reduce_files_quietly(&files)?;
    Some((r, files.len()))
}

/// The `PATH.toml` after `-o` or `--output` in a task line (unquoted as `hrun gen` quotes).
fn result_path(cmd: &str) -> Option<PathBuf> {
    let words = shell_words(cmd);
    let at = words.iter().position(|w| w == "-o" || w == "--output")?;
    let path = words.get(at + 1)?;
    path.ends_with(".toml").then(|| PathBuf::from(path))
}

/// Words of a simple shell line: blanks split, single and double quotes and backslashes
/// are undone. Enough for the lines `hrun gen` writes; anything fancier finds no path.
fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' => words.extend(word.take()),
            '\'' => {
                let w = word.get_or_insert_with(String::new);
                for q in chars.by_ref() {
                    if q == '\'' {
                        break;
                    }
                    w.push(q);
                }
            }
            '"' => {
                let w = word.get_or_insert_with(String::new);
                while let Some(q) = chars.next() {
                    match q {
                        '"' => break,
                        '\\' => w.extend(chars.next()),
                        q => w.push(q),
                    }
                }
            }
            '\\' => word.get_or_insert_with(String::new).extend(chars.next()),
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    words.extend(word);
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_result_path_of_a_worker_line() {
        let line = "/opt/bin/hrun-mc-pi -t 4 -n 100 --seed 3 -o '/tmp/my results/mc_pi_3.toml'";
        assert_eq!(result_path(line), Some(PathBuf::from("/tmp/my results/mc_pi_3.toml")));
        assert_eq!(result_path(r"w -o a\ b.toml"), Some(PathBuf::from("a b.toml")));
        assert_eq!(result_path("w -o 'it'\\''s.toml'"), Some(PathBuf::from("it's.toml")));
        assert_eq!(result_path("w -o out.txt"), None);
        assert_eq!(result_path("sleep 1"), None);
    }
}
