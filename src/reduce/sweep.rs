//! `hrun reduce` for any program: the tasks of a sweep, read from a results table (`--results
//! FILE.csv|.tsv|.json`), a run log (through the table or `--output-dir` its run named) or a
//! directory of per-task files, grouped by parameters, and per group and numeric field: n,
//! mean, standard deviation, standard error, min, max.
//!
//! A task's fields come from its standard output (a table's Stdout) or its file, read by
//! [`super::parse`]; a table adds its `JobRuntime`. The parameters are a table's value columns
//! (V1.. or the `--header :` names); by default the rows are grouped by every value column but
//! the last, which is taken to be the repeat (the seeds) that is reduced over; `--by` chooses
//! (parameters or text fields of the tasks' own files; `--by ''` makes one group).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{Result, anyhow};
use serde::Serialize;

use super::parse::{self, Fields};
use crate::exit::UsageError;
use crate::log::{Record, TaskRecord};
use crate::text::printable;

/// One task: where it came from (for messages), its parameter values, its fields.
#[derive(Clone, Debug)]
pub struct Task {
    pub origin: String,
    pub params: Vec<String>,
    pub fields: Fields,
}

/// What was read: the parameters' names and the tasks, and those left out as bad.
#[derive(Clone, Debug, Default)]
pub struct Sweep {
    pub names: Vec<String>,
    pub tasks: Vec<Task>,
    pub skipped: u64,
}

/// How bad input is met: an error, or a warning and the task left out (`--skip-bad`).
#[derive(Clone, Copy)]
pub struct Bad {
    pub skip: bool,
}

impl Bad {
    /// `Ok(())` having warned, when skipping; the error otherwise.
    fn meet(self, what: &str, skipped: &mut u64) -> Result<()> {
        if !self.skip {
            return Err(usage(format!("{what} (use --skip-bad to leave such tasks out)")));
        }
        crate::messages::warning(format_args!("skipping {what}"));
        *skipped += 1;
        Ok(())
    }
}

fn usage(msg: String) -> anyhow::Error {
    UsageError(anyhow!(msg)).into()
}

fn shown(p: &Path) -> String {
    printable(&p.display().to_string()).into_owned()
}

/// The largest table read (its rows hold task output).
const MAX_TABLE: u64 = 1 << 30;
/// The largest per-task file read.
const MAX_TASK_FILE: u64 = crate::smallfile::MIB;

/// Which kind of input a path names.
pub enum Input {
    Table(PathBuf),
    Log(PathBuf),
    Dir(PathBuf),
    /// A directory whose files are all run logs (`*.jsonl`, as `.hrun` holds them).
    Logs(Vec<PathBuf>),
}

impl Input {
    pub fn of(path: &Path) -> Result<Input> {
        let ext = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
        match ext.as_deref() {
            Some("csv" | "tsv" | "json") if !path.is_dir() => Ok(Input::Table(path.to_path_buf())),
            Some("jsonl") if !path.is_dir() => Ok(Input::Log(path.to_path_buf())),
            _ if path.is_dir() => Ok(match run_logs_in(path) {
                Some(logs) => Input::Logs(logs),
                None => Input::Dir(path.to_path_buf()),
            }),
            _ if !path.exists() => Err(usage(format!(
                "cannot read results directory {}: no such file or directory",
                shown(path)
            ))),
            _ => Err(usage(format!(
                "{}: not a results table (.csv, .tsv, .json), a run log (.jsonl) or a directory of result files",
                shown(path)
            ))),
        }
    }

    pub fn read(&self, bad: Bad) -> Result<Sweep> {
        match self {
            Input::Table(p) => read_table(p, bad),
            Input::Log(p) => read_log(p, bad),
            Input::Dir(p) => read_dir(p, bad),
            Input::Logs(logs) => {
                let mut all = Sweep::default();
                for log in logs {
                    all.add(read_log(log, bad)?)?;
                }
                Ok(all)
            }
        }
    }
}

