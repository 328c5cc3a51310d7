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
    // shared/reference/prime-counts.md
    let table: [(u64, u64, u64); 10] = [
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
    for (x, pi, twins) in table {
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
