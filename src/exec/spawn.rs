//! What a task runs: the program, its arguments and the environment every task gets.
//! Pure except for looking programs up on `PATH`; `sys::Spawner` starts the result.
//!
//! A line runs as `/bin/sh -c LINE`, as GNU parallel runs it. A shell per task doubles the
//! cost of a short task, so a line in which the shell would do nothing but split words (no
//! quotes, variables, globs, redirections, operators, assignments or builtins) is split on
//! whitespace and executed directly (unless the user chose the shell): the same program, arguments and environment. If that
//! fails to start (not found, not executable, no `#!`), the line is run through the shell
//! after all, so errors and exit statuses (127, 126) are the shell's.
//!
//! The shell is chosen as GNU parallel chooses it ([`crate::shell`]). A line that calls a bash
//! function exported with `export -f` (`BASH_FUNC_name%%` in the environment) runs with bash
//! when the shell is not bash (dash, for one, drops exported functions). Whether it does is
//! decided from the task file's line or the template's own text, never from a job's values.

use std::cell::RefCell;
use std::collections::HashMap;
use std::ffi::CString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use crate::slots::Slot;
use crate::sys::{self, Program};
use crate::task::Task;

/// Variables hrun sets for each task; any value hrun inherited for them is replaced.
const TASK_VARS: [&str; 9] = [
    "HRUN_SLOT",
    "HRUN_SEQ",
    "HRUN_CPUS",
    "HRUN_THREADS",
    "PARALLEL_JOBSLOT",
    "PARALLEL_SEQ",
    "PARALLEL_SSHLOGIN",
    "PARALLEL_SSHHOST",
    sys::OWNER_VAR,
];

/// GNU's default `--process-slot-var`: the slot number - 1.
pub const SLOT_VAR: &str = "PARALLEL_JOBSLOT0";

/// Programs looked up on `PATH` are remembered, up to this many names.
const PATH_CACHE_MAX: usize = 1024;

/// How a task's process was started.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Launch {
    Direct,
    Shell,
}

/// Environment every task gets: hrun's own (prepared once), plus the task's variables.
pub struct TaskEnv {
    base: Vec<CString>,
    threads: String,
    /// hrun's pid, for the guardian.
    owner: String,
    /// `OMP_NUM_THREADS`/`RAYON_NUM_THREADS` are set to T only where the caller left them unset.
    set_omp: bool,
    set_rayon: bool,
    path_dirs: Vec<PathBuf>,
    found: RefCell<HashMap<String, Option<CString>>>,
    /// The real path of each program word's file, for provenance.
    canonical: RefCell<HashMap<String, Option<PathBuf>>>,
    /// For lines that need a shell.
    shell: CString,
    /// The user named the shell (`--shell`, `$PARALLEL_SHELL`): every line goes through it.
    shell_named: bool,
    /// Names of the bash functions exported in the environment, and bash to run them.
    functions: Vec<String>,
    bash: Option<CString>,
    /// hrun's own binary, which puts a block on a `--pipe` task's standard input.
    hrun: CString,
    /// `--nice N`: the niceness every task runs at.
    nice: Option<i32>,
    /// `--process-slot-var NAME`: set to the slot number - 1 in each task.
    slot_var: Option<String>,
    /// GNU's `$PARALLEL_ENV` (env_parallel's): shell code run before every command.
    prelude: Option<String>,
}

/// The names of the functions bash exported into `vars` (`BASH_FUNC_name%%`, or
/// `BASH_FUNC_name()` from older bash).
fn exported_functions<'a>(vars: impl Iterator<Item = &'a std::ffi::OsStr>) -> Vec<String> {
    vars.filter_map(|k| k.to_str())
        .filter_map(|k| k.strip_prefix("BASH_FUNC_"))
        .filter_map(|k| k.strip_suffix("%%").or_else(|| k.strip_suffix("()")))
        .map(str::to_string)
        .collect()
}

