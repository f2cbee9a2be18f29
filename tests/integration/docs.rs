//! The user documentation runs: every block of README.md and docs/*.md fenced as ```sh run is
//! run with bash (`-e -o pipefail`), the built `hrun` and `hrun-mc-pi` first on PATH, one fresh
//! directory per page (a page's blocks run in order, so a later block may use what an earlier
//! one made). The word `run` after the language marks a block runnable (GitHub highlights by
//! the first word only): runnable is a choice the writer makes, since a plain ```sh block may
//! install packages, need Slurm, a cluster, the checkout's cargo or minutes of work. Blocks
//! fenced otherwise are shown, not run: ```sh, ```console (a session with `$ ` prompts and
//! output), ```text, ```toml. And every relative link between the pages names a file that
//! exists, and every file and test ARCHITECTURE.md names (its code map, its "Changing hrun"
//! recipes) is there.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::harness::Sandbox;

/// The info string of a runnable block.
const RUNNABLE: &str = "sh run";

/// A fenced block of a Markdown page: its info string (`sh run`), first line number, and text.
#[derive(Debug, PartialEq)]
struct Block {
    info: String,
    line: usize,
    text: String,
}

/// The fenced (```) blocks of a Markdown text, with an indented fence's indent taken off its
/// lines (a block inside a list item).
fn blocks(markdown: &str) -> Vec<Block> {
    let mut found = Vec::new();
    let mut open: Option<(usize, Block)> = None;
    for (i, line) in markdown.lines().enumerate() {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        match open.take() {
            None => {
                if let Some(info) = trimmed.strip_prefix("```") {
                    let block = Block { info: info.trim().to_string(), line: i + 1, text: String::new() };
                    open = Some((indent, block));
                }
            }
            Some((_, block)) if trimmed == "```" => found.push(block),
            Some((indent, mut block)) => {
                let cut = line.len() - line.trim_start().len();
                block.text += &line[cut.min(indent)..];
                block.text += "\n";
                open = Some((indent, block));
            }
        }
    }
    found
}

/// The relative link targets of a Markdown text (`[text](target)`), without their `#anchor`:
/// web addresses and links within the page are left out.
fn relative_links(markdown: &str) -> Vec<&str> {
    markdown
        .split("](")
        .skip(1)
        .filter_map(|rest| rest.split_once(')').map(|(target, _)| target))
        .filter(|t| !t.contains("://") && !t.starts_with('#') && !t.starts_with("mailto:"))
        .map(|t| t.split('#').next().unwrap_or(t))
        .collect()
}

/// README.md and every page of docs/, in a stable order.
fn pages() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
        .expect("docs/")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    docs.insert(0, root.join("README.md"));
    docs
}

fn shown(path: &Path) -> String {
    path.strip_prefix(env!("CARGO_MANIFEST_DIR")).unwrap_or(path).display().to_string()
}

