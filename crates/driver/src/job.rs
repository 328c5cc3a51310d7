//! One erato run on every rank: count, list or write the bitmap of `[lo, hi]`.
//!
//! Counting: each rank counts its slice on all its threads, and rank 0 gathers and combines the
//! [`Counts`] in rank order (so twin pairs across rank boundaries are counted once).
//!
//! Listing and bitmaps go in windows so that rank 0 never holds more than `max_memory`. The run
//! computes one [`ListPlan`] at its start: the rank slices (cut by estimated cost, rank 0's cut
//! broadcast once) and the windows, each at most a third of `max_memory` of odd-only words (and
//! on several threads at most `PIPELINE_WORDS`, 8 MiB, where windows stay wide, so that writing
//! starts early) and starting on a multiple of 128 so that windows and shares join word by word.
//! For each window rank 0 broadcasts whether to go on (and, in shared sieving, its cut of the window), every rank
//! sieves its share, and rank 0 gathers the words with one Gatherv: a broadcast and a gather per
//! window, nothing else that depends on the window count.
//!
//! How a window is sieved depends on how wide a thread's piece of it would be
//! ([`WindowSieving`]):
//! - *Shared*: windows wide against the start of a sieve (at least `4 max(sqrt(hi), 2^20)`
//!   numbers: the default `--max-memory` up to about 10^17), and a listing in one window, are cut
//!   among the ranks and each rank's share among its threads, as counting cuts a range; every
//!   piece pays the start of a sieve (the first multiple of each sieving prime, and above 2^32
//!   generating the sieving primes), in parallel.
//! - *Streamed*: narrow windows, where that start would be paid again and again (near 2^64 it is
//!   about a second: 2 x 10^8 sieving primes), come from one [`SieveStream`] per rank that runs
//!   from the start of the rank's slice to its end and keeps its state (sieving primes, their next
//!   multiples, buckets) from one window to the next. Every window then lies in one rank's slice
//!   and only that rank sends it. A window order that gives each of several threads contiguous
//!   pieces does not exist when the output must come out in order through a bounded buffer:
//!   carrying state across the gap between a thread's pieces would need the kernel to skip
//!   ahead (recomputing the small primes' positions and moving the bucket primes that hit the
//!   gap), which it cannot yet do; so a streamed listing sieves on one thread of one rank at a
//!   time, and rank 0's other threads format. With one thread in all, every listing of more than
//!   one window is streamed.
//!
//! A writer thread on rank 0 takes window k while the ranks sieve window k + 1: it formats the
//! window in parts on all the engine's threads ([`crate::format`]), counts primes and twins in
//! the same pass, and writes the parts in order.

use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use sieve_core::{bitmap_file, Counts, SievingPrimes};

use crate::comm::Comm;
use crate::engine::{words_from_aligned, Engine, SieveStream};
use crate::format::{ParallelFormatter, PART_WORDS};
use crate::output::{npy_header, Format, Sink};
use crate::plan::{self, ListPlan, WindowSieving};

/// What to produce.
#[derive(Clone, Debug)]
pub enum Mode {
    /// Count primes (and twins if asked).
    Count,
    /// List every prime in `format`, to `output` or stdout.
    List {
        /// How to list.
        format: Format,
        /// A file, or stdout when `None`.
        output: Option<PathBuf>,
    },
    /// Write the odd-only bitmap file (see [`sieve_core::bitmap_file`]).
    Bitmap(PathBuf),
}

/// A run's request, the same on every rank.
#[derive(Clone, Debug)]
pub struct Request {
    /// First number.
    pub lo: u64,
    /// Last number.
    pub hi: u64,
    /// Count twin pairs too (count mode).
    pub twins: bool,
    /// What to produce.
    pub mode: Mode,
    /// Record progress in this file and resume from it (count mode).
    pub checkpoint: Option<PathBuf>,
    /// Bytes rank 0 may hold for windows: its own share of one, the one being gathered and the one
    /// being written.
    pub max_memory: usize,
}

/// Seconds spent in each phase, as rank 0 saw them.
#[derive(Clone, Copy, Debug, Default)]
pub struct Phases {
    /// Sieving primes and the plan.
    pub plan: f64,
    /// Sieving (the whole run for listing modes, overlapped with gathering and writing).
    pub sieve: f64,
    /// Reducing counts, or gathering windows.
    pub reduce: f64,
    /// Writing the last window after sieving ended, and committing the output.
    pub write: f64,
}

