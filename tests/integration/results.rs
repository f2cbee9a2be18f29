//! The results table: `--results FILE.csv|.tsv|.json` against GNU parallel's own, `hrun
//! results` from the log, and one row per task across a crash and `--resume`.

use std::process::Stdio;
use std::time::Duration;

use crate::harness::*;

/// Records of a CSV or TSV file as GNU parallel quotes them (fields in double quotes may hold
/// the separator, newlines and doubled quotes).
fn parse_delimited(text: &str, sep: char) -> Vec<Vec<String>> {
    let (mut rows, mut row, mut field) = (Vec::new(), Vec::new(), String::new());
    let (mut quoted, mut chars) = (false, text.chars().peekable());
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, c) if c == sep => row.push(std::mem::take(&mut field)),
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => field.push(c),
        }
    }
    assert!(field.is_empty() && row.is_empty(), "a torn last record: {text:?}");
    rows
}

/// Each record's fields as written (quotes and all).
fn raw_fields(text: &str, sep: char) -> Vec<Vec<String>> {
    let (mut rows, mut row, mut field, mut quoted) = (Vec::new(), Vec::new(), String::new(), false);
    for c in text.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                field.push(c);
            }
            c if c == sep && !quoted => row.push(std::mem::take(&mut field)),
            '\n' if !quoted => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            c => field.push(c),
        }
    }
    rows
}

/// The columns GNU parallel writes, less the two timings (Starttime, JobRuntime).
fn gnu_columns(rows: &[Vec<String>]) -> Vec<Vec<String>> {
    let width = rows[0].iter().position(|h| h == "Stderr").unwrap() + 1;
    rows.iter()
        .map(|r| {
            r[..width.min(r.len())]
                .iter()
                .enumerate()
                .filter(|(i, _)| ![2, 3].contains(i))
                .map(|(_, f)| f.clone())
                .collect()
        })
        .collect()
}

const TEMPLATE: [&str; 10] = [
    "printf '%s\\n' {1}-{2} \"a b\"; echo \"e,r\" >&2; exit {2}",
    ":::",
    "a",
    "b,c",
    "q\"x",
    ":::",
    "0",
    "1",
    "3",
    "0",
];

#[test]
fn results_tables_match_gnu_parallels_own() {
    let sb = Sandbox::new();
    // --tag: GNU tags every line of Stdout and Stderr in the table too.
    for (ext, sep, tag) in [("csv", ',', None), ("tsv", '\t', None), ("csv", ',', Some("--tag"))] {
        let Some(mut p) = gnu_parallel() else { return };
        let ours = format!("h{}.{ext}", tag.is_some());
        let theirs = format!("g{}.{ext}", tag.is_some());
        run(p.current_dir(sb.root()).args(["-k", "-j1", "--results", &theirs]).args(tag).args(TEMPLATE));
        let out = run(sb.exec().args(["-q", "-j1", "--results", &ours]).args(tag).args(TEMPLATE));
        assert_eq!(out.status.code(), Some(6), "6 jobs fail (exit 1 and 3): {}", stderr(&out));
        assert_eq!(stdout(&out), "", "task output goes into the table, as with GNU parallel");
        let (g, h) = (parse_delimited(&sb.read(&theirs), sep), parse_delimited(&sb.read(&ours), sep));
        assert_eq!(h[0][..13], g[0][..], "{ext}: GNU's header first");
        assert_eq!(&h[0][13..16], ["host", "slot", "cpus"], "{ext}: then hrun's");
        assert_eq!(gnu_columns(&h), gnu_columns(&g), "{ext}: rows (without the timings)");
        // Fields quoted exactly as GNU's: the raw text of each field but the timings.
        let (g, h) = (raw_fields(&sb.read(&theirs), sep), raw_fields(&sb.read(&ours), sep));
        let cut = |rows: Vec<Vec<String>>| -> Vec<Vec<String>> {
            rows.into_iter()
                .map(|r| {
                    r.into_iter()
                        .take(13)
                        .enumerate()
                        .filter(|(i, _)| ![2, 3].contains(i))
                        .map(|(_, f)| f)
                        .collect()
                })
                .collect()
        };
        assert_eq!(cut(h), cut(g), "{ext}: raw fields");
    }
    let Some(mut p) = gnu_parallel() else { return };
    run(p.current_dir(sb.root()).args(["-k", "-j1", "--results", "g.json"]).args(TEMPLATE));
    run(sb.exec().args(["-q", "-j1", "--results", "h.json"]).args(TEMPLATE));
    let strip_times = |line: &str| -> String {
        let v: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{line}: {e}"));
        let mut m = v.as_object().unwrap().clone();
        m.retain(|k, _| {
            !["Starttime", "JobRuntime"].contains(&k.as_str()) && k.chars().next().unwrap().is_uppercase()
        });
        serde_json::to_string(&m).unwrap()
    };
    let (g, h) = (sb.read("g.json"), sb.read("h.json"));
    assert_eq!(
        h.lines().map(strip_times).collect::<Vec<_>>(),
        g.lines().map(strip_times).collect::<Vec<_>>()
    );
    // GNU's keys first, in GNU's spacing.
    let first = h.lines().next().unwrap();
    assert!(first.starts_with("{ \"Seq\": 1, \"Host\": \":\", \"Starttime\": "), "{first}");
    assert!(first.contains(", \"V\": [ \"a\",\"0\" ], \"Stdout\": \"a-0\\u000aa b\\u000a\", \"Stderr\": \"e,r\\u000a\", \"host\": "), "{first}");
}

