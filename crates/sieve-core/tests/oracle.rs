//! The fast sieve against oracles too simple to be wrong, and against published counts.

use proptest::prelude::*;
use sieve_core::oracle::{is_prime, plain_sieve, primes_between, sieve_interval};
use sieve_core::{Counts, Edge, OddBitmap, Sieve, SieveConfig, SievingPrimes};
use std::sync::OnceLock;

/// The smallest configuration: 1 KiB L1 chunks, 4 KiB segments (65,536 numbers), so that short
/// intervals cross many segments and primes above 8,192 already go through the buckets.
fn tiny() -> SieveConfig {
    SieveConfig::new(1 << 10, 4 << 10)
}

/// 4 KiB L1 chunks and 16 KiB segments: the L1-chunked small primes (173 to 409, on the
/// modulo-210 wheel), the lower medium ones (up to 4,096, two chunks at a time) and the medium
/// ones all run on short intervals. (`tiny()` has no small primes: its bound, 102, is below the
/// first sieving prime.)
fn mid() -> SieveConfig {
    SieveConfig::new(4 << 10, 16 << 10)
}

fn configs() -> [SieveConfig; 3] {
    [tiny(), mid(), SieveConfig::default()]
}

/// Sieving primes for any u64 interval (those above 2^16 are generated as the sieve goes).
fn all_sieving_primes() -> &'static SievingPrimes {
    static PRIMES: OnceLock<SievingPrimes> = OnceLock::new();
    PRIMES.get_or_init(|| SievingPrimes::up_to(u64::MAX))
}

fn fast_primes(config: SieveConfig, lo: u64, hi: u64) -> Vec<u64> {
    let mut out = Vec::new();
    Sieve::new(config).for_each_prime(&SievingPrimes::for_hi(hi), lo, hi, |p| out.push(p));
    out
}

fn twins_of(primes: &[u64]) -> u64 {
    primes.windows(2).filter(|w| w[1] - w[0] == 2).count() as u64
}

/// How many odd numbers `[lo, hi]` holds.
fn odd_count(lo: u64, hi: u64) -> usize {
    if lo | 1 > hi {
        0
    } else {
        ((hi - (lo | 1)) / 2 + 1) as usize
    }
}

/// Checks every output of the sieve on [lo, hi] against the Miller–Rabin oracle.
fn check_interval(config: SieveConfig, sieving: &SievingPrimes, lo: u64, hi: u64) {
    let want = primes_between(lo, hi);
    let mut sieve = Sieve::new(config);
    let mut got = Vec::new();
    sieve.for_each_prime(sieving, lo, hi, |p| got.push(p));
    if got != want {
        let diff = got
            .iter()
            .zip(&want)
            .position(|(a, b)| a != b)
            .unwrap_or(got.len().min(want.len()));
        panic!(
            "primes in [{lo}, {hi}] with {config:?}: {} found, {} expected; first difference at index {diff}: found {:?}, expected {:?}",
            got.len(), want.len(), got.get(diff), want.get(diff)
        );
    }
    // `Sieve::count` is the modulo-30 kernel (`Sieve30::count_twins` with twins, on a new
    // `Sieve30`; `Sieve30::count` without, on the same one again) with the odd-only kernel's
    // edges, so that the counts of adjacent intervals combine alike. Each pass near 2^64 walks
    // all 203 million sieving primes: the kernel's results are checked through these two calls,
    // not again directly.
    let counts = sieve.count(sieving, lo, hi, true);
    assert_eq!(counts.primes, want.len() as u64, "count in [{lo}, {hi}]");
    assert_eq!(counts.twins, twins_of(&want), "twins in [{lo}, {hi}]");
    let plain = sieve.count(sieving, lo, hi, false);
    assert_eq!(
        plain.primes,
        want.len() as u64,
        "count without twins in [{lo}, {hi}]"
    );
    // The edges (the first and last odd numbers, and whether each is prime), against the
    // oracle's primes: what lets the counts of adjacent intervals combine their twins.
    let edge = |odd: u64| Edge {
        odd,
        prime: want.binary_search(&odd).is_ok(),
    };
    let edges = if lo | 1 <= hi {
        (
            Some(edge(lo | 1)),
            Some(edge(if hi % 2 == 1 { hi } else { hi - 1 })),
        )
    } else {
        (None, None)
    };
    assert_eq!((counts.first, counts.last), edges, "edges of [{lo}, {hi}]");
    assert_eq!((plain.first, plain.last), edges, "edges of [{lo}, {hi}]");
    let bitmap = sieve.bitmap(sieving, lo, hi);
    // The oracle's primes as odd-only bits (2 is not in the bitmap).
    let mut expected_bits = vec![false; odd_count(lo, hi)];
    for &p in want.iter().filter(|&&p| p != 2) {
        expected_bits[((p - (lo | 1)) / 2) as usize] = true;
    }
    assert_eq!(bitmap.bits().len(), expected_bits.len());
    assert!(
        bitmap
            .bits()
            .iter()
            .by_vals()
            .eq(expected_bits.iter().copied()),
        "bitmap of [{lo}, {hi}]"
    );
    assert_eq!(bitmap.count_primes(), want.len() as u64);
    // The odd-only count of primes and twins (`Counts::of_words`, whose popcount and twin loops
    // the sieve no longer uses for `count`), on the bitmap's words.
    let from_words = Counts::of_words(lo, hi, bitmap.words());
    assert_eq!(
        (from_words.primes, from_words.twins),
        (want.len() as u64, twins_of(&want)),
        "odd-only counts of [{lo}, {hi}]"
    );
    let round_trip = OddBitmap::from_words(lo, hi, bitmap.words().to_vec()).expect("valid words");
    assert_eq!(round_trip, bitmap);
}

