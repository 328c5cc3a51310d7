//! Crossing off for sieving primes with many multiples per segment: wheel loops whose whole turns
//! are unrolled with constant masks.
//!
//! Used three times by [`crate::Sieve`], as three [`TurnPrimes`]: for the small primes on the
//! modulo-210 wheel, one L1-sized chunk of the segment at a time (so nearly every write hits L1);
//! for the lower medium primes two chunks at a time and for the medium primes over the whole
//! segment at once, both on the modulo-30 wheel.
//!
//! # Whole turns only, thanks to the slack
//! Every prime here rests at the start of a turn (one that has just joined takes single steps
//! there as it joins): a multiple `p m` with `m ≡ 7 (mod 30)` on the modulo-30 wheel (wheel index
//! 1), `m ≡ 1 (mod 210)` on the modulo-210 one (index 0). A call crosses off every turn that
//! *starts* below `stop`, so a turn's last hits may land up to `12p` bits (`104p` on the
//! modulo-210 wheel) past `stop`. (A modulo-30 turn from `m ≡ 1` would reach `14p`: the wheel's
//! widest gaps, 6 between residues, are the ones before 7 and before 29, and a turn that starts
//! right after one leaves it for its end; 64 KiB less slack behind a 512 KiB segment.) Past the L1
//! chunk (harmless, same segment) or past the segment into the slack behind it, which
//! [`crate::Sieve`] pre-sieves ahead with the next segment and then moves to the front. Splitting
//! turns at chunk and segment ends would instead cost a few single steps and two or three
//! mispredicted loop exits per prime and chunk, about as much again as the turns themselves.
//!
//! # Constant masks
//! One modulo-30 wheel turn from a multiple `i` (bit index, wheel index 1) hits `i + D30[k] * p`
//! for `D30 = [0, 2, 3, 5, 6, 8, 11, 12]`. Write `p = 8q + c` and `i = 8b + r`; then hit `k` is
//! bit `(r + D30[k] c) % 8` of byte `b + D30[k] q + (r + D30[k] c) / 8`. For a given class
//! `c = p mod 8` and starting bit `r` the masks and the small byte carries are constants, so with
//! the eight offsets `D30[k] q` held in registers each hit is one `and byte [ptr + offset], imm8`.
//! A turn moves `b` by `15 q + (r + 15 c) / 8` and `r` to `(r + 15 c) % 8`, so eight turns return
//! to the starting `r`.
//! The 32 combinations of `c` and starting `r` each get their own copy of the turn loop (inlined
//! into [`cross_list`]), an unrolled loop of eight turns. On big-endian targets the byte view of the words differs, and a
//! portable loop over `u64` words is used instead.
//!
//! A modulo-210 turn ([`turns_210`]) is seven modulo-30 turns (from `m ≡ 1`, offsets [`D`]) less
//! the eight hits `p m` with `7 | m`, which are known at compile time: constant masks, 48 hits
//! where seven modulo-30 turns make 56. Its copies are one per class `c`, each turn ending in a
//! jump to the turn of the next `r` (always the same target, so predicted).

use crate::pool::{BlockLists, Entry};
use crate::wheel::{RESIDUES, RESIDUES_210, STEP, STEP_210, TURN};

/// A sieving prime and where its next multiple falls.
#[derive(Clone, Copy, Debug)]
pub(crate) struct WheelPrime {
    /// The prime, `> 167`.
    pub prime: u32,
    /// Bit index of its next multiple, relative to the current segment's first bit.
    pub next: u32,
    /// Wheel index of that multiple; [`TurnPrimes::push`] steps the prime to the start of a
    /// turn (wheel index [`TURN_START`] on the modulo-30 wheel, 0 on the modulo-210 one).
    pub wheel: u32,
}

#[inline(always)]
fn clear(words: &mut [u64], bit: usize) {
    words[bit / 64] &= !(1u64 << (bit % 64));
}

