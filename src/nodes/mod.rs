//! One hrun over several nodes (`--nodes`, or GNU's `-S`/`--sshloginfile`): which nodes of the
//! Slurm allocation or which ssh hosts, how a launcher is started on each (one `srun` step per
//! node, or one ssh session per host; its standard input and output the launcher's stream), and
//! the launcher's own main there (`hrun __hrun-launcher`), which plans its node's slots as
//! `hrun slots` would there and serves hrun (`sys::serve_stdio`).
//!
//! Why srun's own stdio and not a connection back to the batch node: Slurm already starts,
//! forwards, signals and cleans up a step; a connection back needs a listening port, an
//! address the compute nodes can reach and a secret to tell hrun's launchers from anyone
//! else's, all of which srun's forwarding gives for nothing.

pub mod hostlist;
pub mod sshlogin;

use std::ffi::{CString, OsString};
use std::path::Path;

use anyhow::{Result, anyhow};

use crate::exit::UsageError;
use crate::placement::Placement;
use crate::slots::{Jobs, Smt};

/// The hidden subcommand a remote launcher runs as.
pub const LAUNCHER: &str = "__hrun-launcher";

/// The nodes `spec` names (`all`, or a host list such as `node[2-3]`) among the job's
/// (`nodelist`, Slurm's `SLURM_JOB_NODELIST`; `None` outside an allocation). Pure.
pub fn select(spec: &str, nodelist: Option<&str>) -> Result<Vec<String>, String> {
    let Some(list) = nodelist.filter(|l| !l.trim().is_empty()) else {
        return Err(format!(
            "--nodes {spec}: not inside a Slurm allocation (SLURM_JOB_NODELIST is not set): run it in an \
             sbatch script or under salloc"
        ));
    };
    let job = hostlist::expand(list).map_err(|e| format!("SLURM_JOB_NODELIST: {e}"))?;
    let wanted = match spec.trim() {
        "all" => job.clone(),
        s => hostlist::expand(s).map_err(|e| format!("--nodes: {e}"))?,
    };
    let mut nodes: Vec<String> = Vec::new();
    for n in wanted {
        if !job.contains(&n) {
            return Err(format!("--nodes {spec}: {n} is not a node of this job ({list})"));
        }
        if !nodes.contains(&n) {
            nodes.push(n);
        }
    }
    if nodes.is_empty() {
        return Err(format!("--nodes {spec}: names no node"));
    }
    if nodes.len() > crate::sys::MAX_REMOTE {
        return Err(format!(
            "--nodes {spec}: {} nodes, at most {} are supported",
            nodes.len(),
            crate::sys::MAX_REMOTE
        ));
    }
    Ok(nodes)
}

/// `--nodes` read against the environment: a usage error (exit 2) outside an allocation or
/// for a node not in it.
pub fn resolve(spec: &str) -> Result<Vec<String>> {
    let list = std::env::var("SLURM_JOB_NODELIST").or_else(|_| std::env::var("SLURM_NODELIST")).ok();
    select(spec, list.as_deref()).map_err(|e| UsageError(anyhow!(e)).into())
}

/// The hosts a run's launchers are started on.
#[derive(Clone, Debug, PartialEq)]
pub enum Hosts {
    /// `--nodes`: nodes of the Slurm allocation, one srun step each.
    Slurm(Vec<String>),
    /// `--sshlogin`/`--sshloginfile`: one ssh session each (`:`, this host, none), started
    /// with `ssh` (the words of `--ssh`, `$PARALLEL_SSH` or `ssh`).
    Ssh { logins: Vec<sshlogin::SshLogin>, ssh: Vec<String> },
}

