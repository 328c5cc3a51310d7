//! The modulo-30 wheel used to cross off multiples in an odd-only bitmap.
//!
//! A prime `p >= 7` only needs to cross off `p * m` with `gcd(m, 30) = 1`: even `m` give even numbers,
//! which the odd-only layout does not store, and `m` divisible by 3 or 5 give multiples of 3 or 5,
//! which the pre-sieve has already removed. That keeps 8 of every 30 multiples instead of 15.
//!
//! The modulo-210 and modulo-2310 wheels below skip the multiples of 7 (and of 11) as well, for
//! the classes of sieving primes whose hits cost the most.

/// The eight residues modulo 30 that are coprime to 30, in increasing order.
pub(crate) const RESIDUES: [u64; 8] = [1, 7, 11, 13, 17, 19, 23, 29];

/// Distance in bits from the multiple `p * m` with `m ≡ RESIDUES[w] (mod 30)` to the next one the
/// wheel visits, in units of `p` (numbers advance by `2 * STEP[w] * p`, bits by `STEP[w] * p`).
pub(crate) const STEP: [usize; 8] = [3, 2, 1, 2, 1, 2, 3, 1];

/// Sum of `STEP`: one full turn of the wheel advances `15 * p` bits (`30 * p` numbers).
pub(crate) const TURN: usize = 15;

/// For `r = m mod 30`: how far to advance `m` to the next residue coprime to 30, and that residue's
/// wheel index.
const NEXT: [(u8, u8); 30] = {
    let mut table = [(0u8, 0u8); 30];
    let mut r = 0;
    while r < 30 {
        let mut d = 0;
        loop {
            let s = (r + d) % 30;
            let mut w = 0;
            let mut found = false;
            while w < 8 {
                if RESIDUES[w] as usize == s {
                    found = true;
                    break;
                }
                w += 1;
            }
            if found {
                table[r] = (d as u8, w as u8);
                break;
            }
            d += 1;
        }
        r += 1;
    }
    table
};

/// The first multiple `n = p * m` of the prime `p >= 7` with `n >= from`, `m >= p` and
/// `gcd(m, 30) = 1`, together with the wheel index of `m`; `None` if that multiple exceeds `hi`.
///
/// Starting at `m >= p` never crosses off `p` itself, and every composite with smallest prime factor
/// `p` is `p * m` with such an `m`. Computed in `u128`, so it cannot overflow near `2^64`.
#[cfg_attr(not(test), allow(dead_code, reason = "the sieves batch the quotients"))]
#[inline]
pub(crate) fn first_multiple(p: u64, from: u64, hi: u64) -> Option<(u64, usize)> {
    first_multiple_above(p, from.div_ceil(p), hi)
}

/// [`first_multiple`] given `quotient = ceil(from / p)` (see [`div_ceil_all`]).
#[inline]
pub(crate) fn first_multiple_above(p: u64, quotient: u64, hi: u64) -> Option<(u64, usize)> {
    debug_assert!(p >= 7 && p % 2 == 1);
    let m = quotient.max(p);
    let (delta, w) = NEXT[(m % 30) as usize];
    let n = u128::from(p) * u128::from(m + u64::from(delta));
    (n <= u128::from(hi)).then_some((n as u64, usize::from(w)))
}

/// The 48 residues modulo 210 that are coprime to 210, in increasing order: the modulo-210 wheel,
/// which also skips the multiples of 7. It crosses off 48 of every 210 multiples instead of 56 (14 %
/// fewer). Used for the bucket sieving primes, where each hit costs the most, and for the small
/// ones (the densest), whose unrolled turns are seven modulo-30 turns with those hits left out.
pub(crate) const RESIDUES_210: [u64; 48] = {
    let mut table = [0u64; 48];
    let (mut m, mut i) = (1u64, 0);
    while m < 210 {
        if m % 2 != 0 && m % 3 != 0 && m % 5 != 0 && m % 7 != 0 {
            table[i] = m;
            i += 1;
        }
        m += 1;
    }
    table
};

