//! [`Sieve`]: one thread's sieve, tying pre-sieve, small, medium, sparse and bucket crossing together for each
//! segment of an interval.

use std::ops::ControlFlow;

use bitvec::prelude::*;

use crate::base_primes::{Generator, PrimeSource};
use crate::bitmap::{odd_count, OddBitmap};
use crate::bucket::Buckets;
use crate::count::Counts;
use crate::mod30::Sieve30;
use crate::presieve::PreSieve;
use crate::small::{TurnPrimes, WheelPrime, REACH_210, REACH_30};
use crate::sparse::SparsePrimes;
use crate::wheel::{first_multiple_210_above, first_multiple_above};
use crate::SievingPrimes;

/// Cache sizes that shape the sieve. Sizes are in bytes and are normalised by the constructors:
/// both become powers of two, the segment between 4 KiB and 8 MiB (bucket entries hold bit offsets
/// of 26 bits), the L1 chunk at most the segment.
///
/// A configuration made by [`SieveConfig::new`] uses one segment size for every interval; one made
/// by [`SieveConfig::for_caches`] picks it per interval from the work ([`Self::segment_bytes_for`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SieveConfig {
    l1_bytes: usize,
    /// The segment size, or with `adaptive` the largest one.
    segment_bytes: usize,
    adaptive: bool,
}

impl Default for SieveConfig {
    /// 32 KiB L1 data cache and a 512 KiB segment (half of a typical 1 MiB L2), right for most
    /// current x86 and Arm server cores; the driver replaces them with the detected sizes.
    fn default() -> Self {
        Self::new(32 << 10, 512 << 10)
    }
}

/// The largest segment [`SieveConfig::for_caches`] picks, in bytes, however large the L2 cache.
///
/// Past 512 KiB, a segment's medium primes (up to 1/16 of its bits) cross off over a segment and a
/// slack of up to 1.9 MiB, and the fewer visits per prime no longer pay for the L2 misses. Measured
/// with one thread, median of 3, 512 KiB against 1 MiB segments: on an Intel Xeon (Sapphire
/// Rapids, 2 MiB L2) [10^12, +3 x 10^9] 0.52 against 0.56 s, [10^15, +3 x 10^9] 0.93 against
/// 0.98 s, [10^18, +10^9] 1.06 against 1.08 s, [2^64 - 10^10, 2^64 - 1] 8.3 against 8.6 s; on a
/// Zen 5 core (1 MiB L2, where half the L2 is 512 KiB) 1 MiB was slower too (see
/// [`SieveConfig::segment_bytes_for`]).
const MAX_ADAPTIVE_SEGMENT: usize = 512 << 10;

/// `x` rounded down to a power of two (1 for 0).
fn pow2_floor(x: usize) -> usize {
    if x == 0 {
        1
    } else {
        1 << (usize::BITS - 1 - x.leading_zeros())
    }
}

impl SieveConfig {
    /// A configuration for an L1 data cache of `l1_bytes` and segments of `segment_bytes` for every
    /// interval. Values are rounded down to powers of two and clamped (see the type).
    pub fn new(l1_bytes: usize, segment_bytes: usize) -> Self {
        let segment_bytes = pow2_floor(segment_bytes).clamp(4 << 10, 8 << 20);
        let l1_bytes = pow2_floor(l1_bytes).clamp(1 << 10, segment_bytes);
        Self {
            l1_bytes,
            segment_bytes,
            adaptive: false,
        }
    }

