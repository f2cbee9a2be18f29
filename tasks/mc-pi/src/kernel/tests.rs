//! Every kernel against the stream definition. A kernel this CPU cannot run is left out and
//! named on stderr (`cargo test -- --nocapture` shows it; the test harness hides it
//! otherwise): the x86 kernels run on x86-64 CPUs that have the feature (AVX-512 is not
//! emulated where it is missing), NEON under `.ci/aarch64.sh` (qemu). `benches/kernel.sh
//! --smoke` prints which kernels it left out.

use rand_xoshiro::rand_core::Rng;

use super::*;

/// The kernels this CPU runs; says which it cannot.
fn runnable() -> Vec<Kernel> {
    for k in Kernel::ALL.into_iter().filter(|k| !k.available()) {
        eprintln!("kernel {} not run: this build or CPU lacks it", k.name());
    }
    Kernel::available_all()
}

/// Lanes whose next outputs are exactly `u`: xoshiro256++'s output is
/// `rotl(s0 + s3, 23) + s0`, so `s0 = 0`, `s3 = rotr(u, 23)` gives `u`. `s1`, `s2` are free.
fn lanes_emitting(u: [u64; LANES], s1: u64) -> Lanes {
    let mut s = [[0u64; LANES]; 4];
    for l in 0..LANES {
        s[1][l] = s1.wrapping_mul(l as u64 + 1);
        s[2][l] = !s1 ^ l as u64;
        s[3][l] = u[l].rotate_right(23);
    }
    Lanes { s }
}

/// The lane generator is xoshiro256++ exactly: each lane matches rand_xoshiro's stream.
#[test]
fn lanes_match_rand_xoshiro_streams() {
    for (seed, thread) in [(0, 0), (1, 0), (42, 3)] {
        let mut lanes = Lanes::for_thread(seed, thread);
        let mut reference: Vec<Xoshiro256PlusPlus> = (0..LANES)
            .map(|l| {
                let mut r = Xoshiro256PlusPlus::seed_from_u64(seed);
                for _ in 0..thread * LANES + l {
                    r.jump();
                }
                r
            })
            .collect();
        for _ in 0..100 {
            let got = lanes.step();
            for l in 0..LANES {
                assert_eq!(got[l], reference[l].next_u64());
            }
        }
    }
}

#[test]
fn lanes_emitting_emits() {
    let u = [0, 1, u64::MAX, 1 << 63, 12345, 0xdead_beef_0000_0001, 7, 8];
    assert_eq!(lanes_emitting(u, 99).step(), u);
}

/// Each kernel's hit test on chosen outputs: both sides of the circle's edge, carries into and
/// out of the sign bit (where a signed compare or a flipped bias would go wrong), and
/// extremes. One round per 8 values, so each value meets the vector hit test directly.
#[test]
fn every_kernel_classifies_edge_samples_as_the_definition_does() {
    let mut values: Vec<u64> = vec![0, 1, u64::MAX, 1 << 63, (1 << 63) - 1, 0xffff_ffff, 0xffff_ffff << 32];
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(29);
    for _ in 0..4000 {
        // A random x, and the largest y inside (x² + y² < 2^64) with its neighbour outside.
        let x = rng.next_u64() >> 32;
        let room = u64::MAX - x * x;
        let mut y = (room as f64).sqrt() as u64;
        while y > 0 && y.checked_mul(y).is_none_or(|yy| yy > room) {
            y -= 1;
        }
        while y + 1 < 1 << 32 && (y + 1) * (y + 1) <= room {
            y += 1;
        }
        values.push((x << 32) | y);
        if y + 1 < 1 << 32 {
            values.push((x << 32) | (y + 1));
        }
        values.push(rng.next_u64());
    }
    values.resize(values.len().div_ceil(LANES) * LANES, 0);
    for kernel in runnable() {
        for (i, chunk) in values.chunks(LANES).enumerate() {
            let u: [u64; LANES] = chunk.try_into().unwrap();
            let want = u.iter().filter(|&&v| is_hit(v)).count() as u64;
            let got = run_rounds(kernel, &mut lanes_emitting(u, i as u64), 1);
            assert_eq!(got, want, "{}: outputs {u:x?}", kernel.name());
        }
    }
}

