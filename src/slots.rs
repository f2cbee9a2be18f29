//! The slot planner: cuts the usable CPUs into disjoint slots of `threads` CPUs each.
//!
//! Pure: `(topology, cpus, threads, jobs, smt) -> SlotPlan`, no syscalls, so every CPU
//! layout (large nodes, Slurm's non-contiguous masks) is unit-tested without the machine.
//! Invariants of a [`SlotPlan`], checked by the tests:
//! - every slot has exactly `threads` CPUs, all from the usable set;
//! - slots are pairwise disjoint, and disjoint from `leftover`;
//! - slots ∪ leftover = the usable set;
//! - the number of slots is the largest possible: `floor(n / threads)` of the CPUs the SMT
//!   policy lets slots use (or `jobs`, when given).
//!
//! One exception, asked for: `--jobs` above that count (GNU parallel users run I/O-bound work
//! with `-j` above the CPU count). Then slot `i` takes the CPUs of disjoint set `(i - 1) mod
//! k` of the `k` that fit, round robin: slots share CPUs, never more than `ceil(jobs / k)` to
//! a set, and the plan says so (`cpu_sets < slots.len()`).
//!
//! Policy (compact): CPUs are grouped package > NUMA node > L3 domain > physical core. Each
//! domain first fills slots from its own CPUs (its sub-domains' leftovers pooled in CPU
//! order); only what is left over rises to the enclosing domain. So a slot stays inside one
//! L3 domain when T fits there, else one NUMA node, else one package, and straddles packages
//! only when the slot count would drop otherwise. Within a domain, SMT siblings are adjacent,
//! so a slot takes whole cores. `--smt avoid` (the default) first keeps one hardware thread
//! per physical core, leaving the siblings idle (reported as leftover). Without topology the
//! plan is flat: CPUs in ascending order, cut into consecutive groups.

use std::collections::BTreeMap;

use crate::cpuset::CpuSet;
use crate::topology::{CpuInfo, Topology};

/// What to do with SMT siblings (hardware threads of one physical core).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Smt {
    /// Every hardware thread is a CPU for slots; siblings stay in the same slot where T allows.
    Use,
    /// One hardware thread per physical core; slots get T distinct cores. The default: HPC
    /// codes run one thread per core (OMP_PLACES=cores, Slurm's --hint=nomultithread), and two
    /// threads sharing a core's FPUs run slower than two cores.
    #[default]
    Avoid,
}

/// 1-based slot number, as `HRUN_SLOT` / GNU parallel's `{%}` show it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SlotId(pub usize);

/// One slot: at most one task runs on it at a time, pinned to exactly these CPUs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Slot {
    pub id: SlotId,
    pub cpus: CpuSet,
    /// The package, NUMA node and L3 domain the slot lies in; `None` when unknown or mixed.
    pub domains: Domains,
}

/// Where a slot lies; a level is `None` when unknown or when the slot spans several.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Domains {
    pub package: Option<usize>,
    pub numa: Option<usize>,
    pub l3: Option<usize>,
}

/// The slots for one run, plus the CPUs that did not fill a whole slot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlotPlan {
    pub threads: usize,
    pub slots: Vec<Slot>,
    /// Usable CPUs in no slot (including SMT siblings left idle).
    pub leftover: CpuSet,
    /// Of `leftover`, the SMT siblings `--smt avoid` left idle.
    pub smt_idle: CpuSet,
    /// True when the plan followed the topology, false when it is flat.
    pub topology_aware: bool,
    /// Distinct CPU sets among the slots: `slots.len()`, or fewer when `--jobs` asked for
    /// more slots than fit and they share CPUs round robin.
    pub cpu_sets: usize,
}

impl SlotPlan {
    /// True when slots share CPUs (`--jobs` above the slot count).
    pub fn shared(&self) -> bool {
        self.cpu_sets < self.slots.len()
    }
}

/// `--jobs` (`-j`, `-P`), as GNU parallel reads it: how many tasks at once, as a number or
/// relative to the usable CPUs (`N%` of them, `+N` or `-N` CPUs), then divided by the CPUs
/// per task and rounded up.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Jobs {
    Count(usize),
    Percent(f64),
    More(usize),
    Fewer(usize),
    /// GNU's `-j 0` (as `parallel`): as many at once as possible: every task when their
    /// number is known (the slot plan is cut to it), else [`AS_MANY_AS_POSSIBLE`].
    AsManyAsPossible,
}

