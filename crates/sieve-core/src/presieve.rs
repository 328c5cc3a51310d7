//! Pre-sieving: the multiples of the primes 3..=167 are removed by copying and ANDing precomputed
//! patterns into each segment instead of crossing them off one by one.
//!
//! Those primes account for about half of all crossing-off work of a plain sieve. Their multiples
//! repeat: in the odd-only layout the multiples of `q` fall on every `q`-th bit, so a pattern of
//! `P` bytes (`8P` bits), `P` the product of a group of primes, repeats exactly. Grouping primes keeps
//! each pattern small enough for the L2 cache while one pass removes several primes at once.
//!
//! Pattern byte `j`, bit `b` stands for the global bit `g = 8j + b`, i.e. the odd number `2g + 1`,
//! so a segment that starts at the number `seg_lo` (a multiple of 16) starts at pattern byte
//! `(seg_lo / 16) mod P`. The patterns also clear the presieved primes themselves (and leave 1 set);
//! [`PreSieve::fill`] repairs that in the one segment that contains them.

/// The largest presieved prime; sieving primes start above it.
pub(crate) const PRESIEVE_MAX: u64 = 167;

/// Groups of presieved primes; each group's product is one pattern's period in bytes. Applied four
/// at a time, so their number is a multiple of [`PASS`]. Past the first group, the primes are
/// grouped so that the products' sum is smallest (a local search over partitions into three
/// triples and twelve pairs; the largest prime with the smallest, as primesieve pairs its
/// tables): 222 KB of patterns instead of 292 KB for consecutive primes.
const GROUPS: &[&[u64]] = &[
    &[3, 5, 7, 11, 13],
    &[17, 37, 43],
    &[19, 31, 47],
    &[23, 29, 41],
    &[53, 167],
    &[59, 163],
    &[61, 157],
    &[67, 151],
    &[71, 149],
    &[73, 139],
    &[79, 137],
    &[83, 131],
    &[89, 127],
    &[97, 113],
    &[101, 109],
    &[103, 107],
];

/// Patterns combined per pass over a segment: two passes of eight streams each.
const PASS: usize = 4;

/// One group's pattern: `period` bytes followed by a copy of its first 8 bytes, so that any word
/// starting before `period` can be read contiguously.
struct Pattern {
    period: usize,
    bytes: Vec<u8>,
}

impl Pattern {
    fn new(primes: &[u64]) -> Self {
        let period = primes.iter().product::<u64>() as usize;
        let mut bytes = vec![0xffu8; period + 8];
        for &q in primes {
            // Odd multiples of q: 2g + 1 ≡ 0 (mod q) ⇔ g ≡ (q - 1) / 2 (mod q).
            let mut g = ((q - 1) / 2) as usize;
            while g < 8 * period {
                bytes[g / 8] &= !(1 << (g % 8));
                g += q as usize;
            }
        }
        bytes.copy_within(0..8, period);
        Self { period, bytes }
    }
}

/// Combines `N` patterns into `words` in one pass: `words[j] = op(words[j], AND of the patterns)`.
///
/// `pos[i]` is the byte of pattern `i` that the first word starts at. The words are done in runs
/// over which no pattern wraps, so the inner loop is `N` streaming loads and one store, which the
/// compiler turns into vector loads of the target's width.
#[inline(always)]
fn apply<const N: usize>(
    words: &mut [u64],
    patterns: [&Pattern; N],
    mut pos: [usize; N],
    op: impl Fn(&mut u64, u64) + Copy,
) {
    let mut rest = words;
    while !rest.is_empty() {
        let mut run = rest.len();
        for (pattern, &at) in patterns.iter().zip(&pos) {
            run = run.min((pattern.period + 8 - at) / 8);
        }
        let (head, tail) = rest.split_at_mut(run);
        let sources: [&[u8]; N] = std::array::from_fn(|i| &patterns[i].bytes[pos[i]..][..8 * run]);
        for (j, word) in head.iter_mut().enumerate() {
            let mut v = !0u64;
            for source in &sources {
                v &= u64::from_le_bytes(source[8 * j..8 * j + 8].try_into().expect("8 bytes"));
            }
            op(word, v);
        }
        for (at, pattern) in pos.iter_mut().zip(&patterns) {
            *at += 8 * run;
            if *at >= pattern.period {
                *at -= pattern.period;
            }
        }
        rest = tail;
    }
}

/// The pre-sieve patterns (about 220 KB, a few hundred microseconds to build), one copy per process.
pub(crate) struct PreSieve {
    patterns: Vec<Pattern>,
}

impl PreSieve {
    /// The patterns, built on first use and shared by every sieve of the process: they are only
    /// read, and one copy (0.22 MB) serves all threads and each thread's sieving-prime generator.
    pub(crate) fn shared() -> &'static Self {
        static SHARED: std::sync::OnceLock<PreSieve> = std::sync::OnceLock::new();
        SHARED.get_or_init(Self::new)
    }

    pub(crate) fn new() -> Self {
        Self {
            patterns: GROUPS.iter().map(|g| Pattern::new(g)).collect(),
        }
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
        debug_assert!(seg_lo.is_multiple_of(128));
        let byte = seg_lo / 16;
        for (i, group) in self.patterns.chunks_exact(PASS).enumerate() {
            let group: [&Pattern; PASS] = std::array::from_fn(|j| &group[j]);
            let pos = group.map(|p| (byte % p.period as u64) as usize);
            if i == 0 {
                apply(words, group, pos, |w, p| *w = p);
            } else {
                apply(words, group, pos, |w, p| *w &= p);
            }
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
        for seg_lo in [
            0u64,
            128,
            256,
            128 * 1000,
            15015 * 16 * 8,
            (1 << 40) + 128 * 7,
            u64::MAX - 127 - 128 * 99,
        ] {
            let mut words = vec![0u64; 100];
            presieve.fill(&mut words, seg_lo);
            for i in 0..6400u64 {
                let n = seg_lo + 2 * i + 1;
                let expect = n != 1 && (small.contains(&n) || small.iter().all(|q| n % q != 0));
                let got = words[(i / 64) as usize] >> (i % 64) & 1 == 1;
                assert_eq!(got, expect, "n = {n}");
            }
        }
    }
}
