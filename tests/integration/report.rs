//! `hrun report`: the HTML has one bar per task attempt in its slot's row, works offline, and
//! renders in a real headless browser to a non-blank picture.

use std::process::Command;

use crate::harness::*;

fn report_of(sb: &Sandbox) -> String {
    sb.write("tasks.txt", "sleep 0.1\nexit 3\nsleep 0.2\nkill -KILL $$\ntrue\nsleep 0.1\n");
    let out = run(sb.exec().arg("tasks.txt"));
    assert_status!(out, 2);
    let out = run(hrun().arg("report").arg(sb.path("log.jsonl")).arg("-o").arg(sb.path("report.html")));
    assert_status!(out, 0);
    sb.read("report.html")
}

#[test]
fn one_bar_per_task_in_its_slot_row_and_nothing_fetched() {
    let sb = Sandbox::new();
    let html = report_of(&sb);
    let tasks = sb.records().tasks;
    let bars: Vec<&str> =
        html.match_indices("<rect class=\"task\"").map(|(i, _)| &html[i..i + 200]).collect();
    assert_eq!(bars.len(), tasks.len());
    for t in &tasks {
        let key = format!("data-seq=\"{}\" data-slot=\"{}\"", t.seq, t.slot);
        assert_eq!(
            bars.iter().filter(|b| b.contains(&key)).count(),
            1,
            "one bar for task {} in slot {}",
            t.seq,
            t.slot
        );
    }
    // Outcomes get their colours; failures are listed with their commands.
    assert!(html.contains("fill=\"#2e9d5b\"") && html.contains("fill=\"#d64541\""));
    assert!(html.contains("<td><code>exit 3</code></td>") && html.contains("SIGKILL"));
    // Self-contained: no script, stylesheet or image from anywhere.
    for needle in ["src=", "href=", "<link", "@import", "url("] {
        assert!(!html.contains(needle), "{needle} in the report");
    }
    for section in
        ["Timeline", "Wall times", "Identical tasks", "slot utilisation", "CPU efficiency", "max RSS"]
    {
        assert!(html.contains(section), "{section}");
    }
}

/// Debian's chromium, headless, takes a screenshot; it must show the page, not a blank one.
#[test]
fn the_report_renders_in_a_real_browser() {
    let Some(chromium) = ["chromium", "chromium-browser"]
        .into_iter()
        .find(|c| Command::new(c).arg("--version").output().is_ok())
    else {
        assert!(std::env::var_os("CI").is_none(), "chromium must be installed in CI (.ci/run does)");
        eprintln!("skipped: chromium is not installed");
        return;
    };
    let sb = Sandbox::new();
    report_of(&sb);
    let shot = sb.path("shot.png");
    let out = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1100,800",
        ])
        .arg(format!("--user-data-dir={}", sb.path("profile").display()))
        .arg(format!("--screenshot={}", shot.display()))
        .arg(format!("file://{}", sb.path("report.html").display()))
        .output()
        .unwrap();
    assert!(shot.exists(), "no screenshot: {}", String::from_utf8_lossy(&out.stderr));
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&shot).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let px = info.color_type.samples();
    let pixels: Vec<&[u8]> = buf[..info.buffer_size()].chunks(px).collect();
    let distinct: std::collections::HashSet<&[u8]> = pixels.iter().copied().collect();
    assert!(distinct.len() > 20, "a blank page has one colour, this one has {}", distinct.len());
    // The green of successful task bars is on screen.
    let green =
        pixels.iter().filter(|p| p[0] < 80 && p[1] > 140 && p[1] < 175 && p[2] > 70 && p[2] < 110).count();
    assert!(green > 500, "task bars visible: {green} green pixels");
}

/// The end-of-run summary and the report give the same numbers.
#[test]
fn summary_and_report_agree() {
    let sb = Sandbox::new();
    sb.write("tasks.txt", "sleep 0.2\nsleep 0.1\nawk 'BEGIN { for (i = 0; i < 3e6; i++) s += i }'\n");
    let out = run(sb.exec().arg("tasks.txt"));
    let err = stderr(&out);
    let grab = |label: &str, unit: &str| -> String {
        let at = err.find(label).unwrap_or_else(|| panic!("{label} in {err}")) + label.len();
        err[at..].split(unit).next().unwrap().trim().to_string()
    };
    let (makespan, util, eff) =
        (grab("makespan ", " s"), grab("slot utilisation ", "%"), grab("CPU efficiency ", "%"));
    let out = run(hrun().arg("report").arg(sb.path("log.jsonl")).arg("-o").arg(sb.path("r.html")));
    assert_eq!(out.status.code(), Some(0));
    let html = sb.read("r.html");
    for kpi in [format!("<b>{makespan} s</b>"), format!("<b>{util}%</b>"), format!("<b>{eff}%</b>")] {
        assert!(html.contains(&kpi), "{kpi} in the report; summary said: {err}");
    }
}

