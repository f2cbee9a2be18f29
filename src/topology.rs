//! The machine's CPU topology, read from sysfs for the CPUs hrun may use: package, physical
//! core (and its SMT siblings), L3 cache domain and NUMA node of each CPU.
//!
//! The sysfs root is configurable (`--sysfs-root`, `HRUN_SYSFS_ROOT`), so tests describe large
//! nodes with fake trees. What cannot be read (containers hide parts of sysfs, odd kernels)
//! degrades gracefully: a CPU without package or core information makes the whole plan flat,
//! with a note; a missing L3 or NUMA entry only drops that level.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::cpuset::CpuSet;

/// Where each CPU sits. Domain ids are the kernel's (package, NUMA node) or, for L3, the
/// lowest CPU id sharing the cache, so they are unique across the machine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct CpuInfo {
    pub id: usize,
    pub package: usize,
    /// `core_id` within the package: (package, core) identifies a physical core.
    pub core: usize,
    pub l3: Option<usize>,
    pub numa: Option<usize>,
}

/// The topology of a set of CPUs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Topology {
    /// By CPU id. Complete for the CPUs read, or empty when the plan must be flat.
    pub cpus: BTreeMap<usize, CpuInfo>,
    /// What could not be read, for the user.
    pub notes: Vec<String>,
}

impl Topology {
    /// A topology built in memory (tests, fixtures).
    pub fn from_cpus(cpus: impl IntoIterator<Item = CpuInfo>) -> Topology {
        Topology { cpus: cpus.into_iter().map(|c| (c.id, c)).collect(), notes: Vec::new() }
    }

    /// True when every CPU of `mask` has package and core information.
    pub fn covers(&self, mask: &CpuSet) -> bool {
        mask.ids().iter().all(|id| self.cpus.contains_key(id))
    }
}

/// The sysfs root: `--sysfs-root`, else `HRUN_SYSFS_ROOT`, else `/sys`.
pub fn sysfs_root(flag: Option<&Path>) -> PathBuf {
    flag.map(Path::to_path_buf)
        .or_else(|| std::env::var_os("HRUN_SYSFS_ROOT").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("/sys"))
}

/// `devices/system/cpu/online` under `root`: the usable CPUs of a fake tree.
pub fn online(root: &Path) -> Result<CpuSet, String> {
    let p = root.join("devices/system/cpu/online");
    let text = std::fs::read_to_string(&p).map_err(|e| format!("cannot read {}: {e}", p.display()))?;
    text.trim().parse().map_err(|e| format!("{}: {e}", p.display()))
}

/// Reads the topology of the CPUs in `mask` from the sysfs tree at `root`.
pub fn read(root: &Path, mask: &CpuSet) -> Topology {
    let cpu_dir = root.join("devices/system/cpu");
    let read = |p: PathBuf| std::fs::read_to_string(p).ok().map(|s| s.trim().to_string());
    let numa_of = numa_nodes(root);
    let mut topo = Topology::default();
    let mut missing = Vec::new();
    for &id in mask.ids() {
        let base = cpu_dir.join(format!("cpu{id}"));
        let num = |f: &str| read(base.join("topology").join(f)).and_then(|s| s.parse::<usize>().ok());
        let (Some(package), Some(core)) = (num("physical_package_id"), num("core_id")) else {
            missing.push(id);
            continue;
        };
        let l3 = (0..8).find_map(|i| {
            let idx = base.join(format!("cache/index{i}"));
            (read(idx.join("level"))? == "3")
                .then(|| read(idx.join("shared_cpu_list"))?.parse::<CpuSet>().ok()?.ids().first().copied())
                .flatten()
        });
        topo.cpus.insert(id, CpuInfo { id, package, core, l3, numa: numa_of.get(&id).copied() });
    }
    if !missing.is_empty() {
        topo.notes.push(format!(
            "no CPU topology in {} for CPU(s) {}: slots are cut in CPU order",
            cpu_dir.display(),
            CpuSet::from_ids(missing)
        ));
        topo.cpus.clear();
        return topo;
    }
    if topo.cpus.values().any(|c| c.l3.is_none()) && !topo.cpus.is_empty() {
        topo.notes.push("no L3 cache information: slots are kept within NUMA nodes and packages only".into());
        topo.cpus.values_mut().for_each(|c| c.l3 = None);
    }
    if topo.cpus.values().any(|c| c.numa.is_none()) && !topo.cpus.is_empty() {
        topo.notes
            .push("no NUMA node information: slots are kept within L3 domains and packages only".into());
        topo.cpus.values_mut().for_each(|c| c.numa = None);
    }
    topo
}

/// CPU -> NUMA node, from `devices/system/node/node*/cpulist`.
fn numa_nodes(root: &Path) -> BTreeMap<usize, usize> {
    let mut map = BTreeMap::new();
    let Ok(dir) = std::fs::read_dir(root.join("devices/system/node")) else { return map };
    for e in dir.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(node) = name.strip_prefix("node").and_then(|n| n.parse::<usize>().ok()) else { continue };
        let Ok(list) = std::fs::read_to_string(e.path().join("cpulist")) else { continue };
        if let Ok(cpus) = list.trim().parse::<CpuSet>() {
            for &c in cpus.ids() {
                map.insert(c, node);
            }
        }
    }
    map
}

/// Node layouts used by the tests (unit tests plan on them directly; integration tests write
/// them out as fake sysfs trees with [`fixtures::write_sysfs`] and run `hrun` on them).
#[doc(hidden)]
pub mod fixtures {
    use super::*;

