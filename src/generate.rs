//! `hrun gen`: writes a task file for the bundled Monte Carlo pi worker, one seed per task,
//! that `hrun exec` runs with no extra flags (the threads directive is in the file).

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::exit::UsageError;

/// Samples per thread when `--samples` is not given: about 0.3 s per task on one core of a
/// 2020s laptop (3-4e8 samples/s per thread with the scalar kernel).
pub const DEFAULT_SAMPLES: u64 = 100_000_000;
/// The worker binary's name, installed beside `hrun`.
pub const WORKER: &str = "hrun-mc-pi";

#[derive(Clone, Debug)]
pub struct GenConfig {
    pub tasks: u64,
    pub threads: usize,
    /// Per thread.
    pub samples: u64,
    /// Task i (1-based) gets seed `seed + i`.
    pub seed: u64,
    /// Where the workers write `mc_pi_<i>.toml`; made absolute, so the file runs from anywhere.
    pub results: PathBuf,
    pub worker: Option<PathBuf>,
}

/// Writes the task file to `out`.
pub fn write_task_file(cfg: &GenConfig, out: &mut impl Write) -> Result<()> {
    for (name, v) in [("--tasks", cfg.tasks), ("--threads", cfg.threads as u64), ("--samples", cfg.samples)] {
        if v == 0 {
            return Err(UsageError(anyhow::anyhow!("{name} must be at least 1 (got 0)")).into());
        }
    }
    // It may be for another node (a Slurm job's): a note, not a refusal.
    if let Ok(here) = crate::sys::affinity()
        && cfg.threads > here.len()
    {
        crate::messages::note(format_args!(
            "--threads {} is more than the {} this machine lets hrun use: fine for a node with more, but \
             here its tasks cannot each have their own {} CPUs",
            cfg.threads,
            crate::text::count(here.len() as u64, "CPU"),
            cfg.threads
        ));
    }
    let last_seed = cfg.seed.checked_add(cfg.tasks).ok_or_else(|| {
        UsageError(anyhow::anyhow!("--seed {} + --tasks {} overflows a 64-bit seed", cfg.seed, cfg.tasks))
    })?;
    let worker = match &cfg.worker {
        Some(w) => task_path("--worker", w)?,
        None => task_path("--worker", &default_worker().map_err(UsageError)?)?,
    };
    let results = task_path("--results", &cfg.results)?;
    let (w, r) = (shell_quote(&worker), results);
    let mut text = format!(
        "# hrun gen {}: {} x {}, {} samples per thread, seeds {}..={}\n#hrun threads={}\n",
        env!("CARGO_PKG_VERSION"),
        crate::text::count(cfg.tasks, "task"),
        crate::text::count(cfg.threads as u64, "thread"),
        cfg.samples,
        cfg.seed + 1,
        last_seed,
        cfg.threads
    );
    let io = |e| anyhow::Error::new(e).context("cannot write the task file");
    for i in 1..=cfg.tasks {
        let result = shell_quote(&format!("{r}/mc_pi_{i}.toml"));
        text += &format!("{w} -t {} -n {} --seed {} -o {result}\n", cfg.threads, cfg.samples, cfg.seed + i);
        if text.len() > 1 << 16 {
            out.write_all(text.as_bytes()).map_err(io)?;
            text.clear();
        }
    }
    out.write_all(text.as_bytes()).and_then(|_| out.flush()).map_err(io)
}

/// `hrun-mc-pi` beside the running `hrun` (its real path, symlinks resolved: pipx links `hrun`
/// into `~/.local/bin` from its environment's `bin/`, where the worker is), else the first
/// executable one on `PATH`. Neither: a one-line error naming both places and the fixes, which
/// callers report as a usage error (exit 2).
pub fn default_worker() -> Result<PathBuf> {
    let exe = std::env::current_exe().context("cannot locate the hrun binary")?;
    let exe = std::fs::canonicalize(&exe).unwrap_or(exe);
    let beside = exe.with_file_name(WORKER);
    if is_executable(&beside) {
        return Ok(beside);
    }
    let path = std::env::var_os("PATH");
    if let Some(found) =
        path.iter().flat_map(std::env::split_paths).map(|d| d.join(WORKER)).find(|p| is_executable(p))
    {
        return absolute(&found);
    }
    let path = match &path {
        Some(p) if !p.is_empty() => format!("PATH ({})", p.to_string_lossy()),
        _ => "PATH (unset or empty)".into(),
    };
    bail!(
        "the worker {WORKER} is neither beside hrun ({}) nor on {path}; pass --worker PATH, or \
         install both binaries (`cargo install --locked --path .` or `pip install .` in an hrun \
         checkout, or put the checkout's target/release on PATH after `cargo build --release`)",
        beside.display()
    )
}

