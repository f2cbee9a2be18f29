//! The HTML page: the totals over every run, a colour legend, the pi estimate when the tasks
//! wrote worker results, then one timeline per sitting (runs that overlap in time: the shards
//! of a job side by side; a resume later on gets its own), a histogram of wall times, the
//! spread of identical tasks, and the failures.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::kinds::{self, Sample};
use super::{Bar, Report};
use crate::log::{Outcome, Usage, Verdict};
use crate::text::count;

/// How an attempt is drawn: its outcome as the page tells them apart (a timeout and leaked
/// processes get their own colours), in the legend's order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shade {
    Ok,
    OkLeaked,
    Failed,
    TimedOut,
    Cancelled,
}

impl Shade {
    /// Every shade, in the legend's order.
    const ALL: [Shade; 5] = [Shade::Ok, Shade::OkLeaked, Shade::Failed, Shade::TimedOut, Shade::Cancelled];

    fn of(b: &Bar) -> Shade {
        match b.outcome {
            Outcome::Cancelled => Shade::Cancelled,
            _ if b.timeout => Shade::TimedOut,
            Outcome::Succeeded if b.leaked => Shade::OkLeaked,
            Outcome::Succeeded => Shade::Ok,
            Outcome::Failed | Outcome::Retried => Shade::Failed,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Shade::Ok => "ok",
            Shade::OkLeaked => "ok, leaked processes",
            Shade::Failed => "failed",
            Shade::TimedOut => "timed out",
            Shade::Cancelled => "cancelled",
        }
    }

    fn colour(self) -> &'static str {
        match self {
            Shade::Ok => "#2e9d5b",
            Shade::OkLeaked => "#8e44ad",
            Shade::Failed => "#d64541",
            Shade::TimedOut => "#f39c12",
            Shade::Cancelled => "#9e9e9e",
        }
    }
}

