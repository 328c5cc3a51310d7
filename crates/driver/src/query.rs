//! Answers for library callers (erato's Python module): counts (primes, twins, k-tuplets), the
//! primes of a range as one `Vec<u64>`, the primes of a long range chunk by chunk, and the n-th
//! prime, all on an [`Engine`]'s threads.
//!
//! Every function takes a `cancel` flag that the engine reads before each chunk: a caller that
//! waits on another thread (for Ctrl-C, say) sets it, and the call returns `Cancelled` once the
//! chunks already running finish. Chunks of a count are at most [`MAX_CHUNK`] numbers wide below
//! about 4.5 * 10^15 (a few tenths of a second each), `16 sqrt(hi)` above; listing uses the
//! engine's own chunks, which are short for any range whose primes fit in memory.
//!
//! ```
//! use std::sync::atomic::AtomicBool;
//! use driver::{engine::Engine, query};
//!
//! let engine = Engine::new(2, sieve_core::SieveConfig::default()).unwrap();
//! let go = AtomicBool::new(false);
//! assert_eq!(query::primes(&engine, 90, 110, &go).unwrap(), vec![97, 101, 103, 107, 109]);
//! assert_eq!(query::count(&engine, 0, 1_000_000, true, &go).unwrap().twins, 8_169);
//! assert_eq!(query::nth_prime(&engine, 1000, 0, &go).unwrap(), 7919);
//! ```

use std::sync::atomic::AtomicBool;

use rayon::prelude::*;
use sieve_core::{Counts, SievingPrimes};

use crate::engine::{words_from_aligned, Engine};
use crate::plan;
use crate::summary;

/// The call was cancelled through its flag before it finished.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cancelled;

impl std::fmt::Display for Cancelled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cancelled")
    }
}

impl std::error::Error for Cancelled {}

/// Why a listing produced no primes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListError {
    /// Cancelled through the flag.
    Cancelled,
    /// The bitmap or the primes of the range do not fit in memory; `bytes` were asked for.
    OutOfMemory {
        /// The allocation that failed, in bytes.
        bytes: u128,
    },
}

impl From<Cancelled> for ListError {
    fn from(_: Cancelled) -> Self {
        Self::Cancelled
    }
}

impl std::fmt::Display for ListError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Cancelled => write!(f, "cancelled"),
            Self::OutOfMemory { bytes } => write!(f, "cannot allocate {bytes} bytes"),
        }
    }
}

impl std::error::Error for ListError {}

/// `len` zeros, or [`ListError::OutOfMemory`] where an allocation would abort the process. The
/// zeros come from `calloc`, whose fresh pages are zero already: no pass over the memory.
fn zeros(len: u128) -> Result<Vec<u64>, ListError> {
    let too_big = ListError::OutOfMemory { bytes: 8 * len };
    let len = usize::try_from(len).map_err(|_| too_big)?;
    // Probe with a plain reservation (it can fail without aborting), then allocate zeroed.
    Vec::<u64>::new()
        .try_reserve_exact(len)
        .map_err(|_| too_big)?;
    Ok(vec![0; len])
}

/// Widest chunk a count hands one thread below about 4.5 * 10^15, so that a cancel waits for a
/// few tenths of a second of sieving at most (from about 10^10 numbers per second per core at the
/// bottom of the range to a few 10^9 near 10^15). Higher up, chunks are `16 sqrt(hi)` wide
/// instead: each chunk first finds a multiple of every sieving prime up to `sqrt(hi)`, and at that
/// width this costs under a tenth of the sieving.
pub const MAX_CHUNK: u64 = 1 << 30;

/// The engine's chunks of `[lo, hi]`, each cut further to at most `max(MAX_CHUNK, 16 sqrt(hi))`
/// numbers at multiples of 128.
fn chunks(engine: &Engine, lo: u64, hi: u64) -> Vec<(u64, u64)> {
    let widest = MAX_CHUNK.max(16 * hi.isqrt());
    plan::chunks(lo, hi, engine.threads())
        .into_iter()
        .flat_map(|(a, b)| {
            let parts = ((b - a) / widest + 1) as usize;
            plan::split(a, b, parts).into_iter().flatten()
        })
        .collect()
}

