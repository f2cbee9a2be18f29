//! Defaults from hrun.toml and the environment: flags > environment > file > built-in.

use std::time::Duration;

use crate::harness::*;

fn attempts(sb: &Sandbox) -> usize {
    let (_, tasks) = sb.log();
    tasks.len()
}

#[test]
fn precedence_flags_over_environment_over_file() {
    let sb = Sandbox::new();
    sb.write("tasks.txt", "exit 1\n");
    // `retries` counts attempts, as GNU parallel's --retries.
    sb.write("hrun.toml", "retries = 3\ngrace = \"3s\"\n");
    run(sb.exec().arg("tasks.txt"));
    assert_eq!(attempts(&sb), 3, "file: retries = 3");
    std::fs::remove_file(sb.path("log.jsonl")).unwrap();
    run(sb.exec().arg("tasks.txt").env("HRUN_RETRIES", "2"));
    assert_eq!(attempts(&sb), 2, "environment beats the file");
    std::fs::remove_file(sb.path("log.jsonl")).unwrap();
    run(sb.exec().args(["--retries", "1", "tasks.txt"]).env("HRUN_RETRIES", "2"));
    assert_eq!(attempts(&sb), 1, "the flag beats both");

    let out = run(hrun().current_dir(sb.root()).arg("config").env("HRUN_RETRIES", "1"));
    let text = stdout(&out);
    assert!(text.contains("config file: hrun.toml"), "{text}");
    assert!(
        text.lines().any(|l| l.starts_with("retries") && l.contains("environment HRUN_RETRIES")),
        "{text}"
    );
    assert!(
        text.lines().any(|l| l.starts_with("grace") && l.contains("3s") && l.ends_with("hrun.toml")),
        "{text}"
    );
    assert!(text.lines().any(|l| l.starts_with("halt") && l.ends_with("default")), "{text}");
}

#[test]
fn threads_in_the_file_yield_to_the_task_files_directive() {
    let sb = Sandbox::new();
    sb.write("hrun.toml", "threads = 1\n");
    sb.write("plain.txt", "echo $HRUN_THREADS > plain\n");
    run(sb.exec().arg("plain.txt"));
    assert_eq!(sb.read("plain").trim(), "1");
    let n = usable_cpus().len();
    sb.write("directive.txt", format!("#hrun threads={n}\necho $HRUN_THREADS > d\n"));
    run(sb.exec().arg("directive.txt"));
    assert_eq!(sb.read("d").trim(), n.to_string());
}

#[test]
fn a_bad_config_names_the_file_key_and_value() {
    let sb = Sandbox::new();
    sb.write("tasks.txt", "touch ran\n");
    for (toml, needle) in [
        ("colour = 1\n", "hrun.toml: unknown key \"colour\""),
        ("grace = \"10x\"\n", "grace = \"10x\" (from hrun.toml): invalid duration"),
        ("retries = [1]\n", "hrun.toml: retries = [1]: expected a whole number"),
        ("retries = \n", "hrun.toml: not valid TOML"),
    ] {
        sb.write("hrun.toml", toml);
        let out = run(sb.exec().arg("tasks.txt"));
        assert_eq!(out.status.code(), Some(2), "{toml}");
        assert!(stderr(&out).contains(needle), "{toml}: {}", stderr(&out));
        assert_eq!(stderr(&out).lines().count(), 1);
        assert!(!sb.path("ran").exists());
    }
    std::fs::remove_file(sb.path("hrun.toml")).unwrap();
    let out = run(sb.exec().arg("tasks.txt").env("HRUN_GRACE", "-5s"));
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("(from environment HRUN_GRACE)"), "{}", stderr(&out));
}

/// `log = 5` is a mistake, not a log file named "5": path and duration keys take strings only.
#[test]
fn a_number_for_a_path_or_duration_key_is_a_type_error() {
    let sb = Sandbox::new();
    sb.write("tasks.txt", "touch ran\n");
    for (toml, needle) in [
        ("log = 5\n", "hrun.toml: log = 5: expected a string (in quotes)"),
        ("grace = 30\n", "hrun.toml: grace = 30: expected a string (in quotes)"),
        ("timeout = 1.5\n", "hrun.toml: timeout = 1.5: expected a string (in quotes)"),
        ("smt = true\n", "hrun.toml: smt = true: expected a string (in quotes)"),
        ("threads = 4.5\n", "hrun.toml: threads = 4.5: expected a whole number"),
    ] {
        sb.write("hrun.toml", toml);
        let out = run(hrun().current_dir(sb.root()).args(["exec", "tasks.txt"]));
        assert_eq!(out.status.code(), Some(2), "{toml}: {}", stderr(&out));
        assert_eq!(stderr(&out).trim_end(), format!("hrun: error: {needle}"), "{toml}");
        assert!(!sb.path("ran").exists() && !sb.path("5").exists(), "{toml}");
    }
    // Whole numbers may still be written either way.
    sb.write("hrun.toml", "retries = \"1\"\njobs = 1\n");
    assert_eq!(run(hrun().current_dir(sb.root()).args(["exec", "tasks.txt"])).status.code(), Some(0));
}

/// HRUN_CONFIG naming a FIFO blocked forever, and /dev/zero grew hrun by 2 GB/s: only a
/// regular file of at most 1 MiB is read, and its size is checked before reading.
#[test]
fn a_config_that_is_not_a_small_regular_file_is_refused_unread() {
    let sb = Sandbox::new();
    sb.write("tasks.txt", "touch ran\n");
    mkfifo(&sb.path("fifo.toml"));
    std::fs::File::create(sb.path("big.toml")).unwrap().set_len(2 << 20).unwrap();
    for (name, why) in [
        ("fifo.toml", "not a regular file (a FIFO)".to_string()),
        ("big.toml", format!("{} bytes, more than the {} such a file may have", 2 << 20, 1 << 20)),
        (".", "not a regular file (a directory)".into()),
    ] {
        let path = sb.path(name);
        let out = run_within(
            hrun().current_dir(sb.root()).args(["exec", "tasks.txt"]).env("HRUN_CONFIG", &path),
            Duration::from_secs(20),
        );
        assert_eq!(out.status.code(), Some(2), "{name}: {}", stderr(&out));
        assert_eq!(
            stderr(&out).trim_end(),
            format!("hrun: error: cannot read config {}: {why}", path.display()),
            "{name}"
        );
        assert!(!sb.path("ran").exists());
    }
}
