//! Crossing off for sieving primes with a few multiples per segment (between about 1/16 of the
//! segment's bit count and the whole of it): at most a handful of hits each, too few for the
//! unrolled wheel turns of `crate::small`, too many for the one-hit buckets.
//!
//! After primesieve's `EratMedium` (K. Walisch, primesieve `src/EratMedium.cpp`): the primes are
//! kept in eight lists, one per modulo-30 wheel index of their next multiple, and each list is
//! crossed off by its own copy of the loop, in which every step is a constant multiple of the
//! prime. A prime leaves the loop at a wheel index the code knows, and is filed into that list for
//! the next segment. Without the sorting, every prime would start with a table lookup of its step
//! and an indirect jump into the unrolled loop, mispredicted most of the time.

use crate::wheel::STEP;

/// A sieving prime and the bit offset of its next multiple from the current segment's start (at
/// or past the segment's end when the prime skips the segment).
#[derive(Clone, Copy, Debug)]
struct Entry {
    prime: u32,
    next: u32,
}

/// The medium sieving primes of one interval, by the wheel index of their next multiple.
pub(crate) struct SparsePrimes {
    lists: [Vec<Entry>; 8],
    /// Where the lists of the next segment are built (kept for their capacity).
    spare: [Vec<Entry>; 8],
}

impl SparsePrimes {
    pub(crate) fn new() -> Self {
        Self {
            lists: Default::default(),
            spare: Default::default(),
        }
    }

    /// Forgets every prime (keeping the allocations).
    pub(crate) fn clear(&mut self) {
        self.lists.iter_mut().for_each(Vec::clear);
    }

    /// Adds `prime` (`< seg_bits`), whose next multiple is `next` bits from the current segment's
    /// start with modulo-30 wheel index `wheel`.
    pub(crate) fn insert(&mut self, prime: u64, next: u64, wheel: usize) {
        debug_assert!(next <= u64::from(u32::MAX));
        self.lists[wheel].push(Entry {
            prime: prime as u32,
            next: next as u32,
        });
    }

    /// Crosses off the multiples in the current segment (`words` spans its `seg_bits` bits) and
    /// moves every prime on to the next segment.
    pub(crate) fn sieve_segment(&mut self, words: &mut [u64], seg_bits: usize) {
        assert!(seg_bits <= 64 * words.len());
        for w in 0..8 {
            let list = std::mem::take(&mut self.lists[w]);
            let out = &mut self.spare;
            match w {
                0 => cross::<0>(&list, out, words, seg_bits),
                1 => cross::<1>(&list, out, words, seg_bits),
                2 => cross::<2>(&list, out, words, seg_bits),
                3 => cross::<3>(&list, out, words, seg_bits),
                4 => cross::<4>(&list, out, words, seg_bits),
                5 => cross::<5>(&list, out, words, seg_bits),
                6 => cross::<6>(&list, out, words, seg_bits),
                _ => cross::<7>(&list, out, words, seg_bits),
            }
            self.lists[w] = list;
            self.lists[w].clear();
        }
        std::mem::swap(&mut self.lists, &mut self.spare);
    }
}

/// Crosses off the multiples below `seg_bits` of every prime in `list`, whose next multiples all
/// have wheel index `W`, and files each prime into `out` by the wheel index of its first multiple
/// past the segment, its offset made relative to the next segment.
#[inline(never)]
fn cross<const W: usize>(
    list: &[Entry],
    out: &mut [Vec<Entry>; 8],
    words: &mut [u64],
    seg_bits: usize,
) {
    let len = words.len();
    'primes: for e in list {
        let p = e.prime as usize;
        let mut i = e.next as usize;
        // One step of the wheel from index (W + k) % 8: cross off, advance by a constant multiple
        // of p, and leave once past the segment.
        macro_rules! step {
            ($k:literal) => {{
                if i >= seg_bits {
                    out[const { (W + $k) % 8 }].push(Entry {
                        prime: e.prime,
                        next: (i - seg_bits) as u32,
                    });
                    continue 'primes;
                }
                debug_assert!(i / 64 < len);
                // SAFETY: i < seg_bits <= 64 * len (checked just above and asserted by the caller).
                unsafe { *words.get_unchecked_mut(i / 64) &= !(1u64 << (i % 64)) };
                i += const { STEP[(W + $k) % 8] } * p;
            }};
        }
        loop {
            step!(0);
            step!(1);
            step!(2);
            step!(3);
            step!(4);
            step!(5);
            step!(6);
            step!(7);
        }
    }
    let _ = len;
}