/// Counts of primes and (if `twins`) twin pairs in `[lo, hi]` (`lo <= hi`).
pub fn count(
    engine: &Engine,
    lo: u64,
    hi: u64,
    twins: bool,
    cancel: &AtomicBool,
) -> Result<Counts, Cancelled> {
    assert!(lo <= hi, "empty interval [{lo}, {hi}]");
    let sieving = SievingPrimes::for_hi(hi);
    let ranges = chunks(engine, lo, hi);
    engine
        .count_each_until(&sieving, &ranges, twins, cancel)
        .ok_or(Cancelled)
        .map(|each| {
            each.into_iter()
                .reduce(Counts::combine)
                .expect("at least one chunk")
        })
}

/// The number of prime k-tuplets with every member in `[lo, hi]` (`lo <= hi`, `2 <= k <= 6`), as
/// primesieve counts them (`erato -c3` .. `-c6`): k = 2 twins (p, p+2); 3 triplets (p, p+2, p+6)
/// and (p, p+4, p+6); 4 quadruplets (p, p+2, p+6, p+8); 5 quintuplets (p, p+2, p+6, p+8, p+12)
/// and (p, p+4, p+6, p+10, p+12); 6 sextuplets (p, p+4, p+6, p+10, p+12, p+16); see
/// [`sieve_core::tuplets`].
///
/// The command line's engine ([`crate::summary`]) on the chunks of [`count`] (at most
/// [`MAX_CHUNK`] numbers below about 4.5 * 10^15), so that a cancel waits for a few tenths of a
/// second; tuplets across chunk boundaries are counted once. Returns [`Cancelled`] when `cancel`
/// was set before the last chunk started.
///
/// # Panics
/// If `lo > hi` or `k` is not in `2..=6`.
///
/// ```
/// use std::sync::atomic::AtomicBool;
/// use driver::{engine::Engine, query};
///
/// let engine = Engine::new(2, sieve_core::SieveConfig::default()).unwrap();
/// let go = AtomicBool::new(false);
/// assert_eq!(query::count_tuplets(&engine, 0, 1000, 3, &go), Ok(30)); // primesieve 1000 -c3
/// assert_eq!(query::count_tuplets(&engine, 0, 1_000_000, 6, &go), Ok(5));
/// ```
pub fn count_tuplets(
    engine: &Engine,
    lo: u64,
    hi: u64,
    k: usize,
    cancel: &AtomicBool,
) -> Result<u64, Cancelled> {
    assert!(lo <= hi, "empty interval [{lo}, {hi}]");
    assert!((2..=6).contains(&k), "k-tuplets for k = 2..=6, not {k}");
    let sieving = SievingPrimes::for_hi(hi);
    let ranges = chunks(engine, lo, hi);
    let whole = summary::count_ranges(engine, &sieving, &ranges, 1 << k, false, cancel)?;
    Ok(whole.tuplets.count(k))
}

/// The primes in `[lo, hi]` (`lo <= hi`), in increasing order.
pub fn primes(
    engine: &Engine,
    lo: u64,
    hi: u64,
    cancel: &AtomicBool,
) -> Result<Vec<u64>, ListError> {
    sieve(engine, lo, hi, cancel)?.to_vec(engine)
}

/// Sieves `[lo, hi]` (`lo <= hi`) for listing: the first half of [`primes`], for a caller that
/// wants the primes in memory of its own (a NumPy array) rather than in a new `Vec`.
pub fn sieve(engine: &Engine, lo: u64, hi: u64, cancel: &AtomicBool) -> Result<Sieved, ListError> {
    assert!(lo <= hi, "empty interval [{lo}, {hi}]");
    Sieved::new(engine, &SievingPrimes::for_hi(hi), lo, hi, cancel)
}

/// Words counted or decoded by one thread at a time when listing: 2^14 words are 2^21 numbers.
const DECODE_WORDS: usize = 1 << 14;