#[test]
fn results_on_standard_output_and_bad_names() {
    let sb = Sandbox::new();
    let out = run(sb.exec().args(["-q", "--results", "-.tsv", "echo", ":::", "x y"]));
    assert_status!(out, 0);
    let rows = parse_delimited(&stdout(&out), '\t');
    assert_eq!((rows.len(), rows[1][9].as_str(), rows[1][10].as_str()), (2, "x y", "x y\n"));
    // A directory of results and the --output-dir files at once: refused before anything.
    let out = run(sb.exec().args(["--results", "outdir", "--output-dir", "o", "touch", "ran", ":::", "a"]));
    assert_status!(out, 2);
    assert!(stderr(&out).contains("give one"), "{}", stderr(&out));
    assert!(!sb.path("ran").exists() && !sb.path("outdir").exists() && !sb.path("o").exists());
    // A log that cannot be read is the caller's error, exit 2 as for status and report (it
    // was 255 for a FIFO or a missing file), and nothing is written.
    mkfifo(&sb.path("fifo.jsonl"));
    // So is a file that holds no run (it printed nothing and exited 0), and -o named as no
    // table (the message named --results, a flag of exec).
    sb.write("garbage.jsonl", "not a log\n");
    let out = run(hrun().current_dir(sb.root()).args(["results", "log.jsonl", "-o", "r.txt"]));
    assert_status!(out, 2);
    assert!(
        stderr(&out).starts_with("hrun: error: -o r.txt: hrun results writes a table"),
        "{}",
        stderr(&out)
    );
    for log in ["fifo.jsonl", "missing.jsonl", "garbage.jsonl"] {
        let out = run(hrun().current_dir(sb.root()).args(["results", log, "-o", "t.csv"]));
        assert_eq!(out.status.code(), Some(2), "{log}: {}", stderr(&out));
        assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
        assert!(stderr(&out).contains(log), "{}", stderr(&out));
        assert!(!sb.path("t.csv").exists());
    }
}