/// Distance in bits from the multiple `p * m` with `m ≡ RESIDUES_210[w] (mod 210)` to the next one
/// the modulo-210 wheel visits, in units of `p`.
pub(crate) const STEP_210: [u8; 48] = {
    let mut table = [0u8; 48];
    let mut w = 0;
    while w < 48 {
        let next = if w == 47 {
            210 + RESIDUES_210[0]
        } else {
            RESIDUES_210[w + 1]
        };
        table[w] = ((next - RESIDUES_210[w]) / 2) as u8;
        w += 1;
    }
    table
};

/// For `r = m mod 210`: how far to advance `m` to the next residue coprime to 210, and that
/// residue's index in [`RESIDUES_210`].
const NEXT_210: [(u8, u8); 210] = {
    let mut table = [(0u8, 0u8); 210];
    let mut r = 0;
    while r < 210 {
        let mut d = 0;
        'search: loop {
            let s = ((r + d) % 210) as u64;
            let mut w = 0;
            while w < 48 {
                if RESIDUES_210[w] == s {
                    table[r] = (d as u8, w as u8);
                    break 'search;
                }
                w += 1;
            }
            d += 1;
        }
        r += 1;
    }
    table
};

/// Like [`first_multiple`] for the modulo-210 wheel (`p >= 11`): the first `n = p * m >= from` with
/// `m >= p` and `gcd(m, 210) = 1`, and the index of `m mod 210` in [`RESIDUES_210`].
#[cfg_attr(not(test), allow(dead_code, reason = "the sieves batch the quotients"))]
#[inline]
pub(crate) fn first_multiple_210(p: u64, from: u64, hi: u64) -> Option<(u64, usize)> {
    first_multiple_210_above(p, from.div_ceil(p), hi)
}

/// [`first_multiple_210`] given `quotient = ceil(from / p)` (see [`div_ceil_all`]).
#[inline]
pub(crate) fn first_multiple_210_above(p: u64, quotient: u64, hi: u64) -> Option<(u64, usize)> {
    debug_assert!(p >= 11 && p % 2 == 1);
    first_multiple_on(&NEXT_210, p, quotient, hi)
}

/// The first multiple `p m >= p quotient` with `m >= p` on the wheel modulo `N` whose `next`
/// table gives, for `m mod N`, the advance to the next residue and that residue's index; and
/// that index. `None` if the multiple exceeds `hi`.
#[inline(always)]
fn first_multiple_on<const N: usize, W: Copy + Into<usize>>(
    next: &[(u8, W); N],
    p: u64,
    quotient: u64,
    hi: u64,
) -> Option<(u64, usize)> {
    // No multiple at all up to `hi` (most bucket primes, for a short interval near 2^64): one
    // product sees it, cheaper than the wheel's first multiple below, which is at least this one.
    if u128::from(p) * u128::from(quotient) > u128::from(hi) {
        return None;
    }
    let m = quotient.max(p);
    let (delta, w) = next[(m % N as u64) as usize];
    let n = u128::from(p) * u128::from(m + u64::from(delta));
    (n <= u128::from(hi)).then_some((n as u64, w.into()))
}

/// The 480 residues modulo 2310 that are coprime to 2310, in increasing order: the modulo-2310
/// wheel, which also skips the multiples of 11. It crosses off 480 of every 2310 multiples where
/// the modulo-210 wheel crosses off 528 (9 % fewer). Used for the counting kernel's bucket
/// sieving primes (`crate::mod30`), where each hit costs the most.
pub(crate) const RESIDUES_2310: [u32; 480] = {
    let mut table = [0u32; 480];
    let (mut m, mut i) = (1u32, 0);
    while m < 2310 {
        if m % 2 != 0 && m % 3 != 0 && m % 5 != 0 && m % 7 != 0 && m % 11 != 0 {
            table[i] = m;
            i += 1;
        }
        m += 1;
    }
    assert!(i == 480);
    table
};

