//! Crossing off for sieving primes with many multiples per segment: a modulo-30 wheel loop, unrolled
//! over one full turn of the wheel.
//!
//! Used twice by [`crate::Sieve`]: for the small primes one L1-sized chunk of the segment at a time
//! (so every write hits L1), and for the medium primes over the whole segment at once.
//!
//! # The fast path: constant masks
//! One wheel turn from a multiple `i` (bit index, wheel index 0) hits `i + D[k] * p` for
//! `D = [0, 3, 5, 6, 8, 9, 11, 14]`. Write `p = 8q + c` and `i = 8b + r`; then hit `k` is bit
//! `(r + D[k] c) % 8` of byte `b + D[k] q + (r + D[k] c) / 8`. For a given class `c = p mod 8` and
//! starting bit `r` the masks and the small byte carries are constants, so with the eight offsets
//! `D[k] q` held in registers each hit is one `and byte [ptr + offset], imm8`. A turn moves `b` by
//! `15 q + (r + 15 c) / 8` and `r` to `(r + 15 c) % 8`, so eight turns return to the starting `r`.
//! The 32 combinations of `c` and starting `r` each get their own copy of [`cross_turns`], an
//! unrolled loop of eight turns with constant masks. On big-endian targets the byte view of the
//! words differs, and the portable loop is used throughout.

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

/// Bit offsets, in units of `p`, of the eight multiples in one wheel turn.
const D: [usize; 8] = [0, 3, 5, 6, 8, 9, 11, 14];

/// Crosses off whole wheel turns for the prime `p = 8q + C` from bit `8b + R0` (wheel index 0)
/// while each turn's last hit stays below `last_start + 14p`; returns the bit where it stopped
/// (wheel index 0 again).
///
/// One monomorphised copy per class `C = p mod 8` and starting bit `R0`: the eight turns inside the
/// loop bring `r` back to `R0`, and in each of them every mask and carry is a constant.
///
/// # Safety
/// `bytes` must be valid for reads and writes of `(last_start + 14p).div_ceil(8)` bytes.
#[inline(never)]
unsafe fn cross_turns<const C: usize, const R0: usize>(
    bytes: *mut u8,
    last_start: usize,
    q: usize,
    mut b: usize,
) -> usize {
    let offsets = D.map(|d| d * q);
    // One whole turn from bit 8b + r (a constant), or a return if its last hit reaches the limit.
    macro_rules! turn {
        ($t:literal) => {{
            let r: usize = const { (R0 + $t * 15 * C) % 8 };
            if 8 * b + r >= last_start {
                return 8 * b + r;
            }
            macro_rules! hit {
                ($k:literal) => {{
                    let bit: usize = const { (R0 + $t * 15 * C) % 8 + D[$k] * C };
                    // SAFETY: the turn's largest bit, 8b + R + 14p, is below the limit (checked
                    // above), so every byte touched lies within the bytes the caller vouches for.
                    unsafe { *bytes.add(b + offsets[$k] + bit / 8) &= !(1u8 << (bit % 8)) };
                }};
            }
            hit!(0);
            hit!(1);
            hit!(2);
            hit!(3);
            hit!(4);
            hit!(5);
            hit!(6);
            hit!(7);
            b = std::hint::black_box(b + 15 * q + (r + 15 * C) / 8);
        }};
    }
    loop {
        turn!(0);
        turn!(1);
        turn!(2);
        turn!(3);
        turn!(4);
        turn!(5);
        turn!(6);
        turn!(7);
    }
}

/// Signature shared by the 32 copies of [`cross_turns`].
type TurnsFn = unsafe fn(*mut u8, usize, usize, usize) -> usize;

/// The copies of [`cross_turns`], indexed by `[p % 8 / 2][bit % 8]`.
const TURNS: [[TurnsFn; 8]; 4] = {
    macro_rules! row {
        ($c:literal) => {
            [
                cross_turns::<$c, 0>,
                cross_turns::<$c, 1>,
                cross_turns::<$c, 2>,
                cross_turns::<$c, 3>,
                cross_turns::<$c, 4>,
                cross_turns::<$c, 5>,
                cross_turns::<$c, 6>,
                cross_turns::<$c, 7>,
            ]
        };
    }
    [row!(1), row!(3), row!(5), row!(7)]
};

/// Crosses off, for every prime in `primes`, its multiples with bit index below `limit`, and leaves
/// each prime's `next`/`wheel` at its first multiple at or beyond `limit`.
pub(crate) fn cross_off(words: &mut [u64], limit: usize, primes: &mut [WheelPrime]) {
    assert!(limit <= words.len() * 64);
    let bytes = words.as_mut_ptr().cast::<u8>();
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
            if cfg!(target_endian = "little") {
                // SAFETY: `bytes` views the `8 * words.len() >= limit.div_ceil(8)` bytes of `words`
                // (u8 has no alignment or validity requirements), and on little-endian targets
                // byte j of that view holds bits 8j..8j+8 of the bitmap, as `cross_turns` assumes.
                if let Some(last_start) = limit.checked_sub(14 * p) {
                    i = unsafe { TURNS[p % 8 / 2][i % 8](bytes, last_start, p / 8, i / 8) };
                }
            }
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