impl Sweep {
    /// Adds `other`'s tasks (another input of the same sweep: a shard's log, a second table).
    /// Inputs whose parameters have other names are other sweeps: refused, as summing them
    /// would mix their values under one name.
    pub fn add(&mut self, other: Sweep) -> Result<()> {
        if self.tasks.is_empty() && self.skipped == 0 && self.names.is_empty() {
            self.names = other.names;
        } else if !other.names.is_empty() && !self.names.is_empty() && other.names != self.names {
            return Err(usage(format!(
                "the inputs are different sweeps: parameters {} and {}; reduce one at a time",
                printable(&self.names.join(", ")),
                printable(&other.names.join(", "))
            )));
        } else if self.names.is_empty() {
            self.names = other.names;
        }
        self.skipped += other.skipped;
        self.tasks.extend(other.tasks);
        Ok(())
    }
}

/// The run logs of `dir`, if every file in it not starting with `.` is one (`*.jsonl`): the
/// `.hrun` directory, or the logs of a multi-node job's shards. `None` otherwise.
fn run_logs_in(dir: &Path) -> Option<Vec<PathBuf>> {
    let mut logs: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| !p.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.')) && !p.is_dir())
        .collect();
    let all_logs = logs.iter().all(|p| p.extension().is_some_and(|e| e == "jsonl"));
    if logs.is_empty() || !all_logs {
        return None;
    }
    logs.sort_by_cached_key(|p| super::natural_key(p));
    Some(logs)
}

/// A `--results` table as hrun (or GNU parallel) writes it: GNU's columns up to `Command`, the
/// values, `Stdout`, `Stderr`, hrun's columns. A failed task's row, or one whose Stdout is no
/// form of fields, is bad.
pub fn read_table(path: &Path, bad: Bad) -> Result<Sweep> {
    let text = crate::smallfile::read(path, MAX_TABLE)
        .map_err(|e| usage(format!("cannot read results table {}: {e}", shown(path))))?;
    let json = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("json"));
    let rows = if json { json_rows(path, &text)? } else { delimited_rows(path, &text)? };
    let mut sweep = Sweep { names: rows.names, ..Sweep::default() };
    for r in rows.rows {
        let origin = format!("{} task {}", shown(path), r.seq);
        let failed = r.exit != "0" || r.signal != "0";
        let read = if failed {
            Err(format!("it failed (Exitval {}, Signal {})", r.exit, r.signal))
        } else {
            parse::fields(&r.stdout, "Stdout").map_err(|e| format!("Stdout {}", e))
        };
        match read {
            Ok(mut fields) => {
                fields.push(("JobRuntime".into(), r.runtime));
                sweep.tasks.push(Task { origin, params: r.values, fields });
            }
            Err(why) => bad.meet(&format!("{origin}: {why}"), &mut sweep.skipped)?,
        }
    }
    Ok(sweep)
}

/// The columns `reduce` uses of a table's row.
struct TableRow {
    seq: String,
    runtime: String,
    exit: String,
    signal: String,
    values: Vec<String>,
    stdout: String,
}

struct TableRows {
    names: Vec<String>,
    rows: Vec<TableRow>,
}

fn delimited_rows(path: &Path, text: &str) -> Result<TableRows> {
    let tsv = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("tsv"));
    let records = parse::parse_delimited(text, if tsv { '\t' } else { ',' })
        .map_err(|e| usage(format!("{}: {e}", shown(path))))?;
    let mut records = records.into_iter();
    let header = records.next().ok_or_else(|| usage(format!("{}: an empty table", shown(path))))?;
    let at = |name: &str| header.iter().position(|h| h == name);
    let (Some(seq), Some(command), Some(stdout)) = (at("Seq"), at("Command"), at("Stdout")) else {
        return Err(usage(format!(
            "{}: not a results table: its header has no Seq, Command and Stdout columns",
            shown(path)
        )));
    };
    let (runtime, exit, signal) = (at("JobRuntime"), at("Exitval"), at("Signal"));
    let names = header[command + 1..stdout].to_vec();
    let mut rows = Vec::new();
    for (i, rec) in records.enumerate() {
        if rec.len() < stdout + 1 {
            return Err(usage(format!(
                "{}: line {} has {} fields, the header {}",
                shown(path),
                i + 2,
                rec.len(),
                header.len()
            )));
        }
        let get =
            |c: Option<usize>, default: &str| c.and_then(|c| rec.get(c).cloned()).unwrap_or(default.into());
        rows.push(TableRow {
            seq: rec[seq].clone(),
            runtime: get(runtime, "0"),
            exit: get(exit, "0"),
            signal: get(signal, "0"),
            values: rec[command + 1..stdout].to_vec(),
            stdout: rec[stdout].clone(),
        });
    }
    Ok(TableRows { names, rows })
}

