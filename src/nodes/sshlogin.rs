//! GNU parallel's sshlogins (`-S`, `--sshlogin`, `--sshloginfile`): which hosts a run's
//! launchers are started on with ssh, and how many slots each may have. Pure apart from
//! reading the files.
//!
//! An sshlogin is `[ncpus/][ssh command ][user@]host[:port]`, or `:` for this host; `-S` takes
//! several separated by commas (`,,` or `\,` for a comma inside one, as GNU). GNU's host groups
//! (`@grp/host`) and passwords (`user:pw@host`, through sshpass) are refused.

use std::path::{Path, PathBuf};

/// One host to run on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SshLogin {
    /// `ncpus/`: the number of slots on this host (GNU's job slots there); None: as `-j` says.
    pub slots: Option<usize>,
    /// The ssh command given in the login itself (`ssh -p 2222 host`), as words; None: `--ssh`'s.
    pub ssh: Option<Vec<String>>,
    /// `user@` of the login.
    pub user: Option<String>,
    /// The host's name as written; `:` for this host (no ssh).
    pub host: String,
    pub port: Option<String>,
}

impl SshLogin {
    /// This host, started without ssh (`:`).
    pub fn is_local(&self) -> bool {
        self.host == ":"
    }

    /// `[user@]host[:port]`: the name GNU gives the login (its joblog's Host), without the
    /// slot count and the ssh command.
    pub fn name(&self) -> String {
        if self.is_local() {
            return ":".into();
        }
        let user = self.user.as_deref().map_or(String::new(), |u| format!("{u}@"));
        let port = self.port.as_deref().map_or(String::new(), |p| format!(":{p}"));
        format!("{user}{}{port}", self.host)
    }

    /// The words that run `remote` (already one shell command line) on this host: the login's
    /// ssh command (else `default_ssh`), `-p PORT`, `[user@]host`, then `remote`.
    pub fn ssh_command(&self, default_ssh: &[String], remote: String) -> Vec<String> {
        let mut words: Vec<String> = self.ssh.clone().unwrap_or_else(|| default_ssh.to_vec());
        if let Some(p) = &self.port {
            words.extend(["-p".to_string(), p.clone()]);
        }
        let user = self.user.as_deref().map_or(String::new(), |u| format!("{u}@"));
        words.push(format!("{user}{}", self.host));
        words.push(remote);
        words
    }
}

/// One sshlogin, as GNU's `SSHLogin->new` reads it.
pub fn parse(text: &str) -> Result<SshLogin, String> {
    let bad = |why: &str| Err(format!("sshlogin {text:?}: {why}"));
    let mut s = text.trim();
    if s.starts_with('@') {
        return bad("host groups (@group/) are not supported: list the hosts to use");
    }
    let mut slots = None;
    if let Some((n, rest)) = s.split_once('/')
        && !n.is_empty()
        && n.bytes().all(|b| b.is_ascii_digit())
    {
        match n.parse::<usize>() {
            Ok(k) if k > 0 => slots = Some(k),
            _ => return bad("the number of slots before / must be 1 or more"),
        }
        s = rest;
    }
    let mut ssh = None;
    if let Some((command, rest)) = s.rsplit_once(' ') {
        let words = crate::gnu::shellwords::split(command)
            .filter(|w| !w.is_empty())
            .ok_or_else(|| format!("sshlogin {text:?}: cannot read the ssh command {command:?}"))?;
        ssh = Some(words);
        s = rest;
    }
    if s == ":" {
        if ssh.is_some() {
            return bad("`:` (this host) takes no ssh command");
        }
        return Ok(SshLogin { slots, ssh: None, user: None, host: ":".into(), port: None });
    }
    let mut user = None;
    if let Some((u, rest)) = s.split_once('@') {
        if u.contains(':') {
            return bad("passwords are not supported (hrun does not use sshpass): use an ssh key");
        }
        if u.is_empty() {
            return bad("no user before @");
        }
        user = Some(u.to_string());
        s = rest;
    }
    // IPv6 (two or more ':'), in brackets when a port follows; else host[:port].
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        match rest.split_once(']') {
            Some((h, "")) => (h, None),
            Some((h, p)) => match p.strip_prefix(':') {
                Some(p) => (h, Some(p)),
                None => return bad("expected :PORT after the bracketed address"),
            },
            None => return bad("no ] after ["),
        }
    } else if s.matches(':').count() >= 2 {
        (s, None)
    } else {
        match s.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (s, None),
        }
    };
    let host_ok =
        |h: &str| !h.is_empty() && h.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._:%".contains(&b));
    if !host_ok(host) {
        return bad("not a host name");
    }
    if let Some(p) = port
        && (p.is_empty() || !p.bytes().all(|b| b.is_ascii_alphanumeric()))
    {
        return bad("not a port");
    }
    Ok(SshLogin { slots, ssh, user, host: host.to_string(), port: port.map(String::from) })
}