fn report_html(sb: &Sandbox, logs: &[&str]) -> String {
    let out = run(hrun().current_dir(sb.root()).arg("report").args(logs).args(["-o", "r.html"]));
    assert_status!(out, 0);
    sb.read("r.html")
}

/// Issue 15: the report showed only the latest run of a log. A run stopped at its deadline
/// (one task cancelled, one not run) and its resume: both timelines, every attempt, a legend,
/// and the cancelled and not-run counts.
#[test]
fn every_run_of_a_resumed_log_is_shown() {
    let sb = Sandbox::new();
    sb.write("tasks.txt", "true\n[ -e fast ] || sleep 30\ntrue\n");
    let out = run(sb.exec().args([
        "--jobs",
        "1",
        "--deadline",
        "+1s",
        "--deadline-margin",
        "0",
        "--grace",
        "1s",
        "tasks.txt",
    ]));
    assert_status!(out, 102);
    sb.write("fast", "");
    let out = run(sb.exec().args(["--resume", "tasks.txt"]));
    assert_status!(out, 0);
    let html = report_html(&sb, &["log.jsonl"]);
    assert_eq!(html.matches("<rect class=\"task\"").count(), 4, "2 attempts in each run");
    assert!(html.contains("<svg class=\"timeline\" id=\"timeline-1\"") && html.contains("id=\"timeline-2\""));
    assert!(html.contains("<h2>Timeline 1 of 2</h2>") && html.contains("<h2>Timeline 2 of 2</h2>"), "{html}");
    assert!(html.contains(", stopped at the deadline ") && html.contains(", a resume, finished"), "{html}");
    assert_eq!(html.matches("data-run=\"1\"").count(), 2);
    assert!(
        html.contains("data-run=\"1\"") && html.contains("fill=\"#9e9e9e\""),
        "the cancelled attempt is drawn"
    );
    // The first run's numbers: one cancelled, one not run; the second's: none.
    let first = &html[html.find("Timeline 1 of 2").unwrap()..html.find("Timeline 2 of 2").unwrap()];
    assert!(first.contains("cancelled<b>1</b>") && first.contains("not run<b>1</b>"), "{first}");
    let second = &html[html.find("Timeline 2 of 2").unwrap()..];
    assert!(second.contains("cancelled<b>0</b>") && second.contains("not run<b>0</b>"), "{second}");
    assert!(html.contains("Tasks: 3 ok, 0 failed, 0 not run yet, of 3; 1 attempt cancelled"), "{html}");
    for what in ["ok", "failed", "timed out", "cancelled", "ok, leaked processes"] {
        assert!(html.contains(&format!("></span>{what}")), "{what} in the legend");
    }
}

/// The pi estimate when the tasks wrote worker results, read through `reduce`; none otherwise.
#[test]
fn the_pi_estimate_of_worker_results_is_shown() {
    let sb = Sandbox::new();
    let out = run(hrun().current_dir(sb.root()).args(["gen", "--tasks", "3", "-t", "1", "-n", "1000"]));
    sb.write("tasks.txt", &out.stdout);
    let out = run(sb.exec().arg("tasks.txt"));
    assert_status!(out, 0);
    let html = report_html(&sb, &["log.jsonl"]);
    let pi = &html[html.find("<pre id=\"pi\">").unwrap_or_else(|| panic!("{html}"))..];
    assert!(pi.starts_with("<pre id=\"pi\">tasks            3\nsamples          3000\n"), "{pi}");
    let mine = run(hrun().current_dir(sb.root()).args(["reduce", "results"]));
    let pi_line = stdout(&mine).lines().find(|l| l.starts_with("pi ")).unwrap().to_string();
    assert!(pi.contains(&pi_line), "the same estimate as hrun reduce: {pi_line}");

    let sb = Sandbox::new();
    sb.write("tasks.txt", "true\ntrue\n");
    run(sb.exec().arg("tasks.txt"));
    assert!(!report_html(&sb, &["log.jsonl"]).contains("Pi estimate"));
}