    /// Builds a node: `packages` x `cores` cores, `smt` threads per core, one NUMA node per
    /// package (or `numa_per_package`), L3 domains of `l3_cores` cores. Thread t of core c of
    /// package p is CPU `t * packages * cores + p * cores + c`: siblings are n and
    /// n + packages * cores, as Linux numbers them on AMD and Intel nodes.
    pub fn node(
        packages: usize,
        cores: usize,
        smt: usize,
        l3_cores: usize,
        numa_per_package: usize,
    ) -> Topology {
        let per_smt = packages * cores;
        let per_numa = cores / numa_per_package;
        Topology::from_cpus((0..smt).flat_map(|t| {
            (0..packages).flat_map(move |p| {
                (0..cores).map(move |c| CpuInfo {
                    id: t * per_smt + p * cores + c,
                    package: p,
                    core: c,
                    l3: Some(p * cores + c / l3_cores * l3_cores),
                    numa: Some(p * numa_per_package + c / per_numa),
                })
            })
        }))
    }

    /// A 2-socket Grace-like node: 2 x 72 cores, no SMT, one L3 and NUMA node per socket.
    pub fn grace() -> Topology {
        node(2, 72, 1, 72, 1)
    }

    /// A 2 x 64-core AMD node with SMT2 (CPU n and n+128 share a core) and 8-core L3 (CCX).
    pub fn amd_2x64_smt() -> Topology {
        node(2, 64, 2, 8, 1)
    }

    /// A 2 x 28-core Intel node with hyper-threads numbered n and n+56, one L3 per socket.
    pub fn intel_2x28_ht() -> Topology {
        node(2, 28, 2, 28, 1)
    }

    /// Writes `topo` as a sysfs tree under `root` (`devices/system/cpu/...`, `.../node/...`).
    pub fn write_sysfs(topo: &Topology, root: &Path) -> std::io::Result<()> {
        use std::fs;
        let cpu_dir = root.join("devices/system/cpu");
        let all = CpuSet::from_ids(topo.cpus.keys().copied());
        fs::create_dir_all(&cpu_dir)?;
        fs::write(cpu_dir.join("online"), format!("{all}\n"))?;
        let group = |f: &dyn Fn(&CpuInfo) -> bool| {
            CpuSet::from_ids(topo.cpus.values().filter(|c| f(c)).map(|c| c.id))
        };
        for c in topo.cpus.values() {
            let t = cpu_dir.join(format!("cpu{}/topology", c.id));
            fs::create_dir_all(&t)?;
            fs::write(t.join("physical_package_id"), format!("{}\n", c.package))?;
            fs::write(t.join("core_id"), format!("{}\n", c.core))?;
            let siblings = group(&|o| o.package == c.package && o.core == c.core);
            fs::write(t.join("thread_siblings_list"), format!("{siblings}\n"))?;
            let cache = cpu_dir.join(format!("cpu{}/cache", c.id));
            for (i, level) in [(0, 1), (1, 1), (2, 2)] {
                let d = cache.join(format!("index{i}"));
                fs::create_dir_all(&d)?;
                fs::write(d.join("level"), format!("{level}\n"))?;
                fs::write(d.join("shared_cpu_list"), format!("{siblings}\n"))?;
            }
            if let Some(l3) = c.l3 {
                let d = cache.join("index3");
                fs::create_dir_all(&d)?;
                fs::write(d.join("level"), "3\n")?;
                fs::write(d.join("shared_cpu_list"), format!("{}\n", group(&|o| o.l3 == Some(l3))))?;
            }
        }
        let nodes: std::collections::BTreeSet<usize> = topo.cpus.values().filter_map(|c| c.numa).collect();
        for n in nodes {
            let d = root.join(format!("devices/system/node/node{n}"));
            fs::create_dir_all(&d)?;
            fs::write(d.join("cpulist"), format!("{}\n", group(&|o| o.numa == Some(n))))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_written_tree_reads_back_as_the_same_topology() {
        for topo in [fixtures::grace(), fixtures::amd_2x64_smt(), fixtures::intel_2x28_ht()] {
            let dir = tempfile::tempdir().unwrap();
            fixtures::write_sysfs(&topo, dir.path()).unwrap();
            let all = online(dir.path()).unwrap();
            assert_eq!(all.len(), topo.cpus.len());
            let back = read(dir.path(), &all);
            assert!(back.notes.is_empty(), "{:?}", back.notes);
            assert_eq!(back.cpus, topo.cpus);
        }
    }

    #[test]
    fn missing_files_degrade_with_a_note() {
        let dir = tempfile::tempdir().unwrap();
        fixtures::write_sysfs(&fixtures::grace(), dir.path()).unwrap();
        std::fs::remove_dir_all(dir.path().join("devices/system/node")).unwrap();
        let mask: CpuSet = "0-7".parse().unwrap();
        let t = read(dir.path(), &mask);
        assert!(t.covers(&mask) && t.cpus.values().all(|c| c.numa.is_none()));
        assert!(t.notes[0].contains("no NUMA node information"), "{:?}", t.notes);
        std::fs::remove_file(dir.path().join("devices/system/cpu/cpu3/topology/core_id")).unwrap();
        let t = read(dir.path(), &mask);
        assert!(t.cpus.is_empty());
        assert!(t.notes[0].contains("for CPU(s) 3: slots are cut in CPU order"), "{:?}", t.notes);
    }
}
