//! Where tasks may run: the usable CPUs (hrun's affinity, or a fake sysfs tree's online list,
//! narrowed by `--cpus`), their topology, and the slot plan over them. `hrun exec`, `hrun
//! run` and `hrun slots` all plan through [`plan`], so `slots` shows exactly what `exec` uses.

use std::path::PathBuf;

use anyhow::{Result, anyhow};
use serde::Serialize;

use crate::cpuset::CpuSet;
use crate::exit::UsageError;
use crate::slots::{self, SlotPlan, Smt};
use crate::sys;
use crate::text::count;
use crate::topology::{self, Topology};

/// The placement flags, shared by every subcommand that plans slots.
#[derive(Clone, Debug, Default)]
pub struct Placement {
    /// `--cpus`: a subset of the usable CPUs.
    pub cpus: Option<CpuSet>,
    pub smt: Smt,
    /// `--sysfs-root` (else `HRUN_SYSFS_ROOT`, else `/sys`).
    pub sysfs_root: Option<PathBuf>,
}

/// A plan, with what it was made from.
pub struct Planned {
    pub usable: CpuSet,
    pub plan: SlotPlan,
    pub notes: Vec<String>,
}

/// The usable CPUs and their topology.
pub fn machine(p: &Placement) -> Result<(CpuSet, Topology)> {
    let fake = p.sysfs_root.is_some() || std::env::var_os("HRUN_SYSFS_ROOT").is_some();
    let root = topology::sysfs_root(p.sysfs_root.as_deref());
    let base = if fake {
        topology::online(&root).map_err(|e| UsageError(anyhow!("{e} (is --sysfs-root a sysfs tree?)")))?
    } else {
        sys::affinity().map_err(|e| anyhow!("cannot read this process's CPU affinity: {e}"))?
    };
    let usable = match &p.cpus {
        None => base,
        Some(sub) => {
            let outside: Vec<usize> = sub.ids().iter().copied().filter(|c| !base.contains(*c)).collect();
            if !outside.is_empty() {
                return Err(UsageError(anyhow!(
                    "--cpus {sub}: CPU(s) {} are not usable here (usable: {base})",
                    CpuSet::from_ids(outside)
                ))
                .into());
            }
            sub.clone()
        }
    };
    let topo = topology::read(&root, &usable);
    Ok((usable, topo))
}

/// How many sockets, physical cores and CPU threads the usable CPUs span (GNU parallel's
/// `--number-of-sockets/-cores/-threads`, which also count only the CPUs it may use); an
/// unread topology counts each CPU as its own core, on one socket.
pub fn counts(p: &Placement) -> Result<(usize, usize, usize)> {
    let (usable, topo) = machine(p)?;
    let threads = usable.ids().len();
    let infos: Vec<&topology::CpuInfo> = usable.ids().iter().filter_map(|c| topo.cpus.get(c)).collect();
    if infos.len() < threads {
        return Ok((1, threads, threads));
    }
    let sockets: std::collections::BTreeSet<usize> = infos.iter().map(|c| c.package).collect();
    let cores: std::collections::BTreeSet<(usize, usize)> =
        infos.iter().map(|c| (c.package, c.core)).collect();
    Ok((sockets.len(), cores.len(), threads))
}

/// The slot plan for `threads` (and `jobs`) on this machine, or a usage error.
pub fn plan(p: &Placement, threads: usize, jobs: Option<slots::Jobs>) -> Result<Planned> {
    let (usable, topo) = machine(p)?;
    let plan =
        slots::plan_with(Some(&topo), &usable, threads, jobs, p.smt).map_err(|e| UsageError(e.into()))?;
    Ok(Planned { usable, plan, notes: topo.notes })
}

/// Refuses a plan whose CPUs this process may not run on: a fake sysfs tree (`--sysfs-root`)
/// describing another node plans slots that pinning would fail on ("Invalid argument" at each
/// start); `hrun slots` shows such a plan, `hrun exec` needs the CPUs themselves.
pub fn check_runnable(p: &Placement, planned: &Planned) -> Result<()> {
    if p.sysfs_root.is_none() && std::env::var_os("HRUN_SYSFS_ROOT").is_none() {
        return Ok(());
    }
    let here = sys::affinity().map_err(|e| anyhow!("cannot read this process's CPU affinity: {e}"))?;
    let missing: Vec<usize> = planned
        .plan
        .slots
        .iter()
        .flat_map(|s| s.cpus.ids().iter().copied())
        .filter(|c| !here.contains(*c))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let root = topology::sysfs_root(p.sysfs_root.as_deref());
    Err(UsageError(anyhow!(
        "the sysfs tree {} plans slots on CPU(s) {} that this process may not run on (it may use {here}): \
         the tree describes another node; `hrun slots` shows its plan, `hrun exec` needs its CPUs",
        root.display(),
        CpuSet::from_ids(missing)
    ))
    .into())
}

#[derive(Serialize)]
struct SlotJson {
    slot: usize,
    cpus: Vec<usize>,
    package: Option<usize>,
    numa: Option<usize>,
    l3: Option<usize>,
}

#[derive(Serialize)]
struct PlanJson<'a> {
    threads: usize,
    smt: Smt,
    topology: bool,
    cpus: Vec<usize>,
    slots: Vec<SlotJson>,
    leftover: Vec<usize>,
    smt_idle: Vec<usize>,
    notes: &'a [String],
}

/// `hrun slots --json`.
pub fn to_json(p: &Planned, smt: Smt) -> String {
    let doc = PlanJson {
        threads: p.plan.threads,
        smt,
        topology: p.plan.topology_aware,
        cpus: p.usable.ids().to_vec(),
        slots: p
            .plan
            .slots
            .iter()
            .map(|s| SlotJson {
                slot: s.id.0,
                cpus: s.cpus.ids().to_vec(),
                package: s.domains.package,
                numa: s.domains.numa,
                l3: s.domains.l3,
            })
            .collect(),
        leftover: p.plan.leftover.ids().to_vec(),
        smt_idle: p.plan.smt_idle.ids().to_vec(),
        notes: &p.notes,
    };
    serde_json::to_string(&doc).expect("a plan always encodes")
}

/// `hrun slots`: one line per slot, then the leftover.
pub fn render(p: &Planned, smt: Smt) -> String {
    let dash = |v: Option<usize>| v.map_or("-".to_string(), |v| v.to_string());
    let mut out = format!(
        "{} of {} on {} ({}); SMT: {}; {}\n",
        count(p.plan.slots.len() as u64, "slot"),
        count(p.plan.threads as u64, "CPU"),
        count(p.usable.len() as u64, "usable CPU"),
        p.usable,
        if smt == Smt::Avoid { "avoid" } else { "use" },
        if p.plan.topology_aware { "topology-aware" } else { "flat (no topology)" }
    );
    out += &format!("{:<6} {:<24} {:>7} {:>5} {:>5}\n", "slot", "cpus", "package", "numa", "l3");
    for s in &p.plan.slots {
        out += &format!(
            "{:<6} {:<24} {:>7} {:>5} {:>5}\n",
            s.id.0,
            s.cpus.to_string(),
            dash(s.domains.package),
            dash(s.domains.numa),
            dash(s.domains.l3)
        );
    }
    let left = if p.plan.leftover.is_empty() { "none".to_string() } else { p.plan.leftover.to_string() };
    out += &format!("leftover: {left}");
    if !p.plan.smt_idle.is_empty() {
        out += &format!(" (SMT siblings left idle: {})", p.plan.smt_idle);
    }
    out.push('\n');
    for n in &p.notes {
        out += &format!("note: {n}\n");
    }
    out
}
