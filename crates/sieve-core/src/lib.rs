//! # sieve-core
//!
//! A cache-blocked, odd-only, segmented sieve of Eratosthenes that is exact on every closed interval
//! `[lo, hi]` with `0 <= lo <= hi <= 2^64 - 1`. Pure computation: no threads, no MPI, no I/O.
//!
//! ```
//! use sieve_core::{Sieve, SieveConfig, SievingPrimes};
//!
//! // Quick answers:
//! assert_eq!(sieve_core::count_primes(0, 1_000_000), 78_498);
//! assert_eq!(sieve_core::primes(90, 110), vec![97, 101, 103, 107, 109]);
//!
//! // A reusable sieve for many intervals (one per thread), sharing one set of sieving primes:
//! let hi = 10_000_000;
//! let sieving = SievingPrimes::for_hi(hi);
//! let mut sieve = Sieve::new(SieveConfig::default());
//! let a = sieve.count(&sieving, 0, 4_999_999, true);
//! let b = sieve.count(&sieving, 5_000_000, hi, true);
//! let all = a.combine(b);
//! assert_eq!((all.primes, all.twins), (664_579, 58_980));
//!
//! // The odd-only bitmap: bit i stands for the odd number base + 2i.
//! let bitmap = sieve.bitmap(&sieving, 0, 127);
//! assert_eq!(bitmap.words().len(), 1);
//! assert_eq!(bitmap.count_primes(), 31);
//! ```
//!
//! ## How it is laid out
//! - [`mod@bitmap`]: the odd-only layout ([`OddBitmap`]) and its invariants.
//! - `base_primes`: the sieving primes up to `sqrt(hi)` ([`SievingPrimes`]), those above `2^16`
//!   generated as the sieve goes.
//! - `presieve`: primes 3..=167 removed by ANDing precomputed patterns.
//! - `small`: primes with many multiples per segment, a modulo-30 wheel loop of whole unrolled turns,
//!   sorted by which loop copy they enter next (per L1 chunk for small primes, per pair of chunks
//!   for lower medium ones, per segment for medium ones).
//! - `sparse`: primes with a few multiples per segment, sorted by wheel index (after primesieve's
//!   `EratMedium`).
//! - `bucket`: primes from a quarter of the segment's bits (at most four hits per segment),
//!   Oliveira e Silva's bucket sieve on a modulo-210 wheel; a prime that hits the segment again is
//!   re-filed into the bucket being emptied.
//! - `pool`: the fixed-size blocks from one pool that hold the lists of every class but the
//!   pre-sieved primes.
//! - `cpu`: which instruction-set paths run (`ERATO_FORCE_PORTABLE=1` forces the portable ones).
//! - `segment`: [`Sieve`] ties these together for each segment.
//! - `count`: popcount counting and composable twin counts ([`Counts`]).
//! - [`mod@gaps`]: gaps between consecutive primes, the largest and the records ([`Gaps`]).
//! - [`mod@tuplets`]: prime k-tuplets (k = 2..=6), counted in pieces that combine ([`Tuplets`]).
//! - [`oracle`]: obviously correct slow methods, used to test the fast ones.

#[cfg(target_pointer_width = "16")]
compile_error!("sieve-core needs at least 32-bit pointers");

mod base_primes;
pub mod bitmap;
mod bucket;
mod count;
mod cpu;
pub mod gaps;
mod mod30;
pub mod oracle;
mod pool;
mod presieve;
mod segment;
mod small;
mod sparse;
pub mod tuplets;
mod wheel;

pub use base_primes::SievingPrimes;
pub use bitmap::{file as bitmap_file, BitmapError, OddBitmap};
pub use count::{Counts, Edge};
pub use cpu::simd_path;
pub use gaps::{Gap, Gaps};
pub use mod30::Sieve30;
pub use segment::{Sieve, SieveConfig, Window};
pub use tuplets::{TupletTally, Tuplets};

/// Number of primes in `[lo, hi]` (0 if `lo > hi`).
pub fn count_primes(lo: u64, hi: u64) -> u64 {
    count(lo, hi, false).primes
}

/// Counts of primes and, if `twins`, twin-prime pairs in `[lo, hi]` (`lo <= hi`), on one thread.
pub fn count(lo: u64, hi: u64, twins: bool) -> Counts {
    if lo > hi {
        return Counts::empty(lo, hi);
    }
    Sieve::new(SieveConfig::default()).count(&SievingPrimes::for_hi(hi), lo, hi, twins)
}

/// The primes in `[lo, hi]`, in increasing order.
pub fn primes(lo: u64, hi: u64) -> Vec<u64> {
    let mut out = Vec::new();
    if lo <= hi {
        Sieve::new(SieveConfig::default()).for_each_prime(
            &SievingPrimes::for_hi(hi),
            lo,
            hi,
            |p| out.push(p),
        );
    }
    out
}

/// The odd-only bitmap of `[lo, hi]` (`lo <= hi`).
pub fn bitmap(lo: u64, hi: u64) -> OddBitmap {
    Sieve::new(SieveConfig::default()).bitmap(&SievingPrimes::for_hi(hi), lo, hi)
}
