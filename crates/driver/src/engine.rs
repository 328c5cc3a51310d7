//! The work of one rank: sieving its slice with a pool of rayon threads, each reusing one
//! [`Sieve`].

use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};

use rayon::prelude::*;
use sieve_core::{Counts, Sieve, SieveConfig, SievingPrimes};

use crate::plan;

/// How many threads a rank may run per core it may use. Each thread allocates its own sieve (a
/// segment, pre-sieve patterns and bucket state) before any work starts, so a thread count far
/// above the cores only costs memory and start-up time: `SLURM_CPUS_PER_TASK=1000000` once spent
/// over a minute allocating. Four per core leaves room to oversubscribe on purpose.
pub const THREADS_PER_CORE: usize = 4;

/// Cores this process may run on (its affinity mask and cgroup quota), at least 1.
pub fn available_cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The most threads an engine takes: [`THREADS_PER_CORE`] times [`available_cores`].
pub fn max_threads() -> usize {
    THREADS_PER_CORE * available_cores()
}

/// Why an engine could not be built.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// Zero threads could never sieve anything.
    #[error("0 threads cannot sieve anything; use at least 1")]
    NoThreads,
    /// More threads than [`max_threads`].
    #[error("{threads} threads is more than {max}, {THREADS_PER_CORE} per core for the {cores} cores this process may use")]
    TooManyThreads {
        /// Threads asked for.
        threads: usize,
        /// The most allowed.
        max: usize,
        /// Cores this process may use.
        cores: usize,
    },
    /// The operating system refused the threads.
    #[error("cannot start {threads} threads: {source}")]
    Pool {
        /// Threads asked for.
        threads: usize,
        /// What rayon reported.
        source: rayon::ThreadPoolBuildError,
    },
}

/// One rank's threads and their sieves.
pub struct Engine {
    pool: rayon::ThreadPool,
    sieves: Vec<Mutex<Sieve>>,
    /// Numbers sieved so far by this rank, for a progress display.
    done: Arc<AtomicU64>,
}

impl Engine {
    /// An engine with `threads` worker threads sieving with `config`; refuses 0 threads and more than
    /// [`max_threads`] (rayon would read 0 as "one per core", and each thread's sieve is allocated
    /// here, up front).
    pub fn new(threads: usize, config: SieveConfig) -> Result<Self, EngineError> {
        if threads == 0 {
            return Err(EngineError::NoThreads);
        }
        let max = max_threads();
        if threads > max {
            return Err(EngineError::TooManyThreads {
                threads,
                max,
                cores: available_cores(),
            });
        }
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("erato-{i}"))
            .build()
            .map_err(|source| EngineError::Pool { threads, source })?;
        let sieves = (0..threads)
            .map(|_| Mutex::new(Sieve::new(config)))
            .collect();
        Ok(Self {
            pool,
            sieves,
            done: Arc::new(AtomicU64::new(0)),
        })
    }

    /// A counter of the numbers this engine has sieved, updated as each chunk completes.
    pub fn progress(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.done)
    }

    fn chunk_done(&self, a: u64, b: u64) {
        self.done.fetch_add(b - a + 1, Ordering::Relaxed);
    }

    /// Number of worker threads.
    pub fn threads(&self) -> usize {
        self.sieves.len()
    }

    /// Runs `f` with the calling worker thread's own sieve.
    fn with_sieve<R>(&self, f: impl FnOnce(&mut Sieve) -> R) -> R {
        let index = rayon::current_thread_index().expect("called on a pool thread");
        // Each worker only ever takes its own sieve, so the lock is never contended; a poisoned
        // lock only means an earlier panic on this thread, which the caller already reports.
        let mut sieve = self.sieves[index].lock().unwrap_or_else(|e| e.into_inner());
        f(&mut sieve)
    }

    /// Counts primes (and twin pairs if `twins`) in `[lo, hi]` on all threads.
    pub fn count(&self, primes: &SievingPrimes, lo: u64, hi: u64, twins: bool) -> Counts {
        let chunks = plan::chunks(lo, hi, self.threads());
        self.count_each(primes, &chunks, twins)
            .into_iter()
            .reduce(Counts::combine)
            .expect("at least one chunk")
    }
}

impl Engine {
    /// Counts each of `ranges` (one thread each, taken dynamically), returning their counts in order.
    pub fn count_each(
        &self,
        primes: &SievingPrimes,
        ranges: &[(u64, u64)],
        twins: bool,
    ) -> Vec<Counts> {
        self.count_each_until(primes, ranges, twins, &AtomicBool::new(false))
            .expect("never cancelled")
    }

