//! GNU parallel's `--compress`, `--compress-program` and `--decompress-program` (issue 22):
//! the output files a run leaves behind (`--files`' `$TMPDIR/parXXXXX.par`, `--results DIR`'s
//! `stdout` and `stderr`) hold the output compressed, by the program GNU 20221122 would choose
//! (the first of its list found on `PATH`, run as `PROGRAM -c -1`), or by the one given.
//!
//! What the user sees elsewhere is unchanged, as in GNU: grouped output on standard output and
//! a `--results` table hold the output as the task wrote it. GNU also compresses its buffers of
//! grouped output on the way; hrun's buffers are unlinked files it reads back once, so it
//! leaves them as they are (`--decompress-program` has nothing to read back).
//!
//! A task's kept file is compressed when the task ends, before its name is shown, by the shell
//! running the program with the output on standard input, as GNU's own pipeline does; empty
//! output stays an empty file, as GNU's wrapper never starts the program for it.

use std::fs::File;
use std::io::{self, Seek, SeekFrom, Write};
use std::process::{Command, Stdio};

use anyhow::{Context, Result};

/// GNU 20221122's compression programs, fastest first (its `find_compression_program`).
pub const PROGRAMS: &[&str] = &[
    "pzstd", "lbzip2", "pbzip2", "zstd", "pixz", "lz4", "pigz", "lzop", "plzip", "lzip", "gzip", "lrz",
    "pxz", "bzip2", "lzma", "xz", "clzip",
];

/// The command that compresses kept output files (a shell command line).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Compression {
    pub program: String,
}

/// What `--compress`, `--compress-program PRG` and `--decompress-program PRG` ask for:
/// `--compress-program` implies `--compress`; `--decompress-program` alone compresses nothing
/// (as in GNU). `found`: whether a program of [`PROGRAMS`] is on `PATH`. None: no compression;
/// GNU falls back to `cat` when none is found, which leaves the output as it is.
pub fn choose(compress: bool, program: Option<&str>, found: impl Fn(&str) -> bool) -> Option<Compression> {
    if let Some(p) = program {
        return Some(Compression { program: p.to_string() });
    }
    if !compress {
        return None;
    }
    PROGRAMS.iter().find(|p| found(p)).map(|p| Compression { program: format!("{p} -c -1") })
}

/// [`choose`] with the programs on this `PATH`.
pub fn from_path(compress: bool, program: Option<&str>) -> Option<Compression> {
    choose(compress, program, |p| crate::shell::which(p).is_some())
}

impl Compression {
    /// Replaces the contents of `file` (open for reading and writing) by their compressed
    /// form. Its name, owner and permissions stay: the same file is rewritten.
    pub fn compress_in_place(&self, file: &mut File) -> Result<()> {
        if file.metadata().context("cannot read a task's output file")?.len() == 0 {
            return Ok(());
        }
        let mut packed = tempfile::tempfile()
            .context("cannot create a temporary file to compress a task's output in $TMPDIR")?;
        self.run(file, &packed)?;
        file.set_len(0).context("cannot rewrite a task's output file")?;
        file.seek(SeekFrom::Start(0))?;
        packed.seek(SeekFrom::Start(0))?;
        io::copy(&mut packed, file).context("cannot write a task's compressed output")?;
        file.flush()?;
        Ok(())
    }

    /// `sh -c PROGRAM` with `input` on a pipe (as GNU feeds it) and its stdout into `output`.
    fn run(&self, input: &mut File, output: &File) -> Result<()> {
        let mut cmd = Command::new("/bin/sh");
        cmd.arg("-c")
            .arg(&self.program)
            .stdin(Stdio::piped())
            .stdout(output.try_clone().context("cannot share a temporary file")?);
        // hrun's threads block the signals it handles; the program gets them as usual.
        crate::sys::default_signals(&mut cmd);
        crate::sys::term_when_parent_dies(&mut cmd);
        let mut child = cmd.spawn().with_context(|| format!("cannot start {}", self.program))?;
        input.seek(SeekFrom::Start(0))?;
        let fed = child.stdin.take().map(|mut stdin| io::copy(input, &mut stdin));
        let status = child.wait().with_context(|| format!("waiting for {}", self.program))?;
        if !status.success() {
            anyhow::bail!("{} failed ({status})", self.program);
        }
        if let Some(Err(e)) = fed {
            return Err(anyhow::Error::new(e).context(format!("cannot feed {}", self.program)));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn the_first_program_of_gnus_list_found_wins() {
        let found = |p: &str| ["gzip", "zstd", "xz"].contains(&p);
        assert_eq!(choose(true, None, found).unwrap().program, "zstd -c -1");
        assert_eq!(choose(true, None, |p| p == "xz").unwrap().program, "xz -c -1");
        assert_eq!(choose(true, None, |_| false), None);
    }

    #[test]
    fn a_program_given_implies_compress_and_decompress_alone_does_nothing() {
        assert_eq!(choose(false, Some("gzip -9"), |_| true).unwrap().program, "gzip -9");
        assert_eq!(choose(false, None, |_| true), None);
    }

    #[test]
    fn a_file_is_rewritten_through_the_program_and_empty_stays_empty() {
        let c = Compression { program: "tr a-z A-Z".into() };
        let mut f = tempfile::tempfile().unwrap();
        f.write_all(b"abc\n").unwrap();
        c.compress_in_place(&mut f).unwrap();
        let mut s = String::new();
        f.seek(SeekFrom::Start(0)).unwrap();
        f.read_to_string(&mut s).unwrap();
        assert_eq!(s, "ABC\n");
        let mut empty = tempfile::tempfile().unwrap();
        Compression { program: "echo x".into() }.compress_in_place(&mut empty).unwrap();
        assert_eq!(empty.metadata().unwrap().len(), 0);
    }

    #[test]
    fn a_failing_program_is_an_error_naming_it() {
        let mut f = tempfile::tempfile().unwrap();
        f.write_all(b"abc").unwrap();
        let e = Compression { program: "exit 3".into() }.compress_in_place(&mut f).unwrap_err();
        assert!(format!("{e:#}").contains("exit 3 failed"), "{e:#}");
    }
}
