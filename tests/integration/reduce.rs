//! `hrun reduce` for any program (issue 26: 1): a sweep's `--results` table, its run log, or a
//! directory of per-task files, grouped by parameters and summarised against a hand computation.

use std::os::unix::fs::PermissionsExt;

use serde_json::Value;

use crate::harness::*;

/// A "model" that prints a number made from its arguments: a * 100 + b * 10 + seed^2.
fn model(sb: &Sandbox) {
    let p = sb.write("model", "#!/bin/sh\necho \"$(( $1 * 100 + $2 * 10 + $3 * $3 ))\"\n");
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// Mean, sample standard deviation and standard error, written out as on paper.
fn by_hand(xs: &[f64]) -> (f64, f64, f64) {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1.0);
    (mean, var.sqrt(), var.sqrt() / n.sqrt())
}

fn close(a: &Value, b: f64) -> bool {
    (a.as_f64().unwrap() - b).abs() < 1e-9 * b.abs().max(1.0)
}

/// The Stdout rows of a reduction, by group.
fn stdout_groups(r: &Value) -> Vec<&Value> {
    r["groups"].as_array().unwrap().iter().filter(|g| g["field"] == "Stdout").collect()
}

#[test]
fn a_sweep_table_reduced_over_seeds_matches_a_hand_computation() {
    let sb = Sandbox::new();
    model(&sb);
    for table in ["r.csv", "r.tsv", "r.json"] {
        let out = run(sb
            .exec()
            .args(["--results", table, "./model", "{1}", "{2}", "{3}"])
            .args([":::", "1", "2", ":::", "5", "7", ":::", "1", "2", "3", "4"]));
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let r = reduce_json(sb.root(), &[table]);
        assert_eq!(r["by"], serde_json::json!(["V1", "V2"]), "{table}: every value column but the last");
        let groups = stdout_groups(&r);
        assert_eq!(groups.len(), 4, "{table}: {r}");
        for (g, (a, b)) in groups.iter().zip([(1, 5), (1, 7), (2, 5), (2, 7)]) {
            assert_eq!(g["group"]["V1"], a.to_string(), "{table}: {g}");
            assert_eq!(g["group"]["V2"], b.to_string());
            let xs: Vec<f64> = (1..=4).map(|s| f64::from(a * 100 + b * 10 + s * s)).collect();
            let (mean, sd, se) = by_hand(&xs);
            assert_eq!(g["n"], 4);
            assert!(close(&g["mean"], mean) && close(&g["sd"], sd) && close(&g["se"], se), "{table}: {g}");
            assert_eq!((g["min"].as_f64(), g["max"].as_f64()), (Some(xs[0]), Some(xs[3])));
        }
    }
    // --by a,b chooses; the terminal table and CSV say the same numbers.
    let r = reduce_json(sb.root(), &["r.csv", "--by", "V2"]);
    let groups = stdout_groups(&r);
    let xs: Vec<f64> =
        [1, 2].iter().flat_map(|a| (1..=4).map(move |s| f64::from(a * 100 + 50 + s * s))).collect();
    assert_eq!(groups[0]["n"], 8);
    assert!(close(&groups[0]["sd"], by_hand(&xs).1), "{}", groups[0]);
    let out = run(hrun().current_dir(sb.root()).args(["reduce", "r.csv", "--by", "V2", "--csv"]));
    let csv = stdout(&out);
    assert!(csv.starts_with("V2,field,n,mean,sd,se,min,max\n5,Stdout,8,"), "{csv}");
    let out = run(hrun().current_dir(sb.root()).args(["reduce", "r.csv"]));
    let table = stdout(&out);
    let line = table.lines().find(|l| l.starts_with("1   5   Stdout")).unwrap_or_else(|| panic!("{table}"));
    let (mean, sd, se) = by_hand(&[151.0, 154.0, 159.0, 166.0]);
    assert_eq!(
        line.split_whitespace().collect::<Vec<_>>(),
        [
            "1",
            "5",
            "Stdout",
            "4",
            &format!("{mean}"),
            &format!("{:.5}", sd),
            &format!("{:.5}", se),
            "151",
            "166"
        ],
        "{table}"
    );
    assert!(stderr(&out).contains("grouped by V1, V2; reduced over V3"), "{}", stderr(&out));
}