fn json_rows(path: &Path, text: &str) -> Result<TableRows> {
    let mut rows = Vec::new();
    let mut width = 0;
    let mut names: Vec<String> = Vec::new();
    for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let v: serde_json::Value = serde_json::from_str(line)
            .map_err(|e| usage(format!("{}: line {}: not a JSON row: {e}", shown(path), i + 1)))?;
        let text = |k: &str| match &v[k] {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Null => String::new(),
            other => other.to_string(),
        };
        let values: Vec<String> = v["V"]
            .as_array()
            .map(|a| a.iter().map(|x| x.as_str().map_or_else(|| x.to_string(), str::to_string)).collect())
            .unwrap_or_default();
        if v["Seq"].is_null() || v["Stdout"].is_null() {
            return Err(usage(format!(
                "{}: line {}: not a results row (no Seq or Stdout)",
                shown(path),
                i + 1
            )));
        }
        width = width.max(values.len());
        // hrun's rows name the values (`--header :`) in `value_names`; GNU's have no such key.
        if names.is_empty()
            && let Some(n) = v["value_names"].as_array()
        {
            names = n.iter().map(|x| x.as_str().unwrap_or_default().to_string()).collect();
        }
        rows.push(TableRow {
            seq: text("Seq"),
            runtime: text("JobRuntime"),
            exit: text("Exitval"),
            signal: text("Signal"),
            values,
            stdout: text("Stdout"),
        });
    }
    let names = (0..width).map(|i| names.get(i).cloned().unwrap_or_else(|| format!("V{}", i + 1))).collect();
    Ok(TableRows { names, rows })
}

/// A run log: its latest sweep's table (`--results FILE`) if that run wrote one, else its
/// finished tasks' `--output-dir` files; a log of a run that kept no output is refused.
pub fn read_log(path: &Path, bad: Bad) -> Result<Sweep> {
    let mut reader = crate::log::read::Reader::open(path).map_err(UsageError)?;
    let mut table = None;
    let mut output_dir = None;
    let mut names = Vec::new();
    let mut tasks: std::collections::BTreeMap<(u64, String), TaskRecord> = Default::default();
    let mut runs = 0;
    while let Some(record) = reader.next_record()? {
        match record {
            Record::Run(run) => {
                runs += 1;
                if !run.resume {
                    tasks.clear();
                    table = None;
                    output_dir = None;
                    names = run.value_names.clone().unwrap_or_default();
                }
                table = run.results.or(table);
                output_dir = run.output_dir.or(output_dir);
            }
            Record::Task(t) if t.outcome().finished() => {
                tasks.insert((t.seq, t.hash.clone()), *t);
            }
            _ => {}
        }
    }
    if runs == 0 {
        return Err(usage(format!("{} holds no hrun run", shown(path))));
    }
    if let Some(t) = table.filter(|t| !crate::results::Target::is_stdout(t)) {
        return read_table(&t, bad);
    }
    let Some(dir) = output_dir else {
        return Err(usage(format!(
            "{}: the run log holds no task output (it has no stdout); reduce the run's --results table, \
             or run with --results FILE.csv or --output-dir DIR",
            shown(path)
        )));
    };
    let width = tasks.values().map(|t| t.values.as_ref().map_or(0, Vec::len)).max().unwrap_or(0);
    let mut sweep = Sweep {
        names: (0..width).map(|i| names.get(i).cloned().unwrap_or_else(|| format!("V{}", i + 1))).collect(),
        ..Sweep::default()
    };
    for t in tasks.into_values() {
        let file = dir.join(format!("{}.out", t.seq));
        let origin = shown(&file);
        let read = if t.exit != Some(0) || t.signal.is_some() {
            Err(format!("task {} failed (exit {:?}, signal {:?})", t.seq, t.exit, t.signal))
        } else {
            crate::smallfile::read(&file, MAX_TASK_FILE)
                .map_err(|e| format!("cannot read: {e}"))
                .and_then(|text| parse::fields(&text, "Stdout"))
        };
        match read {
            Ok(mut fields) => {
                fields.push(("JobRuntime".into(), format!("{:.3}", t.wall_s)));
                let mut params = t.values.unwrap_or_default();
                params.resize(width, String::new());
                sweep.tasks.push(Task { origin, params, fields });
            }
            Err(why) => bad.meet(&format!("{origin}: {why}"), &mut sweep.skipped)?,
        }
    }
    Ok(sweep)
}