/// True when `line` calls one of `functions`: a word of it (between blanks and shell
/// operators) is the function's name.
fn calls_any(line: &str, functions: &[String]) -> bool {
    !functions.is_empty()
        && line
            .split(|c: char| c.is_whitespace() || ";&|()`".contains(c))
            .any(|w| functions.iter().any(|f| f == w))
}

impl TaskEnv {
    pub fn new(threads: usize, shell: &crate::shell::Shell) -> Self {
        let caller_sets = |var: &str| match std::env::var(var) {
            Ok(v) => {
                if v != threads.to_string() {
                    crate::messages::warning(format_args!(
                        "{var}={v} is set in the environment and is passed on unchanged, \
                         but each task has {threads} CPU(s); unset it to get {var}={threads}"
                    ));
                }
                true
            }
            Err(_) => false,
        };
        let base = std::env::vars_os()
            .filter(|(k, _)| !TASK_VARS.iter().any(|v| k.as_bytes() == v.as_bytes()) && k != "PARALLEL_ENV")
            .filter_map(|(k, v)| {
                let mut kv = k.as_bytes().to_vec();
                kv.push(b'=');
                kv.extend_from_slice(v.as_bytes());
                CString::new(kv).ok()
            })
            .collect();
        let shell_named = shell.named_by_user();
        let shell = shell.path.clone();
        let functions = exported_functions(
            std::env::vars_os().map(|(k, _)| k).collect::<Vec<_>>().iter().map(|k| k.as_os_str()),
        );
        let mut env = TaskEnv {
            base,
            threads: threads.to_string(),
            owner: std::process::id().to_string(),
            set_omp: !caller_sets("OMP_NUM_THREADS"),
            set_rayon: !caller_sets("RAYON_NUM_THREADS"),
            path_dirs: std::env::var_os("PATH")
                .map(|p| std::env::split_paths(&p).collect())
                .unwrap_or_default(),
            found: RefCell::new(HashMap::new()),
            canonical: RefCell::new(HashMap::new()),
            shell: CString::new(shell.as_os_str().as_bytes()).unwrap_or_else(|_| cstring("/bin/sh")),
            shell_named,
            functions,
            bash: None,
            hrun: std::env::current_exe()
                .ok()
                .and_then(|p| CString::new(p.into_os_string().into_vec()).ok())
                .unwrap_or_else(|| cstring("/proc/self/exe")),
            nice: None,
            slot_var: None,
            prelude: parallel_env(),
        };
        if !env.functions.is_empty() {
            env.bash = if shell.file_name().is_some_and(|n| n == "bash") {
                Some(env.shell.clone())
            } else {
                env.resolve("bash")
            };
            if env.bash.is_none() {
                crate::messages::warning(format_args!(
                    "bash functions are exported, but bash is not on PATH to run them"
                ));
            }
        }
        env
    }

    /// Every task runs at niceness `nice` (`--nice`).
    pub fn with_nice(self, nice: Option<i32>) -> Self {
        TaskEnv { nice, ..self }
    }

    /// GNU's `--process-slot-var NAME` (by default [`SLOT_VAR`]): each task gets NAME = its
    /// slot number - 1 (the variable of that name in hrun's environment is not passed on).
    pub fn with_slot_var(mut self, name: &str) -> Self {
        let prefix = format!("{name}=");
        self.base.retain(|kv| !kv.as_bytes().starts_with(prefix.as_bytes()));
        self.slot_var = Some(name.to_string());
        self
    }

    /// hrun's environment, less the variables set per task.
    pub fn base(&self) -> &[CString] {
        &self.base
    }

