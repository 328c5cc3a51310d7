//! Prime k-tuplets and prime gaps on every thread and rank: counting k-tuplets (`erato -c3`,
//! several kinds in one pass), printing them (`erato -p3`, as primesieve prints them), and the
//! largest and record gaps (`erato --gaps`).
//!
//! Counting sieves each chunk once and reads each window for [`Counts`] (primes, twins), for
//! [`Tuplets`] and, when asked, for [`Gaps`]; chunks are combined in order on each rank, and ranks
//! in rank order at rank 0, so tuplets and gaps across chunk and rank boundaries are counted once.
//!
//! ```
//! use std::sync::atomic::AtomicBool;
//! use driver::{engine::Engine, summary};
//!
//! let engine = Engine::new(2, sieve_core::SieveConfig::default()).unwrap();
//! let s = summary::count(&engine, 0, 1_000_000, 1 << 3 | 1 << 6, true, &AtomicBool::new(false)).unwrap();
//! assert_eq!((s.counts.primes, s.tuplets.count(3), s.tuplets.count(6)), (78_498, 2_837, 5));
//! assert_eq!(s.gaps.unwrap().largest().unwrap().length, 114); // from 492113
//! ```

use std::io::{self, Write};
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use sieve_core::{tuplets, Counts, Gaps, SievingPrimes, TupletTally, Tuplets};

use crate::checkpoint;
use crate::comm::Comm;
use crate::engine::Engine;
use crate::job::{self, JobError, Phases, Report, Request};
use crate::plan;
use crate::query::{Cancelled, PrimeChunks};

/// What one pass over an interval found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Summary {
    /// Primes and twin pairs.
    pub counts: Counts,
    /// The k-tuplets asked for.
    pub tuplets: Tuplets,
    /// The gaps, when asked for.
    pub gaps: Option<Gaps>,
}

impl Summary {
    /// The summary of the union of `self` and the adjacent `next`.
    pub fn combine(self, next: Summary) -> Summary {
        Summary {
            counts: self.counts.combine(next.counts),
            tuplets: self.tuplets.combine(next.tuplets),
            gaps: self.gaps.zip(next.gaps).map(|(a, b)| a.combine(b)),
        }
    }
}

/// The summary of `[lo, hi]` with `primes`, one pass over each of `ranges` (consecutive, covering
/// `[lo, hi]`), combined in order.
pub(crate) fn count_ranges(
    engine: &Engine,
    primes: &SievingPrimes,
    ranges: &[(u64, u64)],
    kinds: u8,
    gaps: bool,
    cancel: &AtomicBool,
) -> Result<Summary, Cancelled> {
    Ok(summarise_each(engine, primes, ranges, kinds, gaps, cancel)?
        .into_iter()
        .reduce(Summary::combine)
        .expect("at least one range"))
}

/// The summary of each of `ranges` (one thread each, taken dynamically), in order: counts, the
/// k-tuplets of each bit k of `kinds` and, if `gaps`, the gaps.
pub(crate) fn summarise_each(
    engine: &Engine,
    primes: &SievingPrimes,
    ranges: &[(u64, u64)],
    kinds: u8,
    gaps: bool,
    cancel: &AtomicBool,
) -> Result<Vec<Summary>, Cancelled> {
    engine
        .map_each_until(ranges, cancel, |sieve, a, b| {
            let mut counts: Option<Counts> = None;
            let mut tally = TupletTally::new(a, b, kinds);
            let mut gaps = gaps.then(|| Gaps::new(a, b));
            if let (Some(g), true) = (gaps.as_mut(), a <= 2 && 2 <= b) {
                g.push(2); // the windows hold the odd numbers only
            }
            sieve.for_each_window(primes, a, b, |window| {
                if let Some(g) = gaps.as_mut() {
                    g.add_words(window.first_odd(), window.words());
                }
                // Each window's words start at a multiple of 128 (plus one): the window's own part
                // of [a, b] reads them as `Counts::of_words` does.
                let first = window.first_odd() - 1;
                debug_assert_eq!(first % 128, 0);
                let last = first.saturating_add(128 * window.words().len() as u64 - 1);
                let part = Counts::of_words(first.max(a), last.min(b), window.words());
                counts = Some(counts.map_or(part, |c| c.combine(part)));
                tally.add(window.first_odd(), window.words());
            });
            // No window at all: no odd number to sieve ([0, 0], [2, 2]).
            let mut counts = counts.unwrap_or_else(|| Counts::of_words(a, b, &[]));
            // The last window's words may end at b's odd predecessor (b even, b + 1 a multiple
            // of 128): what remains is one even number, which changes no count.
            counts.hi = b;
            Summary {
                counts,
                tuplets: tally.finish(),
                gaps,
            }
        })
        .ok_or(Cancelled)
}

