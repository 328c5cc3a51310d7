//! Counting primes and twin-prime pairs with hardware popcount, in a form that composes across
//! windows, chunks and ranks.

/// An odd number at one edge of an interval, and whether it is prime.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Edge {
    /// The odd number.
    pub odd: u64,
    /// Whether it is prime.
    pub prime: bool,
}

/// Counts of primes and twin-prime pairs in a closed interval `[lo, hi]`.
///
/// A twin pair `(p, p + 2)` belongs to `[lo, hi]` when both `p` and `p + 2` do (so `[1, 10]` has the
/// two pairs (3, 5) and (5, 7)). A pair that straddles two adjacent intervals belongs to neither, but
/// their union: that is why `Counts` also remembers the first and last odd number of its interval.
/// [`Counts::combine`] of the counts of `[a, m - 1]` and `[m, b]` is exactly the counts of `[a, b]`,
/// and `combine` is associative, so chunks and ranks can be reduced in any grouping as long as the
/// order of intervals is kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Counts {
    /// First number of the interval.
    pub lo: u64,
    /// Last number of the interval.
    pub hi: u64,
    /// Primes in `[lo, hi]`, 2 included.
    pub primes: u64,
    /// Twin pairs `(p, p + 2)` with `lo <= p` and `p + 2 <= hi`.
    pub twins: u64,
    /// The first odd number of the interval, if any.
    pub first: Option<Edge>,
    /// The last odd number of the interval, if any.
    pub last: Option<Edge>,
}

impl Counts {
    /// Counts of `[lo, hi]` with nothing counted yet (no odd number seen).
    pub(crate) fn empty(lo: u64, hi: u64) -> Self {
        Self {
            lo,
            hi,
            primes: 0,
            twins: 0,
            first: None,
            last: None,
        }
    }

    /// Counts of `[lo, hi]` with `primes` primes and `twins` twin pairs, the edges found by a
    /// primality test: the modulo-30 kernel that counted them keeps no odd-only words.
    pub(crate) fn from_totals(lo: u64, hi: u64, primes: u64, twins: u64) -> Self {
        let mut counts = Self::empty(lo, hi);
        counts.primes = primes;
        counts.twins = twins;
        if lo | 1 <= hi {
            let last = if hi % 2 == 1 { hi } else { hi - 1 };
            let edge = |odd| Edge {
                odd,
                prime: crate::oracle::is_prime(odd),
            };
            counts.first = Some(edge(lo | 1));
            counts.last = Some(edge(last));
        }
        counts
    }

    /// Counts of `[lo, hi]` (primes, twin pairs and edges) from its odd-only words as the sieve lays
    /// them out: bit `i` stands for `(lo & !127) + 1 + 2i`, and bits of numbers outside `[lo, hi]`
    /// are zero (the words of [`crate::Sieve::for_each_window`]'s windows, concatenated).
    pub fn of_words(lo: u64, hi: u64, words: &[u64]) -> Counts {
        let mut tally = Tally::new(lo, hi, true);
        tally.add((lo & !127) + 1, words);
        tally.counts
    }

    /// The counts of the union of `self` = `[a, m - 1]` and `next` = `[m, b]`.
    ///
    /// # Panics
    /// If `next` does not start right after `self` ends.
    pub fn combine(self, next: Counts) -> Counts {
        assert_eq!(
            self.hi.checked_add(1),
            Some(next.lo),
            "Counts::combine needs adjacent intervals"
        );
        let straddle = match (self.last, next.first) {
            (Some(a), Some(b)) => u64::from(a.prime && b.prime && a.odd + 2 == b.odd),
            _ => 0,
        };
        Counts {
            lo: self.lo,
            hi: next.hi,
            primes: self.primes + next.primes,
            twins: self.twins + next.twins + straddle,
            first: self.first.or(next.first),
            last: next.last.or(self.last),
        }
    }
}