    /// What `task` runs on `slot`: directly when `via_shell` is false and the line allows it.
    pub fn program(&self, task: &Task, slot: &Slot, via_shell: bool) -> (Program, Launch) {
        let line = task.command(slot.id.0);
        let (line, fifo) = match &task.block {
            Some(block) => crate::pipe::feed::named(block, line),
            None => (line, None),
        };
        let line = match &self.prelude {
            Some(code) => format!("{code}\n{line}").into(),
            None => line,
        };
        // From the line as written (a task file) or the template's own text: a value that
        // happens to name a function does not switch its job to bash.
        let function = match &task.job {
            None => calls_any(&task.cmd, &self.functions),
            Some(job) => calls_any(&job.template.text(), &self.functions),
        };
        // A shell the user chose (`--shell`, `PARALLEL_SHELL`) runs every line: it may set up
        // the environment (BASH_ENV, a container or module wrapper).
        // A block's command runs through the shell, as GNU runs it (the feed step execs it,
        // so a direct start could not fall back to the shell).
        let direct =
            if via_shell || function || self.shell_named || task.block.is_some() || self.prelude.is_some() {
                None
            } else {
                plain_words(&line).and_then(|w| Some((self.resolve(w[0])?, w)))
            };
        // A job GNU skips (`{choose_k}`, `{uniq}`) runs nothing and fails, as GNU counts it.
        let skipped = task.job.as_ref().is_some_and(|j| j.skipped());
        let direct = if skipped { Some((cstring("/bin/sh"), vec!["sh", "-c", "exit 1"])) } else { direct };
        let (path, argv, launch) = match direct {
            Some((path, words)) => (path, words.iter().map(|w| cstring(w)).collect(), Launch::Direct),
            None => {
                let shell = if function { self.bash.as_ref().unwrap_or(&self.shell) } else { &self.shell };
                (shell.clone(), vec![shell.clone(), cstring("-c"), cstring(&line)], Launch::Shell)
            }
        };
        let (path, argv) = match &task.block {
            Some(block) => crate::pipe::feed::wrap(&self.hrun, block, fifo.as_deref(), path, argv),
            None => (path, argv),
        };
        let (seq, slot_no, cpus) = (task.seq.to_string(), slot.id.0.to_string(), slot.cpus.to_string());
        let mut env: Vec<CString> = [
            ("HRUN_SLOT", slot_no.as_str()),
            ("HRUN_SEQ", &seq),
            ("HRUN_CPUS", &cpus),
            ("HRUN_THREADS", &self.threads),
            ("PARALLEL_JOBSLOT", &slot_no),
            ("PARALLEL_SEQ", &seq),
            // GNU's values for a job on this host (`{sshlogin}`, `{host}` with --plus).
            ("PARALLEL_SSHLOGIN", ":"),
            ("PARALLEL_SSHHOST", ":"),
            (sys::OWNER_VAR, &self.owner),
        ]
        .iter()
        .map(|(k, v)| cstring(&format!("{k}={v}")))
        .collect();
        if let Some(name) = &self.slot_var {
            env.push(cstring(&format!("{name}={}", slot.id.0.saturating_sub(1))));
        }
        if self.set_omp {
            env.push(cstring(&format!("OMP_NUM_THREADS={}", self.threads)));
        }
        if self.set_rayon {
            env.push(cstring(&format!("RAYON_NUM_THREADS={}", self.threads)));
        }
        (Program { path, argv, env, dir: None, nice: self.nice }, launch)
    }

    /// The program file `task`'s line runs, for provenance: what a plain line executes, or
    /// the first word of a shell line when it is a plain program name or path.
    pub fn executable(&self, task: &Task) -> Option<PathBuf> {
        let first = task.cmd.split_whitespace().next()?;
        let words = plain_words(first)?;
        // Through the shell, these run as its builtins, not as the files of the same name.
        if plain_words(&task.cmd).is_none() && SHELL_BUILTINS_WITH_FILES.contains(&words[0]) {
            return None;
        }
        if let Some(hit) = self.canonical.borrow().get(words[0]) {
            return hit.clone();
        }
        let found = self.resolve(words[0]).map(|f| {
            let path = PathBuf::from(std::ffi::OsStr::from_bytes(f.as_bytes()));
            std::fs::canonicalize(&path).unwrap_or(path)
        });
        let mut canonical = self.canonical.borrow_mut();
        if canonical.len() < PATH_CACHE_MAX {
            canonical.insert(words[0].to_string(), found.clone());
        }
        found
    }