/// What rank 0 reports.
#[derive(Clone, Debug)]
pub struct Report {
    /// Counts (always filled: listing modes count what they list).
    pub counts: Counts,
    /// Ranks in the job.
    pub ranks: usize,
    /// Threads per rank.
    pub threads: usize,
    /// Time per phase.
    pub phases: Phases,
    /// Windows gathered (listing modes).
    pub windows: u64,
}

/// Why a run failed.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// `--max-memory` cannot hold one window.
    #[error("--max-memory is too small to hold one window; the minimum is {minimum} bytes")]
    MemoryTooSmall {
        /// The smallest value that works.
        minimum: usize,
    },
    /// Creating or writing the output failed.
    #[error(transparent)]
    Io(io::Error),
    /// The checkpoint cannot be used or written.
    #[error(transparent)]
    Checkpoint(crate::checkpoint::CheckpointError),
    /// A format whose header holds the count was asked for on stdout.
    #[error("--format {} needs --output FILE: its header holds the count, written last", .0.name())]
    NeedsFile(Format),
    /// Rank 0 refused the checkpoint; it reports why.
    #[error("rank 0 refused the checkpoint")]
    CheckpointRefusedByRank0,
}

/// Whether an error is a closed pipe, which ends listing quietly (like `head` closing it).
pub fn is_broken_pipe(e: &JobError) -> bool {
    matches!(e, JobError::Io(e) if e.kind() == io::ErrorKind::BrokenPipe)
}

pub(crate) const COUNTS_LEN: usize = 7;

pub(crate) fn encode(counts: Option<&Counts>) -> [u64; COUNTS_LEN] {
    let Some(c) = counts else {
        return [0; COUNTS_LEN];
    };
    let mut flags = 1;
    if let Some(e) = c.first {
        flags |= 2 | u64::from(e.prime) << 2;
    }
    if let Some(e) = c.last {
        flags |= 8 | u64::from(e.prime) << 4;
    }
    [
        flags,
        c.lo,
        c.hi,
        c.primes,
        c.twins,
        c.first.map_or(0, |e| e.odd),
        c.last.map_or(0, |e| e.odd),
    ]
}

pub(crate) fn decode(v: &[u64]) -> Option<Counts> {
    let flags = v[0];
    if flags & 1 == 0 {
        return None;
    }
    let edge = |has: u64, prime: u64, odd: u64| {
        (flags & has != 0).then_some(sieve_core::Edge {
            odd,
            prime: flags & prime != 0,
        })
    };
    Some(Counts {
        lo: v[1],
        hi: v[2],
        primes: v[3],
        twins: v[4],
        first: edge(2, 4, v[5]),
        last: edge(8, 16, v[6]),
    })
}

/// The smallest `max_memory` that holds the three windows rank 0 may have at once (its own share,
/// the one being gathered, the one being written) with one word per rank.
pub fn minimum_memory(ranks: usize) -> usize {
    3 * 8 * ranks
}

/// Cuts `[lo, hi]` into one share per rank by estimated cost. Rank 0 computes the cuts and every
/// rank takes rank 0's, so that ranks whose floating-point libraries round differently still agree.
pub(crate) fn shares(comm: &dyn Comm, lo: u64, hi: u64) -> Vec<Option<(u64, u64)>> {
    let ranks = comm.size();
    // Each share as [present, first, last].
    let mut flat: Vec<u64> = plan::split_by_cost(lo, hi, ranks)
        .iter()
        .flat_map(|s| s.map_or([0, 0, 0], |(a, b)| [1, a, b]))
        .collect();
    comm.broadcast(&mut flat);
    flat.chunks_exact(3)
        .map(|c| (c[0] == 1).then_some((c[1], c[2])))
        .collect()
}

/// What rank 0's progress counter ([`Engine::progress`]) reaches when `request` is done on
/// `ranks` ranks, from the run's own plan: for a count, rank 0's slice; for a listing or bitmap,
/// the whole range (rank 0 advances the counter over every window it gathers). A checkpointed
/// count hands units out in rounds and is estimated as an equal share.
pub fn progress_total(request: &Request, ranks: usize) -> u64 {
    let (lo, hi) = (request.lo, request.hi);
    match (&request.mode, &request.checkpoint) {
        (Mode::Count, None) => plan::split_by_cost(lo, hi, ranks)[0].map_or(1, |(a, b)| b - a + 1),
        (Mode::Count, Some(_)) => (hi - lo) / ranks as u64 + 1,
        _ => hi - lo + 1,
    }
}

