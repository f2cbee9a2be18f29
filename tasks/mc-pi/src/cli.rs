//! The `hrun-mc-pi` command: estimates pi by drawing points in the unit square and counting
//! those inside the quarter circle, on exactly `-t` threads, and writes one small TOML result.
//! The binary itself is built by the `hrun` package (`src/bin/hrun-mc-pi.rs` at the workspace
//! root) so that `cargo install` and the Python wheel carry it beside `hrun`; it only calls
//! [`main`].

use std::path::PathBuf;
use std::process::exit;
use std::time::{SystemTime, UNIX_EPOCH};

use clap::Parser;

use crate::kernel::Kernel;
use crate::output::PendingResult;
use crate::result::{FORMAT, McPiResult};
use crate::run::{self, Bind};

/// Exit status for bad input (flags, values, an unwritable output path).
const EXIT_USAGE: i32 = 2;
/// Exit status when the run itself fails after starting.
const EXIT_FAILED: i32 = 1;

#[derive(Debug, Parser)]
#[command(
    name = "hrun-mc-pi",
    version,
    about = "Monte Carlo pi: count random points of the unit square inside the quarter circle",
    after_help = "The result is a pure function of (-n, -t, --seed): the same hits on any machine, \
                  under any load.\n\nExample:\n  hrun-mc-pi -t 4 -n 100000000 --seed 7 -o results/mc_pi_7.toml\n\n\
                  Kernel: the fastest this CPU runs (avx512, avx2, neon, else scalar; all give the same \
                  hits); HRUN_MC_PI_KERNEL=NAME forces one.\n\n\
                  Exit status: 0 ok; 2 bad input (including an unwritable output path or a kernel this \
                  CPU cannot run); 1 run failed"
)]
struct Args {
    /// Samples per thread (weak scaling: total = n x t)
    #[arg(short = 'n', long = "samples", value_name = "N", required_unless_present = "bench")]
    samples: Option<u64>,
    /// Worker threads, exactly this many [default: 1; with --bench, the CPUs this process may use]
    #[arg(short = 't', long, value_name = "T")]
    threads: Option<usize>,
    /// Seed of the random streams
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Write the TOML result here (atomically); stdout if absent
    #[arg(short = 'o', long, value_name = "PATH")]
    output: Option<PathBuf>,
    /// Pin worker thread k to the k-th CPU of the affinity mask (like OMP_PROC_BIND=close)
    #[arg(long)]
    bind: bool,
    /// Measure samples/s: each kernel (scalar, SIMD) on one thread, then thread scaling up
    /// to -t (default: the CPUs this process may use); -n sets the samples per thread
    #[arg(long)]
    bench: bool,
}

fn fail(code: i32, msg: String) -> ! {
    eprintln!("hrun-mc-pi: error: {msg}");
    exit(code)
}

/// The whole `hrun-mc-pi` program: parses the process's arguments, runs, and exits with 2 on
/// bad input or 1 when the run fails.
pub fn main() {
    let args: Args = crate::cli_error::parse_or_exit("hrun-mc-pi");
    let kernel = Kernel::from_env().unwrap_or_else(|e| fail(EXIT_USAGE, e.to_string()));
    if args.bench {
        let threads =
            args.threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
        match crate::bench::bench(args.samples.unwrap_or(500_000_000).max(1), threads.max(1), kernel) {
            Ok(table) => print!("{table}"),
            Err(e) => fail(EXIT_FAILED, e),
        }
        return;
    }
    let samples = args.samples.unwrap_or(0);
    if samples == 0 {
        fail(EXIT_USAGE, "-n/--samples must be at least 1 (got 0)".into());
    }
    let threads = args.threads.unwrap_or(1);
    if threads == 0 {
        fail(EXIT_USAGE, "-t/--threads must be at least 1 (got 0)".into());
    }
    // Reserve the output first: an unwritable path fails now, not after the computation.
    let pending = args.output.as_ref().map(|p| {
        PendingResult::reserve(p)
            .unwrap_or_else(|e| fail(EXIT_USAGE, format!("cannot write result to {}: {e}", p.display())))
    });
    let bind = if args.bind { Bind::Close } else { Bind::None };
    let start = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64());
    let outcome = match run::run(samples, threads, args.seed, bind, kernel) {
        Ok(o) => o,
        Err(e) => {
            // `exit` runs no destructor: remove the temporary file first.
            drop(pending);
            fail(EXIT_USAGE, e.to_string())
        }
    };
    let result = McPiResult {
        format: FORMAT.into(),
        seed: args.seed,
        threads: threads as u64,
        samples_per_thread: samples,
        samples: outcome.samples,
        hits: outcome.hits,
        pi: 4.0 * outcome.hits as f64 / outcome.samples as f64,
        start,
        elapsed_s: outcome.elapsed_s,
        samples_per_s: outcome.samples as f64 / outcome.elapsed_s.max(1e-9),
        cpu_s: own_cpu_seconds(),
        cpus: own_cpus(),
        host: hostname(),
        version: env!("CARGO_PKG_VERSION").into(),
        kernel: kernel.name().into(),
    };
    let text = result.to_toml();
    match (pending, &args.output) {
        (Some(p), Some(path)) => p
            .commit(&text)
            .unwrap_or_else(|e| fail(EXIT_FAILED, format!("cannot write result to {}: {e}", path.display()))),
        _ => print!("{text}"),
    }
}

/// User + system CPU seconds of this process so far.
fn own_cpu_seconds() -> f64 {
    // SAFETY: all-zero is a valid rusage (plain integers).
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage writes into the struct it is given, which lives for the call.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    let secs = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
    secs(ru.ru_utime) + secs(ru.ru_stime)
}

/// The affinity list as the kernel prints it for this process.
fn own_cpus() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| l.strip_prefix("Cpus_allowed_list:").map(|v| v.trim().to_string()))
        })
        .unwrap_or_default()
}

fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length.
    if unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) } != 0 {
        return "unknown".into();
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}