/// `hrun results LOG` gives the table `--results` wrote (output from `--output-dir`), for task
/// files as for templates.
#[test]
fn hrun_results_from_the_log_equals_what_results_wrote() {
    let sb = Sandbox::new();
    let out = run(sb.exec().args(["-q", "--output-dir", "out", "--results", "live.csv"]).args(TEMPLATE));
    assert_status!(out, 6);
    let out = run(hrun().current_dir(sb.root()).args(["results", "log.jsonl", "-o", "after.csv"]));
    assert_status!(out, 0);
    let mut live = parse_delimited(&sb.read("live.csv"), ',');
    let after = parse_delimited(&sb.read("after.csv"), ',');
    live[1..].sort_by_key(|r| r[0].parse::<u64>().unwrap());
    assert_eq!(after, live);
    // A task file: its lines are the values (GNU parallel reading the file as commands).
    sb.write("tasks.txt", "echo one\n# comment\necho two; exit 2\n");
    let out = run(hrun().current_dir(sb.root()).args([
        "exec",
        "-q",
        "--log",
        "t.jsonl",
        "--results",
        "t.json",
        "tasks.txt",
    ]));
    assert_eq!(out.status.code(), Some(1));
    let out = run(hrun().current_dir(sb.root()).args(["results", "t.jsonl", "-o", "-.json"]));
    let mut live: Vec<String> = sb.read("t.json").lines().map(String::from).collect();
    live.sort();
    let mut after: Vec<String> = stdout(&out).lines().map(String::from).collect();
    after.sort();
    assert_eq!(after.len(), 2);
    let strip_output = |l: &String| l.split(", \"Stdout\"").next().unwrap().to_string();
    assert_eq!(
        after.iter().map(strip_output).collect::<Vec<_>>(),
        live.iter().map(strip_output).collect::<Vec<_>>()
    );
    assert!(after[1].contains("\"V\": [ \"echo two; exit 2\" ]"), "{}", after[1]);
}

