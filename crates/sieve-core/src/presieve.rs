//! Pre-sieving: the multiples of the primes 3..=167 are removed by copying and ANDing precomputed
//! patterns into each segment instead of crossing them off one by one.
//!
//! Those primes account for about half of all crossing-off work of a plain sieve. Their multiples
//! repeat: in the odd-only layout the multiples of `q` fall on every `q`-th bit, so a pattern of
//! `P` bytes (`8P` bits), `P` a multiple of the product of a group of primes, repeats exactly.
//! Each pattern covers a pair of primes (a few a single one or a triple) and stays a few KB, so
//! that the five read in one pass sit in the L1 cache beside the segment.
//!
//! Pattern byte `j`, bit `b` stands for the global bit `g = 8j + b`, i.e. the odd number `2g + 1`,
//! so a segment that starts at the number `seg_lo` (a multiple of 16) starts at pattern byte
//! `(seg_lo / 16) mod P`. The patterns also clear the presieved primes themselves (and leave 1 set);
//! [`PreSieve::fill`] repairs that in the one segment that contains them.
//!
//! The same groups, without 3 and 5, also make patterns in the modulo-30 layout of `crate::mod30`
//! ([`PreSieve::shared_30`], another 105 KB per process): byte `j`, bit `k` stands for
//! `30j + RESIDUES[k]`, a pattern of `P` bytes repeats exactly for `P` a multiple of the product
//! (30 numbers a byte, coprime to the group), and a segment from `seg_lo` (a multiple of 240)
//! starts at pattern byte `(seg_lo / 30) mod P`.

/// The largest presieved prime; sieving primes start above it.
pub(crate) const PRESIEVE_MAX: u64 = 167;

/// Groups of presieved primes, one pattern each, applied [`PASS`] at a time (their number is a
/// multiple of it). Found by a local search for the smallest total of the patterns' bytes (each
/// group's product rounded up to a multiple of at least [`RUN_BYTES`], plus `RUN_BYTES`): mostly
/// a small prime with a large one, as primesieve pairs its tables; 105 KB in all. The earlier 16
/// groups (three triples and twelve pairs, four passes of four) took 222 KB, and their
/// triples (27 KB each) were read from L2: these are 117 KB smaller and 1-4 % faster (Intel Xeon,
/// Sapphire Rapids, one thread, medians of 9 interleaved runs: [0, 10^9] 0.964, [0, 10^10],
/// [10^12, +2 x 10^9] and [10^15, +10^9] 0.992).
const GROUPS: &[&[u64]] = &[
    &[67, 71],
    &[59, 79],
    &[61, 73],
    &[53, 83],
    &[47, 89],
    &[43, 97],
    &[41, 101],
    &[37, 103],
    &[31, 107],
    &[29, 109],
    &[23, 113],
    &[19, 131],
    &[17, 137],
    &[13, 167],
    &[3, 5, 139],
    &[11, 127],
    &[7, 157],
    &[163],
    &[151],
    &[149],
];

/// Patterns combined per pass over a segment: four passes of five streams (four passes of four
/// were as fast; ten streams per pass 36 % slower).
const PASS: usize = 5;

const _: () = assert!(GROUPS.len().is_multiple_of(PASS));

/// Bytes of the segment done per run of a pass: each pattern holds this many bytes past its period
/// (so that a run starting anywhere in the period reads on without a wrap) and a period of at
/// least this many bytes (so that one subtraction brings the next run's start back into it).
/// Runs that instead ended wherever a pattern wrapped were 22 % slower with patterns this small;
/// 4 KiB runs gained another 0.5 % for 73 KB more.
const RUN_BYTES: usize = 2048;

/// One group's pattern: `period` bytes, a multiple of the group's product and at least
/// [`RUN_BYTES`], followed by the first `RUN_BYTES` of the next period.
struct Pattern {
    period: usize,
    bytes: Vec<u8>,
}

impl Pattern {
    fn new(primes: &[u64]) -> Self {
        let product = primes.iter().product::<u64>() as usize;
        let period = product * RUN_BYTES.div_ceil(product);
        let mut bytes = vec![0xffu8; period + RUN_BYTES];
        for &q in primes {
            // Odd multiples of q: 2g + 1 ≡ 0 (mod q) ⇔ g ≡ (q - 1) / 2 (mod q).
            let mut g = ((q - 1) / 2) as usize;
            while g < 8 * bytes.len() {
                bytes[g / 8] &= !(1 << (g % 8));
                g += q as usize;
            }
        }
        Self { period, bytes }
    }

