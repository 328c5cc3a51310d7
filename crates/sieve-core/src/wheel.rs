//! The modulo-30 wheel used to cross off multiples in an odd-only bitmap.
//!
//! A prime `p >= 7` only needs to cross off `p * m` with `gcd(m, 30) = 1`: even `m` give even numbers,
//! which the odd-only layout does not store, and `m` divisible by 3 or 5 give multiples of 3 or 5,
//! which the pre-sieve has already removed. That keeps 8 of every 30 multiples instead of 15.

/// The eight residues modulo 30 that are coprime to 30, in increasing order.
pub(crate) const RESIDUES: [u64; 8] = [1, 7, 11, 13, 17, 19, 23, 29];

/// Distance in bits from the multiple `p * m` with `m ≡ RESIDUES[w] (mod 30)` to the next one the
/// wheel visits, in units of `p` (numbers advance by `2 * STEP[w] * p`, bits by `STEP[w] * p`).
pub(crate) const STEP: [usize; 8] = [3, 2, 1, 2, 1, 2, 3, 1];

/// Sum of `STEP`: one full turn of the wheel advances `15 * p` bits (`30 * p` numbers).
pub(crate) const TURN: usize = 15;

/// For `r = m mod 30`: how far to advance `m` to the next residue coprime to 30, and that residue's
/// wheel index.
const NEXT: [(u8, u8); 30] = {
    let mut table = [(0u8, 0u8); 30];
    let mut r = 0;
    while r < 30 {
        let mut d = 0;
        loop {
            let s = (r + d) % 30;
            let mut w = 0;
            let mut found = false;
            while w < 8 {
                if RESIDUES[w] as usize == s {
                    found = true;
                    break;
                }
                w += 1;
            }
            if found {
                table[r] = (d as u8, w as u8);
                break;
            }
            d += 1;
        }
        r += 1;
    }
    table
};

/// The first multiple `n = p * m` of the prime `p >= 7` with `n >= from`, `m >= p` and
/// `gcd(m, 30) = 1`, together with the wheel index of `m`; `None` if that multiple exceeds `hi`.
///
/// Starting at `m >= p` never crosses off `p` itself, and every composite with smallest prime factor
/// `p` is `p * m` with such an `m`. Computed in `u128`, so it cannot overflow near `2^64`.
#[inline]
pub(crate) fn first_multiple(p: u64, from: u64, hi: u64) -> Option<(u64, usize)> {
    debug_assert!(p >= 7 && p % 2 == 1);
    let m = from.div_ceil(p).max(p);
    let (delta, w) = NEXT[(m % 30) as usize];
    let n = u128::from(p) * u128::from(m + u64::from(delta));
    (n <= u128::from(hi)).then_some((n as u64, usize::from(w)))
}

/// The 48 residues modulo 210 that are coprime to 210, in increasing order: the modulo-210 wheel,
/// which also skips the multiples of 7. It crosses off 48 of every 210 multiples instead of 56 (14 %
/// fewer). Used for the bucket sieving primes, where each hit costs the most, and for the small
/// ones (the densest), whose unrolled turns are seven modulo-30 turns with those hits left out.
pub(crate) const RESIDUES_210: [u64; 48] = {
    let mut table = [0u64; 48];
    let (mut m, mut i) = (1u64, 0);
    while m < 210 {
        if m % 2 != 0 && m % 3 != 0 && m % 5 != 0 && m % 7 != 0 {
            table[i] = m;
            i += 1;
        }
        m += 1;
    }
    table
};

/// Distance in bits from the multiple `p * m` with `m ≡ RESIDUES_210[w] (mod 210)` to the next one
/// the modulo-210 wheel visits, in units of `p`.
pub(crate) const STEP_210: [u8; 48] = {
    let mut table = [0u8; 48];
    let mut w = 0;
    while w < 48 {
        let next = if w == 47 {
            210 + RESIDUES_210[0]
        } else {
            RESIDUES_210[w + 1]
        };
        table[w] = ((next - RESIDUES_210[w]) / 2) as u8;
        w += 1;
    }
    table
};

/// For `r = m mod 210`: how far to advance `m` to the next residue coprime to 210, and that
/// residue's index in [`RESIDUES_210`].
const NEXT_210: [(u8, u8); 210] = {
    let mut table = [(0u8, 0u8); 210];
    let mut r = 0;
    while r < 210 {
        let mut d = 0;
        'search: loop {
            let s = ((r + d) % 210) as u64;
            let mut w = 0;
            while w < 48 {
                if RESIDUES_210[w] == s {
                    table[r] = (d as u8, w as u8);
                    break 'search;
                }
                w += 1;
            }
            d += 1;
        }
        r += 1;
    }
    table
};

/// Like [`first_multiple`] for the modulo-210 wheel (`p >= 11`): the first `n = p * m >= from` with
/// `m >= p` and `gcd(m, 210) = 1`, and the index of `m mod 210` in [`RESIDUES_210`].
#[inline]
pub(crate) fn first_multiple_210(p: u64, from: u64, hi: u64) -> Option<(u64, usize)> {
    debug_assert!(p >= 11 && p % 2 == 1);
    let m = from.div_ceil(p).max(p);
    let (delta, w) = NEXT_210[(m % 210) as usize];
    let n = u128::from(p) * u128::from(m + u64::from(delta));
    (n <= u128::from(hi)).then_some((n as u64, usize::from(w)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_walk_the_residues() {
        for w in 0..8 {
            let next = (RESIDUES[w] + 2 * STEP[w] as u64) % 30;
            assert_eq!(next, RESIDUES[(w + 1) % 8]);
        }
        assert_eq!(STEP.iter().sum::<usize>(), TURN);
    }

    #[test]
    fn first_multiple_is_smallest() {
        for p in [7u64, 11, 13, 101, 65537] {
            for from in (0..5000u64).chain([p * p - 1, p * p, p * p + 1]) {
                let want = (from.max(p * p)..)
                    .find(|n| {
                        n % p == 0 && [1, 7, 11, 13, 17, 19, 23, 29].contains(&((n / p) % 30))
                    })
                    .unwrap();
                let (n, w) = first_multiple(p, from, u64::MAX).unwrap();
                assert_eq!(n, want, "p={p} from={from}");
                assert_eq!((n / p) % 30, RESIDUES[w]);
            }
        }
        assert_eq!(first_multiple(7, 50, 48), None);
        // No overflow at the top of u64.
        assert_eq!(first_multiple(4294967291, u64::MAX - 10, u64::MAX), None);
    }

    #[test]
    fn wheel_210_walks_the_residues_and_finds_the_smallest_multiple() {
        for w in 0..48 {
            let next = (RESIDUES_210[w] + 2 * u64::from(STEP_210[w])) % 210;
            assert_eq!(next, RESIDUES_210[(w + 1) % 48]);
        }
        assert_eq!(STEP_210.iter().map(|&s| u64::from(s)).sum::<u64>(), 105);
        for p in [11u64, 13, 101, 65537] {
            for from in (0..5000u64).chain([p * p - 1, p * p, p * p + 1]) {
                let want = (from.max(p * p)..)
                    .find(|n| n % p == 0 && [2, 3, 5, 7].iter().all(|q| (n / p) % q != 0))
                    .unwrap();
                let (n, w) = first_multiple_210(p, from, u64::MAX).unwrap();
                assert_eq!(n, want, "p={p} from={from}");
                assert_eq!((n / p) % 210, RESIDUES_210[w]);
            }
        }
        assert_eq!(
            first_multiple_210(4294967291, u64::MAX - 10, u64::MAX),
            None
        );
    }
}
