//! `hrun report LOG`: a self-contained HTML page (inline CSS and SVG, no network) of a run:
//! a timeline with one row per slot and one bar per task attempt (colour by outcome; hovering
//! shows the command, times and rusage), a histogram of wall times, the spread of wall times of
//! identical tasks (pinned tasks should all take the same time), and the summary.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::io::Read;
use std::path::Path;

use anyhow::{Context, Result, anyhow};
use serde::Deserialize;

use crate::exit::UsageError;

/// The fields of a task record the report uses.
#[derive(Clone, Debug, Deserialize)]
pub struct Bar {
    pub seq: u64,
    pub slot: usize,
    pub cpus: String,
    pub cmd: String,
    pub start: f64,
    pub wall_s: f64,
    pub exit: Option<i32>,
    pub signal_name: Option<String>,
    #[serde(default)]
    pub timeout: bool,
    #[serde(default)]
    pub cancelled: bool,
    #[serde(default)]
    pub leaked: bool,
    #[serde(default)]
    pub attempt: u32,
    pub utime_s: f64,
    pub stime_s: f64,
    pub maxrss_kb: u64,
    /// The timeline row (a slot of one of the logs).
    #[serde(skip)]
    pub row: usize,
}

#[derive(Deserialize)]
struct RunHead {
    host: String,
    threads: usize,
    slots: Vec<SlotHead>,
}

#[derive(Deserialize)]
struct SlotHead {
    slot: usize,
    cpus: String,
}

/// The latest run of each log, together: one timeline row per slot of each.
pub struct Run {
    hosts: Vec<String>,
    threads: usize,
    /// Labels of the timeline rows.
    rows: Vec<String>,
    pub bars: Vec<Bar>,
}

/// Reads the latest run of each log (several: e.g. the shards of a multi-node job).
pub fn read(paths: &[std::path::PathBuf]) -> Result<Run> {
    let mut all = Run { hosts: Vec::new(), threads: 0, rows: Vec::new(), bars: Vec::new() };
    let mut skipped = 0;
    for path in paths {
        let shown = crate::text::printable(&path.display().to_string()).into_owned();
        let Some(one) = read_one(path)? else {
            // One empty log among several (a run that failed to start) hides nothing else.
            if paths.len() == 1 {
                return Err(UsageError(anyhow!("{shown} holds no hrun run")).into());
            }
            eprintln!("hrun: warning: skipping {shown}: it holds no hrun run");
            skipped += 1;
            continue;
        };
        let first_row = all.rows.len();
        let row_of: BTreeMap<usize, usize> =
            one.head.slots.iter().enumerate().map(|(i, s)| (s.slot, first_row + i)).collect();
        for s in &one.head.slots {
            let label = match paths.len() {
                1 => format!("slot {} ({})", s.slot, s.cpus),
                _ => format!("{} {} ({})", one.head.host, s.slot, s.cpus),
            };
            all.rows.push(label);
        }
        for mut b in one.bars {
            b.row = row_of.get(&b.slot).copied().unwrap_or(first_row);
            all.bars.push(b);
        }
        if !all.hosts.contains(&one.head.host) {
            all.hosts.push(one.head.host);
        }
        all.threads = all.threads.max(one.head.threads);
    }
    if skipped == paths.len() {
        return Err(UsageError(anyhow!("none of the {skipped} logs holds an hrun run")).into());
    }
    Ok(all)
}

/// The latest run of a log: its header and its task records.
struct OneRun {
    head: RunHead,
    bars: Vec<Bar>,
}

/// The latest run of a log; `None` if it holds none.
fn read_one(path: &Path) -> Result<Option<OneRun>> {
    let mut text = String::new();
    crate::log::read::open(path)
        .and_then(|mut f| {
            f.read_to_string(&mut text).with_context(|| format!("cannot read run log {}", path.display()))
        })
        .map_err(UsageError)?;
    let mut run: Option<OneRun> = None;
    for line in text.lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else { continue };
        match v["kind"].as_str() {
            Some("run") => {
                if let Ok(head) = serde_json::from_value(v) {
                    run = Some(OneRun { head, bars: Vec::new() });
                }
            }
            Some("task") => {
                if let (Some(r), Ok(b)) = (run.as_mut(), serde_json::from_value::<Bar>(v)) {
                    r.bars.push(b);
                }
            }
            _ => {}
        }
    }
    Ok(run)
}

