//! The sieving primes: the primes above the pre-sieve limit up to `sqrt(hi)`.

use crate::presieve::PRESIEVE_MAX;
use crate::{Sieve, SieveConfig};

/// The primes `p` with `167 < p <= limit` (limit at most `2^32 - 1`), in increasing order: everything a
/// [`Sieve`] needs to sieve any interval whose top is at most `limit^2` (a bit beyond). Build once,
/// share between threads by reference.
#[derive(Clone, Debug)]
pub struct SievingPrimes {
    limit: u64,
    primes: Vec<u32>,
}

/// Odd primes `<= n` by a plain odd-only sieve; for `n <= 2^20` only.
fn plain_odd_primes(n: u64) -> Vec<u64> {
    let n = n as usize;
    let mut composite = vec![false; n / 2 + 1]; // index i stands for 2i + 1
    let mut primes = Vec::new();
    let mut i = 1;
    while 2 * i < n {
        if !composite[i] {
            let p = 2 * i + 1;
            primes.push(p as u64);
            let mut j = p * p / 2;
            while j <= n / 2 {
                composite[j] = true;
                j += p;
            }
        }
        i += 1;
    }
    primes
}

impl SievingPrimes {
    /// The sieving primes needed for intervals ending at or below `hi`: those up to `floor(sqrt(hi))`.
    pub fn for_hi(hi: u64) -> Self {
        Self::up_to(hi.isqrt())
    }

    /// The sieving primes up to `limit` (clamped to `2^32 - 1`, the most any `u64` interval needs).
    pub fn up_to(limit: u64) -> Self {
        let limit = limit.min(u64::from(u32::MAX));
        let mut primes = Vec::new();
        if limit <= 1 << 20 {
            primes.extend(
                plain_odd_primes(limit)
                    .into_iter()
                    .filter(|&p| p > PRESIEVE_MAX)
                    .map(|p| p as u32),
            );
        } else {
            let inner = Self::up_to(limit.isqrt());
            // pi(x) < 1.26 x / ln x: reserve once instead of growing through a billion pushes.
            let estimate = (1.26 * limit as f64 / (limit as f64).ln()) as usize;
            primes.reserve(estimate);
            let mut sieve = Sieve::new(SieveConfig::default());
            sieve.for_each_prime(&inner, PRESIEVE_MAX + 1, limit, |p| primes.push(p as u32));
        }
        Self { limit, primes }
    }

    /// The largest number these primes are complete up to.
    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// Whether these primes suffice to sieve up to `hi`.
    pub fn covers(&self, hi: u64) -> bool {
        hi.isqrt() <= self.limit
    }

    /// The primes themselves (all `> 167`), in increasing order.
    pub fn as_slice(&self) -> &[u32] {
        &self.primes
    }
}
