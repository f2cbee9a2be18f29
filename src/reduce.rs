//! `hrun reduce`: combines the results of a sweep. The bundled worker's result files pool into
//! one pi estimate with its standard error (this file); any other program's results (a
//! `--results` table, a run log, a directory of per-task files) are grouped by parameters and
//! summarised per group and field ([`sweep`]). Which one a command gets: directories holding a
//! worker result (`*.toml` with the worker's `format`) are the worker's.
//!
//! For the worker's files, sums are exact integers (u128); floats appear only in the estimate.
//!
//! Which files count: every `*.toml` not starting with `.` (the worker's temporary files
//! start with `.`, so a crashed worker's leftovers are never read). Other files (logs, task
//! files) are ignored. A `.toml` that is not a valid result (not a regular file, over 1 MiB,
//! not TOML, a negative or non-finite number, a seed already seen with different samples) is
//! an error naming the file, unless `--skip-bad`. Quoted content in messages is cut short.

pub mod parse;
pub mod sweep;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{Result, anyhow};
use hrun_protocol::result::McPiResult;
use serde::Serialize;

use crate::exit::UsageError;
use crate::text::{count, printable};

/// The combined estimate. JSON keys are a public interface (`hrun reduce --json`).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Reduction {
    pub tasks: u64,
    pub samples: u128,
    pub hits: u128,
    pub pi: f64,
    /// `4 * sqrt(p (1 - p) / N)` with `p = hits / N`.
    pub stderr: f64,
    /// `(pi_estimate - pi) / stderr`.
    pub z: f64,
    /// Total samples over the wall-clock span of all tasks (first start to last end):
    /// the throughput the whole run achieved.
    pub samples_per_s: f64,
    /// That span, in seconds.
    pub span_s: f64,
    /// Worker CPU seconds (user + system), summed.
    pub cpu_s: f64,
    /// Total samples per worker CPU-second.
    pub samples_per_cpu_s: f64,
    /// Files skipped as bad (`--skip-bad`).
    pub skipped: u64,
    /// Results dropped because an earlier file had the same seed and the same samples.
    pub duplicates: u64,
}

/// Combines results (pure). Panics on an empty slice: callers check first.
pub fn combine(results: &[McPiResult]) -> Reduction {
    assert!(!results.is_empty());
    let samples: u128 = results.iter().map(|r| r.samples as u128).sum();
    let hits: u128 = results.iter().map(|r| r.hits as u128).sum();
    let p = hits as f64 / samples as f64;
    let pi = 4.0 * p;
    let stderr = 4.0 * (p * (1.0 - p) / samples as f64).sqrt();
    let cpu_s: f64 = results.iter().map(|r| r.cpu_s).sum();
    let first = results.iter().map(|r| r.start).fold(f64::INFINITY, f64::min);
    let last = results.iter().map(|r| r.start + r.elapsed_s).fold(f64::NEG_INFINITY, f64::max);
    let span_s = (last - first).max(0.0);
    Reduction {
        tasks: results.len() as u64,
        samples,
        hits,
        pi,
        stderr,
        z: (pi - std::f64::consts::PI) / stderr,
        samples_per_s: if span_s > 0.0 { samples as f64 / span_s } else { 0.0 },
        span_s,
        cpu_s,
        samples_per_cpu_s: if cpu_s > 0.0 { samples as f64 / cpu_s } else { 0.0 },
        skipped: 0,
        duplicates: 0,
    }
}

/// What `hrun reduce` was asked.
pub struct Request<'a> {
    pub paths: &'a [PathBuf],
    /// `--by a,b`; `Some(empty)` for one group.
    pub by: Option<Vec<String>>,
    pub json: bool,
    pub csv: bool,
    pub skip_bad: bool,
}

