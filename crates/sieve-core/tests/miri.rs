//! Small intervals through every path of the kernel, sized for Miri (`cargo +nightly miri test -p
//! sieve-core --test miri`), which checks the unsafe code for undefined behaviour: the byte-mask
//! wheel turns, the bucket pool's raw pointers, the pre-sieve and counting copies. Each interval is
//! also checked against the oracle, so this runs as an ordinary test too.
//!
//! The tiny configuration (1 KiB chunks, 4 KiB segments of 32,768 bits) puts sieving primes in
//! most classes on short intervals: lower medium (up to 1,024, two 8,192-bit chunks at a time),
//! medium (up to 2,048), sparse (up to 8,191) and bucket primes; intervals above `2^32` need
//! sieving primes above `2^16`, which are generated. Its small-prime bound (1/80 of a chunk's
//! bits, 102) is below the first sieving prime, so the small primes' modulo-210 turns run in the
//! larger configurations of [`l1_chunks_and_adaptive_segments`], up to the segment's end and into
//! the slack.

use sieve_core::oracle::{plain_sieve, primes_between, sieve_interval};
use sieve_core::{Counts, Sieve, Sieve30, SieveConfig, SievingPrimes};

fn check(config: SieveConfig, lo: u64, hi: u64) {
    let sieving = SievingPrimes::for_hi(hi);
    let mut sieve = Sieve::new(config);
    let mut got = Vec::new();
    sieve.for_each_prime(&sieving, lo, hi, |p| got.push(p));
    // Under Miri the interval sieve is the oracle: Miller–Rabin's `u128` products took most of
    // Miri's time here. Outside Miri both are checked to agree.
    let want = sieve_interval(&plain_sieve(hi.isqrt()), lo, hi);
    if !cfg!(miri) {
        assert_eq!(
            want,
            primes_between(lo, hi),
            "the two oracles on [{lo}, {hi}]"
        );
    }
    assert_eq!(got, want, "primes in [{lo}, {hi}] with {config:?}");
    let counts: Counts = sieve.count(&sieving, lo, hi, true);
    assert_eq!(counts.primes, want.len() as u64);
    let twins = want.windows(2).filter(|w| w[1] - w[0] == 2).count() as u64;
    assert_eq!(counts.twins, twins);
    // The modulo-30 kernel: its turns' raw byte writes, the sparse and bucket lists (not under
    // Miri for the generated sieving primes: safe code, and most of Miri's time there).
    if cfg!(miri) && hi > 1 << 32 {
        return;
    }
    assert_eq!(
        Sieve30::new(config).count(&sieving, lo, hi),
        want.len() as u64,
        "modulo-30 count in [{lo}, {hi}] with {config:?}"
    );
}

fn tiny() -> SieveConfig {
    SieveConfig::new(1 << 10, 4 << 10)
}

/// Small numbers (65,536 per segment): all classes but buckets. The intervals near 65,536 are one
/// segment each (segments start at `lo` rounded down to 128); `[0, 70_000]` is two, so small and
/// lower medium primes (173 to 263) are filed on to a next segment, their turns write into the
/// slack through the raw byte view, and the slack's head moves to the front.
#[test]
fn small_numbers_across_segments() {
    check(tiny(), 0, 3_000);
    // One segment of 24,676 bits: one and a half pairs of chunks, so the lower medium primes
    // (257 to 1,024 of the sieving primes up to 1,047) are crossed off at the pair's end (bit
    // 16,384) and again at the segment's ragged end.
    check(tiny(), 1 << 20, (1 << 20) + 2 * 24_676 - 1);
    check(tiny(), 65_536 - 1_000, 65_536 + 1_000);
    check(tiny(), 0, 70_000);
}

/// Bucket primes (>= 8,192) hit, those below 32,768 several times in a segment (re-filed into the
/// bucket being emptied): sqrt(hi) above 2^15, over two segments (segments start at `lo`
/// rounded down to 128), so that primes are also filed into another slot of the ring.
#[test]
fn bucket_primes() {
    check(tiny(), (1 << 31) - 700, (1 << 31) + 66_000);
}

/// Medium primes' turns across the modulo-30 kernel's segment ends where there are no bucket
/// primes: its tiny segments are 4 KiB (122,880 numbers) and the slack behind them a quarter
/// segment (1,088 bytes with its margin), so a turn of a medium prime up to 1,088 that spans a
/// segment's end ends in the slack, and one of a larger prime (1,091 to 1,499 here) that would
/// reach past the slack is cut at the end and finished by the next segment. One segment end
/// (Miri takes minutes per segment here).
#[test]
fn medium_turns_end_in_the_slack_or_are_cut() {
    let (lo, hi): (u64, u64) = (1 << 21, (1 << 21) + 122_880 + 30_000);
    assert!(
        hi.isqrt() > 1_090 && hi.isqrt() < 8_192,
        "medium primes above the slack, no bucket primes"
    );
    check_mod30(lo, hi);
}

/// The modulo-30 kernel's count of `[lo, hi]` in the tiny configuration against the interval
/// sieve's (alone: [`check`]'s other kernels would double Miri's minutes here).
fn check_mod30(lo: u64, hi: u64) {
    let want = sieve_interval(&plain_sieve(hi.isqrt()), lo, hi).len() as u64;
    assert_eq!(
        Sieve30::new(tiny()).count(&SievingPrimes::for_hi(hi), lo, hi),
        want,
        "modulo-30 count in [{lo}, {hi}]"
    );
}

/// The same where there are bucket primes (above 8,191 here): the slack is then 3/8 of a segment
/// (1,600 bytes with its margin), so the turns of the medium primes from 1,601 to 2,048 that
/// would reach past it are cut at the segment's end and finished by the next segment. One
/// segment end.
#[test]
fn medium_turns_cut_where_there_are_bucket_primes() {
    let (lo, hi): (u64, u64) = (1 << 27, (1 << 27) + 122_880 + 30_000);
    assert!(hi.isqrt() > 8_192, "bucket primes");
    check_mod30(lo, hi);
}

/// Generated sieving primes (above 2^16): sqrt(hi) just above 2^16.
#[test]
fn generated_sieving_primes() {
    check(
        tiny(),
        (1 << 32) + (1 << 18) - 500,
        (1 << 32) + (1 << 18) + 500,
    );
}

/// Larger L1 chunks with small primes (modulo-210 turns): 8 KiB chunks (small primes up to 819,
/// and no medium class: the pair of chunks is the segment); chunks as large as the segment, whose
/// small primes (173 to 263 here, of up to 313) make turns that run past the first segment's end
/// up to 27,000 bits into the slack (the next segment's head; the oracle tests take the class's
/// largest primes); and the adaptive configuration, which picks its own segment.
#[test]
fn l1_chunks_and_adaptive_segments() {
    check(SieveConfig::new(8 << 10, 16 << 10), 1_000_000, 1_003_000);
    check(SieveConfig::new(4 << 10, 4 << 10), 0, 70_000);
    check(SieveConfig::for_caches(8 << 10, 64 << 10), 0, 5_000);
}
