//! Crossing off for sieving primes with many multiples per segment: a modulo-30 wheel loop whose
//! whole turns are unrolled with constant masks.
//!
//! Used three times by [`crate::Sieve`], as three [`TurnPrimes`]: for the small primes one L1-sized
//! chunk of the segment at a time (so nearly every write hits L1), for the lower medium primes two
//! chunks at a time, and for the medium primes over the whole segment at once.
//!
//! # Whole turns only, thanks to the slack
//! Every prime here rests at wheel index 0, the start of a turn (one that has just joined takes
//! single steps there as it joins). A call crosses off every turn that
//! *starts* below `stop`, so a turn's last hits may land up to `14p` bits past `stop`: past the L1
//! chunk (harmless, same segment) or past the segment into the slack behind it, which
//! [`crate::Sieve`] pre-sieves ahead with the next segment and then moves to the front. Splitting
//! turns at chunk and segment ends would instead cost a few single steps and two or three
//! mispredicted loop exits per prime and chunk, about as much again as the turns themselves.
//!
//! # Constant masks
//! One wheel turn from a multiple `i` (bit index, wheel index 0) hits `i + D[k] * p` for
//! `D = [0, 3, 5, 6, 8, 9, 11, 14]`. Write `p = 8q + c` and `i = 8b + r`; then hit `k` is bit
//! `(r + D[k] c) % 8` of byte `b + D[k] q + (r + D[k] c) / 8`. For a given class `c = p mod 8` and
//! starting bit `r` the masks and the small byte carries are constants, so with the eight offsets
//! `D[k] q` held in registers each hit is one `and byte [ptr + offset], imm8`. A turn moves `b` by
//! `15 q + (r + 15 c) / 8` and `r` to `(r + 15 c) % 8`, so eight turns return to the starting `r`.
//! The 32 combinations of `c` and starting `r` each get their own copy of the turn loop (inlined
//! into [`cross_list`]), an unrolled loop of eight turns. On big-endian targets the byte view of the words differs, and a
//! portable loop over `u64` words is used instead.

use crate::pool::{BlockLists, Entry};
use crate::wheel::{STEP, TURN};

/// A sieving prime and where its next multiple falls.
#[derive(Clone, Copy, Debug)]
pub(crate) struct WheelPrime {
    /// The prime, `> 167`.
    pub prime: u32,
    /// Bit index of its next multiple, relative to the current segment's first bit.
    pub next: u32,
    /// Wheel index of that multiple; [`TurnPrimes::push`] steps the prime to the start of a
    /// turn (wheel index 0).
    pub wheel: u32,
}

#[inline(always)]
fn clear(words: &mut [u64], bit: usize) {
    words[bit / 64] &= !(1u64 << (bit % 64));
}

/// Bit offsets, in units of `p`, of the eight multiples in one wheel turn.
const D: [usize; 8] = [0, 3, 5, 6, 8, 9, 11, 14];