    /// The file `execve` needs for a command word: as given when it has a `/`, else the first
    /// executable file of that name on `PATH` (what the shell would find).
    fn resolve(&self, word: &str) -> Option<CString> {
        if word.contains('/') {
            return Some(cstring(word));
        }
        if let Some(hit) = self.found.borrow().get(word) {
            return hit.clone();
        }
        let hit = self
            .path_dirs
            .iter()
            .map(|d| if d.as_os_str().is_empty() { PathBuf::from(".").join(word) } else { d.join(word) })
            .find(|p| std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0))
            .and_then(|p| CString::new(p.into_os_string().into_vec()).ok());
        let mut found = self.found.borrow_mut();
        if found.len() < PATH_CACHE_MAX {
            found.insert(word.to_string(), hit.clone());
        }
        hit
    }
}

/// Task lines are UTF-8 without NUL (the task file is text): never fails in practice.
/// GNU's `$PARALLEL_ENV`, as GNU reads it: shell code (or a file holding it), `\x01` standing
/// for a newline; None when unset or empty. It is not passed on to the tasks.
fn parallel_env() -> Option<String> {
    let value = std::env::var("PARALLEL_ENV").ok().filter(|v| !v.is_empty())?;
    let code = match std::path::Path::new(&value).exists() {
        true => std::fs::read_to_string(&value).unwrap_or_default(),
        false => value,
    };
    Some(code.replace('\x01', "\n"))
}

/// A path as `execve`'s and `chdir`'s C string (a path holds no NUL byte).
pub fn path_cstring(path: &std::path::Path) -> CString {
    CString::new(path.as_os_str().as_bytes()).unwrap_or_else(|_| cstring("."))
}

fn cstring(s: &str) -> CString {
    CString::new(s.replace('\0', "")).expect("NUL removed")
}

/// Words the shell treats specially in command position: its builtins (which have no
/// program file, or behave differently from it) and reserved words.
const SHELL_WORDS: &[&str] = &[
    ":", ".", "alias", "bg", "break", "case", "cd", "command", "continue", "do", "done", "elif", "else",
    "esac", "eval", "exec", "exit", "export", "fc", "fg", "fi", "for", "function", "getopts", "hash", "if",
    "in", "jobs", "local", "read", "readonly", "return", "select", "set", "shift", "source", "then", "times",
    "trap", "type", "ulimit", "umask", "unalias", "unset", "until", "wait", "while",
];

/// Builtins of /bin/sh that also exist as programs: run directly they are the programs, through
/// the shell they are the builtins.
const SHELL_BUILTINS_WITH_FILES: &[&str] = &["echo", "printf", "test", "[", "true", "false", "kill", "pwd"];

