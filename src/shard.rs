//! `--shard K/N`: one of N hruns (one per node, started by `srun`) runs every N-th task.
//!
//! Shard K (1-based) runs the tasks whose number `seq` satisfies `(seq - 1) mod N = K - 1`:
//! round robin, so shards get the same number of tasks (within one) and similar mixes of a
//! sweep's parameters, and each shard can stream the task file without coordination. The
//! shards of one N cover every task exactly once. `--shard auto` takes K and N from Slurm:
//! `SLURM_PROCID`+1 / `SLURM_NTASKS`, else `SLURM_NODEID`+1 / `SLURM_NNODES`.

use std::fmt;
use std::str::FromStr;

/// One shard of N (1-based `k`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    pub k: u64,
    pub n: u64,
}

/// What `--shard` said.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShardSpec {
    Fixed(Shard),
    Auto,
}

impl Shard {
    /// True when this shard runs task `seq`.
    pub fn owns(&self, seq: u64) -> bool {
        (seq - 1) % self.n == self.k - 1
    }

    /// `shard-2-of-3`, for file names.
    pub fn label(&self) -> String {
        format!("shard-{}-of-{}", self.k, self.n)
    }

    /// This shard's own copy of an output file named for the whole sweep (`--results`,
    /// `--joblog`): `r.csv` -> `r.shard-2-of-3.csv`, so that the hrun of each node never
    /// truncates or interleaves with another's. Standard output (`-`, `-.csv`) stays as it is.
    pub fn file(&self, path: &std::path::Path) -> std::path::PathBuf {
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else { return path.to_path_buf() };
        let (stem, ext) = match name.rsplit_once('.') {
            Some((stem, ext)) if !stem.is_empty() => (stem, Some(ext)),
            _ => (name, None),
        };
        if stem == "-" || stem.ends_with(&format!(".{}", self.label())) {
            return path.to_path_buf();
        }
        let ours = match ext {
            Some(ext) => format!("{stem}.{}.{ext}", self.label()),
            None => format!("{stem}.{}", self.label()),
        };
        path.with_file_name(ours)
    }

    fn new(k: u64, n: u64, text: &str) -> Result<Shard, String> {
        if n == 0 || k == 0 || k > n {
            return Err(format!(
                "invalid --shard {text:?}: K/N needs 1 <= K <= N (shards are numbered from 1)"
            ));
        }
        Ok(Shard { k, n })
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.k, self.n)
    }
}

impl FromStr for ShardSpec {
    type Err = String;

    fn from_str(text: &str) -> Result<ShardSpec, String> {
        if text == "auto" {
            return Ok(ShardSpec::Auto);
        }
        let bad = || format!("invalid --shard {text:?}: write K/N (e.g. 2/3) or auto");
        let (k, n) = text.split_once('/').ok_or_else(bad)?;
        let (k, n) =
            (k.trim().parse::<u64>().map_err(|_| bad())?, n.trim().parse::<u64>().map_err(|_| bad())?);
        Shard::new(k, n, text).map(ShardSpec::Fixed)
    }
}

impl ShardSpec {
    /// The shard, reading Slurm's variables (through `var`) for `auto`.
    pub fn resolve(self, var: impl Fn(&str) -> Option<String>) -> Result<Shard, String> {
        match self {
            ShardSpec::Fixed(s) => Ok(s),
            ShardSpec::Auto => {
                let pair = |id: &str, count: &str| -> Option<Result<Shard, String>> {
                    let (i, c) = (var(id)?, var(count)?);
                    let parse = |v: &str, name: &str| {
                        v.trim().parse::<u64>().map_err(|_| format!("{name}={v:?} is not a number"))
                    };
                    Some(parse(&i, id).and_then(|i| {
                        parse(&c, count).and_then(|c| Shard::new(i + 1, c, &format!("{id}={i}, {count}={c}")))
                    }))
                };
                pair("SLURM_PROCID", "SLURM_NTASKS").or_else(|| pair("SLURM_NODEID", "SLURM_NNODES")).unwrap_or_else(|| {
                    Err("--shard auto needs SLURM_PROCID and SLURM_NTASKS (or SLURM_NODEID and SLURM_NNODES): run it under srun, or give --shard K/N".into())
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shard_gets_its_own_output_files() {
        let s = Shard { k: 2, n: 3 };
        for (given, ours) in [
            ("r.csv", "r.shard-2-of-3.csv"),
            ("out/sweep.v2.json", "out/sweep.v2.shard-2-of-3.json"),
            ("joblog", "joblog.shard-2-of-3"),
            (".hidden", ".hidden.shard-2-of-3"),
            ("-.csv", "-.csv"),
            ("r.shard-2-of-3.csv", "r.shard-2-of-3.csv"),
            ("-", "-"),
        ] {
            assert_eq!(s.file(std::path::Path::new(given)), std::path::Path::new(ours), "{given}");
        }
    }

    #[test]
    fn shards_cover_every_task_exactly_once() {
        for n in 1..=7u64 {
            let shards: Vec<Shard> = (1..=n).map(|k| Shard { k, n }).collect();
            for seq in 1..=100 {
                assert_eq!(shards.iter().filter(|s| s.owns(seq)).count(), 1, "seq {seq} of {n} shards");
            }
            // Balanced within one task.
            let sizes: Vec<usize> = shards.iter().map(|s| (1..=100).filter(|&q| s.owns(q)).count()).collect();
            assert!(sizes.iter().max().unwrap() - sizes.iter().min().unwrap() <= 1, "{sizes:?}");
        }
    }

    #[test]
    fn parsing_and_auto() {
        assert_eq!("2/3".parse(), Ok(ShardSpec::Fixed(Shard { k: 2, n: 3 })));
        for bad in ["0/3", "4/3", "1/0", "x", "1-3", "/3"] {
            assert!(bad.parse::<ShardSpec>().unwrap_err().contains(&format!("{bad:?}")), "{bad}");
        }
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())
        };
        let auto = ShardSpec::Auto;
        assert_eq!(
            auto.resolve(env(&[("SLURM_PROCID", "0"), ("SLURM_NTASKS", "3")])),
            Ok(Shard { k: 1, n: 3 })
        );
        assert_eq!(
            auto.resolve(env(&[("SLURM_NODEID", "2"), ("SLURM_NNODES", "3")])),
            Ok(Shard { k: 3, n: 3 })
        );
        assert!(auto.resolve(env(&[])).unwrap_err().contains("under srun"));
        assert!(auto.resolve(env(&[("SLURM_PROCID", "x"), ("SLURM_NTASKS", "3")])).is_err());
    }
}
