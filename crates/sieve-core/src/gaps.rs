//! Gaps between consecutive primes, summarised per interval in a form that composes across
//! windows, chunks and ranks like [`crate::Counts`].
//!
//! The gaps of `[lo, hi]` are those between consecutive primes that both lie in it. A gap is a
//! record when it is longer than every earlier gap of the interval; the last record is the largest
//! gap and its first occurrence. A piece keeps its first and last prime and its records, and
//! [`Gaps::combine`] joins two adjacent pieces in order: the gap across the cut, then the right
//! piece's records that beat everything before them.
//!
//! ```
//! use sieve_core::{Gaps, Sieve, SieveConfig, SievingPrimes};
//!
//! let sieving = SievingPrimes::for_hi(40_000);
//! let mut sieve = Sieve::new(SieveConfig::default());
//! let whole = Gaps::of_interval(&mut sieve, &sieving, 0, 40_000);
//! let left = Gaps::of_interval(&mut sieve, &sieving, 0, 31_400);
//! let right = Gaps::of_interval(&mut sieve, &sieving, 31_401, 40_000);
//! assert_eq!(left.combine(right), whole);
//! let largest = whole.largest().unwrap();
//! assert_eq!((largest.length, largest.start), (72, 31_397)); // OEIS A005250, A002386
//! ```

use crate::{Sieve, SievingPrimes};

/// A gap between consecutive primes `start` and `start + length`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Gap {
    /// The distance to the next prime.
    pub length: u64,
    /// The prime before the gap.
    pub start: u64,
}

impl Gap {
    /// The prime after the gap.
    pub fn end(&self) -> u64 {
        self.start + self.length
    }
}

/// The gaps of a closed interval `[lo, hi]`: its first and last prime and its record gaps.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Gaps {
    /// First number of the interval.
    pub lo: u64,
    /// Last number of the interval.
    pub hi: u64,
    /// The first prime of the interval, if any.
    pub first: Option<u64>,
    /// The last prime of the interval, if any.
    pub last: Option<u64>,
    /// The record gaps, in increasing order of start and of length; the last is the largest.
    pub records: Vec<Gap>,
}

impl Gaps {
    /// No prime seen yet in `[lo, hi]`.
    pub fn new(lo: u64, hi: u64) -> Self {
        Self {
            lo,
            hi,
            first: None,
            last: None,
            records: Vec::new(),
        }
    }

    /// The gaps of `[lo, hi]` (`lo <= hi`), sieving with `sieve`.
    pub fn of_interval(sieve: &mut Sieve, primes: &SievingPrimes, lo: u64, hi: u64) -> Self {
        let mut gaps = Self::new(lo, hi);
        if lo <= 2 && 2 <= hi {
            gaps.push(2); // the sieve's words hold the odd numbers only
        }
        sieve.for_each_window(primes, lo, hi, |window| {
            gaps.add_words(window.first_odd(), window.words())
        });
        gaps
    }

    /// Takes the primes of odd-only words, bit `i` standing for `first_odd + 2i` (bits outside the
    /// interval cleared); consecutive calls must cover consecutive odd numbers, after any prime
    /// already pushed.
    ///
    /// Once the largest gap so far is 128 or more, no gap between two primes of one word (at most
    /// 126) can be a record: only the gap into each word is looked at, so the pass costs about
    /// what counting does.
    pub fn add_words(&mut self, first_odd: u64, words: &[u64]) {
        for (j, &word) in words.iter().enumerate() {
            if word == 0 {
                continue;
            }
            let base = first_odd + 128 * j as u64;
            if self.records.last().is_some_and(|r| r.length >= 128) {
                self.push(base + 2 * u64::from(word.trailing_zeros()));
                self.last = Some(base + 2 * u64::from(63 - word.leading_zeros()));
                continue;
            }
            let mut rest = word;
            while rest != 0 {
                self.push(base + 2 * u64::from(rest.trailing_zeros()));
                rest &= rest - 1;
            }
        }
    }

    /// Takes the next prime of the interval (primes must come in increasing order).
    pub fn push(&mut self, p: u64) {
        if let Some(previous) = self.last {
            let length = p - previous;
            if self.records.last().is_none_or(|r| length > r.length) {
                self.records.push(Gap {
                    length,
                    start: previous,
                });
            }
        } else {
            self.first = Some(p);
        }
        self.last = Some(p);
    }

    /// The largest gap of the interval (its first occurrence), if it holds two primes.
    pub fn largest(&self) -> Option<Gap> {
        self.records.last().copied()
    }

    /// The gaps of the union of `self` = `[a, m - 1]` and `next` = `[m, b]`. Associative.
    ///
    /// # Panics
    /// If `next` does not start right after `self` ends.
    pub fn combine(mut self, next: Gaps) -> Gaps {
        assert_eq!(
            self.hi.checked_add(1),
            Some(next.lo),
            "Gaps::combine needs adjacent intervals"
        );
        let Some(next_first) = next.first else {
            self.hi = next.hi;
            return self;
        };
        self.push(next_first); // the gap across the cut, if self has a prime
                               // A record of `next` beat every earlier gap of `next`; it is a record of the union when it
                               // also beats everything before `next`.
        for record in next.records {
            if self.records.last().is_none_or(|r| record.length > r.length) {
                self.records.push(record);
            }
        }
        self.last = next.last;
        self.hi = next.hi;
        self
    }