/// `s` for HTML text or an attribute: markup characters as entities, and control characters
/// and bidirectional overrides as visible escapes (no byte from a log restyles or reorders
/// the page: `hrun status` escapes them the same way).
fn esc(s: &str) -> String {
    crate::text::controls_escaped(s)
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Runs that overlap in time, drawn on one timeline: indices into `Report::runs`.
fn sittings(r: &Report) -> Vec<Vec<usize>> {
    // Each run's span: its start to its end record, or to its last task's end.
    let mut last: Vec<f64> = r.runs.iter().map(|run| run.head.start).collect();
    for b in &r.bars {
        last[b.run] = last[b.run].max(b.start + b.wall_s);
    }
    let span: Vec<(f64, f64)> = r
        .runs
        .iter()
        .zip(&last)
        .map(|(run, &l)| (run.head.start, run.end.as_ref().and_then(|e| e.end).unwrap_or(l).max(l)))
        .collect();
    let mut order: Vec<usize> = (0..r.runs.len()).collect();
    order.sort_by(|&a, &b| span[a].0.total_cmp(&span[b].0).then(a.cmp(&b)));
    let mut out: Vec<(f64, Vec<usize>)> = Vec::new();
    for i in order {
        let (start, end) = span[i];
        match out.last_mut() {
            Some((until, runs)) if start <= *until => {
                runs.push(i);
                *until = until.max(end);
            }
            _ => out.push((end, vec![i])),
        }
    }
    out.into_iter()
        .map(|(_, mut runs)| {
            runs.sort_by_key(|&i| (r.runs[i].log, i));
            runs
        })
        .collect()
}

/// The page.
pub fn render(r: &Report) -> String {
    let mut h = String::new();
    h += "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>hrun report</title>\n<style>\n";
    h += "body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;background:#fafafa}\n";
    h += "h1{font-size:20px}h2{font-size:16px;margin-top:28px}table{border-collapse:collapse}\n";
    h += "td,th{padding:3px 10px;border-bottom:1px solid #ddd;text-align:left}\n";
    h += ".task:hover{stroke:#000;stroke-width:1.5}.kpi{display:inline-block;margin:0 18px 8px 0;padding:8px 12px;background:#fff;border:1px solid #ddd;border-radius:6px}\n";
    h += ".kpi b{display:block;font-size:18px}code{font-size:12px}\n";
    h += ".key{display:inline-block;width:12px;height:12px;border-radius:2px;margin:0 4px 0 14px;vertical-align:middle}</style></head><body>\n";
    let mut nodes: Vec<&str> = Vec::new();
    for run in &r.runs {
        if !nodes.contains(&run.node()) {
            nodes.push(run.node());
        }
    }
    let _ = writeln!(
        h,
        "<h1>hrun run on {} &mdash; {} in {} of {}</h1>",
        esc(&nodes.join(", ")),
        count(r.bars.len() as u64, "task attempt"),
        count(r.runs.len() as u64, "run"),
        count(r.logs as u64, "log")
    );
    h += &totals(r);
    h += "<p class=\"legend\">Colours:";
    for shade in Shade::ALL {
        let (what, colour) = (shade.label(), shade.colour());
        let _ = write!(h, "<span class=\"key\" style=\"background:{colour}\"></span>{what}");
    }
    h += "</p>\n";
    if let Some((pi, files)) = super::pi::estimate(r) {
        let _ = writeln!(
            h,
            "<h2>Pi estimate</h2>\n<p>From the worker results the successful tasks wrote ({} named, {} read):</p>\n<pre id=\"pi\">{}</pre>",
            count(files as u64, "file"),
            pi.tasks,
            esc(&crate::reduce::render(&pi))
        );
    }
    let sittings = sittings(r);
    for (k, runs) in sittings.iter().enumerate() {
        h += &sitting(r, runs, k, sittings.len());
    }
    h += &histogram(&r.bars);
    h += &identical(r);
    h += &failures(&r.bars);
    h += "</body></html>\n";
    h
}

/// Tasks ok, failed and not run yet over every run (a task counts once, by its verdict over
/// all its attempts), and cancelled attempts.
fn totals(r: &Report) -> String {
    // A task is its sweep's: the logs of unrelated sweeps each have their own task 1.
    let keys: Vec<String> = r.runs.iter().map(|run| crate::status::sweep_key(&run.head)).collect();
    let mut verdicts: BTreeMap<(&str, u64), Verdict> = BTreeMap::new();
    for b in &r.bars {
        let v = verdicts.entry((keys[b.run].as_str(), b.seq)).or_default();
        *v = (*v).max(b.outcome.verdict());
    }
    let ok = verdicts.values().filter(|&&v| v == Verdict::Succeeded).count();
    let failed = verdicts.values().filter(|&&v| v == Verdict::Failed).count();
    let cancelled = r.bars.iter().filter(|b| b.outcome == Outcome::Cancelled).count();
    let mut line = format!("<p id=\"totals\">Tasks: {ok} ok, {failed} failed");
    // Each sweep's size (its latest run's count), summed over the sweeps.
    let mut sizes: BTreeMap<&str, u64> = BTreeMap::new();
    for (key, run) in keys.iter().zip(&r.runs) {
        if let Some(n) = run.head.file_tasks {
            let size = sizes.entry(key.as_str()).or_default();
            *size = (*size).max(n);
        }
    }
    if !sizes.is_empty() {
        let total: u64 = sizes.values().sum();
        let left = total.saturating_sub((ok + failed) as u64);
        let _ = write!(line, ", {left} not run yet, of {total}");
    }
    let _ = write!(
        line,
        "; {} cancelled (hrun stopped them; --resume runs them again)",
        count(cancelled as u64, "attempt")
    );
    line + ".</p>\n"
}

/// A run's row label: the slot, and where several runs or logs are shown, the node and shard.
fn row_label(r: &Report, run: usize, slot: usize, cpus: &str, alone: bool) -> String {
    let part = &r.runs[run];
    if alone && r.logs == 1 && part.head.shard.is_none() {
        return format!("slot {slot} ({cpus})");
    }
    match &part.head.shard {
        Some(k) => format!("{} {k} slot {slot} ({cpus})", part.node()),
        None => format!("{} slot {slot} ({cpus})", part.node()),
    }
}

/// How each run of a sitting ended, in words.
fn how(r: &Report, i: usize) -> String {
    let run = &r.runs[i];
    let started = crate::deadline::local_clock(run.head.start);
    let what = match &run.end {
        Some(e) => e.how(),
        None => "no end record (hrun was killed, or is still running)".into(),
    };
    let resumed = if run.head.resume { ", a resume" } else { "" };
    let shard = run.head.shard.as_ref().map(|k| format!(" shard {k}")).unwrap_or_default();
    format!("{}{shard}: started {started}{resumed}, {what}", run.node())
}

/// The attempts of one sitting and the rows of its timeline.
struct Sitting<'a> {
    bars: Vec<&'a Bar>,
    /// Row labels, one per slot of each run.
    rows: Vec<String>,
    /// (run, slot) -> row.
    row_of: BTreeMap<(usize, usize), usize>,
    /// First attempt's start, in the log's clock.
    first: f64,
    makespan: f64,
}