/// The residue the modulo-2310 wheel visits after `RESIDUES_2310[w]`: the next one, or
/// `2310 + RESIDUES_2310[0]` after the last.
pub(crate) const fn next_2310(w: usize) -> u64 {
    if w == 479 {
        2310 + RESIDUES_2310[0] as u64
    } else {
        RESIDUES_2310[w + 1] as u64
    }
}

/// The largest gap between consecutive residues of [`RESIDUES_2310`], the wrap included: one
/// step of the wheel moves a multiple of `p` at most this many times `p` on.
pub(crate) const MAX_GAP_2310: u64 = {
    let mut max = 0;
    let mut w = 0;
    while w < 480 {
        let gap = next_2310(w) - RESIDUES_2310[w] as u64;
        if gap > max {
            max = gap;
        }
        w += 1;
    }
    max
};

/// For `r = m mod 2310`: how far to advance `m` to the next residue coprime to 2310 (at most 13),
/// and that residue's index in [`RESIDUES_2310`]. Filled from the top down: 2309 is coprime to
/// 2310, so no residue needs to wrap around.
static NEXT_2310: [(u8, u16); 2310] = {
    let mut table = [(0u8, 0u16); 2310];
    let mut w = 480;
    let mut r = 2310;
    while r > 0 {
        r -= 1;
        if w > 0 && RESIDUES_2310[w - 1] as usize == r {
            w -= 1;
            table[r] = (0, w as u16);
        } else {
            table[r] = (table[r + 1].0 + 1, table[r + 1].1);
        }
    }
    table
};

/// Like [`first_multiple_210_above`] for the modulo-2310 wheel (`p >= 13`): the first
/// `n = p * m >= p * quotient` with `m >= p` and `gcd(m, 2310) = 1`, and the index of
/// `m mod 2310` in [`RESIDUES_2310`]; `None` if that multiple exceeds `hi`.
#[inline]
pub(crate) fn first_multiple_2310_above(p: u64, quotient: u64, hi: u64) -> Option<(u64, usize)> {
    debug_assert!(p >= 13 && p % 2 == 1);
    first_multiple_on(&NEXT_2310, p, quotient, hi)
}

/// The divisors [`div_ceil_by_f64`] is exact for: `[2^12, 2^32)`.
#[cfg_attr(
    not(target_arch = "x86_64"),
    allow(dead_code, reason = "x86-64 only; tested everywhere")
)]
const F64_DIVISORS: std::ops::Range<u64> = 1 << 12..1 << 32;

/// Sets `quotients[i] = ceil(from / divisors[i])` (nonzero divisors, slices of one length).
///
/// The set-up of the bucket primes near `2^64` is one such division per sieving prime, for all
/// 203 million primes below `2^32`. On x86-64, where every divisor is in `[2^12, 2^32)`, the
/// quotients are estimated in `f64` and corrected exactly ([`div_ceil_by_f64`]): eight at once
/// where the CPU has AVX-512 (F, DQ and VL), four at once where it has AVX2
/// ([`div_ceil_by_f64_bits`]), else one at a time (SSE2, which every x86-64 CPU has, so also
/// with `ERATO_FORCE_PORTABLE`). Elsewhere, and for batches with a divisor outside that range,
/// one 64-bit division each: its speed varies most between CPUs. 512 divisors near `2^31`,
/// `from` near `2^64`: AMD EPYC Zen 4, AVX-512 0.5 against 1.9 ns a quotient; AMD EPYC as a VM
/// reports it (family 23 model 1, AVX2, no AVX-512), AVX2 3.2, scalar `f64` 4.6 and integer
/// division 10.5 ns (there the AVX2 quotients take a count of `[2^64 - 4e4, 2^64 - 1]`, whose
/// time is the set-up, from 2.34 to 2.07 s).
///
/// # Panics
/// If the slices' lengths differ, or (on the integer path) a divisor is zero.
pub(crate) fn div_ceil_all(from: u64, divisors: &[u64], quotients: &mut [u64]) {
    assert_eq!(divisors.len(), quotients.len());
    #[cfg(target_arch = "x86_64")]
    {
        let done = if crate::cpu::has!("avx512f")
            && crate::cpu::has!("avx512dq")
            && crate::cpu::has!("avx512vl")
        {
            // SAFETY: the CPU has the features enabled (checked just above).
            unsafe { div_ceil_all_avx512(from, divisors, quotients) }
        } else if crate::cpu::has!("avx2") {
            // SAFETY: the CPU has AVX2 (checked just above).
            unsafe { div_ceil_all_avx2(from, divisors, quotients) }
        } else if all_f64_divisors(divisors) {
            // SAFETY: every divisor is in `F64_DIVISORS` (checked just above).
            unsafe { div_ceil_by_f64(from, divisors, quotients) };
            true
        } else {
            false
        };
        if done {
            return;
        }
    }
    for (q, &d) in quotients.iter_mut().zip(divisors) {
        *q = from.div_ceil(d);
    }
}

