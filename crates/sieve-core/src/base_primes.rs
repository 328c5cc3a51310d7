//! The sieving primes: the primes above the pre-sieve limit up to `sqrt(hi)`, generated as the
//! sieve needs them rather than stored.
//!
//! An interval near `2^64` needs all `pi(2^32) = 203,280,221` primes below `2^32`: 813 MB as a
//! list, more than the bucket entries that sieving with them takes. Like primesieve, erato keeps
//! only the primes up to [`STORED_MAX`] (6,500 of them, 26 KB) and produces the rest in increasing
//! order with a second, small segmented sieve ([`Generator`]) that runs just ahead of the main one:
//! a block of primes at a time, each used once to find its first multiple and then forgotten.

use crate::presieve::PRESIEVE_MAX;
use crate::wheel::{div_ceil_all, RESIDUES};
use crate::{Sieve30, SieveConfig};

/// Sieving primes up to this are stored; the ones above are generated. `2^16` is enough to
/// generate every prime up to `2^32`, the most any `u64` interval needs.
pub(crate) const STORED_MAX: u64 = 1 << 16;

/// The most numbers in a block of generated primes: their modulo-30 bytes take 140 KB. Each
/// block pays the first multiples of the primes up to its square root once (up to 6,500 near
/// 2^32): near 2^64 a chunk reads about 1,500 blocks (768 of them of `2^22` numbers).
const GENERATOR_BLOCK: u64 = 1 << 22;

/// Numbers in the block of generated primes that starts at `lo`: `64 sqrt(lo)`, so that the first
/// multiples a block pays (about `2 sqrt(lo) / ln(lo)`) stay a few per cent of its sieving, rounded
/// up to a power of two between `2^17` and [`GENERATOR_BLOCK`]. Lower down, smaller blocks keep
/// less memory: for intervals up to 10^15 the block is 17 KB instead of 140 KB (it only reaches
/// 140 KB for intervals above 2^60).
fn block_for(lo: u64) -> u64 {
    (64 * lo.isqrt())
        .next_power_of_two()
        .clamp(1 << 17, GENERATOR_BLOCK)
}

/// The sieving primes for intervals whose top is at most `limit^2` (a bit beyond): those `p` with
/// `167 < p <= limit`, `limit <= 2^32 - 1`. Cheap to build and to share between threads by
/// reference: it stores the primes up to `2^16` and a small modulo-30 sieve generates the rest as
/// it goes.
#[derive(Clone, Debug)]
pub struct SievingPrimes {
    limit: u64,
    /// The primes `167 < p <= min(limit, STORED_MAX)`, in increasing order.
    stored: Vec<u32>,
}

/// Odd primes `<= n` by a plain odd-only sieve; for `n <= 2^20` only.
fn plain_odd_primes(n: u64) -> Vec<u64> {
    let n = n as usize;
    let mut composite = vec![false; n / 2 + 1]; // index i stands for 2i + 1
    let mut primes = Vec::new();
    let mut i = 1;
    while 2 * i < n {
        if !composite[i] {
            let p = 2 * i + 1;
            primes.push(p as u64);
            let mut j = p * p / 2;
            while j <= n / 2 {
                composite[j] = true;
                j += p;
            }
        }
        i += 1;
    }
    primes
}

impl SievingPrimes {
    /// The sieving primes needed for intervals ending at or below `hi`: those up to `floor(sqrt(hi))`.
    pub fn for_hi(hi: u64) -> Self {
        Self::up_to(hi.isqrt())
    }

    /// The sieving primes up to `limit` (clamped to `2^32 - 1`, the most any `u64` interval needs).
    pub fn up_to(limit: u64) -> Self {
        let limit = limit.min(u64::from(u32::MAX));
        let stored = plain_odd_primes(limit.min(STORED_MAX))
            .into_iter()
            .filter(|&p| p > PRESIEVE_MAX)
            .map(|p| p as u32)
            .collect();
        Self { limit, stored }
    }

    /// The largest number these primes are complete up to.
    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// Whether these primes suffice to sieve up to `hi`.
    pub fn covers(&self, hi: u64) -> bool {
        hi.isqrt() <= self.limit
    }

    /// The stored primes (all `> 167` and `<= 2^16`), in increasing order.
    pub(crate) fn stored(&self) -> &[u32] {
        &self.stored
    }
}