/// GNU's `-j 0` when the number of tasks is not known: the jobs GNU 20221122 runs at once
/// under the usual `ulimit -n 1024` (four descriptors a job, twelve of its own).
pub const AS_MANY_AS_POSSIBLE: usize = 253;

impl std::str::FromStr for Jobs {
    type Err = String;

    fn from_str(s: &str) -> Result<Jobs, String> {
        let bad = || format!("{s:?} is not a job count: give N, N% (of the usable CPUs), +N or -N");
        let t = s.trim();
        if let Some(p) = t.strip_suffix('%') {
            let p: f64 = p.parse().map_err(|_| bad())?;
            return if p.is_finite() && p > 0.0 && p <= 1e6 { Ok(Jobs::Percent(p)) } else { Err(bad()) };
        }
        if let Some(n) = t.strip_prefix('+') {
            return n.parse().map(Jobs::More).map_err(|_| bad());
        }
        if let Some(n) = t.strip_prefix('-') {
            return n.parse().map(Jobs::Fewer).map_err(|_| bad());
        }
        t.parse().map(Jobs::Count).map_err(|_| bad())
    }
}

impl Jobs {
    /// `-j` on the command line: a job count, or, as GNU parallel, a file that holds one (its
    /// first line). GNU reads the file again each time a job ends; hrun reads it once.
    pub fn from_arg(s: &str) -> Result<Jobs, String> {
        let direct = s.parse::<Jobs>();
        let path = std::path::Path::new(s);
        if direct.is_ok() || !path.is_file() {
            return direct;
        }
        let mut text = String::new();
        std::io::Read::read_to_string(
            &mut std::io::Read::take(std::fs::File::open(path).map_err(|e| format!("{s}: {e}"))?, 4096),
            &mut text,
        )
        .map_err(|e| format!("{s}: {e}"))?;
        let first = text.lines().next().unwrap_or("");
        first.parse::<Jobs>().map_err(|e| format!("{s} (a file of job counts, as GNU's -j FILE): {e}"))
    }
}

impl std::fmt::Display for Jobs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Jobs::Count(n) => write!(f, "{n}"),
            Jobs::Percent(p) => write!(f, "{p}%"),
            Jobs::More(n) => write!(f, "+{n}"),
            Jobs::Fewer(n) => write!(f, "-{n}"),
            Jobs::AsManyAsPossible => write!(f, "0"),
        }
    }
}

impl Jobs {
    /// Tasks at once on `cpus` usable CPUs with `threads` CPUs each.
    pub fn resolve(self, cpus: usize, threads: usize) -> Result<usize, PlanError> {
        let per_task = |n: f64| (n / threads as f64).ceil() as usize;
        let n = match self {
            Jobs::Count(0) => return Err(PlanError::ZeroJobs),
            Jobs::Count(n) => n,
            Jobs::Percent(p) => per_task((cpus as f64 * p / 100.0).ceil()),
            Jobs::More(n) => per_task(cpus.saturating_add(n) as f64),
            Jobs::Fewer(n) => per_task(cpus.saturating_sub(n) as f64),
            Jobs::AsManyAsPossible => AS_MANY_AS_POSSIBLE,
        };
        if n == 0 {
            return Err(PlanError::NoJobs { jobs: self.to_string(), cpus });
        }
        if n > MAX_JOBS {
            return Err(PlanError::TooManyJobs { jobs: n });
        }
        Ok(n)
    }
}

/// More tasks at once than this is a mistake (each takes a process, two files, a slot).
pub const MAX_JOBS: usize = 100_000;

