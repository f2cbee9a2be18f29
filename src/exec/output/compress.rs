//! GNU parallel's `--compress`, `--compress-program` and `--decompress-program` (issue 22):
//! the output files a run leaves behind (`--files`' `$TMPDIR/parXXXXX.par`, `--results DIR`'s
//! `stdout` and `stderr`) hold the output compressed, by the program GNU 20221122 would choose
//! (the first of its list found on `PATH`, run as `PROGRAM -c -1`), or by the one given.
//!
//! Grouped output (shown when a job ends, `-k` or not, and `--line-buffer`'s) goes through
//! both programs on its way, as GNU's buffers do: each stream the job wrote is compressed,
//! then decompressed (`--decompress-program`, else `PROGRAM -dc`), and what the second
//! program printed is shown. As in GNU, a compressor that fails is said (`parallel: Error:
//! PRG failed.`, once per stream) and a failing decompressor is not. With `--compress`,
//! `--line-buffer` shows a job's lines when it ends (they have to pass both programs first),
//! as grouped output does.
//! A `--results` table holds the output as the task wrote it.
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

/// The commands that compress kept output files and read grouped output back (shell command
/// lines).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Compression {
    pub program: String,
    /// `--decompress-program`, else GNU's default for the compressor.
    pub decompress: String,
}

impl Compression {
    /// `program`, read back by `decompress` or, as GNU does, by `PROGRAM -dc`.
    pub fn new(program: String, decompress: Option<&str>) -> Compression {
        let decompress = decompress.map_or_else(|| format!("{} -dc", base(&program)), str::to_string);
        Compression { program, decompress }
    }
}

/// GNU's default decompressor names the compressor without the `-c -1` it chose for it.
fn base(program: &str) -> &str {
    program.strip_suffix(" -c -1").unwrap_or(program)
}

/// What `--compress`, `--compress-program PRG` and `--decompress-program PRG` ask for:
/// `--compress-program` implies `--compress`; `--decompress-program` alone compresses nothing
/// (as in GNU). `found`: whether a program of [`PROGRAMS`] is on `PATH`. None: no compression;
/// GNU falls back to `cat` when none is found, which leaves the output as it is.
pub fn choose(
    compress: bool,
    program: Option<&str>,
    decompress: Option<&str>,
    found: impl Fn(&str) -> bool,
) -> Option<Compression> {
    if let Some(p) = program {
        return Some(Compression::new(p.to_string(), decompress));
    }
    if !compress {
        return None;
    }
    PROGRAMS.iter().find(|p| found(p)).map(|p| Compression::new(format!("{p} -c -1"), decompress))
}

/// [`choose`] with the programs on this `PATH`.
pub fn from_path(compress: bool, program: Option<&str>, decompress: Option<&str>) -> Option<Compression> {
    choose(compress, program, decompress, |p| crate::shell::which(p).is_some())
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

    /// Grouped output on its way: the contents of `file` replaced by what the decompressor
    /// makes of the compressor's output. Err: the compressor failed (its output is still
    /// read back, as GNU does); a failing decompressor is not an error.
    pub fn round_trip(&self, file: &mut File) -> Result<()> {
        if file.metadata().context("cannot read a task's output file")?.len() == 0 {
            return Ok(());
        }
        let mut packed = tempfile::tempfile()
            .context("cannot create a temporary file to compress a task's output in $TMPDIR")?;
        let packing = self.run(file, &packed);
        let unpacked = tempfile::tempfile()
            .context("cannot create a temporary file to decompress a task's output in $TMPDIR")?;
        if packed.metadata().context("cannot read compressed output")?.len() > 0 {
            let _ = run(&self.decompress, &mut packed, &unpacked);
        }
        let mut unpacked = unpacked;
        file.set_len(0).context("cannot rewrite a task's output file")?;
        file.seek(SeekFrom::Start(0))?;
        unpacked.seek(SeekFrom::Start(0))?;
        io::copy(&mut unpacked, file).context("cannot write a task's decompressed output")?;
        file.flush()?;
        file.seek(SeekFrom::Start(0))?;
        packing
    }

    fn run(&self, input: &mut File, output: &File) -> Result<()> {
        run(&self.program, input, output)
    }
}