    /// A configuration for a thread with `l1_bytes` of L1 data cache and `l2_bytes` of L2 cache
    /// (its share: the driver divides a core's L2 among the hardware threads that share it):
    /// L1-sized chunks for the small primes, and a segment sized from the work of each interval,
    /// at most the L2 size and at most 512 KiB, or the L1 size if that is larger
    /// ([`Self::segment_bytes_for`]).
    ///
    /// The bound is the L2 size, not half of it so that the segment and its slack both fit: that
    /// only matters where the L2 is under 1 MiB, and there the fewer segments paid for the L2
    /// misses. (primesieve's bound is the largest power of two below the L2 and at most 16 L1
    /// caches, 256 KiB on the CPU below: K. Walisch, primesieve `src/api.cpp`.) Measured
    /// on an AMD EPYC (as the VM reports it: family 23 model 1, 32 KiB L1d, 512 KiB L2, AVX2),
    /// one thread, medians of 5 interleaved runs, 512 against 256 KiB: `[10^12, +4 x 10^9]`
    /// 1.00 against 1.17 s, `[10^15, +3 x 10^9]` 1.88 against 2.29 s, `[4 x 10^10, 5 x 10^10]`
    /// 1.80 against 1.91 s (3 runs); `[10^18, +10^9]` 2.40 against 2.37 s and
    /// `[2^64 - 10^9, 2^64 - 1]` 6.31 against 6.17 s (3 runs), where the bucket primes' hits,
    /// which do not depend on the segment's size, are most of the work. Two threads:
    /// `[10^12, +6 x 10^9]` 1.65 against 1.91 s of CPU time, `[10^15, +6 x 10^9]` 4.42 against
    /// 4.80 s.
    pub fn for_caches(l1_bytes: usize, l2_bytes: usize) -> Self {
        let largest = l2_bytes.min(MAX_ADAPTIVE_SEGMENT).max(l1_bytes);
        Self {
            adaptive: true,
            ..Self::new(l1_bytes, largest)
        }
    }

    /// The L1 chunk size in bytes.
    pub fn l1_bytes(&self) -> usize {
        self.l1_bytes
    }

    /// The segment size in bytes (for an adaptive configuration, the largest one).
    pub fn segment_bytes(&self) -> usize {
        self.segment_bytes
    }

    /// The segment size in bytes used for an interval ending at `hi`.
    ///
    /// Adaptive configurations follow primesieve's rule (`sieveBytes = 2 sqrt(stop)`, clamped
    /// between the L1 and L2 sizes; K. Walisch, primesieve `Erat.cpp`) in bytes: `2 sqrt(hi)`
    /// rounded to the nearest power of two by ratio (down from up to `sqrt 2` times it, which
    /// is `2 sqrt(2 hi)` rounded down), at least four L1 chunks. Segments grow with the work:
    /// sieving primes up to `sqrt(hi)` with more multiples per segment cost less per multiple
    /// (fewer bucket visits, fewer loop exits), until the segment and its slack no longer fit the
    /// L2 cache. The rule counts bytes, not numbers (an odd-only byte spans 16 numbers against
    /// primesieve's 30): what has to fit the caches is bytes. Measured on an Intel Xeon (Sapphire
    /// Rapids, 2 MiB L2), one thread, median of 5: `[0, 10^10]` 0.93 s with 128 or 256 KiB,
    /// `[0, 3 x 10^10]` 3.12 s with 256 KiB against 3.17 s with 512 KiB, `[0, 5 x 10^10]` 5.53
    /// against 5.63 s, while `[10^12, +3 x 10^9]` wants 512 KiB (0.50 s, 256 KiB 0.52 s); the
    /// earlier `3.75 sqrt(hi)` (primesieve's span in numbers) picked the larger size in each case.
    /// On a Zen 5 core (1 MiB L2): at `[10^15, 10^15 + 3 x 10^9]` a 512 KiB segment took 0.68 s,
    /// a 1 MiB one 0.79 s; at `[0, 10^10]` 256 KiB 0.71 s, 512 KiB 0.71 s, 1 MiB 0.79 s.
    /// On a Zen 4 core (32 KiB L1d, 1 MiB L2), one thread, interleaved medians: `[0, 10^10]`
    /// 0.99-1.01 s with 128 KiB against 0.96-0.98 s with 256 KiB (three sets of 7 runs; with two
    /// threads the same), `[0, 5 x 10^9]` 465 against 451 ms (where the rule still picks
    /// 128 KiB), `[0, 3 x 10^10]` 3.16 s with 256 KiB, 3.12 s with 512 KiB (5), `[0, 6 x 10^10]`
    /// 6.81 against 6.53 s (3): rounding down, which picked 128 KiB at `10^10`, gave segments
    /// half of primesieve's size or less (its sieve there is 192 KiB, of 30 numbers a byte). The
    /// cost on the Xeon above: from `2^35` (`3.4 x 10^10`) to `6.9 x 10^10` the rule now picks
    /// 512 KiB, and at `5 x 10^10` that was 1.8 % slower there than 256 KiB (at `10^10` the two
    /// were as fast).
    pub fn segment_bytes_for(&self, hi: u64) -> usize {
        if !self.adaptive {
            return self.segment_bytes;
        }
        // sqrt(8 hi) = 2 sqrt(2 hi) < 2^33.5; 8 hi, up to 2^67, is formed in u128.
        let want = usize::try_from((8 * u128::from(hi)).isqrt()).unwrap_or(usize::MAX);
        pow2_floor(want)
            .max(4 * self.l1_bytes)
            .min(self.segment_bytes)
    }