/// A sieved range waiting to be listed: its odd-only bitmap words and the primes in each part of
/// `DECODE_WORDS` words, so that each thread knows where its share of the output begins.
pub struct Sieved {
    lo: u64,
    hi: u64,
    words: Vec<u64>,
    per_part: Vec<usize>,
}

impl Sieved {
    /// Sieves `[lo, hi]` with `sieving` covering `hi`, on all threads.
    fn new(
        engine: &Engine,
        sieving: &SievingPrimes,
        lo: u64,
        hi: u64,
        cancel: &AtomicBool,
    ) -> Result<Self, ListError> {
        let mut words = zeros(words_from_aligned(lo, hi) as u128)?;
        if !engine.fill_words_until(sieving, lo, hi, &mut words, cancel) {
            return Err(ListError::Cancelled);
        }
        let per_part = engine.install(|| {
            words
                .par_chunks(DECODE_WORDS)
                .map(|part| part.iter().map(|w| w.count_ones() as usize).sum())
                .collect()
        });
        Ok(Self {
            lo,
            hi,
            words,
            per_part,
        })
    }

    /// The number of primes in the range.
    pub fn len(&self) -> usize {
        usize::from(self.lo <= 2 && 2 <= self.hi) + self.per_part.iter().sum::<usize>()
    }

    /// Whether the range holds no prime.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The primes in a new `Vec`, or [`ListError::OutOfMemory`].
    pub fn to_vec(&self, engine: &Engine) -> Result<Vec<u64>, ListError> {
        let mut out = zeros(self.len() as u128)?;
        self.decode_into(engine, &mut out);
        Ok(out)
    }

    /// Writes the primes, in increasing order, into `out`, on all threads.
    ///
    /// # Panics
    /// If `out.len()` is not [`Sieved::len`].
    pub fn decode_into(&self, engine: &Engine, out: &mut [u64]) {
        assert_eq!(out.len(), self.len(), "one slot per prime");
        let two = usize::from(self.lo <= 2 && 2 <= self.hi);
        let (head, mut rest) = out.split_at_mut(two);
        head.fill(2);
        // Bit i of word j stands for base + 128 j + 2 i (2 has no bit).
        let base = (self.lo & !127) + 1;
        let mut jobs = Vec::with_capacity(self.per_part.len());
        for (k, (part, &n)) in self
            .words
            .chunks(DECODE_WORDS)
            .zip(&self.per_part)
            .enumerate()
        {
            let (mine, tail) = rest.split_at_mut(n);
            jobs.push((base + 128 * (k * DECODE_WORDS) as u64, part, mine));
            rest = tail;
        }
        engine.install(|| {
            jobs.into_par_iter().for_each(|(first, part, slots)| {
                let mut slots = slots.iter_mut();
                for (j, &word) in part.iter().enumerate() {
                    let word_base = first + 128 * j as u64;
                    let mut w = word;
                    while w != 0 {
                        *slots.next().expect("one slot per set bit") =
                            word_base + 2 * u64::from(w.trailing_zeros());
                        w &= w - 1;
                    }
                }
            })
        });
    }
}

/// The primes of `[lo, hi]` in chunks of at most `width` numbers each, for ranges whose primes do
/// not fit in memory at once. Keeps its sieving primes between chunks, growing them as the chunks
/// climb (never beyond what `hi` needs, so a caller who stops early never pays for the top).
pub struct PrimeChunks {
    next: Option<u64>,
    hi: u64,
    width: u64,
    sieving: Option<SievingPrimes>,
}

impl PrimeChunks {
    /// Chunks of `[lo, hi]` (empty when `lo > hi`), each `width >= 1` numbers wide but the last.
    pub fn new(lo: u64, hi: u64, width: u64) -> Self {
        assert!(width >= 1, "chunk width must be at least 1");
        Self {
            next: (lo <= hi).then_some(lo),
            hi,
            width,
            sieving: None,
        }
    }

