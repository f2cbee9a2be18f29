//! The command line over the config layers: each subcommand's flags resolved into the
//! configuration its module runs (`exec`, `run`, `gen`, `tune`). Nothing here does the work.

use anyhow::{Result, anyhow};

use crate::cli::{ExecArgs, GenArgs, RunArgs, RunControl, TuneArgs};
use crate::config::Config;
use crate::exec::output::OutputMode;
use crate::exec::resume::ResumeMode;
use crate::exec::{Control, ExecConfig};
use crate::exit::UsageError;
use crate::{generate, input, pipeline, template, tune};

/// The most values `-N`/`-n` may put in one job: a command line of more would be over any
/// kernel's limit (each value costs at least its pointer and a NUL).
use crate::gnu::VERSION as GNU_VERSION;

const MAX_VALUES_PER_JOB: usize = 1 << 20;

fn usage(msg: impl std::fmt::Display) -> anyhow::Error {
    UsageError(anyhow!("{msg}")).into()
}

/// `--shuf`'s seed: `HRUN_SHUF_SEED` (a repeatable order), else drawn from the clock and pid.
fn shuf_seed() -> Result<u64> {
    match std::env::var("HRUN_SHUF_SEED") {
        Ok(v) => {
            v.trim().parse().map_err(|_| usage(format!("HRUN_SHUF_SEED={v:?}: a seed is a whole number")))
        }
        Err(_) => {
            let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
            Ok(t.as_nanos() as u64 ^ (u64::from(std::process::id()) << 32))
        }
    }
}

impl RunControl {
    /// `--jobs`, the faults, placement and progress flags over the environment and hrun.toml.
    pub fn resolve(&self, cfg: &Config) -> Result<Control> {
        Ok(Control {
            jobs: cfg.get("jobs", self.jobs)?,
            policy: self.faults.policy(cfg)?,
            placement: self.placement.placement(cfg)?,
            progress: self.progress.mode(cfg)?,
        })
    }
}

impl ExecArgs {
    /// GNU's `--number-of-*` questions: the answer to print instead of running anything.
    pub fn gnu_query(&self, cfg: &Config) -> Result<Option<(String, i32)>> {
        let g = &self.gnu;
        if g.gnu_version {
            return Ok(Some((
                format!(
                    "GNU parallel {GNU_VERSION} (hrun {}, which takes GNU parallel {GNU_VERSION}'s options)\n",
                    env!("CARGO_PKG_VERSION")
                ),
                crate::exit::OK,
            )));
        }
        if let Some(wanted) = &g.min_version {
            // As GNU: its version on stdout, and 255 when the wanted one is newer.
            let wanted: u64 = wanted
                .trim()
                .parse()
                .map_err(|_| usage(format!("--min-version {wanted:?}: a version is a number (20221122)")))?;
            let code = if wanted > GNU_VERSION { 255 } else { crate::exit::OK };
            return Ok(Some((format!("{GNU_VERSION}\n"), code)));
        }
        if self.fill.max_line_length_allowed {
            return Ok(Some((format!("{}\n", template::pack::max_line_length()), crate::exit::OK)));
        }
        if let Some(shell) = &self.extra.shell_completion {
            let auto = crate::shell::Shell::choose(self.shell.as_deref()).map_err(usage)?;
            let text = crate::gnu::answers::completion(shell, auto.name()).map_err(usage)?;
            return Ok(Some((text, crate::exit::OK)));
        }
        if self.extra.bibtex {
            return Ok(Some((crate::gnu::answers::citation(), crate::exit::OK)));
        }
        if !(g.number_of_cores || g.number_of_threads || g.number_of_sockets) {
            return Ok(None);
        }
        let (sockets, cores, threads) = crate::placement::counts(&self.control.placement.placement(cfg)?)?;
        let n = if g.number_of_sockets {
            sockets
        } else if g.number_of_cores {
            cores
        } else {
            threads
        };
        Ok(Some((format!("{n}\n"), crate::exit::OK)))
    }

