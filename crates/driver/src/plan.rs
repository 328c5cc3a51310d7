//! How `[lo, hi]` is cut: into one contiguous slice per rank, and each slice into chunks that threads
//! take dynamically.
//!
//! Every cut point is a multiple of 128, so the odd-only bitmap of each piece after the first starts
//! on a word boundary and the pieces' words join with no bit shifting.

/// Rounds `n` down to a multiple of 128.
fn align(n: u64) -> u64 {
    n & !127
}

/// The smallest chunk worth sieving on its own near `hi`: `256 sqrt(hi)`, and at least 2^26, which
/// keeps small ranges from being cut into crumbs. A chunk starts by generating the
/// `pi(sqrt(hi))` sieving primes and finding the first multiple of each, about 150 instructions a
/// prime near 10^15 against about 2.5 a number sieved, so that set-up is about `3.5 / k` of a
/// chunk `k sqrt(hi)` wide: 1.4 % at this width. With `64 sqrt(hi)` (5 %), one thread counting
/// `[10^15, 10^15 + 10^10]` took four chunks instead of one and 3.4 % more instructions
/// (valgrind's cachegrind).
pub fn min_chunk(hi: u64) -> u64 {
    (256 * hi.isqrt()).max(1 << 26)
}

/// Cuts `[lo, hi]` into `parts` contiguous pieces of about equal width, every cut a multiple of 128;
/// pieces may be empty (`None`) when the range has fewer words than parts. Sieving cost per number
/// varies only as log log, so equal widths are equal work.
pub fn split(lo: u64, hi: u64, parts: usize) -> Vec<Option<(u64, u64)>> {
    assert!(lo <= hi && parts > 0);
    let width = u128::from(hi - lo) + 1;
    pieces(
        lo,
        hi,
        (1..parts).map(|i| (u128::from(lo) + width * i as u128 / parts as u128) as u64),
    )
}

/// The pieces of `[lo, hi]` cut near `targets` (increasing): each cut rounded down to a multiple of
/// 128 but never below the one before (or `lo`); a piece between equal cuts is empty (`None`).
fn pieces(lo: u64, hi: u64, targets: impl Iterator<Item = u64>) -> Vec<Option<(u64, u64)>> {
    let mut cuts = vec![u128::from(lo)];
    for at in targets {
        let aligned = u128::from(align(at.clamp(lo, hi))).max(*cuts.last().expect("non-empty"));
        cuts.push(aligned);
    }
    cuts.push(u128::from(hi) + 1);
    cuts.windows(2)
        .map(|w| (w[0] < w[1]).then(|| (w[0] as u64, (w[1] - 1) as u64)))
        .collect()
}

/// Estimated sieving cost of one number near `x`, in arbitrary units. Crossing off costs
/// `sum 1/p` over the sieving primes above the pre-sieve (`ln ln sqrt(x) - ln ln 167`); those above
/// 2^18 go through the buckets, where a hit costs about 7 times as much (an L2 miss and a
/// mispredicted branch); 0.05 stands for pre-sieving and counting. Calibrated on one core here:
/// `[5e9, 1e10]` costs 1.1 times `[0, 5e9]`, and `[1e12, 1e12 + 1e10]` twice `[0, 1e10]`.
fn cost_density(x: f64) -> f64 {
    const BUCKET_WEIGHT: f64 = 7.0;
    let s = |y: f64| (y.max(167.0).ln().ln() - 167f64.ln().ln()).max(0.0);
    let root = x.max(1.0).sqrt();
    let medium = 262_144f64;
    0.05 + s(root.min(medium)) + BUCKET_WEIGHT * (s(root) - s(medium)).max(0.0)
}