/// Running tally over consecutive windows of one interval.
pub(crate) struct Tally {
    pub counts: Counts,
    /// Top bit of the previous window's last word: the odd number just before this window.
    carry: u64,
    want_twins: bool,
}

impl Tally {
    pub(crate) fn new(lo: u64, hi: u64, want_twins: bool) -> Self {
        let mut counts = Counts::empty(lo, hi);
        counts.primes = u64::from(lo <= 2 && 2 <= hi);
        Self {
            counts,
            carry: 0,
            want_twins,
        }
    }

    /// Adds a window's words, bit 0 standing for `first_odd` (bits outside the interval already
    /// cleared); consecutive calls must cover consecutive odd numbers.
    pub(crate) fn add(&mut self, first_odd: u64, words: &[u64]) {
        self.add_counts(words);
        self.note_edges(first_odd, words);
    }

    /// Records whether the interval's first and last odd numbers are prime, when they fall in these
    /// words.
    fn note_edges(&mut self, first_odd: u64, words: &[u64]) {
        let (lo, hi) = (self.counts.lo, self.counts.hi);
        if lo | 1 > hi {
            return; // no odd number in the interval
        }
        let edge = |odd: u64| {
            let i = odd.checked_sub(first_odd)? / 2;
            let word = words.get((i / 64) as usize)?;
            Some(Edge {
                odd,
                prime: word >> (i % 64) & 1 == 1,
            })
        };
        let last = if hi % 2 == 1 { hi } else { hi - 1 };
        if let Some(e) = edge(lo | 1) {
            self.counts.first = Some(e);
        }
        if let Some(e) = edge(last) {
            self.counts.last = Some(e);
        }
    }

    fn add_counts(&mut self, words: &[u64]) {
        #[cfg(target_arch = "x86_64")]
        if crate::cpu::has!("avx512f")
            && crate::cpu::has!("avx512vpopcntdq")
            && crate::cpu::has!("popcnt")
        {
            // SAFETY: the CPU has AVX-512F, AVX512-VPOPCNTDQ and POPCNT, checked just above.
            return unsafe { self.add_avx512(words) };
        }
        #[cfg(target_arch = "x86_64")]
        if crate::cpu::has!("avx2") && crate::cpu::has!("popcnt") {
            // SAFETY: the CPU supports AVX2 and POPCNT, checked just above.
            return unsafe { self.add_avx2(words) };
        }
        self.add_portable(words);
    }

    /// [`Self::add`] with hardware popcount and AVX2 (the x86-64 baseline has neither).
    ///
    /// # Safety
    /// The CPU must support AVX2 and POPCNT.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,popcnt")]
    unsafe fn add_avx2(&mut self, words: &[u64]) {
        self.add_portable(words);
    }

    /// [`Self::add`] with AVX-512's 64-bit vector popcount (Ice Lake and Zen 4 on).
    ///
    /// # Safety
    /// The CPU must support AVX512-VPOPCNTDQ.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx512vpopcntdq,popcnt")]
    unsafe fn add_avx512(&mut self, words: &[u64]) {
        self.add_portable(words);
    }

    #[inline(always)]
    fn add_portable(&mut self, words: &[u64]) {
        let mut primes = 0u64;
        for &w in words {
            primes += u64::from(w.count_ones());
        }
        self.counts.primes += primes;
        if self.want_twins {
            let mut twins = 0u64;
            let mut carry = self.carry;
            for &w in words {
                twins += u64::from((w & (w >> 1)).count_ones()) + (carry & w & 1);
                carry = w >> 63;
            }
            self.counts.twins += twins;
            self.carry = carry;
        }
    }
}

