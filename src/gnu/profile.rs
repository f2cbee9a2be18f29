//! The words GNU parallel reads before its command line: its profile files and `$PARALLEL`.
//!
//! Without `--plain` on the command line, GNU reads `/etc/parallel/config`, `config` in each of
//! its config directories that exist (`$PARALLEL_HOME`, `$XDG_CONFIG_HOME/parallel`, each
//! `$XDG_CONFIG_DIRS` entry's `parallel`, `~/.parallel`), and `~/.parallelrc`; a missing one is
//! no error. `-J NAME` (`--profile`) replaces them all: `NAME` in each config directory, or the
//! path itself for `./NAME` and `/NAME`, whichever are readable (none found is no error either).
//! A profile's lines are split by [`shellwords`](super::shellwords), except those whose first
//! non-blank is `#`. Then `$PARALLEL` (and `$PARALLEL_CSH`, env_parallel's csh form) is split the
//! same way. See [`super::getopt::parse_layers`] for how the three are put together.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};

use super::shellwords;

/// The environment GNU reads its profile locations from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProfileEnv {
    /// `$HOME`; GNU uses `/tmp` when it is unset or empty (and warns "$HOME not set. Using /tmp.").
    pub home: Option<OsString>,
    pub parallel_home: Option<OsString>,
    pub xdg_config_home: Option<OsString>,
    pub xdg_config_dirs: Option<OsString>,
}

impl ProfileEnv {
    pub fn from_env() -> ProfileEnv {
        let var = std::env::var_os;
        ProfileEnv {
            home: var("HOME"),
            parallel_home: var("PARALLEL_HOME"),
            xdg_config_home: var("XDG_CONFIG_HOME"),
            xdg_config_dirs: var("XDG_CONFIG_DIRS"),
        }
    }

    /// `$HOME`, or `/tmp` where GNU would use it instead.
    pub fn home(&self) -> PathBuf {
        self.home.as_ref().filter(|h| !h.is_empty()).map_or_else(|| PathBuf::from("/tmp"), PathBuf::from)
    }
}

/// Joins as Perl's `"$dir/name"` does (an unset directory is the empty string).
fn under(dir: &OsStr, name: &str) -> PathBuf {
    let mut s = dir.to_os_string();
    s.push("/");
    s.push(name);
    PathBuf::from(s)
}

/// GNU's config directories, in order, keeping those `is_dir` says exist (a directory named
/// twice counts twice, as in GNU).
pub fn config_dirs(env: &ProfileEnv, is_dir: impl Fn(&Path) -> bool) -> Vec<PathBuf> {
    let mut candidates: Vec<PathBuf> = env.parallel_home.iter().map(PathBuf::from).collect();
    candidates.push(under(env.xdg_config_home.as_deref().unwrap_or_default(), "parallel"));
    if let Some(dirs) = env.xdg_config_dirs.as_ref().and_then(|d| d.to_str()) {
        // Perl's split drops empty fields at the end only.
        let mut fields: Vec<&str> = dirs.split(':').collect();
        while fields.last() == Some(&"") {
            fields.pop();
        }
        candidates.extend(fields.iter().map(|d| under(OsStr::new(d), "parallel")));
    }
    candidates.push(under(env.home().as_os_str(), ".parallel"));
    candidates.into_iter().filter(|d| !d.as_os_str().is_empty() && is_dir(d)).collect()
}

/// The profile files GNU reads, in order: the default ones (which need not exist), or, when the
/// command line names profiles (`-J`), those of them `readable` finds.
pub fn profile_files(
    env: &ProfileEnv,
    config_dirs: &[PathBuf],
    named: &[String],
    readable: impl Fn(&Path) -> bool,
) -> Vec<PathBuf> {
    if named.is_empty() {
        let mut files = vec![PathBuf::from("/etc/parallel/config")];
        files.extend(config_dirs.iter().map(|d| under(d.as_os_str(), "config")));
        files.push(under(env.home().as_os_str(), ".parallelrc"));
        return files;
    }
    let mut files = Vec::new();
    for name in named {
        if name.starts_with("./") || name.starts_with('/') {
            files.extend(Some(PathBuf::from(name)).filter(|p| readable(p)));
        } else {
            files.extend(config_dirs.iter().map(|d| under(d.as_os_str(), name)).filter(|p| readable(p)));
        }
    }
    files
}

/// A profile's words: each line split on its own (a line that cannot be split gives none),
/// lines whose first non-blank is `#` skipped.
pub fn profile_words(text: &str) -> Vec<String> {
    // Perl's lines: split at "\n" only (a "\r" stays, and splits words as a blank).
    text.split('\n')
        .filter(|line| {
            !line.trim_start_matches(|c: char| c.is_ascii_whitespace() || c == '\x0b').starts_with('#')
        })
        .flat_map(|line| shellwords::split(line).unwrap_or_default())
        .collect()
}

/// `$PARALLEL`'s words, then `$PARALLEL_CSH`'s; a variable that is empty or `0` (false to
/// Perl) counts as unset, and one that cannot be split gives no words.
pub fn env_words(parallel: Option<&OsStr>, parallel_csh: Option<&OsStr>) -> Vec<String> {
    [parallel, parallel_csh]
        .into_iter()
        .flatten()
        .filter(|v| !v.is_empty() && *v != "0")
        .flat_map(|v| shellwords::split(&v.to_string_lossy()).unwrap_or_default())
        .collect()
}

