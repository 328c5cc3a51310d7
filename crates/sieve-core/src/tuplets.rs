//! Prime k-tuplets (k = 2..=6) counted from the sieve's odd-only words, in a form that composes
//! across windows, chunks and ranks like [`crate::Counts`].
//!
//! The patterns are primesieve's (the densest admissible ones, so the members of a tuplet are
//! consecutive primes):
//!
//! | k | name | patterns |
//! |---|---|---|
//! | 2 | twin primes | (p, p+2) |
//! | 3 | prime triplets | (p, p+2, p+6), (p, p+4, p+6) |
//! | 4 | prime quadruplets | (p, p+2, p+6, p+8) |
//! | 5 | prime quintuplets | (p, p+2, p+6, p+8, p+12), (p, p+4, p+6, p+10, p+12) |
//! | 6 | prime sextuplets | (p, p+4, p+6, p+10, p+12, p+16) |
//!
//! A tuplet belongs to `[lo, hi]` when all its members do. No tuplet spans more than 17 numbers, so
//! a piece remembers which of its first and last 16 numbers are prime, and
//! [`Tuplets::combine`] counts the tuplets that straddle two adjacent pieces from those alone.
//!
//! ```
//! use sieve_core::{Sieve, SieveConfig, SievingPrimes, Tuplets};
//!
//! let sieving = SievingPrimes::for_hi(1000);
//! let mut sieve = Sieve::new(SieveConfig::default());
//! let whole = Tuplets::of_interval(&mut sieve, &sieving, 0, 1000, 0b111_1100);
//! let left = Tuplets::of_interval(&mut sieve, &sieving, 0, 12, 0b111_1100);
//! let right = Tuplets::of_interval(&mut sieve, &sieving, 13, 1000, 0b111_1100);
//! assert_eq!(left.combine(right), whole);
//! assert_eq!(whole.count(3), 30); // primesieve 1000 -c3
//! ```

use crate::{Sieve, SievingPrimes};

/// Offsets of the members of each k-tuplet pattern from its first member, for k = 2..=6.
pub const PATTERNS: [&[&[u64]]; 5] = [
    &[&[0, 2]],
    &[&[0, 2, 6], &[0, 4, 6]],
    &[&[0, 2, 6, 8]],
    &[&[0, 2, 6, 8, 12], &[0, 4, 6, 10, 12]],
    &[&[0, 4, 6, 10, 12, 16]],
];

/// The patterns of k-tuplets (`2 <= k <= 6`).
pub fn patterns(k: usize) -> &'static [&'static [u64]] {
    PATTERNS[k - 2]
}

/// primesieve's names of the counts, `Twin primes`, `Prime triplets`, ..., for k = 2..=6.
pub fn label(k: usize) -> &'static str {
    [
        "Twin primes",
        "Prime triplets",
        "Prime quadruplets",
        "Prime quintuplets",
        "Prime sextuplets",
    ][k - 2]
}

/// How many numbers at each end of a piece it remembers: a tuplet spans at most 17 numbers, so one
/// that straddles a cut has all its members within 16 numbers of it.
const EDGE: u64 = 16;

/// Counts of k-tuplets in a closed interval `[lo, hi]`, with what [`Tuplets::combine`] needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tuplets {
    /// First number of the interval.
    pub lo: u64,
    /// Last number of the interval.
    pub hi: u64,
    /// Which k are counted: bit k set for each (bits 2..=6).
    pub kinds: u8,
    /// `counts[k - 2]`: the k-tuplets with every member in `[lo, hi]` (0 for kinds not counted).
    counts: [u64; 5],
    /// Bit `i`: whether `lo + i` is an odd prime (`i < 16`, `lo + i <= hi`).
    head: u16,
    /// Bit `i`: whether `hi - i` is an odd prime (`i < 16`, `hi - i >= lo`).
    tail: u16,
}