    /// `hrun exec`'s flags over the environment and hrun.toml, and its words read as a task
    /// file or a command template.
    pub fn resolve(self, cfg: &Config) -> Result<ExecConfig> {
        // As `parallel`, errors are said in GNU's words from the first one on.
        crate::messages::set_gnu(self.gnu.gnu_personality);
        let tasks = match self.block_spec()? {
            Some(spec) => spec,
            None => input::classify(&self.words, self.template_options()?).map_err(usage)?,
        };
        let shard = self.shard.map(|s| s.resolve(|k| std::env::var(k).ok())).transpose().map_err(usage)?;
        // Shards (one hrun per node) write the sweep's table and joblog each to a file of its own.
        let per_shard = |p: Option<std::path::PathBuf>| match (p, shard) {
            (Some(p), Some(s)) => Some(s.file(&p)),
            (p, _) => p,
        };
        let log_given = self.log.is_some();
        let (log_origin, log_from_config) = match cfg.origin("log") {
            _ if log_given => (None, None),
            Some(crate::config::Origin::File(f)) => (Some(f.display().to_string()), Some(f.clone())),
            Some(o) => (Some(o.to_string()), None),
            None => (None, None),
        };
        // GNU's `--joblog +FILE` appends to FILE.
        let (joblog, joblog_append) = match self.joblog.as_ref().and_then(|p| p.to_str()?.strip_prefix('+')) {
            Some(rest) if !rest.is_empty() => (Some(std::path::PathBuf::from(rest)), true),
            _ => (self.joblog.clone(), false),
        };
        // As `parallel`: GNU's standard streams, nothing of hrun's own but errors (the run log
        // has the rest).
        let personality = self.gnu.gnu_personality;
        // GNU's `--results NAME` that is not a table: files per task, laid out by their values.
        let (results, results_files) = match &self.results {
            Some(p) if !crate::results::Target::is_stdout(p) && crate::results::Format::of(p).is_err() => {
                (None, Some(crate::exec::results_files::ResultsFiles::of(p)))
            }
            other => (other.clone(), None),
        };
        if results_files.is_some() && self.output_dir.is_some() {
            return Err(usage(
                "--results DIR and --output-dir DIR both put each task's output in files: give one",
            ));
        }
        if !personality && !self.gnu.profile.is_empty() {
            return Err(usage(
                "-J/--profile: hrun exec does not read GNU parallel's profiles; hrun run as `parallel` \
                 (a symlink named so) reads them as GNU does",
            ));
        }
        if self.extra.shebang_wrap {
            return Err(usage(
                "--shebang-wrap is read only as the first word (of a #! line: `#!/usr/bin/env -S hrun exec \
                 --shebang-wrap python3`, or `#!/usr/bin/parallel --shebang-wrap python3` with hrun as parallel)",
            ));
        }
        if self.jobs_gnu.shuf && (self.pipe.pipe || self.pipe.pipepart || shard.is_some()) {
            return Err(usage(
                "--shuf with --pipe, --pipepart or --shard: blocks are cut in input order, and shards \
                 must agree on one order; shuffle the input first (`shuf values.txt | hrun exec ...`)",
            ));
        }
        crate::messages::set_quiet(self.control.progress.quiet || personality);
        crate::messages::set_gnu(personality);
        if !personality {
            say_what_exec_ignores();
        }
        let gate = self.run_gnu.gate(personality).map_err(usage)?;
        let compressing = self.extra.compress || self.extra.compress_program.is_some();
        let resolved = ExecConfig {
            threads: self.threads,
            joblog_append,
            log: cfg.get("log", self.log)?,
            config_file: cfg
                .used_file()
                .map(|f| std::fs::canonicalize(f).unwrap_or_else(|_| f.to_path_buf())),
            log_origin,
            log_from_config,
            threads_default: cfg.file_threads()?,
            joblog: per_shard(joblog),
            output: match (self.output_dir, self.ungroup, self.keep_order && !self.gnu.no_keep_order) {
                _ if results_files.is_some() => OutputMode::Results(results_files.expect("checked")),
                (Some(dir), _, _) => OutputMode::Dir(dir),
                (None, true, _) => OutputMode::Ungroup,
                // GNU's --files wins over --line-buffer: the output is in the files. With
                // --compress, lines pass both programs first: a job's come when it ends.
                (None, false, ordered) if self.line_buffer && !self.jobs_gnu.files && !compressing => {
                    OutputMode::Lines { ordered }
                }
                // With --results, output goes into the table: with -k, rows in task order.
                (None, false, true) => OutputMode::Ordered,
                (None, false, _) => OutputMode::Group,
            },
            resume: match (self.resume, self.resume_failed) {
                (_, true) => Some(ResumeMode::Succeeded),
                (true, false) => Some(ResumeMode::Finished),
                (false, false) => None,
            },
            force: self.force,
            shard,
            hosts: match (&self.nodes, self.sshlogin.is_empty() && self.sshloginfile.is_empty()) {
                (Some(spec), _) => Some(crate::nodes::Hosts::Slurm(crate::nodes::resolve(spec)?)),
                (None, false) => {
                    Some(crate::nodes::resolve_ssh(&self.sshlogin, &self.sshloginfile, self.ssh.as_deref())?)
                }
                (None, true) => None,
            },
            remote_hrun: self.remote_hrun.clone(),
            delay: self.delay.or(self.run_gnu.ssh_delay),
            shell: self.shell,
            dry_run: self.template.dry_run,
            emit_tasks: self.template.emit_tasks.clone(),
            tag: self.tag
                || self.tagstring.is_some()
                || self.run_gnu.ctag
                || self.run_gnu.ctag_string.is_some(),
            colors: self.run_gnu.colors(),
            echo: crate::exec::output::Echo {
                stdout: self.gnu.print_commands > 0 && !self.gnu.silent,
                stderr: self.gnu.verbose,
            },
            terse: self.control.progress.quiet || personality,
            quiet: personality,
            results: per_shard(results),
            workdir: self.jobs_gnu.workdir.clone(),
            nice: self.jobs_gnu.nice,
            tmpdir: self.jobs_gnu.tmpdir.clone(),
            files: self.jobs_gnu.files,
            compress: self.extra.compression(),
            shuf: self.jobs_gnu.shuf.then(shuf_seed).transpose()?,
            total_jobs: self.strings.total_jobs,
            slot_var: slot_var(self.strings.process_slot_var.clone())?,
            gate,
            ..ExecConfig::new(tasks).with(self.control.resolve(cfg)?)
        };
        let resolved = self.extra.jobs_per_unit(resolved, self.threads)?;
        let mut resolved = match personality {
            true => {
                let progress = match (self.gnu.gnu_progress, self.gnu.gnu_eta) {
                    (false, false) => crate::exec::progress::ProgressMode::Quiet,
                    (_, eta) => crate::exec::progress::ProgressMode::Gnu { eta },
                };
                ExecConfig { progress, ..resolved }
            }
            false => resolved,
        };
        // GNU's -j 0, as `parallel`: as many at once as possible (hrun exec refuses it).
        if personality && resolved.jobs == Some(crate::slots::Jobs::Count(0)) {
            resolved.jobs = Some(crate::slots::Jobs::AsManyAsPossible);
        }
        // GNU's --term-seq; as `parallel`, GNU's default one.
        match self.run_gnu.term_seq {
            Some(seq) => resolved.policy.term_seq = seq,
            None if personality => resolved.policy.term_seq = crate::exec::term_seq::TermSeq::gnu_default(),
            None => {}
        }
        Ok(resolved)
    }

