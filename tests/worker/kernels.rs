//! The kernels through the binary: each one this CPU runs, forced by `HRUN_MC_PI_KERNEL`,
//! gives the same hits and names itself in the result; a kernel it cannot run is refused
//! before anything is written.

use mc_pi::kernel::Kernel;

use crate::{result_of, worker};

#[test]
fn every_kernel_this_cpu_runs_gives_identical_hits_and_is_named_in_the_result() {
    let args = ["-n", "3000001", "-t", "3", "--seed", "99"];
    let auto = result_of(&worker().args(args).env_remove("HRUN_MC_PI_KERNEL").output().unwrap());
    assert_eq!(auto.kernel, Kernel::best().name(), "unset: the fastest kernel");
    for name in ["auto", ""] {
        let r = result_of(&worker().args(args).env("HRUN_MC_PI_KERNEL", name).output().unwrap());
        assert_eq!((r.kernel.as_str(), r.hits), (Kernel::best().name(), auto.hits), "{name:?}");
    }
    for k in Kernel::ALL {
        if !k.available() {
            eprintln!("kernel {} not run: this CPU lacks it", k.name());
            continue;
        }
        let r = result_of(&worker().args(args).env("HRUN_MC_PI_KERNEL", k.name()).output().unwrap());
        assert_eq!(r.kernel, k.name());
        assert_eq!(r.hits, auto.hits, "kernel {} disagrees with {}", k.name(), auto.kernel);
    }
}

#[test]
fn a_kernel_the_cpu_cannot_run_or_an_unknown_name_is_refused_before_anything_is_written() {
    let missing = Kernel::ALL.into_iter().find(|k| !k.available()).unwrap().name();
    let runs: Vec<&str> = Kernel::available_all().into_iter().map(Kernel::name).collect();
    let cases = [
        (
            missing.to_string(),
            format!("HRUN_MC_PI_KERNEL={missing}: this CPU cannot run it (it runs: {})", runs.join(", ")),
        ),
        (
            "AVX2".to_string(),
            "HRUN_MC_PI_KERNEL=\"AVX2\" is not a kernel (auto, scalar, avx2, avx512, neon)".to_string(),
        ),
    ];
    for (value, message) in cases {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.toml");
        let out =
            worker().args(["-n", "1000", "-o"]).arg(&path).env("HRUN_MC_PI_KERNEL", &value).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{value}");
        assert_eq!(String::from_utf8_lossy(&out.stderr), format!("hrun-mc-pi: error: {message}\n"));
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "{value}: something was written");
    }
}

#[test]
fn bench_measures_every_kernel_this_cpu_runs() {
    let out = worker().args(["--bench", "-n", "2000000", "-t", "2"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    for k in Kernel::available_all() {
        assert!(text.lines().any(|l| l.starts_with(&format!("{} ", k.name()))), "{}: {text}", k.name());
    }
    assert!(text.contains("thread scaling t=2 / t=1:"), "{text}");
}
