//! Defaults from a config file and the environment, below the command line:
//! flags > environment (`HRUN_<KEY>`) > config file > built-in default.
//!
//! The file is `hrun.toml` in the current directory, else `$XDG_CONFIG_HOME/hrun/hrun.toml`
//! (`~/.config/hrun/hrun.toml`), or the file `HRUN_CONFIG` names. Keys are the long flag
//! names with `_` for `-`. `threads` comes from the file only (tasks see `HRUN_THREADS`), and
//! a task file's `#hrun threads=` directive beats it. `hrun config` shows every value and
//! where it came from.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use anyhow::{Result, anyhow};

use crate::exit::UsageError;
use crate::text::printable;

/// A setting hrun reads from the environment and the file: the one place each is declared.
/// Its flag is the option of the same name (`leak_timeout`: `--leak-timeout`), whose help
/// gets the default and the variable from here ([`document`]); its environment variable is
/// `HRUN_` and the name in capitals.
struct Key {
    name: &'static str,
    /// Read from the environment too (`threads` is not: tasks see `HRUN_THREADS`).
    env: bool,
    default: Option<&'static str>,
    /// The TOML type the file must give it.
    kind: Kind,
}

impl Key {
    fn env_var(&self) -> Option<String> {
        self.env.then(|| format!("HRUN_{}", self.name.to_uppercase()))
    }
}

/// What a key holds in hrun.toml.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    /// A whole number (a quoted one is accepted too).
    Count,
    /// A string: a path, a duration, a word. `log = 5` is a mistake, not a file named "5".
    Text,
}

const fn key(name: &'static str, env: bool, default: Option<&'static str>, kind: Kind) -> Key {
    Key { name, env, default, kind }
}

const KEYS: &[Key] = &[
    key("threads", false, Some("1"), Kind::Count),
    key("jobs", true, None, Kind::Count),
    key("log", true, None, Kind::Text),
    key("grace", true, Some("10s"), Kind::Text),
    key("timeout", true, None, Kind::Text),
    key("retries", true, Some("1"), Kind::Count),
    key("halt", true, Some("never"), Kind::Text),
    key("leak_timeout", true, Some("500ms"), Kind::Text),
    key("deadline", true, Some("auto"), Kind::Text),
    key("deadline_margin", true, Some("30s"), Kind::Text),
    key("progress_interval", true, Some("30s"), Kind::Text),
    key("smt", true, Some("avoid"), Kind::Text),
];

/// Variables hrun reads that are not settings of [`KEYS`].
const OTHER_VARIABLES: [&str; 4] =
    ["HRUN_CONFIG", "HRUN_SYSFS_ROOT", "HRUN_LAUNCHER_SNDBUF", "HRUN_PROC_ROOT"];

/// The largest config file hrun reads (a real one is a few hundred bytes).
const MAX_FILE: u64 = crate::smallfile::MIB;

/// Where a value came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    Flag,
    Env(String),
    File(PathBuf),
    Default,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Flag => f.write_str("command line"),
            Origin::Env(v) => write!(f, "environment {v}"),
            Origin::File(p) => write!(f, "{}", p.display()),
            Origin::Default => f.write_str("default"),
        }
    }
}

/// The environment and file layers (flags are applied by the caller, per setting).
#[derive(Clone, Debug, Default)]
pub struct Config {
    values: BTreeMap<&'static str, (String, Origin)>,
    pub file: Option<PathBuf>,
}

impl Config {
    /// Reads the config file (if any) and the environment.
    pub fn load() -> Result<Config> {
        let file = std::env::var_os("HRUN_CONFIG").map(PathBuf::from).or_else(|| {
            let here = PathBuf::from("hrun.toml");
            if here.is_file() {
                return Some(here);
            }
            let base = std::env::var_os("XDG_CONFIG_HOME")
                .map(PathBuf::from)
                .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
            Some(base.join("hrun/hrun.toml")).filter(|p| p.is_file())
        });
        let mut cfg = Config { file: file.clone(), ..Config::builtin() };
        if let Some(path) = &file {
            cfg.read_file(path)?;
        }
        for k in KEYS {
            if let Some(var) = k.env_var()
                && let Ok(v) = std::env::var(&var)
            {
                cfg.values.insert(k.name, (v, Origin::Env(var)));
            }
        }
        Ok(cfg)
    }

