//! `-S`/`--sshlogin`/`--sshloginfile`: hosts reached with ssh, against a real sshd started on
//! this machine for each test (its own port, keys and config in the sandbox; two host aliases,
//! `node-a` and `node-b`, reach it), with GNU parallel on the same arguments as the oracle.
//! CI installs openssh and makes sshd's /run/sshd (.ci/run); elsewhere a machine without them
//! skips these tests, visibly.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::harness::*;

const SSHD: &str = "/usr/sbin/sshd";

/// A real sshd on 127.0.0.1, stopped when dropped.
struct Sshd {
    pid: i32,
    /// An ssh client config: `node-a` and `node-b` are this machine, through this sshd.
    config: PathBuf,
}

impl Sshd {
    /// Started in `sb`'s `sshd/` directory; None (skipped) where sshd is not installed, outside CI.
    fn start(sb: &Sandbox) -> Option<Sshd> {
        let ready = Path::new(SSHD).exists() && Path::new("/run/sshd").is_dir() && which("ssh");
        if !ready {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI must have openssh-server, openssh-client and /run/sshd (.ci/run installs them)"
            );
            eprintln!(
                "skipped: no sshd here (apt-get install openssh-server openssh-client; mkdir -p /run/sshd)"
            );
            return None;
        }
        let dir = sb.path("sshd");
        std::fs::create_dir_all(&dir).unwrap();
        for key in ["host_key", "user_key"] {
            let st = Command::new("ssh-keygen")
                .args(["-q", "-t", "ed25519", "-N", "", "-f"])
                .arg(dir.join(key))
                .status()
                .unwrap();
            assert!(st.success(), "ssh-keygen");
        }
        std::fs::copy(dir.join("user_key.pub"), dir.join("authorized_keys")).unwrap();
        // A free port: the kernel's choice, released for sshd (taken again at once).
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let d = dir.display();
        sb.write(
            "sshd/sshd_config",
            format!(
                "Port {port}\nListenAddress 127.0.0.1\nHostKey {d}/host_key\nAuthorizedKeysFile {d}/authorized_keys\n\
                 PermitRootLogin prohibit-password\nPasswordAuthentication no\nUsePAM no\nStrictModes no\n\
                 PidFile {d}/sshd.pid\n"
            ),
        );
        let user = std::env::var("USER").unwrap_or_else(|_| "root".into());
        let config = sb.write(
            "sshd/ssh_config",
            format!(
                "Host node-a node-b\n  HostName 127.0.0.1\n  Port {port}\n  User {user}\n  IdentityFile {d}/user_key\n\
                 \x20 StrictHostKeyChecking no\n  UserKnownHostsFile /dev/null\n  LogLevel ERROR\n  BatchMode yes\n"
            ),
        );
        let st = Command::new(SSHD)
            .arg("-f")
            .arg(dir.join("sshd_config"))
            .arg("-E")
            .arg(dir.join("sshd.log"))
            .status()
            .unwrap();
        assert!(st.success(), "sshd did not start: {}", sb.read("sshd/sshd.log"));
        let pidfile = dir.join("sshd.pid");
        // (The file appears before its pid is in it.)
        let read_pid = || std::fs::read_to_string(&pidfile).ok().and_then(|t| t.trim().parse::<i32>().ok());
        eventually("sshd writes its pid", Duration::from_secs(10), || read_pid().is_some());
        let pid = read_pid().unwrap();
        let sshd = Sshd { pid, config };
        eventually("sshd answers", Duration::from_secs(10), || {
            sshd.ssh().args(["node-a", "true"]).stderr(Stdio::null()).status().is_ok_and(|s| s.success())
        });
        Some(sshd)
    }

    /// The `--ssh` command that uses this sshd's config.
    fn ssh_words(&self) -> String {
        format!("ssh -F {}", self.config.display())
    }

    fn ssh(&self) -> Command {
        let mut c = Command::new("ssh");
        c.arg("-F").arg(&self.config);
        c
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        signal(self.pid, libc::SIGTERM);
    }
}