    /// `--pipe`/`--pipepart`: the command run per block; None without them (and their
    /// companions then refused).
    fn block_spec(&self) -> Result<Option<input::TaskSpec>> {
        let p = &self.pipe;
        if !p.pipe && !p.pipepart {
            let given = [
                (p.block.is_some(), "--block"),
                (p.recend.is_some(), "--recend"),
                (p.recstart.is_some(), "--recstart"),
                (p.cat, "--cat"),
                (p.fifo, "--fifo"),
                (p.regexp, "--regexp"),
                (p.round_robin, "--round-robin"),
                (p.remove_rec_sep, "--remove-rec-sep"),
                (p.tee, "--tee"),
            ];
            if let Some((_, name)) = given.iter().find(|(g, _)| *g) {
                return Err(usage(format!(
                    "{name} applies to blocks of input: add --pipe (standard input) or --pipepart -a FILE"
                )));
            }
            return Ok(None);
        }
        if p.pipe && !p.pipepart && (self.resume || self.resume_failed) {
            return Err(usage(
                "--resume with --pipe: standard input is read once, so its blocks cannot be found again; \
                 for a file, use --pipepart -a FILE, whose blocks are found again by seeking"
                    .to_string(),
            ));
        }
        let t = &self.template;
        if t.emit_tasks.is_some() {
            return Err(usage(
                "--emit-tasks with --pipe/--pipepart: a block's task is its command and its block of input, \
                 which a task file cannot hold"
                    .to_string(),
            ));
        }
        let options = crate::pipe::Options {
            pipepart: p.pipepart,
            block: p.block.clone(),
            recend: p.recend.clone(),
            recstart: p.recstart.clone(),
            lines: p.max_lines,
            count: t.max_replace_args.or(t.max_args),
            arg_files: t.arg_files.clone(),
            header: t.header.clone(),
            cat: p.cat,
            fifo: p.fifo,
            regexp: p.regexp,
            csv: self.extra.csv,
            round_robin: p.round_robin,
            remove_rec_sep: p.remove_rec_sep,
            tee: p.tee,
        };
        let spec = crate::pipe::spec(&self.words, &t.markers(), options).map_err(usage)?;
        Ok(Some(input::TaskSpec::Blocks(std::sync::Arc::new(spec))))
    }

