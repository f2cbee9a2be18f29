//! One-line rendering of clap's errors, shared by the workspace's binaries: hrun's rule is
//! that bad input gets a single line naming the value, not a usage screen.

/// clap's message without the usage block and the "For more information" hint, on one line.
pub fn one_line(err: &clap::Error) -> String {
    let rendered = err.render().to_string();
    let mut parts = Vec::new();
    for line in rendered.lines() {
        let t = line.trim();
        if t.starts_with("Usage:") || t.starts_with("For more information") {
            break;
        }
        // clap's "tip: to pass '-x' as a value, use '-- -x'" would make `-x` hrun exec's command.
        if t.starts_with("tip:") {
            continue;
        }
        if !t.is_empty() {
            parts.push(t.to_string());
        }
    }
    parts.join(" ")
}

/// Parses the command line; on bad input prints one line and exits 2 (`--help` and
/// `--version` print as usual and exit 0).
pub fn parse_or_exit<P: clap::Parser>(program: &str) -> P {
    parse_from_or_exit(program, std::env::args_os())
}

/// [`parse_or_exit`] over the given arguments (the program name first).
pub fn parse_from_or_exit<P: clap::Parser>(
    program: &str,
    args: impl IntoIterator<Item = std::ffi::OsString>,
) -> P {
    parse_with_or_exit(program, P::command(), args)
}

/// [`parse_from_or_exit`] with `command` in place of `P`'s own (the same, amended at run
/// time: help text that comes from a table, say).
pub fn parse_with_or_exit<P: clap::FromArgMatches>(
    program: &str,
    command: clap::Command,
    args: impl IntoIterator<Item = std::ffi::OsString>,
) -> P {
    let mut command = command;
    match command.try_get_matches_from_mut(args).and_then(|m| P::from_arg_matches(&m)) {
        Ok(p) => p,
        // `hrun` alone: the help is the useful answer (on stderr, exit 2).
        Err(e) if e.kind() == clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => e.exit(),
        // Errors of from_arg_matches carry no command: format them with it (usage, colours).
        Err(e) if e.use_stderr() => {
            let e = e.format(&mut command);
            let msg = one_line(&e);
            usage_exit(program, msg.strip_prefix("error: ").unwrap_or(&msg))
        }
        Err(e) => e.exit(),
    }
}

/// Prints a usage error as one line and exits 2.
pub fn usage_exit(program: &str, msg: &str) -> ! {
    eprintln!("{program}: error: {msg} (see {program} --help)");
    std::process::exit(2);
}