impl Hosts {
    pub fn len(&self) -> usize {
        match self {
            Hosts::Slurm(n) => n.len(),
            Hosts::Ssh { logins, .. } => logins.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Host `i`'s name as the run's messages say it (the node, or the sshlogin).
    pub fn name(&self, i: usize) -> String {
        match self {
            Hosts::Slurm(n) => n[i].clone(),
            Hosts::Ssh { logins, .. } => logins[i].name(),
        }
    }

    /// The command that starts host `i`'s launcher, planning its slots by `plan` (an
    /// sshlogin's own `ncpus/` replaces `-j` there). `hrun`: the hrun program there.
    pub fn command(&self, i: usize, hrun: &Path, plan: &Plan) -> Result<Vec<OsString>, String> {
        match self {
            Hosts::Slurm(n) => Ok(srun_command(&n[i], hrun, plan)),
            Hosts::Ssh { logins, ssh } => {
                let login = &logins[i];
                let plan = Plan { jobs: login.slots.map(Jobs::Count).or(plan.jobs), ..plan.clone() };
                let mut words = vec![hrun.as_os_str().to_owned(), LAUNCHER.into()];
                words.extend(plan.args().map(OsString::from));
                if login.is_local() {
                    return Ok(words);
                }
                let hrun_text = hrun.to_str().and_then(sshlogin::remote_word).ok_or_else(|| {
                    format!(
                        "--remote-hrun {}: a path ssh cannot pass to every shell (no ', \\, ! or control \
                         characters)",
                        crate::text::printable(&hrun.display().to_string())
                    )
                })?;
                let remote = std::iter::once(hrun_text)
                    .chain(words[1..].iter().map(|w| w.to_string_lossy().into_owned()))
                    .collect::<Vec<_>>()
                    .join(" ");
                Ok(login.ssh_command(ssh, remote).into_iter().map(OsString::from).collect())
            }
        }
    }

    /// The name host `i`'s tasks carry in their records: the node's own (Slurm's, as its
    /// launcher says: `hello`), or the sshlogin's `[user@]host[:port]` (two sshlogins can
    /// reach one machine), or this host's for `:`.
    pub fn record_name(&self, i: usize, hello: &str) -> String {
        match self {
            Hosts::Ssh { logins, .. } if !logins[i].is_local() => logins[i].name(),
            _ => hello.to_string(),
        }
    }

    /// GNU's `$PARALLEL_SSHLOGIN` and `$PARALLEL_SSHHOST` for host `i`'s tasks (`:` on this host).
    pub fn gnu_login(&self, i: usize) -> (String, String) {
        match self {
            Hosts::Ssh { logins, .. } if !logins[i].is_local() => {
                let l = &logins[i];
                let ssh = l.ssh.as_ref().map_or(String::new(), |w| format!("{} ", w.join(" ")));
                (format!("{ssh}{}", l.name()), l.host.clone())
            }
            _ => (":".into(), ":".into()),
        }
    }

    /// What says why a launcher did not start.
    pub fn starter(&self) -> &'static str {
        match self {
            Hosts::Slurm(_) => "srun",
            Hosts::Ssh { .. } => "ssh",
        }
    }
}

/// `--sshlogin` values and `--sshloginfile` files read into hosts, with `--ssh`'s command
/// (else `$PARALLEL_SSH`, else `ssh`): a usage error (exit 2) for a bad login or file.
pub fn resolve_ssh(logins: &[String], files: &[String], ssh: Option<&str>) -> Result<Hosts> {
    let usage = |e: String| -> anyhow::Error { UsageError(anyhow!(e)).into() };
    let home = std::env::var_os("HOME").map(std::path::PathBuf::from);
    let logins =
        sshlogin::gather(logins, files, home.as_deref(), |p| std::fs::read_to_string(p)).map_err(usage)?;
    if logins.len() > crate::sys::MAX_REMOTE {
        return Err(usage(format!(
            "{} sshlogins, at most {} are supported",
            logins.len(),
            crate::sys::MAX_REMOTE
        )));
    }
    let env_ssh = std::env::var("PARALLEL_SSH").ok().filter(|s| !s.trim().is_empty());
    let text = ssh.map(String::from).or(env_ssh).unwrap_or_else(|| "ssh".into());
    let words = crate::gnu::shellwords::split(&text)
        .filter(|w| !w.is_empty())
        .ok_or_else(|| usage(format!("--ssh {text:?}: not a command")))?;
    Ok(Hosts::Ssh { logins, ssh: words })
}

/// How the launcher on a node plans its slots: what hrun's own placement flags say.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    pub threads: usize,
    pub jobs: Option<Jobs>,
    pub smt: Smt,
}

impl Plan {
    fn args(&self) -> [String; 3] {
        let smt = match self.smt {
            Smt::Use => "use",
            Smt::Avoid => "avoid",
        };
        [self.threads.to_string(), self.jobs.map_or("-".into(), |j| j.to_string()), smt.into()]
    }

    fn parse(args: &[OsString]) -> Option<Plan> {
        let [threads, jobs, smt] = args else { return None };
        let jobs = jobs.to_str()?;
        Some(Plan {
            threads: threads.to_str()?.parse().ok()?,
            jobs: if jobs == "-" { None } else { Some(jobs.parse().ok()?) },
            smt: smt.to_str()?.parse().ok()?,
        })
    }
}

/// The command that starts a launcher on `node`: one srun step of one task there, with all
/// of the job's CPUs on that node (`--whole`), sharing them with the other steps
/// (`--overlap`: hrun's own batch step holds them too). `--unbuffered`: slurmstepd otherwise
/// holds a task's output until a newline, and the launcher's frames are binary.
pub fn srun_command(node: &str, hrun: &Path, plan: &Plan) -> Vec<OsString> {
    let mut cmd: Vec<OsString> =
        ["srun", "--nodes=1", "--ntasks=1", "--overlap", "--whole", "--quiet", "--unbuffered"]
            .map(OsString::from)
            .into();
    cmd.push(format!("--nodelist={node}").into());
    cmd.push(hrun.into());
    cmd.push(LAUNCHER.into());
    cmd.extend(plan.args().map(OsString::from));
    cmd
}

