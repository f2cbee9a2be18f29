//! Identical tasks: commands that differ only in their numeric arguments (seeds, indices) do
//! the same kind of work, so pinned ones should take the same time. What a wide spread of
//! their wall times means is said only from what the log shows.

/// A word that is entirely a number: `17`, `-3`, `0.5`, `1e9`.
fn is_number(word: &str) -> bool {
    let w = word.strip_prefix(['-', '+']).unwrap_or(word);
    let (mantissa, exponent) = match w.find(['e', 'E']) {
        Some(i) => (&w[..i], Some(&w[i + 1..])),
        None => (w, None),
    };
    let digits = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
    let mantissa_ok = match mantissa.split_once('.') {
        Some((a, b)) => {
            (digits(a) || a.is_empty()) && (digits(b) || b.is_empty()) && !(a.is_empty() && b.is_empty())
        }
        None => digits(mantissa),
    };
    mantissa_ok && exponent.is_none_or(|e| digits(e.strip_prefix(['-', '+']).unwrap_or(e)))
}

/// The command with its numeric arguments masked as `#`: a word that is entirely a number,
/// the value of `NAME=NUMBER` (`--x=12`), and, inside other words, a run of digits that is
/// exactly one of those numbers (`--seed 17 -o r/mc_pi_17.toml`: the path carries the
/// argument). Other digits inside a word are kept: `ex04/run.sh` is not `ex05/run.sh`.
#[cfg(test)]
fn kind_of(cmd: &str) -> String {
    kind_with(cmd, |_, _| true)
}

/// The kinds of the tasks' commands: as [`kind_of`], but a run of digits inside a word is
/// masked only where it varies between the tasks (the `k`th run of the `i`th word is not the
/// same in every command). Digits every task has in the same place (`python3`, a directory
/// `walk2`, `hg38`) are the program, not an argument: masking them when a seed happened to
/// equal them split one group in two (issue 26: `python3 -c pass {} ::: 1 2 3 4` showed 3 of 4).
pub fn kinds_of(cmds: &[&str]) -> Vec<String> {
    let runs: Vec<Vec<Vec<&str>>> = cmds.iter().map(|c| c.split(' ').map(digit_runs).collect()).collect();
    let constant = |i: usize, k: usize| {
        let first = runs.first().and_then(|w| w.get(i)).and_then(|r| r.get(k));
        runs.iter().all(|w| w.get(i).and_then(|r| r.get(k)) == first)
    };
    cmds.iter().map(|c| kind_with(c, |i, k| !constant(i, k))).collect()
}

/// The runs of digits of `word`, in order.
fn digit_runs(word: &str) -> Vec<&str> {
    word.split(|c: char| !c.is_ascii_digit()).filter(|r| !r.is_empty()).collect()
}

/// [`kind_of`], masking the `k`th run of digits of the `i`th word only when `varies(i, k)`.
fn kind_with(cmd: &str, varies: impl Fn(usize, usize) -> bool) -> String {
    let words: Vec<&str> = cmd.split(' ').collect();
    let mut masked: Vec<&str> = Vec::new();
    for w in &words {
        if is_number(w) {
            masked.push(w.trim_start_matches(['-', '+']));
        } else if let Some((_, v)) = w.split_once('=')
            && is_number(v)
        {
            masked.push(v.trim_start_matches(['-', '+']));
        }
    }
    let out: Vec<String> = words
        .iter()
        .enumerate()
        .map(|(i, w)| {
            if is_number(w) {
                "#".to_string()
            } else if let Some((name, v)) = w.split_once('=')
                && is_number(v)
            {
                format!("{name}=#")
            } else {
                mask_digit_runs(w, &masked, |k| varies(i, k))
            }
        })
        .collect();
    out.join(" ")
}