impl Tuplets {
    /// Nothing counted yet in `[lo, hi]`.
    fn empty(lo: u64, hi: u64, kinds: u8) -> Self {
        Self {
            lo,
            hi,
            kinds,
            counts: [0; 5],
            head: 0,
            tail: 0,
        }
    }

    /// The k-tuplets in the interval (`2 <= k <= 6`; 0 when k is not among the kinds counted).
    pub fn count(&self, k: usize) -> u64 {
        self.counts[k - 2]
    }

    /// Counts the k-tuplets of `[lo, hi]` (`lo <= hi`) for each bit k of `kinds`, sieving with
    /// `sieve`.
    pub fn of_interval(
        sieve: &mut Sieve,
        primes: &SievingPrimes,
        lo: u64,
        hi: u64,
        kinds: u8,
    ) -> Self {
        let mut tally = TupletTally::new(lo, hi, kinds);
        sieve.for_each_window(primes, lo, hi, |window| {
            tally.add(window.first_odd(), window.words())
        });
        tally.finish()
    }

    /// The counts of `[a, b]` from its odd-only words laid out as [`crate::Counts::of_words`]
    /// reads them (bit `i` stands for `(lo & !127) + 1 + 2i`, bits outside `[lo, hi]` zero).
    pub fn of_words(lo: u64, hi: u64, kinds: u8, words: &[u64]) -> Self {
        let mut tally = TupletTally::new(lo, hi, kinds);
        tally.add((lo & !127) + 1, words);
        tally.finish()
    }

    /// The summary as 8 words, for sending between ranks ([`Tuplets::from_words`] reads them).
    pub fn to_words(&self) -> [u64; 8] {
        let c = self.counts;
        let edges = u64::from(self.kinds) | u64::from(self.head) << 8 | u64::from(self.tail) << 24;
        [self.lo, self.hi, edges, c[0], c[1], c[2], c[3], c[4]]
    }

    /// Reads what [`Tuplets::to_words`] wrote.
    ///
    /// # Panics
    /// If `words` holds fewer than 8 words.
    pub fn from_words(words: &[u64]) -> Self {
        let edges = words[2];
        Self {
            lo: words[0],
            hi: words[1],
            kinds: edges as u8,
            counts: [words[3], words[4], words[5], words[6], words[7]],
            head: (edges >> 8) as u16,
            tail: (edges >> 24) as u16,
        }
    }

    /// Whether the interval holds at least 16 numbers (so its head and tail do not overlap the
    /// neighbour's).
    fn is_long(&self) -> bool {
        self.hi - self.lo >= EDGE - 1
    }

    /// The counts of the union of `self` = `[a, m - 1]` and `next` = `[m, b]`: the two counts plus
    /// the tuplets with members on both sides. Associative, like [`crate::Counts::combine`].
    ///
    /// # Panics
    /// If `next` does not start right after `self` ends, or counts other kinds.
    pub fn combine(self, next: Tuplets) -> Tuplets {
        assert_eq!(
            self.hi.checked_add(1),
            Some(next.lo),
            "Tuplets::combine needs adjacent intervals"
        );
        assert_eq!(
            self.kinds, next.kinds,
            "Tuplets::combine needs the same kinds"
        );
        // Bit i of `joint` stands for next.lo - 16 + i: self's last 16 numbers, then next's first 16.
        let joint = u32::from(self.tail.reverse_bits()) | u32::from(next.head) << EDGE;
        let mut counts = [0; 5];
        for k in 2..=6 {
            if self.kinds >> k & 1 == 0 {
                continue;
            }
            let mut straddling = 0;
            for pattern in patterns(k) {
                let span = pattern[pattern.len() - 1];
                // First members in self's part whose last member is in next's part.
                for first in (EDGE - span)..EDGE {
                    straddling += u64::from(pattern.iter().all(|&o| joint >> (first + o) & 1 == 1));
                }
            }
            counts[k - 2] = self.counts[k - 2] + next.counts[k - 2] + straddling;
        }
        let head = if self.is_long() {
            self.head
        } else {
            // self holds hi - lo + 1 < 16 numbers; next's head continues right after them.
            self.head
                | next
                    .head
                    .checked_shl((self.hi - self.lo + 1) as u32)
                    .unwrap_or(0)
        };
        let tail = if next.is_long() {
            next.tail
        } else {
            next.tail
                | self
                    .tail
                    .checked_shl((next.hi - next.lo + 1) as u32)
                    .unwrap_or(0)
        };
        Tuplets {
            lo: self.lo,
            hi: next.hi,
            kinds: self.kinds,
            counts,
            head,
            tail,
        }
    }
}

