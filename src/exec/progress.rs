//! Progress while a run goes on: an indicatif bar when stderr is a terminal, one plain status
//! line every `--progress-interval` otherwise (a Slurm log: no carriage returns, no escape
//! codes), or nothing with `--quiet`; as `parallel` with `--progress` or `--eta`, GNU
//! parallel's text (its host table, then a status after each change, each after a carriage
//! return). Task output never mixes with the bar: the output
//! thread suspends the bar while it writes a block.

use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Which kind of progress a run shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProgressMode {
    Bar,
    Lines(Duration),
    Quiet,
    /// GNU parallel's `--progress` (with `--eta`: the time left first), terminal or not.
    Gnu {
        eta: bool,
    },
}

impl ProgressMode {
    /// The bar on a terminal, lines elsewhere, unless `quiet`.
    pub fn detect(quiet: bool, interval: Duration) -> ProgressMode {
        if quiet {
            ProgressMode::Quiet
        } else if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
            ProgressMode::Bar
        } else {
            ProgressMode::Lines(interval)
        }
    }
}

/// The run's progress, fed by the dispatcher.
pub struct Progress {
    mode: ProgressMode,
    bar: Option<ProgressBar>,
    total: Option<u64>,
    started: Instant,
    next_line: Option<Instant>,
    ok: u64,
    failed: u64,
    running: u64,
    /// Whether any task started (an empty run prints no final line).
    any: bool,
    /// Seconds of the attempts that ended (GNU's average).
    ran_s: f64,
}

impl Progress {
    pub fn new(mode: ProgressMode, total: Option<u64>) -> Progress {
        Progress::drawn_on(mode, total, ProgressDrawTarget::stderr)
    }

    /// The bar drawn on `target` (a test seam: a terminal that records every frame).
    fn drawn_on(
        mode: ProgressMode,
        total: Option<u64>,
        target: impl FnOnce() -> ProgressDrawTarget,
    ) -> Progress {
        let bar = (mode == ProgressMode::Bar).then(|| {
            let bar = ProgressBar::with_draw_target(total, target());
            // Every number a frame shows in words comes from one message, set at once from
            // one snapshot of the counters: indicatif draws on `inc` and on `set_message`
            // alike, so `{pos}` beside the message showed `16/16 ok 15, running 1` between
            // the two calls. The position only moves the bar, the rate and the ETA.
            let template = if total.is_some() {
                "{elapsed_precise} [{bar:30}] {msg} {per_sec} ETA {eta}"
            } else {
                "{elapsed_precise} {spinner} {msg} {per_sec}"
            };
            bar.set_style(
                ProgressStyle::with_template(template).expect("valid template").progress_chars("=> "),
            );
            bar
        });
        let now = Instant::now();
        let next_line = match mode {
            ProgressMode::Lines(every) => Some(now + every),
            _ => None,
        };
        Progress {
            mode,
            bar,
            total,
            started: now,
            next_line,
            ok: 0,
            failed: 0,
            running: 0,
            any: false,
            ran_s: 0.0,
        }
    }

    /// A handle for the output thread, to suspend the bar while it writes.
    pub fn bar(&self) -> Option<ProgressBar> {
        self.bar.clone()
    }

    /// Before the first task: GNU's table of hosts (`--progress`, `--eta`): this host's CPU
    /// cores and how many jobs run at once.
    pub fn announce(&self, cores: usize, slots: usize) {
        if let ProgressMode::Gnu { .. } = self.mode {
            eprint!("\nComputers / CPU cores / Max jobs to run\n1:local / {cores} / {slots}\n");
        }
    }

    pub fn started(&mut self) {
        if let (ProgressMode::Gnu { .. }, false) = (self.mode, self.any) {
            eprint!("\nComputer:jobs running/jobs completed/%of started jobs/Average seconds to complete\n");
        }
        self.running += 1;
        self.any = true;
        self.redraw();
    }

    /// An attempt ended after `wall_s` seconds; `final_ok` is `Some(succeeded)` when it was the
    /// task's last.
    pub fn ended(&mut self, final_ok: Option<bool>, wall_s: f64) {
        self.running = self.running.saturating_sub(1);
        match final_ok {
            Some(true) => self.ok += 1,
            Some(false) => self.failed += 1,
            None => {}
        }
        self.ran_s += wall_s;
        self.redraw();
    }

    /// When the next status line is due (lines mode).
    pub fn deadline(&self) -> Option<Instant> {
        self.next_line
    }

    /// Prints a status line if one is due.
    pub fn tick(&mut self, now: Instant) {
        if let (ProgressMode::Lines(every), Some(due)) = (self.mode, self.next_line)
            && now >= due
        {
            eprintln!("{}", self.line(now));
            self.next_line = Some(now + every);
        }
    }

    /// The last status line (lines mode) or clears the bar.
    pub fn finish(&mut self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        match (self.mode, self.any) {
            (ProgressMode::Gnu { .. }, true) => eprintln!(),
            // What GNU prints when there was no job at all.
            (ProgressMode::Gnu { eta: false }, false) => eprint!("\r0\n"),
            (ProgressMode::Gnu { eta: true }, false) => eprint!("\rETA: 0s Left: 0 AVG: 0.00s  0\n"),
            _ => {}
        }
        if matches!(self.mode, ProgressMode::Lines(_)) && self.any {
            eprintln!("{}", self.line(Instant::now()));
        }
    }