    /// The interval the next chunk covers, or `None` when all are done.
    pub fn peek(&self) -> Option<(u64, u64)> {
        self.next
            .map(|a| (a, a.saturating_add(self.width - 1).min(self.hi)))
    }

    /// The primes of the next chunk (possibly none), or `Ok(None)` when all chunks are done. A
    /// cancelled chunk is not consumed: the next call sieves it again.
    pub fn next_chunk(
        &mut self,
        engine: &Engine,
        cancel: &AtomicBool,
    ) -> Result<Option<Vec<u64>>, ListError> {
        match self.next_sieved(engine, cancel)? {
            Some(sieved) => sieved.to_vec(engine).map(Some),
            None => Ok(None),
        }
    }

    /// [`PrimeChunks::next_chunk`] sieved but not yet listed.
    pub fn next_sieved(
        &mut self,
        engine: &Engine,
        cancel: &AtomicBool,
    ) -> Result<Option<Sieved>, ListError> {
        let Some((a, b)) = self.peek() else {
            return Ok(None);
        };
        if !self.sieving.as_ref().is_some_and(|s| s.covers(b)) {
            // Sixteen times the chunk's top: sqrt grows fourfold per rebuild, so all rebuilds
            // together cost a third more than the last one.
            self.sieving = Some(SievingPrimes::for_hi(b.saturating_mul(16).min(self.hi)));
        }
        let sieving = self.sieving.as_ref().expect("set above");
        let sieved = Sieved::new(engine, sieving, a, b, cancel)?;
        self.next = (b < self.hi).then(|| b + 1);
        Ok(Some(sieved))
    }
}

/// Why [`nth_prime`] found no answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NthPrimeError {
    /// The prime asked for is above `2^64 - 1`.
    AboveMax,
    /// Fewer than `|n|` primes lie below `start`; `found` of them do.
    TooFewBelow {
        /// The primes below `start`.
        found: u64,
    },
    /// Cancelled through the flag.
    Cancelled,
}

impl From<Cancelled> for NthPrimeError {
    fn from(_: Cancelled) -> Self {
        Self::Cancelled
    }
}

impl From<ListError> for NthPrimeError {
    fn from(e: ListError) -> Self {
        match e {
            ListError::Cancelled => Self::Cancelled,
            // The windows listed hold about a million primes: 8 MB.
            ListError::OutOfMemory { .. } => panic!("out of memory for a small window: {e}"),
        }
    }
}

/// pi(2^64): no `n` above it has an n-th prime within `u64` (Oliveira e Silva's tables, OEIS
/// A007053).
pub const PRIMES_BELOW_2_64: u64 = 425_656_284_035_217_743;

/// Windows of fewer expected primes than this are listed instead of counted.
const LIST_BELOW: f64 = 1e6;

/// The n-th prime counted from `start`, as primesieve's `nth_prime(n, start)` defines it: for
/// `n > 0` the n-th prime above `start`, for `n < 0` the |n|-th prime below `start` (counting
/// down), for `n == 0` the first prime at or above `start`.
///
/// Counts whole windows on all threads, each sized from the prime number theorem to hold a bit
/// fewer primes than still wanted, then lists the last window and picks from it. Exact up to
/// `2^64 - 1`.
pub fn nth_prime(
    engine: &Engine,
    n: i64,
    start: u64,
    cancel: &AtomicBool,
) -> Result<u64, NthPrimeError> {
    nth_prime_by(&OnEngine { engine, cancel }, n, start)
}

/// How [`nth_prime_by`] counts and lists the primes of a window: on one engine's threads
/// ([`nth_prime`]), or spread over ranks as well (`crate::nth`). Every rank of a job must get the
/// same answers, so that they all take the same steps.
pub trait PrimeSource {
    /// The number of primes in `[lo, hi]`.
    fn count_primes(&self, lo: u64, hi: u64) -> Result<u64, NthPrimeError>;
    /// The primes of `[lo, hi]`, a window of about a million primes.
    fn list_primes(&self, lo: u64, hi: u64) -> Result<Vec<u64>, NthPrimeError>;
}

