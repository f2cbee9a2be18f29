//! The sampling kernel. The sample stream is defined so that it is a pure function of
//! (samples per thread, threads, seed), whatever the scheduling, and so that a vectorised
//! implementation can compute bit-identical hits:
//!
//! - Streams: `base = Xoshiro256PlusPlus::seed_from_u64(seed)` (SplitMix64 seeding, as
//!   rand_xoshiro does it); stream `j` is `base` advanced by `j` calls of `jump()` (2^128
//!   steps each), so streams never overlap. Thread `k` owns the [`LANES`] streams
//!   `j = LANES*k .. LANES*k + LANES - 1`, one per lane.
//! - Samples: thread-local sample `i` (0-based) is drawn by lane `i % LANES`, as that lane's
//!   `(i / LANES)`-th output `u`. Its point is `x = u >> 32`, `y = u & 0xffff_ffff` (both
//!   halves of xoshiro256++ are full-quality: the `++` scrambler has no weak low bits).
//! - Hit test, in exact integer arithmetic: `x² + y² < 2^64`, i.e. the point
//!   `(x, y) / 2^32` lies inside the quarter circle. The lattice of corners over-counts the
//!   disc by about its two radii (Gauss circle problem): the relative bias of `hits/N` is
//!   `4 / (pi * 2^32) ≈ 3.0e-10`, so `pi` is biased by about `+9.3e-10`, under 0.01 standard
//!   errors for any run below 3e14 samples and one standard error only at ~3e18.

use rand_xoshiro::Xoshiro256PlusPlus;
use rand_xoshiro::rand_core::SeedableRng;

/// Independent xoshiro256++ streams interleaved in each thread's sample stream.
pub const LANES: usize = 8;

/// The `LANES` generators of one thread, stored as structure-of-arrays so the compiler (or a
/// hand-written SIMD path) can advance all lanes at once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lanes {
    s: [[u64; LANES]; 4],
}

impl Lanes {
    /// The lanes of thread `thread` for `seed`, per the stream definition above.
    pub fn for_thread(seed: u64, thread: usize) -> Lanes {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        for _ in 0..thread * LANES {
            rng.jump();
        }
        let mut s = [[0u64; LANES]; 4];
        for lane in 0..LANES {
            let bytes = rng.state();
            for (w, word) in s.iter_mut().enumerate() {
                word[lane] = u64::from_le_bytes(bytes[8 * w..8 * w + 8].try_into().unwrap());
            }
            rng.jump();
        }
        Lanes { s }
    }

    /// Advances every lane once; returns each lane's output (xoshiro256++).
    #[inline(always)]
    pub fn step(&mut self) -> [u64; LANES] {
        let mut out = [0u64; LANES];
        let [s0, s1, s2, s3] = &mut self.s;
        for l in 0..LANES {
            out[l] = s0[l].wrapping_add(s3[l]).rotate_left(23).wrapping_add(s0[l]);
            let t = s1[l] << 17;
            s2[l] ^= s0[l];
            s3[l] ^= s1[l];
            s1[l] ^= s2[l];
            s0[l] ^= s3[l];
            s2[l] ^= t;
            s3[l] = s3[l].rotate_left(45);
        }
        out
    }
}

/// True when the sample drawn as `u` falls inside the quarter circle.
#[inline(always)]
pub fn is_hit(u: u64) -> bool {
    let (x, y) = (u >> 32, u & 0xffff_ffff);
    !(x * x).overflowing_add(y * y).1
}

/// A way to compute the hits; all give identical results (the stream is defined above, not
/// by the kernel), only the speed differs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kernel {
    /// Portable code (the compiler vectorises it for the baseline target: SSE2 on x86-64,
    /// NEON on aarch64).
    Scalar,
    /// The same code compiled for AVX2 (four 64-bit lanes per instruction), chosen at run
    /// time on CPUs that have it.
    #[cfg(target_arch = "x86_64")]
    Avx2,
}

impl Kernel {
    /// The fastest kernel this CPU runs; `HRUN_MC_PI_KERNEL=scalar` forces the portable one.
    pub fn detect() -> Kernel {
        if std::env::var("HRUN_MC_PI_KERNEL").is_ok_and(|v| v == "scalar") {
            return Kernel::Scalar;
        }
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            return Kernel::Avx2;
        }
        Kernel::Scalar
    }

    pub fn name(self) -> &'static str {
        match self {
            Kernel::Scalar => "scalar",
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2 => "avx2",
        }
    }
}