    /// The built-in defaults alone: no file, no environment.
    pub fn builtin() -> Config {
        let values =
            KEYS.iter().filter_map(|k| Some((k.name, (k.default?.to_string(), Origin::Default)))).collect();
        Config { values, file: None }
    }

    fn read_file(&mut self, path: &Path) -> Result<()> {
        let usage = |msg: String| -> anyhow::Error { UsageError(anyhow!(msg)).into() };
        let text = crate::smallfile::read(path, MAX_FILE)
            .map_err(|e| usage(format!("cannot read config {}: {e}", path.display())))?;
        let table: toml::Table = toml::from_str(&text)
            .map_err(|e| usage(format!("{}: not valid TOML: {}", path.display(), e.message())))?;
        for (key, value) in table {
            let Some(k) = KEYS.iter().find(|k| k.name == key) else {
                let known: Vec<&str> = KEYS.iter().map(|k| k.name).collect();
                return Err(usage(format!(
                    "{}: unknown key {key:?} (known: {})",
                    path.display(),
                    known.join(", ")
                )));
            };
            let text = match (k.kind, value) {
                (_, toml::Value::String(s)) => s,
                (Kind::Count, toml::Value::Integer(i)) => i.to_string(),
                (kind, other) => {
                    let expected = match kind {
                        Kind::Count => "a whole number",
                        Kind::Text => "a string (in quotes)",
                    };
                    let shown = printable(&other.to_string()).into_owned();
                    return Err(usage(format!("{}: {key} = {shown}: expected {expected}", path.display())));
                }
            };
            self.values.insert(k.name, (text, Origin::File(path.to_path_buf())));
        }
        Ok(())
    }

