//! Slot utilisation and CPU efficiency: the numbers of a run's `end` record, which `hrun
//! report` computes again from the task records (per timeline, per task). One definition, so
//! that the summary at the end of a run and the report cannot disagree.

/// How well tasks used the slots and CPUs they had, from the sums of their attempts.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Usage {
    /// First task start to last task end.
    pub makespan_s: f64,
    /// Slots the tasks ran on.
    pub slots: usize,
    /// Wall seconds of every attempt: slot time used.
    pub busy_s: f64,
    /// CPU seconds the slots offered while tasks ran: each attempt's wall time x its CPUs.
    pub offered_s: f64,
    /// User + system CPU seconds of every attempt.
    pub cpu_s: f64,
}

impl Usage {
    /// Adds an attempt that ran `wall_s` seconds on a slot of `threads` CPUs and used `cpu_s`
    /// CPU seconds.
    pub fn add(&mut self, wall_s: f64, cpu_s: f64, threads: usize) {
        self.busy_s += wall_s;
        self.offered_s += wall_s * threads as f64;
        self.cpu_s += cpu_s;
    }

    /// Slot time used / slot time there was: busy / (slots x makespan).
    pub fn utilisation(&self) -> f64 {
        if self.makespan_s > 0.0 && self.slots > 0 {
            self.busy_s / (self.slots as f64 * self.makespan_s)
        } else {
            0.0
        }
    }

    /// CPU time used / CPU time the slots offered while tasks ran: (user + sys) / (wall x T).
    pub fn cpu_efficiency(&self) -> f64 {
        if self.offered_s > 0.0 { self.cpu_s / self.offered_s } else { 0.0 }
    }
}

#[cfg(test)]
mod tests {
    use super::Usage;

    #[test]
    fn sums_of_attempts_give_utilisation_and_efficiency() {
        // Two slots for 10 s; one attempt of 10 s and one of 5 s, on slots of 2 CPUs, that used
        // 15 and 5 CPU seconds of the 20 and 10 their slots offered.
        let mut u = Usage { makespan_s: 10.0, slots: 2, ..Usage::default() };
        u.add(10.0, 15.0, 2);
        u.add(5.0, 5.0, 2);
        assert_eq!(u.busy_s, 15.0);
        assert_eq!(u.offered_s, 30.0);
        assert!((u.utilisation() - 0.75).abs() < 1e-12);
        assert!((u.cpu_efficiency() - 20.0 / 30.0).abs() < 1e-12);
    }

    #[test]
    fn nothing_run_is_zero_not_nan() {
        let u = Usage::default();
        assert_eq!(u.utilisation(), 0.0);
        assert_eq!(u.cpu_efficiency(), 0.0);
        let mut instant = Usage { makespan_s: 0.0, slots: 4, ..Usage::default() };
        instant.add(0.0, 0.0, 1);
        assert_eq!(instant.utilisation(), 0.0);
        assert_eq!(instant.cpu_efficiency(), 0.0);
    }
}
