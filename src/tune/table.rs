//! `hrun tune`'s table: a row per thread count, the recommendation, and what the CPU use says.

use super::{Outcome, Row};

/// The table and the recommendation. A row with failed tasks shows no throughput and no
/// figure against the best: its wall time measured something else than the work. With
/// repeats, the wall time is the median and the spread its minimum and maximum.
pub fn render(out: &Outcome) -> String {
    let rows = &out.rows;
    let best = rows.iter().filter(|r| r.ok()).map(Row::throughput).fold(0.0, f64::max);
    let repeats = out.repeat > 1;
    let mut text =
        format!("{:>7} {:>6} {:>9}", "threads", "slots", if repeats { "median s" } else { "wall s" });
    if repeats {
        text += &format!(" {:>15}", "min-max s");
    }
    text += &format!(" {:>5} {:>14} {:>10}\n", "CPUs", out.unit, "vs best");
    for r in rows {
        text += &format!("{:>7} {:>6} {:>9.3}", r.threads, r.slots, r.wall_s());
        if repeats {
            let lo = r.walls.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = r.walls.iter().copied().fold(0.0, f64::max);
            let spread = if r.walls.is_empty() { "-".to_string() } else { format!("{lo:.3}-{hi:.3}") };
            text += &format!(" {spread:>15}");
        }
        text += &format!(" {:>5.2}", r.cpus());
        text += &if r.ok() {
            format!(
                " {:>14} {:>9.1}%\n",
                crate::reduce::sweep::plain(r.throughput()),
                100.0 * r.throughput() / best
            )
        } else {
            format!(
                " {:>14} {:>10}  ({} of {} failed)\n",
                "-",
                "failed",
                r.failed,
                crate::text::count(r.tasks, "task")
            )
        };
    }
    // Above the recommendation: it is what the note puts in doubt.
    if let Some(note) = out.load_before.and_then(|(load, cpus)| busy(load, cpus)).filter(|_| best > 0.0) {
        text += &format!("note: {note}");
    }
    let unused = threads_unused(rows);
    match recommended(rows, unused.is_some()) {
        Some((r, why)) => {
            text += &format!(
                "recommended: --threads {} ({}){why}\n",
                r.threads,
                crate::text::count(r.slots as u64, "slot")
            )
        }
        None if rows.is_empty() => text += "no wave ran to its end\n",
        None => text += "no thread count ran without failures\n",
    }
    if let Some(note) = unused {
        text += &note;
    }
    text
}

/// Rows whose throughput is within this share of the best are a tie: a wave's noise.
const TIE: f64 = 0.05;

/// The row to recommend, and why when it is not simply the fastest: T = 1 for a program that
/// does not use its threads; else the fewest threads within [`TIE`] of the best (more,
/// smaller tasks at once balance better, and a difference that small is noise).
fn recommended(rows: &[Row], threads_unused: bool) -> Option<(&Row, String)> {
    let ok = || rows.iter().filter(|r| r.ok());
    let fastest = ok().max_by(|a, b| a.throughput().total_cmp(&b.throughput()))?;
    if threads_unused && let Some(one) = ok().find(|r| r.threads == 1) {
        let why = if one.threads == fastest.threads {
            String::new()
        } else {
            format!(
                ": the program does not use its threads (T = {} looked faster by chance)",
                fastest.threads
            )
        };
        return Some((one, why));
    }
    let best = fastest.throughput();
    let pick = ok().filter(|r| r.throughput() >= (1.0 - TIE) * best).min_by_key(|r| r.threads)?;
    let why = if pick.threads == fastest.threads {
        String::new()
    } else {
        format!(
            ": T = {} was {:.1}% faster, within the {:.0}% of a wave's noise; fewer threads per task, \
             more tasks at once",
            fastest.threads,
            100.0 * (best / pick.throughput() - 1.0),
            100.0 * TIE
        )
    };
    Some((pick, why))
}

/// Other work on the node before the sweep: a 1-minute load average above half its CPUs.
pub(super) fn busy(load: f64, cpus: usize) -> Option<String> {
    (load > 0.5 * cpus as f64).then(|| {
        format!(
            "the node was busy before the sweep (load average {load:.2} on {}): other work shares \
             the CPUs, so the timings are not to be trusted; tune on an idle node (an exclusive \
             allocation)\n",
            crate::text::count(cpus as u64, "CPU")
        )
    })
}