crate::cpu::popcount_versions! {
    /// The number of set bits in `bytes` (a segment's primes in the modulo-30 layout), with the
    /// CPU's vector popcount where it has one, chosen as [`Tally`]'s. The x86-64 baseline has no
    /// popcount instruction: its loop is 2 to 3 % of counting `[0, 10^10]` (AMD EPYC Zen 4).
    pub(crate) fn ones / ones_avx512 / ones_avx2 / ones_portable(bytes: &[u8]) -> u64 {
        let words = bytes.chunks_exact(8);
        let rest = words.remainder();
        words
            .map(|w| u64::from(u64::from_le_bytes(w.try_into().expect("8 bytes")).count_ones()))
            .sum::<u64>()
            + rest.iter().map(|&b| u64::from(b.count_ones())).sum::<u64>()
    }
}

/// `len` words of every density for tests of the counting loops: random, sparse (two or three
/// random words ANDed), dense (two ORed), all ones and all zeros, from a fixed xorshift seed.
#[cfg(test)]
pub(crate) fn mixed_words(len: usize) -> Vec<u64> {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    (0..len)
        .map(|i| match i % 6 {
            0 => next(),
            1 => next() & next(),
            2 => !0,
            3 => next() | next(),
            4 => 0,
            _ => next() & next() & next(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every counting path this CPU can take gives the portable loop's primes, twins and carry,
    /// over words of every density, split into windows of several lengths.
    #[test]
    fn every_counting_path_agrees() {
        let words = mixed_words(1000);
        for window in [1, 7, 8, 63, 64, 1000] {
            let run = |add: &dyn Fn(&mut Tally, &[u64])| {
                let mut tally = Tally::new(3, 1 << 40, true); // above 2: no prime counted ahead
                for chunk in words.chunks(window) {
                    add(&mut tally, chunk);
                }
                (tally.counts.primes, tally.counts.twins, tally.carry)
            };
            let want = run(&|t, w| t.add_portable(w));
            #[cfg(target_arch = "x86_64")]
            {
                if std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("popcnt")
                {
                    // SAFETY: the CPU supports AVX2 and POPCNT, checked just above.
                    assert_eq!(run(&|t, w| unsafe { t.add_avx2(w) }), want, "avx2");
                }
                if std::arch::is_x86_feature_detected!("avx512f")
                    && std::arch::is_x86_feature_detected!("avx512vpopcntdq")
                    && std::arch::is_x86_feature_detected!("popcnt")
                {
                    // SAFETY: the CPU has AVX-512F, AVX512-VPOPCNTDQ and POPCNT, checked just above.
                    assert_eq!(run(&|t, w| unsafe { t.add_avx512(w) }), want, "avx512");
                }
            }
            assert_eq!(
                want.0,
                words.iter().map(|w| u64::from(w.count_ones())).sum()
            );
        }
    }

    /// [`ones`] on this CPU's path and on every other it has counts the bits of byte slices of
    /// every length and alignment.
    #[test]
    fn every_ones_path_agrees() {
        let bytes: Vec<u8> = mixed_words(200)
            .iter()
            .flat_map(|w| w.to_le_bytes())
            .collect();
        for start in [0, 1, 3, 8] {
            for len in [0, 1, 7, 8, 9, 63, 64, 65, 1000, bytes.len() - start] {
                let slice = &bytes[start..start + len];
                let want: u64 = slice.iter().map(|&b| u64::from(b.count_ones())).sum();
                assert_eq!(ones(slice), want, "[{start}, +{len}]");
                assert_eq!(ones_portable(slice), want);
                #[cfg(target_arch = "x86_64")]
                {
                    if std::arch::is_x86_feature_detected!("avx2")
                        && std::arch::is_x86_feature_detected!("popcnt")
                    {
                        // SAFETY: the CPU supports AVX2 and POPCNT, checked just above.
                        assert_eq!(unsafe { ones_avx2(slice) }, want, "avx2");
                    }
                    if std::arch::is_x86_feature_detected!("avx512f")
                        && std::arch::is_x86_feature_detected!("avx512vpopcntdq")
                        && std::arch::is_x86_feature_detected!("popcnt")
                    {
                        // SAFETY: the CPU has the three, checked just above.
                        assert_eq!(unsafe { ones_avx512(slice) }, want, "avx512");
                    }
                }
            }
        }
    }
}