impl<'a> Sitting<'a> {
    fn of(r: &'a Report, runs: &[usize]) -> Self {
        let bars: Vec<&Bar> = r.bars.iter().filter(|b| runs.contains(&b.run)).collect();
        let first = bars.iter().map(|b| b.start).fold(f64::INFINITY, f64::min);
        let end = bars.iter().map(|b| b.start + b.wall_s).fold(f64::NEG_INFINITY, f64::max);
        let (first, end) = if bars.is_empty() { (0.0, 0.0) } else { (first, end) };
        let mut rows: Vec<String> = Vec::new();
        let mut row_of: BTreeMap<(usize, usize), usize> = BTreeMap::new();
        for &i in runs {
            for s in &r.runs[i].head.slots {
                row_of.insert((i, s.slot), rows.len());
                rows.push(row_label(r, i, s.slot, &s.cpus, runs.len() == 1));
            }
        }
        Sitting { bars, rows, row_of, first, makespan: (end - first).max(0.0) }
    }
}

/// One sitting: its numbers, and a timeline with a row per slot of each of its runs.
fn sitting(r: &Report, runs: &[usize], k: usize, of: usize) -> String {
    let s = Sitting::of(r, runs);
    let mut h = String::new();
    let title = if of == 1 { "Timeline".to_string() } else { format!("Timeline {} of {of}", k + 1) };
    let _ = writeln!(
        h,
        "<h2>{title}</h2>\n<p class=\"runs\">{}</p>",
        runs.iter().map(|&i| esc(&how(r, i))).collect::<Vec<_>>().join("<br>")
    );
    let threads = runs.iter().map(|&i| r.runs[i].head.threads).max().unwrap_or(0);
    let _ = writeln!(
        h,
        "<p>{} on {} of {}</p>",
        count(s.bars.len() as u64, "task attempt"),
        count(s.rows.len() as u64, "slot"),
        count(threads as u64, "CPU")
    );
    h += &numbers(r, runs, &s);
    h += &timeline(&s, k);
    h
}

/// A sitting's numbers: those of the summary at the end of a run, computed the summary's way.
fn numbers(r: &Report, runs: &[usize], s: &Sitting) -> String {
    let mut usage = Usage { makespan_s: s.makespan, slots: s.rows.len(), ..Usage::default() };
    for b in &s.bars {
        usage.add(b.wall_s, b.cpu_s(), r.runs[b.run].head.threads.max(1));
    }
    let max_rss = s.bars.iter().map(|b| b.maxrss_kb).max().unwrap_or(0);
    let failed = s.bars.iter().filter(|b| b.outcome == Outcome::Failed).count();
    let cancelled = s.bars.iter().filter(|b| b.outcome == Outcome::Cancelled).count();
    let not_run = if runs.iter().all(|&i| r.runs[i].end.is_some()) {
        runs.iter().map(|&i| r.runs[i].end.as_ref().map_or(0, |e| e.not_run)).sum::<u64>().to_string()
    } else {
        "?".into()
    };
    let mut h = String::new();
    for (label, value) in [
        ("makespan", format!("{:.2} s", s.makespan)),
        ("slot utilisation", format!("{:.1}%", 100.0 * usage.utilisation())),
        ("CPU efficiency", format!("{:.1}%", 100.0 * usage.cpu_efficiency())),
        ("max RSS", format!("{:.1} MB", max_rss as f64 / 1024.0)),
        ("failed", failed.to_string()),
        ("cancelled", cancelled.to_string()),
        ("not run", not_run),
    ] {
        let _ = writeln!(h, "<div class=\"kpi\">{label}<b>{value}</b></div>");
    }
    h
}