/// Why no plan can be made; each names the values and the CPU list, for a one-line error.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PlanError {
    #[error("--threads must be at least 1 (got 0); usable CPUs: {cpus}")]
    ZeroThreads { cpus: CpuSet },
    #[error(
        "--threads {threads} needs {threads} CPUs per task, but the usable CPUs ({cpus}) number only {n}; \
         use --threads {n} or less, or run on a larger allocation"
    )]
    TooManyThreads { threads: usize, n: usize, cpus: CpuSet },
    #[error(
        "--threads {threads} needs {threads} physical cores per task with --smt avoid, but the usable \
         CPUs ({cpus}) have only {cores}; use --threads {cores} or less, or --smt use to count \
         hardware threads"
    )]
    TooFewCores { threads: usize, cores: usize, cpus: CpuSet },
    #[error(
        "--jobs 0 (GNU parallel: as many as possible) is not a number of slots; leave --jobs out to \
         use every slot, or give a count (above the slot count, slots share CPUs)"
    )]
    ZeroJobs,
    #[error("--jobs {jobs} leaves no task to run (usable CPUs: {cpus})")]
    NoJobs { jobs: String, cpus: usize },
    #[error("--jobs {jobs} is more than hrun runs at once (at most {MAX_JOBS})")]
    TooManyJobs { jobs: usize },
}

/// The flat plan: `floor(n / threads)` slots over `cpus` in ascending CPU order, the first
/// `jobs` of them when a cap is given.
pub fn plan(cpus: &CpuSet, threads: usize, jobs: Option<usize>) -> Result<SlotPlan, PlanError> {
    plan_with(None, cpus, threads, jobs.map(Jobs::Count), Smt::Use)
}

/// The plan for `cpus` on `topology` (flat when `None` or when it does not cover `cpus`).
pub fn plan_with(
    topology: Option<&Topology>,
    cpus: &CpuSet,
    threads: usize,
    jobs: Option<Jobs>,
    smt: Smt,
) -> Result<SlotPlan, PlanError> {
    if threads == 0 {
        return Err(PlanError::ZeroThreads { cpus: cpus.clone() });
    }
    let topo = topology.filter(|t| t.covers(cpus));
    // The CPUs slots may use, in placement order, and the SMT siblings left idle.
    let (order, smt_idle): (Vec<CpuInfo>, CpuSet) = match topo {
        None => (cpus.ids().iter().map(|&id| flat_info(id)).collect(), CpuSet::default()),
        Some(t) => {
            let mut infos: Vec<CpuInfo> = cpus.ids().iter().map(|id| t.cpus[id]).collect();
            infos.sort_by_key(|c| (c.package, c.numa, c.l3, c.core, c.id));
            match smt {
                Smt::Use => (infos, CpuSet::default()),
                Smt::Avoid => {
                    let mut seen = std::collections::HashSet::new();
                    let (keep, idle): (Vec<CpuInfo>, Vec<CpuInfo>) =
                        infos.into_iter().partition(|c| seen.insert((c.package, c.core)));
                    (keep, CpuSet::from_ids(idle.iter().map(|c| c.id)))
                }
            }
        }
    };
    if threads > order.len() {
        return Err(if smt_idle.is_empty() {
            PlanError::TooManyThreads { threads, n: order.len(), cpus: cpus.clone() }
        } else {
            PlanError::TooFewCores { threads, cores: order.len(), cpus: cpus.clone() }
        });
    }
    let n_slots = order.len() / threads;
    let wanted = match jobs {
        Some(j) => j.resolve(order.len(), threads)?,
        None => n_slots,
    };
    let mut groups = Vec::new();
    let rest = pack(order, 0, threads, &mut groups);
    debug_assert_eq!(groups.len(), n_slots);
    let mut leftover_ids: Vec<usize> = rest.iter().map(|c| c.id).collect();
    for g in groups.iter().skip(wanted) {
        leftover_ids.extend(g.iter().map(|c| c.id));
    }
    leftover_ids.extend_from_slice(smt_idle.ids());
    let sets: Vec<(CpuSet, Domains)> = groups
        .into_iter()
        .take(wanted)
        .map(|g| {
            let domains = if topo.is_some() { domains_of(&g) } else { Domains::default() };
            (CpuSet::from_ids(g.iter().map(|c| c.id)), domains)
        })
        .collect();
    // Round robin over the sets when more slots are wanted than fit.
    let slots = (0..wanted)
        .map(|i| {
            let (cpus, domains) = &sets[i % sets.len()];
            Slot { id: SlotId(i + 1), cpus: cpus.clone(), domains: *domains }
        })
        .collect();
    Ok(SlotPlan {
        threads,
        slots,
        leftover: CpuSet::from_ids(leftover_ids),
        smt_idle,
        topology_aware: topo.is_some(),
        cpu_sets: sets.len(),
    })
}