    /// Numbers covered by one segment (for an adaptive configuration, the largest one).
    pub fn segment_span(&self) -> u64 {
        16 * self.segment_bytes as u64
    }
}

/// One sieved segment of an interval, handed to the caller of [`Sieve::for_each_window`].
///
/// Bit `i` of `words` stands for the odd number `first_odd() + 2*i`; bits for numbers outside the
/// interval being sieved are zero.
#[derive(Debug)]
pub struct Window<'a> {
    first_odd: u64,
    words: &'a [u64],
}

impl Window<'_> {
    /// The odd number bit 0 stands for; always `1 mod 128`.
    pub fn first_odd(&self) -> u64 {
        self.first_odd
    }

    /// The sieved words.
    pub fn words(&self) -> &[u64] {
        self.words
    }

    /// Calls `f` with each prime of the window in increasing order (2 is never in a window).
    #[inline]
    pub fn for_each_prime(&self, mut f: impl FnMut(u64)) {
        for (j, &word) in self.words.iter().enumerate() {
            let mut w = word;
            let base = self.first_odd + 128 * j as u64;
            while w != 0 {
                f(base + 2 * u64::from(w.trailing_zeros()));
                w &= w - 1;
            }
        }
    }
}

/// Small sieving primes (from the pre-sieve's bound up) are at most the L1 chunk's bit count over
/// this, and are crossed off one chunk at a time by turns of the modulo-210 wheel: a turn (`105p`
/// bits) spans at most 1.31 chunks, so nearly all their hits land in the L1 cache. The
/// modulo-210 wheel skips the multiples `7m` too, 48 hits per `105p` bits where the modulo-30
/// wheel makes 56 (see the `small` module); its longer turns are why the class stops here. Like the
/// medium ones, they are kept in lists sorted by the copy of the turn loop they need next
/// ([`TurnPrimes`]), so a prime costs no indirect call per chunk.
///
/// Measured on an Intel Xeon (Sapphire Rapids, 48 KiB L1d, 32 KiB chunks, 2 MiB L2), one thread,
/// interleaved runs, against the earlier classes (small primes up to 1/32 of the chunk's bits on
/// the modulo-30 wheel): with the primes up to 1/80 on the modulo-210 wheel and those above on the
/// modulo-30 wheel, still one chunk at a time, [0, 10^9] 76.3 -> 73.6 ms (median of 21); with
/// those above 1/80 moved to the lower medium class instead, crossed off two chunks at a time
/// (fewer visits per prime), 1.8 % less again at 10^9, 2.6 % at 10^10, 1.2 % at
/// [10^12, +3 x 10^9] and 1.4 % at [10^18, +2 x 10^9]. Divisors 60 to 105 measured within 1 %
/// of 80 at 10^9 and 10^10; 40 (turns of 2.6 chunks) was 3.6 % slower at 10^9, and 210 (two turns
/// per chunk) no faster than the modulo-30 wheel. Before the modulo-210 turns: a divisor of 32
/// against 128 with one indirect call per prime and chunk, [0, 10^10] 1.20 -> 0.97 s (16 and 12
/// the same as 32, 64 slower).
const SMALL_DIVISOR: usize = 80;

/// Lower medium sieving primes (above the small ones) are at most the bits of this many L1 chunks
/// over [`MEDIUM_DIVISOR`], and are crossed off that many chunks at a time: at least one wheel turn
/// per pair of chunks, whose hits land near the L1 chunks just sieved rather than all over the
/// segment. Crossing them off over the whole segment, the turn loop's hits cost more the larger the
/// segment (Intel Xeon, 2 MiB L2: a third of the time at 10^10, 8 % more per hit with 512 KiB
/// segments than with 256 KiB). Measured on that Xeon, one thread, median of 3, against no such
/// class: [0, 10^10] 0.99 -> 0.92 s, [10^12, +3 x 10^9] 0.54 -> 0.50 s, [10^15, +3 x 10^9]
/// 0.99 -> 0.92 s; 1, 4 and 8 chunks were slower than 2, and a third class over 6 to 16 chunks
/// gained nothing.
const PAIR_CHUNKS: usize = 2;