/// A sitting's timeline: an SVG with a row per slot and a bar per attempt.
fn timeline(s: &Sitting, k: usize) -> String {
    let mut h = String::new();
    let longest = s.rows.iter().map(|l| l.chars().count()).max().unwrap_or(0) as f64;
    let (width, row, left) = (1000.0, 22.0, (longest * 6.5 + 8.0).max(70.0));
    let scale = if s.makespan > 0.0 { (width - left - 10.0) / s.makespan } else { 0.0 };
    let height = row * s.rows.len() as f64 + 30.0;
    let _ = writeln!(
        h,
        "<svg class=\"timeline\" id=\"timeline-{}\" width=\"{width}\" height=\"{height}\" xmlns=\"http://www.w3.org/2000/svg\">",
        k + 1
    );
    for (i, label) in s.rows.iter().enumerate() {
        let y = i as f64 * row;
        let _ = writeln!(
            h,
            "<text class=\"row\" x=\"0\" y=\"{:.1}\" font-size=\"11\">{}</text>",
            y + 15.0,
            esc(label)
        );
        let _ = writeln!(
            h,
            "<line x1=\"{left}\" x2=\"{}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"#eee\"/>",
            width - 10.0,
            y + row,
            y + row
        );
    }
    for b in &s.bars {
        let shade = Shade::of(b);
        let (what, colour) = (shade.label(), shade.colour());
        let y = s.row_of.get(&(b.run, b.slot)).copied().unwrap_or(0) as f64 * row + 3.0;
        let x = left + (b.start - s.first) * scale;
        let w = (b.wall_s * scale).max(1.0);
        let _ = writeln!(
            h,
            "<rect class=\"task\" data-seq=\"{}\" data-slot=\"{}\" data-run=\"{}\" x=\"{x:.2}\" y=\"{y:.1}\" width=\"{w:.2}\" height=\"{:.1}\" fill=\"{colour}\" rx=\"2\"><title>task {} (attempt {}) on slot {} [{}]: {}\n{} ({what})\nstart +{:.3} s, wall {:.3} s, user {:.3} s, sys {:.3} s, max RSS {} kB{}</title></rect>",
            b.seq,
            b.slot,
            b.run + 1,
            row - 6.0,
            b.seq,
            b.attempt.max(1),
            b.slot,
            esc(&b.cpus),
            esc(&b.cmd),
            b.status,
            b.start - s.first,
            b.wall_s,
            b.utime_s,
            b.stime_s,
            b.maxrss_kb,
            cpu_tip(b)
        );
    }
    let _ = writeln!(
        h,
        "<text x=\"{left}\" y=\"{:.1}\" font-size=\"11\">0 s</text><text x=\"{}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"end\">{:.2} s</text>",
        height - 5.0,
        width - 10.0,
        height - 5.0,
        s.makespan
    );
    h += "</svg>\n";
    h
}

/// Histogram of wall times of every attempt.
/// `, CPU 197% (98% of its 2 CPUs)` for a task's tooltip (`/usr/bin/time -v`'s Percent of
/// CPU, and of its slot); nothing for a task of no measurable wall time.
fn cpu_tip(b: &Bar) -> String {
    match crate::results::cpu_use_of(b.utime_s + b.stime_s, b.wall_s, &b.cpus) {
        (Some(pct), Some(eff)) => {
            let n = b.cpus.parse::<crate::cpuset::CpuSet>().map_or(0, |c| c.len());
            format!(", CPU {pct:.0}% ({:.0}% of its {})", 100.0 * eff, crate::text::count(n as u64, "CPU"))
        }
        (Some(pct), None) => format!(", CPU {pct:.0}%"),
        _ => String::new(),
    }
}

fn histogram(bars: &[Bar]) -> String {
    let width = 1000.0;
    let mut h = String::from("<h2>Wall times</h2>\n");
    let (lo, hi) =
        bars.iter().fold((f64::INFINITY, 0.0f64), |(lo, hi), b| (lo.min(b.wall_s), hi.max(b.wall_s)));
    let lo = if bars.is_empty() { 0.0 } else { lo };
    let bins = 20;
    let mut counts = vec![0usize; bins];
    for b in bars {
        let i = if hi > lo { (((b.wall_s - lo) / (hi - lo)) * bins as f64) as usize } else { 0 };
        counts[i.min(bins - 1)] += 1;
    }
    let top = counts.iter().copied().max().unwrap_or(1).max(1) as f64;
    let _ = writeln!(
        h,
        "<svg id=\"histogram\" width=\"{width}\" height=\"160\" xmlns=\"http://www.w3.org/2000/svg\">"
    );
    for (i, c) in counts.iter().enumerate() {
        let bh = 120.0 * *c as f64 / top;
        let x = i as f64 * (width / bins as f64);
        let from = lo + (hi - lo) * i as f64 / bins as f64;
        let _ = writeln!(
            h,
            "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{bh:.1}\" fill=\"#4a78c2\"><title>{} from {from:.3} s</title></rect>",
            130.0 - bh,
            width / bins as f64 - 2.0,
            count(*c as u64, "task")
        );
    }
    let _ = writeln!(
        h,
        "<text x=\"0\" y=\"150\" font-size=\"11\">{lo:.3} s</text><text x=\"{}\" y=\"150\" font-size=\"11\" text-anchor=\"end\">{hi:.3} s</text></svg>",
        width - 10.0
    );
    h
}

