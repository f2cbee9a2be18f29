//! `--memfree SIZE` and `--load MAX`, as GNU parallel 20221122: a job starts only while the
//! node has SIZE bytes free and its load is below MAX; the dispatcher looks again every
//! [`RECHECK`] while they hold jobs back (it never spins). With `--memfree`, when free memory
//! falls below SIZE/2 the youngest running job is stopped (`--term-seq`), one per look, as
//! GNU does: it fails, and runs again only under `--retries` (GNU's comment says it is put
//! back in the queue; its code does not).
//!
//! Free memory is GNU's: MemFree + Buffers + Cached + SwapCached of `/proc/meminfo`. The load
//! is the 1-minute load average of `/proc/loadavg` (GNU counts running processes with `ps`,
//! sampled every 10 s; on a node, the kernel's average is the figure Slurm and `top` show).

use std::time::Duration;

use crate::sys::meminfo;

/// How often held-back jobs are looked at again.
pub const RECHECK: Duration = Duration::from_millis(250);

/// `--load`'s forms.
#[derive(Clone, Debug, PartialEq)]
pub enum Load {
    /// `N` or `N.N`.
    Max(f64),
    /// `+N`: the CPUs plus N.
    Plus(u32),
    /// `-N`: the CPUs minus N.
    Minus(u32),
    /// `N%` of the CPUs.
    Percent(u32),
    /// A file holding one of the above, read again at each look (GNU reads it again when it
    /// changes).
    File(std::path::PathBuf),
}

/// What holds jobs back.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Gate {
    /// `--memfree`, bytes.
    pub memfree: Option<u64>,
    pub load: Option<Load>,
    /// The CPUs `--load +N`, `-N` and `N%` count from.
    pub cpus: usize,
}

impl Gate {
    pub fn is_set(&self) -> bool {
        self.memfree.is_some() || self.load.is_some()
    }

    /// True when a job may start now. What cannot be read holds jobs back (GNU: an unknown
    /// load is too high).
    pub fn open(&self) -> bool {
        let mem_ok = self.memfree.is_none_or(|want| free_now().is_some_and(|free| free >= want));
        mem_ok
            && self.load.as_ref().is_none_or(|l| {
                let max = self.max_load(l);
                let now = meminfo::loadavg().ok().and_then(|t| load1(&t));
                matches!((max, now), (Some(max), Some(now)) if now < max)
            })
    }

    /// True when free memory is below half of `--memfree`: the youngest job is to go.
    pub fn memory_short(&self) -> bool {
        self.memfree.is_some_and(|want| free_now().is_some_and(|free| free < want / 2))
    }

    /// The highest load `l` allows, at least 0.01 (as GNU); None for a file that does not
    /// hold a load.
    fn max_load(&self, l: &Load) -> Option<f64> {
        let cpus = self.cpus as f64;
        let max = match l {
            Load::Max(m) => *m,
            Load::Plus(n) => cpus + *n as f64,
            Load::Minus(n) => cpus - *n as f64,
            Load::Percent(p) => cpus * *p as f64 / 100.0,
            Load::File(path) => {
                let text = std::fs::read_to_string(path).ok()?;
                match parse_load(text.trim()).ok()? {
                    Load::File(_) => return None,
                    inner => return self.max_load(&inner),
                }
            }
        };
        Some(max.max(0.01))
    }
}

/// Free memory now, as GNU counts it.
fn free_now() -> Option<u64> {
    meminfo::meminfo().ok().and_then(|t| free_bytes(&t))
}

/// The node's memory, when `/proc/meminfo` says.
pub fn total_now() -> Option<u64> {
    meminfo::meminfo().ok().and_then(|t| field_kb(&t, "MemTotal").map(|k| k * 1024))
}

/// A `Name: N kB` line of `/proc/meminfo`, in kB.
fn field_kb(text: &str, name: &str) -> Option<u64> {
    text.lines().find_map(|l| {
        let (key, rest) = l.split_once(':')?;
        (key == name).then(|| rest.split_whitespace().next()?.parse().ok())?
    })
}

/// GNU's free memory: MemFree + Buffers + Cached + SwapCached, in bytes; None without MemFree.
pub fn free_bytes(meminfo: &str) -> Option<u64> {
    let free = field_kb(meminfo, "MemFree")?;
    let rest: u64 = ["Buffers", "Cached", "SwapCached"].iter().filter_map(|n| field_kb(meminfo, n)).sum();
    Some((free + rest) * 1024)
}

/// The 1-minute load average of `/proc/loadavg`'s text.
pub fn load1(loadavg: &str) -> Option<f64> {
    loadavg.split_whitespace().next()?.parse().ok().filter(|l: &f64| l.is_finite() && *l >= 0.0)
}

