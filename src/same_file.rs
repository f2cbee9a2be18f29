//! Never writing over hrun's inputs: an output (the run log, the joblog, the results table, an
//! emitted task file, a report) that is the same file as an input (the task file, a source of
//! values, standard input redirected from a file, a log being read) is refused before anything
//! is written, and so are two outputs that are one file. Files are compared by device and
//! inode, so a symlink, a hard link or `./x` versus `x` is caught; a file that does not exist
//! yet by its resolved path.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// What makes two paths one file.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Id {
    Inode(u64, u64),
    /// Not there yet: the canonical directory and the name.
    Path(PathBuf),
}

fn id(path: &Path) -> Option<Id> {
    id_within(path, 40)
}

/// `depth`: symlinks still to follow (a loop ends as no identity).
fn id_within(path: &Path, depth: u32) -> Option<Id> {
    if let Ok(m) = std::fs::metadata(path) {
        return Some(Id::Inode(m.dev(), m.ino()));
    }
    // A dangling symlink: opening it for writing creates its target, so it is that file.
    if let Ok(target) = std::fs::read_link(path) {
        let base = path.parent().unwrap_or(Path::new(""));
        return if depth == 0 { None } else { id_within(&base.join(target), depth - 1) };
    }
    let name = path.file_name()?;
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    Some(Id::Path(std::fs::canonicalize(dir).ok()?.join(name)))
}

/// True when `a` and `b` are the same file (or would be, once created).
pub fn same(a: &Path, b: &Path) -> bool {
    matches!((id(a), id(b)), (Some(x), Some(y)) if x == y)
}

/// A named path: what it is for ("--log", "the task file"), and where.
pub type Named<'a> = (&'a str, &'a Path);

/// Refuses (with a one-line reason) an output that is one of the inputs, or another output.
pub fn refuse_overlap(inputs: &[Named<'_>], outputs: &[Named<'_>]) -> Result<(), String> {
    for (i, (what, out)) in outputs.iter().enumerate() {
        if let Some((input, path)) = inputs.iter().find(|(_, p)| same(out, p)) {
            return Err(format!(
                "{what} {} is {input} ({}): hrun never writes over its input; choose another {what}",
                out.display(),
                path.display()
            ));
        }
        if let Some((other, _)) = outputs[..i].iter().find(|(_, p)| same(out, p)) {
            return Err(format!(
                "{what} {} is also the {other}: each output needs a file of its own",
                out.display()
            ));
        }
    }
    Ok(())
}

/// Refuses an output file (`what`: the flag) that is one of the run logs being read.
pub fn refuse_over_logs(logs: &[std::path::PathBuf], what: &str, out: &Path) -> anyhow::Result<()> {
    let inputs: Vec<Named<'_>> = logs.iter().map(|l| ("a run log being read", l.as_path())).collect();
    refuse_overlap(&inputs, &[(what, out)]).map_err(|e| crate::exit::UsageError(anyhow::anyhow!(e)).into())
}

/// Refuses an input that `--output-dir DIR` would overwrite: a file named `<n>.out` or
/// `<n>.err` in DIR.
pub fn refuse_in_output_dir(inputs: &[Named<'_>], dir: &Path) -> Result<(), String> {
    let Ok(dir) = std::fs::canonicalize(dir) else { return Ok(()) };
    for (what, path) in inputs {
        let (Some(parent), Some(name)) = (path.parent(), path.file_name().and_then(|n| n.to_str())) else {
            continue;
        };
        let parent = if parent.as_os_str().is_empty() { Path::new(".") } else { parent };
        let numbered = name.rsplit_once('.').is_some_and(|(n, ext)| {
            (ext == "out" || ext == "err") && !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())
        });
        if numbered && std::fs::canonicalize(parent).is_ok_and(|p| p == dir) {
            return Err(format!(
                "{what} {} is in --output-dir {}, where tasks' output files <seq>.out and <seq>.err go; \
                 choose another --output-dir",
                path.display(),
                dir.display()
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A symlink to a file not there yet is that file (writing through it creates it): `--log
    /// l.json --results ll.json` with `ll.json -> l.json` wrote both into one file.
    #[test]
    fn a_dangling_symlink_is_its_target() {
        let d = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink("l.json", d.path().join("ll.json")).unwrap();
        std::os::unix::fs::symlink("ll.json", d.path().join("lll.json")).unwrap();
        assert!(same(&d.path().join("l.json"), &d.path().join("ll.json")));
        assert!(same(&d.path().join("lll.json"), &d.path().join("l.json")));
        assert!(!same(&d.path().join("other.json"), &d.path().join("ll.json")));
        std::os::unix::fs::symlink("loop", d.path().join("loop")).unwrap();
        assert!(!same(&d.path().join("loop"), &d.path().join("l.json")));
    }

    #[test]
    fn links_and_spellings_of_one_file_are_the_same() {
        let d = tempfile::tempdir().unwrap();
        let a = d.path().join("a.txt");
        std::fs::write(&a, "x").unwrap();
        std::os::unix::fs::symlink(&a, d.path().join("link")).unwrap();
        std::fs::hard_link(&a, d.path().join("hard")).unwrap();
        assert!(same(&a, &d.path().join("link")));
        assert!(same(&a, &d.path().join("hard")));
        assert!(same(&a, &d.path().join(".").join("a.txt")));
        assert!(!same(&a, &d.path().join("b.txt")));
        // Not there yet: by the resolved path.
        assert!(same(&d.path().join("new"), &d.path().join("./new")));
        let e = refuse_overlap(&[("the task file", &a)], &[("--log", &d.path().join("link"))]).unwrap_err();
        assert!(e.contains("--log") && e.contains("is the task file"), "{e}");
        let new = d.path().join("new");
        let e = refuse_overlap(&[], &[("--log", &new), ("--joblog", &new)]).unwrap_err();
        assert!(e.contains("--joblog") && e.contains("also the --log"), "{e}");
    }

    #[test]
    fn numbered_output_files_in_the_output_dir() {
        let d = tempfile::tempdir().unwrap();
        let t = d.path().join("1.out");
        std::fs::write(&t, "x").unwrap();
        assert!(refuse_in_output_dir(&[("the task file", &t)], d.path()).is_err());
        let other = d.path().join("tasks.txt");
        assert!(refuse_in_output_dir(&[("the task file", &other)], d.path()).is_ok());
    }
}