/// Levels of the hierarchy, outermost first; the innermost (physical core) is implicit in the
/// order of the CPUs.
const LEVELS: usize = 3;

fn level_key(c: &CpuInfo, level: usize) -> Option<usize> {
    match level {
        0 => Some(c.package),
        1 => c.numa,
        _ => c.l3,
    }
}

/// Fills slots of `threads` CPUs inside each domain of `level` first, then from what its
/// domains left over; returns this level's leftover (fewer than `threads` CPUs), in order.
fn pack(cpus: Vec<CpuInfo>, level: usize, threads: usize, out: &mut Vec<Vec<CpuInfo>>) -> Vec<CpuInfo> {
    let mut pool = if level == LEVELS {
        cpus
    } else {
        let mut groups: BTreeMap<Option<usize>, Vec<CpuInfo>> = BTreeMap::new();
        let mut first_seen = Vec::new();
        for c in cpus {
            let k = level_key(&c, level);
            if !groups.contains_key(&k) {
                first_seen.push(k);
            }
            groups.entry(k).or_default().push(c);
        }
        let mut pool = Vec::new();
        for k in first_seen {
            let group = groups.remove(&k).unwrap_or_default();
            pool.extend(pack(group, level + 1, threads, out));
        }
        pool
    };
    let full = pool.len() / threads * threads;
    let rest = pool.split_off(full);
    out.extend(pool.chunks(threads).map(<[CpuInfo]>::to_vec));
    rest
}

/// The domains all of a slot's CPUs share.
fn domains_of(cpus: &[CpuInfo]) -> Domains {
    let same = |f: fn(&CpuInfo) -> Option<usize>| {
        let first = f(&cpus[0]);
        cpus.iter().all(|c| f(c) == first).then_some(first).flatten()
    };
    Domains { package: same(|c| Some(c.package)), numa: same(|c| c.numa), l3: same(|c| c.l3) }
}