/// Every regular file in `dir` not starting with `.`, in natural order: one task each. A
/// directory holding `<seq>.out` files is an `--output-dir` (hrun's or GNU parallel's): its
/// `.out` files are the tasks' results and their `.err` files (standard error) are not read.
pub fn read_dir(dir: &Path, bad: Bad) -> Result<Sweep> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| usage(format!("cannot read results directory {}: {e}", shown(dir))))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| !p.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.')) && !p.is_dir())
        .collect();
    if files.iter().any(|f| task_output_file(f) == Some("out")) {
        files.retain(|f| task_output_file(f) != Some("err"));
    }
    files.sort_by_cached_key(|p| super::natural_key(p));
    if files.is_empty() {
        return Err(usage(format!(
            "no result files (*.toml) in {}, nor any per-task file (a number, key = value lines, a JSON \
             object or a CSV header and row); run the tasks first (hrun exec) or check the path",
            shown(dir)
        )));
    }
    let mut sweep = Sweep::default();
    for file in files {
        let read = crate::smallfile::read(&file, MAX_TASK_FILE)
            .map_err(|e| format!("cannot read: {e}"))
            .and_then(|text| parse::fields(&text, "value"));
        match read {
            Ok(fields) => sweep.tasks.push(Task { origin: shown(&file), params: Vec::new(), fields }),
            Err(why) => bad.meet(&format!("{}: {why}", shown(&file)), &mut sweep.skipped)?,
        }
    }
    Ok(sweep)
}

/// `out` or `err` for a task's output file in an `--output-dir` (`12.out`, `12.err`).
fn task_output_file(path: &Path) -> Option<&str> {
    let (stem, ext) = (path.file_stem()?.to_str()?, path.extension()?.to_str()?);
    (!stem.is_empty() && stem.bytes().all(|b| b.is_ascii_digit()) && matches!(ext, "out" | "err"))
        .then_some(ext)
}

/// One group's numbers for one field. JSON keys are a public interface.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Summary {
    /// The grouping names and this group's values, in `--by` order.
    pub group: Vec<(String, String)>,
    pub field: String,
    pub n: u64,
    pub mean: f64,
    /// Sample standard deviation (n - 1); `None` for one value.
    pub sd: Option<f64>,
    /// `sd / sqrt(n)`.
    pub se: Option<f64>,
    pub min: f64,
    pub max: f64,
}

/// n, mean, sd, se, min, max of `xs` (not empty).
pub fn describe(xs: &[f64]) -> (f64, Option<f64>, Option<f64>, f64, f64) {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let sd = (xs.len() > 1).then(|| (xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt());
    let se = sd.map(|s| s / n.sqrt());
    let min = xs.iter().copied().fold(f64::INFINITY, f64::min);
    let max = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    (mean, sd, se, min, max)
}

/// The grouping: `--by` names (empty: one group), else every parameter but the last.
pub fn grouping(sweep: &Sweep, by: Option<&[String]>) -> Vec<String> {
    match by {
        Some(names) => names.to_vec(),
        None => sweep.names[..sweep.names.len().saturating_sub(1)].to_vec(),
    }
}

/// Groups the tasks by `by` (parameter names, else text fields of the tasks) and summarises
/// every other field, which must be a number. Groups and fields in the order first seen.
pub fn summarise(sweep: &mut Sweep, by: &[String], bad: Bad) -> Result<Vec<Summary>> {
    let field_names: Vec<&str> =
        sweep.tasks.iter().flat_map(|t| t.fields.iter().map(|(k, _)| k.as_str())).collect();
    for name in by {
        if !sweep.names.contains(name) && !field_names.contains(&name.as_str()) {
            let mut known: Vec<String> = sweep.names.clone();
            for f in &field_names {
                if !known.iter().any(|k| k == f) {
                    known.push(f.to_string());
                }
            }
            return Err(usage(format!(
                "--by {}: no such parameter or field (there are: {})",
                printable(name),
                printable(&known.join(", "))
            )));
        }
    }
    for name in by.iter().filter(|n| sweep.names.contains(n) && field_names.contains(&n.as_str())) {
        crate::messages::note(format_args!(
            "--by {0}: {0} is a parameter and also a field of the tasks' output; grouped by the parameter",
            printable(name)
        ));
    }
    let mut groups: Vec<Vec<String>> = Vec::new();
    let mut values: HashMap<(usize, String), Vec<f64>> = HashMap::new();
    let mut order: Vec<(usize, String)> = Vec::new();
    'task: for task in &sweep.tasks {
        let key: Vec<String> = by
            .iter()
            .map(|name| match sweep.names.iter().position(|n| n == name) {
                Some(i) => task.params.get(i).cloned().unwrap_or_default(),
                None => {
                    task.fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap_or_default()
                }
            })
            .collect();
        let mut numbers = Vec::new();
        for (k, v) in task.fields.iter().filter(|(k, _)| !by.contains(k)) {
            match parse::number(v) {
                Some(x) => numbers.push((k.clone(), x)),
                None => {
                    let k = printable(k);
                    let what = format!(
                        "{}: {k} = {:?}: not a number (group on it with --by {k}, or leave it out)",
                        task.origin,
                        printable(v).as_ref()
                    );
                    bad.meet(&what, &mut sweep.skipped)?;
                    continue 'task;
                }
            }
        }
        let g = groups.iter().position(|g| *g == key).unwrap_or_else(|| {
            groups.push(key);
            groups.len() - 1
        });
        for (k, x) in numbers {
            let slot = (g, k);
            if !values.contains_key(&slot) {
                order.push(slot.clone());
            }
            values.entry(slot).or_default().push(x);
        }
    }
    order.sort_by_key(|(g, _)| *g);
    Ok(order
        .into_iter()
        .map(|slot| {
            let xs = &values[&slot];
            let (mean, sd, se, min, max) = describe(xs);
            Summary {
                group: by.iter().cloned().zip(groups[slot.0].iter().cloned()).collect(),
                field: slot.1,
                n: xs.len() as u64,
                mean,
                sd,
                se,
                min,
                max,
            }
        })
        .collect())
}