/// The words of `line` when `/bin/sh -c line` would just run them as a program and its
/// arguments; `None` when the shell would do anything more.
pub fn plain_words(line: &str) -> Option<Vec<&str>> {
    let safe = |c: char| c.is_ascii_alphanumeric() || "_-./,:=+@%".contains(c) || c == ' ' || c == '\t';
    if !line.chars().all(safe) {
        return None;
    }
    let words: Vec<&str> = line.split([' ', '\t']).filter(|w| !w.is_empty()).collect();
    let first = *words.first()?;
    // `NAME=value cmd` is an assignment; builtins and keywords need the shell, and so do the
    // builtins that also exist as programs but behave differently (`printf x a` warns as a
    // program, not as dash's builtin; `echo 'a\tb'`): only `true` and `false` are the same.
    let same_as_program = ["true", "false"].contains(&first);
    if first.contains('=')
        || SHELL_WORDS.contains(&first)
        || (SHELL_BUILTINS_WITH_FILES.contains(&first) && !same_as_program)
    {
        return None;
    }
    Some(words)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::slots::SlotId;

    fn env() -> TaskEnv {
        TaskEnv {
            base: vec![cstring("PATH=/usr/bin:/bin"), cstring("HOME=/root")],
            threads: "4".into(),
            owner: "77".into(),
            set_omp: true,
            set_rayon: false,
            path_dirs: vec!["/nonexistent".into(), "/usr/bin".into(), "/bin".into()],
            found: RefCell::new(HashMap::new()),
            canonical: RefCell::new(HashMap::new()),
            shell: cstring("/bin/sh"),
            shell_named: false,
            functions: vec!["myfunc".into()],
            bash: Some(cstring("/bin/bash")),
            hrun: cstring("/opt/hrun"),
            nice: None,
            slot_var: None,
            prelude: None,
        }
    }

    #[test]
    fn a_block_task_runs_its_line_through_the_shell_behind_the_feed_step() {
        let env = env();
        let slot = Slot { id: SlotId(2), cpus: "0".parse().unwrap(), domains: Default::default() };
        let file = std::sync::Arc::new(tempfile::tempfile().unwrap());
        let block = crate::pipe::Block::new(file, vec![(0, 5)], 10, 5);
        let task = Task {
            seq: 3,
            line: 3,
            cmd: "wc -l".into(),
            job: None,
            occurrence: 1,
            block: Some(std::sync::Arc::new(block)),
        };
        let (p, launch) = env.program(&task, &slot, false);
        assert_eq!(launch, Launch::Shell);
        assert_eq!(p.path.to_str().unwrap(), "/opt/hrun");
        let argv: Vec<&str> = p.argv.iter().map(|a| a.to_str().unwrap()).collect();
        assert_eq!(argv[1..3], [crate::pipe::feed::FEED, "stdin"]);
        assert!(argv[3].starts_with(&format!("/proc/{}/fd/", std::process::id())), "{argv:?}");
        assert_eq!(argv[4..], ["0:5", "--", "/bin/sh", "-c", "wc -l"]);
    }

    #[test]
    fn lines_calling_exported_functions_run_with_bash() {
        let env = env();
        let slot = Slot { id: SlotId(1), cpus: "0".parse().unwrap(), domains: Default::default() };
        for line in ["myfunc a", "cd /tmp && myfunc", "x=1; myfunc"] {
            let (p, launch) = env.program(
                &Task { seq: 1, line: 1, cmd: line.into(), job: None, occurrence: 1, block: None },
                &slot,
                false,
            );
            assert_eq!((launch, p.path.to_str().unwrap()), (Launch::Shell, "/bin/bash"), "{line}");
        }
        let (p, _) = env.program(
            &Task { seq: 1, line: 1, cmd: "myfunction a".into(), job: None, occurrence: 1, block: None },
            &slot,
            false,
        );
        assert_ne!(p.path.to_str().unwrap(), "/bin/bash");
        let names = exported_functions(
            [std::ffi::OsStr::new("BASH_FUNC_f%%"), "BASH_FUNC_g()".as_ref(), "PATH".as_ref()].into_iter(),
        );
        assert_eq!(names, ["f", "g"]);
    }

    fn strings(v: &[CString]) -> Vec<String> {
        v.iter().map(|c| c.to_string_lossy().into_owned()).collect()
    }

    #[test]
    fn program_arguments_and_environment() {
        let env = env();
        let slot = Slot { id: SlotId(3), cpus: "8-11".parse().unwrap(), domains: Default::default() };
        let task = Task {
            seq: 12,
            line: 14,
            cmd: "/opt/sim --seed {#} --slot {%}".into(),
            job: None,
            occurrence: 1,
            block: None,
        };
        let (p, launch) = env.program(&task, &slot, false);
        assert_eq!(launch, Launch::Direct);
        assert_eq!(p.path.to_str().unwrap(), "/opt/sim");
        assert_eq!(strings(&p.argv), ["/opt/sim", "--seed", "12", "--slot", "3"]);
        assert_eq!(
            strings(&p.env),
            [
                "HRUN_SLOT=3",
                "HRUN_SEQ=12",
                "HRUN_CPUS=8-11",
                "HRUN_THREADS=4",
                "PARALLEL_JOBSLOT=3",
                "PARALLEL_SEQ=12",
                "PARALLEL_SSHLOGIN=:",
                "PARALLEL_SSHHOST=:",
                "HRUN_PID=77",
                "OMP_NUM_THREADS=4",
            ],
            "RAYON_NUM_THREADS is left to the caller's value"
        );
        let (sh, launch) = env.program(&task, &slot, true);
        assert_eq!(launch, Launch::Shell);
        assert_eq!(strings(&sh.argv), ["/bin/sh", "-c", "/opt/sim --seed 12 --slot 3"]);
    }

    /// GNU's `--process-slot-var NAME`: NAME = slot - 1, replacing hrun's own NAME.
    #[test]
    fn the_slot_variable_is_the_slot_number_less_one() {
        let mut env = env();
        env.base.push(cstring("SLOTVAR=old"));
        let env = env.with_slot_var("SLOTVAR");
        let slot = Slot { id: SlotId(3), cpus: "0".parse().unwrap(), domains: Default::default() };
        let task = Task { seq: 1, line: 1, cmd: "true".into(), job: None, occurrence: 1, block: None };
        let (p, _) = env.program(&task, &slot, false);
        let set: Vec<String> = strings(&p.env).into_iter().filter(|v| v.starts_with("SLOTVAR=")).collect();
        assert_eq!(set, ["SLOTVAR=2"]);
        assert!(!strings(env.base()).iter().any(|v| v.starts_with("SLOTVAR=")));
    }

    #[test]
    fn bare_names_are_found_on_path_or_left_to_the_shell() {
        let env = env();
        let slot = Slot { id: SlotId(1), cpus: "0".parse().unwrap(), domains: Default::default() };
        let task =
            |cmd: &str| Task { seq: 1, line: 1, cmd: cmd.into(), job: None, occurrence: 1, block: None };
        let (p, launch) = env.program(&task("true"), &slot, false);
        assert_eq!(launch, Launch::Direct);
        assert!(p.path.to_str().unwrap().ends_with("/true"), "{:?}", p.path);
        assert_eq!(strings(&p.argv), ["true"], "argv[0] stays as written");
        let (_, launch) = env.program(&task("no_such_program_hrun"), &slot, false);
        assert_eq!(launch, Launch::Shell, "the shell reports what is not found");
    }

    #[test]
    fn only_lines_the_shell_would_merely_split_run_directly() {
        for (line, words) in [
            ("true", vec!["true"]),
            (
                "  /opt/x/hrun-mc-pi -t 4 -n 100 --seed 7 -o /r/mc_pi_7.toml ",
                vec!["/opt/x/hrun-mc-pi", "-t", "4", "-n", "100", "--seed", "7", "-o", "/r/mc_pi_7.toml"],
            ),
            ("sim\t--alpha=0.5 run_1", vec!["sim", "--alpha=0.5", "run_1"]),
            ("sim 50%", vec!["sim", "50%"]),
            ("true 1", vec!["true", "1"]),
        ] {
            assert_eq!(plain_words(line), Some(words), "{line:?}");
        }
        for line in [
            "",
            "   ",
            "echo $HOME",
            "echo 'a b'",
            "echo \"a\"",
            "ls *.txt",
            "a > out",
            "a | b",
            "a; b",
            "a && b",
            "a &",
            "(a)",
            "echo ~",
            "FOO=1 prog",
            ":",
            "cd /tmp",
            "exit 3",
            "exec prog",
            "set -e",
            "echo a\\ b",
            "echo `date`",
            "echo {a,b}",
            "prog #comment",
            "echo a!",
            "echo a",
            "printf x a",
            "kill 1",
            "test -f x",
            "[ -f x ]",
            "pwd",
        ] {
            assert_eq!(plain_words(line), None, "{line:?} needs the shell");
        }
    }
}