/// `--memfree SIZE`: GNU's sizes (1k = 1000, 1K = 1Ki = 1024, M, G, T...).
pub fn parse_memfree(text: &str) -> Result<u64, String> {
    match crate::pipe::split::parse_size(text) {
        Ok(n) if n > 0 => Ok(n as u64),
        _ => Err(format!("--memfree {text:?}: not a size (a number with k, K, M, G, T...: 500M, 2G)")),
    }
}

/// `--load MAX`: `N`, `N.N`, `+N`, `-N`, `N%`, or a file holding one.
pub fn parse_load(text: &str) -> Result<Load, String> {
    let bad = || {
        format!("--load {text:?}: give a load (4, 2.5), +N or -N CPUs, N% of the CPUs, or a file holding one")
    };
    let int =
        |s: &str| s.parse::<u32>().ok().filter(|_| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()));
    if let Some(n) = text.strip_prefix('+').and_then(int) {
        return Ok(Load::Plus(n));
    }
    if let Some(n) = text.strip_prefix('-').and_then(int) {
        return Ok(Load::Minus(n));
    }
    if let Some(n) = text.strip_suffix('%').and_then(int) {
        return Ok(Load::Percent(n));
    }
    let number = text.split_once('.').map_or(text, |(a, _)| a);
    if int(number).is_some() && (text == number || int(&text[number.len() + 1..]).is_some()) {
        return text.parse().map(Load::Max).map_err(|_| bad());
    }
    match std::path::Path::new(text).is_file() {
        true => Ok(Load::File(text.into())),
        false => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MEMINFO: &str = "MemTotal:       16000000 kB\nMemFree:         1000 kB\nMemAvailable:    9000 kB\n\
        Buffers:           200 kB\nCached:            30 kB\nSwapCached:         4 kB\nActive: 5 kB\n";

    #[test]
    fn free_memory_as_gnu_counts_it() {
        assert_eq!(free_bytes(MEMINFO), Some(1234 * 1024));
        assert_eq!(field_kb(MEMINFO, "MemTotal"), Some(16_000_000));
        assert_eq!(free_bytes("MemTotal: 5 kB\n"), None);
        assert_eq!(free_bytes("MemFree: 7 kB\n"), Some(7 * 1024));
    }

    #[test]
    fn the_one_minute_load() {
        assert_eq!(load1("0.52 0.58 0.59 1/467 12345\n"), Some(0.52));
        assert_eq!(load1("12.00 3 3 1/2 3"), Some(12.0));
        assert_eq!(load1(""), None);
        assert_eq!(load1("x 1 1"), None);
    }

    #[test]
    fn memfree_sizes() {
        assert_eq!(parse_memfree("1k"), Ok(1000));
        assert_eq!(parse_memfree("1K"), Ok(1024));
        assert_eq!(parse_memfree("2G"), Ok(2 << 30));
        assert_eq!(parse_memfree("1t"), Ok(1_000_000_000_000));
        for bad in ["", "x", "-5", "0", "1Q"] {
            assert!(parse_memfree(bad).unwrap_err().contains(&format!("{bad:?}")), "{bad}");
        }
    }

    #[test]
    fn load_forms() {
        assert_eq!(parse_load("4"), Ok(Load::Max(4.0)));
        assert_eq!(parse_load("2.5"), Ok(Load::Max(2.5)));
        assert_eq!(parse_load("+2"), Ok(Load::Plus(2)));
        assert_eq!(parse_load("-1"), Ok(Load::Minus(1)));
        assert_eq!(parse_load("50%"), Ok(Load::Percent(50)));
        for bad in ["", "x", "1.", ".5", "+", "-x", "5.5%", "1e3", "/nonexistent-load-file"] {
            assert!(parse_load(bad).unwrap_err().contains(&format!("{bad:?}")), "{bad}");
        }
        let g = Gate { cpus: 8, ..Gate::default() };
        assert_eq!(g.max_load(&Load::Plus(2)), Some(10.0));
        assert_eq!(g.max_load(&Load::Minus(9)), Some(0.01), "never below 0.01, as GNU");
        assert_eq!(g.max_load(&Load::Percent(50)), Some(4.0));
    }

    #[test]
    fn a_load_file_holds_a_form() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("max");
        std::fs::write(&f, "+1\n").unwrap();
        let g = Gate { cpus: 2, ..Gate::default() };
        let l = parse_load(f.to_str().unwrap()).unwrap();
        assert_eq!(g.max_load(&l), Some(3.0));
        std::fs::write(&f, "nonsense").unwrap();
        assert_eq!(g.max_load(&l), None);
    }
}