/// `hrun reduce`: the text to print (warnings go to stderr).
pub fn command(req: &Request) -> Result<String> {
    if req.paths.iter().any(|p| p.is_dir() && holds_worker_result(p)) {
        if req.by.is_some() {
            return Err(usage(
                "--by: the worker's results pool into one estimate (hits over samples); there is nothing to group"
                    .into(),
            ));
        }
        let r = reduce_dirs(req.paths, req.skip_bad)?;
        return Ok(if req.json {
            serde_json::to_string(&r)? + "\n"
        } else if req.csv {
            pi_csv(&r)
        } else {
            render(&r)
        });
    }
    let bad = sweep::Bad { skip: req.skip_bad };
    let mut all = sweep::Sweep::default();
    for path in req.paths {
        all.add(sweep::Input::of(path)?.read(bad)?)?;
    }
    if all.tasks.is_empty() {
        let what = req.paths.iter().map(|p| shown(p)).collect::<Vec<_>>().join(", ");
        return Err(usage(format!(
            "no usable task result in {what} ({} skipped)",
            count(all.skipped, "bad one")
        )));
    }
    let by = sweep::grouping(&all, req.by.as_deref());
    if req.by.is_none() && !all.names.is_empty() {
        crate::messages::note(format_args!(
            "grouped by {}; reduced over {}, the last value column (--by to choose)",
            if by.is_empty() { "nothing".to_string() } else { by.join(", ") },
            all.names.last().map(String::as_str).unwrap_or_default()
        ));
    }
    let rows = sweep::summarise(&mut all, &by, bad)?;
    if all.skipped > 0 {
        eprintln!("hrun: skipped {}", count(all.skipped, "bad task result"));
    }
    Ok(if req.json {
        sweep::render_json(&by, &rows, all.skipped)
    } else if req.csv {
        sweep::render_csv(&by, &rows)
    } else {
        sweep::render(&by, &rows)
    })
}

/// Whether `dir` holds a worker result file: then the directory is the worker's (a bad
/// `*.toml` among them is an error of the worker's kind, as before).
fn holds_worker_result(dir: &Path) -> bool {
    list_results(&[dir.to_path_buf()])
        .map(|files| files.iter().any(|f| read_result(f).is_ok()))
        .unwrap_or(true)
}

/// The worker's estimate as a CSV header and row (the `--json` keys).
fn pi_csv(r: &Reduction) -> String {
    let serde_json::Value::Object(map) = serde_json::to_value(r).unwrap_or_default() else {
        return String::new();
    };
    let keys: Vec<&str> = map.keys().map(String::as_str).collect();
    let values: Vec<String> = map.values().map(|v| v.to_string()).collect();
    format!("{}\n{}\n", keys.join(","), values.join(","))
}

/// Reads and combines every result in `dir`. Warnings go to stderr.
pub fn reduce_dir(dir: &Path, skip_bad: bool) -> Result<Reduction> {
    reduce_dirs(&[dir.to_path_buf()], skip_bad)
}

/// Reads and combines the results of several directories (e.g. one per node); a seed found
/// twice anywhere counts once if both files hold the same samples, and is an error if not.
pub fn reduce_dirs(dirs: &[PathBuf], skip_bad: bool) -> Result<Reduction> {
    let dir = dirs.iter().map(|d| shown(d)).collect::<Vec<_>>().join(", ");
    let files = list_results(dirs)?;
    if files.is_empty() {
        return Err(usage(format!(
            "no result files (*.toml) in {dir}; run the tasks first (hrun exec) or check the path"
        )));
    }
    let mut kept = Kept::default();
    for path in &files {
        let Err(why) = read_result(path).and_then(|r| kept.add(path, r)) else { continue };
        if !skip_bad {
            return Err(usage(format!("{}: {why} (use --skip-bad to leave such files out)", shown(path))));
        }
        crate::messages::warning(format_args!("skipping {}: {why}", shown(path)));
        kept.skipped += 1;
    }
    if kept.results.is_empty() {
        return Err(usage(format!(
            "no usable result in {dir} ({} skipped)",
            count(kept.skipped, "bad file")
        )));
    }
    if kept.skipped > 0 {
        eprintln!("hrun: skipped {} in {dir}", count(kept.skipped, "bad file"));
    }
    Ok(Reduction { skipped: kept.skipped, duplicates: kept.duplicates, ..combine(&kept.results) })
}

