//! One erato run on every rank: count, list or write the bitmap of `[lo, hi]`.
//!
//! Counting: each rank counts its slice on all its threads, and rank 0 gathers and combines the
//! [`Counts`] in rank order (so twin pairs across rank boundaries are counted once).
//!
//! Listing and bitmaps go in windows so that rank 0 never holds more than `max_memory`: for each
//! window every rank sieves its share into odd-only words (each share starts on a multiple of 128,
//! so the shares join word by word), rank 0 gathers them with one Gatherv, and a writer thread on
//! rank 0 formats window k while all ranks sieve window k + 1.

use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use sieve_core::{bitmap_file, Counts, SievingPrimes};

use crate::comm::Comm;
use crate::engine::{words_from_aligned, Engine};
use crate::output::{Format, PrimeWriter, Sink};
use crate::plan;

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
        return count_with_checkpoint(comm, engine, &primes, request, path, phases);
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

/// Counting in rounds of checkpoint units (see [`crate::checkpoint`]).
fn count_with_checkpoint(
    comm: &dyn Comm,
    engine: &Engine,
    primes: &SievingPrimes,
    request: &Request,
    path: &std::path::Path,
    mut phases: Phases,
) -> Result<Option<Report>, JobError> {
    use crate::checkpoint::{units, Checkpoint};
    let (lo, hi) = (request.lo, request.hi);
    let (ranks, rank) = (comm.size(), comm.rank());
    let all = units(lo, hi);
    // Rank 0 reads the file; every rank learns whether it may go on and which units are done.
    let mut checkpoint = None;
    let mut verdict = Ok(());
    if rank == 0 {
        match Checkpoint::open(path, lo, hi, request.twins) {
            Ok(cp) => checkpoint = Some(cp),
            Err(e) => verdict = Err(JobError::Checkpoint(e)),
        }
    }
    if !comm.broadcast_flag(verdict.is_ok()) {
        verdict?;
        return Err(JobError::CheckpointRefusedByRank0);
    }
    let mut done = vec![0u64; all.len().div_ceil(64)];
    if let Some(cp) = &checkpoint {
        for (unit, word) in (0..all.len())
            .filter(|&u| cp.is_done(u))
            .map(|u| (u, u / 64))
        {
            done[word] |= 1 << (unit % 64);
        }
    }
    comm.broadcast(&mut done);
    let pending: Vec<usize> = (0..all.len())
        .filter(|&u| done[u / 64] >> (u % 64) & 1 == 0)
        .collect();

    let t = Instant::now();
    let mut gather_time = Duration::ZERO;
    // Each round gives every thread of every rank about two units, then saves.
    let round = (2 * ranks * engine.threads()).max(1);
    for batch in pending.chunks(round) {
        let share = |r: usize| &batch[r * batch.len() / ranks..(r + 1) * batch.len() / ranks];
        let mine: Vec<(u64, u64)> = share(rank).iter().map(|&u| all[u]).collect();
        let counts = engine.count_each(primes, &mine, request.twins);
        let encoded: Vec<u64> = share(rank)
            .iter()
            .zip(&counts)
            .flat_map(|(&u, c)| std::iter::once(u as u64).chain(encode(Some(c))))
            .collect();
        let sizes: Vec<usize> = (0..ranks)
            .map(|r| share(r).len() * (1 + COUNTS_LEN))
            .collect();
        let g = Instant::now();
        let gathered = comm.gather_varcount(encoded, &sizes);
        gather_time += g.elapsed();
        if let (Some(words), Some(cp)) = (gathered, checkpoint.as_mut()) {
            for record in words.chunks_exact(1 + COUNTS_LEN) {
                cp.record(
                    record[0] as usize,
                    decode(&record[1..]).expect("a unit's counts"),
                );
            }
            cp.save().map_err(JobError::Checkpoint)?;
        }
    }
    phases.sieve = t.elapsed().as_secs_f64();
    phases.reduce = gather_time.as_secs_f64();
    Ok(checkpoint.map(|cp| Report {
        counts: cp.total().expect("every unit is done"),
        ranks,
        threads: engine.threads(),
        phases,
        windows: 0,
    }))
}

/// What the writer thread on rank 0 writes.
enum Writer {
    Primes(PrimeWriter<Sink>),
    Bitmap {
        sink: Sink,
        shift: u32,
        carry: Option<u64>,
    },
}