/// Whether every divisor is in [`F64_DIVISORS`]; inlined into each build of the `f64` paths, so
/// that it is compiled for the same vector width.
#[cfg_attr(
    not(target_arch = "x86_64"),
    allow(dead_code, reason = "x86-64 only; tested everywhere")
)]
#[inline(always)]
fn all_f64_divisors(divisors: &[u64]) -> bool {
    // `d >> 32 == 0` and `d >= 2^12`, on all of them: one pass that vectorises.
    divisors.iter().fold(0, |bad, &d| {
        bad | (d >> 32) | u64::from(d < F64_DIVISORS.start)
    }) == 0
}

/// [`div_ceil_by_f64`] compiled for AVX-512, where it runs eight divisors a step, if every
/// divisor is in [`F64_DIVISORS`]; false (and `quotients` untouched) if not.
///
/// # Safety
/// The CPU must have AVX-512 F, DQ and VL.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512dq,avx512vl")]
unsafe fn div_ceil_all_avx512(from: u64, divisors: &[u64], quotients: &mut [u64]) -> bool {
    if !all_f64_divisors(divisors) {
        return false;
    }
    // SAFETY: the divisors are in range (checked just above).
    unsafe { div_ceil_by_f64(from, divisors, quotients) };
    true
}

/// [`div_ceil_by_f64_bits`] compiled for AVX2, where it runs four divisors a step, if every
/// divisor is in [`F64_DIVISORS`]; false (and `quotients` untouched) if not.
///
/// # Safety
/// The CPU must have AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn div_ceil_all_avx2(from: u64, divisors: &[u64], quotients: &mut [u64]) -> bool {
    if !all_f64_divisors(divisors) {
        return false;
    }
    div_ceil_by_f64_bits(from, divisors, quotients);
    true
}

/// [`div_ceil_by_f64`] with its two conversions between integers and `f64` done on the bits, so
/// that it vectorises where the CPU has no such conversions for 64-bit lanes (AVX2 has them
/// only for 32-bit integers, AVX-512 DQ for 64-bit ones).
///
/// `d < 2^32` becomes the `f64` whose bits are those of `2^52` with `d` in the low mantissa
/// bits, minus `2^52`: exactly `d`. The truncated estimate `x` (an integer in `[0, 2^52]`,
/// as in [`div_ceil_by_f64`]) plus `2^52` is exact (below `2^53`, or `2^53` itself), and its
/// bits minus those of `2^52` are `x`. The estimates are [`div_ceil_by_f64`]'s, and so is their
/// correction. The truncation needs SSE4.1 (`roundpd`) to stay in registers. Exact for
/// divisors in [`F64_DIVISORS`] (which its callers check); wrong, though defined, outside it.
#[cfg_attr(
    not(target_arch = "x86_64"),
    allow(dead_code, reason = "x86-64 only; tested everywhere")
)]
#[inline(always)]
fn div_ceil_by_f64_bits(from: u64, divisors: &[u64], quotients: &mut [u64]) {
    /// The bits of `2^52`: an `f64` whose unit in the last place is 1.
    const TWO_52: u64 = 0x4330_0000_0000_0000;
    let two_52 = f64::from_bits(TWO_52);
    let from_f = from as f64;
    for (q, &d) in quotients.iter_mut().zip(divisors) {
        let d_f = f64::from_bits(TWO_52 | d) - two_52;
        let x = (from_f / d_f).trunc();
        let est = (x + two_52).to_bits().wrapping_sub(TWO_52);
        *q = ceil_from_estimate(from, d, est);
    }
}