    /// How a template's values are read and grouped (`-0`, `-d`, `--colsep`, `--header`,
    /// `-r`, `-N`, `-n`, `::::`, `--link`).
    fn template_options(&self) -> Result<input::TemplateOptions> {
        let t = &self.template;
        let l = self.max_lines()?;
        // GNU: -L (without --pipe) wins over -l; either makes a line ending in a blank continue.
        let lines = self.pipe.max_lines.or(l);
        let reading = input::reading(input::ReadingFlags {
            null: t.null,
            delimiter: t.delimiter.as_deref(),
            colsep: t.colsep.as_deref(),
            header: t.header.as_deref(),
            skip_empty: t.no_run_if_empty,
            trim: t.trim.as_deref(),
            eof: t.eof.as_deref(),
            skip_first_line: t.skip_first_line,
            continue_lines: lines.is_some_and(|l| l > 0),
            csv: self.extra.csv,
        })
        .map_err(usage)?;
        let (max_args, fill) = self.grouping(l)?;
        Ok(input::TemplateOptions {
            arg_files: t.arg_files.clone(),
            link: t.link,
            reading,
            max_args,
            fill,
            replace: t.replace.clone(),
            markers: t.markers(),
            // GNU reads \t, \n, \r and octal escapes in it, as in -d.
            tagstring: self.tagstring.clone().or_else(|| self.run_gnu.ctag_string.clone()).map(|t| {
                String::from_utf8_lossy(&crate::template::quote::unescape_delimiter(&t)).into_owned()
            }),
            quote: self.gnu.quote,
            shell_quote: self.extra.shell_quote,
            plus: self.strings.plus,
            renames: self.strings.renames(),
            ..quoting_for(self.shell.as_deref())?
        })
    }
}

