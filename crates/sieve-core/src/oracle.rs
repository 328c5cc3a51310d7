//! Oracles too simple to be wrong, kept beside the fast sieve purely to check it.
//!
//! [`plain_sieve`] is the textbook sieve of Eratosthenes over a byte per number, and
//! [`sieve_interval`] the same over any short interval; [`is_prime`] is a deterministic Miller–Rabin
//! test valid for every `u64`. None shares code with the segmented sieve.

/// Published counts `(x, pi(x), twin pairs <= x)` for `x = 10^1 ..= 10^10` (OEIS A006880 and
/// A007508; also in the project's shared/reference/prime-counts.md).
pub const PUBLISHED_COUNTS: [(u64, u64, u64); 10] = [
    (10, 4, 2),
    (100, 25, 8),
    (1_000, 168, 35),
    (10_000, 1_229, 205),
    (100_000, 9_592, 1_224),
    (1_000_000, 78_498, 8_169),
    (10_000_000, 664_579, 58_980),
    (100_000_000, 5_761_455, 440_312),
    (1_000_000_000, 50_847_534, 3_424_506),
    (10_000_000_000, 455_052_511, 27_412_679),
];

/// Primes `<= n` by the textbook sieve (one byte per number); for small `n` only.
pub fn plain_sieve(n: u64) -> Vec<u64> {
    let n = usize::try_from(n).expect("plain_sieve is for small n");
    let mut composite = vec![false; n + 1];
    let mut primes = Vec::new();
    for i in 2..=n {
        if !composite[i] {
            primes.push(i as u64);
            let mut j = i * i;
            while j <= n {
                composite[j] = true;
                j += i;
            }
        }
    }
    primes
}

/// Primes in `[lo, hi]`, a byte per number, by crossing off the multiples of `base`, which must be
/// every prime up to some bound `>= sqrt(hi)` in increasing order (as [`plain_sieve`] gives them);
/// for short intervals anywhere in `u64`. Much cheaper than [`primes_between`] per number (no 128-bit products), which matters
/// under Miri and for many intervals.
///
/// # Panics
/// If `lo > hi`.
pub fn sieve_interval(base: &[u64], lo: u64, hi: u64) -> Vec<u64> {
    assert!(lo <= hi, "empty interval [{lo}, {hi}]");
    let mut prime = vec![true; usize::try_from(hi - lo + 1).expect("a short interval")];
    for &p in base.iter().take_while(|&&p| p * p <= hi) {
        // The first multiple to cross off: p^2 or the first one >= lo (none may fit below 2^64).
        let Some(mut m) = lo.div_ceil(p).checked_mul(p).map(|m| m.max(p * p)) else {
            continue;
        };
        while m <= hi {
            prime[(m - lo) as usize] = false;
            let Some(next) = m.checked_add(p) else { break };
            m = next;
        }
    }
    (lo..=hi)
        .filter(|&n| n >= 2 && prime[(n - lo) as usize])
        .collect()
}

fn mul_mod(a: u64, b: u64, m: u64) -> u64 {
    (u128::from(a) * u128::from(b) % u128::from(m)) as u64
}

fn pow_mod(mut base: u64, mut exp: u64, m: u64) -> u64 {
    let mut acc = 1 % m;
    base %= m;
    while exp > 0 {
        if exp & 1 == 1 {
            acc = mul_mod(acc, base, m);
        }
        base = mul_mod(base, base, m);
        exp >>= 1;
    }
    acc
}

/// Deterministic primality for any `u64`: Miller–Rabin with the first twelve primes as bases, which
/// is exact below 3.3 * 10^24.
pub fn is_prime(n: u64) -> bool {
    const BASES: [u64; 12] = [2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37];
    if n < 2 {
        return false;
    }
    for p in BASES {
        if n.is_multiple_of(p) {
            return n == p;
        }
    }
    let s = (n - 1).trailing_zeros();
    let d = (n - 1) >> s;
    'bases: for a in BASES {
        let mut x = pow_mod(a, d, n);
        if x == 1 || x == n - 1 {
            continue;
        }
        for _ in 1..s {
            x = mul_mod(x, x, n);
            if x == n - 1 {
                continue 'bases;
            }
        }
        return false;
    }
    true
}

/// Primes in `[lo, hi]` by testing each number with [`is_prime`]; for short intervals anywhere in `u64`.
pub fn primes_between(lo: u64, hi: u64) -> Vec<u64> {
    if lo > hi {
        return Vec::new();
    }
    (lo..=hi).filter(|&n| is_prime(n)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oracles_agree() {
        let plain = plain_sieve(100_000);
        assert_eq!(plain, primes_between(0, 100_000));
        assert_eq!(plain.len(), 9592);
        let base = plain_sieve(1 << 16);
        for (lo, hi) in [(0, 100_000), (1 << 31, (1 << 31) + 5_000)] {
            assert_eq!(
                sieve_interval(&base, lo, hi),
                primes_between(lo, hi),
                "[{lo}, {hi}]"
            );
        }
        // At the top of u64 the multiples must stop without overflowing. (A base reaching 2^32 is
        // too large here: with primes up to 2^16, what is left is what has no factor among them.)
        let top = u64::MAX - 2_000;
        let no_base_factor: Vec<u64> = (top..=u64::MAX)
            .filter(|&n| base.iter().all(|&p| n % p != 0))
            .collect();
        assert_eq!(sieve_interval(&base, top, u64::MAX), no_base_factor);
    }

    #[test]
    fn miller_rabin_edges() {
        assert!(is_prime(18446744073709551557)); // 2^64 - 59, the largest prime below 2^64
        assert!(!is_prime(u64::MAX));
        assert!((18446744073709551558..=u64::MAX).all(|n| !is_prime(n)));
        assert!(!is_prime(3215031751)); // strong pseudoprime to bases 2, 3, 5, 7
        assert!(is_prime(4294967291)); // largest prime below 2^32
    }
}