/// Spread of identical tasks, and what the log shows of it.
fn identical(r: &Report) -> String {
    let mut groups: BTreeMap<String, Vec<Sample>> = BTreeMap::new();
    let ok: Vec<_> = r.bars.iter().filter(|b| b.outcome == Outcome::Succeeded).collect();
    let kinds = kinds::kinds_of(&ok.iter().map(|b| b.cmd.as_str()).collect::<Vec<_>>());
    for (b, kind) in ok.into_iter().zip(kinds) {
        let run = &r.runs[b.run].head;
        groups.entry(kind).or_default().push(Sample {
            wall_s: b.wall_s,
            efficiency: b.cpu_efficiency(run.threads),
            shared: run.sharing.is_some(),
        });
    }
    let mut h = String::from(
        "<h2>Identical tasks (commands differing only in numeric arguments)</h2>\n<p>Pinned tasks doing \
         the same work should take about the same time. The note says what the log shows of a spread \
         above 10%: CPU time per second of wall time, and whether slots shared CPUs.</p>\n",
    );
    h += "<table id=\"identical\"><tr><th>tasks</th><th>min s</th><th>median s</th><th>max s</th><th>spread</th><th>note</th><th>command</th></tr>\n";
    for (kind, samples) in groups.into_iter().filter(|(_, s)| s.len() >= 2) {
        let mut walls: Vec<f64> = samples.iter().map(|s| s.wall_s).collect();
        walls.sort_by(f64::total_cmp);
        let median = walls[walls.len() / 2];
        let spread = if median > 0.0 { (walls[walls.len() - 1] - walls[0]) / median } else { 0.0 };
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{:.3}</td><td>{median:.3}</td><td>{:.3}</td><td>{:.1}%</td><td>{}</td><td><code>{}</code></td></tr>",
            walls.len(),
            walls[0],
            walls[walls.len() - 1],
            100.0 * spread,
            esc(&kinds::note(&samples)),
            esc(&kind)
        );
    }
    h + "</table>\n"
}

/// Every failed or timed-out attempt, with its command.
fn failures(bars: &[Bar]) -> String {
    let failed: Vec<&Bar> = bars.iter().filter(|b| Shade::of(b) == Shade::Failed || b.timeout).collect();
    let mut h = String::from("<h2>Failures</h2>\n");
    if failed.is_empty() {
        return h + "<p>None.</p>\n";
    }
    h += "<table><tr><th>task</th><th>slot</th><th>status</th><th>command</th></tr>\n";
    for b in &failed {
        let status = if b.timeout { format!("{} (timeout)", b.status) } else { b.status.clone() };
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
            b.seq,
            b.slot,
            esc(&status),
            esc(&b.cmd)
        );
    }
    h + "</table>\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 26: the report's tooltips showed no CPU use; `/usr/bin/time -v`'s "Percent of CPU",
    /// and how much of its slot a task kept busy.
    #[test]
    fn a_tooltip_gives_the_tasks_cpu_use() {
        let bar = |cpus: &str, wall_s: f64| Bar {
            seq: 1,
            slot: 1,
            attempt: 1,
            cpus: cpus.into(),
            cmd: "x".into(),
            start: 0.0,
            wall_s,
            status: "exit 0".into(),
            outcome: crate::log::Outcome::Succeeded,
            timeout: false,
            leaked: false,
            utime_s: 3.5,
            stime_s: 0.5,
            maxrss_kb: 0,
            run: 0,
        };
        assert_eq!(cpu_tip(&bar("0-3", 2.0)), ", CPU 200% (50% of its 4 CPUs)");
        assert_eq!(cpu_tip(&bar("", 2.0)), ", CPU 200%");
        assert_eq!(cpu_tip(&bar("0", 0.0)), "");
    }

    #[test]
    fn escaping() {
        assert_eq!(esc("a<b & \"c\">"), "a&lt;b &amp; &quot;c&quot;&gt;");
        assert_eq!(esc("x\u{202e}y\x1b[2J<"), "x\\u{202e}y\\x1b[2J&lt;");
    }
}
