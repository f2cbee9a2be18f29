//! The slot planner: cuts the usable CPUs into disjoint slots of `threads` CPUs each.
//!
//! Pure: `(cpus, threads) -> SlotPlan`, no syscalls, so every CPU layout (large nodes,
//! Slurm's non-contiguous masks) is unit-tested here without touching the machine.
//! Invariants of a [`SlotPlan`], checked by the tests:
//! - every slot has exactly `threads` CPUs, all from the usable set;
//! - slots are pairwise disjoint, and disjoint from `leftover`;
//! - slots ∪ leftover = the usable set, and `slots.len() = floor(n / threads)`.
//!
//! The current policy is flat: CPUs in ascending order, cut into consecutive groups.

use crate::cpuset::CpuSet;

/// 1-based slot number, as `HRUN_SLOT` / GNU parallel's `{%}` show it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SlotId(pub usize);

/// One slot: at most one task runs on it at a time, pinned to exactly these CPUs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Slot {
    pub id: SlotId,
    pub cpus: CpuSet,
}

/// The slots for one run, plus the CPUs that did not fill a whole slot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlotPlan {
    pub threads: usize,
    pub slots: Vec<Slot>,
    pub leftover: CpuSet,
}

/// Why no plan can be made; each names the values and the CPU list, for a one-line error.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PlanError {
    #[error("--threads must be at least 1 (got 0); usable CPUs: {cpus}")]
    ZeroThreads { cpus: CpuSet },
    #[error(
        "--threads {threads} needs {threads} CPUs per task, but only {n} are usable ({cpus}); \
         use --threads {n} or less, or run on a larger allocation"
    )]
    TooManyThreads { threads: usize, n: usize, cpus: CpuSet },
    #[error("--jobs must be at least 1 (got 0)")]
    ZeroJobs,
    #[error(
        "--jobs {jobs} is more than the {slots} slot(s) of {threads} CPU(s) that fit in the usable \
         CPUs ({cpus}); use --jobs {slots} or less, or fewer --threads"
    )]
    TooManyJobs { jobs: usize, slots: usize, threads: usize, cpus: CpuSet },
}

/// Plans `floor(n / threads)` slots over `cpus` in ascending CPU order, then keeps the
/// first `jobs` of them when a cap is given.
pub fn plan(cpus: &CpuSet, threads: usize, jobs: Option<usize>) -> Result<SlotPlan, PlanError> {
    if threads == 0 {
        return Err(PlanError::ZeroThreads { cpus: cpus.clone() });
    }
    if threads > cpus.len() {
        return Err(PlanError::TooManyThreads { threads, n: cpus.len(), cpus: cpus.clone() });
    }
    let n_slots = cpus.len() / threads;
    let wanted = match jobs {
        Some(0) => return Err(PlanError::ZeroJobs),
        Some(j) if j > n_slots => {
            return Err(PlanError::TooManyJobs { jobs: j, slots: n_slots, threads, cpus: cpus.clone() });
        }
        Some(j) => j,
        None => n_slots,
    };
    let slots: Vec<Slot> = cpus
        .ids()
        .chunks_exact(threads)
        .take(wanted)
        .enumerate()
        .map(|(i, chunk)| Slot { id: SlotId(i + 1), cpus: CpuSet::from_ids(chunk.iter().copied()) })
        .collect();
    let used = wanted * threads;
    let leftover = CpuSet::from_ids(cpus.ids()[used..].iter().copied());
    Ok(SlotPlan { threads, slots, leftover })
}

#[cfg(test)]
mod tests {
    use super::*;

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
                    let p = plan(&cpus, threads, Some(jobs)).unwrap();
                    check_invariants(&cpus, threads, Some(jobs), &p);
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
        let e = plan(&set("0-3,72-75"), 4, Some(3)).unwrap_err().to_string();
        assert!(e.contains("--jobs 3") && e.contains("2 slot") && e.contains("0-3,72-75"), "{e}");
    }
}