/// A number for a person: up to 6 significant digits, plain unless very large or small.
pub fn plain(x: f64) -> String {
    if x == 0.0 || (1e-4..1e9).contains(&x.abs()) {
        let digits = (5 - x.abs().log10().floor() as i32).clamp(0, 12) as usize;
        let s = format!("{x:.digits$}");
        if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_string() } else { s }
    } else {
        format!("{x:.5e}")
    }
}

/// The columns after the group's: the field and its statistics.
const STATS: [&str; 7] = ["field", "n", "mean", "sd", "se", "min", "max"];

/// The group columns' names; one named as a statistics column (a parameter `n`) is `by:n`, so
/// that no two columns share a name (a CSV reader keyed by name would lose one).
fn group_heads(by: &[String]) -> Vec<String> {
    by.iter().map(|b| if STATS.contains(&b.as_str()) { format!("by:{b}") } else { b.clone() }).collect()
}

/// The terminal table: a line per group and field, columns aligned.
pub fn render(by: &[String], rows: &[Summary]) -> String {
    let mut head: Vec<String> = group_heads(by);
    head.extend(STATS.map(String::from));
    let opt = |x: Option<f64>| x.map_or("-".to_string(), plain);
    let mut lines: Vec<Vec<String>> = vec![head];
    for r in rows {
        let mut l: Vec<String> = r.group.iter().map(|(_, v)| printable(v).into_owned()).collect();
        l.push(printable(&r.field).into_owned());
        l.extend([r.n.to_string(), plain(r.mean), opt(r.sd), opt(r.se), plain(r.min), plain(r.max)]);
        lines.push(l);
    }
    let widths: Vec<usize> =
        (0..lines[0].len()).map(|c| lines.iter().map(|l| l[c].chars().count()).max().unwrap_or(0)).collect();
    let mut out = String::new();
    for l in &lines {
        let cells: Vec<String> = l.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        out += cells.join("  ").trim_end();
        out.push('\n');
    }
    out
}

/// `--csv`: a header, then a row per group and field (numbers in full precision).
pub fn render_csv(by: &[String], rows: &[Summary]) -> String {
    let cell = |s: &str| {
        let mut b = Vec::new();
        crate::results::csv_field(s.as_bytes(), &mut b);
        String::from_utf8_lossy(&b).into_owned()
    };
    let mut head: Vec<String> = group_heads(by).iter().map(|b| cell(b)).collect();
    head.extend(STATS.map(String::from));
    let mut out = head.join(",") + "\n";
    let opt = |x: Option<f64>| x.map_or(String::new(), |x| x.to_string());
    for r in rows {
        let mut l: Vec<String> = r.group.iter().map(|(_, v)| cell(v)).collect();
        l.push(cell(&r.field));
        l.extend([
            r.n.to_string(),
            r.mean.to_string(),
            opt(r.sd),
            opt(r.se),
            r.min.to_string(),
            r.max.to_string(),
        ]);
        out += &(l.join(",") + "\n");
    }
    out
}