/// Bit offsets, in units of `p`, of the eight multiples in one modulo-30 wheel turn from a
/// multiple `p m` with `m ≡ 1 (mod 30)`: `(r - 1) / 2` for the residues `r` ([`RESIDUES`]). The
/// modulo-210 turns are made of these.
const D: [usize; 8] = [0, 3, 5, 6, 8, 9, 11, 14];

/// Bit offsets, in units of `p`, of the eight multiples in one modulo-30 wheel turn from a
/// multiple `p m` with `m ≡ 7 (mod 30)` ([`TURN_START`]): `(r - 7) / 2` for the residues
/// `r = 7, 11, ..., 29, 31`. Such a turn reaches `12p` bits past its start, one from `m ≡ 1`
/// reaches `14p` ([`D`]).
const D30: [usize; 8] = {
    let mut table = [0usize; 8];
    let mut k = 0;
    while k < 8 {
        let w = TURN_START + k;
        // The residues past 29 are those of the next turn of 30: 31 = 1 + 30.
        let r = RESIDUES[w % 8] + if w >= 8 { 30 } else { 0 };
        table[k] = ((r - RESIDUES[TURN_START]) / 2) as usize;
        k += 1;
    }
    table
};

/// The wheel index ([`RESIDUES`]) at which the modulo-30 turns start: residue 7.
const TURN_START: usize = 1;

/// How far, in units of `p` bits, the last hit of a modulo-30 turn lies past its start: `D30[7]`.
pub(crate) const REACH_30: usize = D30[7];

