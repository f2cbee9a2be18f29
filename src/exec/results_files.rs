//! GNU parallel's `--results NAME` where NAME is not a table (`.csv`, `.tsv`, `.json`): each
//! task's output in files of its own, laid out as GNU parallel 20221122 lays them out.
//!
//! - `--results DIR`: `DIR/1/VALUE1/2/VALUE2/.../{seq,stdout,stderr}`, a level per value, named
//!   by its source's number (or its `--header :` name); values escaped as GNU escapes them
//!   (`\` as `\\`, a tab as `\t`, `/` as `\_`), so a value is one directory level.
//! - `--results NAME` with replacement strings (`out/{1}_{#}`): the job's values put in as they
//!   are, then `NAME` (stdout), `NAME.err` and `NAME.seq`; a NAME ending in `/` is a directory
//!   holding `seq`, `stdout` and `stderr`.
//!
//! Where hrun deliberately differs: GNU writes a value `.`, `..` or the empty value as that
//! path component, so `..` puts a task's files over its parent's (`DIR/1/../seq` is `DIR/seq`);
//! hrun writes them as `\.`, `\.\.` and `\e`, names GNU's escaping never produces.

use std::path::{Path, PathBuf};

/// Where `--results NAME` puts each task's files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ResultsFiles {
    /// `DIR`: a directory level per value.
    Tree(PathBuf),
    /// A name with replacement strings, rendered for each job.
    Named(String),
}

/// A task's three files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Paths {
    pub stdout: PathBuf,
    pub stderr: PathBuf,
    pub seq: PathBuf,
}

impl ResultsFiles {
    /// The layout `--results NAME` asks for (NAME is not a table).
    pub fn of(name: &Path) -> ResultsFiles {
        let text = name.to_string_lossy();
        let has_rep = text.find('{').is_some_and(|open| text[open..].contains('}'));
        if has_rep { ResultsFiles::Named(text.into_owned()) } else { ResultsFiles::Tree(name.to_path_buf()) }
    }

    /// The directory made before the run starts (the tree's root), if any.
    pub fn root(&self) -> Option<&Path> {
        match self {
            ResultsFiles::Tree(dir) => Some(dir),
            ResultsFiles::Named(_) => None,
        }
    }
}

/// The files of a job with `args` under `DIR`: `per_job` tuples of values (`-N`), the value
/// `k` from source `k mod width` (named by `names` with `--header :`, else numbered from 1).
pub fn tree_paths(dir: &Path, args: &[String], per_job: usize, names: &[String]) -> Paths {
    let width = (args.len() / per_job.max(1)).max(1);
    let mut at = dir.to_path_buf();
    for (k, value) in args.iter().enumerate() {
        let source = k % width;
        at.push(names.get(source).cloned().unwrap_or_else(|| (source + 1).to_string()));
        at.push(escape(value));
    }
    in_dir(at)
}

/// The files of a job whose `--results` name rendered as `rendered`.
pub fn named_paths(rendered: &str) -> Paths {
    match rendered.strip_suffix('/') {
        Some(dir) => in_dir(PathBuf::from(if dir.is_empty() { "/" } else { dir })),
        None => Paths {
            stdout: PathBuf::from(rendered),
            stderr: PathBuf::from(format!("{rendered}.err")),
            seq: PathBuf::from(format!("{rendered}.seq")),
        },
    }
}

fn in_dir(dir: PathBuf) -> Paths {
    Paths { stdout: dir.join("stdout"), stderr: dir.join("stderr"), seq: dir.join("seq") }
}

/// A value as one path component, as GNU parallel escapes it (and `.`, `..` and the empty
/// value as names of their own).
pub fn escape(value: &str) -> String {
    match value {
        "" => return "\\e".into(),
        "." => return "\\.".into(),
        ".." => return "\\.\\.".into(),
        _ => {}
    }
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\0' => out.push_str("\\0"),
            '/' => out.push_str("\\_"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn values_are_one_level_each_escaped_as_gnu() {
        assert_eq!(escape("b/c"), "b\\_c");
        assert_eq!(escape("a\\b"), "a\\\\b");
        assert_eq!(escape("t\tu"), "t\\tu");
        assert_eq!(escape("x y\nz"), "x y\nz");
        // Where GNU would climb out of its level or overwrite another's files.
        assert_eq!(escape(".."), "\\.\\.");
        assert_eq!(escape("."), "\\.");
        assert_eq!(escape(""), "\\e");
        assert_eq!(escape("..."), "...");
    }

    #[test]
    fn a_tree_level_per_value_numbered_or_named() {
        let p = tree_paths(Path::new("out"), &strings(&["a", "b/c"]), 1, &[]);
        assert_eq!(p.stdout, PathBuf::from("out/1/a/2/b\\_c/stdout"));
        assert_eq!(p.seq, PathBuf::from("out/1/a/2/b\\_c/seq"));
        let p = tree_paths(Path::new("o"), &strings(&["1", "z"]), 1, &strings(&["p", "q"]));
        assert_eq!(p.stderr, PathBuf::from("o/p/1/q/z/stderr"));
        // -N2 over one source: both values come from source 1.
        let p = tree_paths(Path::new("r"), &strings(&["a", "b"]), 2, &[]);
        assert_eq!(p.stdout, PathBuf::from("r/1/a/1/b/stdout"));
    }

    #[test]
    fn named_results_are_three_files_or_a_directory() {
        assert_eq!(ResultsFiles::of(Path::new("out")), ResultsFiles::Tree("out".into()));
        assert_eq!(ResultsFiles::of(Path::new("r/{}_{#}")), ResultsFiles::Named("r/{}_{#}".into()));
        let p = named_paths("r/a_1");
        assert_eq!((p.stdout, p.stderr, p.seq), ("r/a_1".into(), "r/a_1.err".into(), "r/a_1.seq".into()));
        let p = named_paths("r/a/b/");
        assert_eq!(p.stdout, PathBuf::from("r/a/b/stdout"));
    }
}