    /// The summary as words for sending between ranks: `[lo, hi, flags, first, last, n, then n
    /// (length, start) pairs]` ([`Gaps::from_words`] reads them).
    pub fn to_words(&self) -> Vec<u64> {
        let flags = u64::from(self.first.is_some()) | u64::from(self.last.is_some()) << 1;
        let mut words = vec![
            self.lo,
            self.hi,
            flags,
            self.first.unwrap_or(0),
            self.last.unwrap_or(0),
            self.records.len() as u64,
        ];
        for r in &self.records {
            words.extend([r.length, r.start]);
        }
        words
    }

    /// Reads what [`Gaps::to_words`] wrote, or `None` if the words are too few.
    pub fn from_words(words: &[u64]) -> Option<Self> {
        let (head, rest) = words.split_at_checked(6)?;
        let n = usize::try_from(head[5]).ok()?;
        let records = rest
            .get(..n.checked_mul(2)?)?
            .chunks_exact(2)
            .map(|w| Gap {
                length: w[0],
                start: w[1],
            })
            .collect();
        Some(Self {
            lo: head[0],
            hi: head[1],
            first: (head[2] & 1 == 1).then_some(head[3]),
            last: (head[2] & 2 == 2).then_some(head[4]),
            records,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oracle;
    use crate::SieveConfig;
    use proptest::prelude::*;

    /// The gaps of `[lo, hi]` from the oracle's primes.
    fn brute(lo: u64, hi: u64) -> Gaps {
        let mut gaps = Gaps::new(lo, hi);
        for p in oracle::primes_between(lo, hi) {
            gaps.push(p);
        }
        gaps
    }

    fn sieved(lo: u64, hi: u64) -> Gaps {
        let mut sieve = Sieve::new(SieveConfig::new(1 << 10, 4 << 10));
        Gaps::of_interval(&mut sieve, &SievingPrimes::for_hi(hi), lo, hi)
    }

    #[test]
    fn maximal_gaps_below_5_million() {
        // OEIS A002386 (lower ends) and A000101 (upper ends).
        let lower = [
            2, 3, 7, 23, 89, 113, 523, 887, 1129, 1327, 9551, 15683, 19609, 31397, 155921, 360653,
            370261, 492113, 1349533, 1357201, 2010733, 4652353,
        ];
        let upper = [
            3, 5, 11, 29, 97, 127, 541, 907, 1151, 1361, 9587, 15727, 19661, 31469, 156007, 360749,
            370373, 492227, 1349651, 1357333, 2010881, 4652507,
        ];
        let gaps = sieved(0, 5_000_000);
        let got: Vec<(u64, u64)> = gaps.records.iter().map(|r| (r.start, r.end())).collect();
        let want: Vec<(u64, u64)> = lower.into_iter().zip(upper).collect();
        assert_eq!(got, want);
        assert_eq!(gaps, brute(0, 5_000_000));
    }

    #[test]
    fn edges_and_words() {
        assert_eq!(sieved(0, 1).largest(), None);
        assert_eq!(sieved(2, 2).largest(), None);
        assert_eq!(
            sieved(2, 3).largest(),
            Some(Gap {
                length: 1,
                start: 2
            })
        );
        assert_eq!(sieved(24, 28), brute(24, 28));
        let top = sieved(u64::MAX - 200, u64::MAX);
        assert_eq!(top, brute(u64::MAX - 200, u64::MAX));
        assert_eq!(top.last, Some(u64::MAX - 58));
        assert_eq!(Gaps::from_words(&top.to_words()), Some(top));
        assert_eq!(Gaps::from_words(&[1, 2, 3]), None);
        // Long enough for gaps of 128 and more, where only the gap into each word is looked at.
        let (lo, hi) = (1_000_000_000_000, 1_000_002_000_000);
        let high = sieved(lo, hi);
        assert!(high.largest().unwrap().length >= 128);
        assert_eq!(high, brute(lo, hi));
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

        /// Any interval cut anywhere, tiny pieces included: the combined pieces are the whole,
        /// which is what the oracle's primes give.
        #[test]
        fn combine_of_splits_is_the_whole(
            height in 0u32..64,
            offset in any::<u64>(),
            len in 0u64..20_000,
            cuts in proptest::collection::vec(any::<u64>(), 0..8),
        ) {
            let lo = (offset >> height).min(u64::MAX - len);
            let hi = lo + len;
            let mut points: Vec<u64> = cuts.iter().map(|c| lo + c % (len + 1)).collect();
            points.retain(|&p| p > lo);
            points.sort_unstable();
            points.dedup();
            let whole = sieved(lo, hi);
            let mut start = lo;
            let mut combined: Option<Gaps> = None;
            for &p in points.iter().chain(std::iter::once(&(hi + 1))) {
                let part = sieved(start, p - 1);
                combined = Some(match combined { Some(c) => c.combine(part), None => part });
                start = p;
            }
            prop_assert_eq!(combined.unwrap(), whole.clone());
            if hi < (1 << 40) || lo > u64::MAX - (1 << 20) {
                prop_assert_eq!(whole, brute(lo, hi));
            }
        }
    }
}
