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
//!
//! Every [`Kernel`] computes exactly this; they differ in speed only. The vector kernels live
//! in `x86` (AVX2, AVX-512) and `neon` (aarch64).

use rand_xoshiro::Xoshiro256PlusPlus;
use rand_xoshiro::rand_core::SeedableRng;

#[cfg(target_arch = "aarch64")]
mod neon;
#[cfg(test)]
mod tests;
#[cfg(target_arch = "x86_64")]
mod x86;

/// Independent xoshiro256++ streams interleaved in each thread's sample stream.
pub const LANES: usize = 8;

/// The variable that forces a kernel (`auto`, unset or empty: the fastest this CPU runs).
pub const KERNEL_VAR: &str = "HRUN_MC_PI_KERNEL";

/// The `LANES` generators of one thread, stored as structure-of-arrays (`s[word][lane]`) so
/// that one vector load takes a state word of several lanes.
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
/// by the kernel), only the speed differs. Every variant exists on every architecture, so
/// that a name always parses; [`Kernel::available`] says which this CPU runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kernel {
    /// Portable code (the compiler vectorises parts of it for the baseline target: SSE2 on
    /// x86-64, NEON on aarch64).
    Scalar,
    /// x86-64 with AVX2: the 8 lanes as two registers of four.
    Avx2,
    /// x86-64 with AVX-512F: the 8 lanes in one register, native rotates, three-way xors
    /// and an unsigned compare.
    Avx512,
    /// aarch64 with NEON (every aarch64 Linux CPU): the 8 lanes as four registers of two.
    Neon,
}

/// Why [`KERNEL_VAR`] cannot be honoured.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KernelError {
    #[error("{KERNEL_VAR}={0:?} is not a kernel (auto, scalar, avx2, avx512, neon)")]
    Unknown(String),
    #[error("{KERNEL_VAR}={0}: this CPU cannot run it (it runs: {1})")]
    Unavailable(&'static str, String),
}

impl Kernel {
    /// Every kernel, narrowest first.
    pub const ALL: [Kernel; 4] = [Kernel::Scalar, Kernel::Avx2, Kernel::Avx512, Kernel::Neon];

    pub fn name(self) -> &'static str {
        match self {
            Kernel::Scalar => "scalar",
            Kernel::Avx2 => "avx2",
            Kernel::Avx512 => "avx512",
            Kernel::Neon => "neon",
        }
    }

    /// Whether this build on this CPU can run the kernel.
    pub fn available(self) -> bool {
        match self {
            Kernel::Scalar => true,
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2 => std::arch::is_x86_feature_detected!("avx2"),
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512 => std::arch::is_x86_feature_detected!("avx512f"),
            // NEON is part of the aarch64 Linux baseline: the target enables it at compile time.
            #[cfg(target_arch = "aarch64")]
            Kernel::Neon => true,
            #[allow(unreachable_patterns)]
            _ => false,
        }
    }

    /// The kernels this CPU runs, narrowest first.
    pub fn available_all() -> Vec<Kernel> {
        Kernel::ALL.into_iter().filter(|k| k.available()).collect()
    }

    /// The fastest kernel this CPU runs (the widest vectors).
    pub fn best() -> Kernel {
        Kernel::available_all().pop().unwrap_or(Kernel::Scalar)
    }

    /// The kernel `value` names (`auto` or empty: [`Kernel::best`]), if this CPU runs it.
    pub fn by_name(value: &str) -> Result<Kernel, KernelError> {
        if value.is_empty() || value == "auto" {
            return Ok(Kernel::best());
        }
        let kernel = Kernel::ALL
            .into_iter()
            .find(|k| k.name() == value)
            .ok_or_else(|| KernelError::Unknown(value.to_string()))?;
        if !kernel.available() {
            let runs: Vec<&str> = Kernel::available_all().into_iter().map(Kernel::name).collect();
            return Err(KernelError::Unavailable(kernel.name(), runs.join(", ")));
        }
        Ok(kernel)
    }

    /// The kernel [`KERNEL_VAR`] asks for; unset: [`Kernel::best`].
    pub fn from_env() -> Result<Kernel, KernelError> {
        match std::env::var_os(KERNEL_VAR) {
            None => Ok(Kernel::best()),
            Some(v) => Kernel::by_name(&v.to_string_lossy()),
        }
    }
}

/// Hits among the `samples` samples of thread `thread`, with `kernel`.
///
/// # Panics
/// If this CPU cannot run `kernel` (the vector code would be undefined behaviour there):
/// choose it with [`Kernel::by_name`], [`Kernel::from_env`] or [`Kernel::best`].
pub fn count_hits_with(kernel: Kernel, seed: u64, thread: usize, samples: u64) -> u64 {
    let mut lanes = Lanes::for_thread(seed, thread);
    let full = run_rounds(kernel, &mut lanes, samples / LANES as u64);
    let rest = (samples % LANES as u64) as usize;
    let u = lanes.step();
    let tail: u64 = u[..rest].iter().map(|&v| is_hit(v) as u64).sum();
    full + tail
}

/// Hits among `rounds` steps of every lane, with `kernel`; leaves `lanes` advanced by
/// `rounds` steps. Panics as [`count_hits_with`] does.
fn run_rounds(kernel: Kernel, lanes: &mut Lanes, rounds: u64) -> u64 {
    assert!(kernel.available(), "kernel {} chosen on a CPU that cannot run it", kernel.name());
    match kernel {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the assertion above found AVX2, which the kernel's `target_feature` enables.
        Kernel::Avx2 => unsafe { x86::rounds_avx2(lanes, rounds) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the assertion above found AVX-512F, which the kernel's `target_feature`
        // enables.
        Kernel::Avx512 => unsafe { x86::rounds_avx512(lanes, rounds) },
        #[cfg(target_arch = "aarch64")]
        // SAFETY: NEON is in the aarch64 Linux target's baseline, so every CPU this build
        // runs on has it.
        Kernel::Neon => unsafe { neon::rounds_neon(lanes, rounds) },
        _ => rounds_portable(lanes, rounds),
    }
}

/// The hot loop of the portable kernel: one step of every lane per round, allocation-free and
/// branch-free, written so that the compiler keeps the 8 lanes in vector registers.
fn rounds_portable(lanes: &mut Lanes, rounds: u64) -> u64 {
    let mut hits = [0u64; LANES];
    for _ in 0..rounds {
        let u = lanes.step();
        for l in 0..LANES {
            hits[l] += is_hit(u[l]) as u64;
        }
    }
    hits.iter().sum()
}