/// `ceil(from / d)` from an estimate `est` within 1 of `floor(from / d)`: the remainder
/// `from - est d` (exact in wrapping `u64` arithmetic, in `[-d, 2d)`) corrects it by one step
/// either way. Wrapping arithmetic (none of it wraps for divisors in [`F64_DIVISORS`]), so that
/// builds with overflow checks vectorise it too.
#[cfg_attr(
    not(target_arch = "x86_64"),
    allow(dead_code, reason = "x86-64 only; tested everywhere")
)]
#[inline(always)]
fn ceil_from_estimate(from: u64, d: u64, est: u64) -> u64 {
    let r = from.wrapping_sub(est.wrapping_mul(d)) as i64;
    let d = d as i64;
    let (est, r) = if r < 0 {
        (est.wrapping_sub(1), r.wrapping_add(d))
    } else {
        (est, r)
    };
    let (est, r) = if r >= d {
        (est.wrapping_add(1), r.wrapping_sub(d))
    } else {
        (est, r)
    };
    est.wrapping_add(u64::from(r != 0))
}

/// `quotients[i] = ceil(from / divisors[i])` for divisors in [`F64_DIVISORS`], without an
/// integer division: written to vectorise.
///
/// `q = trunc(f64(from) / d)` is within 1 of `floor(from / d)`: `f64(from)` is within `2^10` of
/// `from` (`from < 2^64`, 53-bit mantissa), the quotient's rounding adds at most
/// `2^64 / d x 2^-53 = 2^11 / d`, so the estimate is within `3 x 2^10 / d <= 3/4` of `from / d`
/// for `d >= 2^12`. The remainder `from - q d` (exact in wrapping `u64` arithmetic, in
/// `[-d, 2d)`, `|.| < 2^33`) then corrects `q` by one step either way.
///
/// # Safety
/// Every divisor must be in [`F64_DIVISORS`]: outside it the estimate may be infinite, NaN or
/// beyond `i64` (the callers check with [`all_f64_divisors`]; checked again in debug builds, once
/// before the loop, where a check of each divisor would keep it from vectorising).
#[cfg_attr(
    not(target_arch = "x86_64"),
    allow(dead_code, reason = "x86-64 only; tested everywhere")
)]
#[inline(always)]
unsafe fn div_ceil_by_f64(from: u64, divisors: &[u64], quotients: &mut [u64]) {
    debug_assert!(all_f64_divisors(divisors));
    let from_f = from as f64;
    for (q, &d) in quotients.iter_mut().zip(divisors) {
        let x = from_f / (d as u32 as f64);
        // SAFETY: `0 <= x <= 2^64 / 2^12 = 2^52`: finite and within i64, as `d` is in
        // `F64_DIVISORS` (the contract; so the cast above kept it whole).
        let est = unsafe { x.to_int_unchecked::<i64>() } as u64;
        *q = ceil_from_estimate(from, d, est);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `f64` quotients against integer division, at the edges of their range (divisors
    /// `2^12` and `2^32 - 1`, dividends at powers of two, near `2^64` and small) and on random
    /// pairs, for both estimates (conversions by instructions and on the bits); the AVX2 build
    /// where the CPU has AVX2; and [`div_ceil_all`] (whichever path this CPU takes: its AVX-512
    /// build is only tested on a CPU that has AVX-512, the scalar estimate everywhere, the
    /// integer path off x86-64) on the same.
    #[test]
    fn quotients_by_f64_are_exact() {
        let mut divisors: Vec<u64> = vec![
            4096,
            4097,
            4099,
            65_537,
            (1 << 31) - 1,
            1 << 31,
            (1 << 32) - 5,
            (1 << 32) - 1,
        ];
        let mut froms: Vec<u64> = vec![0, 1, 4095, 4096, 4097, u64::MAX, u64::MAX - 1, 1 << 63];
        for k in [13u32, 32, 52, 53, 54, 63] {
            froms.extend([(1u64 << k) - 1, 1 << k, (1 << k) + 1]);
        }
        // xorshift64*: fixed seed, reproducible.
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = || {
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            x.wrapping_mul(0x2545_F491_4F6C_DD1D)
        };
        let rounds = if cfg!(miri) { 20 } else { 3_000 };
        for _ in 0..rounds {
            let d = next();
            divisors.push(F64_DIVISORS.start + d % (F64_DIVISORS.end - F64_DIVISORS.start));
            let f = next();
            froms.push(f >> (f % 64));
        }
        // Exact multiples and their neighbours, where the remainder's correction matters.
        for &d in divisors.iter().take(64) {
            let m = u64::MAX / d * d;
            froms.extend([m - 1, m, m.saturating_add(1), d * 3 + 1]);
        }
        let froms = if cfg!(miri) { &froms[..40] } else { &froms[..] };
        let mut got = vec![0; divisors.len()];
        for &from in froms {
            let want: Vec<u64> = divisors.iter().map(|&d| from.div_ceil(d)).collect();
            // SAFETY: every divisor is in `F64_DIVISORS` (drawn from it above).
            unsafe { div_ceil_by_f64(from, &divisors, &mut got) };
            assert_eq!(got, want, "from {from}");
            got.fill(0);
            div_ceil_by_f64_bits(from, &divisors, &mut got);
            assert_eq!(got, want, "bits, from {from}");
            #[cfg(target_arch = "x86_64")]
            if std::arch::is_x86_feature_detected!("avx2") {
                got.fill(0);
                // SAFETY: the CPU has AVX2.
                assert!(unsafe { div_ceil_all_avx2(from, &divisors, &mut got) });
                assert_eq!(got, want, "AVX2, from {from}");
            }
            got.fill(0);
            div_ceil_all(from, &divisors, &mut got);
            assert_eq!(got, want, "from {from}");
        }
        // A divisor outside the range, anywhere in the batch, sends all to integer division.
        for outside in [7, 4095, 1 << 32, u64::MAX] {
            for at in [0, 5, 10] {
                let mut batch: Vec<u64> = (0..11).map(|i| (1 << 20) + 2 * i + 1).collect();
                batch[at] = outside;
                let want: Vec<u64> = batch.iter().map(|&d| u64::MAX.div_ceil(d)).collect();
                let mut q = vec![0; batch.len()];
                div_ceil_all(u64::MAX, &batch, &mut q);
                assert_eq!(q, want, "{outside} at {at}");
                #[cfg(target_arch = "x86_64")]
                {
                    if std::arch::is_x86_feature_detected!("avx2") {
                        // SAFETY: the CPU has AVX2.
                        assert!(!unsafe { div_ceil_all_avx2(u64::MAX, &batch, &mut q) });
                    }
                    if std::arch::is_x86_feature_detected!("avx512f")
                        && std::arch::is_x86_feature_detected!("avx512dq")
                        && std::arch::is_x86_feature_detected!("avx512vl")
                    {
                        // SAFETY: the CPU has the features.
                        assert!(!unsafe { div_ceil_all_avx512(u64::MAX, &batch, &mut q) });
                    }
                    assert!(!all_f64_divisors(&batch));
                }
            }
        }
    }

    #[test]
    fn steps_walk_the_residues() {
        for w in 0..8 {
            let next = (RESIDUES[w] + 2 * STEP[w] as u64) % 30;
            assert_eq!(next, RESIDUES[(w + 1) % 8]);
        }
        assert_eq!(STEP.iter().sum::<usize>(), TURN);
    }

    #[test]
    fn first_multiple_is_smallest() {
        for p in [7u64, 11, 13, 101, 65537] {
            for from in (0..5000u64).chain([p * p - 1, p * p, p * p + 1]) {
                let want = (from.max(p * p)..)
                    .find(|n| {
                        n % p == 0 && [1, 7, 11, 13, 17, 19, 23, 29].contains(&((n / p) % 30))
                    })
                    .unwrap();
                let (n, w) = first_multiple(p, from, u64::MAX).unwrap();
                assert_eq!(n, want, "p={p} from={from}");
                assert_eq!((n / p) % 30, RESIDUES[w]);
            }
        }
        assert_eq!(first_multiple(7, 50, 48), None);
        // No overflow at the top of u64.
        assert_eq!(first_multiple(4294967291, u64::MAX - 10, u64::MAX), None);
    }

    #[test]
    fn wheel_2310_finds_the_smallest_multiple() {
        assert!(RESIDUES_2310.windows(2).all(|w| w[0] < w[1]));
        assert!(RESIDUES_2310
            .iter()
            .all(|&r| [2, 3, 5, 7, 11].iter().all(|q| r % q != 0)));
        // The largest gap, which sizes the bucket ring.
        assert_eq!(MAX_GAP_2310, 14);
        // Every residue class of the multiplier (all of `NEXT_2310`), for p = 13.
        for from in 0..13 * 2 * 2310u64 {
            let m = (from.div_ceil(13).max(13)..)
                .find(|m| [2, 3, 5, 7, 11].iter().all(|q| m % q != 0))
                .unwrap();
            let got = first_multiple_2310_above(13, from.div_ceil(13), u64::MAX);
            assert_eq!(got.map(|(n, _)| n), Some(13 * m), "from={from}");
        }
        for p in [13u64, 101, 8191, 65537, 4294967291] {
            let starts = (0..3000u64).chain([
                p * p - 1,
                p * p,
                p * p + 1,
                (p * p).saturating_add(2310 * p),
                u64::MAX - p,
                u64::MAX,
            ]);
            for from in starts.chain((1..40).map(|i| (1 << 40) + i * 997)) {
                // Multiplier by multiplier, from the first one that reaches `from` and `p^2`.
                let want = (from.div_ceil(p).max(p)..)
                    .take(20)
                    .find(|m| [2, 3, 5, 7, 11].iter().all(|q| m % q != 0))
                    .and_then(|m| m.checked_mul(p));
                let got = first_multiple_2310_above(p, from.div_ceil(p), u64::MAX);
                assert_eq!(got.map(|(n, _)| n), want, "p={p} from={from}");
                if let Some((n, w)) = got {
                    assert_eq!((n / p) % 2310, u64::from(RESIDUES_2310[w]));
                    assert_eq!(first_multiple_2310_above(p, from.div_ceil(p), n - 1), None);
                }
            }
        }
        assert_eq!(
            first_multiple_2310_above(4294967291, (u64::MAX - 10).div_ceil(4294967291), u64::MAX),
            None
        );
    }

    #[test]
    fn wheel_210_walks_the_residues_and_finds_the_smallest_multiple() {
        for w in 0..48 {
            let next = (RESIDUES_210[w] + 2 * u64::from(STEP_210[w])) % 210;
            assert_eq!(next, RESIDUES_210[(w + 1) % 48]);
        }
        assert_eq!(STEP_210.iter().map(|&s| u64::from(s)).sum::<u64>(), 105);
        for p in [11u64, 13, 101, 65537] {
            for from in (0..5000u64).chain([p * p - 1, p * p, p * p + 1]) {
                let want = (from.max(p * p)..)
                    .find(|n| n % p == 0 && [2, 3, 5, 7].iter().all(|q| (n / p) % q != 0))
                    .unwrap();
                let (n, w) = first_multiple_210(p, from, u64::MAX).unwrap();
                assert_eq!(n, want, "p={p} from={from}");
                assert_eq!((n / p) % 210, RESIDUES_210[w]);
            }
        }
        assert_eq!(
            first_multiple_210(4294967291, u64::MAX - 10, u64::MAX),
            None
        );
    }
}
