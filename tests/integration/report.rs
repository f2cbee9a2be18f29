//! `hrun report`: the HTML has one bar per task attempt in its slot's row, works offline, and
//! renders in a real headless browser to a non-blank picture.

use std::process::Command;

use crate::harness::*;

fn report_of(sb: &Sandbox) -> String {
    sb.write("tasks.txt", "sleep 0.1\nexit 3\nsleep 0.2\nkill -KILL $$\ntrue\nsleep 0.1\n");
    let out = run(sb.exec().arg("tasks.txt"));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let out = run(hrun().arg("report").arg(sb.path("log.jsonl")).arg("-o").arg(sb.path("report.html")));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    sb.read("report.html")
}

#[test]
fn one_bar_per_task_in_its_slot_row_and_nothing_fetched() {
    let sb = Sandbox::new();
    let html = report_of(&sb);
    let (_, tasks) = sb.log();
    let bars: Vec<&str> =
        html.match_indices("<rect class=\"task\"").map(|(i, _)| &html[i..i + 200]).collect();
    assert_eq!(bars.len(), tasks.len());
    for t in &tasks {
        let key = format!("data-seq=\"{}\" data-slot=\"{}\"", t["seq"], t["slot"]);
        assert_eq!(
            bars.iter().filter(|b| b.contains(&key)).count(),
            1,
            "one bar for task {} in slot {}",
            t["seq"],
            t["slot"]
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
