//! The aarch64 kernel: step for step the operations of [`Lanes::step`] and
//! [`is_hit`](super::is_hit) on NEON's 128-bit vectors, the 8 lanes as four registers of two.
//! NEON is part of the aarch64 Linux baseline, so no run-time check is needed; the functions
//! still name it in `target_feature`, which Rust asks of any caller of its intrinsics.
//!
//! What NEON offers beyond SSE-class vectors: a rotate in two operations (`shl`, then `sri`
//! shifts right and inserts into the bits the left shift left empty), an unsigned 64-bit
//! compare, and 32x32->64 multiplies that take their operands from the halves of a register,
//! with a multiply-add: `uzp1`/`uzp2` gather the `y` and `x` halves of four samples, `umull`
//! gives `x²` and `umlal` `x² + y²` for two samples each.

use std::arch::aarch64::*;

use super::{LANES, Lanes};

/// Registers per state word.
const REGS: usize = LANES / 2;

#[inline]
#[target_feature(enable = "neon")]
fn rotl<const L: i32, const R: i32>(x: uint64x2_t) -> uint64x2_t {
    vsriq_n_u64::<R>(vshlq_n_u64::<L>(x), x)
}

/// Misses (carries out of `x² + y²`) among the four samples of `a` and `b`, as all-ones lanes
/// subtracted from `acc`.
#[inline]
#[target_feature(enable = "neon")]
fn count_misses(acc: uint64x2_t, a: uint64x2_t, b: uint64x2_t) -> uint64x2_t {
    let (a, b) = (vreinterpretq_u32_u64(a), vreinterpretq_u32_u64(b));
    // Little-endian lanes: the even dwords are the low halves (y), the odd ones the high (x).
    let y = vuzp1q_u32(a, b);
    let x = vuzp2q_u32(a, b);
    let xx_lo = vmull_u32(vget_low_u32(x), vget_low_u32(x));
    let xx_hi = vmull_high_u32(x, x);
    let sum_lo = vmlal_u32(xx_lo, vget_low_u32(y), vget_low_u32(y));
    let sum_hi = vmlal_high_u32(xx_hi, y, y);
    let carried = vaddq_u64(vcltq_u64(sum_lo, xx_lo), vcltq_u64(sum_hi, xx_hi));
    vsubq_u64(acc, carried)
}

#[target_feature(enable = "neon")]
pub(super) fn rounds_neon(lanes: &mut Lanes, rounds: u64) -> u64 {
    let load = |w: usize, r: usize| {
        // SAFETY: reads 2 u64 (16 bytes) inside the 8-element array.
        unsafe { vld1q_u64(lanes.s[w][2 * r..].as_ptr()) }
    };
    let mut s: [[uint64x2_t; REGS]; 4] = std::array::from_fn(|w| std::array::from_fn(|r| load(w, r)));
    let mut misses = [vdupq_n_u64(0); 2];
    for _ in 0..rounds {
        let mut u = [vdupq_n_u64(0); REGS];
        for r in 0..REGS {
            u[r] = vaddq_u64(rotl::<23, 41>(vaddq_u64(s[0][r], s[3][r])), s[0][r]);
            let t = vshlq_n_u64::<17>(s[1][r]);
            s[2][r] = veorq_u64(s[2][r], s[0][r]);
            s[3][r] = veorq_u64(s[3][r], s[1][r]);
            s[1][r] = veorq_u64(s[1][r], s[2][r]);
            s[0][r] = veorq_u64(s[0][r], s[3][r]);
            s[2][r] = veorq_u64(s[2][r], t);
            s[3][r] = rotl::<45, 19>(s[3][r]);
        }
        misses[0] = count_misses(misses[0], u[0], u[1]);
        misses[1] = count_misses(misses[1], u[2], u[3]);
    }
    for (w, regs) in s.iter().enumerate() {
        for (r, v) in regs.iter().enumerate() {
            // SAFETY: writes 2 u64 (16 bytes) inside the 8-element array.
            unsafe { vst1q_u64(lanes.s[w][2 * r..].as_mut_ptr(), *v) };
        }
    }
    // Each miss lane is at most 2 * rounds: the sum cannot overflow for any count of samples.
    let m = vaddq_u64(misses[0], misses[1]);
    rounds * LANES as u64 - vaddvq_u64(m)
}