    /// The pattern of `primes` (none of them 2, 3 or 5) in the modulo-30 layout: byte `j`, bit
    /// `k` stands for `30j + RESIDUES[k]`. Its period is the product in bytes (`30` numbers a
    /// byte, and the product is coprime to 30).
    fn new_30(primes: &[u64]) -> Self {
        // For each residue mod 30 the bit it has in a byte, or none (multiples of 2, 3 or 5).
        let bit_of: [Option<u8>; 30] = std::array::from_fn(|r| {
            crate::wheel::RESIDUES
                .iter()
                .position(|&x| x == r as u64)
                .map(|k| k as u8)
        });
        let product = primes.iter().product::<u64>() as usize;
        let period = product * RUN_BYTES.div_ceil(product);
        let mut bytes = vec![0xffu8; period + RUN_BYTES];
        for &q in primes {
            // The odd multiples of q; those coprime to 30 have a bit.
            let q = q as usize;
            let mut n = q;
            while n < 30 * bytes.len() {
                if let Some(k) = bit_of[n % 30] {
                    bytes[n / 30] &= !(1 << k);
                }
                n += 2 * q;
            }
        }
        Self { period, bytes }
    }
}

/// Combines `N` patterns into `words` in one pass: `words[j] = op(words[j], AND of the patterns)`.
///
/// `pos[i]` is the byte of pattern `i` that the first word starts at (less than its period). The
/// words are done in runs of [`RUN_BYTES`], over which no pattern wraps, so the inner loop is `N`
/// streaming loads and one store, which the compiler turns into vector loads of the target's
/// width.
#[inline(always)]
fn apply<const N: usize>(
    words: &mut [u64],
    patterns: [&Pattern; N],
    mut pos: [usize; N],
    op: impl Fn(&mut u64, u64) + Copy,
) {
    for run in words.chunks_mut(RUN_BYTES / 8) {
        let n = run.len();
        let sources: [&[u8]; N] = std::array::from_fn(|i| &patterns[i].bytes[pos[i]..][..8 * n]);
        for (j, word) in run.iter_mut().enumerate() {
            let mut v = !0u64;
            for source in &sources {
                v &= u64::from_le_bytes(source[8 * j..8 * j + 8].try_into().expect("8 bytes"));
            }
            op(word, v);
        }
        for (at, pattern) in pos.iter_mut().zip(&patterns) {
            // At most RUN_BYTES on, and the period is at least that: one subtraction.
            *at += 8 * n;
            if *at >= pattern.period {
                *at -= pattern.period;
            }
        }
    }
}

/// The pre-sieve patterns of one layout (105 KB, a few hundred microseconds to build), one copy per
/// process and layout.
pub(crate) struct PreSieve {
    patterns: Vec<Pattern>,
    /// Whether the patterns are in the modulo-30 layout ([`Self::shared_30`]).
    mod30: bool,
}