    /// The value of `key`: `flag` if given, else environment, file, default; parse errors name
    /// the key, the value and where it came from.
    pub fn get<T: FromStr>(&self, key: &'static str, flag: Option<T>) -> Result<Option<T>>
    where
        T::Err: fmt::Display,
    {
        if flag.is_some() {
            return Ok(flag);
        }
        match self.values.get(key) {
            None => Ok(None),
            Some((text, origin)) => text.parse::<T>().map(Some).map_err(|e| {
                let (text, e) = (printable(&format!("{text:?}")).into_owned(), e.to_string());
                UsageError(anyhow!("{key} = {text} (from {origin}): {}", printable(&e))).into()
            }),
        }
    }

    /// [`Config::get`] for a key that has a built-in default, so always a value.
    pub fn value<T: FromStr>(&self, key: &'static str, flag: Option<T>) -> Result<T>
    where
        T::Err: fmt::Display,
    {
        self.get(key, flag)?.ok_or_else(|| anyhow!("internal: setting {key} has no built-in default"))
    }

    /// Where the value of `key` comes from, when no flag gives it (`None`: no value).
    pub fn origin(&self, key: &str) -> Option<&Origin> {
        self.values.get(key).map(|(_, o)| o)
    }

    /// The config file, when it gives any setting.
    pub fn used_file(&self) -> Option<&Path> {
        self.file.as_deref().filter(|_| self.values.values().any(|(_, o)| matches!(o, Origin::File(_))))
    }

    /// `threads` from the file only: below a task file's directive.
    pub fn file_threads(&self) -> Result<Option<usize>> {
        match self.values.get("threads") {
            Some((_, Origin::File(_))) => self.get::<usize>("threads", None),
            _ => Ok(None),
        }
    }

    /// `hrun config`: every key, its effective value and its origin (`flags` lists the keys
    /// given on this command line, which win).
    pub fn render(&self) -> String {
        let mut out = format!(
            "config file: {}\n{:<18} {:<12} {}\n",
            self.file.as_ref().map_or("none".to_string(), |p| p.display().to_string()),
            "key",
            "value",
            "from"
        );
        for k in KEYS {
            let (v, o) = self.values.get(k.name).cloned().unwrap_or(("-".into(), Origin::Default));
            out += &format!("{:<18} {:<12} {}\n", k.name, v, o);
        }
        out
    }
}

/// The environment variables hrun reads its defaults from (and `HRUN_CONFIG`), for a caller
/// that runs hrun with the flags it gives and nothing else (`hrun tune`'s waves).
pub fn environment_variables() -> impl Iterator<Item = String> {
    KEYS.iter().filter_map(Key::env_var).chain(OTHER_VARIABLES.map(String::from))
}

/// `command` (and its subcommands) with each setting's default and environment variable in
/// the help of its flag, from [`KEYS`]: written there once, shown where users look.
pub fn document(mut command: clap::Command) -> clap::Command {
    let subcommands: Vec<String> = command.get_subcommands().map(|s| s.get_name().to_string()).collect();
    for name in subcommands {
        command = command.mut_subcommand(name, document);
    }
    for k in KEYS {
        // Only the options the layers feed: those neither required nor with a clap default of
        // their own (`hrun gen --threads` is required, `hrun slots --threads` defaults to 1).
        let fed =
            |a: &clap::Arg| a.get_id() == k.name && !a.is_required_set() && a.get_default_values().is_empty();
        if !command.get_arguments().any(fed) {
            continue;
        }
        let layers: Vec<String> = k
            .default
            .map(|d| format!("default {d}"))
            .into_iter()
            .chain(k.env_var().map(|v| format!("env {v}")))
            .collect();
        command = command.mut_arg(k.name, |a| {
            let add = |h: Option<&clap::builder::StyledStr>| {
                format!("{} [{}]", h.map(|h| h.to_string()).unwrap_or_default(), layers.join("; "))
            };
            let long = a.get_long_help().map(|h| add(Some(h)));
            let a = a.clone().help(add(a.get_help()));
            match long {
                Some(l) => a.long_help(l),
                None => a,
            }
        });
    }
    command
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_setting_is_an_option_whose_help_gives_its_default_and_variable() {
        let cli = crate::cli::Cli::documented();
        let exec = cli.find_subcommand("exec").unwrap();
        for k in KEYS {
            let arg = exec.get_arguments().find(|a| a.get_id() == k.name);
            let arg = arg.unwrap_or_else(|| panic!("setting {} is no option of hrun exec", k.name));
            let help = arg.get_help().unwrap().to_string();
            if let Some(d) = k.default {
                assert!(help.contains(&format!("default {d}")), "{}: {help}", k.name);
            }
            if let Some(v) = k.env_var() {
                assert!(help.contains(&format!("env {v}")), "{}: {help}", k.name);
            }
        }
        let gen_threads =
            cli.find_subcommand("gen").unwrap().get_arguments().find(|a| a.get_id() == "threads");
        assert!(
            !gen_threads.unwrap().get_help().unwrap().to_string().contains("default 1"),
            "gen reads no config"
        );
    }

    #[test]
    fn the_builtin_defaults_make_the_policy() {
        let p = crate::exec::Policy::default();
        assert_eq!(
            p.term_seq,
            crate::exec::term_seq::TermSeq::with_grace(std::time::Duration::from_secs(10))
        );
        assert_eq!(p.leak_timeout, std::time::Duration::from_millis(500));
        assert_eq!(p.deadline_margin, std::time::Duration::from_secs(30));
        assert_eq!((p.retries, p.timeout.is_none()), (0, true), "one attempt: no retry");
        assert_eq!(p.deadline, crate::deadline::Spec::Auto);
    }
}

/// Durations in config and environment use the command line's syntax.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Dur(pub std::time::Duration);

impl FromStr for Dur {
    type Err = String;
    fn from_str(s: &str) -> Result<Dur, String> {
        crate::duration::parse(s).map(Dur)
    }
}

/// `--smt` values in config and environment.
impl FromStr for crate::slots::Smt {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "use" => Ok(crate::slots::Smt::Use),
            "avoid" => Ok(crate::slots::Smt::Avoid),
            _ => Err(format!("{s:?} is not use or avoid")),
        }
    }
}
