//! The n-th prime on every rank and thread (`erato N [START] -n`): [`crate::query`]'s search, with
//! each window it counts cut into one slice per rank (the plan's cuts, as for a count) and the
//! ranks' counts summed at rank 0 and sent back to all, so every rank takes the same next step. The
//! last window, about a million primes, is listed by every rank on its own threads.
//!
//! ```
//! let engine = driver::engine::Engine::new(2, sieve_core::SieveConfig::default()).unwrap();
//! let p = driver::nth::nth_prime(&driver::comm::Single, &engine, 1_000_000, 0).unwrap();
//! assert_eq!(p, 15_485_863);
//! ```

use std::sync::atomic::AtomicBool;

use sieve_core::SievingPrimes;

use crate::comm::Comm;
use crate::engine::Engine;
use crate::job;
use crate::query::{self, NthPrimeError, PrimeSource};

/// Counting over every rank's threads.
struct OnRanks<'a> {
    comm: &'a dyn Comm,
    engine: &'a Engine,
}

impl PrimeSource for OnRanks<'_> {
    fn count_primes(&self, lo: u64, hi: u64) -> Result<u64, NthPrimeError> {
        let slice = job::shares(self.comm, lo, hi)[self.comm.rank()];
        let mine = slice.map_or(0, |(a, b)| {
            self.engine
                .count(&SievingPrimes::for_hi(b), a, b, false)
                .primes
        });
        let mut total = [0u64];
        if let Some(all) = self.comm.gather(&[mine]) {
            total[0] = all.iter().sum();
        }
        self.comm.broadcast(&mut total);
        Ok(total[0])
    }

    fn list_primes(&self, lo: u64, hi: u64) -> Result<Vec<u64>, NthPrimeError> {
        Ok(query::primes(self.engine, lo, hi, &AtomicBool::new(false))?)
    }
}

/// The n-th prime above `start` (primesieve's `nth_prime(n, start)`, see [`query::nth_prime`]),
/// counted on every rank of `comm` and every thread of `engine`; every rank returns it.
pub fn nth_prime(
    comm: &dyn Comm,
    engine: &Engine,
    n: u64,
    start: u64,
) -> Result<u64, NthPrimeError> {
    // Above 2^63 - 1 there are more than pi(2^64) primes to count: no answer either way.
    let n = i64::try_from(n).unwrap_or(i64::MAX);
    query::nth_prime_by(&OnRanks { comm, engine }, n, start)
}
