//! GNU parallel's `--csv`: values read as CSV records. A record may span lines (a quoted field
//! holding a newline): lines are joined while the record holds an odd number of `"`, as GNU
//! does; a record's fields are then its columns `{1} {2} ...` (Text::CSV's reading with
//! `binary`: `"` quotes a field, `""` inside one is a `"`).
//!
//! Hand-written rather than the `csv` crate: the records come from hrun's own value reader
//! (GNU's rule for where a record ends works on its lines), so only one record's fields are
//! parsed here, a few lines the crate would not shorten, and no dependency is added.

use std::os::fd::RawFd;

use super::sources::{SourceError, Trim, Values};

/// `--csv`: values joined (with the delimiter between them) while a quote is open.
pub(super) struct Records {
    values: Box<dyn Values>,
    delimiter: String,
}

impl Values for Records {
    fn next(&mut self) -> Result<Option<String>, SourceError> {
        let Some(mut record) = self.values.next()? else { return Ok(None) };
        while open_quote(&record) {
            match self.values.next()? {
                Some(more) => {
                    record.push_str(&self.delimiter);
                    record.push_str(&more);
                }
                None => break,
            }
        }
        Ok(Some(record))
    }
    fn ready(&self) -> bool {
        self.values.ready()
    }
    fn watch_fd(&self) -> Option<RawFd> {
        self.values.watch_fd()
    }
}

impl Records {
    pub(super) fn new(values: Box<dyn Values>, delimiter: &[u8]) -> Records {
        Records { values, delimiter: String::from_utf8_lossy(delimiter).into() }
    }
}

/// One record's fields, each trimmed: its columns.
pub(super) fn columns(record: &str, sep: char, trim: Trim) -> Vec<String> {
    fields(record, sep).iter().map(|f| trim.apply(f).to_string()).collect()
}

/// The fields of one CSV `record`, separated by `sep`. Lenient where Text::CSV would refuse
/// (text after a closing quote is kept, an unclosed quote runs to the end).
pub fn fields(record: &str, sep: char) -> Vec<String> {
    let mut out = Vec::new();
    let mut field = String::new();
    let mut chars = record.chars().peekable();
    let mut at_start = true;
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted => {
                if chars.peek() == Some(&'"') {
                    chars.next();
                    field.push('"');
                } else {
                    quoted = false;
                }
            }
            '"' if at_start => quoted = true,
            c if c == sep && !quoted => {
                out.push(std::mem::take(&mut field));
                at_start = true;
                continue;
            }
            c => field.push(c),
        }
        at_start = false;
    }
    out.push(field);
    out
}

/// True when `text` holds an odd number of `"`: a record that goes on after it (GNU's test).
pub fn open_quote(text: &str) -> bool {
    text.bytes().filter(|b| *b == b'"').count() % 2 == 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_fields_hold_separators_quotes_and_newlines() {
        assert_eq!(fields("a,b,,c", ','), ["a", "b", "", "c"]);
        assert_eq!(
            fields("\"2\"\"x3\"\" board\",\"Value with ,\",Column 3", ','),
            ["2\"x3\" board", "Value with ,", "Column 3"]
        );
        assert_eq!(fields("\"new\nline\",x", ','), ["new\nline", "x"]);
        assert_eq!(fields("a\tb", '\t'), ["a", "b"]);
        assert_eq!(fields("", ','), [""]);
        // Lenient: a quote inside an unquoted field is text.
        assert_eq!(fields("a\"b,c", ','), ["a\"b", "c"]);
    }

    #[test]
    fn a_record_goes_on_while_a_quote_is_open() {
        assert!(open_quote("\"col1\"\"x3\"\"\",\"new"));
        assert!(!open_quote("a,\"b\""));
    }
}