fn outcome(b: &Bar) -> (&'static str, &'static str) {
    match () {
        _ if b.cancelled => ("cancelled", "#9e9e9e"),
        _ if b.timeout => ("timed out", "#f39c12"),
        _ if b.exit == Some(0) && b.leaked => ("ok, leaked processes", "#8e44ad"),
        _ if b.exit == Some(0) => ("ok", "#2e9d5b"),
        _ => ("failed", "#d64541"),
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// Commands that differ only in their numbers (seeds, indices) are the same kind of task.
fn kind_of(cmd: &str) -> String {
    let mut out = String::new();
    let mut in_number = false;
    for c in cmd.chars() {
        if c.is_ascii_digit() {
            if !in_number {
                out.push('#');
            }
            in_number = true;
        } else {
            in_number = false;
            out.push(c);
        }
    }
    out
}

/// The page.
pub fn render(run: &Run) -> String {
    let bars = &run.bars;
    let first = bars.iter().map(|b| b.start).fold(f64::INFINITY, f64::min);
    let end = bars.iter().map(|b| b.start + b.wall_s).fold(f64::NEG_INFINITY, f64::max);
    let (first, end) = if bars.is_empty() { (0.0, 0.0) } else { (first, end) };
    let makespan = (end - first).max(0.0);
    let busy: f64 = bars.iter().map(|b| b.wall_s).sum();
    let cpu: f64 = bars.iter().map(|b| b.utime_s + b.stime_s).sum();
    let slots = run.rows.len().max(1);
    let util = if makespan > 0.0 { busy / (slots as f64 * makespan) } else { 0.0 };
    let eff = if busy > 0.0 { cpu / (busy * run.threads.max(1) as f64) } else { 0.0 };
    let max_rss = bars.iter().map(|b| b.maxrss_kb).max().unwrap_or(0);
    let failed: Vec<&Bar> = bars.iter().filter(|b| outcome(b).0 == "failed" || b.timeout).collect();

    let mut h = String::new();
    h += "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>hrun report</title>\n<style>\n";
    h += "body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;background:#fafafa}\n";
    h += "h1{font-size:20px}h2{font-size:16px;margin-top:28px}table{border-collapse:collapse}\n";
    h += "td,th{padding:3px 10px;border-bottom:1px solid #ddd;text-align:left}\n";
    h += ".task:hover{stroke:#000;stroke-width:1.5}.kpi{display:inline-block;margin:0 18px 8px 0;padding:8px 12px;background:#fff;border:1px solid #ddd;border-radius:6px}\n";
    h += ".kpi b{display:block;font-size:18px}code{font-size:12px}</style></head><body>\n";
    let _ = writeln!(
        h,
        "<h1>hrun run on {} &mdash; {} task attempt(s) on {} slot(s) of {} CPU(s)</h1>",
        esc(&run.hosts.join(", ")),
        bars.len(),
        slots,
        run.threads
    );
    for (label, value) in [
        ("makespan", format!("{makespan:.2} s")),
        ("slot utilisation", format!("{:.1}%", 100.0 * util)),
        ("CPU efficiency", format!("{:.1}%", 100.0 * eff)),
        ("max RSS", format!("{:.1} MB", max_rss as f64 / 1024.0)),
        ("failed", failed.len().to_string()),
    ] {
        let _ = writeln!(h, "<div class=\"kpi\">{label}<b>{value}</b></div>");
    }

    // Timeline: one row per slot, one bar per attempt.
    let (width, row, left) = (1000.0, 22.0, 70.0);
    let scale = if makespan > 0.0 { (width - left - 10.0) / makespan } else { 0.0 };
    let height = row * slots as f64 + 30.0;
    h += "<h2>Timeline</h2>\n";
    let _ = writeln!(
        h,
        "<svg id=\"timeline\" width=\"{width}\" height=\"{height}\" xmlns=\"http://www.w3.org/2000/svg\">"
    );
    for (i, label) in run.rows.iter().enumerate() {
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
    for b in bars {
        let (what, colour) = outcome(b);
        let y = b.row as f64 * row + 3.0;
        let x = left + (b.start - first) * scale;
        let w = (b.wall_s * scale).max(1.0);
        let status = match (b.exit, &b.signal_name) {
            (Some(code), _) => format!("exit {code}"),
            (None, Some(sig)) => sig.clone(),
            _ => "?".into(),
        };
        let _ = writeln!(
            h,
            "<rect class=\"task\" data-seq=\"{}\" data-slot=\"{}\" x=\"{x:.2}\" y=\"{y:.1}\" width=\"{w:.2}\" height=\"{:.1}\" fill=\"{colour}\" rx=\"2\"><title>task {} (attempt {}) on slot {} [{}]: {}\n{} ({what})\nstart +{:.3} s, wall {:.3} s, user {:.3} s, sys {:.3} s, max RSS {} kB</title></rect>",
            b.seq,
            b.slot,
            row - 6.0,
            b.seq,
            b.attempt.max(1),
            b.slot,
            esc(&b.cpus),
            esc(&b.cmd),
            status,
            b.start - first,
            b.wall_s,
            b.utime_s,
            b.stime_s,
            b.maxrss_kb
        );
    }
    let _ = writeln!(
        h,
        "<text x=\"{left}\" y=\"{:.1}\" font-size=\"11\">0 s</text><text x=\"{}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"end\">{makespan:.2} s</text>",
        height - 5.0,
        width - 10.0,
        height - 5.0
    );
    h += "</svg>\n";

    // Histogram of wall times.
    h += "<h2>Wall times</h2>\n";
    let (lo, hi) =
        bars.iter().fold((f64::INFINITY, 0.0f64), |(lo, hi), b| (lo.min(b.wall_s), hi.max(b.wall_s)));
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
            "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{bh:.1}\" fill=\"#4a78c2\"><title>{c} task(s) from {from:.3} s</title></rect>",
            130.0 - bh,
            width / bins as f64 - 2.0
        );
    }
    let _ = writeln!(
        h,
        "<text x=\"0\" y=\"150\" font-size=\"11\">{lo:.3} s</text><text x=\"{}\" y=\"150\" font-size=\"11\" text-anchor=\"end\">{hi:.3} s</text></svg>",
        width - 10.0
    );

    // Spread of identical tasks: the oversubscription check.
    let mut kinds: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for b in bars.iter().filter(|b| b.exit == Some(0)) {
        kinds.entry(kind_of(&b.cmd)).or_default().push(b.wall_s);
    }
    h += "<h2>Identical tasks (commands differing only in numbers)</h2>\n<p>Pinned tasks doing the same work should take the same time; a wide spread means they competed for CPUs.</p>\n";
    h += "<table><tr><th>tasks</th><th>min s</th><th>median s</th><th>max s</th><th>spread</th><th>command</th></tr>\n";
    for (kind, mut walls) in kinds.into_iter().filter(|(_, w)| w.len() >= 2) {
        walls.sort_by(f64::total_cmp);
        let median = walls[walls.len() / 2];
        let spread = if median > 0.0 { (walls[walls.len() - 1] - walls[0]) / median } else { 0.0 };
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{:.3}</td><td>{median:.3}</td><td>{:.3}</td><td>{:.1}%</td><td><code>{}</code></td></tr>",
            walls.len(),
            walls[0],
            walls[walls.len() - 1],
            100.0 * spread,
            esc(&kind)
        );
    }
    h += "</table>\n";

    h += "<h2>Failures</h2>\n";
    if failed.is_empty() {
        h += "<p>None.</p>\n";
    } else {
        h += "<table><tr><th>task</th><th>slot</th><th>status</th><th>command</th></tr>\n";
        for b in &failed {
            let status =
                b.exit.map_or_else(|| b.signal_name.clone().unwrap_or_default(), |c| format!("exit {c}"));
            let status = if b.timeout { format!("{status} (timeout)") } else { status };
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
                b.seq,
                b.slot,
                esc(&status),
                esc(&b.cmd)
            );
        }
        h += "</table>\n";
    }
    h += "</body></html>\n";
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_ignore_numbers() {
        assert_eq!(kind_of("mc -t 4 --seed 17 -o r/mc_pi_17.toml"), "mc -t # --seed # -o r/mc_pi_#.toml");
        assert_eq!(kind_of("a"), "a");
    }

    #[test]
    fn escaping() {
        assert_eq!(esc("a<b & \"c\">"), "a&lt;b &amp; &quot;c&quot;&gt;");
    }
}