/// Counts tuplets over consecutive windows of one interval, a word behind: each word is counted
/// once the next has arrived, so that tuplets across word and window edges are seen.
pub struct TupletTally {
    tuplets: Tuplets,
    /// The last word added, whose tuplets wait for the word after it.
    pending: Option<u64>,
    /// `want[k - 2]`: 1 if k-tuplets are counted, else 0.
    want: [u64; 5],
}

/// Per pattern, in [`PATTERNS`] order flattened (twins, the two triplets, quadruplets, the two
/// quintuplets, sextuplets): how many tuplets of it start at a bit of the words counted.
type Found = [u64; 7];

impl TupletTally {
    /// A tally of `[lo, hi]` for each bit k (2..=6) of `kinds`.
    pub fn new(lo: u64, hi: u64, kinds: u8) -> Self {
        Self {
            tuplets: Tuplets::empty(lo, hi, kinds & 0b111_1100),
            pending: None,
            want: [2, 3, 4, 5, 6].map(|k| u64::from(kinds >> k & 1)),
        }
    }

    /// Adds a window's words, bit 0 standing for `first_odd` (bits outside the interval cleared);
    /// consecutive calls must cover consecutive odd numbers.
    pub fn add(&mut self, first_odd: u64, words: &[u64]) {
        self.note_edges(first_odd, words);
        if self.tuplets.kinds == 0 || words.is_empty() {
            return; // nothing to count (a pass for gaps only)
        }
        let mut found = [0; 7];
        if let Some(previous) = self.pending {
            count_pair(&mut found, previous, words[0]);
        }
        // Every word but the last, each with the one after it; the last waits for the next call.
        for (total, n) in found.iter_mut().zip(count_pairs(words)) {
            *total += n;
        }
        self.pending = words.last().copied();
        self.credit(found);
    }

    /// The counts, once every window has been added.
    pub fn finish(mut self) -> Tuplets {
        if let Some(last) = self.pending.take() {
            let mut found = [0; 7];
            count_pair(&mut found, last, 0);
            self.credit(found);
        }
        self.tuplets
    }

    /// Adds the patterns' counts to the k-tuplets counted.
    fn credit(&mut self, found: Found) {
        let by_k = [
            found[0],
            found[1] + found[2],
            found[3],
            found[4] + found[5],
            found[6],
        ];
        for (count, (n, want)) in self
            .tuplets
            .counts
            .iter_mut()
            .zip(by_k.iter().zip(self.want))
        {
            *count += n * want;
        }
    }

    /// Records which of the interval's first and last 16 numbers these words say are prime.
    fn note_edges(&mut self, first_odd: u64, words: &[u64]) {
        let (lo, hi) = (self.tuplets.lo, self.tuplets.hi);
        let is_prime = |n: u64| -> Option<bool> {
            if n.is_multiple_of(2) {
                return None;
            }
            let i = n.checked_sub(first_odd)? / 2;
            let word = words.get(usize::try_from(i / 64).ok()?)?;
            Some(word >> (i % 64) & 1 == 1)
        };
        for i in 0..(hi - lo).min(EDGE - 1) + 1 {
            if let Some(true) = is_prime(lo + i) {
                self.tuplets.head |= 1 << i;
            }
            if let Some(true) = is_prime(hi - i) {
                self.tuplets.tail |= 1 << i;
            }
        }
    }
}