/// Medium sieving primes are at most the segment's bit count over this: each makes at least this
/// many wheel turns' worth of bits (`15p`) per segment, and a turn that starts inside the segment
/// runs at most `12p` bits past its end, into the slack.
const MEDIUM_DIVISOR: usize = 16;

/// Bucket sieving primes are at least the segment's bit count over this: at most this many
/// multiples, hence hits, per segment, each one pass of the bucket loop with no per-prime inner
/// loop (see the `bucket` module). primesieve sends primes to its buckets from about a tenth of its
/// segment's span. Measured against a divisor of 1 (every prime below the bit count crossed off by
/// the sparse loop, whose exit is mispredicted about once per prime and segment), 5 interleaved
/// runs, Zen 5: [10^15, +5 x 10^9] 1.27 -> 1.20 s (3: 1.19 s, 6: 1.23 s), [10^18, +5 x 10^9]
/// 2.42 -> 2.33 s, [10^12, +5 x 10^9] unchanged (0.59 s).
const BUCKET_DIVISOR: usize = 4;

/// The largest small prime for L1 chunks of `l1_bits` and segments of `seg_bits`: at most
/// `l1_bits /` [`SMALL_DIVISOR`], and small enough that a turn which starts inside a segment
/// (reaching `104p` bits on) ends before the next segment does, in the slack the next segment's
/// head is pre-sieved into.
fn small_max(l1_bits: usize, seg_bits: usize) -> usize {
    (l1_bits / SMALL_DIVISOR).min(seg_bits / REACH_210)
}

/// Words of slack behind a segment for modulo-30 turns of primes up to `turn_max` and modulo-210
/// turns of primes up to `small_max`: room for the furthest hit of a turn that starts inside the
/// segment, `12p` or `104p` bits past its end; a whole number of cache lines, so that the next
/// segment's rest, pre-sieved behind the head moved from there, starts on a cache line too.
fn slack_words(turn_max: usize, small_max: usize) -> usize {
    ((REACH_30 * turn_max).max(REACH_210 * small_max) / 64 + 1).next_multiple_of(LINE_WORDS)
}

/// Words in a 64-byte cache line (and in an AVX-512 vector). The buffer's segment starts on a
/// line, and so do the slack and the rest of a segment pre-sieved behind its head: the
/// pre-sieve's stores, its reads of the segment and the count's loads never split a line.
/// Measured on an Intel Xeon (Sapphire Rapids), one thread, interleaved runs against the
/// allocator's 16-byte alignment, two sets: [0, 10^9] 0.983 and 0.991 (medians of 9), [0, 10^10]
/// 0.989 and 0.992, [10^12, +10^10] 0.989 (5), [10^15, +10^10] 0.992 (3).
const LINE_WORDS: usize = 8;

/// The largest prime crossed off by whole turns in segments of `seg_bits` bits of an interval
/// ending at `hi`: the medium class's bound, or `sqrt(hi)` when every sieving prime is below it
/// (then the slack, hence the touched memory, shrinks with it: 54 KB less at 10^9 and 10^10).
fn turn_max(seg_bits: usize, hi: u64) -> usize {
    (seg_bits / MEDIUM_DIVISOR).min(usize::try_from(hi.isqrt()).unwrap_or(usize::MAX))
}

/// Words of the buffer for segments of up to `seg_bits` bits and L1 chunks of `l1_bits`: the
/// segment and its largest slack.
fn buffer_words(seg_bits: usize, l1_bits: usize) -> usize {
    seg_bits / 64 + slack_words(seg_bits / MEDIUM_DIVISOR, small_max(l1_bits, seg_bits))
}

/// A reusable per-thread sieve: pre-sieve patterns, sieving-prime state, bucket storage and the
/// scratch segment. Sieving many intervals with one `Sieve` allocates only when an interval needs
/// more than any before it.
pub struct Sieve {
    config: SieveConfig,
    /// The pre-sieve patterns, shared by every sieve of the process (read only).
    presieve: &'static PreSieve,
    /// The current segment, then the slack: the next segment's head, pre-sieved ahead so that wheel
    /// turns may run past the current segment's end (see the `small` module). Both start on a
    /// cache line: the segment at the first word that does, up to [`LINE_WORDS`]` - 1` in.
    buffer: Vec<u64>,
    /// Primes crossed off by whole modulo-210 wheel turns one L1 chunk at a time, up to
    /// [`small_max`].
    small: TurnPrimes,
    /// Primes crossed off by whole wheel turns one pair of L1 chunks at a time, above the small
    /// ones, up to [`PAIR_CHUNKS`] chunks' bits over [`MEDIUM_DIVISOR`].
    lower_medium: TurnPrimes,
    /// Primes crossed off by whole wheel turns over the whole segment, up to [`MEDIUM_DIVISOR`].
    medium: TurnPrimes,
    /// Primes below a quarter of the segment's bit count with too few hits for whole wheel turns, sorted by
    /// wheel index.
    sparse: SparsePrimes,
    /// Bucket primes, at least a quarter of the segment's bit count: at most four hits per segment.
    buckets: Buckets,
    /// Generates the sieving primes above the stored ones; made on first need, kept for reuse.
    generator: Option<Box<Generator>>,
    /// The modulo-30 kernel that [`Self::count`] runs (primes and twins); made on first need.
    mod30: Option<Box<Sieve30>>,
}