impl ExecArgs {
    /// `-l N`/`--max-lines N` (alone, or 0: 1): lines of input per job.
    fn max_lines(&self) -> Result<Option<usize>> {
        let Some(text) = self.fill.lines.as_deref() else { return Ok(None) };
        let n: f64 = if text.is_empty() {
            0.0
        } else {
            text.trim()
                .parse()
                .map_err(|_| usage(format!("--max-lines {text:?}: give a number of lines (e.g. -l 2)")))?
        };
        Ok(Some(if n < 1.0 { 1 } else { n as usize }))
    }

    /// How many values a job takes, as GNU reckons it from -n, -N, -l, -L, -m, -X and --xargs;
    /// and the command line they must fit in (given always as `parallel`, as GNU cuts every line).
    fn grouping(&self, l: Option<usize>) -> Result<(Option<template::MaxArgs>, Option<template::Fill>)> {
        let (t, f) = (&self.template, &self.fill);
        let personality = self.gnu.gnu_personality;
        let xargs_like = f.multiple || f.xargs;
        let context = f.context_replace
            || ((self.pipe.max_lines.is_some() || t.max_replace_args.is_some()) && !xargs_like);
        // GNU: -n, else (-n 0 counting as not given) -l, else -L (-L 0: as -N 0); -N wins.
        let mut n = t.max_args;
        for more in [l, self.pipe.max_lines] {
            if n.unwrap_or(0) == 0 && more.is_some() {
                n = more;
            }
        }
        let n = t.max_replace_args.or(n);
        if let Some(n) = n.filter(|&n| n > MAX_VALUES_PER_JOB) {
            return Err(usage(format!(
                "-N/-n {n}: at most {MAX_VALUES_PER_JOB} values per job (no command line holds more)"
            )));
        }
        let max_args = n.map(|n| template::MaxArgs { n, context });
        if !(f.fills() || f.max_chars.is_some() || personality || f.show_limits) {
            return Ok((max_args, None));
        }
        let longest = template::pack::max_line_length();
        let usable = template::pack::usable_length(longest) as usize;
        let max_len = match f.max_chars {
            Some(s) if s <= usable => s,
            Some(_) => {
                match personality {
                    true => eprintln!("parallel: Warning: Value for option -s should be < {usable}."),
                    false => crate::messages::note(format_args!(
                        "-s {}: at most {usable} here",
                        f.max_chars.unwrap_or(0)
                    )),
                }
                usable
            }
            None => usable,
        };
        if f.show_limits {
            print!(
                "Maximal size of command: {longest}\nMaximal usable size of command: {max_len}\n\n\
                 Execution will continue now, and it will try to read its input\n\
                 and run commands; if this is not what you wanted to happen, please\n\
                 press CTRL-D or CTRL-C\n"
            );
        }
        let spread = f.multiple || f.context_replace;
        Ok((max_args, Some(template::Fill { max_len, many: f.fills(), spread, context })))
    }
}

/// `--process-slot-var NAME`: a name the environment can hold.
fn slot_var(name: Option<String>) -> Result<Option<String>> {
    match name {
        Some(n) if n.is_empty() || n.contains(['=', '\0']) => Err(usage(format!(
            "--process-slot-var {n:?}: not a variable name (it must be non-empty, without = or NUL)"
        ))),
        n => Ok(n),
    }
}

/// How a template's values are quoted: for the shell that will run its lines (chosen as
/// `hrun exec` chooses it, from hrun's environment, never from the values). A shell with
/// quoting rules hrun does not know is an `Err` naming it, refused if a template inserts values.
fn quoting_for(flag: Option<&std::path::Path>) -> Result<input::TemplateOptions> {
    let shell = crate::shell::Shell::choose(flag).map_err(usage)?;
    let quoting = template::Quoting::for_shell(&shell.path);
    let unquotable = quoting.is_none().then(|| {
        format!(
            "values cannot be quoted safely for {} ({}): hrun knows the quoting of POSIX shells \
             (sh, bash, dash, ksh, zsh), csh, tcsh and fish; choose one with --shell",
            shell.path.display(),
            shell.origin()
        )
    });
    Ok(input::TemplateOptions { quoting: quoting.unwrap_or_default(), unquotable, ..Default::default() })
}