/// Adds to `found` the tuplets whose first member is a bit of `word`, `next` being the word after
/// it (the other members lie at most 16 numbers, 8 bits, further on).
///
/// Bit i of `shifted(j)` is bit i + j of the two words: whether p + 2j is prime for the p of bit i.
/// The patterns of [`PATTERNS`] share prefixes, so each is one AND on a shorter one (the tests check
/// every count against the patterns themselves).
#[inline(always)]
fn count_pair(found: &mut Found, word: u64, next: u64) {
    // j in 1..=8: neither shift is by 64.
    let shifted = |j: u32| word >> j | next << (64 - j);
    let twin = word & shifted(1); // p, p+2
    let triplet_a = twin & shifted(3); // p, p+2, p+6
    let triplet_b = word & shifted(2) & shifted(3); // p, p+4, p+6
    let quadruplet = triplet_a & shifted(4); // p, p+2, p+6, p+8
    let quintuplet_a = quadruplet & shifted(6); // p, p+2, p+6, p+8, p+12
    let quintuplet_b = triplet_b & shifted(5) & shifted(6); // p, p+4, p+6, p+10, p+12
    let sextuplet = quintuplet_b & shifted(8); // p, p+4, p+6, p+10, p+12, p+16
    let patterns = [
        twin,
        triplet_a,
        triplet_b,
        quadruplet,
        quintuplet_a,
        quintuplet_b,
        sextuplet,
    ];
    for (n, bits) in found.iter_mut().zip(patterns) {
        *n += u64::from(bits.count_ones());
    }
}

