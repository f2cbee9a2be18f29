//! The worker's estimates checked as a statistician would, on the real binaries with fixed
//! seeds (so every run of these tests sees the same numbers and gives the same verdict):
//!
//! - the z-scores `hrun reduce` prints for 400 seeds follow N(0,1) (Kolmogorov-Smirnov at 1%);
//! - the hits of consecutive seeds (what `hrun gen` assigns) are not correlated, nor are the
//!   hits of different threads of one run;
//! - pooled over all 400 seeds (4.2e8 samples), the estimate is within 3.3 standard errors.
//!
//! Each check is also run on data with a known defect (threads that share a stream, streams
//! that overlap), which it must reject: a check that cannot fail would prove nothing.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use mc_pi::kernel::{Kernel, count_hits_with};

use crate::stats::{correlation_p_value, ks_p_value, ks_statistic, normal_cdf, pearson};
use crate::{hits, result_of, worker};

/// Seeds `1..=SEEDS`, as `hrun gen --tasks 400 --seed 0` assigns them.
const SEEDS: u64 = 400;
/// Samples per thread of each run: 2^18, so a 4-thread run has about 1e6 samples and its z is
/// normal to well within what 400 points can resolve (skewness 0.0014).
const N: u64 = 1 << 18;
/// The level every test here rejects at (after a Bonferroni split where one test makes
/// several comparisons).
const ALPHA: f64 = 0.01;

/// What the runs of one seed gave.
struct Seed {
    /// `hrun reduce --json`'s z for the 4-thread run alone.
    z: f64,
    /// Hits of thread 0, thread 1, threads 2 and 3: from runs with -t 1, 2 and 4 (thread k's
    /// streams do not depend on -t, so differences isolate threads).
    threads: [u64; 3],
    /// Hits of the 4-thread run.
    hits4: u64,
}

struct Data {
    seeds: Vec<Seed>,
    /// The directory holding every 4-thread result (for the pooled reduce).
    dir: tempfile::TempDir,
}

/// The runs, made once and shared by the tests below (two threads: the machine has two CPUs).
fn data() -> &'static Data {
    static DATA: OnceLock<Data> = OnceLock::new();
    DATA.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let seeds: Vec<u64> = (1..=SEEDS).collect();
        let halves: Vec<Vec<Seed>> = std::thread::scope(|s| {
            let jobs: Vec<_> = seeds
                .chunks(seeds.len() / 2)
                .map(|chunk| s.spawn(|| chunk.iter().map(|&seed| one_seed(dir.path(), seed)).collect()))
                .collect();
            jobs.into_iter().map(|j| j.join().unwrap()).collect()
        });
        Data { seeds: halves.into_iter().flatten().collect(), dir }
    })
}

fn one_seed(dir: &Path, seed: u64) -> Seed {
    let n = N.to_string();
    let s = seed.to_string();
    let own = dir.join(format!("seed-{seed}"));
    let out = worker()
        .args(["-t", "4", "-n", &n, "--seed", &s, "-o"])
        .arg(own.join(format!("mc_pi_{seed}.toml")))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let r = reduce(&[own]);
    let h1 = hits(&["-t", "1", "-n", &n, "--seed", &s]);
    let h2 = hits(&["-t", "2", "-n", &n, "--seed", &s]);
    let hits4 = r["hits"].as_u64().unwrap();
    Seed { z: r["z"].as_f64().unwrap(), threads: [h1, h2 - h1, hits4 - h2], hits4 }
}

/// `hrun reduce --json DIR...`, parsed (through the one `reduce_json` of tests/common).
pub fn reduce(dirs: &[PathBuf]) -> serde_json::Value {
    let dirs: Vec<&str> = dirs.iter().map(|d| d.to_str().expect("a UTF-8 path")).collect();
    crate::common::reduce_json(std::path::Path::new(env!("CARGO_MANIFEST_DIR")), &dirs)
}

/// The z of `hits` among `samples` as reduce defines it (checked against reduce in reduce.rs).
fn z_of(hits: f64, samples: f64) -> f64 {
    let p = hits / samples;
    (4.0 * p - std::f64::consts::PI) / (4.0 * (p * (1.0 - p) / samples).sqrt())
}

/// KS p-value of `z` against N(0,1).
fn ks_p(z: &[f64]) -> f64 {
    ks_p_value(ks_statistic(z, normal_cdf), z.len())
}

#[test]
fn z_scores_of_400_seeds_follow_the_standard_normal() {
    let z: Vec<f64> = data().seeds.iter().map(|s| s.z).collect();
    let p = ks_p(&z);
    eprintln!(
        "KS of {} z-scores against N(0,1): D = {:.4}, p = {p:.3}",
        z.len(),
        ks_statistic(&z, normal_cdf)
    );
    assert!(p >= ALPHA, "the printed standard errors do not make N(0,1) z-scores: KS p = {p}");

    // The same test rejects what a defect would print. If the 4 threads drew one stream,
    // a run's hits would be 4x thread 0's and its spread twice what the standard error says.
    let shared: Vec<f64> =
        data().seeds.iter().map(|s| z_of(4.0 * s.threads[0] as f64, (4 * N) as f64)).collect();
    eprintln!("control, one stream for all threads: KS p = {:.2e}", ks_p(&shared));
    assert!(ks_p(&shared) < ALPHA, "KS cannot tell streams shared by threads: p = {}", ks_p(&shared));
    // And a bias of half a standard error.
    let shifted: Vec<f64> = z.iter().map(|v| v + 0.5).collect();
    eprintln!("control, bias of 0.5 standard errors: KS p = {:.2e}", ks_p(&shifted));
    assert!(ks_p(&shifted) < ALPHA, "KS cannot see a bias of 0.5 standard errors");
}