/// hrun killed with SIGKILL mid-run, then `--resume` appending to the same table: every job
/// has exactly one row, for its last attempt, and the header is there once.
#[test]
fn a_crash_then_resume_leaves_one_row_per_job() {
    let sb = Sandbox::new();
    // Until `fast` exists, jobs 3-6 hang; the same command line either way, for --resume.
    let job = [
        "-j",
        "2",
        "--results",
        "r.csv",
        "if [ {} -le 2 ] || [ -e fast ]; then echo done {}; else sleep 60; fi",
        ":::",
        "1",
        "2",
        "3",
        "4",
        "5",
        "6",
    ];
    let mut child =
        sb.exec().args(job).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    let t0 = std::time::Instant::now();
    loop {
        let rows =
            std::fs::read_to_string(sb.path("r.csv")).map(|t| t.matches("\"done ").count()).unwrap_or(0);
        let running = std::fs::read_to_string(sb.path("log.jsonl"))
            .map(|t| t.matches("\"kind\":\"start\"").count())
            .unwrap_or(0);
        if rows >= 2 && running >= 4 {
            break;
        }
        assert!(t0.elapsed() < Duration::from_secs(30), "the first jobs never finished");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    sb.write("fast", "");
    let out = run(sb.exec().arg("--resume").args(job));
    assert_status!(out, 0);
    let rows = parse_delimited(&sb.read("r.csv"), ',');
    assert_eq!(rows.iter().filter(|r| r[0] == "Seq").count(), 1, "one header");
    let mut seqs: Vec<u64> = rows[1..].iter().map(|r| r[0].parse().unwrap()).collect();
    seqs.sort();
    assert_eq!(seqs, [1, 2, 3, 4, 5, 6], "one row per job");
    assert!(rows[1..].iter().all(|r| r[10].starts_with("done")), "every row is the attempt that finished");
    let after = run(hrun().current_dir(sb.root()).args(["results", "log.jsonl"]));
    assert_eq!(parse_delimited(&stdout(&after), ',').len(), 7);
}

/// The pattern for Python users: many inputs per interpreter with -N, not one each.
#[test]
fn max_args_batches_values_into_few_processes() {
    let sb = Sandbox::new();
    let values: String = (0..1000).map(|i| format!("{i}\n")).collect();
    let mut child = sb
        .exec()
        .args(["-q", "-k", "-N", "250", "sh", "-c", "'echo $$ $#'", "_"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(values.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_status!(out, 0);
    let text = stdout(&out);
    let counts: Vec<&str> = text.lines().map(|l| l.split(' ').nth(1).unwrap()).collect();
    assert_eq!(counts, ["250", "250", "250", "250"], "4 processes of 250 values");
}

/// Rows written before a crash that the log does not vouch for: a row torn mid-write (here
/// planted: a quoted field left open), or one whose task's record never made it. `--resume`
/// cuts the table back to the end of the last row a record vouches for and runs those tasks
/// again: one whole row per job, and the table still parses. (Before, rows were written after
/// their records by a thread: a kill -9 lost rows of tasks the log held as done, and a torn
/// row swallowed the next one.)
#[test]
fn resume_cuts_a_table_back_to_the_rows_the_log_vouches_for() {
    let sb = Sandbox::new();
    let job = ["-j", "1", "--results", "r.csv", "echo out {}", ":::", "1", "2", "3"];
    let out = run(sb.exec().args(job));
    assert_status!(out, 0);
    let whole = sb.read("r.csv");
    let log = sb.read("log.jsonl");
    let ends: Vec<u64> = sb.records().tasks.iter().filter_map(|t| t.results_end).collect();
    assert_eq!(ends.len(), 3, "each record says where its row ends: {log}");
    assert_eq!(*ends.iter().max().unwrap(), whole.len() as u64);
    // A table after a run that ended is left as it is, whatever was added to it.
    sb.write("r.csv", format!("{whole}added,by,hand\n"));
    let out = run(sb.exec().arg("--resume").args(job));
    assert_status!(out, 0);
    assert_eq!(sb.read("r.csv"), format!("{whole}added,by,hand\n"));
    // The crashes a row can meet (no end record): the row written and its record not (task
    // 3's record dropped), or the row torn mid-write (a quoted field left open). Each is cut
    // and its task runs again. More than one row after the vouched ones is not hrun's: left.
    let keep = |drop3: bool| -> String {
        log.lines()
            .filter(|l| !(l.starts_with("{\"kind\":\"end\"") || drop3 && l.contains("\"seq\":3,")))
            .map(|l| format!("{l}\n"))
            .collect()
    };
    let two_rows = whole.lines().skip(1).collect::<Vec<_>>().join("\n") + "\n";
    for (drop3, table, cut) in [
        (true, whole.clone(), true),
        (false, format!("{whole}4,:,0,\"unfinished"), true),
        (false, format!("{whole}{two_rows}"), false),
    ] {
        sb.write("log.jsonl", keep(drop3));
        sb.write("r.csv", &table);
        let out = run(sb.exec().arg("--resume").args(job));
        assert_status!(out, 0);
        if !cut {
            assert!(stderr(&out).contains("left as they are"), "{}", stderr(&out));
            assert_eq!(sb.read("r.csv"), table);
            continue;
        }
        assert!(stderr(&out).contains("results table r.csv: the last"), "{}", stderr(&out));
        let rows = parse_delimited(&sb.read("r.csv"), ',');
        let seqs: Vec<&str> = rows.iter().map(|r| r[0].as_str()).collect();
        assert_eq!(seqs, ["Seq", "1", "2", "3"], "{rows:?}");
        assert!(rows.iter().all(|r| r.len() == rows[0].len()), "{rows:?}");
        assert_eq!(rows[3][10], "out 3\n");
    }
}

/// A kill -9 while tasks write large rows, then --resume: every job has exactly one whole row.
#[test]
fn a_kill_during_large_rows_then_resume_leaves_one_whole_row_per_job() {
    let sb = Sandbox::new();
    let values: Vec<String> = (1..=40).map(|i| i.to_string()).collect();
    let job = |resume: bool| {
        let mut c = sb.exec();
        if resume {
            c.arg("--resume");
        }
        c.args(["--results", "r.csv", "head -c 400000 /dev/zero | tr '\\0' x; echo {}", ":::"]).args(&values);
        c
    };
    let mut child = job(false).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    let t0 = std::time::Instant::now();
    while std::fs::read_to_string(sb.path("log.jsonl")).map_or(0, |t| t.matches("\"kind\":\"task\"").count())
        < 5
    {
        assert!(t0.elapsed() < Duration::from_secs(30), "no task finished");
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let out = run(&mut job(true));
    assert_status!(out, 0);
    let rows = parse_delimited(&sb.read("r.csv"), ',');
    assert!(rows.iter().all(|r| r.len() == rows[0].len()), "a torn row");
    let mut seqs: Vec<u64> = rows[1..].iter().map(|r| r[0].parse().unwrap()).collect();
    seqs.sort();
    assert_eq!(seqs, (1..=40).collect::<Vec<u64>>(), "one row per job");
    assert!(rows[1..].iter().all(|r| r[10].len() == 400_000 + r[0].len() + 1));
}

/// With --results, task output goes only into rows: a task cut short (no row; --resume runs it)
/// prints nothing on standard output either.
#[test]
fn output_of_cancelled_tasks_stays_out_of_a_results_table_on_stdout() {
    let sb = Sandbox::new();
    let child = sb
        .exec()
        .args(["-j", "2", "--results", "-.csv", "echo OUT{}; touch ready.{}; sleep 60", ":::", "1", "2"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    for i in 1..=2 {
        wait_for_file(&sb.path(&format!("ready.{i}")), Duration::from_secs(10));
    }
    send_signal(child.id() as i32, libc::SIGINT);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("OUT"), "cancelled tasks' output on stdout: {text:?}");
}

/// One log holding jobs with one value and jobs with two (one template's default log, two
/// sweeps): `hrun results` gives every row as many value columns as the widest (it wrote the
/// header for one, and the two-value rows were one field too long).
#[test]
fn hrun_results_over_jobs_of_different_widths_is_rectangular() {
    let sb = Sandbox::new();
    // One sweep (the second run resumes it) over jobs of one and of two values.
    for args in
        [&["echo", "{}", ":::", "a", "b"][..], &["--resume", "echo", "{}", ":::", "x", ":::", "y", "z"]]
    {
        let out = run(sb.exec().arg("-q").args(args));
        assert_status!(out, 0);
    }
    let out = run(hrun().current_dir(sb.root()).args(["results", "log.jsonl"]));
    assert_status!(out, 0);
    let rows = parse_delimited(&stdout(&out), ',');
    assert_eq!(&rows[0][9..12], ["V1", "V2", "Stdout"], "{rows:?}");
    assert!(rows.iter().all(|r| r.len() == rows[0].len()), "{rows:?}");
    assert_eq!(rows.len(), 5, "a header and four jobs: {rows:?}");
}

/// Every file under `dir` with its bytes, by path relative to `dir`.
fn tree(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
                out.push((rel, std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

/// GNU's `--results DIR` (a directory level per value, named by source number or `--header :`
/// name, values escaped), and a name with replacement strings (NAME, NAME.err, NAME.seq; a
/// directory when it ends in `/`): the same files with the same bytes as GNU parallel writes,
/// and nothing on standard output, as GNU.
#[test]
fn results_directories_match_gnu_parallels_own() {
    let Some(_) = gnu_parallel() else { return };
    let runs: [&[&str]; 6] = [
        &["--results", "out", "-k", "echo", ":::", "a", "b/c", "a\\b", "t\tu", ":::", "x y"],
        &["--results", "o2/", "-k", "--header", ":", "echo", "{p}", ":::", "p", "1", "2", ":::", "q", "z"],
        &["--results", "r4/{}_{#}", "-k", "echo", ":::", "a", "b"],
        &["--results", "r5/{1}/{2}/", "-k", "echo", ":::", "a", ":::", "b"],
        &["-N2", "--results", "r8", "echo", ":::", "a", "b", "c", "d"],
        &["--results", "r6", "echo {}; echo err >&2; exit 1", ":::", "a"],
    ];
    let (g, h) = (Sandbox::new(), Sandbox::new());
    for args in runs {
        let gout = run(gnu_parallel().unwrap().current_dir(g.root()).args(args));
        let hout = run(h.exec().arg("-q").args(args));
        assert_eq!(stdout(&hout), stdout(&gout), "{args:?}: nothing on stdout");
        assert_eq!(hout.status.code(), gout.status.code(), "{args:?}: {}", stderr(&hout));
        let name = args[args.iter().position(|a| *a == "--results").unwrap() + 1];
        let top = name.split('/').next().unwrap();
        assert_eq!(tree(&h.path(top)), tree(&g.path(top)), "{args:?}: hrun's files (left) and GNU's");
    }
    // Where GNU climbs out of a value's level (`..` is the parent, `.` and the empty value
    // the level itself), hrun keeps each value's files apart.
    let out = run(h.exec().args(["-q", "--results", "dots", "echo", ":::", "..", ".", "", "x"]));
    assert_status!(out, 0);
    let files = tree(&h.path("dots"));
    let stdouts: Vec<&str> =
        files.iter().filter(|(p, _)| p.ends_with("stdout")).map(|(p, _)| p.as_str()).collect();
    assert_eq!(stdouts, ["1/\\./stdout", "1/\\.\\./stdout", "1/\\e/stdout", "1/x/stdout"]);
}

/// With -k, rows are in job order however the jobs end (GNU writes them so; hrun wrote them
/// in the order jobs ended), in a table in a file and on standard output. Job 3 ends first,
/// then 2, then 1: each waits for the next one's mark. Each run in a directory of its own.
#[test]
fn keep_order_writes_rows_in_job_order() {
    let sb = Sandbox::new();
    let template = [
        "i={}; [ $i -lt 3 ] && while [ ! -e m$((i+1)) ]; do sleep 0.01; done; echo $i; touch m$i",
        ":::",
        "1",
        "2",
        "3",
    ];
    for d in ["h", "again", "g", "s"] {
        std::fs::create_dir(sb.path(d)).unwrap();
    }
    let out = run(sb
        .exec()
        .current_dir(sb.path("h"))
        .args(["-q", "-k", "-j3", "--results", "h.csv"])
        .args(template));
    assert_status!(out, 0);
    let table = sb.read("h/h.csv");
    let h = parse_delimited(&table, ',');
    let seqs: Vec<&str> = h[1..].iter().map(|r| r[0].as_str()).collect();
    assert_eq!(seqs, ["1", "2", "3"], "rows in job order");
    // The jobs finished their work in reverse order (each waited for the next one's mark; the
    // marks' times show it). Their recorded ends are their launcher's reaping stamps, which a
    // loaded machine may order otherwise when two end within one of its time slices.
    let mark = |i: u32| std::fs::metadata(sb.path(&format!("h/m{i}"))).unwrap().modified().unwrap();
    assert!(mark(3) <= mark(2) && mark(2) <= mark(1), "job 3's work ended first, then 2's, then 1's");
    // The log vouches for every row: --resume has nothing to do.
    let again = run(sb
        .exec()
        .current_dir(sb.path("h"))
        .args(["-q", "-k", "-j3", "--resume", "--results", "h.csv"])
        .args(template));
    assert_status!(again, 0);
    assert_eq!(sb.read("h/h.csv"), table, "no row added or lost");
    if let Some(mut p) = gnu_parallel() {
        run(p.current_dir(sb.path("g")).args(["-k", "-j3", "--results", "g.csv"]).args(template));
        let g = parse_delimited(&sb.read("g/g.csv"), ',');
        assert_eq!(gnu_columns(&h), gnu_columns(&g), "as GNU's rows");
    }
    let out = run(sb
        .exec()
        .current_dir(sb.path("s"))
        .args(["-q", "-k", "-j3", "--results", "-.csv"])
        .args(template));
    assert_status!(out, 0);
    let s = parse_delimited(&stdout(&out), ',');
    assert_eq!(gnu_columns(&s), gnu_columns(&h), "on standard output too");
}

/// -k holds the rows (and records) of jobs that end before an earlier one: killed while it
/// held them, hrun loses nothing; --resume runs those jobs again and the table has one row
/// per job, in job order.
#[test]
fn a_crash_while_keep_order_holds_rows_then_resume_leaves_one_row_per_job() {
    let sb = Sandbox::new();
    let job = [
        "-k",
        "-j",
        "3",
        "--results",
        "r.csv",
        "[ {} = 1 ] && [ ! -e fast ] && sleep 60; echo done {}; touch ended{}",
        ":::",
        "1",
        "2",
        "3",
    ];
    let mut child =
        sb.exec().args(job).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    let t0 = std::time::Instant::now();
    // Jobs 2 and 3 have ended while job 1 sleeps.
    while !(sb.path("ended2").exists() && sb.path("ended3").exists()) {
        assert!(t0.elapsed() < Duration::from_secs(30), "the jobs never ended");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(200));
    assert!(!sb.read("r.csv").contains("done"), "rows 2 and 3 wait for row 1: {}", sb.read("r.csv"));
    child.kill().unwrap();
    child.wait().unwrap();
    sb.write("fast", "");
    let out = run(sb.exec().arg("--resume").args(job));
    assert_status!(out, 0);
    let rows = parse_delimited(&sb.read("r.csv"), ',');
    assert_eq!(rows[1..].iter().map(|r| r[0].as_str()).collect::<Vec<_>>(), ["1", "2", "3"]);
    assert!(rows[1..].iter().all(|r| r[10].starts_with("done")), "{rows:?}");
}

/// Issue 26 (second walkthrough, 5): `hrun results` over unrelated logs gave one table: Seq 1
/// four times, other sweeps' values under the first one's `--header :` names, a task file's
/// whole command in column `a`, and rows dropped whose Seq and command another log also had;
/// an earlier sweep of a shared log vanished without a word. Each sweep is its own table:
/// the latest by default, the others listed, `--sweep N` for one.
#[test]
fn each_sweep_of_the_logs_is_its_own_table() {
    let sb = Sandbox::new();
    sb.write("tasks.txt", "echo 1\necho 2\n");
    for args in [
        &["--log", "a.jsonl", "--header", ":", "echo", "{a}", "{b}", ":::", "a", "1", "2", ":::", "b", "7"][..],
        &["--log", "b.jsonl", "tasks.txt"],
        // Seq 1 and command "echo 1" as in b.jsonl, but another sweep.
        &["--log", "c.jsonl", "echo", "{}", ":::", "1", "3", "5"],
    ] {
        let out = run(hrun().current_dir(sb.root()).args(["exec", "-q"]).args(args));
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    }
    let table = |args: &[&str]| {
        let out = run(hrun().current_dir(sb.root()).arg("results").args(args));
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        (parse_delimited(&stdout(&out), ','), stderr(&out))
    };
    let logs = ["a.jsonl", "b.jsonl", "c.jsonl"];
    let (rows, err) = table(&logs);
    // The latest sweep: c's three rows, V1 its own column.
    assert_eq!(rows.len(), 4, "{rows:?}");
    assert_eq!((rows[0][9].as_str(), rows[3][9].as_str()), ("V1", "5"), "{rows:?}");
    assert!(
        err.contains("the logs hold 3 sweeps, each its own table; this is sweep 3 (--sweep N for another)"),
        "{err}"
    );
    assert!(
        err.contains("  1  2 rows  ") && err.contains("a.jsonl") && err.contains("*  3  3 rows"),
        "{err}"
    );
    let (rows, _) = table(&[&logs[..], &["--sweep", "1"]].concat());
    assert_eq!(rows[0][9..11], ["a", "b"], "{rows:?}");
    assert_eq!(rows.len(), 3, "{rows:?}");
    let (rows, _) = table(&[&logs[..], &["--sweep", "2"]].concat());
    // The task file's two rows, whatever c.jsonl holds under the same Seq and command.
    assert_eq!((rows.len(), rows[0][9].as_str(), rows[1][8].as_str()), (3, "V1", "echo 1"), "{rows:?}");
    let out = run(hrun().current_dir(sb.root()).arg("results").args(logs).args(["--sweep", "4"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--sweep 4: the logs hold 3 sweeps"), "{}", stderr(&out));
    // Two sweeps in one log (a run without --resume starts one): the later, and the earlier named.
    let out =
        run(hrun().current_dir(sb.root()).args(["exec", "-q", "--log", "a.jsonl", "echo", "{}", ":::", "9"]));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let (rows, err) = table(&["a.jsonl"]);
    assert_eq!((rows.len(), rows[1][9].as_str()), (2, "9"), "{rows:?}");
    assert!(err.contains("the logs hold 2 sweeps"), "{err}");
}