crate::cpu::popcount_versions! {
    /// The tuplets whose first member is a bit of `words[j]`, `j < words.len() - 1` (each word
    /// with the one after it), on the widest vector instructions the CPU has: a loop without
    /// branches that the compiler vectorises (with AVX-512, eight words per step and a vector
    /// popcount). A few times faster than a word at a time, where counting tuplets took as long
    /// as sieving (10^10, Zen 5).
    fn count_pairs / count_pairs_avx512 / count_pairs_avx2 / count_pairs_portable(
        words: &[u64],
    ) -> Found {
        let mut found = [0; 7];
        for pair in words.windows(2) {
            count_pair(&mut found, pair[0], pair[1]);
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oracle;
    use crate::SieveConfig;
    use proptest::prelude::*;

    const ALL: u8 = 0b111_1100;

    /// The k-tuplets of `[lo, hi]` by brute force over the oracle's primes.
    fn brute(lo: u64, hi: u64, k: usize) -> u64 {
        let primes = oracle::primes_between(lo, hi);
        let set: std::collections::HashSet<u64> = primes.iter().copied().collect();
        primes
            .iter()
            .map(|&p| {
                patterns(k)
                    .iter()
                    .filter(|pat| {
                        pat.iter()
                            .all(|&o| p.checked_add(o).is_some_and(|q| set.contains(&q)))
                    })
                    .count() as u64
            })
            .sum()
    }

    fn sieved(lo: u64, hi: u64) -> Tuplets {
        let mut sieve = Sieve::new(SieveConfig::new(1 << 10, 4 << 10));
        Tuplets::of_interval(&mut sieve, &SievingPrimes::for_hi(hi), lo, hi, ALL)
    }

    /// Every path of `count_pairs` this CPU can take counts what `count_pair` does word by word,
    /// on words of every density ([`crate::count::mixed_words`]) and every length.
    #[test]
    fn every_pattern_counting_path_agrees() {
        let words = crate::count::mixed_words(300);
        for len in [0, 1, 2, 3, 7, 8, 9, 17, 64, 300] {
            let words = &words[..len];
            let mut want = [0; 7];
            for j in 1..len {
                count_pair(&mut want, words[j - 1], words[j]);
            }
            assert_eq!(count_pairs_portable(words), want, "portable, {len} words");
            assert_eq!(count_pairs(words), want, "dispatched, {len} words");
            #[cfg(target_arch = "x86_64")]
            {
                if std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("popcnt")
                {
                    // SAFETY: the CPU supports AVX2 and POPCNT, checked just above.
                    let got = unsafe { count_pairs_avx2(words) };
                    assert_eq!(got, want, "avx2, {len} words");
                }
                if std::arch::is_x86_feature_detected!("avx512f")
                    && std::arch::is_x86_feature_detected!("avx512vpopcntdq")
                    && std::arch::is_x86_feature_detected!("popcnt")
                {
                    // SAFETY: the CPU has AVX-512F, AVX512-VPOPCNTDQ and POPCNT, checked just above.
                    let got = unsafe { count_pairs_avx512(words) };
                    assert_eq!(got, want, "avx512, {len} words");
                }
            }
        }
        // All ones: every pattern starts at every bit whose members stay within two words.
        let ones = count_pairs_portable(&[!0, !0]);
        assert_eq!(ones, [64; 7]);
    }

    #[test]
    fn primesieve_counts() {
        // primesieve 12.15: `primesieve 1e6 -c23456` and `primesieve 100 -c23456`.
        let t = sieved(0, 1_000_000);
        assert_eq!(
            [2, 3, 4, 5, 6].map(|k| t.count(k)),
            [8169, 2837, 166, 65, 5]
        );
        let t = sieved(0, 100);
        assert_eq!([2, 3, 4, 5, 6].map(|k| t.count(k)), [8, 8, 2, 3, 1]);
    }

    #[test]
    fn tiny_intervals_match_brute_force() {
        for lo in 0..60 {
            for hi in lo..lo + 40 {
                let t = sieved(lo, hi);
                for k in 2..=6 {
                    assert_eq!(t.count(k), brute(lo, hi, k), "[{lo}, {hi}] k {k}");
                }
            }
        }
    }

    #[test]
    fn near_the_top_of_u64() {
        let (lo, hi) = (u64::MAX - 100_000, u64::MAX);
        let t = sieved(lo, hi);
        for k in 2..=6 {
            assert_eq!(t.count(k), brute(lo, hi, k), "k {k}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

        /// Any interval cut anywhere: the combined pieces count what the whole does, which is what
        /// brute force counts; tiny pieces (shorter than a tuplet) included.
        #[test]
        fn combine_of_splits_is_the_whole(
            height in 0u32..64,
            offset in any::<u64>(),
            len in 0u64..20_000,
            cuts in proptest::collection::vec(any::<u64>(), 0..6),
            tiny in proptest::collection::vec(0u64..20, 0..4),
        ) {
            let lo = (offset >> height).min(u64::MAX - len);
            let hi = lo + len;
            let mut points: Vec<u64> = cuts.iter().map(|c| lo + c % (len + 1)).collect();
            // Cuts a few numbers apart, so that some pieces hold less than a tuplet.
            if let Some(&first) = points.first() {
                let mut at = first;
                for t in &tiny {
                    at = (at + t + 1).min(hi);
                    points.push(at);
                }
            }
            points.retain(|&p| p > lo);
            points.sort_unstable();
            points.dedup();
            let whole = sieved(lo, hi);
            let mut start = lo;
            let mut combined: Option<Tuplets> = None;
            for &p in points.iter().chain(std::iter::once(&(hi + 1))) {
                if p == start { continue; }
                let part = sieved(start, p - 1);
                combined = Some(match combined { Some(c) => c.combine(part), None => part });
                start = p;
            }
            prop_assert_eq!(combined.unwrap(), whole);
            if hi < (1 << 40) || lo > u64::MAX - (1 << 20) {
                for k in 2..=6 {
                    prop_assert_eq!(whole.count(k), brute(lo, hi, k), "[{}, {}] k {}", lo, hi, k);
                }
            }
        }
    }
}