/// Issue 15: `ex04` in a command was masked like a number (two exercises were "identical"),
/// and the page called any spread "competition for CPUs". Sleeps of different lengths are
/// waiting, not competing.
#[test]
fn identical_tasks_are_grouped_by_whole_numbers_and_spreads_described_from_evidence() {
    let sb = Sandbox::new();
    sb.write(
        "tasks.txt",
        "sh -c 'sleep $1' ex04 0.05\nsh -c 'sleep $1' ex04 0.3\nsh -c 'sleep $1' ex05 0.05\nsh -c 'sleep $1' ex05 0.05\n",
    );
    assert_eq!(run(sb.exec().arg("tasks.txt")).status.code(), Some(0));
    let html = report_html(&sb, &["log.jsonl"]);
    let table = &html[html.find("<table id=\"identical\">").unwrap()..];
    let table = &table[..table.find("</table>").unwrap()];
    let rows: Vec<&str> = table.split("<tr><td>").skip(1).collect();
    assert_eq!(rows.len(), 2, "ex04 and ex05 apart: {table}");
    assert!(rows.iter().all(|r| r.starts_with("2</td>")), "{table}");
    let ex04 = rows.iter().find(|r| r.contains("ex04 #")).unwrap();
    assert!(ex04.contains("mostly waiting"), "{ex04}");
    assert!(!html.contains("competed") && !html.contains("something else ran"), "{table}");
}

/// A page never goes over a log being read: not with `-o`, and not by its default name (the
/// log's name with `.html`, or `report.html` beside the first of several), whatever the logs
/// are called. Each refusal is exit 2 with one line, and the log is byte-for-byte unchanged.
#[test]
fn the_report_never_writes_over_a_log() {
    let sb = Sandbox::new();
    sb.write("tasks.txt", "true\nexit 3\n");
    let out = run(hrun().current_dir(sb.root()).args(["exec", "--log", "run.html", "tasks.txt"]));
    assert_status!(out, 1);
    std::fs::copy(sb.path("run.html"), sb.path("report.html")).unwrap();
    std::os::unix::fs::symlink("run.html", sb.path("link.html")).unwrap();
    let log = sb.read("run.html");
    for args in [
        &["run.html"][..],
        &["report.html", "run.html"],
        &["run.html", "-o", "./run.html"],
        &["run.html", "-o", "link.html"],
    ] {
        let out = run(hrun().current_dir(sb.root()).arg("report").args(args));
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert_eq!(stderr(&out).lines().count(), 1, "{args:?}: {}", stderr(&out));
        assert_eq!(sb.read("run.html"), log, "{args:?} changed run.html");
        assert_eq!(sb.read("report.html"), log, "{args:?} changed report.html");
    }
    // Named elsewhere, the page is written and the logs are still untouched.
    let out = run(hrun().current_dir(sb.root()).arg("report").args(["run.html", "-o", "page.html"]));
    assert_status!(out, 0);
    assert!(sb.read("page.html").contains("<rect class=\"task\""));
    assert_eq!(sb.read("run.html"), log);
}

/// Issue 26 (second walkthrough): `python3 -c pass {} ::: 1 2 3 4` showed "3 ... python3 -c
/// pass #": seed 3 also masked the 3 of python3, putting its task in a group of its own.
#[test]
fn identical_tasks_keep_every_task_whose_seed_is_also_in_the_program_name() {
    let sb = Sandbox::new();
    // A program named as python3 is, with the digit of one of the seeds.
    let p = sb.write("prog3", "#!/bin/sh\n");
    std::fs::set_permissions(p, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let out = run(sb.exec().args(["-q", "./prog3", "-c", "pass", "{}", ":::", "1", "2", "3", "4"]));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let html = report_html(&sb, &["log.jsonl"]);
    let table = &html[html.find("<table id=\"identical\">").unwrap()..];
    let table = &table[..table.find("</table>").unwrap()];
    let rows: Vec<&str> = table.split("<tr><td>").skip(1).collect();
    assert_eq!(rows.len(), 1, "{table}");
    assert!(rows[0].starts_with("4</td>") && rows[0].contains("./prog3 -c pass #"), "{table}");
}

/// A course student's walkthrough: two unrelated sweeps in one directory (3 tasks all ok; 2
/// tasks, one failed) were reported as "3 ok, 0 failed ... of 3": tasks were merged by number
/// across sweeps. Each sweep's tasks are its own.
#[test]
fn the_totals_over_unrelated_sweeps_count_each_sweeps_tasks() {
    let sb = Sandbox::new();
    let out = run(hrun().current_dir(sb.root()).args(["exec", "true", "{}", ":::", "1", "2", "3"]));
    assert_status!(out, 0);
    let out = run(hrun().current_dir(sb.root()).args(["exec", "test {} -lt 2", ":::", "1", "2"]));
    assert_status!(out, 1);
    let html = report_html(&sb, &[".hrun"]);
    assert!(html.contains("Tasks: 4 ok, 1 failed, 0 not run yet, of 5"), "{html}");
}
