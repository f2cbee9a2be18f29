//! Slurm's host lists (`SLURM_JOB_NODELIST`, `-w`): `node[1-3,5],gpu07,rack[1-2]n[01-02]`
//! expanded into names, in order. Pure.

/// The names `list` stands for, in its order. Brackets hold comma-separated numbers and
/// ranges; a range keeps the width of its first number (`[08-10]`: 08, 09, 10); several
/// brackets in one name multiply out, the first varying slowest.
pub fn expand(list: &str) -> Result<Vec<String>, String> {
    let mut names = Vec::new();
    for word in split_top(list)? {
        if word.is_empty() {
            continue;
        }
        names.extend(expand_word(word)?);
    }
    Ok(names)
}

/// `list` cut at the commas outside brackets.
fn split_top(list: &str) -> Result<Vec<&str>, String> {
    let (mut words, mut depth, mut from) = (Vec::new(), 0usize, 0);
    for (i, c) in list.char_indices() {
        match c {
            '[' if depth == 0 => depth = 1,
            ']' if depth == 1 => depth = 0,
            '[' | ']' => return Err(format!("{list:?}: brackets do not match")),
            ',' if depth == 0 => {
                words.push(list[from..i].trim());
                from = i + 1;
            }
            _ => {}
        }
    }
    if depth != 0 {
        return Err(format!("{list:?}: a bracket is not closed"));
    }
    words.push(list[from..].trim());
    Ok(words)
}

fn expand_word(word: &str) -> Result<Vec<String>, String> {
    let Some(open) = word.find('[') else { return Ok(vec![word.to_string()]) };
    let close = open + word[open..].find(']').ok_or_else(|| format!("{word:?}: a bracket is not closed"))?;
    let (head, inner, rest) = (&word[..open], &word[open + 1..close], &word[close + 1..]);
    let tails = expand_word(rest)?;
    let mut out = Vec::new();
    for part in inner.split(',') {
        for number in range(part).map_err(|e| format!("{word:?}: {e}"))? {
            out.extend(tails.iter().map(|t| format!("{head}{number}{t}")));
        }
    }
    Ok(out)
}

/// The numbers of `a` or `a-b`, each as wide as `a` is written.
fn range(part: &str) -> Result<Vec<String>, String> {
    let (lo, hi) = part.split_once('-').unwrap_or((part, part));
    let parse = |s: &str| -> Result<u64, String> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("{part:?} is not a number or a range of numbers"));
        }
        s.parse().map_err(|_| format!("{part:?} is too large"))
    };
    let (a, b) = (parse(lo)?, parse(hi)?);
    if b < a || b - a > 1_000_000 {
        return Err(format!("{part:?} is not a range from low to high"));
    }
    let width = lo.len();
    Ok((a..=b).map(|n| format!("{n:0width$}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &str) -> Vec<String> {
        expand(list).unwrap()
    }

    #[test]
    fn slurms_lists_expand_in_order() {
        assert_eq!(names("node1"), ["node1"]);
        assert_eq!(names("node[1-3]"), ["node1", "node2", "node3"]);
        assert_eq!(names("node[1-2,5],login"), ["node1", "node2", "node5", "login"]);
        assert_eq!(names("cn[08-10]"), ["cn08", "cn09", "cn10"]);
        assert_eq!(names("r[1-2]n[01-02]"), ["r1n01", "r1n02", "r2n01", "r2n02"]);
        assert_eq!(names("a[1]-ib,b"), ["a1-ib", "b"]);
        assert_eq!(names(""), Vec::<String>::new());
    }

    #[test]
    fn bad_lists_are_named() {
        for bad in ["node[1-3", "node1-3]", "node[3-1]", "node[a-b]", "node[1-]", "n[[1]]"] {
            let e = expand(bad).unwrap_err();
            assert!(
                e.contains(bad) || e.contains("1-") || e.contains("3-1") || e.contains("a-b"),
                "{bad}: {e}"
            );
        }
    }
}