#[test]
fn header_names_a_run_log_and_output_dir_files() {
    let sb = Sandbox::new();
    model(&sb);
    let out = run(sb
        .exec()
        .args(["--header", ":", "--output-dir", "out", "./model", "{a}", "{b}", "{seed}"])
        .args([":::", "a", "3", ":::", "b", "1", ":::", "seed", "1", "2"]));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let r = reduce_json(sb.root(), &["log.jsonl"]);
    assert_eq!(r["by"], serde_json::json!(["a", "b"]));
    let g = stdout_groups(&r)[0];
    assert_eq!(
        (g["n"].as_u64(), g["mean"].as_f64(), g["min"].as_f64()),
        (Some(2), Some(312.5), Some(311.0)),
        "{g}"
    );
    // A log whose run kept no output: refused, saying what to do.
    let out = run(hrun().current_dir(sb.root()).args(["exec", "--log", "bare.jsonl", "true", ":::", "1"]));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = run(hrun().current_dir(sb.root()).args(["reduce", "bare.jsonl"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("bare.jsonl: the run log holds no task output"), "{}", stderr(&out));
    assert!(stderr(&out).contains("--results FILE.csv or --output-dir DIR"), "{}", stderr(&out));
}

#[test]
fn a_directory_of_per_task_files_in_every_form() {
    let sb = Sandbox::new();
    std::fs::create_dir(sb.path("d")).unwrap();
    sb.write("d/1.txt", "2.5\n");
    sb.write("d/2.toml", "# mine\nmodel = \"big\"\nloss = 4.5\n");
    sb.write("d/3.json", "{\"loss\": 1.5, \"model\": \"small\"}");
    sb.write("d/4.csv", "model,loss\nbig,0.5\n");
    sb.write("d/.hidden", "not read");
    let out = run(hrun().current_dir(sb.root()).args(["reduce", "d"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("d/2.toml: model = \"big\": not a number (group on it with --by model"),
        "{}",
        stderr(&out)
    );
    std::fs::remove_file(sb.path("d/1.txt")).unwrap();
    let r = reduce_json(sb.root(), &["d", "--by", "model"]);
    let gs = r["groups"].as_array().unwrap();
    assert_eq!(gs.len(), 2, "{r}");
    assert_eq!(
        (gs[0]["group"]["model"].as_str(), gs[0]["n"].as_u64(), gs[0]["mean"].as_f64()),
        (Some("big"), Some(2), Some(2.5))
    );
    assert_eq!(
        (gs[1]["group"]["model"].as_str(), gs[1]["mean"].as_f64(), &gs[1]["sd"]),
        (Some("small"), Some(1.5), &Value::Null)
    );
}

#[test]
fn bad_input_is_one_line_naming_file_and_value_or_skipped() {
    let sb = Sandbox::new();
    std::fs::create_dir(sb.path("empty")).unwrap();
    std::fs::create_dir(sb.path("d")).unwrap();
    std::fs::create_dir(sb.path("good")).unwrap();
    sb.write("good/a.out", "3\n");
    sb.write("d/a.out", "3\n");
    sb.write("d/b.out", "4\n");
    sb.write("d/c.out", "Segmentation fault\n");
    sb.write("d/e.out", "x = oops\n");
    for (args, needle) in [
        (&["empty"][..], "no result files (*.toml) in empty, nor any per-task file"),
        (&["d"], "d/c.out: line 1: \"Segmentation fault\" is neither a number"),
        (&["missing"], "cannot read results directory missing"),
        (&["d/a.out"], "d/a.out: not a results table (.csv, .tsv, .json), a run log (.jsonl) or a directory"),
        (&["good", "--by", "V9"], "--by V9: no such parameter or field"),
    ] {
        let out = run(hrun().current_dir(sb.root()).arg("reduce").args(args));
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
    }
    let out = run(hrun().current_dir(sb.root()).args(["reduce", "--skip-bad", "--json", "d"]));
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("skipping d/c.out: line 1"), "{err}");
    assert!(err.contains("skipping d/e.out: x = \"oops\": not a number"), "{err}");
    let r: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(
        (r["groups"][0]["n"].as_u64(), r["groups"][0]["mean"].as_f64(), r["skipped"].as_u64()),
        (Some(2), Some(3.5), Some(2))
    );
    // A failed task's row, and a Stdout that is no number, in a table.
    let p = sb.write("say", "#!/bin/sh\necho \"$1\"\n[ \"$1\" != 2 ]\n");
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = run(hrun().current_dir(sb.root()).args([
        "exec",
        "--log",
        "l.jsonl",
        // Rows in job order: reduce meets task 2's failure first, whichever job ends first.
        "-k",
        "--results",
        "t.csv",
        "./say",
        ":::",
        "1",
        "2",
        "many words",
    ]));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let out = run(hrun().current_dir(sb.root()).args(["reduce", "t.csv"]));
    assert!(stderr(&out).contains("t.csv task 2: it failed (Exitval 1, Signal 0)"), "{}", stderr(&out));
    let out = run(hrun().current_dir(sb.root()).args(["reduce", "--skip-bad", "--json", "t.csv"]));
    let err = stderr(&out);
    assert!(
        err.contains("skipping t.csv task 3: Stdout line 1: \"many words\" is neither a number"),
        "{err}"
    );
    let r: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(
        (stdout_groups(&r)[0]["n"].as_u64(), stdout_groups(&r)[0]["mean"].as_f64()),
        (Some(1), Some(1.0)),
        "{r}"
    );
}

/// A "program" of the kind a course student writes: a banner line, then `key = value` and
/// several `k=v` on one line; the value is `a * 10 + seed` (its error, 1/seed).
fn chatty(sb: &Sandbox) {
    let p = sb.write(
        "chatty",
        "#!/bin/sh\necho \"Using 2 threads\"\necho \"pi = $(( $1 * 10 + $2 ))\"\necho \"a=$1 err=0.$2\"\n",
    );
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// Issue 26 (second walkthrough, 1 and 3): hrun's own --output-dir was refused ("1.err: empty:
/// no number in it"), and a banner line before `pi = ...` made every task bad.
#[test]
fn an_output_dir_of_program_output_with_a_banner() {
    let sb = Sandbox::new();
    chatty(&sb);
    let out = run(sb.exec().args([
        "--output-dir",
        "od",
        "./chatty",
        "{1}",
        "{2}",
        ":::",
        "1",
        ":::",
        "1",
        "2",
        "3",
    ]));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(sb.path("od/1.err").exists(), "the test needs hrun's empty .err files");
    let r = reduce_json(sb.root(), &["od"]);
    let field = |name: &str| {
        r["groups"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["field"] == name)
            .unwrap_or_else(|| panic!("{r}"))
            .clone()
    };
    let (mean, sd, se) = by_hand(&[11.0, 12.0, 13.0]);
    let pi = field("pi");
    assert_eq!(pi["n"], 3, "{r}");
    assert!(close(&pi["mean"], mean) && close(&pi["sd"], sd) && close(&pi["se"], se), "{pi}");
    // `a=1 err=0.N` on one line: two fields.
    assert_eq!((field("a")["mean"].as_f64(), field("err")["max"].as_f64()), (Some(1.0), Some(0.3)));
    // Output with no number anywhere is still an error naming its first line.
    sb.write("od/4.out", "Segmentation fault\n");
    let out = run(hrun().current_dir(sb.root()).args(["reduce", "od"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("od/4.out: line 1: \"Segmentation fault\" is neither a number"),
        "{}",
        stderr(&out)
    );
}

/// Issue 26 (second walkthrough, 2): `hrun reduce .hrun` read the run logs as result files
/// ("not JSON: trailing characters at line 2").
#[test]
fn a_directory_of_run_logs_is_read_as_run_logs() {
    let sb = Sandbox::new();
    model(&sb);
    std::fs::create_dir(sb.path("logs")).unwrap();
    for (shard, seeds) in [("a", ["1", "2"]), ("b", ["3", "4"])] {
        let out = run(hrun()
            .current_dir(sb.root())
            .args([
                "exec",
                "--log",
                &format!("logs/{shard}.hrun.jsonl"),
                "--results",
                &format!("{shard}.csv"),
            ])
            .args(["./model", "{1}", "{2}", "{3}", ":::", "1", ":::", "5", ":::"])
            .args(seeds));
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    }
    let r = reduce_json(sb.root(), &["logs"]);
    let g = stdout_groups(&r)[0];
    let xs: Vec<f64> = (1..=4).map(|s| f64::from(150 + s * s)).collect();
    assert_eq!(g["n"], 4, "{r}");
    assert!(close(&g["mean"], by_hand(&xs).0) && close(&g["sd"], by_hand(&xs).1), "{g}");
}

/// Issue 26 (second walkthrough, 4): a JSON table grouped by V1/V2 where its run named the
/// values with --header :, and `--by seed` then grouped on the program's own field `seed`.
#[test]
fn a_json_table_keeps_header_names_and_by_prefers_the_parameter() {
    let sb = Sandbox::new();
    // Prints its own `seed` field: 100 + its n parameter, unlike the seed parameter.
    let p = sb.write(
        "prog",
        "#!/bin/sh\necho \"{\\\"seed\\\": $(( $1 + 100 )), \\\"y\\\": $(( $1 * 10 + $2 ))}\"\n",
    );
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = run(sb
        .exec()
        // -k: rows in job order, so groups come in a known order.
        .args(["-k", "--results", "o.json", "--header", ":", "./prog", "{n}", "{seed}"])
        .args([":::", "n", "1", "2", ":::", "seed", "1", "2", "3"]));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let r = reduce_json(sb.root(), &["o.json"]);
    assert_eq!(r["by"], serde_json::json!(["n"]), "{r}");
    let y: Vec<&Value> = r["groups"].as_array().unwrap().iter().filter(|g| g["field"] == "y").collect();
    assert_eq!(
        (y.len(), y[1]["group"]["n"].as_str(), y[1]["mean"].as_f64()),
        (2, Some("2"), Some(22.0)),
        "{r}"
    );
    let out = run(hrun().current_dir(sb.root()).args(["reduce", "o.json", "--by", "seed", "--json"]));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("--by seed: seed is a parameter and also a field"), "{}", stderr(&out));
    let r: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let y: Vec<&Value> = r["groups"].as_array().unwrap().iter().filter(|g| g["field"] == "y").collect();
    // Three groups, seeds 1..3 (the field would give two: 101, 102); seed 1: n = 1, 2 -> 11, 21.
    assert_eq!(y.len(), 3, "{r}");
    assert_eq!((y[0]["group"]["seed"].as_str(), y[0]["mean"].as_f64()), (Some("1"), Some(16.0)), "{r}");
}