/// Combines the results among `files` that can be read (e.g. the files a run log's tasks
/// named), leaving out, without a word, those that are missing or bad and the repeats of a
/// seed; `None` when none can be read.
pub fn reduce_files_quietly(files: &[PathBuf]) -> Option<Reduction> {
    let mut kept = Kept { quiet: true, ..Kept::default() };
    for path in files {
        if read_result(path).and_then(|r| kept.add(path, r)).is_err() {
            kept.skipped += 1;
        }
    }
    if kept.results.is_empty() {
        return None;
    }
    Some(Reduction { skipped: kept.skipped, duplicates: kept.duplicates, ..combine(&kept.results) })
}

fn usage(msg: String) -> anyhow::Error {
    UsageError(anyhow!(msg)).into()
}

/// A path as messages show it: control characters escaped, length capped.
fn shown(p: &Path) -> String {
    printable(&p.display().to_string()).into_owned()
}

/// The largest result file read: a real one is about 500 bytes.
const MAX_RESULT_FILE: u64 = crate::smallfile::MIB;

/// Every `*.toml` not starting with `.` in each directory, in natural order per directory.
/// Subdirectories are passed over; anything else named `*.toml` (a FIFO, a device) is listed,
/// to be refused by [`read_result`] rather than silently left out.
fn list_results(dirs: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for d in dirs {
        let entries = std::fs::read_dir(d)
            .map_err(|e| usage(format!("cannot read results directory {}: {e}", shown(d))))?;
        let mut here: Vec<PathBuf> = entries
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| {
                let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                !name.starts_with('.') && name.ends_with(".toml") && !p.is_dir()
            })
            .collect();
        here.sort_by_cached_key(|p| natural_key(p));
        files.extend(here);
    }
    Ok(files)
}

/// One result file, read only if it is a small regular file; why not, on one short line.
fn read_result(path: &Path) -> Result<McPiResult, String> {
    let text = crate::smallfile::read(path, MAX_RESULT_FILE).map_err(|e| format!("cannot read: {e}"))?;
    McPiResult::parse(&text).map_err(|e| printable(&e.to_string()).into_owned())
}

/// The results kept so far, one per seed, and what was left out.
#[derive(Default)]
struct Kept {
    results: Vec<McPiResult>,
    /// Seed -> index in `results` and the file it came from.
    first_of_seed: HashMap<u64, (usize, PathBuf)>,
    skipped: u64,
    duplicates: u64,
    /// No warning for a repeated seed.
    quiet: bool,
}

impl Kept {
    /// Keeps `r`; counts it once if an earlier file of its seed holds the same samples (a task
    /// run twice); refuses it if that file holds different ones (they cannot both be right).
    fn add(&mut self, path: &Path, r: McPiResult) -> Result<(), String> {
        let Some((i, first)) = self.first_of_seed.get(&r.seed) else {
            self.first_of_seed.insert(r.seed, (self.results.len(), path.to_path_buf()));
            self.results.push(r);
            return Ok(());
        };
        let earlier = &self.results[*i];
        let samples = |r: &McPiResult| (r.threads, r.samples_per_thread, r.samples, r.hits);
        if samples(earlier) != samples(&r) {
            return Err(format!(
                "seed {} is also in {}, with different samples (there {} x {} samples, {} hits; here {} x {}, {} hits): \
                 they cannot both be right",
                r.seed,
                shown(first),
                earlier.threads,
                earlier.samples_per_thread,
                earlier.hits,
                r.threads,
                r.samples_per_thread,
                r.hits
            ));
        }
        if !self.quiet {
            crate::messages::warning(format_args!(
                "{} has the same seed {} as {}: their samples are identical, not \
                 independent; counting it once",
                shown(path),
                r.seed,
                shown(first)
            ));
        }
        self.duplicates += 1;
        Ok(())
    }
}

/// Sorts `mc_pi_2.toml` before `mc_pi_10.toml`: digits compare as numbers.
fn natural_key(p: &Path) -> Vec<(String, u64)> {
    let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let mut key = Vec::new();
    let mut text = String::new();
    let mut chars = name.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() {
            let mut n = c.to_digit(10).unwrap() as u64;
            while let Some(d) = chars.peek().and_then(|d| d.to_digit(10)) {
                n = n.saturating_mul(10).saturating_add(d as u64);
                chars.next();
            }
            key.push((std::mem::take(&mut text), n));
        } else {
            text.push(c);
        }
    }
    key.push((text, 0));
    key
}