/// Generates the primes of `(STORED_MAX, limit]` in increasing order, a block at a time, with a
/// small sieve of its own that sieves with the stored primes of the caller's [`SievingPrimes`]
/// (all of them up to `STORED_MAX` whenever a generator is needed: all that sieving up to `2^32`
/// needs), so that each thread's generator keeps no copy of its own (26 KB). The block is kept as
/// its sieved bytes in the modulo-30 layout (`crate::mod30`), and primes are read off them a
/// word at a time into the caller's batch ([`PrimeSource`], 512 primes), so nothing per prime is
/// stored.
///
/// The odd-only sieve it replaced kept 64 partly filled 1 KiB blocks for each of its turn
/// classes; the modulo-30 one keeps its turn primes in vectors and sieves faster. AMD EPYC
/// Zen 4, one thread, interleaved medians: `[2^64 - 3 x 10^9, 2^64 - 1]` 4.50 against 4.85 s (a
/// chunk there generates all 203 million primes below `2^32`); a second thread at
/// `[10^12, 10^12 + 10^10]` adds 1,656 against 1,684 KB of peak memory.
pub(crate) struct Generator {
    sieve: Sieve30,
    /// The current block's bytes, padded with zeros to whole words: bit `k` of byte `j` stands for
    /// `base + 30 j + RESIDUES[k]`.
    bytes: Vec<u8>,
    base: u64,
    /// The next word of `bytes` to read.
    index: usize,
    /// The first number not yet sieved, and the last one to sieve.
    next_lo: u64,
    limit: u64,
}

/// For bit `i` of a word of modulo-30 bytes, its number's offset from the word's first number;
/// entry 64 (the trailing zeros of an empty word) is read for the junk entries past a word's
/// last prime, and its value is never kept.
const BIT_OFFSET: [u8; 65] = {
    let mut t = [0; 65];
    let mut i = 0;
    while i < 64 {
        t[i] = (30 * (i / 8) as u64 + RESIDUES[i % 8]) as u8;
        i += 1;
    }
    t
};

impl Generator {
    /// A generator whose sieve takes chunks of `l1_bytes` (the L1 data cache's size) and
    /// segments of 8 such chunks: with an L1 of 32 KiB or more, a block near `2^32` (140 KB)
    /// is one segment. AMD EPYC Zen 4, `[2^64 - 10^6, 2^64 - 1]` (nearly all generation and
    /// set-up): 0.87 s, against 1.08 s with 16 KiB chunks, 32 KiB segments and blocks of `2^21`
    /// numbers (its primes from `2^14` to `2^16` were sparse primes, one hit at a time), and
    /// primesieve's 0.97 s.
    pub(crate) fn new(l1_bytes: usize) -> Self {
        Self {
            sieve: Sieve30::new(SieveConfig::new(l1_bytes, 8 * l1_bytes)),
            bytes: Vec::new(),
            base: 0,
            index: 0,
            next_lo: 0,
            limit: 0,
        }
    }

    /// Restarts at the first prime above `STORED_MAX`, ending at the last prime `<= limit`.
    pub(crate) fn restart(&mut self, limit: u64) {
        debug_assert!(limit <= u64::from(u32::MAX));
        self.bytes.clear();
        self.index = 0;
        self.next_lo = STORED_MAX + 1;
        self.limit = limit;
        self.sieve.reserve_turn_primes(limit.isqrt());
    }

    /// Word `i` of the block (little-endian: byte `j` of the block is byte `j % 8` of word
    /// `j / 8`).
    #[inline]
    fn word(&self, i: usize) -> u64 {
        u64::from_le_bytes(self.bytes[8 * i..8 * i + 8].try_into().expect("8 bytes"))
    }

    /// Writes the next primes into `out` from its start, a word of the block (up to 64 primes)
    /// at a time while a whole word fits (`len + 64 <= out.len()` for the `len` written so far),
    /// and returns how many it wrote; stops early only when no prime is left. `base` are the sieving primes of the
    /// interval the generator serves: they cover `limit` (so they hold every prime up to
    /// `STORED_MAX`).
    ///
    /// A word's primes are written four at a time without a branch per prime (as primesieve's
    /// `PrimeGenerator::fillNextPrimes`); the entries past the word's last prime are written
    /// with junk and then overwritten or ignored.
    pub(crate) fn fill(&mut self, base: &SievingPrimes, out: &mut [u64]) -> usize {
        #[cfg(target_arch = "x86_64")]
        if crate::cpu::has!("popcnt") && crate::cpu::has!("bmi1") {
            // SAFETY: the CPU has POPCNT and BMI1, checked just above.
            return unsafe { self.fill_popcnt(base, out) };
        }
        self.fill_portable(base, out)
    }

    /// [`Self::fill`] with the POPCNT and TZCNT instructions (the x86-64 baseline has neither).
    ///
    /// # Safety
    /// The CPU must have POPCNT and BMI1.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "popcnt,bmi1")]
    unsafe fn fill_popcnt(&mut self, base: &SievingPrimes, out: &mut [u64]) -> usize {
        self.fill_portable(base, out)
    }