/// `--json`: `{"by": [...], "groups": [{"group": {name: value}, "field", "n", "mean", "sd",
/// "se", "min", "max"}], "skipped": N}`.
pub fn render_json(by: &[String], rows: &[Summary], skipped: u64) -> String {
    let groups: Vec<serde_json::Value> = rows
        .iter()
        .map(|r| {
            let group: serde_json::Map<String, serde_json::Value> =
                r.group.iter().map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone()))).collect();
            serde_json::json!({
                "group": group, "field": r.field, "n": r.n, "mean": r.mean, "sd": r.sd, "se": r.se,
                "min": r.min, "max": r.max,
            })
        })
        .collect();
    serde_json::json!({ "by": by, "groups": groups, "skipped": skipped }).to_string() + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describe_matches_the_textbook() {
        let (mean, sd, se, min, max) = describe(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]);
        assert_eq!(mean, 5.0);
        // Sum of squares 32 over n - 1 = 7.
        assert!((sd.unwrap() - (32.0f64 / 7.0).sqrt()).abs() < 1e-12);
        assert!((se.unwrap() - (32.0f64 / 7.0).sqrt() / 8f64.sqrt()).abs() < 1e-12);
        assert_eq!((min, max), (2.0, 9.0));
        assert_eq!(describe(&[3.0]).1, None);
    }

    #[test]
    fn a_parameter_named_as_a_statistic_gets_its_own_column_name() {
        // A sweep over `-n {n}` reduced --by n: two columns named n lost one in a CSV reader.
        let by = ["n".to_string(), "a".to_string()];
        assert_eq!(render_csv(&by, &[]), "by:n,a,field,n,mean,sd,se,min,max\n");
        assert!(render(&by, &[]).starts_with("by:n  a  field  n  mean"), "{}", render(&by, &[]));
    }

    #[test]
    fn plain_numbers() {
        assert_eq!(plain(7.4217), "7.4217");
        assert_eq!(plain(114.66666666), "114.667");
        assert_eq!(plain(0.0), "0");
        assert_eq!(plain(2.0), "2");
        assert_eq!(plain(-0.00125), "-0.00125");
        assert_eq!(plain(1.5e12), "1.50000e12");
    }

    fn task(params: &[&str], fields: &[(&str, &str)]) -> Task {
        Task {
            origin: "f".into(),
            params: params.iter().map(|s| s.to_string()).collect(),
            fields: fields.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        }
    }

    #[test]
    fn groups_by_all_but_the_last_parameter_by_default() {
        let mut s = Sweep {
            names: vec!["a".into(), "seed".into()],
            tasks: vec![
                task(&["1", "1"], &[("y", "1")]),
                task(&["1", "2"], &[("y", "3")]),
                task(&["2", "1"], &[("y", "10")]),
            ],
            skipped: 0,
        };
        let by = grouping(&s, None);
        assert_eq!(by, ["a"]);
        let rows = summarise(&mut s, &by, Bad { skip: false }).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!((rows[0].n, rows[0].mean, rows[0].min, rows[0].max), (2, 2.0, 1.0, 3.0));
        assert_eq!((rows[1].n, rows[1].mean, rows[1].sd), (1, 10.0, None));
    }

    #[test]
    fn a_text_field_is_bad_unless_grouped_on() {
        let mut s = Sweep { tasks: vec![task(&[], &[("model", "big"), ("y", "2")])], ..Sweep::default() };
        let e = summarise(&mut s.clone(), &[], Bad { skip: false }).unwrap_err().to_string();
        assert!(e.contains("f: model = \"big\": not a number (group on it with --by model"), "{e}");
        let rows = summarise(&mut s, &["model".to_string()], Bad { skip: false }).unwrap();
        assert_eq!(rows[0].group, vec![("model".to_string(), "big".to_string())]);
        assert!(summarise(&mut Sweep::default(), &["nope".into()], Bad { skip: false }).is_err());
    }
}
