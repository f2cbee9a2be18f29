//! Integration tests: the real `hrun` binary on real processes, real pinning read back from
//! `/proc`, real signals and files. One test target; `harness` holds the shared helpers, with
//! what the other targets share too (`tests/common/`: typed log records, `assert_status!`,
//! `eventually`, `signal`, `reduce_json`).

#[macro_use]
#[path = "../common/mod.rs"]
mod common;
mod harness;

mod config;
mod deadline;
mod docs;
mod exec_basics;
mod exec_joblog;
mod exec_output;
mod exec_pinning;
mod exec_prefetch;
mod exec_rusage;
mod faults_input;
mod faults_policy;
mod faults_resume;
mod faults_signals;
mod faults_stepwide;
mod gnu_color;
mod gnu_context;
mod gnu_csv;
mod gnu_exec_opts;
mod gnu_first_line;
mod gnu_gate;
mod gnu_personality;
mod gnu_print_opts;
mod gnu_replace;
mod gnu_shebang;
mod gnu_tag_slot;
mod gnu_term_seq;
mod hostile;
mod nodes;
mod nothing_lost;
mod pipe;
mod pipe_deal;
mod pipeline;
mod ranges;
mod reduce;
mod report;
mod results;
mod shards;
mod slots;
mod special_files;
mod ssh;
mod status;
mod stdout;
mod template_gnu;
mod template_run;
mod tune;