/// Counts (primes and twins), the k-tuplets for each bit k of `kinds` (2..=6) and, if `gaps`, the
/// gaps of `[lo, hi]`, on all of `engine`'s threads.
pub fn count(
    engine: &Engine,
    lo: u64,
    hi: u64,
    kinds: u8,
    gaps: bool,
    cancel: &AtomicBool,
) -> Result<Summary, Cancelled> {
    let primes = SievingPrimes::for_hi(hi);
    count_ranges(
        engine,
        &primes,
        &plan::chunks(lo, hi, engine.threads()),
        kinds,
        gaps,
        cancel,
    )
}

/// Words of one rank's [`Tuplets`] when gathered.
const TUPLETS_LEN: usize = 9;

fn encode(t: Option<&Tuplets>) -> [u64; TUPLETS_LEN] {
    match t {
        None => [0; TUPLETS_LEN],
        Some(t) => {
            let w = t.to_words();
            let mut out = [0; TUPLETS_LEN];
            out[0] = 1;
            out[1..].copy_from_slice(&w);
            out
        }
    }
}

/// Counts `request`'s `[lo, hi]` with its k-tuplets (each bit k of `kinds`) and, if `gaps`, its
/// gaps on every rank: each rank counts its slice of the plan on all its threads, and rank 0
/// combines the slices in rank order. With `request.checkpoint`, in rounds of checkpoint units
/// instead ([`crate::checkpoint`]). Rank 0 returns the report and the summary, the other ranks
/// `None`.
pub fn run(
    comm: &dyn Comm,
    engine: &Engine,
    request: &Request,
    kinds: u8,
    gaps: bool,
) -> Result<Option<(Report, Summary)>, JobError> {
    let began = Instant::now();
    let (lo, hi) = (request.lo, request.hi);
    let primes = SievingPrimes::for_hi(hi);
    let mut phases = Phases {
        plan: began.elapsed().as_secs_f64(),
        ..Phases::default()
    };
    if let Some(path) = &request.checkpoint {
        let asked = checkpoint::Asked {
            twins: request.twins,
            kinds,
            gaps,
        };
        let done = checkpoint::count(comm, engine, &primes, lo, hi, asked, path, &mut phases)?;
        return Ok(done.map(|summary| {
            let report = Report {
                counts: summary.counts,
                ranks: comm.size(),
                threads: engine.threads(),
                phases,
                windows: 0,
            };
            (report, summary)
        }));
    }
    let t = Instant::now();
    let slice = job::shares(comm, lo, hi)[comm.rank()];
    let never = AtomicBool::new(false);
    let mine = slice.map(|(a, b)| {
        count_ranges(
            engine,
            &primes,
            &plan::chunks(a, b, engine.threads()),
            kinds,
            gaps,
            &never,
        )
        .expect("never cancelled")
    });
    phases.sieve = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let words = to_words(mine.as_ref());
    let mut sizes = vec![0u64; comm.size()];
    if let Some(all) = comm.gather(&[words.len() as u64]) {
        sizes.copy_from_slice(&all);
    }
    comm.broadcast(&mut sizes);
    let sizes: Vec<usize> = sizes.iter().map(|&n| n as usize).collect();
    let gathered = comm.gather_varcount(words, &sizes);
    phases.reduce = t.elapsed().as_secs_f64();
    Ok(gathered.map(|all| {
        let mut at = 0;
        let summary = sizes
            .iter()
            .filter_map(|&size| {
                let rank = &all[at..at + size];
                at += size;
                from_words(rank, gaps)
            })
            .reduce(Summary::combine)
            .expect("rank slices cover the range");
        (
            Report {
                counts: summary.counts,
                ranks: comm.size(),
                threads: engine.threads(),
                phases,
                windows: 0,
            },
            summary,
        )
    }))
}

/// A summary (or its absence: a rank without a slice) as words for sending between ranks: its
/// counts and tuplets (fixed size), then its gaps (as long as its records).
pub(crate) fn to_words(s: Option<&Summary>) -> Vec<u64> {
    let mut words = job::encode(s.map(|s| &s.counts)).to_vec();
    words.extend(encode(s.map(|s| &s.tuplets)));
    if let Some(g) = s.and_then(|s| s.gaps.as_ref()) {
        words.extend(g.to_words());
    }
    words
}