    fn counts(&self) -> String {
        format!("ok {}, failed {}, running {}", self.ok, self.failed, self.running)
    }

    /// Draws the counters as they are now: the words first (one frame, all numbers from this
    /// snapshot), then the bar's position.
    fn redraw(&self) {
        if let ProgressMode::Gnu { eta } = self.mode {
            eprint!("\r{}", self.gnu_status(eta, Instant::now()));
        }
        if let Some(bar) = &self.bar {
            let done = self.ok + self.failed;
            bar.set_message(match self.total {
                Some(n) => format!("{done}/{n} {}", self.counts()),
                None => format!("{done} done, {}", self.counts()),
            });
            bar.set_position(done);
        }
    }

    /// GNU's status: `local:RUNNING/DONE/100%/AVGs ` (average seconds per job ended), after
    /// `ETA: Ss Left: N AVG: As  ` with `--eta`.
    fn gnu_status(&self, eta: bool, now: Instant) -> String {
        let done = self.ok + self.failed;
        let avg = if done > 0 { self.ran_s / done as f64 } else { 0.0 };
        let host = format!("local:{}/{done}/100%/{avg:.1}s ", self.running);
        if !eta {
            return host;
        }
        let left = self.total.map_or(self.running, |n| n.saturating_sub(done));
        let elapsed = now.duration_since(self.started).as_secs_f64();
        let per_job = if done > 0 { elapsed / done as f64 } else { 0.0 };
        format!("ETA: {:.0}s Left: {left} AVG: {per_job:.2}s  {host}", per_job * left as f64)
    }

    /// `hrun: progress: 20/36 done (ok 19, failed 1, running 4), elapsed 0:01:23, ETA 0:00:50`
    pub fn line(&self, now: Instant) -> String {
        let done = self.ok + self.failed;
        let elapsed = now.duration_since(self.started).as_secs_f64();
        let mut s = match self.total {
            Some(n) => format!("hrun: progress: {done}/{n} done ({})", self.counts()),
            None => format!("hrun: progress: {done} done ({})", self.counts()),
        };
        s += &format!(", elapsed {}", clock(elapsed));
        if let Some(n) = self.total
            && done > 0
            && n > done
        {
            s += &format!(", ETA {}", clock(elapsed / done as f64 * (n - done) as f64));
        }
        s
    }
}

fn clock(s: f64) -> String {
    let s = s.max(0.0).round() as u64;
    format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// A terminal that keeps every frame drawn on it.
    #[derive(Debug, Default, Clone)]
    struct Frames(Arc<Mutex<Vec<String>>>);

    impl indicatif::TermLike for Frames {
        fn width(&self) -> u16 {
            200
        }
        fn move_cursor_up(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_down(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_right(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_left(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn write_line(&self, s: &str) -> std::io::Result<()> {
            self.write_str(s)
        }
        fn write_str(&self, s: &str) -> std::io::Result<()> {
            if !s.is_empty() {
                self.0.lock().unwrap().push(s.to_string());
            }
            Ok(())
        }
        fn clear_line(&self) -> std::io::Result<()> {
            Ok(())
        }
        fn flush(&self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// `(done, total, ok, failed, running)` of a frame showing `D/N ok O, failed F, running R`.
    fn numbers(frame: &str) -> Option<[u64; 5]> {
        let re = regex::Regex::new(r"(\d+)/(\d+) ok (\d+), failed (\d+), running (\d+)").unwrap();
        let c = re.captures(frame)?;
        Some([1, 2, 3, 4, 5].map(|i| c[i].parse().unwrap()))
    }

    /// Issue 15: the bar showed `16/16 ok 15, running 1`: `inc` drew the new position with the
    /// old counts before the message followed. Every frame must be one consistent snapshot.
    #[test]
    fn every_frame_is_one_consistent_snapshot() {
        let frames = Frames::default();
        let term = frames.clone();
        let mut p = Progress::drawn_on(ProgressMode::Bar, Some(4), move || {
            ProgressDrawTarget::term_like_with_hz(Box::new(term), 255)
        });
        // Four tasks, two at a time; the second fails once and is retried.
        for (first, second) in [(Some(true), None), (Some(true), Some(false))] {
            p.started();
            p.started();
            p.ended(first, 0.0);
            p.ended(second, 0.0);
        }
        p.started();
        p.ended(Some(true), 0.0);
        let frames = frames.0.lock().unwrap().clone();
        let drawn: Vec<(&String, [u64; 5])> = frames.iter().filter_map(|f| Some((f, numbers(f)?))).collect();
        assert!(drawn.len() >= 4, "frames were drawn: {frames:?}");
        for (f, [done, total, ok, failed, running]) in &drawn {
            assert_eq!(*done, ok + failed, "{f}");
            assert!(done + running <= *total, "{f}");
        }
        let last = drawn.last().unwrap().1;
        assert_eq!(last, [4, 4, 3, 1, 0], "the last frame shows every task done: {frames:?}");
    }
}
