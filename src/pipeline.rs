//! `hrun run`: gen, exec and reduce in one command, into a fresh run directory:
//!
//! ```text
//! DIR/tasks.txt     the generated task file
//! DIR/hrun.jsonl    the run log
//! DIR/results/      one mc_pi_<i>.toml per task
//! ```

use std::fs::File;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, anyhow};

use crate::exec::{self, ExecConfig};
use crate::exit::UsageError;
use crate::generate::{self, GenConfig};
use crate::input::TaskSpec;
use crate::reduce;
use crate::taskfile::Source;

pub struct RunConfig {
    pub tasks: u64,
    pub threads: usize,
    pub samples: u64,
    pub seed: u64,
    /// Default: `hrun-run-<UTC time>` in the current directory.
    pub dir: Option<PathBuf>,
    pub worker: Option<PathBuf>,
    pub control: exec::Control,
    pub json: bool,
}

/// Runs the whole map -> run -> reduce flow; returns hrun's exit status.
pub fn run(cfg: &RunConfig) -> Result<i32> {
    // Find the worker, and check the paths that go into task lines, before anything is
    // created: a missing worker leaves no empty run directory.
    let worker = match &cfg.worker {
        Some(w) => w.clone(),
        None => generate::default_worker().map_err(UsageError)?,
    };
    generate::task_path("--worker", &worker)?;
    let dir = claim_run_dir(cfg.dir.as_deref())?;
    let results = dir.join("results");
    let taskfile = dir.join("tasks.txt");
    let mut out = File::create(&taskfile).with_context(|| format!("cannot create {}", taskfile.display()))?;
    generate::write_task_file(
        &GenConfig {
            tasks: cfg.tasks,
            threads: cfg.threads,
            samples: cfg.samples,
            seed: cfg.seed,
            results: results.clone(),
            worker: Some(worker),
        },
        &mut out,
    )?;
    drop(out);
    eprintln!(
        "hrun: {} x {} into {}",
        crate::text::count(cfg.tasks, "task"),
        crate::text::count(cfg.threads as u64, "thread"),
        dir.display()
    );

    let summary = exec::run(&ExecConfig {
        log: Some(dir.join("hrun.jsonl")),
        ..ExecConfig::new(TaskSpec::File(Source::Path(taskfile))).with(cfg.control.clone())
    })?;
    let reduction = reduce::reduce_dir(&results, false)?;
    crate::stdout::print(if cfg.json {
        serde_json::to_string(&reduction)? + "\n"
    } else {
        reduce::render(&reduction)
    })?;
    Ok(summary.exit_code())
}

/// The run directory, new and ours: `--dir`, or `hrun-run-<UTC time>` (with a suffix when
/// taken); it holds an empty `results/`.
fn claim_run_dir(given: Option<&Path>) -> Result<PathBuf> {
    let dir = given.map_or_else(
        || PathBuf::from(format!("hrun-run-{}", utc_stamp(SystemTime::now()))),
        Path::to_path_buf,
    );
    // Its path goes into task lines: checked before anything is created.
    generate::task_path("--dir", &dir)?;
    match given {
        Some(_) => claim_given(&dir).map(|()| dir),
        None => claim_fresh(&dir),
    }
}

/// How many suffixed names (`-2`, `-3`, ...) a default run directory may try.
const MAX_SUFFIX: u32 = 1000;

fn usage(msg: String) -> anyhow::Error {
    UsageError(anyhow!(msg)).into()
}

fn cannot_create(dir: &Path, e: std::io::Error) -> anyhow::Error {
    usage(format!("cannot create run directory {}: {e}", dir.display()))
}

/// Creates a new directory named `base`, else `base-2`, `base-3`... (another hrun started in
/// the same second has `base`; a job array starts many at once), with `results/` in it.
/// `mkdir` without `-p` is the claim: of two hruns, exactly one creates a given name.
fn claim_fresh(base: &Path) -> Result<PathBuf> {
    for n in 1..=MAX_SUFFIX {
        let dir = match n {
            1 => base.to_path_buf(),
            _ => PathBuf::from(format!("{}-{n}", base.display())),
        };
        match std::fs::create_dir(&dir) {
            Ok(()) => {
                return std::fs::create_dir(dir.join("results"))
                    .map(|()| dir.clone())
                    .map_err(|e| cannot_create(&dir, e));
            }
            Err(e) if e.kind() == ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(cannot_create(&dir, e)),
        }
    }
    Err(usage(format!(
        "run directories {} to {}-{MAX_SUFFIX} all exist; give --dir",
        base.display(),
        base.display()
    )))
}

/// `--dir`: created (with its parents) if new, else it must be empty. Creating `results/` in it
/// (without `-p`) is the claim, so two hruns given the same empty directory cannot both take it.
fn claim_given(dir: &Path) -> Result<()> {
    let taken = || {
        usage(format!("run directory {} already exists and is not empty; give a new --dir", dir.display()))
    };
    std::fs::create_dir_all(dir).map_err(|e| cannot_create(dir, e))?;
    if std::fs::read_dir(dir).map_or(true, |mut d| d.next().is_some()) {
        return Err(taken());
    }
    match std::fs::create_dir(dir.join("results")) {
        Err(e) if e.kind() == ErrorKind::AlreadyExists => Err(taken()),
        other => other.map_err(|e| cannot_create(dir, e)),
    }
}

/// `20261126T003000Z` for a time (UTC; no time-zone database needed).
pub fn utc_stamp(t: SystemTime) -> String {
    let c =
        crate::civil::Civil::from_utc_seconds(t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64));
    format!("{:04}{:02}{:02}T{:02}{:02}{:02}Z", c.year, c.month, c.day, c.hour, c.minute, c.second)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_taken_default_name_gets_the_next_suffix() {
        let tmp = tempfile::tempdir().unwrap();
        let base = tmp.path().join("hrun-run-20261126T003000Z");
        let names: Vec<PathBuf> = (0..3).map(|_| claim_fresh(&base).unwrap()).collect();
        assert_eq!(
            names,
            [
                base.clone(),
                tmp.path().join("hrun-run-20261126T003000Z-2"),
                tmp.path().join("hrun-run-20261126T003000Z-3")
            ]
        );
        assert!(names.iter().all(|d| d.join("results").is_dir()));
    }

    #[test]
    fn a_given_directory_is_claimed_once() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("a/b");
        claim_given(&dir).unwrap();
        let e = claim_given(&dir).unwrap_err().to_string();
        assert!(e.ends_with("already exists and is not empty; give a new --dir"), "{e}");
        // An existing empty directory may be used, once.
        let empty = tmp.path().join("empty");
        std::fs::create_dir(&empty).unwrap();
        claim_given(&empty).unwrap();
        assert!(claim_given(&empty).is_err());
        let file = tmp.path().join("file");
        std::fs::write(&file, "").unwrap();
        assert!(claim_given(&file).unwrap_err().to_string().starts_with("cannot create run directory"));
    }

    #[test]
    fn stamps() {
        assert_eq!(utc_stamp(UNIX_EPOCH), "19700101T000000Z");
        assert_eq!(utc_stamp(UNIX_EPOCH + Duration::from_secs(951_782_400)), "20000229T000000Z");
        assert_eq!(utc_stamp(UNIX_EPOCH + Duration::from_secs(1_795_652_497)), "20261126T002137Z");
    }
}