/// A program that keeps about one CPU busy whatever T does not use its threads: said, with
/// what to do. Every row of T >= 2 kept fewer than 1.5 CPUs busy, and T = 1 kept its CPU
/// busy (at least 0.8): on a machine busy with other work every figure is low, and says nothing.
fn threads_unused(rows: &[Row]) -> Option<String> {
    let measured = |r: &&Row| r.ok() && r.task_wall_s > 0.0;
    let one = rows.iter().filter(measured).find(|r| r.threads == 1)?;
    let multi: Vec<&Row> = rows.iter().filter(measured).filter(|r| r.threads >= 2).collect();
    let most = multi.iter().map(|r| r.cpus()).fold(0.0, f64::max);
    (!multi.is_empty() && most < 1.5 && one.cpus() >= 0.8).then(|| {
        format!(
            "note: a task kept at most {most:.2} CPUs busy whatever T: the program does not use its \
             threads (single-threaded, or it ignores {{threads}} and OMP_NUM_THREADS); run it with \
             --threads 1\n"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(threads: usize, walls: &[f64], failed: u64) -> Row {
        Row {
            threads,
            slots: 8 / threads,
            walls: walls.to_vec(),
            work: 10.0,
            failed,
            tasks: (8 / threads) as u64,
            per_slot: 1,
            cpu_s: 0.0,
            task_wall_s: 0.0,
        }
    }

    fn outcome(rows: Vec<Row>, repeat: u32) -> Outcome {
        Outcome { rows, unit: "samples/s", repeat, stopped: None, load_before: None }
    }

    #[test]
    fn recommends_the_fastest_row_without_failures() {
        let out = outcome(vec![row(1, &[2.0], 0), row(2, &[], 1), row(4, &[1.4], 0)], 1);
        let text = render(&out);
        assert!(text.ends_with("recommended: --threads 4 (2 slots)\n"), "{text}");
        assert!(text.contains("70.0%") && text.contains("100.0%"), "{text}");
        // The failed row: no throughput, no percentage.
        let failed = text.lines().find(|l| l.trim_start().starts_with("2 ")).unwrap();
        assert!(failed.contains("failed  (1 of 4 tasks failed)") && !failed.contains('%'), "{failed}");
        assert_eq!(out.exit_code(), 1);
        assert_eq!(outcome(vec![row(1, &[2.0], 0)], 1).exit_code(), 0);
    }

    #[test]
    fn repeats_show_the_median_and_the_spread() {
        let r = row(1, &[1.2, 1.0, 5.0], 0);
        assert_eq!(r.wall_s(), 1.2);
        assert_eq!(row(1, &[1.0, 2.0], 0).wall_s(), 1.5);
        let text = render(&outcome(vec![r], 3));
        assert!(text.starts_with("threads  slots  median s       min-max s"), "{text}");
        assert!(text.lines().nth(1).unwrap().contains("1.200     1.000-5.000"), "{text}");
    }

    #[test]
    fn a_program_that_does_not_use_its_threads_is_named() {
        let busy = |threads: usize, cpus: f64| Row {
            cpu_s: cpus * 10.0,
            task_wall_s: 10.0,
            ..row(threads, &[1.0], 0)
        };
        let text = render(&outcome(vec![busy(1, 0.99), busy(2, 1.01), busy(4, 1.02)], 1));
        assert!(text.contains("note: a task kept at most 1.02 CPUs busy whatever T"), "{text}");
        assert!(text.lines().nth(2).unwrap().contains(" 1.01 "), "the CPUs column: {text}");
        let text = render(&outcome(vec![busy(1, 0.99), busy(2, 1.9), busy(4, 3.7)], 1));
        assert!(!text.contains("note:"), "{text}");
        // Only T = 1 tried: nothing to tell.
        assert!(!render(&outcome(vec![busy(1, 0.99)], 1)).contains("note:"));
        // A loaded machine (T = 1 got half its CPU): low figures everywhere say nothing.
        assert!(!render(&outcome(vec![busy(1, 0.41), busy(2, 0.63)], 1)).contains("note:"));
    }

    #[test]
    fn a_tie_goes_to_fewer_threads_and_a_program_without_threads_gets_one() {
        // T = 4 is 2% faster than T = 2: noise; T = 2 is recommended, and why is said.
        let text = render(&outcome(vec![row(1, &[2.0], 0), row(2, &[1.02], 0), row(4, &[1.0], 0)], 1));
        assert!(
            text.ends_with(
                "recommended: --threads 2 (4 slots): T = 4 was 2.0% faster, within the 5% of a \
                            wave's noise; fewer threads per task, more tasks at once\n"
            ),
            "{text}"
        );
        // A single-threaded program on a noisy machine: T = 2 looked faster; T = 1 is recommended.
        let busy =
            |threads: usize, wall: f64| Row { cpu_s: 9.9, task_wall_s: 10.0, ..row(threads, &[wall], 0) };
        let text = render(&outcome(vec![busy(1, 1.3), busy(2, 1.0), busy(4, 1.1)], 1));
        assert!(
            text.contains(
                "recommended: --threads 1 (8 slots): the program does not use its threads (T = 2 looked \
                 faster by chance)"
            ),
            "{text}"
        );
    }

    #[test]
    fn a_busy_node_is_said_in_the_table() {
        let mut out = outcome(vec![row(1, &[2.0], 0)], 1);
        out.load_before = Some((1.6, 2));
        let text = render(&out);
        assert!(
            text.contains("note: the node was busy before the sweep (load average 1.60 on 2 CPUs)"),
            "{text}"
        );
        out.load_before = Some((0.9, 2));
        assert!(!render(&out).contains("busy"), "a load under half the CPUs is quiet enough");
    }
}