/// Runs `request` on this rank. Rank 0 returns the report, the other ranks `None`.
pub fn run(
    comm: &dyn Comm,
    engine: &Engine,
    request: &Request,
) -> Result<Option<Report>, JobError> {
    let began = Instant::now();
    let (lo, hi) = (request.lo, request.hi);
    let primes = SievingPrimes::for_hi(hi);
    let mut phases = Phases {
        plan: began.elapsed().as_secs_f64(),
        ..Phases::default()
    };
    let ranks = comm.size();
    let threads = engine.threads();

    let Mode::Count = request.mode else {
        return list(comm, engine, &primes, request, phases);
    };
    if let Some(path) = &request.checkpoint {
        let asked = crate::checkpoint::Asked {
            twins: request.twins,
            kinds: 0,
            gaps: false,
        };
        let done =
            crate::checkpoint::count(comm, engine, &primes, lo, hi, asked, path, &mut phases)?;
        return Ok(done.map(|summary| Report {
            counts: summary.counts,
            ranks,
            threads,
            phases,
            windows: 0,
        }));
    }
    let t = Instant::now();
    let slice = shares(comm, lo, hi)[comm.rank()];
    let mine = slice.map(|(a, b)| engine.count(&primes, a, b, request.twins));
    phases.sieve = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let gathered = comm.gather(&encode(mine.as_ref()));
    phases.reduce = t.elapsed().as_secs_f64();
    Ok(gathered.map(|all| {
        let counts = all
            .chunks_exact(COUNTS_LEN)
            .filter_map(decode)
            .reduce(Counts::combine)
            .expect("rank slices cover the range");
        Report {
            counts,
            ranks,
            threads,
            phases,
            windows: 0,
        }
    }))
}

/// What the writer thread on rank 0 writes.
enum Writer {
    Primes {
        sink: Sink,
        format: Format,
        formatter: ParallelFormatter,
        /// Bytes of primes written, for the `.npy` header.
        bytes: u64,
    },
    Bitmap {
        sink: Sink,
        shift: u32,
        carry: Option<u64>,
    },
}

impl Writer {
    /// Takes the gathered words of window `[a, b]`, laid out from `a & !127`, formats them on the
    /// engine's threads and returns their counts.
    fn window(&mut self, engine: &Engine, (a, b): (u64, u64), words: &[u64]) -> io::Result<Counts> {
        match self {
            Writer::Primes {
                sink,
                formatter,
                bytes,
                ..
            } => engine.install(|| {
                formatter.window_counted((a & !127) + 1, words, (a, b), |text| {
                    *bytes += text.len() as u64;
                    sink.write_buffer(text)
                })
            }),
            Writer::Bitmap { sink, shift, carry } => {
                // The file's bit 0 is the first odd number >= lo, the sieve's is aligned + 1: shift
                // the stream down by that many bits, carrying across windows.
                let mut bytes = Vec::with_capacity(8 * words.len());
                for &w in words {
                    if *shift == 0 {
                        bytes.extend_from_slice(&w.to_le_bytes());
                        continue;
                    }
                    if let Some(previous) = carry.take() {
                        bytes.extend_from_slice(&(previous | w << (64 - *shift)).to_le_bytes());
                    }
                    *carry = Some(w >> *shift);
                }
                sink.write_all(&bytes)?;
                Ok(Counts::of_words(a, b, words))
            }
        }
    }

    fn finish(self, lo: u64, hi: u64) -> io::Result<()> {
        let mut sink = match self {
            Writer::Primes {
                mut sink,
                format,
                formatter,
                bytes,
            } => {
                sink.write_all(formatter.ending())?;
                if format == Format::Npy {
                    sink.overwrite_start(&npy_header(bytes / 8))?;
                }
                sink
            }
            Writer::Bitmap {
                mut sink, carry, ..
            } => {
                // The shifted stream has written one word fewer than it read: the carry is the
                // bitmap's last word unless the shift dropped a whole word of padding.
                let shifted_out_a_word =
                    sieve_core::OddBitmap::words_for(lo, hi) < words_from_aligned(lo, hi);
                if let (Some(last), false) = (carry, shifted_out_a_word) {
                    sink.write_all(&last.to_le_bytes())?;
                }
                sink
            }
        };
        sink.commit()
    }
}

