//! `--checkpoint FILE`: long counts that survive a crash.
//!
//! `[lo, hi]` is cut into units that depend only on `lo` and `hi` (about 2^30 numbers each, at most
//! 1024), so a resumed run may use other numbers of ranks and threads. The run goes in rounds of
//! pending units; after each, rank 0 rewrites the file whole under a temporary name and renames it
//! onto FILE, so a crash at any moment leaves the previous checkpoint intact. Rerunning the same
//! command skips the units already done and gives exactly the counts of an uninterrupted run,
//! because unit counts combine exactly ([`Counts::combine`]). A file written for another range,
//! another twin setting or another build of erato is refused.
//!
//! The file is text:
//! ```text
//! erato-checkpoint 1
//! build 0.1.0
//! range 0 100000000000
//! twins true
//! units 93
//! done UNIT LO HI PRIMES TWINS FIRST_ODD FIRST_PRIME LAST_ODD LAST_PRIME     (one line per unit; - for no edge)
//! ```

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use sieve_core::{Counts, Edge};

use crate::output::Sink;
use crate::plan;

/// The build written into checkpoints: a checkpoint from another version is refused.
pub const BUILD: &str = env!("CARGO_PKG_VERSION");

/// The units of `[lo, hi]`: about 2^30 numbers each, at most 1024, cut at multiples of 128.
pub fn units(lo: u64, hi: u64) -> Vec<(u64, u64)> {
    let count = ((hi - lo) >> 30).clamp(1, 1024) as usize;
    plan::split(lo, hi, count).into_iter().flatten().collect()
}

/// The state of a checkpointed count.
pub struct Checkpoint {
    path: PathBuf,
    lo: u64,
    hi: u64,
    twins: bool,
    units: usize,
    done: BTreeMap<usize, Counts>,
}

/// Why a checkpoint cannot be used.
#[derive(Debug)]
pub enum CheckpointError {
    /// The file could not be read or written.
    Io(PathBuf, std::io::Error),
    /// The file is not a checkpoint, or is damaged.
    Corrupt(PathBuf, String),
    /// The file belongs to another run.
    Mismatch(PathBuf, String),
}

impl std::fmt::Display for CheckpointError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Io(p, e) => write!(f, "checkpoint {}: {e}", p.display()),
            Self::Corrupt(p, why) => write!(f, "checkpoint {} is not usable: {why}", p.display()),
            Self::Mismatch(p, why) => write!(
                f,
                "checkpoint {} was written for another run ({why}); use another file or delete it",
                p.display()
            ),
        }
    }
}

fn edge(odd: &str, prime: &str) -> Result<Option<Edge>, String> {
    if odd == "-" {
        return Ok(None);
    }
    Ok(Some(Edge {
        odd: odd.parse().map_err(|_| format!("bad number {odd:?}"))?,
        prime: prime == "1",
    }))
}

