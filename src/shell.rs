//! Which shell runs a task's line, chosen as GNU parallel chooses it: `--shell`, else
//! `$PARALLEL_SHELL`, else the shell hrun was started from (the nearest ancestor process that
//! is a shell: the user's interactive shell, or the batch script's), else `$SHELL`, else
//! `/bin/sh`. So `paste <(zcat {}) ...`, `[[ ]]` and `set -o pipefail` run in bash from a bash
//! prompt, as they do under GNU parallel. The choice depends on hrun's environment alone, never
//! on a task's values.

use std::path::{Path, PathBuf};

/// Names of shells, as GNU parallel 20221122 recognises a parent process as one.
const SHELLS: &[&str] = &[
    "ash",
    "bash",
    "csh",
    "dash",
    "fdsh",
    "fish",
    "fizsh",
    "ksh",
    "ksh93",
    "mksh",
    "pdksh",
    "posh",
    "rbash",
    "rc",
    "rush",
    "rzsh",
    "sash",
    "sh",
    "static-sh",
    "tcsh",
    "yash",
    "zsh",
];

/// Where the shell came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Chosen {
    /// `--shell`
    Flag,
    /// `$PARALLEL_SHELL`
    ParallelShell,
    /// The nearest ancestor process that is a shell.
    Parent,
    /// `$SHELL`
    ShellVar,
    /// `/bin/sh`
    Default,
}

impl Chosen {
    fn origin(self) -> &'static str {
        match self {
            Chosen::Flag => "--shell",
            Chosen::ParallelShell => "PARALLEL_SHELL",
            Chosen::Parent => "the parent shell",
            Chosen::ShellVar => "SHELL",
            Chosen::Default => "the default shell",
        }
    }
}

/// The shell lines run with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shell {
    pub path: PathBuf,
    pub chosen: Chosen,
}

impl Shell {
    /// Chooses the shell (see the module documentation); a shell named by `--shell` or
    /// `$PARALLEL_SHELL` that is not an executable is a usage error naming it.
    pub fn choose(flag: Option<&Path>) -> Result<Shell, String> {
        let env = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty()).map(PathBuf::from);
        let (path, chosen) = if let Some(p) = flag {
            (p.to_path_buf(), Chosen::Flag)
        } else if let Some(p) = env("PARALLEL_SHELL") {
            (p, Chosen::ParallelShell)
        } else if let Some(p) = parent_shell() {
            (p, Chosen::Parent)
        } else if let Some(p) = env("SHELL").filter(|p| is_executable(p)) {
            (p, Chosen::ShellVar)
        } else {
            (PathBuf::from("/bin/sh"), Chosen::Default)
        };
        let found = if path.components().count() > 1 || path.is_absolute() {
            Some(path.clone()).filter(|p| is_executable(p))
        } else {
            std::env::var_os("PATH").and_then(|dirs| {
                std::env::split_paths(&dirs).map(|d| d.join(&path)).find(|p| is_executable(p))
            })
        };
        match found {
            Some(path) => Ok(Shell { path, chosen }),
            None => Err(format!("{} {}{}", chosen.origin(), path.display(), crate::exit::NO_SHELL)),
        }
    }

    /// Where the shell came from, for messages (`PARALLEL_SHELL`, `the parent shell`).
    pub fn origin(&self) -> &'static str {
        self.chosen.origin()
    }

    /// The user named this shell (`--shell`, `$PARALLEL_SHELL`): it runs every line, since it
    /// may set the task up (a container or module wrapper, BASH_ENV), even a line the shell
    /// would only split into words.
    pub fn named_by_user(&self) -> bool {
        matches!(self.chosen, Chosen::Flag | Chosen::ParallelShell)
    }

    /// The shell's name without its directory (`bash`).
    pub fn name(&self) -> &str {
        self.path.file_name().and_then(|n| n.to_str()).unwrap_or("sh")
    }
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The nearest ancestor process (parent, grandparent, ...) that is a shell: its executable.
fn parent_shell() -> Option<PathBuf> {
    let mut pid = std::os::unix::process::parent_id();
    for _ in 0..64 {
        if pid <= 1 {
            return None;
        }
        let (name, ppid) = comm_and_ppid(pid)?;
        let name = name.trim_start_matches('-');
        if SHELLS.contains(&name) {
            // The executable itself (comm is cut at 15 bytes; a login shell's is `-bash`).
            return std::fs::read_link(format!("/proc/{pid}/exe"))
                .ok()
                .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| SHELLS.contains(&n)))
                .or_else(|| which(name));
        }
        pid = ppid;
    }
    None
}

/// A process's command name and its parent, from `/proc/<pid>/stat`.
fn comm_and_ppid(pid: u32) -> Option<(String, u32)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // `pid (comm) state ppid ...`; comm may hold spaces and parentheses: the last `)` ends it.
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let comm = stat[open + 1..close].to_string();
    let ppid = stat[close + 1..].split_whitespace().nth(1)?.parse().ok()?;
    Some((comm, ppid))
}

/// `name` found on `PATH`.
pub fn which(name: &str) -> Option<PathBuf> {
    let dirs = std::env::var_os("PATH")?;
    std::env::split_paths(&dirs).map(|d| d.join(name)).find(|p| is_executable(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flag_wins_and_a_missing_shell_is_named() {
        let s = Shell::choose(Some(Path::new("/bin/sh"))).unwrap();
        assert_eq!((s.path.as_path(), s.chosen), (Path::new("/bin/sh"), Chosen::Flag));
        assert!(s.named_by_user());
        let e = Shell::choose(Some(Path::new("/nonexistent/zsh"))).unwrap_err();
        assert_eq!(e, "--shell /nonexistent/zsh: no such executable shell");
    }

    #[test]
    fn the_parent_shell_is_found_through_non_shell_ancestors() {
        // This test runs under cargo, itself usually under a shell; whatever is found is one.
        if let Some(p) = parent_shell() {
            assert!(SHELLS.contains(&p.file_name().unwrap().to_str().unwrap()), "{p:?}");
            assert!(is_executable(&p));
        }
        let (comm, ppid) = comm_and_ppid(std::process::id()).unwrap();
        assert!(!comm.is_empty());
        assert_eq!(ppid, std::os::unix::process::parent_id());
    }
}