#[test]
fn known_counts_up_to_1e10() {
    for (x, pi, twins) in sieve_core::oracle::PUBLISHED_COUNTS {
        let counts = sieve_core::count(0, x, true);
        assert_eq!((counts.primes, counts.twins), (pi, twins), "x = {x}");
    }
    assert_eq!(sieve_core::count_primes(0, 1 << 32), 203_280_221);
}

#[test]
#[ignore = "slow: minutes on one core; scripts/test checks these counts through the release binary (tests/cli.rs)"]
fn known_counts_1e11_1e12() {
    for (x, pi, twins) in [
        (100_000_000_000u64, 4_118_054_813u64, 224_376_048u64),
        (1_000_000_000_000, 37_607_912_018, 1_870_585_220),
    ] {
        let counts = sieve_core::count(0, x, true);
        assert_eq!((counts.primes, counts.twins), (pi, twins), "x = {x}");
    }
}

#[test]
fn small_intervals_against_plain_sieve() {
    let all = plain_sieve(300_000);
    for config in configs() {
        for hi in (0..600).chain([65_535, 65_536, 65_537, 131_071, 131_072, 299_999]) {
            let want: Vec<u64> = all.iter().copied().filter(|&p| p <= hi).collect();
            assert_eq!(fast_primes(config, 0, hi), want, "[0, {hi}]");
        }
    }
}

#[test]
fn tiny_ranges_and_low_starts() {
    for config in configs() {
        let sieving = SievingPrimes::for_hi(100_000);
        for lo in 0..300 {
            for hi in lo..lo + 12 {
                check_interval(config, &sieving, lo, hi);
            }
        }
        for lo in [0, 1, 2, 3] {
            check_interval(config, &sieving, lo, 99_999);
        }
    }
}

#[test]
fn segment_and_word_edges() {
    // Intervals starting and ending at, and one or two beside, word (128) and segment edges.
    let span = tiny().segment_span();
    let sieving = SievingPrimes::for_hi(1 << 40);
    for base in [0u64, 1 << 20, 1_000_000_007 * 128, 1 << 39] {
        for k in [1u64, 2, 3] {
            let edge = base + k * span;
            for d in [0u64, 1, 2, 127, 128, 129] {
                for lo in [edge.saturating_sub(d), edge + d] {
                    check_interval(tiny(), &sieving, lo, lo + span + 2 * d);
                    check_interval(tiny(), &sieving, lo.saturating_sub(300), edge + d);
                }
            }
        }
    }
}

/// The bucket ring at its smallest: with `tiny()` (32,768-bit segments) and `sqrt(hi)` about
/// 10,955, a bucket prime jumps up to two segments ahead, the reach is 3 and the ring 4 slots; a
/// ring one slot shorter in reach (2 slots) files primes into a slot still pending for another
/// segment. Many segments, so that every prime is filed on several times.
#[test]
fn bucket_ring_at_its_smallest() {
    let (lo, hi) = (120_000_000, 120_300_000);
    check_interval(tiny(), &SievingPrimes::for_hi(hi), lo, hi);
}

