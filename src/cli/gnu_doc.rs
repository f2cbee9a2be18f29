//! `docs/gnu-options.md`: GNU's option table ([`crate::gnu::table`]) as a page, with whether
//! `hrun exec` takes each option (a test holds the committed page to it, so the two cannot
//! drift apart).

use std::fmt::Write;

use crate::gnu::table::all;
use crate::gnu::{Answer, GnuOption, Kind, Repeats, Takes};

/// How many options (not names) have each answer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub options: usize,
    pub names: usize,
    pub accepted: usize,
    /// Of `accepted`: those `hrun exec` does not do yet (it refuses them, saying so).
    pub not_yet: usize,
    pub ignored: usize,
    pub refused: usize,
    /// Of `refused`: those GNU itself refuses.
    pub retired: usize,
}

pub fn counts() -> Counts {
    let mut c = Counts::default();
    for o in all() {
        c.options += 1;
        c.names += o.names.len();
        match o.answer {
            Answer::Accepted(_) => {
                c.accepted += 1;
                c.not_yet += usize::from(!done(o));
            }
            Answer::Ignored(_) => c.ignored += 1,
            Answer::Refused(_) => c.refused += 1,
            Answer::Retired(_) => {
                c.refused += 1;
                c.retired += 1
            }
        }
    }
    c
}

/// `hrun exec` takes the option: it does what GNU does with it.
fn done(o: &GnuOption) -> bool {
    let mut cli = super::Cli::documented();
    cli.build();
    cli.find_subcommand("exec").is_some_and(|exec| super::gnu_words::implemented(exec, o))
}

fn value(o: &GnuOption) -> String {
    let kind = |k| match k {
        Kind::Text => "text",
        Kind::Int => "integer",
        Kind::Float => "number",
        Kind::KeyValue => "KEY=VALUE",
    };
    let v = match o.takes {
        Takes::Nothing => String::new(),
        Takes::Required(k) => kind(k).to_string(),
        Takes::Optional(k) => format!("[{}]", kind(k)),
    };
    match (o.repeats, o.takes) {
        (Repeats::Each, Takes::Nothing) => "counted".to_string(),
        (Repeats::Each, _) => format!("{v}, each kept"),
        _ => v,
    }
}

fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

/// The page.
pub fn markdown() -> String {
    let c = counts();
    let mut out = String::from(
        "# GNU parallel's options in hrun\n\n\
         Generated from `src/gnu/table.rs` (`cargo test --lib cli::gnu_doc` fails when this page differs; \
         `HRUN_WRITE_DOCS=1` writes it). Every option of GNU parallel 20221122, with each of its \
         names, and what hrun does with it.\n\n\
         Written as GNU's option parser takes them: any unambiguous prefix of a long name (`--res`), \
         in any case, `--name=value` or `--name value`; one-letter options bundle (`-kj4`). Options \
         end at the command, at `:::`/`::::`, or at `--`.\n\n\
         **Two ways in.** `hrun exec` takes these options with hrun's own conventions beside them: \
         `-q` is `--quiet` and `-t` is `--threads` there (GNU's are `--quote` and `--verbose`), it \
         prints a summary, and it does not read GNU's profiles or `$PARALLEL`. hrun run as \
         `parallel` (a symlink named so on `PATH`: `ln -s \"$(command -v hrun)\" ~/bin/parallel`) \
         is GNU parallel's personality: GNU's meaning of every option (`-q`, `-t`), its profiles \
         (`~/.parallel/config`, `-J NAME`, `--plain`) and `$PARALLEL` read first, and on standard \
         output and standard error only what GNU prints (no summary, notes or warnings of hrun's; \
         errors still say `hrun: error:`), while every task still gets its slot, its rusage and \
         its record in the run log under `.hrun/` (`hrun status`).\n\n\
         - **accepted**: hrun does what GNU does with it;\n\
         - **not yet**: hrun is to do what GNU does with it, and until then refuses it, saying so;\n\
         - **ignored**: taken, and it changes nothing you can see in hrun;\n\
         - **refused**: hrun stops with the line shown, which says what to do instead;\n\
         - **retired**: GNU itself refuses it, and so does hrun.\n\n\
         `{= perl expression =}` replacement strings are not evaluated, so the options built on them \
         (`--parens`, `--rpl`, `--filter`) are refused.\n\n",
    );
    let _ = writeln!(
        out,
        "{} options ({} names): {} accepted, {} not yet, {} ignored, {} refused ({} of them retired by GNU).\n",
        c.options,
        c.names,
        c.accepted - c.not_yet,
        c.not_yet,
        c.ignored,
        c.refused,
        c.retired
    );
    out.push_str("| option | value | status | hrun |\n|---|---|---|---|\n");
    let mut rows: Vec<&GnuOption> = all().collect();
    rows.sort_by_key(|o| (o.name().trim_start_matches('_').to_ascii_lowercase(), o.name()));
    for o in rows {
        let names: Vec<String> = o.names.iter().map(|n| format!("`{}`", GnuOption::dashed(n))).collect();
        let (status, text) = match o.answer {
            Answer::Accepted(m) if !done(o) => ("not yet", m.describe()),
            Answer::Accepted(m) => ("accepted", m.describe()),
            Answer::Ignored(why) => ("ignored", why),
            Answer::Refused(why) => ("refused", why),
            Answer::Retired(line) => ("retired", line),
        };
        let clashes: String = o
            .names
            .iter()
            .filter_map(|n| super::gnu_words::clash(n).map(|m| format!(" (in hrun exec, `-{n}` is `{m}`)")))
            .collect();
        let _ = writeln!(out, "| {} | {} | {status} | {}{clashes} |", names.join(", "), value(o), cell(text));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = "docs/gnu-options.md";

    #[test]
    fn the_committed_page_is_the_table() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(PAGE);
        let want = markdown();
        if std::env::var_os("HRUN_WRITE_DOCS").is_some() {
            std::fs::write(&path, &want).unwrap();
        }
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            have == want,
            "{PAGE} differs from src/gnu/table.rs: run HRUN_WRITE_DOCS=1 cargo test --lib cli::gnu_doc"
        );
    }

    #[test]
    fn counts_add_up_and_every_option_has_a_row() {
        let c = counts();
        assert_eq!(c.accepted + c.ignored + c.refused, c.options);
        let page = markdown();
        for o in all() {
            for n in o.names {
                assert!(page.contains(&format!("`{}`", GnuOption::dashed(n))), "{n} has no row");
            }
        }
        assert_eq!(page.lines().filter(|l| l.starts_with("| `")).count(), c.options);
    }
}
