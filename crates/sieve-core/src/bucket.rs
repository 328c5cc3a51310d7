//! Oliveira e Silva's bucket sieve for the large sieving primes: those at least a quarter of the
//! segment's bit count, which hit a segment at most four times.
//!
//! Scanning every large prime in every segment would cost `pi(sqrt(hi))` per segment even though most
//! have no multiple there. Instead each prime waits in the bucket of the segment that holds its next
//! multiple; a segment only touches the primes that hit it, and each hit re-files its prime into the
//! bucket of its following multiple. Buckets form a ring indexed by segment number modulo its size,
//! which exceeds the largest jump (`5p` bits on the modulo-210 wheel) in segments, so a prime is
//! never filed into another segment's bucket that shares a slot. A prime whose next multiple is in
//! the same segment goes back into the bucket being emptied, which is emptied again until it stays
//! empty (primesieve's `EratBig` does the same): every hit is one pass of a loop without an inner
//! loop per prime, whose exit would be mispredicted about once per prime and segment. The primes
//! step on the modulo-210 wheel ([`crate::wheel::first_multiple_210`]): 48 hits per 210 multiples
//! instead of 56.
//!
//! # Memory: fixed-size blocks from one pool
//! A bucket is a list of fixed-size blocks of entries taken from a pool shared by the whole ring,
//! and a block goes back to the pool as soon as its segment has been sieved (primesieve's `EratBig`
//! and its memory pool do the same). Memory is therefore the live entries (8 bytes per sieving prime
//! still to hit the interval) plus at most one partly filled block per ring slot, however many
//! segments the interval has. Growable vectors per slot would instead each keep the capacity of
//! their fullest moment, and every slot is at some point the one about to be sieved, the fullest:
//! near 10^18 that was twenty times the live entries.
//!
//! Source: T. Oliveira e Silva, S. Herzog, S. Pardi, "Empirical verification of the even Goldbach
//! conjecture and computation of prime gaps up to 4·10^18", Math. Comp. 83 (2014), section 2.2;
//! K. Walisch, primesieve's `doc/ALGORITHMS.md` ("EratBig").

use crate::pool::{BlockLists, Entry};
use crate::wheel::STEP_210;

/// Bits of [`Entry::packed`] that hold the offset; the top six hold the wheel index (modulo-30 or
/// modulo-210 wheel). Segments are therefore at most `2^26` bits (8 MiB).
const OFFSET_BITS: u32 = 26;
const OFFSET_MASK: u32 = (1 << OFFSET_BITS) - 1;

/// Entries per block: 4 KiB (one page), so that taking a block from the pool is rare, while the
/// partly filled blocks (one per ring slot, up to 8,192 slots near 2^64) stay a few tens of MiB.
const BUCKET_BLOCK: usize = 512;

/// The longest step of the modulo-210 wheel, in units of `p` bits (the gap 199 -> 209 -> 211).
const MAX_STEP: u64 = {
    let (mut max, mut w) = (0, 0);
    while w < STEP_210.len() {
        if STEP_210[w] as u64 > max {
            max = STEP_210[w] as u64;
        }
        w += 1;
    }
    max
};

/// For each wheel index an entry can hold (six bits; 48 to 63 never occur): the step to the next
/// multiple on the modulo-210 wheel, in units of `p` bits ([`STEP_210`]), and the next wheel
/// index, already in place in [`Entry::packed`]. One load, no bounds check and no wrap-around test
/// per hit in the bucket loop.
const WHEEL: [(u32, u32); 64] = {
    let mut table = [(0, 0); 64];
    let mut w = 0;
    while w < 48 {
        table[w] = (STEP_210[w] as u32, (((w + 1) % 48) as u32) << OFFSET_BITS);
        w += 1;
    }
    table
};

/// The ring of buckets, one list of [`Entry`] per slot (`prime`, and packed the next multiple's
/// bit offset within its segment and its wheel index), kept across segments and intervals.
pub(crate) struct Buckets {
    lists: BlockLists<BUCKET_BLOCK>,
    /// Segments in the current interval; hits in later segments are dropped.
    segments: u64,
    seg_shift: u32,
}

impl Buckets {
    pub(crate) fn new() -> Self {
        Self {
            lists: BlockLists::new(),
            segments: 0,
            seg_shift: 0,
        }
    }

    /// Prepares for an interval of `segments` segments of `2^seg_shift` bits whose sieving primes
    /// are at most `max_prime`. Every block goes back to the pool.
    pub(crate) fn reset(&mut self, segments: u64, seg_shift: u32, max_prime: u64) {
        debug_assert!(seg_shift <= OFFSET_BITS);
        // A prime jumps at most `MAX_STEP * p` bits: the ring must reach past that.
        let reach = ((MAX_STEP * max_prime) >> seg_shift) as usize + 2;
        self.lists.reset(reach.next_power_of_two());
        self.segments = segments;
        self.seg_shift = seg_shift;
    }