impl Checkpoint {
    /// Opens `path` for a count of `[lo, hi]`: a new, empty checkpoint if the file does not exist,
    /// else the one in it, if it was written for this very run.
    pub fn open(path: &Path, lo: u64, hi: u64, twins: bool) -> Result<Self, CheckpointError> {
        let units = units(lo, hi).len();
        let mut cp = Self {
            path: path.to_owned(),
            lo,
            hi,
            twins,
            units,
            done: BTreeMap::new(),
        };
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(cp),
            Err(e) => return Err(CheckpointError::Io(path.to_owned(), e)),
        };
        let corrupt = |why: String| CheckpointError::Corrupt(path.to_owned(), why);
        let mismatch = |why: String| CheckpointError::Mismatch(path.to_owned(), why);
        let mut lines = text.lines();
        if lines.next() != Some("erato-checkpoint 1") {
            return Err(corrupt(
                "it does not start with 'erato-checkpoint 1'".into(),
            ));
        }
        let mut field = |name: &str| -> Result<String, CheckpointError> {
            let line = lines
                .next()
                .ok_or_else(|| corrupt(format!("no {name} line")))?;
            line.strip_prefix(&format!("{name} "))
                .map(str::to_owned)
                .ok_or_else(|| corrupt(format!("expected {name}, found {line:?}")))
        };
        let build = field("build")?;
        if build != BUILD {
            return Err(mismatch(format!("erato {build}, this is erato {BUILD}")));
        }
        let range = field("range")?;
        if range != format!("{lo} {hi}") {
            return Err(mismatch(format!("range {range}, this run {lo} {hi}")));
        }
        let file_twins = field("twins")?;
        if file_twins != twins.to_string() {
            return Err(mismatch(format!("twins {file_twins}, this run {twins}")));
        }
        if field("units")? != units.to_string() {
            return Err(corrupt("its unit count does not match its range".into()));
        }
        let all_units = self::units(lo, hi);
        for line in lines {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() != 10 || f[0] != "done" {
                return Err(corrupt(format!("bad line {line:?}")));
            }
            let num = |i: usize| {
                f[i].parse::<u64>()
                    .map_err(|_| corrupt(format!("bad number in {line:?}")))
            };
            let unit = num(1)? as usize;
            let counts = Counts {
                lo: num(2)?,
                hi: num(3)?,
                primes: num(4)?,
                twins: num(5)?,
                first: edge(f[6], f[7]).map_err(corrupt)?,
                last: edge(f[8], f[9]).map_err(corrupt)?,
            };
            if all_units.get(unit) != Some(&(counts.lo, counts.hi)) {
                return Err(corrupt(format!(
                    "unit {unit} does not match its range in {line:?}"
                )));
            }
            cp.done.insert(unit, counts);
        }
        Ok(cp)
    }

    /// Number of units of the run.
    pub fn unit_count(&self) -> usize {
        self.units
    }

    /// Whether `unit` is done.
    pub fn is_done(&self, unit: usize) -> bool {
        self.done.contains_key(&unit)
    }

    /// Records the counts of `unit`.
    pub fn record(&mut self, unit: usize, counts: Counts) {
        self.done.insert(unit, counts);
    }

    /// Writes the file whole under a temporary name and renames it onto the checkpoint.
    pub fn save(&self) -> Result<(), CheckpointError> {
        let mut text = format!(
            "erato-checkpoint 1\nbuild {BUILD}\nrange {} {}\ntwins {}\nunits {}\n",
            self.lo, self.hi, self.twins, self.units
        );
        let e = |edge: Option<Edge>| {
            edge.map_or("- 0".to_string(), |e| {
                format!("{} {}", e.odd, u8::from(e.prime))
            })
        };
        for (unit, c) in &self.done {
            text.push_str(&format!(
                "done {unit} {} {} {} {} {} {}\n",
                c.lo,
                c.hi,
                c.primes,
                c.twins,
                e(c.first),
                e(c.last)
            ));
        }
        let io = |e| CheckpointError::Io(self.path.clone(), e);
        let mut sink = Sink::file(&self.path).map_err(io)?;
        sink.write_all(text.as_bytes()).map_err(io)?;
        sink.commit().map_err(io)
    }

    /// The counts of the whole range, once every unit is done.
    pub fn total(&self) -> Option<Counts> {
        (self.done.len() == self.units).then(|| {
            self.done
                .values()
                .copied()
                .reduce(Counts::combine)
                .expect("at least one unit")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_refusals() {
        let dir = std::env::temp_dir().join(format!("erato-checkpoint-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("cp");
        let (lo, hi) = (0u64, 5_000_000_000u64);
        let all = units(lo, hi);
        assert_eq!(all.len(), 4);
        let mut cp = Checkpoint::open(&path, lo, hi, true).unwrap();
        let c = sieve_core::count(all[1].0, all[1].1, true);
        cp.record(1, c);
        cp.save().unwrap();
        let again = Checkpoint::open(&path, lo, hi, true).unwrap();
        assert!(again.is_done(1) && !again.is_done(0));
        assert_eq!(again.done[&1], c);
        assert!(matches!(
            Checkpoint::open(&path, lo, hi + 1, true),
            Err(CheckpointError::Mismatch(..))
        ));
        assert!(matches!(
            Checkpoint::open(&path, lo, hi, false),
            Err(CheckpointError::Mismatch(..))
        ));
        std::fs::write(&path, "garbage").unwrap();
        assert!(matches!(
            Checkpoint::open(&path, lo, hi, true),
            Err(CheckpointError::Corrupt(..))
        ));
    }
}
