//! `hrun run`: gen, exec and reduce in one command, into a fresh run directory:
//!
//! ```text
//! DIR/tasks.txt     the generated task file
//! DIR/hrun.jsonl    the run log
//! DIR/results/      one mc_pi_<i>.toml per task
//! ```

use std::fs::File;
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, anyhow};

use crate::exec::{self, ExecConfig, output::OutputMode};
use crate::exit::UsageError;
use crate::generate::{self, GenConfig};
use crate::reduce;
use crate::taskfile::Source;

pub struct RunConfig {
    pub tasks: u64,
    pub threads: usize,
    pub samples: u64,
    pub seed: u64,
    pub jobs: Option<usize>,
    /// Default: `hrun-run-<UTC time>` in the current directory.
    pub dir: Option<PathBuf>,
    pub worker: Option<PathBuf>,
    pub policy: exec::Policy,
    pub placement: crate::placement::Placement,
    pub progress: exec::progress::ProgressMode,
    pub json: bool,
}

/// Runs the whole map -> run -> reduce flow; returns hrun's exit status.
pub fn run(cfg: &RunConfig) -> Result<i32> {
    // Paths that go into task lines are checked before anything is created.
    if let Some(w) = &cfg.worker {
        generate::task_path("--worker", w)?;
    }
    let dir = match &cfg.dir {
        Some(d) => generate::task_path("--dir", d).map(|_| d.clone())?,
        None => PathBuf::from(format!("hrun-run-{}", utc_stamp(SystemTime::now()))),
    };
    if dir.exists() && std::fs::read_dir(&dir).map(|mut d| d.next().is_some()).unwrap_or(true) {
        return Err(UsageError(anyhow!(
            "run directory {} already exists and is not empty; give a new --dir",
            dir.display()
        ))
        .into());
    }
    let results = dir.join("results");
    std::fs::create_dir_all(&results)
        .with_context(|| format!("cannot create run directory {}", results.display()))
        .map_err(UsageError)?;
    let taskfile = dir.join("tasks.txt");
    let mut out = File::create(&taskfile).with_context(|| format!("cannot create {}", taskfile.display()))?;
    generate::write_task_file(
        &GenConfig {
            tasks: cfg.tasks,
            threads: cfg.threads,
            samples: cfg.samples,
            seed: cfg.seed,
            results: results.clone(),
            worker: cfg.worker.clone(),
        },
        &mut out,
    )?;
    drop(out);
    eprintln!("hrun: {} tasks x {} threads into {}", cfg.tasks, cfg.threads, dir.display());

    let summary = exec::run(&ExecConfig {
        source: Source::Path(taskfile),
        threads: None,
        threads_default: None,
        jobs: cfg.jobs,
        log: Some(dir.join("hrun.jsonl")),
        joblog: None,
        output: OutputMode::Group,
        policy: cfg.policy.clone(),
        resume: None,
        force: false,
        placement: cfg.placement.clone(),
        quiet: false,
        progress: cfg.progress,
        shard: None,
    })?;
    let reduction = reduce::reduce_dir(&results, false)?;
    crate::stdout::print(if cfg.json {
        serde_json::to_string(&reduction)? + "\n"
    } else {
        reduce::render(&reduction)
    })?;
    Ok(summary.exit_code())
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
    fn stamps() {
        assert_eq!(utc_stamp(UNIX_EPOCH), "19700101T000000Z");
        assert_eq!(utc_stamp(UNIX_EPOCH + Duration::from_secs(951_782_400)), "20000229T000000Z");
        assert_eq!(utc_stamp(UNIX_EPOCH + Duration::from_secs(1_795_652_497)), "20261126T002137Z");
    }
}
