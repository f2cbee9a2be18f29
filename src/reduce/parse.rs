//! What one task wrote, as named fields: a file of its own or its captured standard output.
//! Pure: text in, fields out. The forms, tried in this order:
//!
//! - a number alone (`3.14`, `-2e-3`): one field, named by the caller (`value`, `Stdout`);
//! - a JSON object: its members that are numbers or strings, by name (nested values are passed over);
//! - a CSV (or TSV) header line and one row: a field per column;
//! - `key = value` (or `key: NUMBER`) lines, as TOML or a shell's `KEY=value` (several `k=v` words on
//!   one line too), and lines that are a number alone, among other lines of text (passed over): `#` comments and
//!   blank lines skipped, a `[section]` header makes `section.key`, quotes around a value dropped.
//!
//! Values stay text here; whether a field must be a number is the caller's rule (a grouping
//! field need not be).

/// A task's fields, in the order it wrote them.
pub type Fields = Vec<(String, String)>;

/// The fields of `text`; `single` names the field of a bare number. Why not, on one line.
pub fn fields(text: &str, single: &str) -> Result<Fields, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err("empty: no number in it".into());
    }
    if number(t).is_some() {
        return Ok(vec![(single.to_string(), t.to_string())]);
    }
    if t.starts_with('{') {
        return json_object(t);
    }
    let lines: Vec<&str> = t.lines().filter(|l| !l.trim().is_empty()).collect();
    if let Some(f) = header_and_row(&lines) {
        return Ok(f);
    }
    key_values(&lines, single)
}

/// `s` as a finite number, if it is one (`nan`, `inf` and hex are not).
pub fn number(s: &str) -> Option<f64> {
    let s = s.trim();
    let first = s.chars().next()?;
    if !(first.is_ascii_digit() || matches!(first, '-' | '+' | '.')) {
        return None;
    }
    s.parse::<f64>().ok().filter(|x| x.is_finite())
}

fn json_object(t: &str) -> Result<Fields, String> {
    let v: serde_json::Value = serde_json::from_str(t).map_err(|e| format!("not JSON: {e}"))?;
    let serde_json::Value::Object(map) = v else { return Err("JSON, but not an object".into()) };
    let mut out = Fields::new();
    for (k, v) in map {
        match v {
            serde_json::Value::Number(n) => out.push((k, n.to_string())),
            serde_json::Value::String(s) => out.push((k, s)),
            _ => {}
        }
    }
    if out.is_empty() {
        return Err("a JSON object with no number or text member".into());
    }
    Ok(out)
}

/// Two lines, the same number (at least 2) of comma- or tab-separated cells, the first of
/// names (none a number), the second with a number in it.
fn header_and_row(lines: &[&str]) -> Option<Fields> {
    let [head, row] = lines else { return None };
    let sep = if head.contains('\t') { '\t' } else { ',' };
    if head.contains('=') {
        return None;
    }
    let names = split_line(head, sep);
    let cells = split_line(row, sep);
    let plausible = names.len() >= 2
        && names.len() == cells.len()
        && names.iter().all(|n| !n.is_empty() && number(n).is_none())
        && cells.iter().any(|c| number(c).is_some());
    plausible.then(|| names.into_iter().zip(cells).collect())
}

/// One line's cells, quotes as CSV has them.
fn split_line(line: &str, sep: char) -> Vec<String> {
    parse_delimited(line, sep).ok().and_then(|mut r| r.pop()).unwrap_or_default()
}

/// `key = value` lines (several `k=v` words on one line too) and lines that are a number alone
/// (the first named `single`, the next `single2`...): what a program prints among other text.
/// A line that is neither (a banner, `Using 4 threads`, a `key: text` line of prose) is passed
/// over, but a text with no number in any field is an error naming its first such line.
fn key_values(lines: &[&str], single: &str) -> Result<Fields, String> {
    let mut out = Fields::new();
    let mut section = String::new();
    let mut passed_over: Option<(usize, &str)> = None;
    let mut plain = 0;
    for (i, line) in lines.iter().enumerate() {
        let l = line.trim();
        if l.starts_with('#') {
            continue;
        }
        if l.starts_with('[') && l.ends_with(']') {
            section = l.trim_matches(|c| c == '[' || c == ']').trim().to_string();
            continue;
        }
        let named = |key: &str| if section.is_empty() { key.to_string() } else { format!("{section}.{key}") };
        if number(l).is_some() {
            plain += 1;
            let name = if plain == 1 { single.to_string() } else { format!("{single}{plain}") };
            out.push((name, l.to_string()));
            continue;
        }
        if let Some(pairs) = several_pairs(l) {
            out.extend(pairs.into_iter().map(|(k, v)| (named(&k), v)));
            continue;
        }
        match key_value(l) {
            Some((key, value)) => out.push((named(&key), value)),
            None => {
                passed_over.get_or_insert((i, l));
            }
        }
    }
    let any_number = out.iter().any(|(_, v)| number(v).is_some());
    match passed_over {
        Some((i, l)) if out.is_empty() || !any_number => Err(format!(
            "line {}: {:?} is neither a number, key = value, a JSON object nor a CSV header and row{}",
            i + 1,
            crate::text::printable_max(l, 80),
            if out.is_empty() { "" } else { ", and no other line gives a number" }
        )),
        _ if out.is_empty() => Err("no field in it".into()),
        _ => Ok(out),
    }
}