/// Cuts `[lo, hi]` into `parts` contiguous pieces of about equal estimated cost (`cost_density`),
/// every cut a multiple of 128; pieces may be empty (`None`) when the range has fewer words than
/// parts. Used for rank slices, where no work moves between ranks once cut.
pub fn split_by_cost(lo: u64, hi: u64, parts: usize) -> Vec<Option<(u64, u64)>> {
    assert!(lo <= hi && parts > 0);
    if parts == 1 {
        return pieces(lo, hi, std::iter::empty()); // one rank: nothing to weigh (4096 samples)
    }
    const SAMPLES: usize = 4096;
    let (a, b) = (lo as f64, hi as f64 + 1.0);
    // Cumulative cost at SAMPLES + 1 evenly spaced points, by the midpoint rule.
    let step = (b - a) / SAMPLES as f64;
    let mut cumulative = Vec::with_capacity(SAMPLES + 1);
    cumulative.push(0.0);
    for i in 0..SAMPLES {
        let last = cumulative[i];
        cumulative.push(last + cost_density(a + (i as f64 + 0.5) * step) * step);
    }
    let total = cumulative[SAMPLES];
    let targets = (1..parts).map(|k| {
        let target = total * k as f64 / parts as f64;
        let i = cumulative
            .partition_point(|&c| c < target)
            .clamp(1, SAMPLES);
        let within = (target - cumulative[i - 1])
            / (cumulative[i] - cumulative[i - 1]).max(f64::MIN_POSITIVE);
        (a + (i as f64 - 1.0 + within.clamp(0.0, 1.0)) * step).clamp(a, b - 1.0) as u64
    });
    pieces(lo, hi, targets)
}

/// The narrowest chunk worth giving a thread of its own: below this, starting a chunk costs more
/// than sharing it saves (primesieve's `MIN_THREAD_DISTANCE` is 10^7).
pub const MIN_THREAD_CHUNK: u64 = 1 << 23;

/// Cuts a rank's slice into chunks for `threads` threads: enough chunks (about 16 per thread) that
/// dynamic scheduling evens out, none smaller than [`min_chunk`] unless that would leave threads
/// idle; then every thread gets one chunk, as long as chunks stay at least [`MIN_THREAD_CHUNK`]
/// wide. High up, where one chunk's set-up (finding the first multiple of each of up to 2 x 10^8
/// sieving primes) is long, a slice narrower than `threads` minimum chunks is thus still cut once
/// per thread, as primesieve does.
pub fn chunks(lo: u64, hi: u64, threads: usize) -> Vec<(u64, u64)> {
    let width = hi - lo;
    let threads = threads as u64;
    let mut wanted = (width / min_chunk(hi))
        .max(threads)
        .min(width / MIN_THREAD_CHUNK)
        .clamp(1, 16 * threads);
    // With only a few chunks per thread, a thread that gets one more than the others finishes a
    // whole chunk late (5 chunks on 2 threads: 20 % of the time idle on one of them): use a whole
    // number of chunks per thread.
    if wanted > threads && wanted < 4 * threads {
        wanted -= wanted % threads;
    }
    split(lo, hi, wanted as usize)
        .into_iter()
        .flatten()
        .collect()
}

/// How a listing's windows are sieved (see [`ListPlan`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WindowSieving {
    /// Every window is cut among the ranks, and each rank's share among its threads; every piece
    /// is sieved from scratch. Chosen when windows are wide against the cost of starting a sieve
    /// (the first multiple of every sieving prime), or when there is only one window.
    Shared,
    /// Each rank sieves its slice (`slices[rank]`, cut by cost once) with one sieve that runs
    /// from the slice's start to its end and keeps its state (sieving primes, buckets) from one
    /// window to the next; every window lies in one rank's slice, and only that rank sends it.
    /// Chosen when windows are too narrow to cut, where set-up per piece would be paid again and
    /// again (`2^64 - 10^9` with `--max-memory 3M`: 60 windows, each setting up 2 x 10^8 primes),
    /// and whenever there is one thread in all and more than one window.
    Streamed {
        /// Each rank's slice.
        slices: Vec<Option<(u64, u64)>>,
        /// Windows before each rank's first, and (last entry) the total.
        first_window: Vec<u64>,
    },
}

/// The windows of a listing, computed once and read by the engine, the gather and the progress
/// bar. Window `k` covers numbers `[window(k).0, window(k).1]`, in increasing order; every window
/// starts on a multiple of 128 (the first at `lo`), so windows join word by word.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListPlan {
    /// First number.
    pub lo: u64,
    /// Last number.
    pub hi: u64,
    /// Numbers per window (a multiple of 128).
    pub window_numbers: u64,
    /// How windows are sieved.
    pub sieving: WindowSieving,
}