/// Hits among the `samples` samples of thread `thread`, with the fastest kernel.
pub fn count_hits(seed: u64, thread: usize, samples: u64) -> u64 {
    count_hits_with(Kernel::detect(), seed, thread, samples)
}

/// Hits among the `samples` samples of thread `thread`, with `kernel`.
pub fn count_hits_with(kernel: Kernel, seed: u64, thread: usize, samples: u64) -> u64 {
    let mut lanes = Lanes::for_thread(seed, thread);
    let rounds = samples / LANES as u64;
    let rest = (samples % LANES as u64) as usize;
    let full = match kernel {
        Kernel::Scalar => rounds_portable(&mut lanes, rounds),
        // SAFETY: `Kernel::Avx2` is only chosen where the CPU has AVX2 (see `detect`), or by
        // tests that check for it first.
        #[cfg(target_arch = "x86_64")]
        Kernel::Avx2 => unsafe { rounds_avx2(&mut lanes, rounds) },
    };
    let u = lanes.step();
    let tail: u64 = u[..rest].iter().map(|&v| is_hit(v) as u64).sum();
    full + tail
}

/// The hot loop: one step of every lane per round, allocation-free and branch-free, written
/// so that the compiler keeps the 8 lanes in vector registers.
#[inline(always)]
fn rounds_generic(lanes: &mut Lanes, rounds: u64) -> u64 {
    let mut hits = [0u64; LANES];
    for _ in 0..rounds {
        let u = lanes.step();
        for l in 0..LANES {
            hits[l] += is_hit(u[l]) as u64;
        }
    }
    hits.iter().sum()
}

fn rounds_portable(lanes: &mut Lanes, rounds: u64) -> u64 {
    rounds_generic(lanes, rounds)
}