/// A regular file with an execute bit, as a shell's `PATH` search wants it.
fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

fn absolute(p: &Path) -> Result<PathBuf> {
    std::path::absolute(p).with_context(|| format!("cannot make {} absolute", p.display()))
}

/// `p` made absolute, as it will be written into task lines: refused (exit 2, naming `flag` and
/// the value, escaped) if it holds a newline, which would end the task line early and run the
/// rest as a command of its own, or any other control character, or is not UTF-8.
pub fn task_path(flag: &str, p: &Path) -> Result<String> {
    let abs = std::path::absolute(p).with_context(|| format!("cannot make {} absolute", p.display()))?;
    let refuse = |why: &str| {
        let shown = crate::text::printable(&format!("{:?}", abs.to_string_lossy())).into_owned();
        UsageError(anyhow::anyhow!("{flag} {shown}: {why}")).into()
    };
    match abs.to_str() {
        None => Err(refuse("a path written into task lines must be valid UTF-8")),
        Some(s) if s.chars().any(char::is_control) => {
            Err(refuse("a path written into task lines cannot hold a newline or other control character"))
        }
        Some(s) => Ok(s.to_string()),
    }
}

/// Quotes a word for `/bin/sh` when it needs it (single quotes, `'` as `'\''`).
pub fn shell_quote(word: &str) -> String {
    let plain =
        !word.is_empty() && word.chars().all(|c| c.is_ascii_alphanumeric() || "_-./,:=+@%".contains(c));
    if plain { word.to_string() } else { format!("'{}'", word.replace('\'', r"'\''")) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gen_text(tasks: u64, threads: usize) -> String {
        let cfg = GenConfig {
            tasks,
            threads,
            samples: 1000,
            seed: 10,
            results: "/r".into(),
            worker: Some("/opt/hrun/hrun-mc-pi".into()),
        };
        let mut out = Vec::new();
        write_task_file(&cfg, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn the_course_node_file() {
        let text = gen_text(36, 4);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2 + 36);
        assert_eq!(lines[1], "#hrun threads=4");
        assert_eq!(lines[2], "/opt/hrun/hrun-mc-pi -t 4 -n 1000 --seed 11 -o /r/mc_pi_1.toml");
        assert_eq!(lines[37], "/opt/hrun/hrun-mc-pi -t 4 -n 1000 --seed 46 -o /r/mc_pi_36.toml");
        assert!(
            lines[0].ends_with(": 36 tasks x 4 threads, 1000 samples per thread, seeds 11..=46"),
            "{}",
            lines[0]
        );
        // One of each is not plural (issue 26: "8 tasks x 1 threads").
        let one = gen_text(1, 1);
        assert!(one.lines().next().unwrap().contains(": 1 task x 1 thread, "), "{one}");
    }

    #[test]
    fn zero_values_are_refused() {
        let mut cfg = GenConfig {
            tasks: 0,
            threads: 1,
            samples: 1,
            seed: 0,
            results: "r".into(),
            worker: Some("w".into()),
        };
        let e = write_task_file(&cfg, &mut Vec::new()).unwrap_err().to_string();
        assert!(e.contains("--tasks must be at least 1"), "{e}");
        cfg.tasks = 2;
        cfg.seed = u64::MAX - 1;
        assert!(write_task_file(&cfg, &mut Vec::new()).unwrap_err().to_string().contains("overflows"));
    }

    #[test]
    fn paths_that_would_break_a_task_line_are_refused() {
        let e = task_path("--results", Path::new("/x\ntouch PWNED #")).unwrap_err().to_string();
        assert_eq!(
            e,
            r#"--results "/x\ntouch PWNED #": a path written into task lines cannot hold a newline or other control character"#
        );
        assert!(
            task_path("--worker", Path::new("/w\x1b[2J"))
                .unwrap_err()
                .to_string()
                .starts_with(r#"--worker "/w\u{1b}[2J""#)
        );
        assert_eq!(task_path("--results", Path::new("/my dir/r's")).unwrap(), "/my dir/r's");
        use std::os::unix::ffi::OsStrExt;
        let not_utf8 = Path::new(std::ffi::OsStr::from_bytes(b"/r\xff"));
        assert!(task_path("--results", not_utf8).unwrap_err().to_string().contains("valid UTF-8"));
    }

    #[test]
    fn quoting() {
        assert_eq!(shell_quote("/a/b-c_d.toml"), "/a/b-c_d.toml");
        assert_eq!(shell_quote("/my dir/x"), "'/my dir/x'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote(""), "''");
    }
}