    #[inline(always)]
    fn fill_portable(&mut self, base: &SievingPrimes, out: &mut [u64]) -> usize {
        debug_assert!(
            out.len() >= 64,
            "no room for a word: it would look exhausted"
        );
        let mut len = 0;
        while len + 64 <= out.len() {
            if 8 * self.index >= self.bytes.len() {
                if self.next_lo > self.limit {
                    break;
                }
                self.refill(base);
                continue;
            }
            let mut bits = self.word(self.index);
            let word_base = self.base + 240 * self.index as u64;
            self.index += 1;
            let n = bits.count_ones() as usize;
            for quad in out[len..len + 64].chunks_exact_mut(4).take(n.div_ceil(4)) {
                for slot in quad {
                    *slot = word_base + u64::from(BIT_OFFSET[bits.trailing_zeros() as usize]);
                    bits &= bits.wrapping_sub(1);
                }
            }
            len += n;
        }
        len
    }

    /// Sieves the next block and points at its first word.
    #[cold]
    fn refill(&mut self, base: &SievingPrimes) {
        debug_assert!(base.limit() >= self.limit && self.limit > STORED_MAX);
        let block = block_for(self.next_lo);
        let hi = (self.next_lo + (block - 1)).min(self.limit);
        self.bytes.clear();
        // A block's bytes at once: it starts up to 239 numbers early (at a multiple of 240), so
        // it has at most `block / 30 + 9` bytes, padded to a word: at most `block / 30 + 16`.
        // Grown by doubling, the vector held twice that at once while reallocating.
        self.bytes.reserve_exact((block / 30) as usize + 24);
        let bytes = &mut self.bytes;
        let mut first = None;
        self.sieve
            .sieve_segments(base, self.next_lo, hi, |seg_lo, seg| {
                first.get_or_insert(seg_lo);
                bytes.extend_from_slice(seg);
            });
        bytes.resize(bytes.len().next_multiple_of(8), 0);
        self.base = first.expect("a block has a segment");
        self.next_lo = hi + 1;
        self.index = 0;
    }
}

/// Primes a [`PrimeSource`] reads ahead at a time: 4 KiB, in the L1 cache.
const BATCH: usize = 512;

/// The sieving primes of one interval in increasing order, for the sieves' set-up loops: the stored
/// ones, then those of a generator borrowed from the sieve (made on its first need) while they are
/// used, and given back by [`Self::give_back`]. They are read ahead into a batch.
pub(crate) struct PrimeSource<'a> {
    primes: &'a SievingPrimes,
    next_stored: usize,
    generator: Option<Box<Generator>>,
    /// Primes read ahead, in increasing order: `batch[next..len]`.
    batch: [u64; BATCH],
    /// The quotients of the last run (see [`Self::run_squared_up_to`]).
    quotients: [u64; BATCH],
    next: usize,
    len: usize,
    /// The last `last` asked for, and its square root.
    last: u64,
    root: u64,
}

impl<'a> PrimeSource<'a> {
    /// The primes of `primes` up to `max_prime`, taking the generator out of `slot` when primes
    /// above the stored ones are needed (made for an L1 data cache of `l1_bytes` if there is
    /// none).
    pub(crate) fn new(
        primes: &'a SievingPrimes,
        max_prime: u64,
        l1_bytes: usize,
        slot: &mut Option<Box<Generator>>,
    ) -> Self {
        let generator = (max_prime > STORED_MAX).then(|| {
            let mut g = slot
                .take()
                .unwrap_or_else(|| Box::new(Generator::new(l1_bytes)));
            g.restart(max_prime);
            g
        });
        Self {
            primes,
            next_stored: 0,
            generator,
            batch: [0; BATCH],
            quotients: [0; BATCH],
            next: 0,
            len: 0,
            last: 0,
            root: 0,
        }
    }

    /// The next primes, in increasing order and consumed, while their squares are at most
    /// `last`, up to the end of the batch read ahead (at most [`BATCH`] of them), with their
    /// quotients `ceil(from / p)` (where their first multiples start; [`div_ceil_all`], which
    /// computes a run's at once); empty when the next prime's square is above `last` or no prime
    /// is left. Calls until an empty run return every prime with its square up to `last`, each
    /// once.
    #[inline]
    pub(crate) fn run_squared_up_to(&mut self, last: u64, from: u64) -> (&[u64], &[u64]) {
        if last != self.last {
            self.last = last;
            self.root = last.isqrt();
        }
        if self.next == self.len && !self.read_ahead() {
            return (&[], &[]);
        }
        let root = self.root;
        let start = self.next;
        self.next += self.batch[start..self.len].partition_point(|&p| p <= root);
        let run = &self.batch[start..self.next];
        let quotients = &mut self.quotients[..run.len()];
        div_ceil_all(from, run, quotients);
        (run, quotients)
    }

