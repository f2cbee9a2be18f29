//! Durations on the command line: `30s`, `500ms`, `2m`, `1h`, `1d`, `1.5s`, a bare number of
//! seconds, or several together (`1m30s`, `1d2h`, as GNU parallel's `--delay`), as `timeout(1)`
//! and Slurm users write them; at most [`MAX`], so that adding one to the clock can never
//! overflow mid-run.

use std::time::Duration;

/// The longest duration hrun accepts (a timeout, grace, interval or margin): one year, far
/// beyond any job's time limit, and far below what `Instant + Duration` can hold.
pub const MAX: Duration = Duration::from_secs(365 * 24 * 3600);

/// Parses a duration; the error names the value and the accepted forms.
pub fn parse(text: &str) -> Result<Duration, String> {
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err(bad(text));
    }
    let mut total = 0.0;
    while !rest.is_empty() {
        let split = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        let (number, after) = rest.split_at(split);
        let unit_len = after.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(after.len());
        let (unit, next) = after.split_at(unit_len);
        let scale = match unit {
            "" | "s" => 1.0,
            "ms" => 1e-3,
            "m" | "min" => 60.0,
            "h" => 3600.0,
            "d" => 86400.0,
            _ => return Err(bad(text)),
        };
        // A unitless number only alone: `1m30` is not a duration.
        if unit.is_empty() && total > 0.0 {
            return Err(bad(text));
        }
        let value: f64 = number.parse().map_err(|_| bad(text))?;
        if !value.is_finite() {
            return Err(bad(text));
        }
        total += value * scale;
        rest = next;
    }
    if total > MAX.as_secs_f64() {
        return Err(format!("invalid duration {text:?}: at most 1 year (8760h)"));
    }
    Duration::try_from_secs_f64(total).map_err(|_| bad(text))
}

fn bad(text: &str) -> String {
    format!(
        "invalid duration {text:?}: write a non-negative number with an optional unit ms, s, m, h or d \
         (e.g. 30s, 1m30s)"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted_forms() {
        assert_eq!(parse("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse("30"), Ok(Duration::from_secs(30)));
        assert_eq!(parse("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse("0"), Ok(Duration::ZERO));
        assert_eq!(parse("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse("1d2h"), Ok(Duration::from_secs(93600)));
        assert_eq!(parse("1h0.5m"), Ok(Duration::from_secs(3630)));
    }

    #[test]
    fn rejected_forms_name_the_value() {
        for bad in ["10x", "-5s", "", "s", "1..2s", "inf", "1e3", "1m30", "1ms2x", "m5"] {
            let e = parse(bad).unwrap_err();
            assert!(e.contains(&format!("{bad:?}")), "{bad}: {e}");
        }
    }

    #[test]
    fn durations_beyond_a_year_are_refused() {
        assert_eq!(parse("8760h"), Ok(MAX));
        assert_eq!(parse("525600m"), Ok(MAX));
        for huge in ["8760.001h", "4000000000000000h", "18446744073709551615", "99999999999999999999999ms"] {
            let e = parse(huge).unwrap_err();
            assert!(e.contains(&format!("{huge:?}")) && e.contains("at most 1 year"), "{huge}: {e}");
        }
        // What the clock meets stays representable.
        assert!(std::time::Instant::now().checked_add(MAX).is_some());
    }
}
