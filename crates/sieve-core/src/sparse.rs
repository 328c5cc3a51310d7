//! Crossing off for sieving primes with a few multiples per segment (between about 1/16 and 1/4
//! of the segment's bit count): at most a handful of hits each, too few for the unrolled wheel
//! turns of `crate::small`, too many for the buckets (one pass of their loop per hit).
//!
//! After primesieve's `EratMedium` (K. Walisch, primesieve `src/EratMedium.cpp`): the primes are
//! kept in eight lists, one per modulo-30 wheel index of their next multiple, and each list is
//! crossed off by its own copy of the loop, in which every step is a constant multiple of the
//! prime. A prime leaves the loop at a wheel index the code knows, and is filed into that list for
//! the next segment. Without the sorting, every prime would start with a table lookup of its step
//! and an indirect jump into the unrolled loop, mispredicted most of the time.

use crate::pool::{BlockLists, Entry};
use crate::wheel::STEP;

/// Entries per block: 4 KiB. Each block taken from the pool costs a call and a cache miss on its
/// header; 1 KiB blocks made [1e15, 1e15 + 1e10] 5-8 % slower (Zen 5).
const SPARSE_BLOCK: usize = 512;

/// The sparse sieving primes of one interval, by the wheel index of their next multiple: list
/// `cur + w` holds the entries (`prime`, and in `packed` the bit offset of its next multiple from
/// the current segment's start) whose next multiple has modulo-30 wheel index `w`; the other eight
/// lists fill with the next segment's as the current ones are emptied. The lists are chains of
/// blocks from a pool ([`BlockLists`]), returned as they are read: one copy of the entries, not
/// two.
pub(crate) struct SparsePrimes {
    lists: BlockLists<SPARSE_BLOCK>,
    /// 0 or 8: the first of the current segment's lists.
    cur: usize,
}

impl SparsePrimes {
    pub(crate) fn new() -> Self {
        let mut lists = BlockLists::new();
        lists.reset(16);
        Self { lists, cur: 0 }
    }

    /// Forgets every prime (keeping the pool).
    pub(crate) fn clear(&mut self) {
        self.lists.reset(16);
        self.cur = 0;
    }

    /// Adds `prime` (`< seg_bits`), whose next multiple is `next` bits from the current segment's
    /// start with modulo-30 wheel index `wheel`.
    pub(crate) fn insert(&mut self, prime: u64, next: u64, wheel: usize) {
        debug_assert!(next <= u64::from(u32::MAX) && prime <= u64::from(u32::MAX) && wheel < 8);
        self.lists.push(
            self.cur + wheel,
            Entry {
                prime: prime as u32,
                packed: next as u32,
            },
        );
    }

    /// Crosses off the multiples in the current segment (`words` spans its `seg_bits` bits) and
    /// moves every prime on to the next segment.
    pub(crate) fn sieve_segment(&mut self, words: &mut [u64], seg_bits: usize) {
        assert!(seg_bits <= 64 * words.len());
        let (cur, next) = (self.cur, 8 - self.cur);
        let lists = &mut self.lists;
        cross::<0>(lists, cur, next, words, seg_bits);
        cross::<1>(lists, cur, next, words, seg_bits);
        cross::<2>(lists, cur, next, words, seg_bits);
        cross::<3>(lists, cur, next, words, seg_bits);
        cross::<4>(lists, cur, next, words, seg_bits);
        cross::<5>(lists, cur, next, words, seg_bits);
        cross::<6>(lists, cur, next, words, seg_bits);
        cross::<7>(lists, cur, next, words, seg_bits);
        self.cur = next;
    }
}

/// Crosses off the multiples below `seg_bits` of every prime in list `cur + W`, whose next
/// multiples all have wheel index `W`, and files each prime into list `next + w`, `w` the wheel
/// index of its first multiple past the segment, its offset made relative to the next segment.
#[inline(never)]
fn cross<const W: usize>(
    lists: &mut BlockLists<SPARSE_BLOCK>,
    cur: usize,
    next: usize,
    words: &mut [u64],
    seg_bits: usize,
) {
    let len = words.len();
    lists.drain(cur + W, |e| {
        let p = e.prime as usize;
        let mut i = e.packed as usize;
        // One step of the wheel from index (W + k) % 8: cross off, advance by a constant multiple
        // of p, and leave once past the segment.
        macro_rules! step {
            ($k:literal) => {{
                if i >= seg_bits {
                    return Some((
                        next + const { (W + $k) % 8 },
                        Entry {
                            prime: e.prime,
                            packed: (i - seg_bits) as u32,
                        },
                    ));
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
    });
    let _ = len;
}
