//! The JSON record of a run (`erato --json`, `--json-file`), one type for the program that writes it
//! and for `erato-plot` and the tests that read it.
//!
//! ```
//! use driver::record::{Record, RecordMode, Seconds};
//!
//! let record = Record {
//!     start: 0,
//!     stop: 1_000_000,
//!     mode: RecordMode::Count,
//!     primes: 78_498,
//!     twins: None,
//!     triplets: None,
//!     quadruplets: None,
//!     quintuplets: None,
//!     sextuplets: None,
//!     gap: None,
//!     gap_records: None,
//!     ranks: 1,
//!     threads_per_rank: 2,
//!     windows: 0,
//!     seconds: Seconds { plan: 0.001, sieve: 0.01, reduce: 0.0, write: 0.0, total: 0.012 },
//! };
//! let json = record.to_json();
//! assert!(json.starts_with(r#"{"start":0,"stop":1000000,"mode":"count","primes":78498,"twins":null,"#));
//! assert_eq!(Record::from_json(&json).unwrap(), record);
//! ```

use serde::{Deserialize, Serialize};

use crate::job::{Mode, Report, Request};
use crate::output::Format;

/// What a run produced.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RecordMode {
    /// A count (`"count"`).
    Count,
    /// A listing, one prime per line (`"print"`).
    Print,
    /// A listing as Python prints it (`"print-python"`).
    PrintPython,
    /// A listing as a NumPy `.npy` file (`"print-npy"`).
    PrintNpy,
    /// A listing as raw little-endian `u64` (`"print-binary"`).
    PrintBinary,
    /// A bitmap file (`"bitmap"`).
    Bitmap,
}

/// Seconds spent in each phase at rank 0 (see [`crate::job::Phases`]), and in the whole run.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Seconds {
    /// Sieving primes and the plan.
    pub plan: f64,
    /// Sieving.
    pub sieve: f64,
    /// Reducing counts, or gathering windows.
    pub reduce: f64,
    /// Writing after sieving ended.
    pub write: f64,
    /// The whole run, from the engine's start to the result.
    pub total: f64,
}

/// A gap between consecutive primes `start` and `end`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GapRecord {
    /// `end - start`.
    pub length: u64,
    /// The prime before the gap.
    pub start: u64,
    /// The prime after it.
    pub end: u64,
}

impl From<sieve_core::Gap> for GapRecord {
    fn from(g: sieve_core::Gap) -> Self {
        Self {
            length: g.length,
            start: g.start,
            end: g.end(),
        }
    }
}

/// One run, as `--json` prints it: a single line, fields in this order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// START.
    pub start: u64,
    /// STOP.
    pub stop: u64,
    /// What was produced.
    pub mode: RecordMode,
    /// Primes in `[start, stop]`.
    pub primes: u64,
    /// Twin pairs when asked for (`--twins`, `-c2`); `null` otherwise, listings included.
    pub twins: Option<u64>,
    /// Prime triplets when asked for (`-c3`); `null` otherwise (and in records before them).
    #[serde(default)]
    pub triplets: Option<u64>,
    /// Prime quadruplets when asked for (`-c4`); `null` otherwise.
    #[serde(default)]
    pub quadruplets: Option<u64>,
    /// Prime quintuplets when asked for (`-c5`); `null` otherwise.
    #[serde(default)]
    pub quintuplets: Option<u64>,
    /// Prime sextuplets when asked for (`-c6`); `null` otherwise.
    #[serde(default)]
    pub sextuplets: Option<u64>,
    /// The largest gap between consecutive primes of the range, its first occurrence (`--gaps`;
    /// `null` without it, or with fewer than two primes in the range).
    #[serde(default)]
    pub gap: Option<GapRecord>,
    /// The record gaps of the range, each longer than every earlier one in it (`--gaps`).
    #[serde(default)]
    pub gap_records: Option<Vec<GapRecord>>,
    /// MPI ranks.
    pub ranks: usize,
    /// Threads per rank.
    pub threads_per_rank: usize,
    /// Windows gathered (listings and bitmaps; 0 for counts).
    pub windows: u64,
    /// Time per phase.
    pub seconds: Seconds,
}

/// Rounds to microseconds, the precision of the record.
fn micro(seconds: f64) -> f64 {
    (seconds * 1e6).round() / 1e6
}

impl Record {
    /// The record of `request`, answered by `report` in `total` seconds.
    pub fn new(request: &Request, report: &Report, total: f64) -> Self {
        let mode = match &request.mode {
            Mode::Count => RecordMode::Count,
            Mode::List {
                format: Format::Lines,
                ..
            } => RecordMode::Print,
            Mode::List {
                format: Format::Python,
                ..
            } => RecordMode::PrintPython,
            Mode::List {
                format: Format::Npy,
                ..
            } => RecordMode::PrintNpy,
            Mode::List {
                format: Format::Binary,
                ..
            } => RecordMode::PrintBinary,
            Mode::Bitmap(_) => RecordMode::Bitmap,
        };
        let p = report.phases;
        Record {
            start: request.lo,
            stop: request.hi,
            mode,
            primes: report.counts.primes,
            twins: request.twins.then_some(report.counts.twins),
            triplets: None,
            quadruplets: None,
            quintuplets: None,
            sextuplets: None,
            gap: None,
            gap_records: None,
            ranks: report.ranks,
            threads_per_rank: report.threads,
            windows: report.windows,
            seconds: Seconds {
                plan: micro(p.plan),
                sieve: micro(p.sieve),
                reduce: micro(p.reduce),
                write: micro(p.write),
                total: micro(total),
            },
        }
    }

    /// Sets the k-tuplet counts (k = 3..=6) to `count(k)`.
    pub fn set_tuplets(&mut self, count: impl Fn(usize) -> Option<u64>) {
        self.triplets = count(3);
        self.quadruplets = count(4);
        self.quintuplets = count(5);
        self.sextuplets = count(6);
    }

    /// Sets the largest gap and the record gaps.
    pub fn set_gaps(&mut self, gaps: &sieve_core::Gaps) {
        self.gap = gaps.largest().map(GapRecord::from);
        self.gap_records = Some(gaps.records.iter().copied().map(GapRecord::from).collect());
    }

    /// The record as one line of JSON (no newline).
    pub fn to_json(&self) -> String {
        // Integers, finite floats, an enum and an Option: nothing here can fail to serialize (a
        // non-finite float would become null, not an error).
        serde_json::to_string(self).expect("a Record always serializes")
    }

    /// Reads a record written by [`Record::to_json`].
    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text.trim())
    }
}