/// `word` with each maximal run of digits that is one of `numbers` replaced by `#`, where the
/// run (the `k`th) `varies(k)`.
fn mask_digit_runs(word: &str, numbers: &[&str], varies: impl Fn(usize) -> bool) -> String {
    let mut out = String::new();
    let mut run = String::new();
    let mut k = 0;
    let mut flush = |run: &mut String, out: &mut String| {
        if !run.is_empty() {
            out.push_str(if numbers.contains(&run.as_str()) && varies(k) { "#" } else { run });
            run.clear();
            k += 1;
        }
    };
    for c in word.chars() {
        if c.is_ascii_digit() {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

/// One identical task's numbers: wall time, CPU efficiency, and whether its slot shared CPUs.
#[derive(Clone, Copy, Debug)]
pub struct Sample {
    pub wall_s: f64,
    pub efficiency: f64,
    pub shared: bool,
}

/// A spread below this (max - min over the median) is even.
const EVEN: f64 = 0.10;

/// What the spread of a group's wall times shows. Competition for CPUs is named only where
/// the log shows it: the slots shared CPUs (`--jobs` above the slot count), or the slowest
/// task got markedly less CPU time per second of wall time than the fastest.
pub fn note(samples: &[Sample]) -> String {
    let Some(fast) = samples.iter().min_by(|a, b| a.wall_s.total_cmp(&b.wall_s)) else {
        return String::new();
    };
    let slow = samples.iter().max_by(|a, b| a.wall_s.total_cmp(&b.wall_s)).expect("not empty");
    let mut walls: Vec<f64> = samples.iter().map(|s| s.wall_s).collect();
    walls.sort_by(f64::total_cmp);
    let median = walls[walls.len() / 2];
    let spread = if median > 0.0 { (slow.wall_s - fast.wall_s) / median } else { 0.0 };
    let pct = |x: f64| format!("{:.0}%", 100.0 * x);
    if spread < EVEN {
        return "even".into();
    }
    if samples.iter().any(|s| s.shared) {
        return "slots shared CPUs (--jobs above the slot count): the tasks competed for them".into();
    }
    if fast.efficiency < 0.5 {
        return format!(
            "mostly waiting (CPU efficiency {} of the fastest): the spread is in what they waited for, not in the CPUs",
            pct(fast.efficiency)
        );
    }
    if slow.efficiency < 0.8 * fast.efficiency {
        return format!(
            "the slowest got CPU time for {} of its wall time, the fastest for {}: something else ran on their CPUs",
            pct(slow.efficiency),
            pct(fast.efficiency)
        );
    }
    format!(
        "CPU time grew with wall time (CPU efficiency {} to {}): unequal work or unequal clock speeds, not waiting for CPUs",
        pct(slow.efficiency.min(fast.efficiency)),
        pct(slow.efficiency.max(fast.efficiency))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_whole_words() {
        for yes in ["17", "-3", "+2", "0.5", ".5", "5.", "1e9", "2.5E-3"] {
            assert!(is_number(yes), "{yes}");
        }
        for no in ["", "-", ".", "e9", "1e", "ex04", "04a", "1.2.3", "--seed", "0x10"] {
            assert!(!is_number(no), "{no}");
        }
    }

    /// Issue 15: `ex04` in a path was masked like a number, so exercise 4 and exercise 5 were
    /// "identical tasks".
    #[test]
    fn only_whole_numeric_arguments_are_masked() {
        assert_eq!(kind_of("./ex04/run.sh 3 --x=12 -n 1e6"), "./ex04/run.sh # --x=# -n #");
        assert_ne!(kind_of("./ex04/run.sh 3"), kind_of("./ex05/run.sh 3"));
        // A digit run that is one of the task's own arguments: the path carries the seed.
        assert_eq!(
            kind_of("mc -t 4 -n 100000000 --seed 17 -o r/mc_pi_17.toml"),
            "mc -t # -n # --seed # -o r/mc_pi_#.toml"
        );
        // ... but only the exact digits: `04` is not `4`.
        assert_eq!(kind_of("sim -t 4 data/ex04.csv"), "sim -t # data/ex04.csv");
        assert_eq!(kind_of("a"), "a");
    }

    /// Issue 26: `python3 -c pass 3` became `python# -c pass #`, apart from seeds 1, 2, 4.
    #[test]
    fn only_words_that_vary_have_digits_masked() {
        let cmds: Vec<String> = (1..=4).map(|i| format!("python3 -c pass {i}")).collect();
        let refs: Vec<&str> = cmds.iter().map(String::as_str).collect();
        assert!(kinds_of(&refs).iter().all(|k| k == "python3 -c pass #"), "{:?}", kinds_of(&refs));
        let cmds: Vec<String> = (1..=3).map(|i| format!("walk2/model -o walk2/r{i}.txt {i}")).collect();
        let refs: Vec<&str> = cmds.iter().map(String::as_str).collect();
        assert!(
            kinds_of(&refs).iter().all(|k| k == "walk2/model -o walk2/r#.txt #"),
            "{:?}",
            kinds_of(&refs)
        );
    }

    fn s(wall_s: f64, efficiency: f64, shared: bool) -> Sample {
        Sample { wall_s, efficiency, shared }
    }

    #[test]
    fn competition_for_cpus_is_named_only_with_evidence() {
        assert_eq!(note(&[s(1.0, 1.0, false), s(1.05, 1.0, false)]), "even");
        assert!(note(&[s(1.0, 1.0, true), s(2.0, 0.5, true)]).starts_with("slots shared CPUs"));
        assert!(
            note(&[s(1.0, 0.99, false), s(2.0, 0.5, false)]).contains("something else ran on their CPUs")
        );
        let unequal = note(&[s(1.0, 0.99, false), s(2.0, 0.98, false)]);
        assert!(unequal.starts_with("CPU time grew with wall time (CPU efficiency 98% to 99%)"), "{unequal}");
        assert!(note(&[s(0.1, 0.01, false), s(0.3, 0.0, false)]).starts_with("mostly waiting"));
    }
}