    /// Refills the batch with the next primes; false if none is left.
    #[cold]
    fn read_ahead(&mut self) -> bool {
        self.next = 0;
        self.len = 0;
        let stored = &self.primes.stored()[self.next_stored..];
        if !stored.is_empty() {
            let n = stored.len().min(BATCH);
            for (to, &p) in self.batch.iter_mut().zip(&stored[..n]) {
                *to = u64::from(p);
            }
            self.len = n;
            self.next_stored += n;
        } else if let Some(g) = self.generator.as_mut() {
            self.len = g.fill(self.primes, &mut self.batch);
        }
        self.len > 0
    }

    /// Puts the borrowed generator (if any) back into `slot`, for the sieve's next interval.
    pub(crate) fn give_back(self, slot: &mut Option<Box<Generator>>) {
        if let Some(g) = self.generator {
            *slot = Some(g);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The generator yields exactly the primes of `(STORED_MAX, limit]`, in order, across its
    /// blocks (2^17 numbers each this low) and words, for limits on and off a prime and a block.
    #[test]
    fn generator_yields_every_prime_once_in_order() {
        let limits: &[u64] = if cfg!(miri) {
            &[STORED_MAX + 1, 70_001]
        } else {
            &[
                STORED_MAX + 1,
                65_539,
                65_537 + (1 << 17),
                1_000_003,
                1 << 20,
            ]
        };
        let mut generator = Generator::new(32 << 10);
        for &limit in limits {
            let base = SievingPrimes::up_to(limit);
            let want: Vec<u64> = plain_odd_primes(limit)
                .into_iter()
                .filter(|&p| p > STORED_MAX)
                .collect();
            generator.restart(limit);
            let mut got = Vec::new();
            // Small batches: many of them, some ending a block.
            let mut batch = [0; 100];
            let mut short = false;
            loop {
                let len = generator.fill(&base, &mut batch);
                // Only the last batches are short: the generator was exhausted.
                assert!(!short || len == 0, "a batch after a short one");
                short = len + 64 <= batch.len();
                if len == 0 {
                    break;
                }
                got.extend_from_slice(&batch[..len]);
            }
            assert_eq!(got, want, "limit {limit}");
            // Exhausted, it stays so.
            assert_eq!(generator.fill(&base, &mut batch), 0);
        }
    }

    /// The generator's turn lists are sized for its limit at the restart and never grow while
    /// it sieves its blocks of growing height: each growth was a reallocation that could leave
    /// the old buffer as a hole in the thread's heap (with 16 lists growing by a few entries a
    /// block, about 190 KB of a worker's heap near 10^15, and 230 KB of the second thread's peak).
    /// Under Miri the generator sieves one block, so only the reservation is checked there.
    #[test]
    fn generator_turn_lists_never_grow() {
        let limit = if cfg!(miri) { 100_000 } else { 1 << 26 };
        let base = SievingPrimes::up_to(limit);
        let mut generator = Generator::new(32 << 10);
        generator.restart(limit);
        let reserved = generator.sieve.turn_list_capacities();
        assert!(reserved.iter().all(|&c| c > 0), "{reserved:?}");
        let mut batch = [0; BATCH];
        while generator.fill(&base, &mut batch) > 0 {}
        assert_eq!(generator.sieve.turn_list_capacities(), reserved);
    }

    /// Generators for small L1 caches (many segments a block; with 1 KiB chunks, bucket primes
    /// in the generator's own sieve) yield the same primes as one for a 32 KiB L1, up to a limit
    /// with blocks of `2^18` numbers and more (`2^28`).
    #[test]
    fn generators_for_every_l1_agree() {
        let limit = if cfg!(miri) { 100_000 } else { 1 << 28 };
        let base = SievingPrimes::up_to(limit);
        // The count and an order-sensitive checksum of every prime the generator yields.
        let run = |l1_bytes: usize| {
            let mut generator = Generator::new(l1_bytes);
            generator.restart(limit);
            let mut batch = [0; BATCH];
            let (mut count, mut sum) = (0u64, 0u64);
            loop {
                let len = generator.fill(&base, &mut batch);
                if len == 0 {
                    break;
                }
                for &p in &batch[..len] {
                    count += 1;
                    sum = sum.wrapping_mul(31).wrapping_add(p);
                }
            }
            (count, sum)
        };
        let want = run(32 << 10);
        // pi(2^28) - pi(2^16) = 14,630,843 - 6,542; pi(10^5) - pi(2^16) = 9,592 - 6,542.
        assert_eq!(want.0, if cfg!(miri) { 3_050 } else { 14_624_301 });
        for l1_bytes in [1 << 10, 2 << 10, 16 << 10] {
            assert_eq!(run(l1_bytes), want, "L1 {l1_bytes}");
        }
    }
}