fn list(
    comm: &dyn Comm,
    engine: &Engine,
    primes: &SievingPrimes,
    request: &Request,
    mut phases: Phases,
) -> Result<Option<Report>, JobError> {
    let (lo, hi) = (request.lo, request.hi);
    let (ranks, rank) = (comm.size(), comm.rank());
    let threads = engine.threads();
    if request.max_memory < minimum_memory(ranks) {
        return Err(JobError::MemoryTooSmall {
            minimum: minimum_memory(ranks),
        });
    }
    // At most three windows' worth at rank 0 (see `minimum_memory`); one Gatherv carries fewer
    // than 2^31 words.
    let mut window_words = (request.max_memory / 24)
        .min(i32::MAX as usize - 1)
        .max(ranks) as u64;
    if ranks * threads > 1 {
        // Windows of at most PIPELINE_WORDS where they stay wide (see `ListPlan::new`), so that
        // the first is formatted and written while the next are sieved. Narrow windows (near
        // 2^64), which would stream, keep their size.
        // Each thread's piece of a shared window pays the start of a sieve, about the time to
        // sieve max(sqrt(hi), 2^20) numbers: windows of 64 of those keep it within a few per cent.
        let start_words = 64 * hi.isqrt().max(1 << 20) / 128;
        window_words = window_words.min(PIPELINE_WORDS.max(start_words));
    }
    let plan = ListPlan::new(lo, hi, window_words, threads, shares(comm, lo, hi));

    // Rank 0 opens the output.
    let writer = if rank == 0 {
        Some(open_writer(request, threads)?)
    } else {
        None
    };
    std::thread::scope(|scope| {
        // Rank 0's writer thread formats window k on the engine's threads while the ranks sieve
        // window k + 1, and counts what it writes.
        let (sender, writer_thread) = match writer {
            Some(mut writer) => {
                let (tx, rx) = mpsc::sync_channel::<((u64, u64), Vec<u64>)>(1);
                let thread = scope.spawn(move || -> io::Result<Option<Counts>> {
                    let mut counts = None::<Counts>;
                    for (range, words) in rx {
                        let part = writer.window(engine, range, &words)?;
                        counts = Some(counts.map_or(part, |c| c.combine(part)));
                    }
                    writer.finish(lo, hi)?;
                    Ok(counts)
                });
                (Some(tx), Some(thread))
            }
            None => (None, None),
        };
        let mut stream = match &plan.sieving {
            WindowSieving::Streamed {
                slices,
                first_window,
            } => slices[rank].map(|slice| {
                let ((a, b), _) = plan.window(first_window[rank]);
                let first = words_from_aligned(a, b);
                SieveStream::start(scope, primes, engine.config(), slice, first)
            }),
            WindowSieving::Shared => None,
        };

        let t = Instant::now();
        let mut gather_time = Duration::ZERO;
        let mut windows = 0u64;
        let progress = engine.progress();
        for k in 0..plan.windows() {
            let ((a, b), owner) = plan.window(k);
            // Rank 0 says whether to go on: it stops early if its writer failed (a closed pipe, a
            // full disk), and every rank stops with it. With shared sieving the same broadcast
            // carries rank 0's cut of the window.
            let writer_alive = writer_thread.as_ref().is_none_or(|h| !h.is_finished());
            let (go_on, shares) = match owner {
                Some(owner) => {
                    let go_on = comm.broadcast_flag(writer_alive);
                    let mut shares = vec![None; ranks];
                    shares[owner] = Some((a, b));
                    (go_on, shares)
                }
                None => window_shares(comm, writer_alive, a, b),
            };
            if !go_on {
                break;
            }
            let counts_per_rank: Vec<usize> = shares
                .iter()
                .map(|s| s.map_or(0, |(a, b)| words_from_aligned(a, b)))
                .collect();
            let mine = match (shares[rank], owner, stream.as_mut()) {
                (Some(_), Some(_), Some(stream)) => stream.next(counts_per_rank[rank]),
                (Some((a, b)), _, _) => {
                    let mut words = vec![0u64; counts_per_rank[rank]];
                    engine.fill_words(primes, a, b, &mut words);
                    words
                }
                (None, _, _) => Vec::new(),
            };
            let g = Instant::now();
            let gathered = comm.gather_varcount(mine, &counts_per_rank);
            gather_time += g.elapsed();
            windows += 1;
            if let (Some(words), Some(tx)) = (gathered, &sender) {
                // The bar follows what rank 0 has gathered, over the whole range.
                progress.fetch_max(b - lo + 1, std::sync::atomic::Ordering::Relaxed);
                // If the writer has ended early, the send fails and the next broadcast stops every
                // rank.
                let _ = tx.send(((a, b), words));
            }
        }
        drop(stream);
        phases.sieve = t.elapsed().as_secs_f64();
        phases.reduce = gather_time.as_secs_f64();

        let w = Instant::now();
        drop(sender);
        let counts = match writer_thread {
            Some(handle) => handle
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("the writer thread panicked")))
                .map_err(JobError::Io)?,
            None => None,
        };
        phases.write = w.elapsed().as_secs_f64();
        Ok(counts.map(|counts| Report {
            counts,
            ranks,
            threads,
            phases,
            windows,
        }))
    })
}