/// A profile that exists but cannot be read as one.
#[derive(Debug, thiserror::Error)]
#[error("profile {}: {reason}", path.display())]
pub struct ProfileError {
    pub path: PathBuf,
    pub reason: crate::smallfile::Error,
}

/// The words of the profile files, in order. A file that is missing, unreadable or a directory
/// gives none, as in GNU; one that is not a regular file, over 1 MiB or not UTF-8 is an error.
pub fn read_profiles(files: &[PathBuf]) -> Result<Vec<String>, ProfileError> {
    use crate::smallfile::{Error, MIB, read};
    let mut words = Vec::new();
    for path in files {
        match read(path, MIB) {
            Ok(text) => words.extend(profile_words(&text)),
            Err(Error::Io(e))
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::PermissionDenied
                ) => {}
            Err(Error::NotRegular("directory")) => {}
            Err(reason) => return Err(ProfileError { path: path.clone(), reason }),
        }
    }
    Ok(words)
}

/// Everything GNU puts before the command line, read from this process's environment and
/// files: the profiles' words and `$PARALLEL`'s (both none after `--plain` on the command line).
pub fn words_before(prescan: &super::getopt::Prescan) -> Result<(Vec<String>, Vec<String>), ProfileError> {
    if prescan.plain {
        return Ok((Vec::new(), Vec::new()));
    }
    let env = ProfileEnv::from_env();
    let dirs = config_dirs(&env, Path::is_dir);
    let files = profile_files(&env, &dirs, &prescan.profiles, |p| std::fs::File::open(p).is_ok());
    let var = std::env::var_os;
    Ok((read_profiles(&files)?, env_words(var("PARALLEL").as_deref(), var("PARALLEL_CSH").as_deref())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(home: &str) -> ProfileEnv {
        ProfileEnv { home: Some(home.into()), ..ProfileEnv::default() }
    }

    #[test]
    fn config_dirs_in_gnus_order_and_only_those_that_exist() {
        let e = ProfileEnv {
            home: Some("/h".into()),
            parallel_home: Some("/ph".into()),
            xdg_config_home: Some("/xch".into()),
            xdg_config_dirs: Some("/a:/b::".into()),
        };
        let all = config_dirs(&e, |_| true);
        let want = ["/ph", "/xch/parallel", "/a/parallel", "/b/parallel", "/h/.parallel"];
        assert_eq!(all, want.iter().map(PathBuf::from).collect::<Vec<_>>());
        let some = config_dirs(&e, |p| p == Path::new("/h/.parallel"));
        assert_eq!(some, [PathBuf::from("/h/.parallel")]);
        // An unset $XDG_CONFIG_HOME is Perl's empty string: "/parallel".
        assert_eq!(
            config_dirs(&env("/h"), |_| true),
            [PathBuf::from("/parallel"), PathBuf::from("/h/.parallel")]
        );
        // No $HOME: /tmp.
        assert_eq!(ProfileEnv::default().home(), PathBuf::from("/tmp"));
        assert_eq!(env("").home(), PathBuf::from("/tmp"));
    }

    #[test]
    fn default_profiles_and_named_ones() {
        let e = env("/h");
        let dirs = [PathBuf::from("/ph"), PathBuf::from("/h/.parallel")];
        let defaults = profile_files(&e, &dirs, &[], |_| false);
        let want = ["/etc/parallel/config", "/ph/config", "/h/.parallel/config", "/h/.parallelrc"];
        assert_eq!(defaults, want.iter().map(PathBuf::from).collect::<Vec<_>>());
        let named = ["fast".to_string(), "./local".to_string(), "/abs".to_string(), "gone".to_string()];
        let found = profile_files(&e, &dirs, &named, |p| p != Path::new("/ph/fast") && !p.ends_with("gone"));
        let want = ["/h/.parallel/fast", "./local", "/abs"];
        assert_eq!(found, want.iter().map(PathBuf::from).collect::<Vec<_>>());
    }

    #[test]
    fn profile_lines_and_the_variable() {
        let text = "-j 4\n  # a comment -k\n--tag 'x y'\nbad \"quote\n#x\nnice -n 5\n";
        assert_eq!(profile_words(text), ["-j", "4", "--tag", "x y", "nice", "-n", "5"]);
        let w = env_words(Some(OsStr::new("-k --tagstring '{} x'")), Some(OsStr::new("-u")));
        assert_eq!(w, ["-k", "--tagstring", "{} x", "-u"]);
        assert!(env_words(Some(OsStr::new("0")), None).is_empty());
        assert!(env_words(Some(OsStr::new("")), None).is_empty());
        assert!(env_words(Some(OsStr::new("-k 'open")), None).is_empty());
    }

    #[test]
    fn reading_profiles_from_files() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("config");
        std::fs::write(&a, "-j2\n# no\n--tag\n").unwrap();
        let sub = dir.path().join("sub");
        std::fs::create_dir(&sub).unwrap();
        let files = [dir.path().join("missing"), a.clone(), sub, a];
        assert_eq!(read_profiles(&files).unwrap(), ["-j2", "--tag", "-j2", "--tag"]);
        let bad = dir.path().join("bad");
        std::fs::write(&bad, b"\xff\n").unwrap();
        let e = read_profiles(std::slice::from_ref(&bad)).unwrap_err();
        assert!(e.to_string().contains(&bad.display().to_string()), "{e}");
    }
}