/// One engine's threads, stopping when `cancel` is set.
struct OnEngine<'a> {
    engine: &'a Engine,
    cancel: &'a AtomicBool,
}

impl PrimeSource for OnEngine<'_> {
    fn count_primes(&self, lo: u64, hi: u64) -> Result<u64, NthPrimeError> {
        Ok(count(self.engine, lo, hi, false, self.cancel)?.primes)
    }

    fn list_primes(&self, lo: u64, hi: u64) -> Result<Vec<u64>, NthPrimeError> {
        Ok(primes(self.engine, lo, hi, self.cancel)?)
    }
}

/// [`nth_prime`] with the windows counted and listed by `source`.
pub fn nth_prime_by(source: &dyn PrimeSource, n: i64, start: u64) -> Result<u64, NthPrimeError> {
    match n {
        0 if start <= 2 => Ok(2),
        0 => nth_above(source, 1, start - 1),
        n if n > 0 => nth_above(source, n.unsigned_abs(), start),
        n => nth_below(source, n.unsigned_abs(), start),
    }
}

/// Average gap between primes near `x`.
fn gap_near(x: f64) -> f64 {
    x.max(3.0).ln()
}

/// The `n`-th prime above `start` (`n >= 1`).
fn nth_above(source: &dyn PrimeSource, n: u64, start: u64) -> Result<u64, NthPrimeError> {
    if n > PRIMES_BELOW_2_64 || start == u64::MAX {
        return Err(NthPrimeError::AboveMax);
    }
    let mut lo = start + 1;
    let mut remaining = n;
    // Shrinks the next counted window after one that held too many primes.
    let mut shrink = 0.9;
    loop {
        // Gap at the estimated answer, an overestimate of the average gap below it.
        let guess = lo as f64 + remaining as f64 * gap_near(lo as f64 + remaining as f64);
        let span = remaining as f64 * gap_near(guess);
        if (remaining as f64) < LIST_BELOW {
            let width = (1.25 * span + 2000.0) as u64;
            let hi = lo.saturating_add(width);
            let found = source.list_primes(lo, hi)?;
            if let Some(&p) = found.get(remaining as usize - 1) {
                return Ok(p);
            }
            if hi == u64::MAX {
                return Err(NthPrimeError::AboveMax);
            }
            remaining -= found.len() as u64;
            lo = hi + 1;
            continue;
        }
        let hi = lo.saturating_add((shrink * span) as u64);
        let primes = source.count_primes(lo, hi)?;
        if primes >= remaining {
            shrink /= 2.0; // the estimate was off: try a narrower window from the same place
            continue;
        }
        if hi == u64::MAX {
            return Err(NthPrimeError::AboveMax);
        }
        remaining -= primes;
        lo = hi + 1;
    }
}

