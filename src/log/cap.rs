//! Text from the input kept in a record (a task's line, the command it ran, its values) is
//! cut to a size the log's readers take: a 50 MB value once made a 105 MB record that
//! `status` and `--resume` skip as unreadable (over [`super::read::MAX_LINE`]), so the task
//! ran again on every `--resume`. The record keeps the text's head and how much was cut;
//! tasks are matched by the hash of their whole text, never by these fields.

/// The most bytes of one text field in a record.
pub const FIELD: usize = 1 << 20;
/// The most bytes of all of a task's values in a record.
pub const VALUES: usize = 4 << 20;

/// `s`, or its first bytes (at most `max`, on a character boundary) and a note of the rest.
pub fn text(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...[hrun: {} more bytes not logged]", &s[..end], s.len() - end)
}

/// The values, each cut to [`FIELD`] and all together to about [`VALUES`].
pub fn values(values: &[String]) -> Vec<String> {
    let mut left = VALUES;
    values
        .iter()
        .map(|v| {
            let v = text(v, FIELD.min(left));
            left = left.saturating_sub(v.len());
            v
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_text_is_kept_and_long_text_is_cut_with_a_note() {
        assert_eq!(text("abc", 3), "abc");
        assert_eq!(text("abcdef", 3), "abc...[hrun: 3 more bytes not logged]");
        // Never inside a character: "é" is two bytes.
        assert_eq!(text("aé", 2), "a...[hrun: 2 more bytes not logged]");
    }

    #[test]
    fn values_together_stay_under_the_budget() {
        let big = vec!["x".repeat(3 << 20); 10];
        let kept = values(&big);
        assert_eq!(kept.len(), 10);
        let total: usize = kept.iter().map(String::len).sum();
        assert!(total < VALUES + 10 * 64, "{total}");
        assert!(kept[0].starts_with(&"x".repeat(FIELD)) && kept[0].ends_with("not logged]"));
        assert_eq!(values(&["a".into(), "b".into()]), ["a", "b"]);
    }
}