    /// [`Engine::count_each`] that stops handing out ranges once `cancel` is set (by another
    /// thread), returning `None` then. Ranges already being counted finish first, so a caller who
    /// sets the flag waits at most one range's time.
    pub fn count_each_until(
        &self,
        primes: &SievingPrimes,
        ranges: &[(u64, u64)],
        twins: bool,
        cancel: &AtomicBool,
    ) -> Option<Vec<Counts>> {
        self.map_each_until(ranges, cancel, |s, a, b| s.count(primes, a, b, twins))
    }

    /// Fills `out` with the odd-only bitmap words of `[lo, hi]` as the sieve lays them out from
    /// `lo` rounded down to a multiple of 128 (bits of numbers below `lo` are zero), on all threads.
    /// `out` must hold exactly [`words_from_aligned`]`(lo, hi)` words.
    pub fn fill_words(&self, primes: &SievingPrimes, lo: u64, hi: u64, out: &mut [u64]) {
        let done = self.fill_words_until(primes, lo, hi, out, &AtomicBool::new(false));
        debug_assert!(done);
    }

    /// [`Engine::fill_words`] that stops starting chunks once `cancel` is set, returning whether
    /// every chunk was filled (`false`: cancelled, and `out` is partly filled).
    pub fn fill_words_until(
        &self,
        primes: &SievingPrimes,
        lo: u64,
        hi: u64,
        out: &mut [u64],
        cancel: &AtomicBool,
    ) -> bool {
        assert_eq!(out.len(), words_from_aligned(lo, hi));
        let chunks = plan::chunks(lo, hi, self.threads());
        // Every chunk after the first starts at a multiple of 128: hand each its own slice of `out`.
        let mut jobs = Vec::with_capacity(chunks.len());
        let mut rest = out;
        for &(a, b) in &chunks {
            let (mine, tail) = rest.split_at_mut(words_from_aligned(a, b));
            jobs.push((a, b, mine));
            rest = tail;
        }
        self.pool.install(|| {
            jobs.into_par_iter().for_each(|(a, b, slice)| {
                if cancel.load(Ordering::Relaxed) {
                    return;
                }
                self.with_sieve(|sieve| {
                    let mut at = 0;
                    sieve.for_each_window(primes, a, b, |window| {
                        slice[at..at + window.words().len()].copy_from_slice(window.words());
                        at += window.words().len();
                    });
                });
                self.chunk_done(a, b);
            })
        });
        !cancel.load(Ordering::Relaxed)
    }

    /// The configuration of this engine's sieves.
    pub fn config(&self) -> SieveConfig {
        self.sieves[0]
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .config()
    }

    /// Runs `op` inside this engine's thread pool, so that rayon's parallel iterators in it use
    /// the engine's threads (and only those).
    pub fn install<R: Send>(&self, op: impl FnOnce() -> R + Send) -> R {
        self.pool.install(op)
    }
}

/// One sieve that runs through `[lo, hi]` once, on a thread of its own, and hands out the words
/// of consecutive pieces as they are asked for. Its state (sieving primes, their next multiples,
/// buckets) carries from one piece to the next, so a piece costs only its own sieving however
/// narrow it is. Between requests the thread waits, holding at most one segment.
pub struct SieveStream<'scope> {
    want: Option<mpsc::SyncSender<usize>>,
    /// Words of a piece asked for ahead (see [`SieveStream::start`]).
    asked: Option<usize>,
    words: mpsc::Receiver<Vec<u64>>,
    thread: Option<std::thread::ScopedJoinHandle<'scope, ()>>,
}

impl<'scope> SieveStream<'scope> {
    /// Starts the sieve of `[lo, hi]` in `scope`, with a sieve of its own built from `config`, and
    /// has it sieve the first piece of `first` words at once: its start (generating the sieving
    /// primes, their first multiples) then overlaps whatever the caller does before it asks.
    pub fn start<'env>(
        scope: &'scope std::thread::Scope<'scope, 'env>,
        primes: &'env SievingPrimes,
        config: SieveConfig,
        (lo, hi): (u64, u64),
        first: usize,
    ) -> Self {
        let (want_tx, want_rx) = mpsc::sync_channel::<usize>(1);
        let (words_tx, words_rx) = mpsc::sync_channel::<Vec<u64>>(1);
        let thread = std::thread::Builder::new()
            .name("erato-stream".into())
            .spawn_scoped(scope, move || {
                let Ok(mut want) = want_rx.recv() else {
                    return;
                };
                let mut piece = Vec::with_capacity(want);
                let mut sieve = Sieve::new(config);
                // Leave the sieve (ControlFlow::Break) once nobody wants more words.
                let _ = sieve.try_for_each_window(primes, lo, hi, |window| {
                    let mut words = window.words();
                    while !words.is_empty() {
                        let take = (want - piece.len()).min(words.len());
                        piece.extend_from_slice(&words[..take]);
                        words = &words[take..];
                        if piece.len() == want {
                            let full = std::mem::take(&mut piece);
                            if words_tx.send(full).is_err() {
                                return ControlFlow::Break(());
                            }
                            match want_rx.recv() {
                                Ok(n) => {
                                    want = n;
                                    piece.reserve(n);
                                }
                                Err(_) => return ControlFlow::Break(()),
                            }
                        }
                    }
                    ControlFlow::Continue(())
                });
            })
            .expect("the operating system starts a thread");
        let asked = want_tx.send(first).is_ok().then_some(first);
        Self {
            want: Some(want_tx),
            asked,
            words: words_rx,
            thread: Some(thread),
        }
    }

    /// The next `words` words of the odd-only bitmap of `[lo, hi]` laid out from `lo & !127` (as
    /// [`Engine::fill_words`] lays them out); all requests together must not ask for more than
    /// [`words_from_aligned`]`(lo, hi)`.
    pub fn next(&mut self, words: usize) -> Vec<u64> {
        let sent = match self.asked.take() {
            Some(asked) => {
                assert_eq!(
                    asked, words,
                    "the first piece is the one asked for at the start"
                );
                true
            }
            None => self.want.as_ref().is_some_and(|w| w.send(words).is_ok()),
        };
        match self.words.recv() {
            Ok(piece) if sent => piece,
            _ => {
                // The sieve thread ended early: only a panic there does that.
                if let Some(Err(payload)) = self.thread.take().map(|t| t.join()) {
                    std::panic::resume_unwind(payload);
                }
                panic!("the sieve stream ended before its last piece");
            }
        }
    }
}