/// The `n`-th prime below `start` counting down (`n >= 1`).
fn nth_below(source: &dyn PrimeSource, n: u64, start: u64) -> Result<u64, NthPrimeError> {
    let too_few = |source: &dyn PrimeSource| -> Result<u64, NthPrimeError> {
        let found = if start < 3 {
            0
        } else {
            source.count_primes(0, start - 1)?
        };
        Err(NthPrimeError::TooFewBelow { found })
    };
    if start < 3 {
        return too_few(source);
    }
    let mut hi = start - 1;
    let mut remaining = n;
    let mut shrink = 0.9;
    loop {
        let span = remaining as f64 * gap_near(hi as f64);
        if (remaining as f64) < LIST_BELOW {
            let width = (1.25 * span + 2000.0) as u64;
            let lo = hi.saturating_sub(width);
            let found = source.list_primes(lo, hi)?;
            if let Some(i) = found.len().checked_sub(remaining as usize) {
                return Ok(found[i]);
            }
            if lo == 0 {
                return too_few(source);
            }
            remaining -= found.len() as u64;
            hi = lo - 1;
            continue;
        }
        let lo = hi.saturating_sub((shrink * span) as u64);
        let primes = source.count_primes(lo, hi)?;
        if primes >= remaining {
            shrink /= 2.0;
            continue;
        }
        if lo == 0 {
            return too_few(source);
        }
        remaining -= primes;
        hi = lo - 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sieve_core::oracle;

    fn engine() -> Engine {
        Engine::new(2, sieve_core::SieveConfig::default()).unwrap()
    }

    static GO: AtomicBool = AtomicBool::new(false);

    #[test]
    fn primes_match_the_oracle() {
        let e = engine();
        for (lo, hi) in [
            (0u64, 0u64),
            (0, 2),
            (2, 2),
            (3, 3),
            (0, 1000),
            (1, 300_000),
            (127, 129),
            (1_000_000_000, 1_000_100_000),
            (u64::MAX - 100_000, u64::MAX),
        ] {
            assert_eq!(
                primes(&e, lo, hi, &GO).unwrap(),
                oracle::primes_between(lo, hi),
                "[{lo}, {hi}]"
            );
        }
        // Several chunks and decode parts.
        let big = primes(&e, 0, 300_000_000, &GO).unwrap();
        assert_eq!(big.len(), 16_252_325);
        assert!(big.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(big.last(), Some(&299_999_977));
        // 2^64 numbers need 2^57 words of bitmap: an error, not an abort.
        assert!(matches!(
            primes(&e, 0, u64::MAX, &GO),
            Err(ListError::OutOfMemory { .. })
        ));
    }

    #[test]
    fn counts_match_and_combine_across_small_chunks() {
        let e = engine();
        let c = count(&e, 0, 10_000_000_000, true, &GO).unwrap();
        assert_eq!((c.primes, c.twins), (455_052_511, 27_412_679));
        assert!(chunks(&e, 0, 10_000_000_000)
            .iter()
            .all(|&(a, b)| b - a < MAX_CHUNK));
    }

    #[test]
    fn tuplet_counts_are_the_command_lines_across_small_chunks() {
        let e = engine();
        // Several chunks of MAX_CHUNK numbers, cut where count's chunks cut, so that tuplets
        // straddling the cuts are counted once; and a narrow interval at the top of u64.
        for (lo, hi) in [(5, 3 * MAX_CHUNK + 1000), (u64::MAX - 2_000_000, u64::MAX)] {
            let whole = summary::count(&e, lo, hi, 0b111_1100, false, &GO).unwrap();
            for k in 2..=6 {
                assert_eq!(
                    count_tuplets(&e, lo, hi, k, &GO),
                    Ok(whole.tuplets.count(k)),
                    "k {k} [{lo}, {hi}]"
                );
            }
        }
        // primesieve 1000 -c23456
        let small: Vec<u64> = (2..=6)
            .map(|k| count_tuplets(&e, 0, 1000, k, &GO).unwrap())
            .collect();
        assert_eq!(small, [35, 30, 5, 5, 2]);
        assert_eq!(count_tuplets(&e, 0, 0, 3, &GO), Ok(0));
    }

    #[test]
    fn cancelled_calls_say_so() {
        let e = engine();
        let stop = AtomicBool::new(true);
        assert_eq!(count(&e, 0, 1 << 34, false, &stop), Err(Cancelled));
        assert_eq!(count_tuplets(&e, 0, 1 << 34, 4, &stop), Err(Cancelled));
        assert_eq!(primes(&e, 0, 1 << 20, &stop), Err(ListError::Cancelled));
        assert_eq!(
            nth_prime(&e, 1 << 40, 0, &stop),
            Err(NthPrimeError::Cancelled)
        );
        let mut chunks = PrimeChunks::new(0, 1000, 100);
        assert_eq!(chunks.next_chunk(&e, &stop), Err(ListError::Cancelled));
        assert_eq!(
            chunks.peek(),
            Some((0, 99)),
            "a cancelled chunk is not consumed"
        );
    }

    #[test]
    fn chunks_join_into_the_whole() {
        let e = engine();
        for (lo, hi, width) in [
            (0u64, 100_000u64, 7_000u64),
            (5, 5, 1),
            (10, 20, 1),
            (u64::MAX - 5000, u64::MAX, 999),
        ] {
            let mut it = PrimeChunks::new(lo, hi, width);
            let mut all = Vec::new();
            while let Some(part) = it.next_chunk(&e, &GO).unwrap() {
                all.extend(part);
            }
            assert_eq!(
                all,
                oracle::primes_between(lo, hi),
                "[{lo}, {hi}] by {width}"
            );
        }
        assert_eq!(PrimeChunks::new(5, 4, 10).next_chunk(&e, &GO), Ok(None));
    }

    #[test]
    fn nth_primes_are_the_published_ones() {
        let e = engine();
        for (n, p) in [
            (1i64, 2u64),
            (2, 3),
            (10, 29),
            (1000, 7919),
            (1_000_000, 15_485_863),
            (100_000_000, 2_038_074_743),
        ] {
            assert_eq!(nth_prime(&e, n, 0, &GO), Ok(p), "p({n})");
        }
        // primesieve's conventions for n == 0 and n < 0, and starts that are primes.
        assert_eq!(nth_prime(&e, 0, 0, &GO), Ok(2));
        assert_eq!(nth_prime(&e, 0, 7, &GO), Ok(7));
        assert_eq!(nth_prime(&e, 0, 8, &GO), Ok(11));
        assert_eq!(nth_prime(&e, 1, 7, &GO), Ok(11));
        assert_eq!(nth_prime(&e, -1, 7, &GO), Ok(5));
        assert_eq!(nth_prime(&e, -4, 8, &GO), Ok(2));
        assert_eq!(nth_prime(&e, -1_000_000, 15_485_864, &GO), Ok(2));
        assert_eq!(nth_prime(&e, -999_999, 15_485_863, &GO), Ok(2));
        assert_eq!(
            nth_prime(&e, -5, 8, &GO),
            Err(NthPrimeError::TooFewBelow { found: 4 })
        );
        assert_eq!(
            nth_prime(&e, -1, 2, &GO),
            Err(NthPrimeError::TooFewBelow { found: 0 })
        );
    }

    #[test]
    fn nth_primes_near_the_top_of_u64() {
        let e = engine();
        // The largest primes below 2^64: 2^64 - 59, 2^64 - 83, 2^64 - 95. Each call near the top
        // sieves the primes up to 2^32 first, so there are only a few.
        let top = u64::MAX - 58;
        assert_eq!(nth_prime(&e, 1, top - 1, &GO), Ok(top));
        assert_eq!(nth_prime(&e, 1, top, &GO), Err(NthPrimeError::AboveMax));
        assert_eq!(nth_prime(&e, 2, u64::MAX - 100, &GO), Ok(u64::MAX - 82));
        assert_eq!(nth_prime(&e, -3, u64::MAX, &GO), Ok(u64::MAX - 94));
        // No sieving needed for these.
        assert_eq!(
            nth_prime(&e, 1, u64::MAX, &GO),
            Err(NthPrimeError::AboveMax)
        );
        assert_eq!(
            nth_prime(&e, i64::MAX, 0, &GO),
            Err(NthPrimeError::AboveMax)
        );
    }

    #[test]
    fn nth_primes_match_the_oracle_at_random_heights() {
        let e = engine();
        let mut x = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..20 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            // Starts up to 2^40, where the oracle is quick; near 2^64 has its own test.
            let start = x >> (24 + x % 40);
            let n = 1 + (x % 300) as i64;
            let window = oracle::primes_between(start + 1, start + 100 * 300);
            assert_eq!(
                nth_prime(&e, n, start, &GO),
                Ok(window[n as usize - 1]),
                "n {n} start {start}"
            );
            let below = oracle::primes_between(start.saturating_sub(100 * 300), start.max(1) - 1);
            if below.len() >= n as usize {
                assert_eq!(
                    nth_prime(&e, -n, start, &GO),
                    Ok(below[below.len() - n as usize]),
                    "n -{n} start {start}"
                );
            }
        }
    }
}
