//! The launchers of a run and the slots each serves. On one host, launcher `i mod k` serves
//! slot `i`; over several nodes (`--nodes`), each node's launcher (a proxy for the one that
//! srun started there) serves that node's slots, and its name goes into their records.

use crate::sys::{self, Launcher};

pub struct Fleet {
    pub launchers: Vec<Launcher>,
    /// Slot -> the index of the launcher serving it.
    owner: Vec<usize>,
    /// Launcher -> the host its tasks run on.
    hosts: Vec<String>,
    /// The order free slots are filled in: slot by slot on one host; over several, the first
    /// slot of each host, then the second of each..., so that a few tasks spread over the hosts
    /// (their memory bandwidth and caches) as GNU's do, rather than crowd the first.
    order: Vec<usize>,
    /// Launcher -> GNU's `$PARALLEL_SSHLOGIN` and `$PARALLEL_SSHHOST` there (empty: `:`).
    logins: Vec<(String, String)>,
}

impl Fleet {
    /// Launchers on this host, `host`, serving `slots` slots round robin.
    pub fn local(launchers: Vec<Launcher>, slots: usize, host: &str) -> Fleet {
        let k = launchers.len().max(1);
        let hosts = vec![host.to_string(); launchers.len()];
        let order = (0..slots).collect();
        Fleet { owner: (0..slots).map(|s| s % k).collect(), launchers, hosts, order, logins: Vec::new() }
    }

    /// One launcher per node: launcher `i` on node `names[i]`, serving `counts[i]` slots, the
    /// nodes' slots one after the other.
    pub fn nodes(launchers: Vec<Launcher>, counts: &[usize], names: Vec<String>) -> Fleet {
        let owner = counts.iter().enumerate().flat_map(|(i, &n)| std::iter::repeat_n(i, n)).collect();
        Fleet { launchers, owner, hosts: names, order: interleaved(counts), logins: Vec::new() }
    }

    /// The slots in the order free ones are filled.
    pub fn fill_order(&self) -> &[usize] {
        &self.order
    }

    /// With GNU's sshlogin and host per launcher, for the tasks' `$PARALLEL_SSHLOGIN`.
    pub fn with_logins(mut self, logins: Vec<(String, String)>) -> Fleet {
        self.logins = logins;
        self
    }

    /// GNU's `$PARALLEL_SSHLOGIN` and `$PARALLEL_SSHHOST` for `slot`'s tasks; None: `:`.
    pub fn gnu_login(&self, slot: usize) -> Option<&(String, String)> {
        self.logins.get(self.owner[slot]).filter(|(l, _)| l != ":")
    }

    /// The launcher serving `slot`.
    pub fn of(&self, slot: usize) -> &Launcher {
        &self.launchers[self.owner[slot]]
    }

    /// The host `slot`'s tasks run on.
    pub fn host(&self, slot: usize) -> &str {
        &self.hosts[self.owner[slot]]
    }

    /// The host of launcher `index`.
    pub fn host_of(&self, index: usize) -> &str {
        &self.hosts[index]
    }

    /// The slots launcher `index` serves.
    pub fn slots_of(&self, index: usize) -> Vec<usize> {
        (0..self.owner.len()).filter(|&s| self.owner[s] == index).collect()
    }

    /// True when launcher `index` was lost: every slot it serves is `dead`.
    pub fn gone(&self, index: usize, dead: &[bool]) -> bool {
        let mut slots = self.slots_of(index).into_iter().peekable();
        slots.peek().is_some() && slots.all(|s| dead[s])
    }

    /// Sends `sig` to the process group `pgid` of a task: directly on this host, through its
    /// launcher for a task on another node (a tagged pid).
    pub fn signal(&self, pgid: i32, sig: i32) {
        match sys::remote_pid(pgid) {
            Some((index, _)) => {
                // A launcher that cannot be told is gone: its tasks are lost with it.
                if let Some(l) = self.launchers.get(index) {
                    let _ = l.signal(pgid, sig);
                }
            }
            None => super::attempt::signal_group(pgid, sig),
        }
    }
}

/// The slots of hosts holding `counts[i]` consecutive slots each, taken round robin over the
/// hosts: host 0's first, host 1's first, ..., host 0's second... Pure.
fn interleaved(counts: &[usize]) -> Vec<usize> {
    let starts: Vec<usize> = counts.iter().scan(0, |at, &n| Some(std::mem::replace(at, *at + n))).collect();
    let deepest = counts.iter().copied().max().unwrap_or(0);
    (0..deepest)
        .flat_map(|k| counts.iter().zip(&starts).filter(move |(n, _)| k < **n).map(move |(_, s)| s + k))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nodes_serve_their_own_slots_in_order() {
        let f = Fleet::nodes(Vec::new(), &[2, 3, 1], vec!["a".into(), "b".into(), "c".into()]);
        assert_eq!(f.owner, [0, 0, 1, 1, 1, 2]);
        assert_eq!((f.host(1), f.host(4), f.host(5)), ("a", "b", "c"));
        assert_eq!(f.slots_of(1), [2, 3, 4]);
        assert_eq!(f.fill_order(), [0, 2, 5, 1, 3, 4], "one slot of each node, then the next of each");
        let one = Fleet::local(Vec::new(), 3, "h");
        assert_eq!(one.fill_order(), [0, 1, 2]);
    }
}
