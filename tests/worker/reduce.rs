//! `hrun reduce` against a hand computation: the pooled estimate is total hits over total
//! samples (runs weighted by their samples, not an average of their estimates), and its
//! standard error is the binomial one of all samples together.

use std::path::Path;

use hrun_protocol::result::McPiResult;

use crate::statistics::reduce;
use crate::worker;

/// A result file written by hand: `(seed, threads, samples per thread, hits, start, elapsed,
/// cpu seconds)`.
fn write_result(
    dir: &Path,
    (seed, threads, per_thread, hits, start, elapsed, cpu): (u64, u64, u64, u64, f64, f64, f64),
) {
    let samples = threads * per_thread;
    let text = format!(
        "format = \"hrun-mc-pi/1\"\nseed = {seed}\nthreads = {threads}\nsamples_per_thread = {per_thread}\n\
         samples = {samples}\nhits = {hits}\npi = {}\nstart = {start:?}\nelapsed_s = {elapsed:?}\n\
         samples_per_s = {:?}\ncpu_s = {cpu:?}\ncpus = \"0\"\nhost = \"h\"\nversion = \"0.1.0\"\n\
         kernel = \"scalar\"\n",
        4.0 * hits as f64 / samples as f64,
        samples as f64 / elapsed,
    );
    std::fs::write(dir.join(format!("mc_pi_{seed}.toml")), text).unwrap();
}

fn close(got: f64, want: f64, rel: f64) -> bool {
    (got - want).abs() <= rel * want.abs()
}

/// Three runs of different sizes. By hand (40-digit decimal arithmetic):
/// samples 1e6 + 2e6 + 6e6 = 9e6, hits 785,000 + 1,571,000 + 4,712,500 = 7,068,500,
/// p = 0.785388..., pi = 4p = 3.1415555..., stderr = 4 sqrt(p (1 - p) / 9e6) =
/// 5.474030521552801e-4, z = (pi - 3.14159265358979...) / stderr = -0.0677709670993;
/// the runs' own estimates 3.14, 3.142, 3.1416667 average to 3.1412222 instead.
/// Wall span: first start 999.5, last end 1001 + 4 = 1005: 5.5 s; CPU 2 + 16 + 3 = 21 s.
#[test]
fn the_pooled_estimate_and_its_standard_error_are_the_hand_computed_ones() {
    let dir = tempfile::tempdir().unwrap();
    write_result(dir.path(), (1, 1, 1_000_000, 785_000, 1000.0, 2.0, 2.0));
    write_result(dir.path(), (2, 4, 500_000, 1_571_000, 1001.0, 4.0, 16.0));
    write_result(dir.path(), (3, 2, 3_000_000, 4_712_500, 999.5, 1.5, 3.0));
    let r = reduce(&[dir.path().to_path_buf()]);
    assert_eq!(
        (r["tasks"].as_u64(), r["samples"].as_u64(), r["hits"].as_u64()),
        (Some(3), Some(9_000_000), Some(7_068_500))
    );
    let f = |k: &str| r[k].as_f64().unwrap();
    assert!(close(f("pi"), 3.141_555_555_555_555_6, 1e-15), "pi {}", f("pi"));
    assert!(!close(f("pi"), 3.141_222_222_222_222, 1e-6), "an average of estimates, not the pooled one");
    assert!(close(f("stderr"), 5.474_030_521_552_801e-4, 1e-12), "stderr {}", f("stderr"));
    assert!(close(f("z"), -0.067_770_967_099_3, 1e-9), "z {}", f("z"));
    assert!(close(f("span_s"), 5.5, 1e-12) && close(f("cpu_s"), 21.0, 1e-12), "{r}");
    assert!(
        close(f("samples_per_s"), 9e6 / 5.5, 1e-12) && close(f("samples_per_cpu_s"), 9e6 / 21.0, 1e-12),
        "{r}"
    );
}

/// Real worker results of several shapes: reduce gives exactly the sums of the files and the
/// estimate, standard error and z of the formula above, computed here from the files.
#[test]
fn reduce_of_real_worker_results_matches_the_formula_applied_by_hand() {
    let dir = tempfile::tempdir().unwrap();
    let shapes = [(11, 1, 100_000), (12, 2, 250_000), (13, 3, 77_777), (14, 4, 1_000_003), (15, 1, 8)];
    for (seed, threads, n) in shapes {
        let out = worker()
            .args(["-t", &threads.to_string(), "-n", &n.to_string(), "--seed", &seed.to_string(), "-o"])
            .arg(dir.path().join(format!("mc_pi_{seed}.toml")))
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let files: Vec<McPiResult> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| McPiResult::parse(&std::fs::read_to_string(e.unwrap().path()).unwrap()).unwrap())
        .collect();
    let samples: u64 = files.iter().map(|r| r.samples).sum();
    let hits: u64 = files.iter().map(|r| r.hits).sum();
    let p = hits as f64 / samples as f64;
    let stderr = 4.0 * (p * (1.0 - p) / samples as f64).sqrt();
    let r = reduce(&[dir.path().to_path_buf()]);
    assert_eq!((r["samples"].as_u64(), r["hits"].as_u64()), (Some(samples), Some(hits)));
    assert!(close(r["pi"].as_f64().unwrap(), 4.0 * p, 1e-15), "{r}");
    assert!(close(r["stderr"].as_f64().unwrap(), stderr, 1e-12), "{r}");
    let z = (4.0 * p - std::f64::consts::PI) / stderr;
    assert!((r["z"].as_f64().unwrap() - z).abs() < 1e-9, "{r}");
}