/// The human-readable report.
pub fn render(r: &Reduction) -> String {
    let mut s = format!(
        "tasks            {}\nsamples          {}\nhits             {}\npi               {:.10} ± {:.2e} (1 standard error)\n\
         error vs pi      {:+.2e} = {:+.2} standard errors\nworker CPU time  {:.2} s\n\
         rate             {} samples/s over {:.2} s wall clock, {} samples per CPU-second\n",
        r.tasks,
        r.samples,
        r.hits,
        r.pi,
        r.stderr,
        r.pi - std::f64::consts::PI,
        r.z,
        r.cpu_s,
        crate::reduce::sweep::plain(r.samples_per_s.round()),
        r.span_s,
        crate::reduce::sweep::plain(r.samples_per_cpu_s.round())
    );
    if r.duplicates > 0 {
        s += &format!(
            "duplicates       {} with a repeated seed counted once\n",
            count(r.duplicates, "result")
        );
    }
    if r.skipped > 0 {
        s += &format!("skipped          {}\n", count(r.skipped, "bad file"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(seed: u64, samples: u64, hits: u64) -> McPiResult {
        McPiResult {
            format: hrun_protocol::result::FORMAT.into(),
            seed,
            threads: 1,
            samples_per_thread: samples,
            samples,
            hits,
            pi: 4.0 * hits as f64 / samples as f64,
            start: 100.0 + seed as f64,
            elapsed_s: 1.0,
            samples_per_s: samples as f64,
            cpu_s: 2.0,
            cpus: "0".into(),
            host: "h".into(),
            version: "0".into(),
            kernel: "scalar".into(),
        }
    }

    #[test]
    fn exact_sums_and_estimate() {
        let r = combine(&[result(1, 1000, 785), result(2, 3000, 2356)]);
        assert_eq!((r.tasks, r.samples, r.hits), (2, 4000, 3141));
        assert_eq!(r.pi, 4.0 * 3141.0 / 4000.0);
        let p = 3141.0 / 4000.0;
        assert!((r.stderr - 4.0 * f64::sqrt(p * (1.0 - p) / 4000.0)).abs() < 1e-15);
        assert_eq!(r.cpu_s, 4.0);
        // Starts at 101 and 102, each runs 1 s: a 2 s span.
        assert_eq!(r.span_s, 2.0);
        assert_eq!(r.samples_per_s, 2000.0);
        assert_eq!(r.samples_per_cpu_s, 1000.0);
    }

    /// Rates in plain numbers (issue 26: "6.894e7 samples/s"), whole samples.
    #[test]
    fn the_report_gives_rates_as_plain_numbers() {
        let mut r = combine(&[result(1, 1000, 785), result(2, 3000, 2356)]);
        (r.samples_per_s, r.samples_per_cpu_s) = (68_941_234.4, 57_950_000.6);
        let text = render(&r);
        let rate = text.lines().find(|l| l.starts_with("rate")).unwrap();
        assert_eq!(
            rate,
            "rate             68941234 samples/s over 2.00 s wall clock, 57950001 samples per CPU-second"
        );
    }

    #[test]
    fn sums_beyond_u64_stay_exact() {
        let big = u64::MAX / 2;
        let r = combine(&[result(1, big, big / 2), result(2, big, big / 2), result(3, big, big / 2)]);
        assert_eq!(r.samples, 3 * big as u128);
        assert_eq!(r.hits, 3 * (big / 2) as u128);
    }

    #[test]
    fn natural_order() {
        let mut v: Vec<PathBuf> =
            ["mc_pi_10.toml", "mc_pi_2.toml", "mc_pi_1.toml"].iter().map(PathBuf::from).collect();
        v.sort_by_cached_key(|p| natural_key(p));
        assert_eq!(v, ["mc_pi_1.toml", "mc_pi_2.toml", "mc_pi_10.toml"].map(PathBuf::from));
    }
}