/// Runs one block in `dir`; None when it succeeded, else why not.
fn run_block(block: &Block, dir: &Path) -> Option<String> {
    let bin = Path::new(env!("CARGO_BIN_EXE_hrun")).parent().unwrap();
    assert_eq!(Path::new(env!("CARGO_BIN_EXE_hrun-mc-pi")).parent().unwrap(), bin);
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let mut cmd = Command::new("timeout");
    cmd.args(["60", "bash", "-e", "-o", "pipefail", "-c", &block.text])
        .current_dir(dir)
        .env("PATH", path)
        .env("XDG_CONFIG_HOME", dir.join(".config"))
        .stdin(Stdio::null());
    for (var, _) in std::env::vars_os() {
        if var.to_string_lossy().starts_with("HRUN_") {
            cmd.env_remove(var);
        }
    }
    let out = cmd.output().expect("run timeout/bash");
    match out.status.code() {
        Some(0) => None,
        Some(124) => Some("it did not end within 60 s".into()),
        code => Some(format!(
            "exit {code:?}\n--- stdout\n{}--- stderr\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )),
    }
}

#[test]
fn every_runnable_block_of_the_docs_runs() {
    let mut failed = Vec::new();
    let mut ran = 0;
    for page in pages() {
        let text = std::fs::read_to_string(&page).unwrap();
        let sb = Sandbox::new();
        for block in blocks(&text).iter().filter(|b| b.info == RUNNABLE) {
            ran += 1;
            if let Some(why) = run_block(block, sb.root()) {
                let first = block.text.lines().next().unwrap_or("");
                failed.push(format!(
                    "{}:{}: the ```sh run block `{first}` failed: {why}",
                    shown(&page),
                    block.line
                ));
            }
        }
    }
    assert!(
        failed.is_empty(),
        "{} of {ran} runnable block(s) failed:\n\n{}",
        failed.len(),
        failed.join("\n\n")
    );
    assert!(ran >= 10, "only {ran} ```sh run blocks: the pages lost their runnable examples?");
}

#[test]
fn the_readme_runs_something_and_shows_its_first_commands_unrun() {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let all = blocks(&readme);
    // The first block builds hrun and runs the whole test suite: shown, never run from a test.
    assert_eq!(all[0].info, "sh", "{:?}", all[0]);
    assert!(all[0].text.contains("cargo test --release"), "{:?}", all[0]);
    assert!(all.iter().any(|b| b.info == RUNNABLE), "README.md has no runnable block");
    // CI runs what the README's first two lines promise: its test command, and its main job.
    let ci = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(".ci/run")).unwrap();
    let lines: Vec<&str> = all[0].text.lines().collect();
    assert_eq!(lines[1], "cargo test --release", "{:?}", all[0]);
    assert!(ci.contains(lines[1]), ".ci/run does not run README's test command {:?}", lines[1]);
    let job = lines[0].split_once("./target/release/hrun ").map(|(_, job)| job).unwrap_or(lines[0]);
    assert!(ci.contains(&format!("hrun\" {job}")), ".ci/run does not run README's main job {job:?}");
}

#[test]
fn relative_links_between_the_pages_point_at_files() {
    let mut broken = Vec::new();
    for page in pages() {
        let text = std::fs::read_to_string(&page).unwrap();
        for target in relative_links(&text) {
            if !page.parent().unwrap().join(target).exists() {
                broken.push(format!("{}: ({target})", shown(&page)));
            }
        }
    }
    assert!(broken.is_empty(), "links to files that do not exist:\n{}", broken.join("\n"));
}

/// The repository paths a page names in code spans (`src/task.rs`, `tests/integration/x.rs::a_test`):
/// (path, test or function named after `::`). Spans with a placeholder (`*`, `<`, `{`) are not
/// paths.
fn named_paths(markdown: &str) -> Vec<(&str, Option<&str>)> {
    const ROOTS: [&str; 7] = ["src/", "tests/", "benches/", "docs/", "slurm/", "scripts/", ".ci/"];
    markdown
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|s| ROOTS.iter().any(|r| s.starts_with(r)))
        .filter(|s| !s.contains(|c: char| c.is_whitespace() || "*<>{}".contains(c)))
        .map(|s| match s.split_once("::") {
            Some((path, name)) => (path, Some(name)),
            None => (s, None),
        })
        .collect()
}

#[test]
fn every_file_and_test_architecture_md_names_exists() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let page = std::fs::read_to_string(root.join("ARCHITECTURE.md")).unwrap();
    let named = named_paths(&page);
    assert!(named.len() > 50, "ARCHITECTURE.md names only {} paths: is the code map there?", named.len());
    let mut gone = Vec::new();
    for (path, name) in named {
        match (std::fs::read_to_string(root.join(path)), name) {
            (Err(_), _) if !root.join(path).is_dir() => gone.push(path.to_string()),
            (Ok(text), Some(name)) if !text.contains(&format!("fn {name}(")) => {
                gone.push(format!("{path}::{name}"))
            }
            _ => {}
        }
    }
    assert!(
        gone.is_empty(),
        "ARCHITECTURE.md names what is gone (moved? update the page):\n{}",
        gone.join("\n")
    );
}

#[test]
fn named_paths_are_the_repository_paths_in_code_spans() {
    let md = "`src/a.rs` and `tests/x.rs::t`, not `cargo test`, `src/*.rs` or `docs/<page>.md`; `.ci/run`";
    assert_eq!(named_paths(md), vec![("src/a.rs", None), ("tests/x.rs", Some("t")), (".ci/run", None)]);
}

#[test]
fn blocks_are_read_with_their_fence_and_indent() {
    let md = "text\n```sh run\necho a\n```\n- item\n\n  ```console\n  $ hrun x\n    out\n  ```\n";
    assert_eq!(
        blocks(md),
        vec![
            Block { info: RUNNABLE.into(), line: 2, text: "echo a\n".into() },
            Block { info: "console".into(), line: 7, text: "$ hrun x\n  out\n".into() },
        ]
    );
}

#[test]
fn links_are_the_relative_ones_without_anchors() {
    let md = "[a](docs/x.md) [b](https://e.org/y) [c](#here) [d](../slurm/README.md#top) `[e]`";
    assert_eq!(relative_links(md), vec!["docs/x.md", "../slurm/README.md"]);
}