/// The hot loop in AVX2: the 8 lanes as two registers of four 64-bit lanes. Step for step
/// the same operations as [`Lanes::step`] and [`is_hit`] (the compiler does not vectorise
/// the 45-bit rotation on its own); the hit test's carry out of `x² + y²` is found with a
/// signed compare after flipping the sign bits, since AVX2 has no unsigned 64-bit compare.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn rounds_avx2(lanes: &mut Lanes, rounds: u64) -> u64 {
    use std::arch::x86_64::*;

    #[inline]
    #[target_feature(enable = "avx2")]
    fn rotl<const L: i32, const R: i32>(x: __m256i) -> __m256i {
        _mm256_or_si256(_mm256_slli_epi64::<L>(x), _mm256_srli_epi64::<R>(x))
    }
    let load = |w: &[u64; LANES], half: usize| {
        // SAFETY: reads 4 u64 (32 bytes) inside the 8-element array; unaligned load.
        unsafe { _mm256_loadu_si256(w[4 * half..].as_ptr().cast()) }
    };
    let mut s: [[__m256i; 2]; 4] = std::array::from_fn(|w| [load(&lanes.s[w], 0), load(&lanes.s[w], 1)]);
    let sign = _mm256_set1_epi64x(i64::MIN);
    let mut misses = [_mm256_setzero_si256(); 2];
    for _ in 0..rounds {
        for h in 0..2 {
            let u = _mm256_add_epi64(rotl::<23, 41>(_mm256_add_epi64(s[0][h], s[3][h])), s[0][h]);
            let t = _mm256_slli_epi64::<17>(s[1][h]);
            s[2][h] = _mm256_xor_si256(s[2][h], s[0][h]);
            s[3][h] = _mm256_xor_si256(s[3][h], s[1][h]);
            s[1][h] = _mm256_xor_si256(s[1][h], s[2][h]);
            s[0][h] = _mm256_xor_si256(s[0][h], s[3][h]);
            s[2][h] = _mm256_xor_si256(s[2][h], t);
            s[3][h] = rotl::<45, 19>(s[3][h]);
            // x = u >> 32, y = u & 0xffff_ffff; mul_epu32 multiplies the low 32 bits.
            let x = _mm256_srli_epi64::<32>(u);
            let x2 = _mm256_mul_epu32(x, x);
            let sum = _mm256_add_epi64(x2, _mm256_mul_epu32(u, u));
            // Carry out (a miss) iff sum < x2, unsigned.
            let carry = _mm256_cmpgt_epi64(_mm256_xor_si256(x2, sign), _mm256_xor_si256(sum, sign));
            misses[h] = _mm256_sub_epi64(misses[h], carry);
        }
    }
    for (w, halves) in s.iter().enumerate() {
        for (half, v) in halves.iter().enumerate() {
            // SAFETY: writes 4 u64 inside the 8-element array; unaligned store.
            unsafe { _mm256_storeu_si256(lanes.s[w][4 * half..].as_mut_ptr().cast(), *v) };
        }
    }
    let mut m = [0u64; 8];
    // SAFETY: two 32-byte stores into a 64-byte array.
    unsafe {
        _mm256_storeu_si256(m.as_mut_ptr().cast(), misses[0]);
        _mm256_storeu_si256(m[4..].as_mut_ptr().cast(), misses[1]);
    }
    rounds * LANES as u64 - m.iter().sum::<u64>()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_xoshiro::rand_core::Rng;

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

    /// The kernel counts exactly the samples of the stream definition, tail included.
    #[test]
    fn kernel_matches_a_sample_by_sample_reading_of_the_definition() {
        for samples in [0, 1, 7, 8, 9, 1000, 1003] {
            let mut lanes = Lanes::for_thread(9, 1);
            let mut outputs = Vec::new();
            while outputs.len() < samples as usize {
                outputs.extend(lanes.step());
            }
            let want = outputs[..samples as usize].iter().filter(|&&u| is_hit(u)).count() as u64;
            assert_eq!(count_hits_with(Kernel::Scalar, 9, 1, samples), want, "samples {samples}");
            assert_eq!(count_hits(9, 1, samples), want, "samples {samples}, {:?}", Kernel::detect());
        }
    }

    /// The vector kernel computes exactly what the portable one does.
    #[test]
    fn every_kernel_gives_identical_hits() {
        let best = Kernel::detect();
        for (seed, thread, samples) in [(0, 0, 1_000_003), (7, 5, 999_999), (u64::MAX, 1, 64)] {
            let scalar = count_hits_with(Kernel::Scalar, seed, thread, samples);
            assert_eq!(count_hits_with(best, seed, thread, samples), scalar, "{best:?}");
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
}

/// Statistics: if the hit test or a stream were wrong, the estimates would not scatter
/// around pi like standard normal z-scores.
#[cfg(test)]
mod statistics {
    use super::*;

    #[test]
    fn z_scores_over_100_seeds_look_standard_normal() {
        let n: u64 = 200_000;
        let threads = 3;
        let z: Vec<f64> = (0..100u64)
            .map(|seed| {
                let hits: u64 = (0..threads).map(|k| count_hits(seed, k, n)).sum();
                let samples = (n * threads as u64) as f64;
                let p = hits as f64 / samples;
                (4.0 * p - std::f64::consts::PI) / (4.0 * (p * (1.0 - p) / samples).sqrt())
            })
            .collect();
        let mean = z.iter().sum::<f64>() / z.len() as f64;
        let var = z.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (z.len() - 1) as f64;
        assert!(z.iter().all(|v| v.abs() < 5.0), "{z:?}");
        // 100 draws: the mean's standard error is 0.1, the variance's about 0.14.
        assert!(mean.abs() < 0.5, "mean z {mean}");
        assert!((0.5..1.7).contains(&var), "variance of z {var}");
    }

    /// A biased hit test (`<=` on the boundary, or using one coordinate twice) would show up
    /// as a drift of many standard errors over 10^8 samples.
    #[test]
    fn a_large_run_is_within_4_standard_errors() {
        let n: u64 = 25_000_000;
        let hits: u64 = (0..4).map(|k| count_hits(2024, k, n)).sum();
        let samples = (4 * n) as f64;
        let p = hits as f64 / samples;
        let z = (4.0 * p - std::f64::consts::PI) / (4.0 * (p * (1.0 - p) / samples).sqrt());
        assert!(z.abs() < 4.0, "z = {z}");
    }
}