/// GNU parallel's own settings (`$PARALLEL`, `~/.parallel/config`), which `hrun exec`
/// does not read: said once, rather than silently ignored. hrun invoked as `parallel` reads them.
fn say_what_exec_ignores() {
    let mut ignored = Vec::new();
    if std::env::var_os("PARALLEL").is_some_and(|v| !v.is_empty()) {
        ignored.push("$PARALLEL".to_string());
    }
    let home = std::env::var_os("PARALLEL_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".parallel")));
    if let Some(config) = home.map(|h| h.join("config")).filter(|c| c.is_file()) {
        ignored.push(config.display().to_string());
    }
    if !ignored.is_empty() {
        crate::messages::note(format_args!(
            "hrun exec does not read GNU parallel's options in {} (hrun run as `parallel` does)",
            ignored.join(" and ")
        ));
    }
}

impl GenArgs {
    pub fn resolve(self) -> generate::GenConfig {
        let w = self.workload;
        generate::GenConfig {
            tasks: w.tasks,
            threads: w.threads,
            samples: w.samples,
            seed: w.seed,
            results: self.results,
            worker: w.worker,
        }
    }
}

impl RunArgs {
    pub fn resolve(self, cfg: &Config) -> Result<pipeline::RunConfig> {
        let w = self.workload;
        Ok(pipeline::RunConfig {
            tasks: w.tasks,
            threads: w.threads,
            samples: w.samples,
            seed: w.seed,
            dir: self.dir,
            worker: w.worker,
            control: self.control.resolve(cfg)?,
            json: self.json,
        })
    }
}

impl TuneArgs {
    pub fn resolve(self, cfg: &Config) -> Result<tune::TuneConfig> {
        Ok(tune::TuneConfig {
            samples: self.samples,
            threads_list: self.threads_list,
            strong: self.strong,
            repeat: self.repeat,
            min_wave_s: self.min_wave.as_secs_f64(),
            command: (!self.command.is_empty()).then(|| self.command.join(" ")),
            worker: self.worker,
            placement: self.placement.placement(cfg)?,
            hrun: std::env::current_exe()
                .map_err(|e| anyhow!("cannot locate the hrun binary to run the waves: {e}"))?,
        })
    }
}

impl crate::cli::GnuExtraArgs {
    /// GNU's `--compress`/`--compress-program`: the program the output files left behind and
    /// grouped output are compressed with, and `--decompress-program`, what reads the latter back.
    fn compression(&self) -> Option<crate::exec::output::Compression> {
        crate::exec::output::compression_from_path(
            self.compress,
            self.compress_program.as_deref(),
            self.decompress_program.as_deref(),
        )
    }

    /// `--use-cores-instead-of-threads`, `--use-sockets-instead-of-threads`: -j (N%, +N, -N,
    /// or the default 100%) counted in cores or sockets of the usable CPUs, made a number of
    /// tasks.
    fn jobs_per_unit(&self, cfg: ExecConfig, threads: Option<usize>) -> Result<ExecConfig> {
        if !(self.use_cores_instead_of_threads || self.use_sockets_instead_of_threads) {
            return Ok(cfg);
        }
        let (sockets, cores, _) = crate::placement::counts(&cfg.placement)?;
        let units = if self.use_sockets_instead_of_threads { sockets } else { cores };
        let jobs = cfg.jobs.unwrap_or(crate::slots::Jobs::Percent(100.0));
        let n = jobs.resolve(units, threads.unwrap_or(1)).map_err(usage)?;
        Ok(ExecConfig { jobs: Some(crate::slots::Jobs::Count(n)), ..cfg })
    }
}