impl ListPlan {
    /// The plan for `[lo, hi]` on `ranks` ranks of `threads` threads, with windows of at most
    /// `window_words` odd-only words. `slices` gives each rank's slice (rank 0's cut, which every
    /// rank must use; see [`split_by_cost`]).
    pub fn new(
        lo: u64,
        hi: u64,
        window_words: u64,
        threads: usize,
        slices: Vec<Option<(u64, u64)>>,
    ) -> Self {
        let ranks = slices.len() as u64;
        let window_numbers = window_words.max(1).saturating_mul(128).min(1 << 62);
        let windows = (hi - (lo & !127)) / window_numbers + 1;
        // Shared sieving pays the start of a sieve per piece (generating the sieving primes above
        // 2^32 and finding the first multiple of each: about 1.1 s near 2^64, the time to sieve
        // 0.08 sqrt(hi) numbers there, and about 4 sqrt(hi) at 10^12 where fixed costs dominate)
        // but in parallel; streamed sieving pays it once but sieves each window on one thread.
        // Shared wins unless a window is narrower than a few of those starts, counted here as
        // max(sqrt(hi), 2^20) numbers each. A single window is shared: its pieces start once. One
        // thread in all streams: it loses no parallelism.
        let start_cost = hi.isqrt().max(1 << 20);
        let shared =
            windows == 1 || (ranks * threads as u64 > 1 && window_numbers >= 4 * start_cost);
        let sieving = if shared {
            WindowSieving::Shared
        } else {
            let mut first_window = vec![0];
            for slice in &slices {
                let n = slice.map_or(0, |(a, b)| (b - (a & !127)) / window_numbers + 1);
                first_window.push(first_window.last().expect("non-empty") + n);
            }
            WindowSieving::Streamed {
                slices,
                first_window,
            }
        };
        Self {
            lo,
            hi,
            window_numbers,
            sieving,
        }
    }

    /// Number of windows.
    pub fn windows(&self) -> u64 {
        match &self.sieving {
            WindowSieving::Shared => (self.hi - (self.lo & !127)) / self.window_numbers + 1,
            WindowSieving::Streamed { first_window, .. } => *first_window.last().expect("ranks"),
        }
    }

