//! GNU parallel's options that print something and run nothing, answered from the option
//! table: `--shell-completion` (GNU's bash completion, its words from [`super::table`]) and
//! `--bibtex`/`--citation`.

use super::table::OPTIONS;

/// `--shell-completion SHELL`'s text; `auto` is the shell hrun runs lines with (`shell`'s
/// name). GNU's bash text byte for byte (every name of its option table, in its order); zsh
/// (GNU prints a completion with descriptions) and other shells are refused with what to do.
pub fn completion(shell: &str, auto: &str) -> Result<String, String> {
    let shell = if shell == "auto" { auto } else { shell };
    match shell {
        "bash" => {
            let words: String = OPTIONS
                .iter()
                .flat_map(|o| o.names.iter())
                // GNU leaves its internal options (`--_parset`...) out.
                .filter(|n| !n.starts_with('_'))
                .map(|n| format!("{} ", super::GnuOption::dashed(n)))
                .collect();
            Ok(format!(
                "complete -F _comp_parallel parallel;_comp_parallel() {{ COMPREPLY=($(compgen -W \"{words}\" -- \
                 \"${{COMP_WORDS[$COMP_CWORD]}}\")); }};\n"
            ))
        }
        "zsh" => Err("--shell-completion zsh: hrun prints bash's completion only; in zsh: \
                      `autoload -U bashcompinit && bashcompinit && eval \"$(parallel --shell-completion bash)\"`"
            .to_string()),
        other => Err(format!("--shell-completion is not implemented for '{other}' (bash; zsh through bashcompinit)")),
    }
}

/// `--bibtex`/`--citation`: how to cite GNU parallel, whose interface hrun as `parallel`
/// takes (GNU prints this and asks the user to type `will cite`; hrun prints no notice to
/// silence, so it asks nothing).
pub fn citation() -> String {
    format!(
        "hrun takes the options of GNU parallel {v}. If it served work you publish, cite GNU parallel:\n\n\
         \x20 Tange, O. (2022, November 22). GNU Parallel 20221122 ('Херсо́н').\n\
         \x20 Zenodo. https://doi.org/10.5281/zenodo.7347980\n\n\
         @software{{tange_2022_7347980,\n\
         \x20     author       = {{Tange, Ole}},\n\
         \x20     title        = {{GNU Parallel 20221122 ('Херсо́н')}},\n\
         \x20     month        = Nov,\n\
         \x20     year         = 2022,\n\
         \x20     publisher    = {{Zenodo}},\n\
         \x20     doi          = {{10.5281/zenodo.7347980}},\n\
         \x20     url          = {{https://doi.org/10.5281/zenodo.7347980}}\n\
         }}\n",
        v = super::VERSION
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bash_completion_lists_every_name_in_gnus_order() {
        let text = completion("bash", "zsh").unwrap();
        assert!(text.starts_with("complete -F _comp_parallel parallel;_comp_parallel() { COMPREPLY=($(compgen -W \"--debug -D --xargs -m -X -v "), "{text}");
        assert!(
            text.ends_with(
                "--filter --shell-completion --shellcompletion \" -- \"${COMP_WORDS[$COMP_CWORD]}\")); };\n"
            ),
            "{text}"
        );
        assert!(!text.contains("--_"), "{text}");
        assert_eq!(completion("auto", "bash").unwrap(), text);
        assert!(completion("zsh", "bash").unwrap_err().contains("bashcompinit"));
        assert!(completion("fish", "bash").unwrap_err().contains("'fish'"));
    }

    #[test]
    fn citation_names_gnus_release() {
        assert!(citation().contains("doi          = {10.5281/zenodo.7347980}"));
        assert!(citation().contains("20221122"));
    }
}
