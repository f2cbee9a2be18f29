//! `CpuSet`: a set of logical CPU ids, parsed from and printed as the kernel's list format
//! (`0-3,8,10-11`, as in `/proc/self/status` `Cpus_allowed_list` and `taskset -c`).
//!
//! Invariant: the ids are sorted ascending and unique. Every constructor keeps it, so
//! formatting and comparisons never need to sort.

use std::fmt;
use std::str::FromStr;

/// A sorted, duplicate-free set of logical CPU ids.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct CpuSet {
    ids: Vec<usize>,
}

/// Why a CPU list could not be parsed; names the offending piece.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid CPU list {list:?}: {why}")]
pub struct ParseCpuSetError {
    list: String,
    why: String,
}

/// The largest CPU id accepted in a list (Linux's NR_CPUS tops out at 8192).
const MAX_CPU_ID: usize = 1 << 16;

impl CpuSet {
    /// Builds a set from ids in any order; duplicates collapse.
    pub fn from_ids(ids: impl IntoIterator<Item = usize>) -> Self {
        let mut ids: Vec<usize> = ids.into_iter().collect();
        ids.sort_unstable();
        ids.dedup();
        CpuSet { ids }
    }

    /// The ids, ascending.
    pub fn ids(&self) -> &[usize] {
        &self.ids
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    pub fn contains(&self, cpu: usize) -> bool {
        self.ids.binary_search(&cpu).is_ok()
    }

    /// True when no CPU is in both sets.
    pub fn is_disjoint(&self, other: &CpuSet) -> bool {
        let (mut a, mut b) = (self.ids.iter().peekable(), other.ids.iter().peekable());
        while let (Some(x), Some(y)) = (a.peek(), b.peek()) {
            match x.cmp(y) {
                std::cmp::Ordering::Less => {
                    a.next();
                }
                std::cmp::Ordering::Greater => {
                    b.next();
                }
                std::cmp::Ordering::Equal => return false,
            }
        }
        true
    }

    /// The kernel's bitmask layout (64 CPUs per word), as `sched_setaffinity` takes it.
    pub fn to_mask_words(&self) -> Vec<u64> {
        let words = self.ids.last().map_or(1, |&max| max / 64 + 1);
        let mut mask = vec![0u64; words];
        for &id in &self.ids {
            mask[id / 64] |= 1 << (id % 64);
        }
        mask
    }

    /// The inverse of [`CpuSet::to_mask_words`].
    pub fn from_mask_words(words: &[u64]) -> Self {
        let ids = words
            .iter()
            .enumerate()
            .flat_map(|(w, &bits)| (0..64).filter(move |b| bits & (1 << b) != 0).map(move |b| w * 64 + b));
        CpuSet { ids: ids.collect() }
    }
}

impl FromStr for CpuSet {
    type Err = ParseCpuSetError;

    fn from_str(list: &str) -> Result<Self, Self::Err> {
        let err = |why: String| ParseCpuSetError { list: list.to_string(), why };
        let trimmed = list.trim();
        if trimmed.is_empty() {
            return Err(err("empty list".into()));
        }
        let number = |s: &str| -> Result<usize, ParseCpuSetError> {
            let n: usize =
                s.trim().parse().map_err(|_| err(format!("{:?} is not a CPU number", s.trim())))?;
            if n > MAX_CPU_ID {
                return Err(err(format!("CPU {n} is beyond the largest supported id {MAX_CPU_ID}")));
            }
            Ok(n)
        };
        let mut ids = Vec::new();
        for part in trimmed.split(',') {
            match part.split_once('-') {
                Some((lo, hi)) => {
                    let (lo, hi) = (number(lo)?, number(hi)?);
                    if lo > hi {
                        return Err(err(format!("range {lo}-{hi} runs backwards")));
                    }
                    ids.extend(lo..=hi);
                }
                None => ids.push(number(part)?),
            }
        }
        Ok(CpuSet::from_ids(ids))
    }
}

/// Prints the kernel's compact list format: runs of consecutive ids become `a-b`.
impl fmt::Display for CpuSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        let mut i = 0;
        while i < self.ids.len() {
            let start = self.ids[i];
            let mut end = start;
            while i + 1 < self.ids.len() && self.ids[i + 1] == end + 1 {
                i += 1;
                end = self.ids[i];
            }
            if !first {
                f.write_str(",")?;
            }
            first = false;
            if start == end {
                write!(f, "{start}")?;
            } else {
                write!(f, "{start}-{end}")?;
            }
            i += 1;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(list: &str) -> CpuSet {
        list.parse().unwrap()
    }

    #[test]
    fn parses_and_prints_kernel_lists() {
        for (input, want) in [
            ("0", "0"),
            ("0-3", "0-3"),
            ("0-3,72-75", "0-3,72-75"),
            ("3,1,2,0", "0-3"),
            ("0,2,4", "0,2,4"),
            ("0-1,1-2", "0-2"),
            (" 5 , 7-8 ", "5,7-8"),
        ] {
            assert_eq!(set(input).to_string(), want, "input {input:?}");
        }
    }

    #[test]
    fn rejects_bad_lists_naming_the_piece() {
        for (input, needle) in [
            ("", "empty"),
            ("a", "\"a\" is not a CPU number"),
            ("3-1", "backwards"),
            ("1,,2", "\"\" is not a CPU number"),
            ("-1", "\"\" is not a CPU number"),
            ("99999999", "beyond"),
        ] {
            let e = input.parse::<CpuSet>().unwrap_err().to_string();
            assert!(e.contains(needle), "{input:?}: {e}");
        }
    }

    #[test]
    fn mask_words_round_trip() {
        for list in ["0", "63", "64", "0-3,72-75", "1,127,128,200-287"] {
            let s = set(list);
            let words = s.to_mask_words();
            assert_eq!(CpuSet::from_mask_words(&words), s, "{list}");
        }
        assert_eq!(set("0-3,64").to_mask_words(), vec![0b1111, 1]);
    }

    #[test]
    fn disjointness() {
        assert!(set("0-3").is_disjoint(&set("4-7")));
        assert!(!set("0-3").is_disjoint(&set("3-7")));
        assert!(set("0,2,4").is_disjoint(&set("1,3,5")));
        assert!(CpuSet::default().is_disjoint(&set("1")));
    }
}
