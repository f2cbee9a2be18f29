//! The x86-64 kernels: step for step the operations of [`Lanes::step`] and [`is_hit`](super::is_hit),
//! on vectors. Both are `unsafe` to call only because of their `target_feature`: the caller
//! checks the CPU first (`count_hits_with`).
//!
//! Where the time goes (issue 29, measured against benches/mcpi_kernel.c): the generator is
//! 14 vector operations per register in AVX2 (no 64-bit rotate, no three-way xor) and 9 in
//! AVX-512; the hit test is 7 in AVX2 and 5 in AVX-512. Choices that save operations or move
//! them off the shift/multiply ports, each keeping the exact integer test:
//! - `x` for the multiply comes from a dword shuffle (port 5) instead of a 64-bit shift (the
//!   ports that also shift and multiply);
//! - AVX2 has no unsigned compare: instead of flipping the sign bit of both sides, the bias is
//!   added once, `a = x² ^ 2^63`, `b = a + y²` (which is `(x² + y²) ^ 2^63`), and a miss is
//!   `a > b` signed: one operation fewer;
//! - AVX-512: `vprolq` rotates, `vpternlogq` folds the state update's five xors into one xor
//!   and three three-way xors, `vpcmpuq` compares unsigned into a mask and a masked add counts.

use std::arch::x86_64::*;

use super::{LANES, Lanes};

/// `_MM_SHUFFLE(3, 3, 1, 1)`: each 64-bit lane's high dword copied into its low one.
const HIGH_DWORDS: i32 = 0b11_11_01_01;
/// `vpternlogq`'s truth table for `a ^ b ^ c`.
const XOR3: i32 = 0x96;

/// The AVX2 kernel: the 8 lanes as two registers of four 64-bit lanes.
#[target_feature(enable = "avx2")]
pub(super) fn rounds_avx2(lanes: &mut Lanes, rounds: u64) -> u64 {
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
            // mul_epu32 multiplies the low dwords: y² from u itself, x² from its high dwords.
            let x = _mm256_shuffle_epi32::<HIGH_DWORDS>(u);
            let a = _mm256_xor_si256(_mm256_mul_epu32(x, x), sign);
            let b = _mm256_add_epi64(a, _mm256_mul_epu32(u, u));
            // x² + y² carried out of 64 bits (a miss) iff x² > x² + y² unsigned, i.e. a > b.
            misses[h] = _mm256_sub_epi64(misses[h], _mm256_cmpgt_epi64(a, b));
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

/// The AVX-512 kernel: the 8 lanes in one register.
#[target_feature(enable = "avx512f")]
pub(super) fn rounds_avx512(lanes: &mut Lanes, rounds: u64) -> u64 {
    let load = |w: &[u64; LANES]| {
        // SAFETY: reads the 8 u64 (64 bytes) of the array; unaligned load.
        unsafe { _mm512_loadu_si512(w.as_ptr().cast()) }
    };
    let [mut s0, mut s1, mut s2, mut s3] = [0, 1, 2, 3].map(|w| load(&lanes.s[w]));
    let one = _mm512_set1_epi64(1);
    let mut misses = _mm512_setzero_si512();
    for _ in 0..rounds {
        let u = _mm512_add_epi64(_mm512_rol_epi64::<23>(_mm512_add_epi64(s0, s3)), s0);
        let t = _mm512_slli_epi64::<17>(s1);
        // s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3; s2 ^= t; s3 = rotl(s3, 45), unrolled:
        let s3x = _mm512_xor_si512(s3, s1);
        let n1 = _mm512_ternarylogic_epi64::<XOR3>(s1, s2, s0);
        let n0 = _mm512_ternarylogic_epi64::<XOR3>(s0, s3, s1);
        s2 = _mm512_ternarylogic_epi64::<XOR3>(s2, s0, t);
        s3 = _mm512_rol_epi64::<45>(s3x);
        (s0, s1) = (n0, n1);
        let x = _mm512_shuffle_epi32::<HIGH_DWORDS>(u);
        let xx = _mm512_mul_epu32(x, x);
        let sum = _mm512_add_epi64(xx, _mm512_mul_epu32(u, u));
        let carried = _mm512_cmplt_epu64_mask(sum, xx);
        misses = _mm512_mask_add_epi64(misses, carried, misses, one);
    }
    for (w, v) in [s0, s1, s2, s3].into_iter().enumerate() {
        // SAFETY: writes the 8 u64 (64 bytes) of the array; unaligned store.
        unsafe { _mm512_storeu_si512(lanes.s[w].as_mut_ptr().cast(), v) };
    }
    rounds * LANES as u64 - _mm512_reduce_add_epi64(misses) as u64
}