impl Sieve {
    /// A sieve with the given cache configuration.
    pub fn new(config: SieveConfig) -> Self {
        Self {
            config,
            presieve: PreSieve::shared(),
            // Room to start the segment on a cache line wherever the allocator put the words.
            buffer: vec![
                0;
                buffer_words(8 * config.segment_bytes, 8 * config.l1_bytes) + LINE_WORDS
                    - 1
            ],
            small: TurnPrimes::new_210(),
            lower_medium: TurnPrimes::new(),
            medium: TurnPrimes::new(),
            sparse: SparsePrimes::new(),
            buckets: Buckets::new(),
            generator: None,
            mod30: None,
        }
    }

    /// The configuration this sieve was built with.
    pub fn config(&self) -> SieveConfig {
        self.config
    }

    /// Sieves `[lo, hi]` segment by segment and calls `f` with each sieved [`Window`], in order.
    ///
    /// The windows start at `lo` rounded down to a multiple of 128; bits of numbers below `lo` or
    /// above `hi` are cleared. 2 is not in any window.
    ///
    /// # Panics
    /// If `lo > hi` or `primes` does not reach `sqrt(hi)`.
    pub fn for_each_window(
        &mut self,
        primes: &SievingPrimes,
        lo: u64,
        hi: u64,
        mut f: impl FnMut(Window<'_>),
    ) {
        let _ = self.try_for_each_window(primes, lo, hi, |window| {
            f(window);
            ControlFlow::<()>::Continue(())
        });
    }

    /// [`Sieve::for_each_window`] that stops as soon as `f` returns [`ControlFlow::Break`], and
    /// returns that break (a caller that wants only the first windows, or that was cancelled,
    /// leaves without sieving the rest). The sieve stays usable for the next interval.
    ///
    /// # Panics
    /// If `lo > hi` or `primes` does not reach `sqrt(hi)`.
    pub fn try_for_each_window<B>(
        &mut self,
        primes: &SievingPrimes,
        lo: u64,
        hi: u64,
        mut f: impl FnMut(Window<'_>) -> ControlFlow<B>,
    ) -> ControlFlow<B> {
        assert!(lo <= hi, "empty interval [{lo}, {hi}]");
        assert!(
            primes.covers(hi),
            "sieving primes up to {} do not cover {hi}",
            primes.limit()
        );
        let start = lo & !127;
        let seg_bits = 8 * self.config.segment_bytes_for(hi);
        let seg_shift = seg_bits.trailing_zeros();
        let l1_bits = 8 * self.config.l1_bytes;
        let total_bits = odd_count(start, hi);
        let segments = total_bits.div_ceil(seg_bits as u64);
        if segments == 0 {
            return ControlFlow::Continue(()); // no odd number in [lo, hi]
        }
        // Small primes make at least one modulo-210 turn (105p bits) in every 1.31 L1 chunks, and
        // their turns that run past a segment's end stay inside the slack and the next segment.
        // Lower medium ones make at least one modulo-30 turn (15p bits) in each pair of chunks. Medium ones make at least one turn per segment, and a
        // turn (12p bits) that runs past a segment's end stays inside the slack. Sparse ones (below a
        // quarter of the segment's bit count) have a few multiples per segment; the rest, at most
        // four, go to the buckets.
        let small_max = small_max(l1_bits, seg_bits);
        let medium_max = (seg_bits / MEDIUM_DIVISOR) as u64;
        let pair_bits = PAIR_CHUNKS * l1_bits;
        let lower_medium_max = ((pair_bits / MEDIUM_DIVISOR) as u64).min(medium_max);
        let bucket_min = (seg_bits / BUCKET_DIVISOR) as u64;
        let max_prime = hi.isqrt(); // at least the largest sieving prime used
                                    // Primes above the stored ones come from the generator, which this call borrows.
        let mut source = PrimeSource::new(
            primes,
            max_prime,
            self.config.l1_bytes(),
            &mut self.generator,
        );
        self.small.clear();
        self.lower_medium.clear();
        self.medium.clear();
        self.sparse.clear();
        self.buckets.reset(segments, seg_shift, max_prime);
        let seg_words = seg_bits / 64;
        let root = usize::try_from(hi.isqrt()).unwrap_or(usize::MAX);
        let slack_words = slack_words(turn_max(seg_bits, hi), small_max.min(root));
        // The segment starts on a cache line (at most seven words in: the words are 8-aligned).
        let line = self
            .buffer
            .as_ptr()
            .align_offset(8 * LINE_WORDS)
            .min(LINE_WORDS - 1);
        let buf = &mut self.buffer[line..];
        // (Miri may report no alignment as reachable; then the segment starts 7 words in.)
        debug_assert!(buf.as_ptr().addr().is_multiple_of(8 * LINE_WORDS) || cfg!(miri));
        debug_assert!(seg_words + slack_words <= buf.len());
        let span = 2 * seg_bits as u64;
        // Bits of segment k (all but the last are full).
        let bits_of = |k: u64| (total_bits - k * seg_bits as u64).min(seg_bits as u64) as usize;
        self.presieve
            .fill(&mut buf[..bits_of(0).div_ceil(64)], start);

        for k in 0..segments {
            let seg_lo = start + k * span;
            let nbits = bits_of(k);
            let nwords = nbits.div_ceil(64);
            // The last odd number of the segment, at most hi.
            let seg_last = seg_lo + (2 * nbits as u64 - 1);
            // The next segment's head goes into the slack now, so turns may run into it.
            let next_head = if k + 1 < segments {
                bits_of(k + 1).div_ceil(64).min(slack_words)
            } else {
                0
            };
            if next_head > 0 {
                self.presieve
                    .fill(&mut buf[seg_words..seg_words + next_head], seg_lo + span);
            }
            // Only the segment and its slack: a crossing past them is a bug the bounds checks
            // and asserts below catch, however much larger the buffer is for larger segments
            // (past the slack's reach, that is: rounded up to whole cache lines, it may hold up
            // to seven words more).
            let buffer = &mut buf[..seg_words + slack_words];
            // Bring in the primes whose square falls in this segment (all of them at once when the
            // interval starts above their squares).
            loop {
                let (run, quotients) = source.run_squared_up_to(seg_last, seg_lo);
                if run.is_empty() {
                    break;
                }
                for (&p, &quotient) in run.iter().zip(quotients) {
                    if p >= bucket_min {
                        // At most four hits per segment: a bucket prime on the modulo-210 wheel.
                        if let Some((n, wheel)) = first_multiple_210_above(p, quotient, hi) {
                            let bit = (n - seg_lo) / 2;
                            self.buckets.insert(
                                p as u32,
                                k + (bit >> seg_shift),
                                bit & (seg_bits as u64 - 1),
                                wheel,
                            );
                        }
                        continue;
                    }
                    if p <= small_max as u64 {
                        if let Some((n, wheel)) = first_multiple_210_above(p, quotient, hi) {
                            let wp = WheelPrime {
                                prime: p as u32,
                                next: ((n - seg_lo) / 2) as u32,
                                wheel: wheel as u32,
                            };
                            self.small.push(buffer, wp);
                        }
                        continue;
                    }
                    let Some((n, wheel)) = first_multiple_above(p, quotient, hi) else {
                        continue;
                    };
                    let bit = (n - seg_lo) / 2;
                    if p <= medium_max {
                        let wp = WheelPrime {
                            prime: p as u32,
                            next: bit as u32,
                            wheel: wheel as u32,
                        };
                        if p <= lower_medium_max {
                            self.lower_medium.push(buffer, wp)
                        } else {
                            self.medium.push(buffer, wp)
                        }
                    } else {
                        self.sparse.insert(p, bit, wheel);
                    }
                }
            }

            // Primes move on to the next segment as they are filed (none follows the last); the
            // small and lower medium ones after the segment's last chunk, staying in place after
            // the others.
            let advance = if k + 1 < segments { seg_bits } else { 0 };
            let mut chunk_end = 0;
            while chunk_end < nbits {
                chunk_end = (chunk_end + l1_bits).min(nbits);
                let moved = if chunk_end == nbits { advance } else { 0 };
                self.small.cross_off(buffer, chunk_end, moved);
                if chunk_end == nbits || chunk_end.is_multiple_of(pair_bits) {
                    self.lower_medium.cross_off(buffer, chunk_end, moved);
                }
            }
            self.medium.cross_off(buffer, nbits, advance);
            self.sparse
                .sieve_segment(&mut buffer[..seg_words], seg_bits);
            self.buckets.sieve_segment(k, &mut buffer[..seg_words]);
            let words = &mut buffer[..nwords];

            if k == 0 {
                let skip = ((lo - start) / 2) as usize; // bits of numbers below lo
                for (j, w) in words.iter_mut().enumerate().take(skip.div_ceil(64)) {
                    let below = skip.saturating_sub(64 * j).min(64);
                    *w &= if below == 64 { 0 } else { !0u64 << below };
                }
            }
            if nbits % 64 != 0 {
                *words.last_mut().expect("nbits > 0") &= (1u64 << (nbits % 64)) - 1;
            }
            if let ControlFlow::Break(b) = f(Window {
                first_odd: seg_lo + 1,
                words,
            }) {
                source.give_back(&mut self.generator);
                return ControlFlow::Break(b);
            }
            if k + 1 < segments {
                // The head, crossed off by turns that ran past this segment, moves to the front
                // and the rest of the next segment is pre-sieved behind it.
                let next_words = bits_of(k + 1).div_ceil(64);
                buf.copy_within(seg_words..seg_words + next_head, 0);
                if next_head < next_words {
                    // (Only then: past the head of a last segment near 2^64 lies no number.)
                    // The head is the whole slack then, so the rest starts on a cache line.
                    debug_assert!(next_head.is_multiple_of(LINE_WORDS));
                    self.presieve.fill(
                        &mut buf[next_head..next_words],
                        seg_lo + span + 128 * next_head as u64,
                    );
                }
            }
        }
        source.give_back(&mut self.generator);
        ControlFlow::Continue(())
    }

    /// Counts primes (and, if `twins`, twin-prime pairs) in `[lo, hi]`. With `twins == false` the
    /// returned `twins` is 0 but the edges are still filled, so the result still combines. Counted
    /// by the modulo-30 kernel ([`Sieve30`], made on first use and kept).
    pub fn count(&mut self, primes: &SievingPrimes, lo: u64, hi: u64, twins: bool) -> Counts {
        let config = self.config;
        let mod30 = self
            .mod30
            .get_or_insert_with(|| Box::new(Sieve30::new(config)));
        let (n, pairs) = if twins {
            mod30.count_twins(primes, lo, hi)
        } else {
            (mod30.count(primes, lo, hi), 0)
        };
        Counts::from_totals(lo, hi, n, pairs)
    }

    /// Calls `f` with every prime in `[lo, hi]`, in increasing order (2 included when in range).
    pub fn for_each_prime(
        &mut self,
        primes: &SievingPrimes,
        lo: u64,
        hi: u64,
        mut f: impl FnMut(u64),
    ) {
        if lo <= 2 && 2 <= hi {
            f(2);
        }
        self.for_each_window(primes, lo, hi, |window| window.for_each_prime(&mut f));
    }

    /// The odd-only bitmap of `[lo, hi]` (see [`OddBitmap`]).
    pub fn bitmap(&mut self, primes: &SievingPrimes, lo: u64, hi: u64) -> OddBitmap {
        let len = odd_count(lo, hi) as usize;
        let mut bits: BitVec<u64, Lsb0> = BitVec::with_capacity(len);
        let mut skip = ((lo - (lo & !127)) / 2) as usize;
        self.for_each_window(primes, lo, hi, |window| {
            let view = window.words.view_bits::<Lsb0>();
            let take = (len - bits.len()).min(view.len() - skip);
            bits.extend_from_bitslice(&view[skip..skip + take]);
            skip = 0;
        });
        bits.set_uninitialized(false);
        OddBitmap::from_words(lo, hi, bits.into_vec())
            .expect("the sieve produces a well-formed bitmap")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn turns_stay_in_the_slack_and_the_next_segment() {
        // Every L1 chunk and segment a configuration allows (powers of two, 1 KiB to 8 MiB).
        for seg_shift in 12..=23 {
            for l1_shift in 10..=seg_shift {
                let (seg_bits, l1_bits) = (8usize << seg_shift, 8usize << l1_shift);
                let small = small_max(l1_bits, seg_bits);
                // sqrt(hi) below, at and above the small primes' bound.
                for root in [small / 2, small, small + 1, 1 << 32] {
                    let hi = (root as u64).saturating_mul(root as u64);
                    let reach = REACH_210 * small.min(root);
                    assert!(reach <= seg_bits, "L1 {l1_bits}, segment {seg_bits}");
                    let turn = turn_max(seg_bits, hi);
                    let slack = slack_words(turn, small.min(root));
                    assert!(64 * slack > reach, "L1 {l1_bits}, segment {seg_bits}");
                    // The modulo-30 turns of the largest medium prime, `REACH_30 p` bits on.
                    assert!(turn <= root && turn <= seg_bits / MEDIUM_DIVISOR);
                    assert!(
                        64 * slack > REACH_30 * turn,
                        "segment {seg_bits}, root {root}"
                    );
                    assert!(slack <= buffer_words(seg_bits, l1_bits) - seg_bits / 64);
                }
            }
        }
    }

    #[test]
    fn windows_start_on_a_cache_line() {
        let primes = SievingPrimes::up_to(1 << 20);
        // Segments of 4 KiB, so that [10^9, +10^6] has several. Every window starts at the front
        // of the buffer, so this checks where the segment starts (with the allocator's 16-byte
        // alignment it fails three times in four; starting one word later, always).
        let mut sieve = Sieve::new(SieveConfig::new(1 << 10, 4 << 10));
        let mut windows = 0;
        sieve.for_each_window(&primes, 1_000_000_000, 1_001_000_000, |window| {
            assert_eq!(window.words().as_ptr() as usize % 64, 0);
            windows += 1;
        });
        assert!(windows > 2);
        // The slack is rounded up to whole lines (the rest of a segment, pre-sieved behind the
        // head moved from there, then starts on one): reaches of 2, 19, 938 and 1626 words.
        for (turn, small) in [(1, 1), (100, 3), (5000, 0), (0, 1000)] {
            let reach = (REACH_30 * turn).max(REACH_210 * small) / 64 + 1;
            assert_ne!(reach % LINE_WORDS, 0);
            let slack = slack_words(turn, small);
            assert!(
                slack.is_multiple_of(LINE_WORDS) && (reach..reach + LINE_WORDS).contains(&slack)
            );
        }
    }

    #[test]
    fn adaptive_segments_stay_within_the_l2_and_512_kib() {
        // (L1, L2) in KiB -> the largest segment in KiB.
        for (l1, l2, largest) in [
            (48, 2048, 512),
            (32, 1024, 512),
            (32, 512, 512),
            (32, 256, 256),
            (64, 32, 64),
            (48, 1280, 512),
        ] {
            let config = SieveConfig::for_caches(l1 << 10, l2 << 10);
            assert_eq!(
                config.segment_bytes(),
                largest << 10,
                "L1 {l1} KiB, L2 {l2} KiB"
            );
            assert_eq!(config.segment_bytes_for(u64::MAX), largest << 10);
        }
        // Small stops get small segments, never below four L1 chunks.
        let config = SieveConfig::for_caches(32 << 10, 2 << 20);
        assert_eq!(config.segment_bytes_for(1_000_000_000), 128 << 10);
        // 2 sqrt(hi) to the nearest power of two by ratio: 141 KB -> 128 KiB, 200 KB -> 256 KiB,
        // 346 KB -> 256 KiB, 447 KB -> 512 KiB; the switch to 256 KiB is at 2 sqrt(hi) =
        // 2^18 / sqrt 2, hi = 2^33 = 8,589,934,592.
        assert_eq!(config.segment_bytes_for(5_000_000_000), 128 << 10);
        assert_eq!(config.segment_bytes_for((1 << 33) - 1), 128 << 10);
        assert_eq!(config.segment_bytes_for(1 << 33), 256 << 10);
        assert_eq!(config.segment_bytes_for(10_000_000_000), 256 << 10);
        assert_eq!(config.segment_bytes_for(30_000_000_000), 256 << 10);
        assert_eq!(config.segment_bytes_for(50_000_000_000), 512 << 10);
        assert_eq!(config.segment_bytes_for(100_000_000_000), 512 << 10);
        assert_eq!(config.segment_bytes_for(1000), 128 << 10);
    }
}
