//! Crossing off for sieving primes with many multiples per segment: a modulo-30 wheel loop, unrolled
//! over one full turn of the wheel.
//!
//! Used twice by [`crate::Sieve`]: for the small primes one L1-sized chunk of the segment at a time
//! (so every write hits L1), and for the medium primes over the whole segment at once.

use crate::wheel::{STEP, TURN};

/// A sieving prime and where its next multiple falls.
#[derive(Clone, Copy, Debug)]
pub(crate) struct WheelPrime {
    /// The prime, `> 167`.
    pub prime: u32,
    /// Bit index of its next multiple, relative to the current segment's first bit.
    pub next: u32,
    /// Wheel index of that multiple's cofactor `m` (`m mod 30 == RESIDUES[wheel]`).
    pub wheel: u32,
}

#[inline(always)]
fn clear(words: &mut [u64], bit: usize) {
    debug_assert!(bit / 64 < words.len());
    // SAFETY: every caller only passes `bit < limit`, and `limit <= 64 * words.len()` is asserted
    // by `cross_off` before any call.
    unsafe { *words.get_unchecked_mut(bit / 64) &= !(1u64 << (bit % 64)) };
}

/// Crosses off, for every prime in `primes`, its multiples with bit index below `limit`, and leaves
/// each prime's `next`/`wheel` at its first multiple at or beyond `limit`.
pub(crate) fn cross_off(words: &mut [u64], limit: usize, primes: &mut [WheelPrime]) {
    assert!(limit <= words.len() * 64);
    for wp in primes.iter_mut() {
        let p = wp.prime as usize;
        let mut i = wp.next as usize;
        let mut w = wp.wheel as usize;
        // Turn the wheel to index 0, then whole turns (eight multiples, offsets fixed by the wheel:
        // 0, 3p, 5p, 6p, 8p, 9p, 11p, 14p), then the remainder one at a time.
        while w != 0 && i < limit {
            clear(words, i);
            i += STEP[w] * p;
            w = (w + 1) % 8;
        }
        if w == 0 {
            while i + 14 * p < limit {
                clear(words, i);
                clear(words, i + 3 * p);
                clear(words, i + 5 * p);
                clear(words, i + 6 * p);
                clear(words, i + 8 * p);
                clear(words, i + 9 * p);
                clear(words, i + 11 * p);
                clear(words, i + 14 * p);
                i += TURN * p;
            }
            while i < limit {
                clear(words, i);
                i += STEP[w] * p;
                w = (w + 1) % 8;
            }
        }
        wp.next = i as u32;
        wp.wheel = w as u32;
    }
}

/// Moves every prime's `next` from the current segment to the following one, `seg_bits` later.
pub(crate) fn advance(primes: &mut [WheelPrime], seg_bits: usize) {
    for wp in primes {
        debug_assert!(wp.next as usize >= seg_bits);
        wp.next -= seg_bits as u32;
    }
}