/// Crosses off whole wheel turns for the prime `p = 8q + C` from bit `8b + R0` (wheel index 0)
/// while the turn starts below `stop`; returns the start of the first turn at or after `stop`.
/// Inlined into each copy of [`cross_list`].
///
/// The eight turns inside the loop bring `r` back to `R0`, and in each of them every mask and
/// carry is a constant.
///
/// # Safety
/// `bytes` must be valid for reads and writes of `len >= (stop + 14p).div_ceil(8)` bytes, and no
/// reference to them may be used during the call.
#[inline(always)]
unsafe fn turns<const C: usize, const R0: usize>(
    bytes: *mut u8,
    len: usize,
    stop: usize,
    q: usize,
    mut b: usize,
) -> usize {
    debug_assert!((stop + 14 * (8 * q + C)).div_ceil(8) <= len);
    let offsets = D.map(|d| d * q);
    // One whole turn from bit 8b + r (a constant), or a return if it would start at or after stop.
    macro_rules! turn {
        ($t:literal) => {{
            let r: usize = const { (R0 + $t * 15 * C) % 8 };
            if 8 * b + r >= stop {
                return 8 * b + r;
            }
            macro_rules! hit {
                ($k:literal) => {{
                    let bit: usize = const { (R0 + $t * 15 * C) % 8 + D[$k] * C };
                    debug_assert!(b + offsets[$k] + bit / 8 < len);
                    // SAFETY: the turn starts below `stop` (checked above), so its largest bit,
                    // 8b + r + 14p, lies within the `len` bytes the caller vouches for.
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
            b = opaque(b + 15 * q + (r + 15 * C) / 8);
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

/// Returns `x` unchanged, hidden from the optimiser but kept in a register.
///
/// Applied to the byte index once per turn: otherwise loop-strength reduction keeps 64 running
/// pointers (one per hit of the eight turns) and spills most of them. `black_box` would do the same
/// through a store and a reload on the loop's critical path; an empty `asm!` needs neither.
#[inline(always)]
fn opaque(mut x: usize) -> usize {
    // Miri cannot run inline assembly; `black_box` is just as opaque there.
    #[cfg(all(any(target_arch = "x86_64", target_arch = "aarch64"), not(miri)))]
    // SAFETY: the assembly is empty: it reads and writes nothing and leaves `x` as it was.
    unsafe {
        std::arch::asm!("/* {0} */", inout(reg) x, options(pure, nomem, nostack, preserves_flags));
    }
    #[cfg(any(not(any(target_arch = "x86_64", target_arch = "aarch64")), miri))]
    {
        x = std::hint::black_box(x);
    }
    x
}

/// The 32 copies of a function generic over the class `C = p mod 8` and a starting bit `R0`, as a
/// table indexed by `[p % 8 / 2][bit % 8]`.
macro_rules! copies {
    ($f:ident) => {
        [
            copies!(@row $f, 1),
            copies!(@row $f, 3),
            copies!(@row $f, 5),
            copies!(@row $f, 7),
        ]
    };
    (@row $f:ident, $c:literal) => {
        [
            $f::<$c, 0>,
            $f::<$c, 1>,
            $f::<$c, 2>,
            $f::<$c, 3>,
            $f::<$c, 4>,
            $f::<$c, 5>,
            $f::<$c, 6>,
            $f::<$c, 7>,
        ]
    };
}

/// Crosses off the turns below `stop` of every prime in list `list`, all of class
/// `C = p mod 8` with their next turn starting at a bit `R0 mod 8`, and files each prime into
/// list `next_base + ...` of the next segment, `advance` bits on.
///
/// One call per list rather than per prime: the turn loop is inlined here, so a prime costs no
/// call, no saved registers and no indirect jump (those were a tenth of the time at 10^10, Zen 5).
///
/// # Safety
/// `bytes` must be valid for reads and writes of `len` bytes, `len >= (stop + 14p).div_ceil(8)`
/// for every prime in the list, and no reference to those bytes may be used during the call.
#[inline(never)]
unsafe fn cross_list<const C: usize, const R0: usize>(
    lists: &mut BlockLists<MEDIUM_BLOCK>,
    list: usize,
    next_base: usize,
    (bytes, len): (*mut u8, usize),
    stop: usize,
    advance: usize,
) {
    lists.drain(list, |e| {
        let p = e.prime as usize;
        let mut i = e.packed as usize;
        debug_assert!(p % 8 == C && i % 8 == R0);
        if i < stop {
            // SAFETY: the caller vouches for `len` bytes at `bytes`, enough for this prime's
            // turns from below `stop`; `i` starts a turn (wheel index 0) at bit `8 (i / 8) + R0`.
            i = unsafe { turns::<C, R0>(bytes, len, stop, p / 8, i / 8) };
        }
        Some(refile(next_base, e.prime, i, advance))
    });
}

/// The list after `next_base` and the entry that file `prime`, whose next turn starts at bit `i`
/// of the current segment, for the segment `advance` bits on.
///
/// # Panics
/// If that turn starts before `advance`.
#[inline(always)]
fn refile(next_base: usize, prime: u32, i: usize, advance: usize) -> (usize, Entry) {
    assert!(i >= advance, "a turn left behind in the segment");
    // `advance` is a multiple of 8, so the list (which uses `i % 8`) is the same.
    let i = i - advance;
    (
        TurnPrimes::list(next_base, prime, i),
        Entry {
            prime,
            packed: i as u32,
        },
    )
}

/// Signature shared by the 32 copies of [`cross_list`].
type ListFn =
    unsafe fn(&mut BlockLists<MEDIUM_BLOCK>, usize, usize, (*mut u8, usize), usize, usize);

/// The copies of [`cross_list`], indexed like the lists: `[p % 8 / 2][next % 8]`.
const LISTS: [[ListFn; 8]; 4] = copies!(cross_list);

/// Crosses off the whole wheel turns of `p` from bit `i` (wheel index 0) that start below `stop`;
/// returns the start of the first turn at or after `stop`.
/// The portable loop, on `u64` words: for big-endian targets and `ERATO_FORCE_PORTABLE`.
#[inline(always)]
fn cross_whole_turns(words: &mut [u64], stop: usize, p: usize, mut i: usize) -> usize {
    debug_assert!(stop + 14 * p < words.len() * 64);
    while i < stop {
        for d in D {
            clear(words, i + d * p);
        }
        i += TURN * p;
    }
    i
}

/// Entries per block of a [`TurnPrimes`]' lists: 1 KiB, so that the 64 partly filled blocks stay
/// small beside the entries even when the primes are few (three of them per sieve: 192 KiB at
/// most). 512 B blocks measured 3 % slower at 10^10 (Xeon).
const MEDIUM_BLOCK: usize = 128;

/// Primes crossed off by whole wheel turns, sorted by which copy of the turn loop they need next
/// (`p mod 8` and the bit their next turn starts at).
///
/// A turn loop is entered once per prime and call; with the primes in random order that entry is
/// an indirect call whose target changes from one prime to the next, mispredicted most of the time.
/// Sorted, each list is crossed off by one copy of the loop ([`cross_list`], the turn loop inlined:
/// no call per prime), and every prime is filed into the list of its next start as it leaves
/// (primesieve's `EratMedium` sorts by wheel index for the same reason).
/// A prime that joins takes its single steps to the start of a turn at once ([`Self::push`]), so
/// every prime here rests at a turn's start.
///
/// The lists are chains of blocks from a pool ([`BlockLists`]): list `cur + (p % 8 / 2) * 8 +
/// next % 8` holds `prime` and, in `packed`, `next`, the bit its next turn starts at relative to
/// the current segment; the other 32 lists fill as these are emptied.
pub(crate) struct TurnPrimes {
    lists: BlockLists<MEDIUM_BLOCK>,
    /// 0 or 32: the first of the current segment's lists.
    cur: usize,
    max_prime: usize,
}

impl TurnPrimes {
    pub(crate) fn new() -> Self {
        let mut lists = BlockLists::new();
        lists.reset(64);
        Self {
            lists,
            cur: 0,
            max_prime: 0,
        }
    }

    /// Forgets every prime (keeping the pool).
    pub(crate) fn clear(&mut self) {
        self.lists.reset(64);
        self.cur = 0;
        self.max_prime = 0;
    }

    /// The list, after `base`, of a prime whose next turn starts at bit `next`.
    #[inline(always)]
    fn list(base: usize, prime: u32, next: usize) -> usize {
        base + (prime as usize % 8 / 2) * 8 + next % 8
    }

    /// Adds a prime whose next multiple lies in the current segment: crosses off its multiples up
    /// to the start of its next wheel turn (at most seven single steps, less than `12p` bits, so
    /// within the segment and the slack behind it when `p` is at most 1/16 of the segment's bits)
    /// and files it there.
    ///
    /// # Panics
    /// If those steps would run past `words`.
    pub(crate) fn push(&mut self, words: &mut [u64], wp: WheelPrime) {
        let p = wp.prime as usize;
        let mut i = wp.next as usize;
        let mut w = wp.wheel as usize;
        while w != 0 {
            clear(words, i);
            i += STEP[w] * p;
            w = (w + 1) % 8;
        }
        self.max_prime = self.max_prime.max(p);
        self.lists.push(
            Self::list(self.cur, wp.prime, i),
            Entry {
                prime: wp.prime,
                packed: i as u32,
            },
        );
    }

    /// Crosses off, for every prime, each wheel turn that starts below `stop`, and files each
    /// prime for the next segment, `advance` bits on (a multiple of 8: the segment's bit count, or
    /// 0 after an interval's last segment).
    ///
    /// # Panics
    /// If a turn could reach past `words`: `stop + 14p` must fit for every prime; or if a prime's
    /// next turn starts before `advance`.
    pub(crate) fn cross_off(&mut self, words: &mut [u64], stop: usize, advance: usize) {
        assert!(
            stop + 14 * self.max_prime < words.len() * 64,
            "a wheel turn from {stop} would overrun the segment"
        );
        debug_assert!(advance.is_multiple_of(8));
        let (cur, next) = (self.cur, 32 - self.cur);
        if cfg!(target_endian = "little") && !crate::cpu::portable_forced() {
            let view = (words.as_mut_ptr().cast::<u8>(), 8 * words.len());
            for index in 0..32 {
                // SAFETY: `view` is the `8 * words.len()` bytes of `words` (u8 has no alignment or
                // validity requirements), more than `(stop + 14p).div_ceil(8)` for every prime
                // here (asserted above); on little-endian targets byte j holds bits 8j..8j+8, as
                // the turn loop assumes; list `cur + index` holds primes of class `index / 8`
                // resting at bit `index % 8` mod 8 (`Self::list`), the copy picked here; `words`
                // is not used otherwise during the call.
                unsafe {
                    LISTS[index / 8][index % 8](
                        &mut self.lists,
                        cur + index,
                        next,
                        view,
                        stop,
                        advance,
                    )
                };
            }
            self.cur = next;
            return;
        }
        for index in 0..32 {
            self.lists.drain(cur + index, |e| {
                let p = e.prime as usize;
                let mut i = e.packed as usize;
                debug_assert_eq!(Self::list(0, e.prime, i), index);
                if i < stop {
                    i = cross_whole_turns(words, stop, p, i);
                }
                Some(refile(next, e.prime, i, advance))
            });
        }
        self.cur = next;
    }
}