/// `-S`'s value: sshlogins separated by commas (a comma within one written `,,` or `\,`).
pub fn split_list(list: &str) -> Vec<String> {
    let protected = list.replace("\\,", "\0").replace(",,", "\0");
    protected
        .split([',', '\n'])
        .map(|s| s.replace('\0', ","))
        .filter(|s| !s.trim().is_empty())
        .map(|s| s.trim_end().to_string())
        .collect()
}

/// The lines of an sshloginfile that are sshlogins: not blank, not `#` comments.
pub fn file_lines(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| l.trim_end_matches('\r'))
        .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .map(|l| l.trim_end().to_string())
        .collect()
}

/// The file `--sshloginfile NAME` reads: `..` is `~/.parallel/sshloginfile`, `.`
/// `/etc/parallel/sshloginfile` (GNU's shorthands).
pub fn file_path(name: &str, home: Option<&Path>) -> Result<PathBuf, String> {
    match name {
        ".." => home
            .map(|h| h.join(".parallel/sshloginfile"))
            .ok_or_else(|| "--sshloginfile ..: $HOME is not set".to_string()),
        "." => Ok(PathBuf::from("/etc/parallel/sshloginfile")),
        _ => Ok(PathBuf::from(name)),
    }
}

/// Every sshlogin given by `-S` values (`logins`) and sshloginfiles (`files`), in that order,
/// each once (GNU keeps the first of duplicates). `read` reads a file.
pub fn gather(
    logins: &[String],
    files: &[String],
    home: Option<&Path>,
    read: impl Fn(&Path) -> std::io::Result<String>,
) -> Result<Vec<SshLogin>, String> {
    let mut texts: Vec<String> = logins.iter().flat_map(|l| split_list(l)).collect();
    for f in files {
        if f == "-" {
            return Err("--sshloginfile -: reading sshlogins from standard input is not supported \
                        (standard input is the tasks' input): name a file"
                .into());
        }
        let path = file_path(f, home)?;
        let text = read(&path).map_err(|e| {
            format!("--sshloginfile {}: {e}", crate::text::printable(&path.display().to_string()))
        })?;
        texts.extend(file_lines(&text));
    }
    let mut seen: Vec<SshLogin> = Vec::new();
    for t in &texts {
        if t == ".." || t == "-" {
            return Err(format!("sshlogin {t:?}: give the sshloginfile with --sshloginfile"));
        }
        let login = parse(t)?;
        // The same host through the same ssh command is one host (`2/a` then `a`: the first).
        if !seen.iter().any(|l| l.name() == login.name() && l.ssh == login.ssh) {
            seen.push(login);
        }
    }
    if seen.is_empty() {
        return Err("no sshlogin given: the --sshlogin values and --sshloginfile files name no host".into());
    }
    Ok(seen)
}

