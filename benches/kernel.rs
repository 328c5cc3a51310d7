//! Throughput of the single-thread sieve kernel, in numbers sieved per second.
//!
//! `cargo bench --bench kernel`. For the comparison with primesieve, which is what the speed goals
//! are stated against, run `benches/compare-primesieve.sh`: it prints ratios measured side by side.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use sieve_core::{Sieve, Sieve30, SieveConfig, SievingPrimes};

/// Counting over two long intervals: from 0 (small sieving primes dominate) and from 1e12 (bucket
/// primes matter).
fn count(c: &mut Criterion) {
    let mut group = c.benchmark_group("count");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10));
    for (name, lo, hi) in [
        ("0..1e9", 0u64, 1_000_000_000u64),
        ("1e12..1e12+1e9", 1_000_000_000_000, 1_001_000_000_000),
    ] {
        let primes = SievingPrimes::for_hi(hi);
        let mut sieve = Sieve::new(SieveConfig::default());
        group.throughput(Throughput::Elements(hi - lo));
        group.bench_function(name, |b| {
            b.iter(|| black_box(sieve.count(&primes, black_box(lo), hi, false).primes))
        });
    }
    group.finish();
}

/// One segment near 1e12 at several segment sizes (the L1 chunk stays 32 KiB).
fn segment(c: &mut Criterion) {
    let mut group = c.benchmark_group("segment");
    let lo = 1_000_000_000_000u64;
    for kib in [64usize, 128, 256, 512, 1024] {
        let config = SieveConfig::new(32 << 10, kib << 10);
        let hi = lo + config.segment_span() - 1;
        let primes = SievingPrimes::for_hi(hi);
        let mut sieve = Sieve::new(config);
        group.throughput(Throughput::Elements(config.segment_span()));
        group.bench_with_input(
            BenchmarkId::from_parameter(format!("{kib}KiB")),
            &hi,
            |b, &hi| b.iter(|| black_box(sieve.count(&primes, black_box(lo), hi, false).primes)),
        );
    }
    group.finish();
}

/// The two kernels on the same counts: the odd-only one (its windows' popcount, as the listing,
/// bitmap and twin paths use it) against the modulo-30 one that `Sieve::count` runs.
fn kernels(c: &mut Criterion) {
    let mut group = c.benchmark_group("kernels");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10));
    for (name, lo, hi) in [
        ("0..1e9", 0u64, 1_000_000_000u64),
        ("1e12..1e12+1e9", 1_000_000_000_000, 1_001_000_000_000),
    ] {
        let primes = SievingPrimes::for_hi(hi);
        let config = SieveConfig::for_caches(32 << 10, 1 << 20);
        let mut odd = Sieve::new(config);
        let mut mod30 = Sieve30::new(config);
        group.throughput(Throughput::Elements(hi - lo));
        group.bench_function(format!("odd-only {name}"), |b| {
            b.iter(|| {
                let mut n = 0u64;
                odd.for_each_window(&primes, black_box(lo), hi, |w| {
                    n += w
                        .words()
                        .iter()
                        .map(|x| u64::from(x.count_ones()))
                        .sum::<u64>()
                });
                black_box(n)
            })
        });
        group.bench_function(format!("modulo-30 {name}"), |b| {
            b.iter(|| black_box(mod30.count(&primes, black_box(lo), hi)))
        });
    }
    group.finish();
}

criterion_group!(benches, count, segment, kernels);
criterion_main!(benches);