/// Every output at the top of `u64`: a million numbers up to `2^64 - 1`, the last number alone,
/// from the largest prime (`2^64 - 59`) up, and the even number below it alone, `[2^64 - 1 - a,
/// 2^64 - 1 - b]` for each `(a, b)`, in each configuration. Each interval walks all 203 million
/// sieving primes four times: one test per interval and configuration, so that the test threads
/// share them evenly.
macro_rules! top_of_u64 {
    ($($name:ident: $config:expr, $a:expr, $b:expr;)*) => {
        $(
            #[test]
            fn $name() {
                let top = u64::MAX;
                check_interval($config, all_sieving_primes(), top - $a, top - $b);
            }
        )*
    };
}

top_of_u64! {
    top_of_u64_tiny_last_million: tiny(), 1_000_000, 0;
    top_of_u64_tiny_last_number: tiny(), 0, 0;
    top_of_u64_tiny_from_the_largest_prime: tiny(), 58, 0;
    top_of_u64_tiny_even_below_it: tiny(), 59, 59;
    top_of_u64_mid_last_million: mid(), 1_000_000, 0;
    top_of_u64_mid_last_number: mid(), 0, 0;
    top_of_u64_mid_from_the_largest_prime: mid(), 58, 0;
    top_of_u64_mid_even_below_it: mid(), 59, 59;
    top_of_u64_default_last_million: SieveConfig::default(), 1_000_000, 0;
    top_of_u64_default_last_number: SieveConfig::default(), 0, 0;
    top_of_u64_default_from_the_largest_prime: SieveConfig::default(), 58, 0;
    top_of_u64_default_even_below_it: SieveConfig::default(), 59, 59;
}

#[test]
fn top_of_u64_published() {
    let sieving = all_sieving_primes();
    let top = u64::MAX;
    let mut sieve = Sieve::new(SieveConfig::default());
    let mut last = 0;
    sieve.for_each_prime(sieving, top - 1000, top, |p| last = p);
    assert_eq!(last, 18_446_744_073_709_551_557);
    // Published: 2,253,052 primes in [2^64 - 10^8, 2^64 - 1].
    assert_eq!(
        sieve.count(sieving, top - 99_999_999, top, false).primes,
        2_253_052
    );
}

#[test]
fn counts_combine_across_any_split() {
    let sieving = SievingPrimes::for_hi(10_000_000);
    let mut sieve = Sieve::new(tiny());
    let whole = sieve.count(&sieving, 0, 10_000_000, true);
    for split in [
        1u64, 2, 3, 4, 5, 6, 7, 8, 65_535, 65_536, 65_537, 1_000_037, 1_000_038, 1_000_039,
    ] {
        let a = sieve.count(&sieving, 0, split - 1, true);
        let b = sieve.count(&sieving, split, 10_000_000, true);
        assert_eq!(a.combine(b), whole, "split at {split}");
    }
    // Many pieces, including single numbers, reduced left to right and as a tree.
    let cuts = [
        0u64, 3, 4, 5, 6, 7, 11, 12, 13, 17, 18, 19, 100, 101, 102, 103, 5000,
    ];
    let pieces: Vec<_> = cuts
        .windows(2)
        .map(|w| sieve.count(&sieving, w[0], w[1] - 1, true))
        .collect();
    let left = pieces.iter().copied().reduce(|a, b| a.combine(b)).unwrap();
    let (l, r) = pieces.split_at(pieces.len() / 2);
    let tree = l
        .iter()
        .copied()
        .reduce(|a, b| a.combine(b))
        .unwrap()
        .combine(r.iter().copied().reduce(|a, b| a.combine(b)).unwrap());
    let direct = sieve.count(&sieving, 0, 4999, true);
    assert_eq!(left, direct);
    assert_eq!(tree, direct);
}