/// `word` as one word for whatever shell the remote login uses (sh, bash, csh, tcsh, fish,
/// zsh): unquoted when it holds only characters none of them treats specially, else in single
/// quotes when it holds none of `'`, `\`, `!` or a newline; else None.
pub fn remote_word(word: &str) -> Option<String> {
    let plain = |b: u8| b.is_ascii_alphanumeric() || b"_./+-=,:@%".contains(&b);
    if !word.is_empty() && word.bytes().all(plain) {
        return Some(word.to_string());
    }
    if word.contains(['\'', '\\', '!', '\n', '\r']) || word.bytes().any(|b| b < 0x20) {
        return None;
    }
    Some(format!("'{word}'"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn login(
        slots: Option<usize>,
        ssh: Option<&[&str]>,
        user: Option<&str>,
        host: &str,
        port: Option<&str>,
    ) -> SshLogin {
        SshLogin {
            slots,
            ssh: ssh.map(|w| w.iter().map(|s| s.to_string()).collect()),
            user: user.map(String::from),
            host: host.into(),
            port: port.map(String::from),
        }
    }

    #[test]
    fn sshlogins_are_read_as_gnu_reads_them() {
        assert_eq!(parse("node1").unwrap(), login(None, None, None, "node1", None));
        assert_eq!(parse("8/node1").unwrap(), login(Some(8), None, None, "node1", None));
        assert_eq!(parse(":").unwrap(), login(None, None, None, ":", None));
        assert_eq!(parse("2/:").unwrap(), login(Some(2), None, None, ":", None));
        assert_eq!(parse("me@node1:2222").unwrap(), login(None, None, Some("me"), "node1", Some("2222")));
        assert_eq!(
            parse("4//usr/bin/ssh -F 'my cfg' me@node-2.example").unwrap(),
            login(Some(4), Some(&["/usr/bin/ssh", "-F", "my cfg"]), Some("me"), "node-2.example", None)
        );
        assert_eq!(parse("2001:db8::1").unwrap(), login(None, None, None, "2001:db8::1", None));
        assert_eq!(parse("[2001:db8::1]:22").unwrap(), login(None, None, None, "2001:db8::1", Some("22")));
        assert_eq!(parse("me@node1:2222").unwrap().name(), "me@node1:2222");
        assert_eq!(parse("3/ssh -p 1 node1").unwrap().name(), "node1");
    }

    #[test]
    fn what_gnu_does_and_hrun_does_not_is_refused_with_a_reason() {
        for (text, why) in [
            ("@grp/node1", "host groups"),
            ("me:secret@node1", "passwords are not supported"),
            ("0/node1", "1 or more"),
            ("node 1;rm", "not a host name"),
            ("node1:", "not a port"),
            ("ssh :", "takes no ssh command"),
            ("@node1", "host groups"),
        ] {
            let e = parse(text).unwrap_err();
            assert!(e.contains(why) && e.contains(&format!("{text:?}")), "{text}: {e}");
        }
    }

    #[test]
    fn lists_files_and_duplicates() {
        assert_eq!(split_list("a,b, c ,"), ["a", "b", " c"]);
        assert_eq!(split_list("ssh -J j1,,j2 h1,h2"), ["ssh -J j1,j2 h1", "h2"]);
        assert_eq!(split_list("ssh -J j1\\,j2 h1"), ["ssh -J j1,j2 h1"]);
        assert_eq!(file_lines("# hosts\n\n2/a\r\n  # b\nc  \n"), ["2/a", "c"]);
        let home = Path::new("/home/u");
        assert_eq!(file_path("..", Some(home)).unwrap(), Path::new("/home/u/.parallel/sshloginfile"));
        let read = |p: &Path| match p.to_str() {
            Some("f") => Ok("b\na\n#x\n".to_string()),
            _ => Err(std::io::Error::from(std::io::ErrorKind::NotFound)),
        };
        let got = gather(&["a,b".into(), "a".into()], &["f".into()], Some(home), read).unwrap();
        let names: Vec<String> = got.iter().map(SshLogin::name).collect();
        assert_eq!(names, ["a", "b"], "each host once, in the order first given");
        let e = gather(&[], &["missing".into()], Some(home), read).unwrap_err();
        assert!(e.starts_with("--sshloginfile missing: "), "{e}");
        assert!(gather(&[], &["-".into()], None, read).unwrap_err().contains("standard input"));
        assert!(gather(&[",".into()], &[], None, read).unwrap_err().contains("no sshlogin"));
    }

    #[test]
    fn the_remote_command_is_one_word_in_every_shell() {
        assert_eq!(remote_word("/opt/hrun-1.2/bin/hrun").as_deref(), Some("/opt/hrun-1.2/bin/hrun"));
        assert_eq!(remote_word("/my apps/hrun").as_deref(), Some("'/my apps/hrun'"));
        assert_eq!(remote_word("/a$b/hrun").as_deref(), Some("'/a$b/hrun'"));
        for bad in ["/it's/hrun", "/a\\b", "/wow!/hrun", "/a\nb"] {
            assert_eq!(remote_word(bad), None, "{bad:?}");
        }
        let l = parse("me@h:22").unwrap();
        assert_eq!(
            l.ssh_command(&["ssh".into(), "-F".into(), "c".into()], "x y".into()),
            ["ssh", "-F", "c", "-p", "22", "me@h", "x y"]
        );
    }
}