/// Crosses off whole wheel turns for the prime `p = 8q + C` from bit `8b + R0` (wheel index
/// [`TURN_START`]) while the turn starts below `stop`; returns the start of the first turn at or
/// after `stop`.
/// Inlined into each copy of [`cross_list`].
///
/// The eight turns inside the loop bring `r` back to `R0`, and in each of them every mask and
/// carry is a constant.
///
/// # Safety
/// `bytes` must be valid for reads and writes of `len >= (stop + 12p).div_ceil(8)` bytes, and no
/// reference to them may be used during the call.
#[inline(always)]
unsafe fn turns<const C: usize, const R0: usize>(
    bytes: *mut u8,
    len: usize,
    stop: usize,
    q: usize,
    mut b: usize,
) -> usize {
    debug_assert!((stop + REACH_30 * (8 * q + C)).div_ceil(8) <= len);
    let offsets = D30.map(|d| d * q);
    // One whole turn from bit 8b + r (a constant), or a return if it would start at or after stop.
    macro_rules! turn {
        ($t:literal) => {{
            let r: usize = const { (R0 + $t * 15 * C) % 8 };
            if 8 * b + r >= stop {
                return 8 * b + r;
            }
            macro_rules! hit {
                ($k:literal) => {{
                    let bit: usize = const { (R0 + $t * 15 * C) % 8 + D30[$k] * C };
                    debug_assert!(b + offsets[$k] + bit / 8 < len);
                    // SAFETY: the turn starts below `stop` (checked above), so its largest bit,
                    // 8b + r + 12p, lies within the `len` bytes the caller vouches for.
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

/// Bit offsets, in units of `p`, of the 48 multiples in one turn of the modulo-210 wheel
/// (`105p` bits): `(m - 1) / 2` for the residues `m` coprime to 210.
const D210: [usize; 48] = {
    let mut table = [0usize; 48];
    let mut k = 0;
    while k < 48 {
        table[k] = ((RESIDUES_210[k] - 1) / 2) as usize;
        k += 1;
    }
    table
};

/// How far, in units of `p` bits, the last hit of a modulo-210 turn lies past its start:
/// `D210[47]`, 104.
pub(crate) const REACH_210: usize = D210[47];

/// [`turns`] on the modulo-210 wheel: crosses off whole turns of `105p` bits, 48 hits each, for
/// the prime `p = 8q + C` from bit `8b + r` (wheel index 0) while the turn starts below `stop`;
/// returns the start of the first turn at or after `stop`.
///
/// A modulo-210 turn is seven modulo-30 turns (`15p` bits each) without the eight multiples
/// `p m` with `7 | m`: the hits of sub-turn `j` lie at the modulo-30 offsets `D` from its start
/// `8 (b + 15 j q) + r + 15 j C`, and the skipped ones are the `(j, k)` with
/// `30 j + RESIDUES[k] ≡ 0 (mod 7)`, known at compile time. So the eight offsets `D[k] q` stay
/// in registers as in [`turns`], the sub-turn's byte moves by `15q`, and every mask and byte carry
/// is a constant for a given `r`. A turn moves `r` by `105 C ≡ C (mod 8)`: each of the eight
/// turn bodies (one per `r`) ends in a jump to the body of the next `r`, always the same one.
/// Unrolling eight turns per starting `r` instead, as [`turns`] does, makes 32 copies of 3.5 KB
/// and measured no faster.
///
/// # Safety
/// `bytes` must be valid for reads and writes of `len >= (stop + 104p).div_ceil(8)` bytes, and no
/// reference to them may be used during the call; `r < 8`.
// The byte carry `(r + 105 C) / 8` with `r = 7` looks like a `div_ceil` to clippy; it is not one.
#[allow(clippy::manual_div_ceil)]
#[inline(always)]
unsafe fn turns_210<const C: usize>(
    bytes: *mut u8,
    len: usize,
    stop: usize,
    q: usize,
    mut b: usize,
    mut r: usize,
) -> usize {
    debug_assert!((stop + REACH_210 * (8 * q + C)).div_ceil(8) <= len);
    let offsets = D.map(|d| d * q);
    let sub = 15 * q;
    // One whole turn from bit 8b + R (a constant), or a return if it would start at or after stop;
    // sets r to the next turn's starting bit.
    macro_rules! turn {
        ($r:literal) => {{
            if 8 * b + $r >= stop {
                return 8 * b + $r;
            }
            let mut s = b;
            macro_rules! hit {
                ($j:literal, $k:literal) => {{
                    if const { (30 * $j + RESIDUES[$k]) % 7 != 0 } {
                        let bit: usize = const { $r + (15 * $j + D[$k]) * C };
                        debug_assert!(s + offsets[$k] + bit / 8 < len);
                        // SAFETY: the turn starts below `stop` (checked above), so its largest
                        // bit, 8b + r + 104p, lies within the `len` bytes the caller vouches for.
                        unsafe { *bytes.add(s + offsets[$k] + bit / 8) &= !(1u8 << (bit % 8)) };
                    }
                }};
            }
            macro_rules! sub_turn {
                ($j:literal) => {{
                    hit!($j, 0);
                    hit!($j, 1);
                    hit!($j, 2);
                    hit!($j, 3);
                    hit!($j, 4);
                    hit!($j, 5);
                    hit!($j, 6);
                    hit!($j, 7);
                    s = opaque(s + sub);
                }};
            }
            sub_turn!(0);
            sub_turn!(1);
            sub_turn!(2);
            sub_turn!(3);
            sub_turn!(4);
            sub_turn!(5);
            sub_turn!(6);
            b = opaque(s + ($r + 105 * C) / 8);
            r = const { ($r + 105 * C) % 8 };
        }};
    }
    loop {
        match r {
            0 => turn!(0),
            1 => turn!(1),
            2 => turn!(2),
            3 => turn!(3),
            4 => turn!(4),
            5 => turn!(5),
            6 => turn!(6),
            _ => turn!(7),
        }
    }
}

/// Returns `x` unchanged, hidden from the optimiser but kept in a register.
///
/// Applied to the byte index once per turn: otherwise loop-strength reduction keeps 64 running
/// pointers (one per hit of the eight turns) and spills most of them. `black_box` would do the same
/// through a store and a reload on the loop's critical path; an empty `asm!` needs neither.
#[inline(always)]
pub(crate) fn opaque(mut x: usize) -> usize {
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
/// `bytes` must be valid for reads and writes of `len` bytes, `len >= (stop + 12p).div_ceil(8)`
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
    drain_turns(lists, list, (next_base, stop, advance), |p, i| {
        // SAFETY: the caller vouches for `len` bytes at `bytes`, enough for this prime's turns
        // from below `stop`; `i` starts a turn (wheel index TURN_START) at bit `8 (i / 8) + R0`.
        unsafe { turns::<C, R0>(bytes, len, stop, p / 8, i / 8) }
    });
}

/// [`cross_list`] on the modulo-210 wheel: crosses off the turns below `stop` of every prime in
/// list `list`, all of class `C = p mod 8`, and files each prime into list `next_base + ...` of
/// the next segment, `advance` bits on. The lists keep the primes sorted by the bit their turns
/// start at too, so that the jump to the first turn's body goes to one target for a whole list.
///
/// # Safety
/// `bytes` must be valid for reads and writes of `len` bytes, `len >= (stop + 104p).div_ceil(8)`
/// for every prime in the list, and no reference to those bytes may be used during the call.
#[inline(never)]
unsafe fn cross_list_210<const C: usize>(
    lists: &mut BlockLists<MEDIUM_BLOCK>,
    list: usize,
    next_base: usize,
    (bytes, len): (*mut u8, usize),
    stop: usize,
    advance: usize,
) {
    drain_turns(lists, list, (next_base, stop, advance), |p, i| {
        // SAFETY: the caller vouches for `len` bytes at `bytes`, enough for this prime's turns
        // from below `stop`; `i` starts a turn (wheel index 0).
        unsafe { turns_210::<C>(bytes, len, stop, p / 8, i / 8, i % 8) }
    });
}

/// Empties list `list`: for each prime, `cross(p, i)` crosses off its turns from `i` (its next
/// turn's start) that start below `stop` and returns the start of the first one at or after it
/// (it is called only when `i < stop`); the prime is then filed for the segment `advance` bits on
/// ([`refile`], lists after `next_base`). Shared by every copy of the turn loop and the portable
/// path, and inlined into each.
#[inline(always)]
fn drain_turns(
    lists: &mut BlockLists<MEDIUM_BLOCK>,
    list: usize,
    (next_base, stop, advance): (usize, usize, usize),
    mut cross: impl FnMut(usize, usize) -> usize,
) {
    lists.drain(list, |e| {
        let mut i = e.packed as usize;
        // The list is the one `TurnPrimes::list` files it in: class `p mod 8` and `i mod 8`,
        // which the copy of the turn loop that `cross` runs takes as constants.
        debug_assert_eq!(TurnPrimes::list(0, e.prime, i), list % 32);
        if i < stop {
            i = cross(e.prime as usize, i);
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

/// Signature shared by the 32 copies of [`cross_list`] and the 4 of [`cross_list_210`].
type ListFn =
    unsafe fn(&mut BlockLists<MEDIUM_BLOCK>, usize, usize, (*mut u8, usize), usize, usize);

/// The copies of [`cross_list`], indexed like the lists: `[p % 8 / 2][next % 8]`.
const LISTS: [[ListFn; 8]; 4] = copies!(cross_list);

/// The copies of [`cross_list_210`], indexed like [`LISTS`].
const LISTS_210: [ListFn; 4] = [
    cross_list_210::<1>,
    cross_list_210::<3>,
    cross_list_210::<5>,
    cross_list_210::<7>,
];

/// Crosses off the whole wheel turns of `p` from bit `i` (a turn's start) that start below `stop`;
/// returns the start of the first turn at or after `stop`. `offsets` are the turn's hits in units
/// of `p` ([`D30`] or [`D210`]), `turn` its length in units of `p` (15 or 105).
/// The portable loop, on `u64` words: for big-endian targets and `ERATO_FORCE_PORTABLE`.
#[inline(always)]
fn cross_whole_turns(
    words: &mut [u64],
    stop: usize,
    p: usize,
    mut i: usize,
    (offsets, turn): (&[usize], usize),
) -> usize {
    debug_assert!(stop + offsets[offsets.len() - 1] * p < words.len() * 64);
    while i < stop {
        for d in offsets {
            clear(words, i + d * p);
        }
        i += turn * p;
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
    /// Whether the turns are those of the modulo-210 wheel ([`turns_210`]) rather than the
    /// modulo-30 one ([`turns`]); [`WheelPrime::wheel`] is then an index into `RESIDUES_210`.
    mod210: bool,
}

impl TurnPrimes {
    /// Primes crossed off by turns of the modulo-30 wheel (`15p` bits, reaching `12p` past
    /// their start).
    pub(crate) fn new() -> Self {
        let mut lists = BlockLists::new();
        lists.reset(64);
        Self {
            lists,
            cur: 0,
            max_prime: 0,
            mod210: false,
        }
    }

    /// Primes crossed off by turns of the modulo-210 wheel (`105p` bits, reaching `104p` past
    /// their start): 48 hits where the modulo-30 wheel makes 56.
    pub(crate) fn new_210() -> Self {
        Self {
            mod210: true,
            ..Self::new()
        }
    }

    /// How far, in units of `p`, a turn's last hit lies past its start: 12 or 104.
    pub(crate) fn reach(&self) -> usize {
        if self.mod210 {
            REACH_210
        } else {
            REACH_30
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
    /// to the start of its next wheel turn (at most seven single steps, whose writes reach at most
    /// `10p` bits on, or 47 on the modulo-210 wheel, less than `105p` bits: within the segment and
    /// the slack behind it for the primes [`crate::Sieve`] files here) and files it there (at
    /// most `13p` bits on, or `105p`). `wp.wheel` indexes the
    /// residues of this list's wheel.
    ///
    /// # Panics
    /// If those steps would run past `words`.
    pub(crate) fn push(&mut self, words: &mut [u64], wp: WheelPrime) {
        let p = wp.prime as usize;
        let mut i = wp.next as usize;
        let mut w = wp.wheel as usize;
        if self.mod210 {
            while w != 0 {
                clear(words, i);
                i += usize::from(STEP_210[w]) * p;
                w = (w + 1) % 48;
            }
        } else {
            while w != TURN_START {
                clear(words, i);
                i += STEP[w] * p;
                w = (w + 1) % 8;
            }
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
    /// If a turn could reach past `words`: `stop + reach * p` ([`Self::reach`]) must fit for every
    /// prime; or if a prime's
    /// next turn starts before `advance`.
    pub(crate) fn cross_off(&mut self, words: &mut [u64], stop: usize, advance: usize) {
        assert!(
            stop + self.reach() * self.max_prime < words.len() * 64,
            "a wheel turn from {stop} would overrun the segment"
        );
        debug_assert!(advance.is_multiple_of(8));
        let (cur, next) = (self.cur, 32 - self.cur);
        if cfg!(target_endian = "little") && !crate::cpu::portable_forced() {
            let view = (words.as_mut_ptr().cast::<u8>(), 8 * words.len());
            for index in 0..32 {
                let copy = if self.mod210 {
                    LISTS_210[index / 8]
                } else {
                    LISTS[index / 8][index % 8]
                };
                // SAFETY: `view` is the `8 * words.len()` bytes of `words` (u8 has no alignment or
                // validity requirements), more than `(stop + reach * p).div_ceil(8)` for every
                // prime here (asserted above); on little-endian targets byte j holds bits
                // 8j..8j+8, as the turn loop assumes; list `cur + index` holds primes of class
                // `index / 8` resting at bit `index % 8` mod 8 (`Self::list`), those the copy
                // picked here is for (a modulo-30 copy takes that bit as a constant, a
                // modulo-210 one from each entry); `words` is not used otherwise during the call.
                unsafe { copy(&mut self.lists, cur + index, next, view, stop, advance) };
            }
            self.cur = next;
            return;
        }
        let wheel = if self.mod210 {
            (&D210[..], 105)
        } else {
            (&D30[..], TURN)
        };
        for index in 0..32 {
            drain_turns(
                &mut self.lists,
                cur + index,
                (next, stop, advance),
                |p, i| cross_whole_turns(words, stop, p, i, wheel),
            );
        }
        self.cur = next;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wheel::{first_multiple, first_multiple_210};

    #[test]
    fn a_modulo_30_turn_from_residue_7_reaches_12p() {
        // The residues 7, 11, 13, 17, 19, 23, 29, 31 = 1 + 30: bit offsets (r - 7) / 2.
        assert_eq!(D30, [0, 2, 3, 5, 6, 8, 11, 12]);
        assert_eq!((REACH_30, D[7]), (12, 14));
    }

    #[test]
    fn a_modulo_210_turn_is_seven_modulo_30_turns_without_the_multiples_of_7() {
        let kept: Vec<usize> = (0..7)
            .flat_map(|j| (0..8).map(move |k| (j, k)))
            .filter(|&(j, k)| !(30 * j as u64 + RESIDUES[k]).is_multiple_of(7))
            .map(|(j, k)| 15 * j + D[k])
            .collect();
        assert_eq!(kept, D210);
        assert_eq!(D210[47] + 1, 105);
        assert_eq!(REACH_210, 104);
    }

    /// Pushes `p` with its first multiple at or above `from` into a fresh [`TurnPrimes`], crosses
    /// off below `stop`, and checks the cleared bits (bit `i` is the odd number `2i + 1`): below
    /// `stop` exactly the wheel's multiples from that first one, above it only such multiples.
    fn check(mod210: bool, p: u64, from: u64, stop: usize) {
        let words_len = 1 << 13;
        let mut words = vec![!0u64; words_len];
        let (first, wheel) = if mod210 {
            first_multiple_210(p, from, u64::MAX).unwrap()
        } else {
            first_multiple(p, from, u64::MAX).unwrap()
        };
        let modulus = if mod210 { 210 } else { 30 };
        let mut turns = if mod210 {
            TurnPrimes::new_210()
        } else {
            TurnPrimes::new()
        };
        turns.push(
            &mut words,
            WheelPrime {
                prime: p as u32,
                next: ((first - 1) / 2) as u32,
                wheel: wheel as u32,
            },
        );
        turns.cross_off(&mut words, stop, 0);
        // The wheel's multiples of `p` from `first` on, as cleared bits: `n = p m` for odd `m`
        // coprime to the modulus (stepping over the odd multiples, not testing every bit).
        let mut multiples = vec![!0u64; words_len];
        let mut n = first;
        while n < 128 * words_len as u64 {
            if gcd(n / p, modulus) == 1 {
                let i = ((n - 1) / 2) as usize;
                multiples[i / 64] &= !(1 << (i % 64));
            }
            n += 2 * p;
        }
        for (w, (&got, &want)) in words.iter().zip(&multiples).enumerate() {
            // Bits below `stop`: exactly the multiples; at and above it, only multiples.
            let below = match (stop as u64).saturating_sub(64 * w as u64) {
                0 => 0,
                k if k >= 64 => !0,
                k => (1u64 << k) - 1,
            };
            let i = 64 * w
                + (((got ^ want) & below) | (!got & want & !below)).trailing_zeros() as usize;
            assert_eq!(
                got & below,
                want & below,
                "mod210 {mod210}, p {p}, from {from}, bit {i}"
            );
            assert_eq!(
                !got & want & !below,
                0,
                "mod210 {mod210}, p {p}, stray bit {i}"
            );
        }
    }

    fn gcd(a: u64, b: u64) -> u64 {
        if b == 0 {
            a
        } else {
            gcd(b, a % b)
        }
    }

    #[test]
    fn turns_cross_off_exactly_the_wheel_multiples() {
        // Primes of every class p mod 8, first multiples at every residue m mod 210 (so every
        // wheel index and bit mod 8), and stops inside, at and between turns.
        for p in [173u64, 179, 181, 191, 193, 197, 199, 211, 233, 239] {
            for from in (0..105).map(|k| p * p + 2 * p * k) {
                for mod210 in [false, true] {
                    for stop in [1000usize, 100_000, 300_000] {
                        check(mod210, p, from, stop);
                    }
                }
            }
        }
    }
}