fn which(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
fn tasks_run_once_over_ssh_hosts_pinned_with_gnus_output() {
    let sb = Sandbox::new();
    let Some(sshd) = Sshd::start(&sb) else { return };
    // Values that quoting gets wrong: spaces, quotes, $, a backslash at the end, a newline.
    let values = ["a b", "it's", "$HOME", "back\\", "tab\there", "*", "x;y", "-n"];
    let args = |ssh: &str| -> Vec<String> {
        ["--ssh", ssh, "-S", "2/node-a,1/node-b", "-k", "echo", "{}", ":::"]
            .iter()
            .map(|s| s.to_string())
            .chain(values.iter().map(|v| v.to_string()))
            .collect()
    };
    let out = run(sb.exec().args(args(&sshd.ssh_words())));
    assert_status!(out, 0);
    if let Some(mut gnu) = gnu_parallel() {
        let g = run(gnu.current_dir(sb.root()).args(args(&sshd.ssh_words())));
        assert_status!(g, 0, "GNU parallel over the same sshd");
        assert_eq!(stdout(&out), stdout(&g), "the same bytes as GNU parallel's over ssh");
    }
    // Where each task ran, on which slot and CPUs, and what it was told (a log of its own).
    std::fs::remove_file(sb.path("log.jsonl")).unwrap();
    let cmd = "echo \"$PARALLEL_SSHLOGIN $PARALLEL_SSHHOST $HRUN_SLOT $HRUN_CPUS $$ $(pwd)\"; sleep 0.1";
    let out = run(sb
        .exec()
        .args(["--ssh", &sshd.ssh_words(), "-S", "2/node-a", "-S", "1/node-b,1/:", "--tag"])
        .args([cmd, ":::"])
        .args((1..=12).map(|i| i.to_string())));
    assert_status!(out, 0);
    let Log { tasks, .. } = sb.records();
    assert_eq!(tasks.iter().map(|t| t.seq).collect::<Vec<_>>(), (1..=12).collect::<Vec<_>>(), "each once");
    let local = hostname();
    let mut slots: BTreeMap<&str, BTreeSet<usize>> = BTreeMap::new();
    for t in &tasks {
        slots.entry(t.host.as_str()).or_default().insert(t.slot);
    }
    let counts: BTreeMap<&str, usize> = slots.iter().map(|(h, s)| (*h, s.len())).collect();
    assert_eq!(counts, [("node-a", 2), ("node-b", 1), (local.as_str(), 1)].into(), "N/ slots per host");
    let login_dir = sshd.ssh().args(["node-a", "pwd"]).output().unwrap();
    let home = String::from_utf8_lossy(&login_dir.stdout).trim().to_string();
    for line in stdout(&out).lines() {
        let (value, said) = line.split_once('\t').unwrap();
        let t = tasks.iter().find(|t| t.values.as_ref().is_some_and(|v| v[0] == value)).unwrap();
        let w: Vec<&str> = said.split(' ').collect();
        let (login, host, dir) = match t.host.as_str() {
            "node-a" | "node-b" => (t.host.as_str(), t.host.as_str(), home.as_str()),
            _ => (":", ":", sb.root().to_str().unwrap()),
        };
        assert_eq!((w[0], w[1]), (login, host), "GNU's $PARALLEL_SSHLOGIN/SSHHOST: {line}");
        assert_eq!((w[2], w[3]), (t.slot.to_string().as_str(), t.cpus.as_str()), "{line}");
        assert_eq!(w[4], t.pid.to_string(), "the record has the remote task's pid: {line}");
        assert_eq!(w[5], dir, "ssh hosts start in the login directory, as GNU's: {line}");
    }
}

#[test]
fn an_sshloginfile_and_workdir_dot() {
    let sb = Sandbox::new();
    let Some(sshd) = Sshd::start(&sb) else { return };
    sb.write("hosts", "# the nodes\n\n1/node-a\n  # not this one\n1/node-b\n1/node-a\n");
    let out = run(sb.exec().args(["--ssh", &sshd.ssh_words(), "--slf", "hosts", "--wd", ".", "-k"]).args([
        "pwd; echo {}",
        ":::",
        "1",
        "2",
        "3",
    ]));
    assert_status!(out, 0);
    let here = sb.root().to_str().unwrap();
    assert_eq!(stdout(&out), format!("{here}\n1\n{here}\n2\n{here}\n3\n"), "--wd . is this directory there");
    let Log { tasks, .. } = sb.records();
    let hosts: BTreeSet<&str> = tasks.iter().map(|t| t.host.as_str()).collect();
    assert_eq!(hosts, ["node-a", "node-b"].into(), "a duplicate line is one host");
    // The file's hosts through GNU's option names in the parallel personality.
    if let Some(mut gnu) = gnu_parallel() {
        let args = ["--ssh", &sshd.ssh_words(), "--sshloginfile", "hosts", "--wd", ".", "-k", "pwd; echo {}"];
        let g = run(gnu.current_dir(sb.root()).args(args).args([":::", "1", "2", "3"]));
        assert_status!(g, 0);
        assert_eq!(stdout(&g), stdout(&out), "GNU parallel gives the same");
    }
}

#[test]
fn a_lost_ssh_host_costs_only_its_running_tasks_and_leaves_nothing_running_there() {
    let sb = Sandbox::new();
    let Some(sshd) = Sshd::start(&sb) else { return };
    // An ssh that says its pid (the ssh client's, after exec), per host.
    let root = sb.root().display().to_string();
    let wrapper = sb.write(
        "ssh-wrap",
        format!("#!/bin/sh\necho $$ > {root}/ssh-$1.pid\nexec ssh -F {} \"$@\"\n", sshd.config.display()),
    );
    Command::new("chmod").arg("+x").arg(&wrapper).status().unwrap();
    let cmd = format!(
        "echo $$ > {root}/pid-{{}}-$PARALLEL_SSHHOST; until [ -e {root}/go ]; do sleep 0.02; done; echo {{}}"
    );
    let child = sb
        .exec()
        .args(["--ssh", wrapper.to_str().unwrap(), "-S", "1/node-a,2/node-b", &cmd, ":::"])
        .args((1..=20).map(|i| i.to_string()))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let on_b = || -> Vec<(u64, i32)> {
        std::fs::read_dir(sb.root())
            .unwrap()
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().to_str()?.to_string();
                let seq = name.strip_prefix("pid-")?.strip_suffix("-node-b")?.parse().ok()?;
                let pid = std::fs::read_to_string(e.path()).ok()?.trim().parse().ok()?;
                Some((seq, pid))
            })
            .collect()
    };
    eventually("two tasks running on node-b", Duration::from_secs(20), || on_b().len() == 2);
    // The connection to node-b breaks: its ssh client dies.
    let ssh_b: i32 = sb.read("ssh-node-b.pid").trim().parse().unwrap();
    assert!(signal(ssh_b, libc::SIGKILL), "node-b's ssh runs");
    let lost = on_b();
    sb.write("go", "");
    let out = child.wait_with_output().unwrap();
    assert_status!(out, 0);
    assert!(stderr(&out).contains("lost node (node-b)"), "the summary names it: {}", stderr(&out));
    let Log { tasks, .. } = sb.records();
    for (seq, _) in &lost {
        let ends: Vec<&str> =
            tasks.iter().filter(|t| t.seq == *seq && t.exit == Some(0)).map(|t| t.host.as_str()).collect();
        assert_eq!(ends, ["node-a"], "task {seq}, lost with node-b, ran again on node-a");
    }
    let mut printed: Vec<u64> = stdout(&out).lines().map(|l| l.parse().unwrap()).collect();
    printed.sort();
    assert_eq!(printed, (1..=20).collect::<Vec<_>>(), "each task's output once");
    // The launcher on node-b saw its stream end and killed what it ran.
    for (seq, pid) in lost {
        eventually(&format!("task {seq} ({pid}) on node-b ends"), Duration::from_secs(10), || {
            !Path::new(&format!("/proc/{pid}")).exists()
        });
    }
}