/// The estimate pooled over all seeds: reduce over the 400 result files, 4.2e8 samples.
#[test]
fn the_pooled_estimate_of_400_seeds_is_within_3_3_standard_errors() {
    let d = data();
    let dirs: Vec<PathBuf> = std::fs::read_dir(d.dir.path()).unwrap().map(|e| e.unwrap().path()).collect();
    let r = reduce(&dirs);
    assert_eq!(r["tasks"].as_u64(), Some(SEEDS));
    let hits: u64 = d.seeds.iter().map(|s| s.hits4).sum();
    assert_eq!(r["hits"].as_u64(), Some(hits));
    let z = r["z"].as_f64().unwrap();
    eprintln!("pooled: pi = {}, stderr = {}, z = {z:.3}", r["pi"], r["stderr"]);
    // Two-sided 0.1%: a hit test biased by one lattice row would be z ~ 20 here.
    assert!(z.abs() < 3.29, "pooled z = {z}");
}

/// Consecutive seeds, as `hrun gen` assigns them: SplitMix64 seeding must leave no trace of
/// the seeds' nearness in the hits (lag 1 and lag 2 over the seed sequence).
#[test]
fn hits_of_consecutive_seeds_are_not_correlated() {
    let h: Vec<f64> = data().seeds.iter().map(|s| s.hits4 as f64).collect();
    for lag in [1, 2] {
        let r = pearson(&h[..h.len() - lag], &h[lag..]);
        let p = correlation_p_value(r, h.len() - lag);
        eprintln!("seeds s and s+{lag}: r = {r:.4}, p = {p:.3}");
        assert!(p >= ALPHA / 2.0, "hits of seeds s and s+{lag} correlate: r = {r}, p = {p}");
    }
}

/// Threads of one run: thread 0, thread 1 and threads 2-3 (isolated through runs with -t 1,
/// 2 and 4), pairwise over the 400 seeds.
#[test]
fn hits_of_the_threads_of_a_run_are_not_correlated() {
    let d = data();
    let col = |k: usize| -> Vec<f64> { d.seeds.iter().map(|s| s.threads[k] as f64).collect() };
    for (a, b) in [(0, 1), (0, 2), (1, 2)] {
        let r = pearson(&col(a), &col(b));
        let p = correlation_p_value(r, d.seeds.len());
        eprintln!("thread groups {a} and {b}: r = {r:.4}, p = {p:.3}");
        assert!(p >= ALPHA / 3.0, "thread groups {a} and {b} correlate: r = {r}, p = {p}");
    }
}

/// The full matrix of 8 threads (through the library: the binary's runs give only prefix
/// sums), and the defect the test is there for: two streams that overlap (thread 0's own
/// stream, one round of 8 samples later) correlate almost perfectly.
#[test]
fn hits_of_8_threads_are_pairwise_uncorrelated_and_overlapping_streams_are_caught() {
    let n = 1 << 14;
    let kernel = Kernel::best();
    let per_thread: Vec<Vec<f64>> = (0..8)
        .map(|k| (1..=SEEDS).map(|seed| count_hits_with(kernel, seed, k, n) as f64).collect())
        .collect();
    let pairs = 8 * 7 / 2;
    let mut worst = 1.0f64;
    for a in 0..8 {
        for b in a + 1..8 {
            let r = pearson(&per_thread[a], &per_thread[b]);
            worst = worst.min(correlation_p_value(r, SEEDS as usize));
        }
    }
    eprintln!("8 threads, 28 pairs: smallest p = {worst:.4}");
    assert!(worst >= ALPHA / pairs as f64, "two threads' hits correlate: p = {worst}");

    let shifted: Vec<f64> = (1..=SEEDS)
        .map(|seed| (count_hits_with(kernel, seed, 0, n + 8) - count_hits_with(kernel, seed, 0, 8)) as f64)
        .collect();
    let r = pearson(&per_thread[0], &shifted);
    eprintln!("control, thread 0 against itself 8 samples later: r = {r:.4}");
    assert!(correlation_p_value(r, SEEDS as usize) < ALPHA / pairs as f64, "overlap not caught: r = {r}");
}

/// The worker's result is what its threads computed: -t 4 is the sum of thread 0 (-t 1), the
/// difference -t 2 minus -t 1, and so on; checked here against the library for a few seeds so
/// that the thread isolation the tests above rely on is itself tested.
#[test]
fn runs_with_fewer_threads_are_prefixes_of_runs_with_more() {
    let seed = 3;
    let per: Vec<u64> = (0..4).map(|k| count_hits_with(Kernel::Scalar, seed, k, N)).collect();
    let s = &data().seeds[(seed - 1) as usize];
    assert_eq!(s.threads, [per[0], per[1], per[2] + per[3]]);
    let r = result_of(
        &worker().args(["-t", "4", "-n", &N.to_string(), "--seed", &seed.to_string()]).output().unwrap(),
    );
    assert_eq!(r.hits, per.iter().sum::<u64>());
}