/// A CPU with no topology: every CPU its own core, in one flat domain.
fn flat_info(id: usize) -> CpuInfo {
    CpuInfo { id, package: 0, core: id, l3: None, numa: None }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topology::CpuInfo;

    /// Issue 26 (second walkthrough): "only 1 are usable".
    #[test]
    fn too_many_threads_reads_plainly_for_one_cpu() {
        let e = PlanError::TooManyThreads { threads: 2, n: 1, cpus: "0".parse().unwrap() }.to_string();
        assert!(
            e.starts_with("--threads 2 needs 2 CPUs per task, but the usable CPUs (0) number only 1;"),
            "{e}"
        );
    }

    fn set(list: &str) -> CpuSet {
        list.parse().unwrap()
    }

    fn lists(plan: &SlotPlan) -> Vec<String> {
        plan.slots.iter().map(|s| s.cpus.to_string()).collect()
    }

    /// The invariants written on the module, checked for one plan.
    fn check_invariants(cpus: &CpuSet, threads: usize, jobs: Option<usize>, plan: &SlotPlan) {
        let expect_slots = jobs.unwrap_or(cpus.len() / threads);
        assert_eq!(plan.slots.len(), expect_slots, "{cpus} T={threads}");
        let mut seen = Vec::new();
        for (i, slot) in plan.slots.iter().enumerate() {
            assert_eq!(slot.id, SlotId(i + 1));
            assert_eq!(slot.cpus.len(), threads);
            assert!(slot.cpus.ids().iter().all(|&c| cpus.contains(c)));
            assert!(slot.cpus.is_disjoint(&plan.leftover));
            seen.extend_from_slice(slot.cpus.ids());
        }
        seen.extend_from_slice(plan.leftover.ids());
        let n = seen.len();
        assert_eq!(CpuSet::from_ids(seen.clone()).len(), n, "a CPU is used twice: {seen:?}");
        assert_eq!(CpuSet::from_ids(seen), *cpus, "slots and leftover must cover the usable CPUs");
    }

    #[test]
    fn exact_plans() {
        let p = plan(&set("0-7"), 4, None).unwrap();
        assert_eq!(lists(&p), ["0-3", "4-7"]);
        assert!(p.leftover.is_empty());

        let p = plan(&set("0-3,72-75"), 4, None).unwrap();
        assert_eq!(lists(&p), ["0-3", "72-75"]);

        let p = plan(&set("0-3,72-75"), 3, None).unwrap();
        assert_eq!(lists(&p), ["0-2", "3,72-73"]);
        assert_eq!(p.leftover.to_string(), "74-75");

        let p = plan(&set("1"), 1, None).unwrap();
        assert_eq!(lists(&p), ["1"]);

        let p = plan(&set("0-143"), 4, Some(2)).unwrap();
        assert_eq!(lists(&p), ["0-3", "4-7"]);
        assert_eq!(p.leftover.to_string(), "8-143");
    }

    #[test]
    fn invariants_over_many_cpu_sets() {
        let sets = [
            "0",
            "0-1",
            "1",
            "0-143",
            "0-287",
            "0-3,72-75",
            "0,2,4,6,8,10",
            "5-9,100-130,1000-1003",
            "0-63,128-191",
            "3",
            "0-4",
        ];
        for list in sets {
            let cpus = set(list);
            for threads in 1..=cpus.len() {
                let p = plan(&cpus, threads, None).unwrap();
                check_invariants(&cpus, threads, None, &p);
                let slots = cpus.len() / threads;
                for jobs in [1, slots / 2, slots].into_iter().filter(|&j| j >= 1) {
                    // (Above `slots`, slots share CPUs: tested on its own below.)
                    let p = plan(&cpus, threads, Some(jobs)).unwrap();
                    check_invariants(&cpus, threads, Some(jobs), &p);
                }
            }
        }
    }

    use crate::topology::fixtures;

    fn topo_plan(t: &Topology, mask: &str, threads: usize, smt: Smt) -> SlotPlan {
        let mask: CpuSet = if mask == "all" { CpuSet::from_ids(t.cpus.keys().copied()) } else { set(mask) };
        let p = plan_with(Some(t), &mask, threads, None, smt).unwrap();
        check_topo_invariants(t, &mask, threads, smt, &p);
        p
    }

    /// Disjoint, exact size, maximal count, and no more slots crossing a package, NUMA node or
    /// L3 domain than the counts force.
    fn check_topo_invariants(t: &Topology, mask: &CpuSet, threads: usize, smt: Smt, p: &SlotPlan) {
        assert!(p.topology_aware);
        let usable = mask.len() - p.smt_idle.len();
        assert_eq!(p.slots.len(), usable / threads, "maximal count");
        let mut seen = Vec::new();
        for s in &p.slots {
            assert_eq!(s.cpus.len(), threads);
            seen.extend_from_slice(s.cpus.ids());
            if smt == Smt::Avoid {
                let cores: std::collections::HashSet<_> =
                    s.cpus.ids().iter().map(|id| (t.cpus[id].package, t.cpus[id].core)).collect();
                assert_eq!(cores.len(), threads, "--smt avoid: distinct physical cores in {}", s.cpus);
            }
        }
        seen.extend_from_slice(p.leftover.ids());
        assert_eq!(seen.len(), mask.len(), "a CPU used twice");
        assert_eq!(CpuSet::from_ids(seen), *mask);
        // Crossing counts: at most what the per-domain counts force.
        let candidates: Vec<&CpuInfo> =
            mask.ids().iter().filter(|id| !p.smt_idle.contains(**id)).map(|id| &t.cpus[id]).collect();
        for (name, key) in [
            ("package", (|c: &CpuInfo| Some(c.package)) as fn(&CpuInfo) -> Option<usize>),
            ("l3", |c: &CpuInfo| c.l3),
        ] {
            let mut per: BTreeMap<Option<usize>, usize> = BTreeMap::new();
            for c in &candidates {
                *per.entry(key(c)).or_default() += 1;
            }
            let inside: usize = per.values().map(|n| n / threads).sum();
            let crossing = p.slots.iter().filter(|s| {
                let first = key(&t.cpus[&s.cpus.ids()[0]]);
                s.cpus.ids().iter().any(|id| key(&t.cpus[id]) != first)
            });
            assert!(crossing.count() <= p.slots.len() - inside.min(p.slots.len()), "{name} crossings");
        }
    }

    #[test]
    fn grace_node_slots_stay_in_their_socket() {
        let t = fixtures::grace();
        let p = topo_plan(&t, "all", 4, Smt::Avoid);
        assert_eq!(p.slots.len(), 36);
        assert_eq!(
            (lists(&p)[0].as_str(), lists(&p)[17].as_str(), lists(&p)[18].as_str()),
            ("0-3", "68-71", "72-75")
        );
        assert_eq!(p.slots[18].domains, Domains { package: Some(1), numa: Some(1), l3: Some(72) });
        // 72 = 14 x 5 + 2 per socket: 28 slots, none across sockets, 4 CPUs left.
        let p = topo_plan(&t, "all", 5, Smt::Avoid);
        assert_eq!(p.slots.len(), 28);
        assert!(p.slots.iter().all(|s| s.domains.package.is_some()));
        assert_eq!(p.leftover.to_string(), "70-71,142-143");
        // 48: the third slot must take 24 CPUs of each socket.
        let p = topo_plan(&t, "all", 48, Smt::Avoid);
        assert_eq!(lists(&p), ["0-47", "72-119", "48-71,120-143"]);
        assert_eq!(p.slots[2].domains.package, None);
    }

    #[test]
    fn slurm_style_non_contiguous_masks() {
        let t = fixtures::grace();
        assert_eq!(lists(&topo_plan(&t, "0-3,72-75", 4, Smt::Avoid)), ["0-3", "72-75"]);
        let p = topo_plan(&t, "0-3,72-75", 3, Smt::Avoid);
        assert_eq!(lists(&p), ["0-2", "72-74"]);
        assert_eq!(p.leftover.to_string(), "3,75");
        assert_eq!(lists(&topo_plan(&t, "0-3,72-75", 8, Smt::Avoid)), ["0-3,72-75"]);
    }

    #[test]
    fn amd_smt_node_keeps_ccx_together_and_avoids_siblings_by_default() {
        let t = fixtures::amd_2x64_smt();
        let p = topo_plan(&t, "all", 8, Smt::Avoid);
        assert_eq!(p.slots.len(), 16);
        assert_eq!(p.smt_idle.to_string(), "128-255");
        assert_eq!(lists(&p)[..3], ["0-7", "8-15", "16-23"]);
        assert!(p.slots.iter().all(|s| s.domains.l3.is_some()), "each slot is one CCX");
        // 3 does not divide a CCX: 2 slots per CCX, the rest pooled within the socket.
        let p = topo_plan(&t, "all", 3, Smt::Avoid);
        assert_eq!(p.slots.len(), 42);
        assert_eq!(lists(&p)[..2], ["0-2", "3-5"]);
        // SMT use: a slot takes whole cores, siblings together.
        let p = topo_plan(&t, "all", 2, Smt::Use);
        assert_eq!(lists(&p)[..2], ["0,128", "1,129"]);
        let p = topo_plan(&t, "all", 16, Smt::Use);
        assert_eq!(lists(&p)[0], "0-7,128-135");
        assert_eq!(p.slots.len(), 16);
    }

    #[test]
    fn intel_ht_node_siblings_n_and_n_plus_56() {
        let t = fixtures::intel_2x28_ht();
        let p = topo_plan(&t, "all", 4, Smt::Avoid);
        assert_eq!(p.slots.len(), 14);
        assert_eq!((lists(&p)[0].as_str(), lists(&p)[7].as_str()), ("0-3", "28-31"));
        let p = topo_plan(&t, "all", 4, Smt::Use);
        assert_eq!(lists(&p)[0], "0-1,56-57");
        assert_eq!(p.slots.len(), 28);
        // More cores than a socket has: one slot straddles, as it must.
        assert_eq!(topo_plan(&t, "all", 30, Smt::Avoid).slots.len(), 1);
        let e = plan_with(Some(&t), &set("0-1,56-57"), 3, None, Smt::Avoid).unwrap_err().to_string();
        assert!(e.contains("physical cores") && e.contains("--smt use"), "{e}");
    }

    #[test]
    fn invariants_over_every_fixture_and_many_thread_counts() {
        for t in [fixtures::grace(), fixtures::amd_2x64_smt(), fixtures::intel_2x28_ht()] {
            for mask in ["all", "0-3,72-75", "5-40,100-111"] {
                for threads in [1, 2, 3, 4, 5, 6, 7, 8, 12, 16, 24, 32] {
                    for smt in [Smt::Avoid, Smt::Use] {
                        let m: CpuSet =
                            if mask == "all" { CpuSet::from_ids(t.cpus.keys().copied()) } else { set(mask) };
                        if let Ok(p) = plan_with(Some(&t), &m, threads, None, smt) {
                            check_topo_invariants(&t, &m, threads, smt, &p);
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn refusals_name_the_values_and_the_cpus() {
        let cpus = set("0-1");
        let e = plan(&cpus, 3, None).unwrap_err().to_string();
        assert!(e.contains("--threads 3") && e.contains("0-1") && e.contains("only 2"), "{e}");
        let e = plan(&cpus, 0, None).unwrap_err().to_string();
        assert!(e.contains("got 0") && e.contains("0-1"), "{e}");
        assert_eq!(plan(&cpus, 1, Some(0)).unwrap_err(), PlanError::ZeroJobs);
        let many = plan_with(None, &cpus, 1, Some(Jobs::AsManyAsPossible), Smt::Use).unwrap();
        assert_eq!(many.slots.len(), AS_MANY_AS_POSSIBLE, "GNU's -j 0, slots sharing the CPUs");
        let e = plan_with(None, &set("0-3"), 1, Some(Jobs::Fewer(4)), Smt::Use).unwrap_err().to_string();
        assert!(e.contains("--jobs -4 leaves no task") && e.contains("(usable CPUs: 4)"), "{e}");
    }

    #[test]
    fn jobs_above_the_slot_count_share_cpu_sets_round_robin() {
        let p = plan(&set("0-3,72-75"), 4, Some(5)).unwrap();
        assert_eq!(lists(&p), ["0-3", "72-75", "0-3", "72-75", "0-3"]);
        assert_eq!((p.cpu_sets, p.shared()), (2, true));
        assert!(p.leftover.is_empty());
        let p = plan(&set("0-3"), 1, Some(4)).unwrap();
        assert!(!p.shared());
    }

    #[test]
    fn jobs_from_a_file_as_gnus_dash_j_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = |name: &str, text: &str| {
            let p = dir.path().join(name);
            std::fs::write(&p, text).unwrap();
            p.to_string_lossy().into_owned()
        };
        assert_eq!(Jobs::from_arg(&file("three", "3\n")), Ok(Jobs::Count(3)));
        assert_eq!(Jobs::from_arg(&file("pct", " 50%\nnext line\n")), Ok(Jobs::Percent(50.0)));
        assert_eq!(Jobs::from_arg("4"), Ok(Jobs::Count(4)));
        let bad = Jobs::from_arg(&file("bad", "lots\n")).unwrap_err();
        assert!(bad.contains("bad (a file of job counts") && bad.contains("\"lots\""), "{bad}");
        assert!(
            Jobs::from_arg(&dir.path().join("none").to_string_lossy())
                .unwrap_err()
                .contains("is not a job count")
        );
        // A device or a directory is not read.
        assert!(Jobs::from_arg("/dev/zero").is_err());
        assert!(Jobs::from_arg(&dir.path().to_string_lossy()).is_err());
    }

    #[test]
    fn jobs_as_gnu_parallel_writes_them() {
        let j = |s: &str| s.parse::<Jobs>().unwrap();
        assert_eq!(j("8"), Jobs::Count(8));
        assert_eq!(j("50%"), Jobs::Percent(50.0));
        assert_eq!(j("+2"), Jobs::More(2));
        assert_eq!(j("-1"), Jobs::Fewer(1));
        for bad in ["", "x", "-x", "1.5", "%", "0%", "-5%", "inf%", "1e9%"] {
            assert!(bad.parse::<Jobs>().is_err(), "{bad:?}");
        }
        // GNU parallel: ceil(CPUs x N / 100); hrun then divides by the CPUs per task.
        assert_eq!(j("50%").resolve(3, 1), Ok(2));
        assert_eq!(j("200%").resolve(2, 1), Ok(4));
        assert_eq!(j("100%").resolve(16, 4), Ok(4));
        assert_eq!(j("+2").resolve(2, 1), Ok(4));
        assert_eq!(j("-1").resolve(16, 1), Ok(15));
        assert_eq!(j("-1").resolve(16, 4), Ok(4));
        assert!(j("-16").resolve(16, 1).is_err());
        assert!(j("200000").resolve(16, 1).is_err());
    }
}