impl PreSieve {
    /// The patterns, built on first use and shared by every sieve of the process: they are only
    /// read, and one copy (0.1 MB) serves all threads and each thread's sieving-prime generator.
    pub(crate) fn shared() -> &'static Self {
        static SHARED: std::sync::OnceLock<PreSieve> = std::sync::OnceLock::new();
        SHARED.get_or_init(Self::new)
    }

    pub(crate) fn new() -> Self {
        Self {
            patterns: GROUPS.iter().map(|g| Pattern::new(g)).collect(),
            mod30: false,
        }
    }

    /// The patterns of the modulo-30 layout (`crate::mod30`), one copy per process: the same
    /// groups without 3 and 5, which the layout leaves out.
    pub(crate) fn shared_30() -> &'static Self {
        static SHARED: std::sync::OnceLock<PreSieve> = std::sync::OnceLock::new();
        SHARED.get_or_init(Self::new_30)
    }

    pub(crate) fn new_30() -> Self {
        Self {
            patterns: GROUPS
                .iter()
                .map(|g| {
                    let g: Vec<u64> = g.iter().copied().filter(|&q| q > 5).collect();
                    Pattern::new_30(&g)
                })
                .collect(),
            mod30: true,
        }
    }

    /// Fills `words`, modulo-30 bytes from the number `seg_lo` (a multiple of 240), with the
    /// numbers coprime to 30 that have no prime factor in 7..=167; the presieved primes
    /// themselves are set, 1 is cleared.
    pub(crate) fn fill_30(&self, words: &mut [u64], seg_lo: u64) {
        debug_assert!(self.mod30 && seg_lo.is_multiple_of(240));
        self.fill(words, seg_lo);
    }

    /// Fills `words`, the segment starting at the number `seg_lo` (a multiple of 128), with the odd
    /// numbers that have no prime factor in 3..=167 set; 1 is cleared and the presieved primes
    /// themselves are set.
    pub(crate) fn fill(&self, words: &mut [u64], seg_lo: u64) {
        #[cfg(target_arch = "x86_64")]
        if crate::cpu::has!("avx512f") {
            // SAFETY: the CPU supports AVX-512F, checked just above.
            return unsafe { self.fill_avx512(words, seg_lo) };
        }
        #[cfg(target_arch = "x86_64")]
        if crate::cpu::has!("avx2") {
            // SAFETY: the CPU supports AVX2, checked just above.
            return unsafe { self.fill_avx2(words, seg_lo) };
        }
        self.fill_portable(words, seg_lo);
    }

    /// [`Self::fill`] compiled for AVX-512F: 512-bit loads and ANDs.
    ///
    /// # Safety
    /// The CPU must support AVX-512F.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f")]
    unsafe fn fill_avx512(&self, words: &mut [u64], seg_lo: u64) {
        self.fill_portable(words, seg_lo);
    }

    /// [`Self::fill`] compiled for AVX2: twice the vector width of the x86-64 baseline.
    ///
    /// # Safety
    /// The CPU must support AVX2.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn fill_avx2(&self, words: &mut [u64], seg_lo: u64) {
        self.fill_portable(words, seg_lo);
    }

    #[inline(always)]
    fn fill_portable(&self, words: &mut [u64], seg_lo: u64) {
        debug_assert!(seg_lo.is_multiple_of(if self.mod30 { 240 } else { 128 }));
        let byte = if self.mod30 { seg_lo / 30 } else { seg_lo / 16 };
        for (i, group) in self.patterns.chunks_exact(PASS).enumerate() {
            let group: [&Pattern; PASS] = std::array::from_fn(|j| &group[j]);
            let pos = group.map(|p| (byte % p.period as u64) as usize);
            if i == 0 {
                apply(words, group, pos, |w, p| *w = p);
            } else {
                apply(words, group, pos, |w, p| *w &= p);
            }
        }
        if seg_lo < PRESIEVE_MAX && self.mod30 {
            if let (0, Some(first)) = (seg_lo, words.first_mut()) {
                *first &= !1; // 1 is not prime
            }
            for &q in GROUPS
                .iter()
                .flat_map(|g| g.iter())
                .filter(|&&q| q > 5 && q >= seg_lo)
            {
                let byte = ((q - seg_lo) / 30) as usize;
                let bit = crate::mod30::bit_of(q % 30);
                if let Some(w) = words.get_mut(byte / 8) {
                    *w |= 1 << (8 * (byte % 8) + bit);
                }
            }
            return;
        }
        if seg_lo < PRESIEVE_MAX {
            if let (0, Some(first)) = (seg_lo, words.first_mut()) {
                *first &= !1; // 1 is not prime
            }
            for &q in GROUPS
                .iter()
                .flat_map(|g| g.iter())
                .filter(|&&q| q > seg_lo)
            {
                let bit = ((q - seg_lo) / 2) as usize;
                if let Some(w) = words.get_mut(bit / 64) {
                    *w |= 1 << (bit % 64);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fill_matches_trial_division() {
        let presieve = PreSieve::new();
        let small: Vec<u64> = GROUPS.iter().flat_map(|g| g.iter().copied()).collect();
        // Several runs of RUN_BYTES, and a last one cut short.
        const WORDS: usize = RUN_BYTES / 8 * 3 + 37;
        for seg_lo in [
            0u64,
            128,
            256,
            128 * 1000,
            15015 * 16 * 8,
            (1 << 40) + 128 * 7,
            0u64.wrapping_sub(128 * WORDS as u64), // the last word ends at 2^64 - 1
        ] {
            let mut words = vec![0u64; WORDS];
            presieve.fill(&mut words, seg_lo);
            for i in 0..64 * words.len() as u64 {
                let n = seg_lo + 2 * i + 1;
                let expect = n != 1 && (small.contains(&n) || small.iter().all(|q| n % q != 0));
                let got = words[(i / 64) as usize] >> (i % 64) & 1 == 1;
                assert_eq!(got, expect, "n = {n}");
            }
        }
    }
}