/// Each kernel leaves the lanes exactly where stepping them would, and counts what the
/// portable kernel counts, for round counts around the unrolling of each.
#[test]
fn every_kernel_advances_the_lanes_as_the_definition_does() {
    for kernel in runnable() {
        for rounds in [0, 1, 2, 3, 5, 17, 1000] {
            let mut want = Lanes::for_thread(3, 2);
            let want_hits = rounds_portable(&mut want, rounds);
            let mut got = Lanes::for_thread(3, 2);
            assert_eq!(run_rounds(kernel, &mut got, rounds), want_hits, "{} rounds {rounds}", kernel.name());
            assert_eq!(got, want, "{} rounds {rounds}: lane state", kernel.name());
        }
    }
}

/// The kernel counts exactly the samples of the stream definition, tail included.
#[test]
fn every_kernel_matches_a_sample_by_sample_reading_of_the_definition() {
    for samples in [0, 1, 7, 8, 9, 1000, 1003] {
        let mut lanes = Lanes::for_thread(9, 1);
        let mut outputs = Vec::new();
        while outputs.len() < samples as usize {
            outputs.extend(lanes.step());
        }
        let want = outputs[..samples as usize].iter().filter(|&&u| is_hit(u)).count() as u64;
        for kernel in runnable() {
            assert_eq!(count_hits_with(kernel, 9, 1, samples), want, "{} samples {samples}", kernel.name());
        }
    }
}

/// Long runs: every kernel computes exactly what the portable one does.
#[test]
fn every_kernel_gives_identical_hits() {
    for (seed, thread, samples) in [(0, 0, 1_000_003), (7, 5, 999_999), (u64::MAX, 1, 64)] {
        let scalar = count_hits_with(Kernel::Scalar, seed, thread, samples);
        for kernel in runnable() {
            assert_eq!(count_hits_with(kernel, seed, thread, samples), scalar, "{}", kernel.name());
        }
    }
}

#[test]
fn hit_test_edges() {
    assert!(is_hit(0));
    // x = 2^32 - 1, y = 0: x² < 2^64.
    assert!(is_hit(0xffff_ffff_0000_0000));
    // x = y = 2^32 - 1: far outside.
    assert!(!is_hit(u64::MAX));
    // x = y = 3037000499 (floor(2^31.5)): x² + y² < 2^64; +1 each is outside.
    let x: u64 = 3_037_000_499;
    assert!(is_hit((x << 32) | x));
    assert!(!is_hit(((x + 1) << 32) | (x + 1)));
}

#[test]
fn all_streams_of_a_run_differ() {
    let mut firsts = std::collections::HashSet::new();
    for thread in 0..16 {
        let mut l = Lanes::for_thread(7, thread);
        for v in l.step() {
            assert!(firsts.insert(v), "two streams start with the same output");
        }
    }
}

#[test]
fn kernels_are_chosen_by_name_and_refused_where_they_cannot_run() {
    assert_eq!(Kernel::by_name("scalar"), Ok(Kernel::Scalar));
    assert_eq!(Kernel::by_name("auto"), Ok(Kernel::best()));
    assert_eq!(Kernel::by_name(""), Ok(Kernel::best()));
    assert!(Kernel::best().available());
    let e = Kernel::by_name("sse9").unwrap_err().to_string();
    assert_eq!(e, "HRUN_MC_PI_KERNEL=\"sse9\" is not a kernel (auto, scalar, avx2, avx512, neon)");
    // One of NEON and the x86 kernels is always missing.
    let missing = Kernel::ALL.into_iter().find(|k| !k.available()).unwrap();
    let e = Kernel::by_name(missing.name()).unwrap_err().to_string();
    assert!(
        e.starts_with(&format!(
            "HRUN_MC_PI_KERNEL={}: this CPU cannot run it (it runs: scalar",
            missing.name()
        )),
        "{e}"
    );
}

/// A kernel the CPU lacks is refused, not run: its vector code would be undefined behaviour.
#[test]
#[should_panic(expected = "chosen on a CPU that cannot run it")]
fn a_missing_kernel_panics_instead_of_running() {
    let missing = Kernel::ALL.into_iter().find(|k| !k.available()).unwrap();
    count_hits_with(missing, 1, 0, 100);
}