/// This node's name: Slurm's (several nodes of a test cluster share one host name), else the
/// host's.
pub fn node_name() -> String {
    std::env::var("SLURMD_NODENAME").ok().filter(|n| !n.is_empty()).unwrap_or_else(crate::sys::hostname)
}

/// The environment a task on this node starts from: hrun's (`theirs`), but what says where
/// a process runs (`SLURM_*` of the step, `HOSTNAME`) is this node's (`ours`). Pure.
pub fn merge_env(theirs: &[CString], ours: &[(String, String)]) -> Vec<CString> {
    let local = |k: &[u8]| k.starts_with(b"SLURM") || k == b"HOSTNAME";
    let mut env: Vec<CString> = theirs
        .iter()
        .filter(|v| {
            let key = v.as_bytes().split(|&b| b == b'=').next().unwrap_or_default();
            !local(key)
        })
        .cloned()
        .collect();
    env.extend(
        ours.iter()
            .filter(|(k, _)| local(k.as_bytes()))
            .filter_map(|(k, v)| CString::new(format!("{k}={v}")).ok()),
    );
    env
}

/// `hrun __hrun-launcher THREADS JOBS SMT`: plans this node's slots, says hello, and serves
/// hrun on standard input and output until the stream ends. Never returns when it serves.
pub fn launcher_main(args: &[OsString]) -> i32 {
    let Some(plan) = Plan::parse(args) else {
        eprintln!("hrun: {LAUNCHER} is hrun's own (started by hrun exec --nodes): THREADS JOBS SMT");
        return crate::exit::USAGE;
    };
    let placement = Placement { smt: plan.smt, ..Placement::default() };
    let planned = match crate::placement::plan(&placement, plan.threads, plan.jobs) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("hrun: launcher on {}: cannot plan slots: {e:#}", node_name());
            return crate::exit::INTERNAL;
        }
    };
    let theirs = match crate::sys::read_setup() {
        Ok(env) => env,
        Err(e) => {
            eprintln!("hrun: launcher on {}: {e}", node_name());
            return crate::exit::INTERNAL;
        }
    };
    let ours: Vec<(String, String)> = std::env::vars().collect();
    let env = merge_env(&theirs, &ours);
    let hello = crate::sys::Hello {
        node: node_name(),
        slots: planned.plan.slots.iter().map(|s| s.cpus.clone()).collect(),
    };
    if crate::sys::write_hello(&hello).is_err() {
        return crate::exit::INTERNAL;
    }
    crate::sys::serve_stdio(&env)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nodes_are_chosen_from_the_allocation() {
        let job = Some("node[1-3]");
        assert_eq!(select("all", job).unwrap(), ["node1", "node2", "node3"]);
        assert_eq!(select("node[2-3]", job).unwrap(), ["node2", "node3"]);
        assert_eq!(select("node3,node3", job).unwrap(), ["node3"]);
        let e = select("node4", job).unwrap_err();
        assert!(e.contains("node4 is not a node of this job (node[1-3])"), "{e}");
        let e = select("all", None).unwrap_err();
        assert!(e.contains("not inside a Slurm allocation"), "{e}");
        assert!(select("node[2-", job).unwrap_err().contains("--nodes"));
    }

    #[test]
    fn the_plan_travels_as_words() {
        for plan in [
            Plan { threads: 2, jobs: None, smt: Smt::Avoid },
            Plan { threads: 1, jobs: Some(Jobs::Percent(50.0)), smt: Smt::Use },
        ] {
            let words: Vec<OsString> = plan.args().map(OsString::from).into();
            assert_eq!(Plan::parse(&words), Some(plan));
        }
        let cmd =
            srun_command("node2", Path::new("/opt/hrun"), &Plan { threads: 1, jobs: None, smt: Smt::Avoid });
        let words: Vec<&str> = cmd.iter().map(|w| w.to_str().unwrap()).collect();
        assert_eq!(words[0], "srun");
        assert!(words.contains(&"--nodelist=node2") && words.contains(&"--overlap"));
        assert_eq!(&words[words.len() - 5..], ["/opt/hrun", LAUNCHER, "1", "-", "avoid"]);
    }

    #[test]
    fn a_task_keeps_hruns_environment_but_the_nodes_own_slurm_variables() {
        let theirs: Vec<CString> = ["PATH=/bin", "SLURMD_NODENAME=node1", "HOSTNAME=a", "HRUN_PID=7"]
            .map(|v| CString::new(v).unwrap())
            .into();
        let ours = [("SLURMD_NODENAME", "node2"), ("PATH", "/other"), ("SLURM_NODEID", "1")]
            .map(|(k, v)| (k.to_string(), v.to_string()));
        let env = merge_env(&theirs, &ours);
        let env: Vec<&str> = env.iter().map(|v| v.to_str().unwrap()).collect();
        assert_eq!(env, ["PATH=/bin", "HRUN_PID=7", "SLURMD_NODENAME=node2", "SLURM_NODEID=1"]);
    }
}