#[test]
fn bitmaps_concatenate_word_by_word() {
    let sieving = SievingPrimes::for_hi(1 << 30);
    let mut sieve = Sieve::new(tiny());
    let whole = sieve.bitmap(&sieving, 1 << 29, (1 << 29) + 1_000_000);
    let mut joined = sieve.bitmap(&sieving, 1 << 29, (1 << 29) + 128 * 1001 - 1);
    let second = sieve.bitmap(&sieving, (1 << 29) + 128 * 1001, (1 << 29) + 1_000_000);
    let words_before = joined.words().len();
    joined.append(&second).unwrap();
    assert_eq!(
        &joined.words()[words_before..],
        second.words(),
        "aligned windows join word by word"
    );
    assert_eq!(joined, whole);
    // Unaligned joins fall back to a bit copy and are still exact.
    let mut a = sieve.bitmap(&sieving, 1 << 29, (1 << 29) + 1001);
    a.append(&sieve.bitmap(&sieving, (1 << 29) + 1002, (1 << 29) + 1_000_000))
        .unwrap();
    assert_eq!(a, whole);
}

fn interval() -> impl Strategy<Value = (u64, u64)> {
    let lo = prop_oneof![
        0u64..1_000_000,
        0u64..(1 << 32),
        0u64..(1 << 44),
        (1u64 << 44)..(1 << 50),
    ];
    (lo, 0u64..150_000).prop_map(|(lo, len)| (lo, lo + len))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn random_intervals_match_oracle((lo, hi) in interval(), which in 0usize..3) {
        let config = configs()[which];
        check_interval(config, &SievingPrimes::for_hi(hi), lo, hi);
    }

}

proptest! {
    // Each case near the top walks all 203 million sieving primes three times: keep them few.
    #![proptest_config(ProptestConfig { cases: 10, ..ProptestConfig::default() })]

    #[test]
    fn random_intervals_near_the_top(offset in 0u64..(1 << 40), len in 0u64..40_000, tiny_config in any::<bool>()) {
        let hi = u64::MAX - offset;
        let config = if tiny_config { tiny() } else { SieveConfig::default() };
        check_interval(config, all_sieving_primes(), hi.saturating_sub(len), hi);
    }
}

/// A sieve left early by `try_for_each_window` (after its first window, in every class of sieving
/// prime and near 2^64) gives exact results on the next intervals: no state of the abandoned
/// interval leaks into them.
#[test]
fn a_sieve_left_early_stays_exact() {
    use std::ops::ControlFlow;
    for config in configs() {
        let mut sieve = Sieve::new(config);
        for (lo, hi) in [
            (0, 3_000_000),
            (1 << 40, (1 << 40) + 5_000_000),
            (u64::MAX - 5_000_000, u64::MAX),
        ] {
            let sieving = SievingPrimes::for_hi(hi);
            let mut windows = 0;
            let left = sieve.try_for_each_window(&sieving, lo, hi, |_| {
                windows += 1;
                ControlFlow::Break(windows)
            });
            assert_eq!(left, ControlFlow::Break(1));
            let (a, b) = (lo + 1_000, lo + 200_000);
            let got = sieve.count(&SievingPrimes::for_hi(b), a, b, false).primes;
            assert_eq!(
                got,
                primes_between(a, b).len() as u64,
                "[{a}, {b}] after [{lo}, {hi}]"
            );
        }
    }
}

/// Configurations the slack must hold for: L1 chunks as large as the segment (small primes' turns
/// then run furthest past it), and adaptive segments below the largest, across several segments;
/// and the turns that reach furthest into the slack, medium primes just below 1/16 of the
/// segment's bits with turns that start at its last bits (`tiny()`: primes up to 2,048 there).
#[test]
fn slack_reach_in_every_configuration() {
    let cases = [
        (SieveConfig::new(4 << 10, 4 << 10), 0, 600_000),
        (SieveConfig::new(8 << 10, 8 << 10), 3_999_000, 4_300_000),
        // The turn primes' bound set by sqrt(hi) (2039, just below the medium bound
        // 32768 / 16 = 2048): the first segment is full and holds 2039^2, so 2039's turns run up
        // to 12 x 2039 bits past it, inside the slack (sized here by the small primes' turns,
        // 104 x 315 bits).
        (SieveConfig::new(4 << 10, 4 << 10), 4_092_032, 4_161_599),
        // Adaptive, largest 512 KiB: 16 KiB segments here (4 x L1), many of them.
        (SieveConfig::for_caches(4 << 10, 512 << 10), 0, 700_000),
        (
            SieveConfig::for_caches(2 << 10, 256 << 10),
            5_000_000,
            5_400_000,
        ),
        (tiny(), 4_100_000, 4_500_000),
    ];
    for (config, lo, hi) in cases {
        check_interval(config, &SievingPrimes::for_hi(hi), lo, hi);
    }
}

