//! `erato --test`: the engine against published counts and the Miller–Rabin oracle, in well under a
//! minute on two cores.

use sieve_core::{oracle, SievingPrimes};

use crate::engine::Engine;

/// Runs every check, printing one line each; returns whether all passed.
pub fn run(engine: &Engine, out: &mut dyn std::io::Write) -> std::io::Result<bool> {
    let mut ok = true;
    let mut check =
        |name: String, got: (u64, u64), want: (u64, u64), out: &mut dyn std::io::Write| {
            let pass = got == want;
            ok &= pass;
            writeln!(
                out,
                "{} {name}: {} primes, {} twin pairs{}",
                if pass { "PASS" } else { "FAIL" },
                got.0,
                got.1,
                if pass {
                    String::new()
                } else {
                    format!(" (expected {}, {})", want.0, want.1)
                }
            )
        };
    for (x, pi, twins) in oracle::PUBLISHED_COUNTS {
        let c = engine.count(&SievingPrimes::for_hi(x), 0, x, true);
        check(format!("[0, {x}]"), (c.primes, c.twins), (pi, twins), out)?;
    }
    let c = engine.count(&SievingPrimes::for_hi(1 << 32), 0, 1 << 32, false);
    check("[0, 2^32]".into(), (c.primes, 0), (203_280_221, 0), out)?;
    // Intervals checked number by number with Miller–Rabin, at several heights up to the top of u64.
    let top = SievingPrimes::up_to(u64::MAX);
    for lo in [1u64 << 40, 1 << 50, 1 << 60, u64::MAX - 200_000] {
        let hi = lo.saturating_add(200_000);
        let want = oracle::primes_between(lo, hi);
        let twins = want.windows(2).filter(|w| w[1] - w[0] == 2).count() as u64;
        let c = engine.count(&top, lo, hi, true);
        check(
            format!("[{lo}, {hi}]"),
            (c.primes, c.twins),
            (want.len() as u64, twins),
            out,
        )?;
    }
    Ok(ok)
}

/// SplitMix64: a small, well-mixed generator; the stress test prints its seed to reproduce a run.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }
}

/// `erato --stress-test SECONDS`: random intervals across the whole `u64` range, at random heights
/// (the height's bit length is uniform, so small and huge numbers are equally likely) and random
/// lengths up to 60,000, counted by the engine on all threads and checked number by number against
/// Miller–Rabin, until `seconds` have passed. Prints one line per 50 intervals and a summary;
/// returns whether everything agreed.
pub fn stress(
    engine: &Engine,
    seconds: f64,
    seed: u64,
    out: &mut dyn std::io::Write,
) -> std::io::Result<bool> {
    let began = std::time::Instant::now();
    writeln!(out, "stress test: {seconds} s, seed {seed} (erato --stress-test {seconds} --seed {seed} repeats it)")?;
    let sieving = SievingPrimes::up_to(u64::MAX);
    let mut rng = SplitMix64(seed);
    let (mut intervals, mut numbers, mut failures) = (0u64, 0u64, 0u64);
    while began.elapsed().as_secs_f64() < seconds {
        let bits = rng.below(65) as u32;
        let lo = if bits == 0 {
            0
        } else {
            rng.next() >> (64 - bits)
        };
        let hi = lo.saturating_add(rng.below(60_000));
        let want = oracle::primes_between(lo, hi);
        let twins = want.windows(2).filter(|w| w[1] - w[0] == 2).count() as u64;
        let got = engine.count(&sieving, lo, hi, true);
        intervals += 1;
        numbers += hi - lo + 1;
        if (got.primes, got.twins) != (want.len() as u64, twins) {
            failures += 1;
            writeln!(
                out,
                "FAIL [{lo}, {hi}]: {} primes, {} twin pairs; Miller-Rabin: {}, {twins}",
                got.primes,
                got.twins,
                want.len()
            )?;
        }
        if intervals % 50 == 0 {
            writeln!(
                out,
                "{intervals} intervals, {numbers} numbers checked, {failures} failed"
            )?;
        }
    }
    writeln!(out, "stress test: {intervals} intervals and {numbers} numbers in {:.1} s: {} passed, {failures} failed", began.elapsed().as_secs_f64(), intervals - failures)?;
    Ok(failures == 0)
}
