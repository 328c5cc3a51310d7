//! A segmented sieve in the modulo-30 layout, for counting: byte `j` of a segment that starts at
//! the number `seg_lo` (a multiple of 240) stands for the 30 numbers from `seg_lo + 30j`, bit `k`
//! for `seg_lo + 30j + RESIDUES[k]` (`RESIDUES = [1, 7, 11, 13, 17, 19, 23, 29]`, the residues
//! coprime to 30). A byte spans 30 numbers where an odd-only byte spans 16: the pre-sieve writes
//! 16/30 of the bytes, and a segment of the same bytes spans 1.875 times the numbers, so every
//! sieving prime makes 1.875 times the hits per visit.
//!
//! The layout of primesieve (K. Walisch, `doc/ALGORITHMS.md`, `src/EratSmall.cpp`,
//! `src/EratMedium.cpp`, `src/EratBig.cpp`). The classes of sieving primes:
//! - pre-sieve: primes 7..=167, patterns ANDed into each segment (`crate::presieve`);
//! - small: primes up to half the L1 chunk's bytes, whole wheel turns (`30p` numbers, `p`
//!   bytes, eight hits at byte offsets and masks that are constants for `p mod 30`) one L1 chunk
//!   at a time;
//! - medium: primes up to half the segment's bytes, whole turns over the whole segment. A turn
//!   that starts inside the segment ends less than `p` bytes past it, in the slack, which holds
//!   the next segment's head (pre-sieved ahead, then moved to the front), as in `crate::small`.
//!   The slack is smaller than the largest medium primes, though: a quarter segment where no
//!   sieving prime is a bucket prime (up to about `10^12` with 512 KiB segments), 3/8 of one
//!   above. A medium prime's turn that would end past it is crossed off up to the segment's
//!   end without branches, and the next segment finishes it. A thread's memory is then about
//!   its segment and its primes, under primesieve's (AMD EPYC Zen 4, second thread, medians of
//!   7: `[0, 10^10]` 716 against 820 KB, `[10^12, 10^12 + 5 x 10^9]` 1,348 against 1,584 KB);
//! - sparse: primes up to twice the segment's bytes (at least four hits per segment), one hit at
//!   a time, in lists by wheel state (primesieve's `EratMedium`, `crate::sparse`);
//! - bucket: the rest, Oliveira e Silva's bucket sieve (as `crate::bucket` in the odd-only
//!   layout), on the modulo-2310 wheel, which skips the multiples of 11 too: 9 % fewer hits
//!   than primesieve's modulo-210 `EratBig` (see [`BUCKET_WHEEL`]).
//!
//! [`crate::Sieve::count`] uses this kernel (twins included, [`Sieve30::count_twins`]). Measured on an AMD EPYC
//! Zen 4 (32 KiB L1d, 1 MiB L2), one thread, against the odd-only kernel
//! (`Sieve::for_each_window`'s), interleaved runs: `[0, 10^10]` 0.74 against 0.95 s,
//! `[10^12, 10^12 + 5 x 10^9]` 0.66 against 0.78 s, `[10^15, 10^15 + 3 x 10^9]` 0.94 against
//! 1.01 s (medians of 3), `[10^15, +10^10]` 2.92 against 3.04 s and `[10^18, +10^10]` 5.40 against
//! 5.76 s (one run each, peak memory 19.8 against 19.9 MB and 404 against 406 MB: the bucket
//! ring has half the slots), `[2^64 - 10^10, 2^64 - 1]` 10.2 against 10.0 s (1,299 against
//! 1,301 MB). Class bounds, same machine, `[0, 10^10]` and `[10^12, 10^12 + 5 x 10^9]`: small
//! primes up to a quarter of the chunk 0.80 and 0.74 s, half 0.75 and 0.71 s, the whole chunk
//! 0.74 and 0.70 s; medium primes up to a quarter of the segment 0.71 s at `10^12`, half 0.66 s,
//! the whole segment 0.61 s (with 256 KiB more slack per thread than half). With medium primes
//! up to a quarter, the bucket primes' heights were slower than the odd-only kernel (1.08 to
//! 1.17 times at `10^15`).

use crate::base_primes::{Generator, PrimeSource};
use crate::pool::{BlockLists, Entry};
use crate::presieve::PreSieve;
use crate::segment::SieveConfig;
use crate::small::opaque;
use crate::wheel::{
    first_multiple_2310_above, first_multiple_above, next_2310, MAX_GAP_2310, RESIDUES,
    RESIDUES_2310,
};
use crate::SievingPrimes;

/// The index in [`RESIDUES`] of `x`, a residue coprime to 30.
pub(crate) const fn bit_of(x: u64) -> usize {
    let mut k = 0;
    while k < 8 {
        if RESIDUES[k] == x {
            return k;
        }
        k += 1;
    }
    panic!("not coprime to 30")
}

/// The gap from `RESIDUES[w]` to the next residue coprime to 30 (`31` after `29`).
const GAP_30: [u64; 8] = [6, 4, 2, 4, 2, 4, 6, 2];

/// For a prime `p = 30a + RESIDUES[c]`, the eight hits of a turn from `p m` with `m ≡ 1
/// (mod 30)`: `p (m + RESIDUES[k] - 1)` lies `(RESIDUES[k] - 1) a + TURN_CARRY[c][k]` bytes on,
/// in bit `TURN_BIT[c][k]`. The next turn starts `p` bytes on, in the same bit.
const TURN_CARRY: [[usize; 8]; 8] = {
    let mut t = [[0; 8]; 8];
    let mut c = 0;
    while c < 8 {
        let mut k = 0;
        while k < 8 {
            t[c][k] = ((RESIDUES[c] * RESIDUES[k]) / 30) as usize;
            k += 1;
        }
        c += 1;
    }
    t
};