impl Writer {
    /// Takes the gathered words of one window, laid out from `aligned` (a multiple of 128).
    fn window(&mut self, aligned: u64, words: &[u64]) -> io::Result<()> {
        match self {
            Writer::Primes(w) => w.push_words(aligned + 1, words),
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
                sink.write_all(&bytes)
            }
        }
    }

    fn finish(self, lo: u64, hi: u64) -> io::Result<()> {
        let mut sink = match self {
            Writer::Primes(w) => w.finish()?,
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
    let ranks = comm.size();
    let threads = engine.threads();
    if request.max_memory < minimum_memory(ranks) {
        return Err(JobError::MemoryTooSmall {
            minimum: minimum_memory(ranks),
        });
    }
    // At most three windows' worth at rank 0 (see `minimum_memory`); one Gatherv carries fewer
    // than 2^31 words.
    let window_words = (request.max_memory / 24)
        .min(i32::MAX as usize - 1)
        .max(ranks) as u64;
    let window_numbers = window_words.saturating_mul(128);
    let start = lo & !127;

    // Rank 0 opens the output and starts the writer thread.
    let mut writer_thread = None;
    let mut sender = None;
    if comm.rank() == 0 {
        let sink = |path: &Option<PathBuf>| match path {
            Some(p) => Sink::file(p).map_err(|e| {
                JobError::Io(io::Error::new(
                    e.kind(),
                    format!("cannot write {}: {e}", p.display()),
                ))
            }),
            None => Ok(Sink::stdout()),
        };
        let writer = match &request.mode {
            Mode::List { format, output } => {
                let mut w = PrimeWriter::new(sink(output)?, *format);
                if lo <= 2 && 2 <= hi {
                    w.push(2).map_err(JobError::Io)?;
                }
                Writer::Primes(w)
            }
            Mode::Bitmap(path) => {
                let mut s = sink(&Some(path.clone()))?;
                s.write_all(&bitmap_file::header(lo, hi))
                    .map_err(JobError::Io)?;
                Writer::Bitmap {
                    sink: s,
                    shift: ((lo - start) / 2) as u32,
                    carry: None,
                }
            }
            Mode::Count => unreachable!("handled by run"),
        };
        let (tx, rx) = mpsc::sync_channel::<(u64, Vec<u64>)>(1);
        sender = Some(tx);
        writer_thread = Some(std::thread::spawn(move || -> io::Result<()> {
            let mut writer = writer;
            for (aligned, words) in rx {
                writer.window(aligned, &words)?;
            }
            writer.finish(lo, hi)
        }));
    }

    let t = Instant::now();
    let mut gather_time = Duration::ZERO;
    let mut counts = None::<Counts>;
    let mut windows = 0u64;
    let mut window_lo = start;
    loop {
        // Rank 0 says whether to go on: it stops early if its writer failed (a closed pipe, a full
        // disk), and every rank stops with it.
        let writer_alive = writer_thread.as_ref().is_none_or(|h| !h.is_finished());
        if !comm.broadcast_flag(writer_alive) {
            break;
        }
        let window_hi = window_lo.saturating_add(window_numbers - 1).min(hi);
        let shares = shares(comm, window_lo.max(lo), window_hi);
        let counts_per_rank: Vec<usize> = shares
            .iter()
            .map(|s| s.map_or(0, |(a, b)| words_from_aligned(a, b)))
            .collect();
        let mut mine = vec![0u64; counts_per_rank[comm.rank()]];
        if let Some((a, b)) = shares[comm.rank()] {
            engine.fill_words(primes, a, b, &mut mine);
        }
        let g = Instant::now();
        let gathered = comm.gather_varcount(mine, &counts_per_rank);
        gather_time += g.elapsed();
        windows += 1;
        if let (Some(words), Some(tx)) = (gathered, &sender) {
            let part = Counts::of_words(window_lo.max(lo), window_hi, &words);
            counts = Some(match counts {
                Some(c) => c.combine(part),
                None => part,
            });
            // If the writer has ended early, the send fails and the next broadcast stops every rank.
            let _ = tx.send((window_lo, words));
        }
        if window_hi == hi {
            break;
        }
        window_lo = window_hi + 1;
    }
    phases.sieve = t.elapsed().as_secs_f64();
    phases.reduce = gather_time.as_secs_f64();

    let w = Instant::now();
    drop(sender);
    if let Some(handle) = writer_thread {
        handle
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("the writer thread panicked")))
            .map_err(JobError::Io)?;
    }
    phases.write = w.elapsed().as_secs_f64();
    Ok(counts.map(|counts| Report {
        counts,
        ranks,
        threads,
        phases,
        windows,
    }))
}
