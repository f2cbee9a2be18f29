//! Durations and times out of range are refused when parsed (exit 2, one line naming the
//! value), from flags, the environment and hrun.toml alike, instead of panicking mid-run
//! when the value meets the clock.

use crate::harness::*;

const HUGE: &str = "4000000000000000h";

/// Flags and environment that must be refused before anything runs, and what the error says.
type Case = (Vec<String>, Vec<(String, String)>, String);

fn out_of_range() -> Vec<Case> {
    let env = |pairs: &[(&str, &str)]| pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let mut cases: Vec<Case> = vec![
        (vec!["--deadline".into(), "@1e30".into()], vec![], "\"@1e30\": not between 1970 and 9999".into()),
        (
            vec!["--deadline".into(), "@18446744073709551615".into()],
            vec![],
            "\"@18446744073709551615\": not between 1970 and 9999".into(),
        ),
        (vec!["--deadline".into(), format!("+{HUGE}")], vec![], format!("\"{HUGE}\": at most 1 year")),
        (
            vec!["--timeout".into(), "1e300%".into()],
            vec![],
            "\"1e300%\": the percentage must be at most".into(),
        ),
        (
            vec![],
            env(&[("SLURM_JOB_ID", "42"), ("SLURM_JOB_END_TIME", "1e30")]),
            "SLURM_JOB_END_TIME=\"1e30\" is not a Unix time".into(),
        ),
        (vec![], env(&[("HRUN_DEADLINE", "@1e30")]), "(from environment HRUN_DEADLINE)".into()),
        (vec![], env(&[("HRUN_TIMEOUT", "1e300%")]), "(from environment HRUN_TIMEOUT)".into()),
    ];
    for flag in ["--timeout", "--grace", "--leak-timeout", "--progress-interval", "--deadline-margin"] {
        cases.push((
            vec![flag.into(), HUGE.into()],
            vec![],
            format!("invalid duration \"{HUGE}\": at most 1 year"),
        ));
        let var = format!("HRUN_{}", flag[2..].replace('-', "_").to_uppercase());
        cases.push((vec![], env(&[(&var, HUGE)]), format!("(from environment {var})")));
    }
    cases
}

#[test]
fn out_of_range_durations_and_times_are_refused_before_the_run() {
    for (flags, env, needle) in out_of_range() {
        for sub in ["exec", "run"] {
            let sb = Sandbox::new();
            sb.write("tasks.txt", "touch ran\n");
            let mut cmd = hrun();
            cmd.current_dir(sb.root()).env_remove("SLURM_JOB_ID").env_remove("SLURM_JOB_END_TIME");
            cmd.envs(env.iter().cloned());
            match sub {
                "exec" => cmd.arg("exec").args(&flags).arg("tasks.txt"),
                _ => {
                    cmd.args(["run", "--tasks", "1", "--threads", "1", "-n", "10", "--dir", "d"]).args(&flags)
                }
            };
            let out = run(&mut cmd);
            let err = stderr(&out);
            let what = format!("{sub} {flags:?} {env:?}");
            assert_eq!(out.status.code(), Some(2), "{what}: {err}");
            assert_eq!(err.lines().count(), 1, "{what}: one line, got {err}");
            assert!(
                err.starts_with("hrun: error: ") && err.contains(&needle),
                "{what}: {needle:?} not in {err}"
            );
            assert!(!sb.path("ran").exists() && !sb.path("d").exists(), "{what}: something ran");
        }
    }
}

#[test]
fn out_of_range_values_in_hrun_toml_name_the_file() {
    let sb = Sandbox::new();
    sb.write("tasks.txt", "touch ran\n");
    for line in [
        format!("grace = \"{HUGE}\""),
        format!("leak_timeout = \"{HUGE}\""),
        format!("progress_interval = \"{HUGE}\""),
        format!("deadline_margin = \"{HUGE}\""),
        format!("timeout = \"{HUGE}\""),
        "timeout = \"1e300%\"".into(),
        "deadline = \"@1e30\"".into(),
        format!("deadline = \"+{HUGE}\""),
    ] {
        sb.write("hrun.toml", format!("{line}\n"));
        let out = run(hrun().current_dir(sb.root()).args(["exec", "tasks.txt"]));
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{line}: {err}");
        assert_eq!(err.lines().count(), 1, "{line}: {err}");
        assert!(err.contains("(from hrun.toml)"), "{line}: {err}");
        assert!(!sb.path("ran").exists(), "{line}");
    }
}