/// Reads what [`to_words`] wrote: `None` for no summary (or words too few to be one).
pub(crate) fn from_words(words: &[u64], gaps: bool) -> Option<Summary> {
    let counts = job::decode(words.get(..job::COUNTS_LEN)?)?;
    let t = words.get(job::COUNTS_LEN..job::COUNTS_LEN + TUPLETS_LEN)?;
    let gaps = match gaps {
        true => Some(Gaps::from_words(&words[job::COUNTS_LEN + TUPLETS_LEN..])?),
        false => None,
    };
    Some(Summary {
        counts,
        tuplets: Tuplets::from_words(&t[1..]),
        gaps,
    })
}

/// Numbers listed per chunk when printing tuplets: about 3.6 million primes at the bottom of the
/// range (29 MB), fewer higher up.
const PRINT_CHUNK: u64 = 1 << 26;

/// Writes every k-tuplet of `[lo, hi]` (`2 <= k <= 6`) to `out` as primesieve prints them, one
/// per line in increasing order: `(p, p+2, p+6)`. Returns how many were written. Sieves chunk by
/// chunk on all of `engine`'s threads; only the primes of the last 16 numbers of a chunk are kept
/// for the next.
pub fn print_tuplets(
    engine: &Engine,
    lo: u64,
    hi: u64,
    k: usize,
    out: &mut dyn Write,
    cancel: &AtomicBool,
) -> io::Result<u64> {
    let patterns = tuplets::patterns(k);
    let span = patterns[0][patterns[0].len() - 1];
    let mut chunks = PrimeChunks::new(lo, hi, PRINT_CHUNK);
    // Primes within `span` below the current one, oldest first.
    let mut recent: Vec<u64> = Vec::with_capacity(16);
    let mut written = 0;
    let mut line = String::new();
    while let Some(primes) = chunks
        .next_chunk(engine, cancel)
        .map_err(|e| io::Error::other(e.to_string()))?
    {
        for q in primes {
            recent.retain(|&p| q - p <= span);
            recent.push(q);
            let Some(first) = q.checked_sub(span) else {
                continue;
            };
            // A tuplet is reported when its last member arrives: every k-pattern has the same span,
            // so this is also the order of first members.
            for pattern in patterns {
                if pattern
                    .iter()
                    .all(|&o| recent.binary_search(&(first + o)).is_ok())
                {
                    line.clear();
                    line.push('(');
                    for (i, &o) in pattern.iter().enumerate() {
                        if i > 0 {
                            line.push_str(", ");
                        }
                        line.push_str(&(first + o).to_string());
                    }
                    line.push_str(")\n");
                    out.write_all(line.as_bytes())?;
                    written += 1;
                }
            }
        }
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    static GO: AtomicBool = AtomicBool::new(false);

    #[test]
    fn printed_tuplets_are_primesieves() {
        let e = Engine::new(2, sieve_core::SieveConfig::default()).unwrap();
        let mut out = Vec::new();
        assert_eq!(print_tuplets(&e, 0, 100, 3, &mut out, &GO).unwrap(), 8);
        // primesieve 100 -p3
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "(5, 7, 11)\n(7, 11, 13)\n(11, 13, 17)\n(13, 17, 19)\n(17, 19, 23)\n(37, 41, 43)\n\
             (41, 43, 47)\n(67, 71, 73)\n"
        );
        // Across print chunks: the count printed is the count counted.
        for k in 2..=6 {
            let (lo, hi) = (PRINT_CHUNK - 1000, 2 * PRINT_CHUNK + 1000);
            let mut sink = io::sink();
            let printed = print_tuplets(&e, lo, hi, k, &mut sink, &GO).unwrap();
            let counted = count(&e, lo, hi, 1 << k, false, &GO).unwrap();
            assert_eq!(printed, counted.tuplets.count(k), "k {k}");
        }
    }

    #[test]
    fn counts_agree_with_the_plain_count() {
        let e = Engine::new(2, sieve_core::SieveConfig::default()).unwrap();
        for (lo, hi) in [(0u64, 100_000_000u64), (1 << 40, (1 << 40) + 50_000_000)] {
            let s = count(&e, lo, hi, 0b111_1100, true, &GO).unwrap();
            let plain = crate::query::count(&e, lo, hi, true, &GO).unwrap();
            assert_eq!(s.counts, plain);
            assert_eq!(s.tuplets.count(2), plain.twins);
            // The gaps of the chunks combined are those of one pass over the whole.
            let mut sieve = sieve_core::Sieve::new(sieve_core::SieveConfig::default());
            let whole = Gaps::of_interval(&mut sieve, &SievingPrimes::for_hi(hi), lo, hi);
            assert_eq!(s.gaps, Some(whole));
        }
    }
}