/// Words per window, at most, in a listing on more than one thread (see [`list`]): 8 MiB, 2^27
/// numbers, eight windows for the primes to 10^9. With one window, nothing is written until the
/// whole range is sieved: for the primes to 10^9 to a file on 2 cores, the first write came
/// 0.10 to 0.13 s after the start, a third of the run (the sieve, and page faults on a 62 MB
/// buffer).
const PIPELINE_WORDS: u64 = 1 << 20;

/// Rank 0's cut of window `[a, b]` among the ranks, and whether to go on, in one broadcast. A
/// window narrow against its height costs the same per number throughout and is cut into equal
/// widths; a wide one by estimated cost.
fn window_shares(comm: &dyn Comm, go_on: bool, a: u64, b: u64) -> (bool, Vec<Option<(u64, u64)>>) {
    let ranks = comm.size();
    let cut = if b - a < a / 16 {
        plan::split(a, b, ranks)
    } else {
        plan::split_by_cost(a, b, ranks)
    };
    // [go on], then each share as [present, first, last].
    let mut flat: Vec<u64> = std::iter::once(u64::from(go_on))
        .chain(
            cut.iter()
                .flat_map(|s| s.map_or([0, 0, 0], |(a, b)| [1, a, b])),
        )
        .collect();
    if ranks > 1 {
        comm.broadcast(&mut flat);
    }
    let shares = flat[1..]
        .chunks_exact(3)
        .map(|c| (c[0] == 1).then_some((c[1], c[2])))
        .collect();
    (flat[0] == 1, shares)
}

/// Opens rank 0's output for `request` and writes what comes before the first window.
fn open_writer(request: &Request, threads: usize) -> Result<Writer, JobError> {
    let (lo, hi) = (request.lo, request.hi);
    let sink = |path: &Option<PathBuf>| match path {
        Some(p) => Sink::file(p).map_err(|e| {
            JobError::Io(io::Error::new(
                e.kind(),
                format!("cannot write {}: {e}", p.display()),
            ))
        }),
        None => Ok(Sink::stdout()),
    };
    Ok(match &request.mode {
        Mode::List { format, output } => {
            if format.needs_file() && output.is_none() {
                return Err(JobError::NeedsFile(*format));
            }
            let mut sink = sink(output)?;
            let mut formatter = ParallelFormatter::new(*format, threads, PART_WORDS);
            let mut head = Vec::new();
            if *format == Format::Npy {
                head.extend_from_slice(&npy_header(0)); // rewritten with the count at the end
            }
            let mut bytes = 0;
            if lo <= 2 && 2 <= hi {
                formatter.push_prime(2, &mut head);
                bytes = 8;
            }
            sink.write_all(&head).map_err(JobError::Io)?;
            Writer::Primes {
                sink,
                format: *format,
                formatter,
                bytes,
            }
        }
        Mode::Bitmap(path) => {
            let mut s = sink(&Some(path.clone()))?;
            s.write_all(&bitmap_file::header(lo, hi))
                .map_err(JobError::Io)?;
            Writer::Bitmap {
                sink: s,
                shift: ((lo - (lo & !127)) / 2) as u32,
                carry: None,
            }
        }
        Mode::Count => unreachable!("handled by run"),
    })
}
