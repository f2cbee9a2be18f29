//! hrun as a library: the stages of a run, one module each, in the order data flows through
//! them (task file -> slot plan -> exec -> log). The `hrun` binary is a thin layer over these.

pub mod civil;
pub mod cli;
pub mod config;
pub mod cpuset;
pub mod deadline;
pub mod duration;
pub mod exec;
pub mod exit;
pub mod generate;
pub mod gnu;
pub mod guarded;
pub mod input;
pub mod log;
pub mod messages;
pub mod pipe;
pub mod pipeline;
pub mod placement;
pub mod reduce;
pub mod report;
pub mod resolve;
pub mod results;
pub mod same_file;
pub mod shard;
pub mod shell;
pub mod slots;
pub mod smallfile;
pub mod status;
pub mod stdout;
pub mod sys;
pub mod task;
pub mod taskfile;
pub mod template;
pub mod text;
pub mod topology;
pub mod tune;