/// `key = value`, `KEY=value`, `export KEY=value` or `key: NUMBER`, without a comment or the
/// quotes around the value. A key of several words is prose (`Using model = big`) unless its
/// value is a number; a `:` line whose value is not a number is prose (`Note: starting`).
fn key_value(l: &str) -> Option<(String, String)> {
    let (at, colon) = match l.find('=') {
        Some(at) => (at, false),
        None => (l.find(':')?, true),
    };
    if at == 0 {
        return None;
    }
    let key = l[..at].trim();
    let key = key.strip_prefix("export ").unwrap_or(key).trim();
    let value = l[at + 1..].split(" #").next().unwrap_or("").trim();
    let value = value.trim_matches('"').trim_matches('\'');
    let is_number = number(value).is_some();
    if key.is_empty() || (colon && !is_number) || (key.contains(char::is_whitespace) && !is_number) {
        return None;
    }
    Some((key.to_string(), value.to_string()))
}

/// `pi=3.141 err=0.01`: two or more words, each `key=value` with no blank around the `=`.
fn several_pairs(l: &str) -> Option<Vec<(String, String)>> {
    let words: Vec<&str> = l.split_whitespace().collect();
    if words.len() < 2 {
        return None;
    }
    words
        .iter()
        .map(|w| {
            let (k, v) = w.split_once('=')?;
            (!k.is_empty() && !v.is_empty())
                .then(|| (k.to_string(), v.trim_matches('"').trim_matches('\'').to_string()))
        })
        .collect()
}

/// CSV or TSV text (GNU parallel's quoting: a field in double quotes may hold the separator,
/// newlines and doubled quotes) as records of fields. A quote left open is an error.
pub fn parse_delimited(text: &str, sep: char) -> Result<Vec<Vec<String>>, String> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    let mut any = false;
    while let Some(c) = chars.next() {
        any = true;
        if quoted {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    field.push('"');
                    chars.next();
                } else {
                    quoted = false;
                }
            } else {
                field.push(c);
            }
        } else if c == '"' {
            quoted = true;
        } else if c == sep {
            row.push(std::mem::take(&mut field));
        } else if c == '\n' {
            row.push(std::mem::take(&mut field));
            rows.push(std::mem::take(&mut row));
            any = false;
        } else if c != '\r' || chars.peek() != Some(&'\n') {
            field.push(c);
        }
    }
    if quoted {
        return Err("a quoted field is not closed".into());
    }
    if any {
        row.push(field);
        rows.push(row);
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(t: &str) -> Fields {
        fields(t, "value").unwrap()
    }

    fn kv(pairs: &[(&str, &str)]) -> Fields {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn each_form_gives_its_fields() {
        assert_eq!(f(" 3.5\n"), kv(&[("value", "3.5")]));
        assert_eq!(f("-2e-3"), kv(&[("value", "-2e-3")]));
        assert_eq!(f("{\"pi\": 3.1, \"name\": \"x\", \"l\": [1]}"), kv(&[("name", "x"), ("pi", "3.1")]));
        assert_eq!(f("energy,steps\n-1.5,100\n"), kv(&[("energy", "-1.5"), ("steps", "100")]));
        assert_eq!(f("a\tb\n1\t2"), kv(&[("a", "1"), ("b", "2")]));
        assert_eq!(
            f("# run\nenergy = -1.5\nmodel = \"big\"\n[time]\nwall: 2 # s\n"),
            kv(&[("energy", "-1.5"), ("model", "big"), ("time.wall", "2")])
        );
        assert_eq!(f("export N=3\nE=4"), kv(&[("N", "3"), ("E", "4")]));
    }

    /// Issue 26: a banner before `pi = ...` made every task bad, and `pi=3.141 err=0.01` was
    /// read as pi = "3.141 err=0.01".
    #[test]
    fn program_output_with_text_lines_and_several_pairs_a_line() {
        assert_eq!(f("Using 4 threads\npi = 3.1415\n"), kv(&[("pi", "3.1415")]));
        assert_eq!(f("pi=3.141 err=0.01\n"), kv(&[("pi", "3.141"), ("err", "0.01")]));
        assert_eq!(
            f("Note: starting\nRunning with n = 5\n3.5\ndone in 2 s\n4.5\n"),
            kv(&[("Running with n", "5"), ("value", "3.5"), ("value2", "4.5")])
        );
        let e = fields("Using 4 threads\nmodel = big\n", "v").unwrap_err();
        assert!(
            e.starts_with("line 1: \"Using 4 threads\" is neither a number") && e.contains("no other line"),
            "{e}"
        );
        let e = fields("Segmentation fault\ncore dumped\n", "v").unwrap_err();
        assert!(e.starts_with("line 1: \"Segmentation fault\" is neither"), "{e}");
    }

    #[test]
    fn what_is_no_form_is_said() {
        assert!(fields("", "v").unwrap_err().contains("empty"));
        assert!(fields("hello world", "v").unwrap_err().contains("\"hello world\" is neither a number"));
        assert!(fields("{oops", "v").unwrap_err().contains("not JSON"));
        assert!(fields("[1, 2]", "v").is_err());
    }

    #[test]
    fn numbers_are_finite_decimals() {
        for ok in ["1", "-1.5", "+2", ".5", "1e9", "3."] {
            assert!(number(ok).is_some(), "{ok}");
        }
        for bad in ["nan", "inf", "-inf", "0x10", "1,5", "", "abc", "1e999"] {
            assert!(number(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn delimited_text_with_quotes() {
        let rows = parse_delimited("a,b\n\"x,\"\"y\"\"\",\"two\nlines\"\n", ',').unwrap();
        assert_eq!(rows, vec![vec!["a", "b"], vec!["x,\"y\"", "two\nlines"]]);
        assert!(parse_delimited("\"open", ',').is_err());
        assert_eq!(parse_delimited("a\tb", '\t').unwrap(), vec![vec!["a", "b"]]);
    }
}