    fn mask(&self) -> u64 {
        self.lists.lists() as u64 - 1
    }

    /// Files `prime`, whose next multiple is at bit `offset` of segment `segment` with wheel index
    /// `wheel`; dropped if that segment is past the interval.
    #[inline]
    pub(crate) fn insert(&mut self, prime: u32, segment: u64, offset: u64, wheel: usize) {
        if segment < self.segments {
            let packed = offset as u32 | (wheel as u32) << OFFSET_BITS;
            let slot = (segment & self.mask()) as usize;
            self.lists.push(slot, Entry { prime, packed });
        }
    }

    /// Crosses off the hits of segment `segment` in `words`, which must span the whole segment
    /// (`2^seg_shift` bits, even for a last segment that is shorter: bits past its end may be
    /// cleared), and re-files each prime at its next multiple.
    ///
    /// Every prime here is at least a quarter of the segment's bit count, so it hits a segment at
    /// most four times; each hit is one pass of the loop (see the module).
    pub(crate) fn sieve_segment(&mut self, segment: u64, words: &mut [u64]) {
        assert!(words.len() * 64 >= 1 << self.seg_shift);
        // A hit moves a prime at most `reach` segments on (the ring's size less one): until the
        // last `reach` segments no prime can leave the interval, and the loop need not check for
        // it. One check and one live register less per hit: [10^15, +10^9] 2.1 % faster (Intel
        // Xeon, Sapphire Rapids, one thread, median of 7 interleaved runs). Leaving primes are
        // dropped rather than filed into the slots of segments past the interval (which no later
        // segment reads): when the ring is larger than the interval ([2^64 - 10^10, 2^64 - 1]:
        // 8,192 slots for 1,193 segments), those slots' partly filled blocks added 14 MB to the
        // peak.
        let reach = self.mask();
        if segment.saturating_add(reach) < self.segments {
            self.sieve_segment_with::<false>(segment, words);
        } else {
            self.sieve_segment_with::<true>(segment, words);
        }
    }

    /// [`Self::sieve_segment`], dropping the primes whose next hit lies past the interval only if
    /// `LEAVING`.
    #[inline(always)]
    fn sieve_segment_with<const LEAVING: bool>(&mut self, segment: u64, words: &mut [u64]) {
        let mask = self.mask();
        let shift = self.seg_shift;
        let segments = self.segments;
        let slot = (segment & mask) as usize;
        let seg_bits = 1u64 << shift;
        // Entries whose next hit is in this segment are re-filed into this slot (after the blocks
        // being read were detached from it): read it again until nothing comes back. The ring
        // takes the segment numbers returned modulo its size, without a bounds check:
        // [10^15, +10^10] 0.95 (AMD EPYC Zen 4, one thread, median of 5 interleaved runs; 0.95 at
        // [10^15, +2 x 10^9], 7 runs), measured with a first form that also filed leaving primes
        // instead of testing for them, a test that at 10^15 runs only in the last 63 of 1,193
        // segments; this form measured 0.98 at [2^64 - 2 x 10^9, 2^64 - 1] (3 runs).
        while !self.lists.is_empty(slot) {
            self.lists.drain_ring(slot, |e| {
                let prime = u64::from(e.prime);
                let mut offset = u64::from(e.packed & OFFSET_MASK);
                let (step, next_wheel) = WHEEL[(e.packed >> OFFSET_BITS) as usize];
                debug_assert!(offset < seg_bits && (e.packed >> OFFSET_BITS) < 48);
                // SAFETY: offset < seg_bits <= 64 * words.len(): entries are filed with an offset
                // inside their segment (the mask below, and `insert`'s callers).
                unsafe {
                    *words.get_unchecked_mut(offset as usize / 64) &= !(1u64 << (offset % 64));
                }
                offset += u64::from(step) * prime;
                let target = segment + (offset >> shift);
                debug_assert!(LEAVING || target < segments);
                debug_assert!(target - segment <= mask, "bucket ring too small");
                (!LEAVING || target < segments).then(|| {
                    let packed = (offset & (seg_bits - 1)) as u32 | next_wheel;
                    (
                        target as usize,
                        Entry {
                            prime: e.prime,
                            packed,
                        },
                    )
                })
            });
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_longest_wheel_step_is_five_primes() {
        // 199 and 209 are consecutive residues coprime to 210: 10 numbers, 5 bits per p.
        assert_eq!(super::MAX_STEP, 5);
    }
}