/// Small primes at the top of their class, whose modulo-210 turns reach furthest (`104p` bits past
/// their start): for each, a turn placed to start in the last bits of a segment, with the turn's
/// last hit `p (M + 208)` a composite that nothing else crosses off (`M + 208` prime). The class's
/// bound keeps that hit inside the next segment, whose head the slack holds; a bound one prime too
/// high would lose it, and the sieve would report the composite as prime.
#[test]
fn small_prime_turns_end_in_the_next_segment() {
    let sieving = all_sieving_primes();
    for config in [
        SieveConfig::new(4 << 10, 4 << 10),
        SieveConfig::new(8 << 10, 8 << 10),
        SieveConfig::new(32 << 10, 32 << 10),
        SieveConfig::new(8 << 10, 16 << 10),
    ] {
        let seg_bits = 8 * config.segment_bytes() as u64;
        let l1_bits = 8 * config.l1_bytes() as u64;
        let bound = (l1_bits / 80).min(seg_bits / 104); // the class's bound, and above it
        for p in ((bound - 40)..=(bound + 40)).filter(|&p| is_prime(p)) {
            // M = 1 (mod 210) starts a turn; M + 208 is the cofactor of its last hit.
            let m = (((1u64 << 32) / p) / 210..)
                .map(|k| 210 * k + 1)
                .find(|m| is_prime(m + 208))
                .expect("a prime cofactor");
            let start = p * m;
            // The turn starts 50 to 113 bits before the end of segment 0.
            let lo = (start - 2 * (seg_bits - 50)) & !127;
            let hi = lo + 2 * 3 * seg_bits;
            assert!(p * (m + 208) <= hi && start > lo + seg_bits);
            check_interval(config, sieving, lo, hi);
        }
    }
}

/// Every edge of the L1 chunks, the pairs of chunks (lower medium primes) and the segments: last
/// segments of 1, 63-65 bits, one chunk and a pair of chunks each side, a pair and a half, three
/// pairs and one bit, and full, after zero to two full segments, for every L1 chunk from 1 to
/// 32 KiB in segments of 4 to 32 KiB (up to 16 pairs per segment, and segments of one chunk), and
/// three adaptive configurations; checked against a plain sieve of the interval.
#[test]
fn every_chunk_pair_and_segment_edge() {
    let base = plain_sieve(1 << 21);
    let mut configs = Vec::new();
    for seg in [4usize, 8, 16, 32] {
        for l1 in [1usize, 2, 4, 8, 16, 32]
            .into_iter()
            .filter(|&l1| l1 <= seg)
        {
            configs.push(SieveConfig::new(l1 << 10, seg << 10));
        }
    }
    for l1 in [4usize, 2, 1] {
        configs.push(SieveConfig::for_caches(l1 << 10, 8 << 10));
    }
    for config in configs {
        let mut sieve = Sieve::new(config);
        let l1 = 8 * config.l1_bytes();
        for lo in [0u64, (1 << 30) + 128 * 7, (1 << 40) + 128 * 1_000_003] {
            for full in 0u64..3 {
                let guess_hi = lo + 2 * (full + 1) * 8 * config.segment_bytes() as u64;
                let seg = 8 * config.segment_bytes_for(guess_hi);
                let pair = 2 * l1;
                let mut tails = vec![
                    1,
                    63,
                    64,
                    65,
                    l1 - 1,
                    l1,
                    l1 + 1,
                    pair - 1,
                    pair,
                    pair + 1,
                    pair + l1 + 37,
                    3 * pair + 1,
                    seg - l1 + 5,
                    seg - 1,
                    seg,
                ];
                tails.retain(|&t| t >= 1 && t <= seg);
                tails.sort_unstable();
                tails.dedup();
                for tail in tails {
                    let hi = lo + 2 * (full * seg as u64 + tail as u64) - 1;
                    if 8 * config.segment_bytes_for(hi) != seg {
                        continue; // the adaptive segment changed with hi: not this edge
                    }
                    let mut got = Vec::new();
                    sieve.for_each_prime(&SievingPrimes::for_hi(hi), lo, hi, |p| got.push(p));
                    assert!(
                        got == sieve_interval(&base, lo, hi),
                        "{config:?} [{lo}, {hi}]: {full} full segments and {tail} bits"
                    );
                }
            }
        }
    }
}