/// See [`TURN_CARRY`].
const TURN_BIT: [[u32; 8]; 8] = {
    let mut t = [[0; 8]; 8];
    let mut c = 0;
    while c < 8 {
        let mut k = 0;
        while k < 8 {
            t[c][k] = bit_of((RESIDUES[c] * RESIDUES[k]) % 30) as u32;
            k += 1;
        }
        c += 1;
    }
    t
};

/// Crosses off whole turns of the prime `p = 30a + RESIDUES[C]` from byte `b` (the byte of a
/// multiple `p m` with `m ≡ 1 (mod 30)`) while the turn starts below `stop`; returns the start of
/// the first turn at or after `stop`.
///
/// # Safety
/// `bytes` must be valid for reads and writes of `stop + p - 1` bytes (a turn's hits lie less
/// than `p - 1` bytes past its start), and no reference to them may be used during the call.
#[inline(always)]
unsafe fn turns<const C: usize>(bytes: *mut u8, stop: usize, a: usize, mut b: usize) -> usize {
    let p = 30 * a + RESIDUES[C] as usize;
    let off: [usize; 8] = std::array::from_fn(|k| (RESIDUES[k] as usize - 1) * a);
    while b < stop {
        macro_rules! hit {
            ($k:literal) => {{
                let at = b + off[$k] + const { TURN_CARRY[C][$k] };
                debug_assert!(at < stop + p - 1);
                // SAFETY: b < stop and the offset is below p - 2: within the bytes vouched for.
                unsafe { *bytes.add(at) &= const { !(1u8 << TURN_BIT[C][$k]) } };
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
        b = opaque(b + p);
    }
    b
}

/// Crosses off the hits in `[0, stop)` of one turn of the prime `p = 30a + RESIDUES[C]` that
/// starts at byte `b`, which may lie before the segment (a turn begun in the previous one). A hit
/// outside goes to byte `stop + k` and clears nothing there: no branch to mispredict.
///
/// # Safety
/// `bytes` must be valid for reads and writes of `stop + 8` bytes, and no reference to them may
/// be used during the call.
#[inline(always)]
unsafe fn partial_turn<const C: usize>(bytes: *mut u8, stop: usize, a: usize, b: isize) {
    macro_rules! hit {
        ($k:literal) => {{
            let at = b + ((RESIDUES[$k] as usize - 1) * a + const { TURN_CARRY[C][$k] }) as isize;
            // A negative `at` wraps to above `stop`.
            let inside = (at as usize) < stop;
            let to = std::hint::select_unpredictable(inside, at as usize, stop + $k);
            let mask = const { !(1u8 << TURN_BIT[C][$k]) };
            let mask = std::hint::select_unpredictable(inside, mask, 0xff);
            // SAFETY: `to < stop + 8`, within the bytes vouched for.
            unsafe { *bytes.add(to) &= mask };
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
}

/// Primes crossed off by whole turns, one list per class `p mod 30`, each entry `(a, b)`:
/// `p = 30a + RESIDUES[c]`, and `b` the byte its next turn starts at, relative to the current
/// segment. Updated in place: a turn ends in the bit it started in.
#[derive(Default)]
struct TurnLists {
    lists: [Vec<(u32, u32)>; 8],
    max_prime: usize,
}

impl TurnLists {
    /// Forgets every prime and makes room for the primes up to `max` at once: grown by doubling,
    /// each list would also leave its outgrown buffers touched in the heap.
    fn clear(&mut self, max: u64) {
        self.lists.iter_mut().for_each(Vec::clear);
        self.max_prime = 0;
        // pi(x) <= x / ln x (1 + 1.2762 / ln x) for x > 1 (P. Dusart, 1999; within 1 % of pi
        // from 2^16 on, where 1.26 x / ln x is 14 to 16 % over), shared about evenly by the eight
        // classes (a list that outgrows its share just grows).
        let x = (max as f64).max(3.0);
        let pi_bound = x / x.ln() * (1.0 + 1.2762 / x.ln());
        let per_class = (pi_bound / 8.0 * 1.05) as usize + 16;
        for list in &mut self.lists {
            list.reserve_exact(per_class);
        }
    }

    /// Appends `p`, which must be above every prime of its class in the lists
    /// ([`Self::cross_off_bounded`] splits a list by binary search).
    fn push(&mut self, p: u64, b: usize) {
        self.max_prime = self.max_prime.max(p as usize);
        let list = &mut self.lists[bit_of(p % 30)];
        debug_assert!(list.last().is_none_or(|e| u64::from(e.0) < p / 30));
        list.push(((p / 30) as u32, b as u32));
    }

    /// As [`Self::cross_off`], but for a slack of only `room` bytes, which need not hold every
    /// turn's end: a whole turn is crossed off if it ends within `room` bytes past `stop` (its
    /// hits from `stop` on land in the slack, the next segment's head), and a turn that would
    /// reach further is crossed off up to `stop` only (writing no-ops to `stop + 7`), its entry
    /// keeping the turn's start, `shift` bytes back and so negative, for the next segment to
    /// finish (its hits from `stop` on are written there, once). For primes up to the segment's
    /// bytes.
    ///
    /// The primes up to `room`, whose turns all fit, are crossed off as by [`Self::cross_off`],
    /// without the checks: their entries' turns start in the segment (a turn begun before it was
    /// finished when the prime was filed). The others' entries' `b` are read as `i32` and lie
    /// above `-p`. At `[9 x 10^9, 10^10]` the split took 1.6 % off the instructions, at
    /// `[10^12, 10^12 + 10^9]` 0.9 %.
    ///
    /// With `room` 0 every turn that spans `stop` is bounded. At `[9 x 10^9, 10^10]` (256 KiB
    /// segments, medium primes up to `10^5`) the whole run took 611 million instructions with
    /// `room` 0, 576 with 16 KiB and 521 with 64 KiB (a quarter segment), and 517 with the whole
    /// 128 KiB, when no turn is bounded (valgrind's cachegrind). Timed on an AMD EPYC Zen 4, a
    /// quarter segment against `room` 0: 0.954 at `[0, 10^10]` and 0.955 at
    /// `[10^12, 10^12 + 5 x 10^9]` (medians of 11).
    fn cross_off_bounded(&mut self, bytes: &mut [u8], stop: usize, room: usize, shift: usize) {
        assert!(stop + room.max(8) <= bytes.len());
        // A turn spans two segments at most, and a segment's hits past `stop` are the next one's.
        debug_assert!(shift == 0 || (shift == stop && self.max_prime <= stop));
        let ptr = bytes.as_mut_ptr();
        macro_rules! class {
            ($c:literal) => {{
                // The primes up to `room` (a list is in increasing order): their whole turns end
                // in the slack, and their entries' turns start in the segment.
                let list = &mut self.lists[$c];
                let fits =
                    list.partition_point(|e| 30 * e.0 as usize + RESIDUES[$c] as usize <= room);
                let (fit, rest) = list.split_at_mut(fits);
                for e in fit {
                    debug_assert!((e.1 as i32) >= 0, "a turn begun before the segment");
                    // SAFETY: a turn from below `stop` ends below `stop + p - 1 < stop + room
                    // <= bytes.len()`, and `bytes` is only used through `ptr` here.
                    let b = unsafe { turns::<$c>(ptr, stop, e.0 as usize, e.1 as usize) };
                    e.1 = (b - shift) as u32;
                }
                for e in rest {
                    let a = e.0 as usize;
                    let p = 30 * a + RESIDUES[$c] as usize;
                    let mut b = e.1 as i32 as isize;
                    debug_assert!(b > -(p as isize));
                    // `bytes` is only used through `ptr` here.
                    if b < 0 {
                        // SAFETY: writes below `stop + 8 <= bytes.len()` only.
                        unsafe { partial_turn::<$c>(ptr, stop, a, b) };
                        b += p as isize;
                    }
                    let whole = (stop + room + 1).saturating_sub(p);
                    // SAFETY: a whole turn from below `stop + room + 1 - p` ends below
                    // `stop + room <= bytes.len()`.
                    let b = unsafe { turns::<$c>(ptr, whole, a, b as usize) };
                    if b < stop {
                        // SAFETY: writes below `stop + 8 <= bytes.len()` only.
                        unsafe { partial_turn::<$c>(ptr, stop, a, b as isize) };
                    }
                    e.1 = (b as isize - shift as isize) as i32 as u32;
                }
            }};
        }
        class!(0);
        class!(1);
        class!(2);
        class!(3);
        class!(4);
        class!(5);
        class!(6);
        class!(7);
    }

    /// Crosses off every prime's turns below `stop` in `bytes`, then moves each `shift` bytes back
    /// (the next segment's start).
    fn cross_off(&mut self, bytes: &mut [u8], stop: usize, shift: usize) {
        assert!(stop + self.max_prime <= bytes.len());
        let ptr = bytes.as_mut_ptr();
        macro_rules! class {
            ($c:literal) => {{
                for e in self.lists[$c].iter_mut() {
                    // SAFETY: `stop + p <= bytes.len()` (asserted above), and `bytes` is only used
                    // through `ptr` here.
                    let b = unsafe { turns::<$c>(ptr, stop, e.0 as usize, e.1 as usize) };
                    e.1 = (b - shift) as u32;
                }
            }};
        }
        class!(0);
        class!(1);
        class!(2);
        class!(3);
        class!(4);
        class!(5);
        class!(6);
        class!(7);
    }
}

/// For `p = 30a + RESIDUES[c]` and its multiple `p m`, `m ≡ RESIDUES[w] (mod 30)`: the byte
/// advance to the next multiple the wheel visits is `GAP_30[w] a + STEP_CARRY[c][w]`, and the
/// multiple's bit is `STEP_BIT[c][w]`.
const STEP_CARRY: [[usize; 8]; 8] = {
    let mut t = [[0; 8]; 8];
    let mut c = 0;
    while c < 8 {
        let mut w = 0;
        while w < 8 {
            let x = (RESIDUES[c] * RESIDUES[w]) % 30;
            t[c][w] = ((x + GAP_30[w] * RESIDUES[c]) / 30) as usize;
            w += 1;
        }
        c += 1;
    }
    t
};

/// Primes with a few hits per segment, in lists by state (after primesieve's `EratMedium` and
/// `crate::sparse`): list `cur + 8c + w` holds the primes `p = 30a + RESIDUES[c]` whose next
/// multiple `p m` has `m ≡ RESIDUES[w] (mod 30)`, as `prime: a` and `packed` its byte offset from
/// the current segment's start; the other 64 lists fill with the next segment's.
/// Entries per block of the sparse lists: 512 B, so that the 128 lists' partly filled blocks stay
/// at 64 KiB.
const SPARSE_BLOCK: usize = 64;

struct Sparse30 {
    lists: BlockLists<SPARSE_BLOCK>,
    cur: usize,
}

impl Sparse30 {
    fn new() -> Self {
        let mut lists = BlockLists::new();
        lists.reset(128);
        Self { lists, cur: 0 }
    }

    fn clear(&mut self) {
        self.lists.reset(128);
        self.cur = 0;
    }

    fn insert(&mut self, p: u64, byte: u64, w: usize) {
        let list = self.cur + 8 * bit_of(p % 30) + w;
        self.lists.push(
            list,
            Entry {
                prime: (p / 30) as u32,
                packed: byte as u32,
            },
        );
    }

    /// Crosses off the multiples in the current segment (`bytes`, its whole size) and moves every
    /// prime on to the next segment.
    fn sieve_segment(&mut self, bytes: &mut [u8]) {
        let (cur, next) = (self.cur, 64 - self.cur);
        let lists = &mut self.lists;
        macro_rules! row {
            ($c:literal) => {
                sparse_cross::<$c, 0>(lists, cur, next, bytes);
                sparse_cross::<$c, 1>(lists, cur, next, bytes);
                sparse_cross::<$c, 2>(lists, cur, next, bytes);
                sparse_cross::<$c, 3>(lists, cur, next, bytes);
                sparse_cross::<$c, 4>(lists, cur, next, bytes);
                sparse_cross::<$c, 5>(lists, cur, next, bytes);
                sparse_cross::<$c, 6>(lists, cur, next, bytes);
                sparse_cross::<$c, 7>(lists, cur, next, bytes);
            };
        }
        row!(0);
        row!(1);
        row!(2);
        row!(3);
        row!(4);
        row!(5);
        row!(6);
        row!(7);
        self.cur = next;
    }
}

/// Crosses off the multiples in `bytes` of every prime in list `cur + 8C + W` and files each into
/// list `next + 8C + w` of the next segment, `w` the state of its first multiple past `bytes`.
#[inline(never)]
fn sparse_cross<const C: usize, const W: usize>(
    lists: &mut BlockLists<SPARSE_BLOCK>,
    cur: usize,
    next: usize,
    bytes: &mut [u8],
) {
    let len = bytes.len();
    lists.drain(cur + 8 * C + W, |e| {
        let a = e.prime as usize;
        let mut i = e.packed as usize;
        macro_rules! step {
            ($k:literal) => {{
                let w = const { (W + $k) % 8 };
                if i >= len {
                    return Some((
                        next + 8 * C + w,
                        Entry {
                            prime: e.prime,
                            packed: (i - len) as u32,
                        },
                    ));
                }
                // SAFETY: i < len, checked just above.
                unsafe {
                    *bytes.get_unchecked_mut(i) &=
                        const { !(1u8 << bit_of((RESIDUES[C] * RESIDUES[(W + $k) % 8]) % 30)) }
                };
                i += const { GAP_30[(W + $k) % 8] as usize } * a
                    + const { STEP_CARRY[C][(W + $k) % 8] };
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
}

/// Bits of [`Entry::packed`] that hold the byte offset; the top 12 hold the state. The bucket
/// primes sieve segments of at most `2^20` bytes: a larger segment (up to 8 MiB, by the user's
/// choice) is that many bucket segments in a row.
const OFFSET_BITS: u32 = 20;

/// One state of a bucket prime on the modulo-2310 wheel, `c * 480 + w`: `p ≡ RESIDUES[c]
/// (mod 30)` and its next multiple `p m` with `m ≡ RESIDUES_2310[w] (mod 2310)`.
#[derive(Clone, Copy)]
struct BucketStep {
    /// The byte advance to the next multiple is `gap a + carry` (`p = 30a + RESIDUES[c]`).
    gap: u8,
    carry: u8,
    /// The mask that clears the current multiple's bit.
    mask: u8,
    /// The next state, shifted into place in [`Entry::packed`].
    next: u32,
}

/// [`BucketStep`] for each of the 3,840 states, and 256 that never occur: indexed by the 12 bits
/// of a state, the table needs no bounds check per hit.
///
/// The wheel modulo 2310 rather than 210 (primesieve's `EratBig`): 9 % fewer hits for a table of
/// 32 KiB rather than 4 KiB, which no longer stays whole in an L1 cache of 32 KiB. Measured on
/// an AMD EPYC Zen 4 (32 KiB L1d, 1 MiB L2), one thread, interleaved runs (CPU time):
/// `[10^15, 10^15 + 3 x 10^9]` 3.6 % less time (medians of 11), `[10^15, 10^15 + 10^10]` 3.0 %
/// (medians of 7), `[2^64 - 10^10, 2^64 - 1]` 1.6 % (medians of 3), `[10^18, 10^18 + 10^10]` the
/// same. A table of 4-byte steps (16 KiB, the fields unpacked with shifts and masks) took as
/// long as the modulo-210 wheel.
static BUCKET_WHEEL: [BucketStep; 4096] = {
    let mut t = [BucketStep {
        gap: 0,
        carry: 0,
        next: 0,
        mask: 0,
    }; 4096];
    let mut c = 0;
    while c < 8 {
        let mut w = 0;
        while w < 480 {
            let m = RESIDUES_2310[w] as u64;
            let gap = next_2310(w) - m;
            let x = (RESIDUES[c] * (m % 30)) % 30;
            t[c * 480 + w] = BucketStep {
                gap: gap as u8,
                carry: ((x + gap * RESIDUES[c]) / 30) as u8,
                next: ((c * 480 + (w + 1) % 480) as u32) << OFFSET_BITS,
                mask: !(1u8 << bit_of(x)),
            };
            w += 1;
        }
        c += 1;
    }
    t
};

/// The ring of buckets of the bucket primes, on the modulo-2310 wheel (see `crate::bucket`).
struct Buckets30 {
    lists: BlockLists<512>,
    segments: u64,
    seg_shift: u32,
}

impl Buckets30 {
    /// Empties the ring for `segments` bucket segments of `2^seg_shift` bytes, and sizes it for
    /// sieving primes up to `max_prime`.
    fn reset(&mut self, segments: u64, seg_shift: u32, max_prime: u64) {
        // A hit moves a prime at most `MAX_GAP_2310 p` numbers, `MAX_GAP_2310 (a + 1)` bytes on.
        assert!(seg_shift <= OFFSET_BITS);
        let reach = ((MAX_GAP_2310 * (max_prime / 30 + 1)) >> seg_shift) as usize + 2;
        self.lists.reset(reach.next_power_of_two());
        self.segments = segments;
        self.seg_shift = seg_shift;
    }

    fn insert(&mut self, a: u32, segment: u64, offset: u64, state: usize) {
        if segment < self.segments {
            let slot = (segment & (self.lists.lists() as u64 - 1)) as usize;
            let packed = offset as u32 | (state as u32) << OFFSET_BITS;
            self.lists.push(slot, Entry { prime: a, packed });
        }
    }

    #[inline(always)]
    fn sieve_segment(&mut self, segment: u64, bytes: &mut [u8]) {
        assert!(bytes.len() >= 1 << self.seg_shift);
        // Until the last `reach` segments no prime can leave the interval (see `crate::bucket`).
        let reach = self.lists.lists() as u64 - 1;
        if segment.saturating_add(reach) < self.segments {
            self.sieve_segment_with::<false>(segment, bytes);
        } else {
            self.sieve_segment_with::<true>(segment, bytes);
        }
    }

    #[inline(always)]
    fn sieve_segment_with<const LEAVING: bool>(&mut self, segment: u64, bytes: &mut [u8]) {
        let shift = self.seg_shift;
        let mask = self.lists.lists() as u64 - 1;
        let slot = (segment & mask) as usize;
        let seg_bytes = 1u64 << shift;
        let segments = self.segments;
        while !self.lists.is_empty(slot) {
            self.lists.drain_ring(slot, |e| {
                let a = u64::from(e.prime);
                let mut offset = u64::from(e.packed & ((1 << OFFSET_BITS) - 1));
                let step = BUCKET_WHEEL[(e.packed >> OFFSET_BITS) as usize];
                debug_assert!(offset < seg_bytes);
                // SAFETY: offset < seg_bytes <= bytes.len(): entries are filed with an offset
                // inside their segment.
                unsafe { *bytes.get_unchecked_mut(offset as usize) &= step.mask };
                offset += u64::from(step.gap) * a + u64::from(step.carry);
                let target = segment + (offset >> shift);
                debug_assert!(LEAVING || target < segments);
                (!LEAVING || target < segments).then(|| {
                    let packed = (offset & (seg_bytes - 1)) as u32 | step.next;
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

/// Fills `words` with the pre-sieved bytes from the number `seg_lo`, byte `j` of the words being
/// their `j`-th byte in memory: the patterns' bytes are read as little-endian words, and on a
/// big-endian target the words are swapped back.
fn fill_30(presieve: &PreSieve, words: &mut [u64], seg_lo: u64) {
    presieve.fill_30(words, seg_lo);
    if cfg!(target_endian = "big") {
        words.iter_mut().for_each(|w| *w = w.to_le());
    }
}

/// A reusable one-thread sieve in the modulo-30 layout that counts primes (see the module).
///
/// Its memory: a segment and a slack (3/8 of a segment where there are bucket primes, else a
/// quarter segment; at least half an L1 chunk), and 8 bytes per sieving prime above 167, as the
/// odd-only [`crate::Sieve`]. The buffer is allocated for a slack of half a segment, the most any
/// configuration uses (an L1 chunk as large as the segment); where a smaller one is used, the
/// rest is never touched (a zeroed allocation that large is fresh pages, costing no memory until
/// written).
pub struct Sieve30 {
    config: SieveConfig,
    presieve: &'static PreSieve,
    buffer: Vec<u64>,
    small: TurnLists,
    medium: TurnLists,
    sparse: Sparse30,
    buckets: Buckets30,
    generator: Option<Box<Generator>>,
}

/// Sparse primes (above the medium ones) are at most the segment's bytes times this: at least
/// four hits per segment; the bucket primes above have at most four.
const SPARSE_FACTOR: usize = 2;

/// Small primes are at most the L1 chunk's bytes over this (see the module).
const SMALL_DIVISOR: usize = 2;
/// Where no sieving prime is a bucket prime, the slack is the segment's bytes over this (at
/// least half the L1 chunk, at most `sqrt(hi)`, plus a margin of 64 bytes). Measured on an AMD
/// EPYC Zen 4 (see `TurnLists::cross_off_bounded`).
const BOUNDED_SLACK_DIVISOR: usize = 4;
/// Where some sieving primes are bucket primes, the slack is the segment's bytes times this over
/// 8 (with the same bounds and margin): the medium primes up to it (up to `S / 2`) cross off
/// whole turns into it, and the larger ones' turns that would end past it are bounded (see
/// `TurnLists::cross_off_bounded`). There a thread's memory is mostly its bucket primes' 8 bytes
/// each, as primesieve's, and the slack was what put it over primesieve's. At
/// `[10^15, 10^15 + 10^9]` with 512 KiB segments, against a slack of `S / 2` (no turn bounded),
/// cachegrind counts: `3 S / 8` 0.2 % more instructions and 0.6 % more mispredicted branches
/// (64 KiB less per thread), `S / 4` 0.9 % and 2.4 % (128 KiB less).
const BUCKET_SLACK_EIGHTHS: usize = 3;
/// Medium primes are at most the segment's bytes over this (see the module).
const MEDIUM_DIVISOR: usize = 2;

impl Sieve30 {
    /// A sieve with the given cache configuration (the segment's and L1 chunk's sizes in bytes).
    pub fn new(config: SieveConfig) -> Self {
        let words = (config.segment_bytes() + config.segment_bytes() / MEDIUM_DIVISOR) / 8 + 8;
        Self {
            config,
            presieve: PreSieve::shared_30(),
            buffer: vec![0; words],
            small: TurnLists::default(),
            medium: TurnLists::default(),
            sparse: Sparse30::new(),
            buckets: Buckets30 {
                lists: BlockLists::new(),
                segments: 0,
                seg_shift: 0,
            },
            generator: None,
        }
    }

    /// Makes room in the turn lists for the sieving primes up to `max_prime` at once. The
    /// generator (`crate::base_primes`) sieves blocks of growing height, and `sieve_segments`
    /// would grow each list by a few entries per block: every growth a reallocation that can
    /// leave the old buffer as a hole in the thread's heap.
    pub(crate) fn reserve_turn_primes(&mut self, max_prime: u64) {
        self.clear_turn_primes(self.config.segment_bytes(), max_prime);
    }

    /// The largest small and medium primes with segments of `seg_bytes`.
    fn turn_bounds(&self, seg_bytes: usize) -> (u64, u64) {
        let small_max = (self.config.l1_bytes() / SMALL_DIVISOR) as u64;
        (small_max, (seg_bytes / MEDIUM_DIVISOR) as u64)
    }

    /// Empties the small and medium turn lists, each with room for its primes up to `max_prime`.
    fn clear_turn_primes(&mut self, seg_bytes: usize, max_prime: u64) {
        let (small_max, medium_max) = self.turn_bounds(seg_bytes);
        self.small.clear(small_max.min(max_prime));
        self.medium.clear(medium_max.min(max_prime));
    }

    /// The capacities of the small and medium turn lists (for tests of their growth).
    #[cfg(test)]
    pub(crate) fn turn_list_capacities(&self) -> Vec<usize> {
        let lists = self.small.lists.iter().chain(&self.medium.lists);
        lists.map(Vec::capacity).collect()
    }

    /// The number of primes in `[lo, hi]`.
    ///
    /// # Panics
    /// If `lo > hi` or `primes` does not reach `sqrt(hi)`.
    pub fn count(&mut self, primes: &SievingPrimes, lo: u64, hi: u64) -> u64 {
        self.counts(primes, lo, hi, false).0
    }

    /// The number of primes and of twin-prime pairs `(p, p + 2)` with both in `[lo, hi]`.
    ///
    /// In this layout the pairs from 11 on are the bits `(11, 13)` and `(17, 19)` of a byte and
    /// `(29, 31)`, the top bit of a byte with the lowest of the next.
    ///
    /// # Panics
    /// As [`Self::count`].
    pub fn count_twins(&mut self, primes: &SievingPrimes, lo: u64, hi: u64) -> (u64, u64) {
        self.counts(primes, lo, hi, true)
    }

    fn counts(&mut self, primes: &SievingPrimes, lo: u64, hi: u64, twins: bool) -> (u64, u64) {
        let mut count = [2u64, 3, 5].iter().filter(|&&q| lo <= q && q <= hi).count() as u64;
        // (3, 5) and (5, 7), which involve numbers the layout leaves out.
        let mut pairs = [3u64, 5]
            .iter()
            .filter(|&&q| lo <= q && q + 2 <= hi)
            .count() as u64;
        // The top bit (a number ≡ 29 mod 30) of the byte before the current segment.
        let mut carry = 0u64;
        self.sieve_segments(primes, lo, hi, |_, seg| {
            count += crate::count::ones(seg);
            if twins {
                for c in seg.chunks(8) {
                    let mut b = [0u8; 8];
                    b[..c.len()].copy_from_slice(c);
                    let w = u64::from_le_bytes(b);
                    pairs += u64::from((w & (w >> 1) & 0x1414_1414_1414_1414).count_ones());
                    pairs += u64::from(((w >> 7) & (w >> 8) & 0x0101_0101_0101_0101).count_ones());
                    pairs += carry & w;
                    carry = w >> (8 * c.len() - 1) & 1;
                }
            }
        });
        (count, if twins { pairs } else { 0 })
    }

    /// Sieves `[lo, hi]` and hands each segment to `f` in increasing order: the number the
    /// segment starts at (`lo` rounded down to a multiple of 240, then a segment's numbers on) and
    /// its bytes, bit `k` of byte `j` set iff `seg_lo + 30j + RESIDUES[k]` is a prime in
    /// `[lo, hi]`. The segments' bytes follow each other without gaps; every segment but the last
    /// is a whole number of 8-byte words. 2, 3 and 5 have no bits.
    ///
    /// # Panics
    /// As [`Self::count`].
    pub(crate) fn sieve_segments(
        &mut self,
        primes: &SievingPrimes,
        lo: u64,
        hi: u64,
        mut f: impl FnMut(u64, &[u8]),
    ) {
        assert!(lo <= hi, "empty interval [{lo}, {hi}]");
        assert!(primes.covers(hi), "sieving primes do not cover {hi}");
        let start = lo - lo % 240;
        let total_bytes = (hi - start) / 30 + 1;
        let seg_bytes = self.config.segment_bytes_for(hi);
        let seg_shift = seg_bytes.trailing_zeros();
        // The bucket primes' segments: at most 2^OFFSET_BITS bytes, `per_segment` to a segment.
        let bucket_shift = seg_shift.min(OFFSET_BITS);
        let bucket_bytes = 1usize << bucket_shift;
        let per_segment = (seg_bytes >> bucket_shift) as u64;
        let l1_bytes = self.config.l1_bytes();
        let segments = total_bytes.div_ceil(seg_bytes as u64);
        let (small_max, medium_max) = self.turn_bounds(seg_bytes);
        let sparse_max = (seg_bytes * SPARSE_FACTOR) as u64;
        let max_prime = hi.isqrt();
        // Without bucket primes (up to about 10^12 with 512 KiB segments) the slack is a quarter
        // of the segment, and the medium primes' turns that would end past it are bounded (see
        // `TurnLists::cross_off_bounded`): a thread's memory is then about the segment and its
        // sieving primes, under primesieve's. Bounded turns cost time, so higher up the slack is
        // 3/8 of the segment: only the medium primes above it (up to half the segment) have
        // turns to bound, and a thread's memory is under primesieve's there too.
        let slack_max = small_max.max(if max_prime <= sparse_max {
            (seg_bytes / BOUNDED_SLACK_DIVISOR) as u64
        } else {
            (seg_bytes * BUCKET_SLACK_EIGHTHS / 8) as u64
        });
        let slack = (slack_max.min(max_prime) as usize + 64).next_multiple_of(64);
        let need = (seg_bytes + slack) / 8;
        if self.buffer.len() < need {
            self.buffer.resize(need, 0);
        }
        let mut source = PrimeSource::new(primes, max_prime, l1_bytes, &mut self.generator);
        self.clear_turn_primes(seg_bytes, max_prime);
        self.sparse.clear();
        self.buckets
            .reset(segments * per_segment, bucket_shift, max_prime);
        let bytes_of = |k: u64| (total_bytes - k * seg_bytes as u64).min(seg_bytes as u64) as usize;
        let seg_words = seg_bytes / 8;
        let slack_words = slack / 8;
        let words = &mut self.buffer[..seg_words + slack_words];
        fill_30(self.presieve, &mut words[..bytes_of(0).div_ceil(8)], start);
        for k in 0..segments {
            let seg_lo = start + k * 30 * seg_bytes as u64;
            let nbytes = bytes_of(k);
            let seg_last =
                (u128::from(seg_lo) + 30 * nbytes as u128 - 1).min(u128::from(hi)) as u64;
            let next_head = if k + 1 < segments {
                bytes_of(k + 1).div_ceil(8).min(slack_words)
            } else {
                0
            };
            if next_head > 0 {
                fill_30(
                    self.presieve,
                    &mut words[seg_words..seg_words + next_head],
                    seg_lo + 30 * seg_bytes as u64,
                );
            }
            // SAFETY: reinterpreting initialised u64 words as bytes (alignment 1, no padding).
            let bytes: &mut [u8] = unsafe {
                std::slice::from_raw_parts_mut(words.as_mut_ptr().cast::<u8>(), 8 * words.len())
            };
            loop {
                let (run, quotients) = source.run_squared_up_to(seg_last, seg_lo);
                if run.is_empty() {
                    break;
                }
                let split = run.partition_point(|&p| p <= sparse_max);
                let (run, bucket) = run.split_at(split);
                let (quotients, bucket_quotients) = quotients.split_at(split);
                for (&p, &quotient) in bucket.iter().zip(bucket_quotients) {
                    if let Some((n, w)) = first_multiple_2310_above(p, quotient, hi) {
                        let byte = (n - seg_lo) / 30;
                        self.buckets.insert(
                            (p / 30) as u32,
                            k * per_segment + (byte >> bucket_shift),
                            byte & (bucket_bytes as u64 - 1),
                            bit_of(p % 30) * 480 + w,
                        );
                    }
                }
                for (&p, &quotient) in run.iter().zip(quotients) {
                    let Some((n, w)) = first_multiple_above(p, quotient, hi) else {
                        continue;
                    };
                    if p > medium_max {
                        self.sparse.insert(p, (n - seg_lo) / 30, w);
                        continue;
                    }
                    // The turn that holds `n` (its first multiple `p m` has `m ≡ 1 mod 30`). Its hits
                    // before `n` are composite (`m > 1`, as `p > 30`); one that starts before the
                    // segment has its hits there skipped, and ends less than `p` bytes into it.
                    let (a, c) = ((p / 30) as usize, bit_of(p % 30));
                    let back = (RESIDUES[w] as usize - 1) * a + TURN_CARRY[c][w];
                    let start = ((n - seg_lo) / 30) as isize - back as isize;
                    if p > slack as u64 {
                        // `cross_off_bounded` skips the hits before the segment.
                        self.medium.push(p, start as i32 as u32 as usize);
                        continue;
                    }
                    let b = if start >= 0 {
                        start as usize
                    } else {
                        // Its hits lie below `start + p < p`.
                        assert!(p as usize + 8 <= bytes.len());
                        let ptr = bytes.as_mut_ptr();
                        // SAFETY: writes below `p + 8 <= bytes.len()` only (asserted just above);
                        // `bytes` is only used through `ptr` here.
                        unsafe {
                            let stop = p as usize;
                            match c {
                                0 => partial_turn::<0>(ptr, stop, a, start),
                                1 => partial_turn::<1>(ptr, stop, a, start),
                                2 => partial_turn::<2>(ptr, stop, a, start),
                                3 => partial_turn::<3>(ptr, stop, a, start),
                                4 => partial_turn::<4>(ptr, stop, a, start),
                                5 => partial_turn::<5>(ptr, stop, a, start),
                                6 => partial_turn::<6>(ptr, stop, a, start),
                                _ => partial_turn::<7>(ptr, stop, a, start),
                            }
                        }
                        (start + p as isize) as usize
                    };
                    if p <= small_max {
                        self.small.push(p, b);
                    } else {
                        self.medium.push(p, b);
                    }
                }
            }
            let shift = if k + 1 < segments { seg_bytes } else { 0 };
            let mut chunk_end = 0;
            while chunk_end < nbytes {
                chunk_end = (chunk_end + l1_bytes).min(nbytes);
                let moved = if chunk_end == nbytes { shift } else { 0 };
                self.small.cross_off(bytes, chunk_end, moved);
            }
            self.medium.cross_off_bounded(bytes, nbytes, slack, shift);
            self.sparse.sieve_segment(&mut bytes[..seg_bytes]);
            for (j, part) in bytes[..seg_bytes]
                .chunks_exact_mut(bucket_bytes)
                .enumerate()
            {
                self.buckets.sieve_segment(k * per_segment + j as u64, part);
            }

            let seg = &mut bytes[..nbytes];
            if k == 0 {
                // Numbers below lo.
                for (j, byte) in seg.iter_mut().enumerate() {
                    let base = seg_lo + 30 * j as u64;
                    if base >= lo {
                        break;
                    }
                    for (bit, &r) in RESIDUES.iter().enumerate() {
                        if r < lo - base {
                            *byte &= !(1 << bit);
                        }
                    }
                }
            }
            if k + 1 == segments {
                // Numbers above hi, in the last byte.
                let base = u128::from(seg_lo) + 30 * (nbytes as u128 - 1);
                for (bit, &r) in RESIDUES.iter().enumerate() {
                    if base + u128::from(r) > u128::from(hi) {
                        seg[nbytes - 1] &= !(1 << bit);
                    }
                }
            }
            f(seg_lo, seg);

            if k + 1 < segments {
                let next_words = bytes_of(k + 1).div_ceil(8);
                words.copy_within(seg_words..seg_words + next_head, 0);
                if next_head < next_words {
                    fill_30(
                        self.presieve,
                        &mut words[next_head..next_words],
                        seg_lo + 30 * seg_bytes as u64 + 240 * next_head as u64,
                    );
                }
            }
        }
        source.give_back(&mut self.generator);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oracle;

    fn check(config: SieveConfig, lo: u64, hi: u64) {
        let primes = SievingPrimes::for_hi(hi);
        let got = Sieve30::new(config).count(&primes, lo, hi);
        let want = oracle::primes_between(lo, hi).len() as u64;
        assert_eq!(got, want, "[{lo}, {hi}] {config:?}");
    }

    /// Every state of the bucket wheel against the multiples it stands for: the byte advance
    /// from `p m` to `p m'` (`m'` the next multiplier coprime to 2310), the bit of `p m`, the
    /// next state, and the ring's bound on one hit's advance.
    #[test]
    fn bucket_wheel_steps_match_the_multiples() {
        for c in 0..8 {
            for w in 0..480 {
                let step = BUCKET_WHEEL[c * 480 + w];
                assert_eq!(step.next >> OFFSET_BITS, (c * 480 + (w + 1) % 480) as u32);
                let m = u64::from(RESIDUES_2310[w]);
                let m_next =
                    u64::from(RESIDUES_2310[(w + 1) % 480]) + if w == 479 { 2310 } else { 0 };
                for a in [0u64, 1, 2, 7, 123_456, 143_165_576] {
                    let p = 30 * a + RESIDUES[c];
                    for turn in [0u64, 1, 5] {
                        let (from, to) = (p * (m + 2310 * turn), p * (m_next + 2310 * turn));
                        let advance = to / 30 - from / 30;
                        assert_eq!(advance, u64::from(step.gap) * a + u64::from(step.carry));
                        assert!(advance <= MAX_GAP_2310 * (a + 1));
                        assert_eq!(step.mask, !(1u8 << bit_of(from % 30)), "c={c} w={w}");
                    }
                }
            }
        }
    }

    /// Segments over `2^OFFSET_BITS` bytes (a user's choice) are several bucket segments each.
    /// 2 and 8 MiB segments with bucket primes: short intervals across the bucket segments'
    /// edges against a plain sieve of the interval, and about 19 bucket segments each (the ring,
    /// of 4 and 16 lists, wraps; the 8 MiB segments run into a third) against the odd-only
    /// kernel's count.
    #[test]
    fn large_segments_sieve_their_bucket_primes_in_parts() {
        for (segment, lo, short, long) in [
            (
                2usize << 20,
                20_000_000_000_000u64,
                70_000_000u64,
                600_000_000u64,
            ),
            (8 << 20, 300_000_000_000_000, 40_000_000, 600_000_000),
        ] {
            let config = SieveConfig::new(32 << 10, segment);
            assert!(config.segment_bytes() > 1 << OFFSET_BITS);
            // Bucket primes: above twice the segment's bytes.
            assert!(lo.isqrt() > 2 * segment as u64);
            let hi = lo + short;
            let base = oracle::plain_sieve(hi.isqrt());
            let want = oracle::sieve_interval(&base, lo, hi).len() as u64;
            let got = Sieve30::new(config).count(&SievingPrimes::for_hi(hi), lo, hi);
            assert_eq!(got, want, "[{lo}, {hi}] {config:?}");
            let hi = lo + long;
            let primes = SievingPrimes::for_hi(hi);
            let mut want = 0;
            crate::Sieve::new(SieveConfig::default()).for_each_window(&primes, lo, hi, |w| {
                want += w
                    .words()
                    .iter()
                    .map(|x| u64::from(x.count_ones()))
                    .sum::<u64>();
            });
            let got = Sieve30::new(config).count(&primes, lo, hi);
            assert_eq!(got, want, "[{lo}, {hi}] {config:?}");
        }
    }

    #[test]
    fn counts_match_the_oracle() {
        let tiny = SieveConfig::new(1 << 10, 4 << 10);
        for (lo, hi) in [
            (0, 0),
            (0, 1),
            (0, 2),
            (0, 10),
            (0, 1000),
            (7, 7),
            (167, 167),
            (168, 1000),
            (0, 1 << 20),
            (1 << 20, 3 << 20),
            (999_999_000, 1_000_001_000),
            (1 << 40, (1 << 40) + (1 << 20)),
            (u64::MAX - 2_000_000, u64::MAX),
            (u64::MAX, u64::MAX),
        ] {
            check(tiny, lo, hi);
            check(SieveConfig::default(), lo, hi);
        }
    }
}