/// `sh -c PROGRAM` with `input` on a pipe (as GNU feeds it) and its stdout into `output`.
fn run(program: &str, input: &mut File, output: &File) -> Result<()> {
    let mut cmd = Command::new("/bin/sh");
    cmd.arg("-c")
        .arg(program)
        .stdin(Stdio::piped())
        .stdout(output.try_clone().context("cannot share a temporary file")?);
    // hrun's threads block the signals it handles; the program gets them as usual.
    crate::sys::default_signals(&mut cmd);
    crate::sys::term_when_parent_dies(&mut cmd);
    let mut child = cmd.spawn().with_context(|| format!("cannot start {program}"))?;
    input.seek(SeekFrom::Start(0))?;
    let fed = child.stdin.take().map(|mut stdin| io::copy(input, &mut stdin));
    let status = child.wait().with_context(|| format!("waiting for {program}"))?;
    if !status.success() {
        anyhow::bail!("{program} failed ({status})");
    }
    if let Some(Err(e)) = fed {
        return Err(anyhow::Error::new(e).context(format!("cannot feed {program}")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn the_first_program_of_gnus_list_found_wins() {
        let found = |p: &str| ["gzip", "zstd", "xz"].contains(&p);
        assert_eq!(choose(true, None, None, found).unwrap().program, "zstd -c -1");
        assert_eq!(choose(true, None, None, found).unwrap().decompress, "zstd -dc");
        assert_eq!(choose(true, None, None, |p| p == "xz").unwrap().program, "xz -c -1");
        assert_eq!(choose(true, None, None, |_| false), None);
    }

    #[test]
    fn a_program_given_implies_compress_and_decompress_alone_does_nothing() {
        assert_eq!(choose(false, Some("gzip -9"), None, |_| true).unwrap().program, "gzip -9");
        assert_eq!(choose(false, Some("gzip -9"), None, |_| true).unwrap().decompress, "gzip -9 -dc");
        assert_eq!(choose(false, Some("a"), Some("b"), |_| true).unwrap().decompress, "b");
        assert_eq!(choose(false, None, Some("b"), |_| true), None);
    }

    #[test]
    fn a_file_is_rewritten_through_the_program_and_empty_stays_empty() {
        let c = Compression::new("tr a-z A-Z".into(), None);
        let mut f = tempfile::tempfile().unwrap();
        f.write_all(b"abc\n").unwrap();
        c.compress_in_place(&mut f).unwrap();
        let mut s = String::new();
        f.seek(SeekFrom::Start(0)).unwrap();
        f.read_to_string(&mut s).unwrap();
        assert_eq!(s, "ABC\n");
        let mut empty = tempfile::tempfile().unwrap();
        Compression::new("echo x".into(), None).compress_in_place(&mut empty).unwrap();
        assert_eq!(empty.metadata().unwrap().len(), 0);
    }

    #[test]
    fn a_failing_program_is_an_error_naming_it() {
        let mut f = tempfile::tempfile().unwrap();
        f.write_all(b"abc").unwrap();
        let e = Compression::new("exit 3".into(), None).compress_in_place(&mut f).unwrap_err();
        assert!(format!("{e:#}").contains("exit 3 failed"), "{e:#}");
    }

    #[test]
    fn a_round_trip_shows_what_the_decompressor_printed_and_says_only_a_failing_compressor() {
        let read = |f: &mut File| {
            let mut s = String::new();
            f.seek(SeekFrom::Start(0)).unwrap();
            f.read_to_string(&mut s).unwrap();
            s
        };
        let with = |c: &str, d: &str, text: &[u8]| {
            let mut f = tempfile::tempfile().unwrap();
            f.write_all(text).unwrap();
            let r = Compression::new(c.into(), Some(d)).round_trip(&mut f).map_err(|e| format!("{e:#}"));
            (r, read(&mut f))
        };
        assert_eq!(with("tr a-z A-Z", "tr A-Z a-z", b"abc\n"), (Ok(()), "abc\n".into()));
        assert_eq!(with("tr a-z A-Z", "cat", b"abc\n"), (Ok(()), "ABC\n".into()));
        let (r, text) = with("cat; false", "cat", b"abc\n");
        assert!(r.unwrap_err().contains("cat; false failed"));
        assert_eq!(text, "abc\n", "what the failing compressor printed is still read back");
        assert_eq!(with("cat", "cat; false", b"abc\n"), (Ok(()), "abc\n".into()));
        assert_eq!(with("false", "cat", b"abc\n").1, "", "nothing compressed, nothing shown");
        assert_eq!(with("false", "cat", b""), (Ok(()), "".into()), "empty output: no program runs");
    }
}
