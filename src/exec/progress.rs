//! Progress while a run goes on: an indicatif bar when stderr is a terminal, one plain status
//! line every `--progress-interval` otherwise (a Slurm log: no carriage returns, no escape
//! codes), or nothing with `--quiet`. Task output never mixes with the bar: the output
//! thread suspends the bar while it writes a block.

use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Which kind of progress a run shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProgressMode {
    Bar,
    Lines(Duration),
    Quiet,
}

impl ProgressMode {
    /// The bar on a terminal, lines elsewhere, unless `quiet`.
    pub fn detect(quiet: bool, interval: Duration) -> ProgressMode {
        if quiet {
            ProgressMode::Quiet
        } else if super::os::stderr_is_terminal() {
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
}

impl Progress {
    pub fn new(mode: ProgressMode, total: Option<u64>) -> Progress {
        let bar = (mode == ProgressMode::Bar).then(|| {
            let bar = match total {
                Some(n) => ProgressBar::with_draw_target(Some(n), ProgressDrawTarget::stderr()),
                None => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()),
            };
            let template = if total.is_some() {
                "{elapsed_precise} [{bar:30}] {pos}/{len} {msg} {per_sec} ETA {eta}"
            } else {
                "{elapsed_precise} {spinner} {pos} {msg} {per_sec}"
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
        Progress { mode, bar, total, started: now, next_line, ok: 0, failed: 0, running: 0, any: false }
    }

    /// A handle for the output thread, to suspend the bar while it writes.
    pub fn bar(&self) -> Option<ProgressBar> {
        self.bar.clone()
    }

    pub fn started(&mut self) {
        self.running += 1;
        self.any = true;
        self.redraw();
    }

    /// An attempt ended; `final_ok` is `Some(succeeded)` when it was the task's last.
    pub fn ended(&mut self, final_ok: Option<bool>) {
        self.running = self.running.saturating_sub(1);
        match final_ok {
            Some(true) => self.ok += 1,
            Some(false) => self.failed += 1,
            None => {}
        }
        if let Some(bar) = &self.bar
            && final_ok.is_some()
        {
            bar.inc(1);
        }
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
        if matches!(self.mode, ProgressMode::Lines(_)) && self.any {
            eprintln!("{}", self.line(Instant::now()));
        }
    }

    fn counts(&self) -> String {
        format!("ok {}, failed {}, running {}", self.ok, self.failed, self.running)
    }

    fn redraw(&self) {
        if let Some(bar) = &self.bar {
            bar.set_message(self.counts());
        }
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