    /// Window `k`: its numbers, and in streamed sieving the rank that sieves it.
    pub fn window(&self, k: u64) -> ((u64, u64), Option<usize>) {
        let within = |a: u64, b: u64, j: u64| {
            let start = (a & !127) + j * self.window_numbers;
            (
                start.max(a),
                start.saturating_add(self.window_numbers - 1).min(b),
            )
        };
        match &self.sieving {
            WindowSieving::Shared => (within(self.lo, self.hi, k), None),
            WindowSieving::Streamed {
                slices,
                first_window,
            } => {
                let rank = first_window.partition_point(|&f| f <= k) - 1;
                let (a, b) = slices[rank].expect("a rank with windows has a slice");
                (within(a, b, k - first_window[rank]), Some(rank))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_cover(lo: u64, hi: u64, pieces: &[Option<(u64, u64)>]) {
        let present: Vec<_> = pieces.iter().flatten().collect();
        assert_eq!(present.first().unwrap().0, lo);
        assert_eq!(present.last().unwrap().1, hi);
        for w in present.windows(2) {
            assert_eq!(w[0].1 + 1, w[1].0, "contiguous");
            assert_eq!(w[1].0 % 128, 0, "aligned");
        }
    }

    #[test]
    fn splits_cover_exactly() {
        for (lo, hi, parts) in [
            (0u64, 1_000_000u64, 3usize),
            (5, 5, 4),
            (0, 127, 3),
            (100, 1000, 7),
            (0, u64::MAX, 5),
            (u64::MAX - 1000, u64::MAX, 64),
        ] {
            let pieces = split(lo, hi, parts);
            assert_eq!(pieces.len(), parts);
            check_cover(lo, hi, &pieces);
        }
        // More parts than words: some are empty, none overlap.
        let pieces = split(0, 300, 10);
        assert!(pieces.iter().filter(|p| p.is_none()).count() >= 7);
        check_cover(0, 300, &pieces);
    }

    #[test]
    fn cost_splits_cover_exactly_and_favour_low_numbers() {
        for (lo, hi, parts) in [
            (0u64, 10_000_000_000u64, 2usize),
            (5, 5, 4),
            (0, 127, 3),
            (100, 1000, 7),
            (0, u64::MAX, 5),
            (u64::MAX - 1000, u64::MAX, 64),
            (0, 300, 10),
        ] {
            let pieces = split_by_cost(lo, hi, parts);
            assert_eq!(pieces.len(), parts);
            check_cover(lo, hi, &pieces);
        }
        // Higher numbers cost more, so the first half of [0, 1e10] gets more than half the numbers.
        let halves = split_by_cost(0, 10_000_000_000, 2);
        let first = halves[0].unwrap();
        assert!(
            first.1 > 5_000_000_000 && first.1 < 6_000_000_000,
            "{first:?}"
        );
    }

    #[test]
    fn list_plans_cover_in_order() {
        for (lo, hi, words, threads, ranks) in [
            (0u64, 1_000_000u64, 100u64, 2usize, 1usize),
            (0, 1_000_000, 100, 2, 3),
            (5, 5, 1, 1, 3),
            (100, 100_000, 1, 4, 2),
            (u64::MAX - 1_000_000_000, u64::MAX, 3 << 17, 2, 1),
            (u64::MAX - 1_000_000_000, u64::MAX, 3 << 17, 2, 3),
            (0, 10_000_000_000, 1 << 20, 2, 2),
        ] {
            let plan = ListPlan::new(lo, hi, words, threads, split_by_cost(lo, hi, ranks));
            let windows: Vec<_> = (0..plan.windows()).map(|k| plan.window(k)).collect();
            assert_eq!(windows[0].0 .0, lo);
            assert_eq!(windows.last().unwrap().0 .1, hi);
            for w in windows.windows(2) {
                assert_eq!(w[0].0 .1 + 1, w[1].0 .0, "contiguous");
                assert_eq!(w[1].0 .0 % 128, 0, "aligned");
                assert!(w[0].1 <= w[1].1, "ranks in order");
            }
            for ((a, b), _) in &windows {
                assert!(b - (a & !127) < 128 * words.max(1));
            }
        }
        // Near 2^64, narrow windows go to one sieve per rank; wide ones are shared.
        let high = |words| {
            let (lo, hi) = (u64::MAX - 1_000_000_000, u64::MAX);
            ListPlan::new(lo, hi, words, 2, vec![Some((lo, hi))]).sieving
        };
        assert!(matches!(high(3 << 17), WindowSieving::Streamed { .. }));
        assert!(matches!(
            ListPlan::new(0, 1_000_000_000, 3 << 17, 2, vec![Some((0, 1_000_000_000))]).sieving,
            WindowSieving::Shared
        ));
    }

    #[test]
    fn chunks_cover_exactly() {
        for (lo, hi) in [
            (0u64, 10_000_000_000u64),
            (7, 8),
            (u64::MAX - 1_000_000_000, u64::MAX),
        ] {
            let c = chunks(lo, hi, 4);
            check_cover(lo, hi, &c.iter().copied().map(Some).collect::<Vec<_>>());
        }
        assert_eq!(chunks(0, 10_000_000_000, 2).len(), 32);
        // High up the minimum chunk is wider than the slice: still one chunk per thread.
        assert_eq!(chunks(u64::MAX - 10_000_000_000, u64::MAX, 2).len(), 2);
        assert_eq!(chunks(u64::MAX - 10_000_000_000, u64::MAX, 64).len(), 64);
        // A few chunks per thread: a whole number each (4.2e10 / 8.1e9 would be 5 chunks).
        assert_eq!(
            chunks(1_000_000_000_000_000, 1_000_042_000_000_000, 2).len(),
            4
        );
        // A slice of one minimum chunk: one chunk per thread, and one for a thread alone.
        assert_eq!(
            chunks(1_000_000_000_000_000, 1_000_010_000_000_000, 2).len(),
            2
        );
        assert_eq!(
            chunks(1_000_000_000_000_000, 1_000_010_000_000_000, 1).len(),
            1
        );
        // But never chunks narrower than MIN_THREAD_CHUNK.
        assert_eq!(chunks(0, 3 * MIN_THREAD_CHUNK, 64).len(), 3);
        assert_eq!(chunks(0, 1000, 8).len(), 1);
    }
}