impl Drop for SieveStream<'_> {
    fn drop(&mut self) {
        // Closing the request channel stops the sieve thread at its next piece boundary.
        self.want = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Engine {
    /// Runs `f` with the calling thread's own sieve on each of `ranges` (one thread each, taken
    /// dynamically), returning the results in order, or `None` once `cancel` is set. For work
    /// beyond counting and listing (`crate::summary`: k-tuplets).
    pub fn map_each_until<R: Send>(
        &self,
        ranges: &[(u64, u64)],
        cancel: &AtomicBool,
        f: impl Fn(&mut Sieve, u64, u64) -> R + Sync,
    ) -> Option<Vec<R>> {
        self.pool.install(|| {
            ranges
                .par_iter()
                .map(|&(a, b)| {
                    if cancel.load(Ordering::Relaxed) {
                        return None;
                    }
                    let result = self.with_sieve(|s| f(s, a, b));
                    self.chunk_done(a, b);
                    Some(result)
                })
                .collect()
        })
    }
}

/// Words of the odd-only bitmap of `[lo & !127, hi]`: what [`Engine::fill_words`] produces.
pub fn words_from_aligned(lo: u64, hi: u64) -> usize {
    sieve_core::OddBitmap::words_for(lo & !127, hi)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_zero_and_too_many_threads() {
        assert!(matches!(
            Engine::new(0, SieveConfig::default()),
            Err(EngineError::NoThreads)
        ));
        let max = max_threads();
        assert_eq!(max, THREADS_PER_CORE * available_cores());
        match Engine::new(max + 1, SieveConfig::default()) {
            Err(e @ EngineError::TooManyThreads { .. }) => {
                assert!(e.to_string().contains(&format!("more than {max}")), "{e}")
            }
            Err(e) => panic!("expected TooManyThreads, got {e}"),
            Ok(_) => panic!("expected TooManyThreads, got an engine"),
        }
        let engine = Engine::new(1, SieveConfig::default()).unwrap();
        assert_eq!(engine.threads(), 1);
    }

    #[test]
    fn a_stream_hands_out_the_words_of_fill_words() {
        let engine = Engine::new(2, SieveConfig::new(32 << 10, 16 << 10)).unwrap();
        for (lo, hi) in [
            (0u64, 3_000_000u64),
            (1_000_000_000_000, 1_000_002_000_000),
            ((1 << 50) - 3_000_000, 1 << 50),
            (7, 7),
        ] {
            let primes = SievingPrimes::for_hi(hi);
            let mut want = vec![0; words_from_aligned(lo, hi)];
            engine.fill_words(&primes, lo, hi, &mut want);
            for piece in [1usize, 3, 1000, 1 << 20] {
                let got = std::thread::scope(|scope| {
                    let first = piece.min(want.len());
                    let mut stream =
                        SieveStream::start(scope, &primes, engine.config(), (lo, hi), first);
                    let mut got = stream.next(first);
                    while got.len() < want.len() {
                        got.extend(stream.next(piece.min(want.len() - got.len())));
                    }
                    got
                });
                assert!(got == want, "[{lo}, {hi}] pieces of {piece}");
            }
            // Dropped half way, the stream stops without sieving the rest.
            std::thread::scope(|scope| {
                let mut stream = SieveStream::start(scope, &primes, engine.config(), (lo, hi), 1);
                assert_eq!(stream.next(1), want[..1]);
            });
        }
    }
}