#[test]
fn bad_sshlogins_are_refused_before_anything_is_written() {
    let sb = Sandbox::new();
    for (args, says) in [
        (vec!["-S", "me:secret@node1"], "sshlogin \"me:secret@node1\": passwords are not supported"),
        (vec!["-S", "@grp/node1"], "host groups (@group/) are not supported"),
        (vec!["--slf", "no-such-file"], "--sshloginfile no-such-file: "),
        (vec!["-S", "node1", "--trc", "{}.out"], "does not copy files"),
        (
            vec!["-S", "node1", "--remote-hrun", "/it's/hrun"],
            "--remote-hrun /it's/hrun: a path ssh cannot pass",
        ),
    ] {
        let out = run(sb.exec().args(&args).args(["--joblog", "jl", "echo", ":::", "a"]));
        assert_status!(out, 2, "{args:?}");
        assert!(stderr(&out).contains(says), "{args:?}: {}", stderr(&out));
        assert!(
            !sb.path("jl").exists() && !sb.path(".hrun").exists(),
            "{args:?}: nothing opened for writing"
        );
    }
}

fn hostname() -> String {
    let out = Command::new("hostname").output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn a_signal_to_hrun_reaches_the_tasks_on_ssh_hosts_and_resume_finishes_the_rest() {
    let sb = Sandbox::new();
    let Some(sshd) = Sshd::start(&sb) else { return };
    let root = sb.root().display().to_string();
    let cmd = format!("if [ -e {root}/go ]; then echo ok {{}}; else echo $$ > {root}/pid-{{}}; sleep 30; fi");
    let values: Vec<String> = (1..=20).map(|i| i.to_string()).collect();
    let hosts = ["--ssh", &sshd.ssh_words(), "-S", "2/node-a,2/node-b"];
    let pids = || -> Vec<i32> {
        values
            .iter()
            .filter_map(|v| std::fs::read_to_string(sb.path(&format!("pid-{v}"))).ok())
            .filter_map(|p| p.trim().parse().ok())
            .collect()
    };
    for sig in [libc::SIGTERM, libc::SIGKILL] {
        let _ = std::fs::remove_dir_all(sb.path(".hrun"));
        for v in &values {
            let _ = std::fs::remove_file(sb.path(&format!("pid-{v}")));
        }
        let child = sb
            .exec()
            .args(hosts)
            .args([cmd.as_str(), ":::"])
            .args(&values)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        eventually("four tasks started on two hosts", Duration::from_secs(20), || pids().len() == 4);
        assert!(signal(child.id() as i32, sig));
        let out = child.wait_with_output().unwrap();
        let running = pids();
        // Every remote task ends: passed on by hrun (TERM), or by its launcher when the stream
        // closed (hrun killed).
        for pid in &running {
            eventually(&format!("task {pid} ends after signal {sig}"), Duration::from_secs(10), || {
                !Path::new(&format!("/proc/{pid}")).exists()
            });
        }
        if sig == libc::SIGTERM {
            assert_status!(out, 128 + libc::SIGTERM);
            let Log { tasks, .. } = sb.records();
            assert_eq!(tasks.len(), 4, "{tasks:?}");
            let ran_on: BTreeSet<&str> = tasks.iter().map(|t| t.host.as_str()).collect();
            assert_eq!(ran_on, ["node-a", "node-b"].into());
            for t in &tasks {
                assert!(
                    t.cancelled && t.signal == Some(libc::SIGTERM),
                    "ended by the TERM hrun passed on: {t:?}"
                );
            }
            sb.write("go", "");
            let out = run(sb.exec().args(hosts).args(["--resume", cmd.as_str(), ":::"]).args(&values));
            assert_status!(out, 0);
            let mut done: Vec<String> = stdout(&out).lines().map(String::from).collect();
            done.sort_by_key(|l| l[3..].parse::<u32>().unwrap());
            assert_eq!(done, (1..=20).map(|i| format!("ok {i}")).collect::<Vec<_>>());
            std::fs::remove_file(sb.path("go")).unwrap();
        }
    }
}
