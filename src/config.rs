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

/// A setting hrun reads from the environment and the file.
struct Key {
    name: &'static str,
    /// `None`: not read from the environment.
    env: Option<&'static str>,
    default: Option<&'static str>,
    /// The TOML type the file must give it.
    kind: Kind,
}

/// What a key holds in hrun.toml.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    /// A whole number (a quoted one is accepted too).
    Count,
    /// A string: a path, a duration, a word. `log = 5` is a mistake, not a file named "5".
    Text,
}

const fn key(
    name: &'static str,
    env: Option<&'static str>,
    default: Option<&'static str>,
    kind: Kind,
) -> Key {
    Key { name, env, default, kind }
}

const KEYS: &[Key] = &[
    key("threads", None, Some("1"), Kind::Count),
    key("jobs", Some("HRUN_JOBS"), None, Kind::Count),
    key("log", Some("HRUN_LOG"), None, Kind::Text),
    key("grace", Some("HRUN_GRACE"), Some("10s"), Kind::Text),
    key("timeout", Some("HRUN_TIMEOUT"), None, Kind::Text),
    key("retries", Some("HRUN_RETRIES"), Some("0"), Kind::Count),
    key("halt", Some("HRUN_HALT"), Some("never"), Kind::Text),
    key("leak_timeout", Some("HRUN_LEAK_TIMEOUT"), Some("500ms"), Kind::Text),
    key("deadline", Some("HRUN_DEADLINE"), Some("auto"), Kind::Text),
    key("deadline_margin", Some("HRUN_DEADLINE_MARGIN"), Some("30s"), Kind::Text),
    key("progress_interval", Some("HRUN_PROGRESS_INTERVAL"), Some("30s"), Kind::Text),
    key("smt", Some("HRUN_SMT"), Some("avoid"), Kind::Text),
];

/// The largest config file hrun reads (a real one is a few hundred bytes).
const MAX_FILE: u64 = crate::smallfile::MIB;

/// Where a value came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    Flag,
    Env(&'static str),
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
        let mut cfg = Config { values: BTreeMap::new(), file: file.clone() };
        for k in KEYS {
            if let Some(d) = k.default {
                cfg.values.insert(k.name, (d.to_string(), Origin::Default));
            }
        }
        if let Some(path) = &file {
            cfg.read_file(path)?;
        }
        for k in KEYS {
            if let Some(var) = k.env
                && let Ok(v) = std::env::var(var)
            {
                cfg.values.insert(k.name, (v, Origin::Env(var)));
            }
        }
        Ok(cfg)
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
pub fn environment_variables() -> impl Iterator<Item = &'static str> {
    KEYS.iter().filter_map(|k| k.env).chain(["HRUN_CONFIG", "HRUN_SYSFS_ROOT"])
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
