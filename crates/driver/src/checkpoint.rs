//! `--checkpoint FILE`: long counts that survive a crash.
//!
//! `[lo, hi]` is cut into units that depend only on `lo` and `hi` (about 2^30 numbers each, at most
//! 1024), so a resumed run may use other numbers of ranks and threads. The run goes in rounds of
//! pending units; after each, rank 0 rewrites the file whole under a temporary name and renames it
//! onto FILE, so a crash at any moment leaves the previous checkpoint intact. Rerunning the same
//! command skips the units already done and gives exactly the counts of an uninterrupted run,
//! because unit counts combine exactly ([`Counts::combine`]).
//!
//! A checkpoint is input like any other, and a wrong count in it would become a wrong answer, so
//! [`Checkpoint::open`] refuses a file that
//! - fails its CRC-32 (damaged, truncated or edited by hand), or has none (format 1, before it had
//!   one);
//! - was written for another range, another twin setting or another build of erato;
//! - holds counts that cannot be right for their unit: more primes than numbers prime to 6, more
//!   than explicit bounds on `pi(x)` allow, or fewer; more twin pairs than primes allow; twin pairs
//!   in a count without twins; edges that are not the unit's first and last odd numbers, or whose
//!   primality disagrees with Miller–Rabin; a unit twice.
//!
//! The file is text (format 2):
//! ```text
//! erato-checkpoint 2
//! build 0.1.0
//! range 0 100000000000
//! twins true
//! units 93
//! done UNIT LO HI PRIMES TWINS FIRST_ODD FIRST_PRIME LAST_ODD LAST_PRIME     (one line per unit; - 0 for no edge)
//! crc32 XXXXXXXX
//! ```
//! The last line is the CRC-32 (IEEE, as `crc32fast` computes it) of every byte before it, in eight
//! lowercase hexadecimal digits, followed by a newline.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use sieve_core::{Counts, Edge};

use crate::output::Sink;
use crate::plan;

/// The build written into checkpoints: a checkpoint from another version is refused.
pub const BUILD: &str = env!("CARGO_PKG_VERSION");

/// The first line of every checkpoint this erato writes and reads.
const MAGIC: &str = "erato-checkpoint 2";

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
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    /// The file could not be read or written.
    #[error("checkpoint {}: {}", .0.display(), .1)]
    Io(PathBuf, #[source] std::io::Error),
    /// The file is not a checkpoint, is damaged, or holds counts that cannot be right.
    #[error("checkpoint {} is not usable: {}; delete it to start the count again", .0.display(), .1)]
    Corrupt(PathBuf, String),
    /// The file belongs to another run.
    #[error("checkpoint {} was written for another run ({}); use another file or delete it", .0.display(), .1)]
    Mismatch(PathBuf, String),
}

fn edge(odd: &str, prime: &str) -> Result<Option<Edge>, String> {
    let prime = match prime {
        "0" => false,
        "1" => true,
        _ => return Err(format!("bad primality flag {prime:?}")),
    };
    if odd == "-" {
        return Ok(None);
    }
    Ok(Some(Edge {
        odd: odd.parse().map_err(|_| format!("bad number {odd:?}"))?,
        prime,
    }))
}

/// The checksum line that ends a checkpoint whose other lines are `body`.
fn checksum_line(body: &str) -> String {
    format!("crc32 {:08x}\n", crc32fast::hash(body.as_bytes()))
}

/// The lines of `text` before its checksum line, if the checksum is there and right.
fn verified_body(text: &str) -> Result<&str, String> {
    if !text.starts_with(&format!("{MAGIC}\n")) {
        if text.starts_with("erato-checkpoint 1\n") {
            return Err(
                "it was written by an older erato in format 1, which has no checksum".into(),
            );
        }
        return Err(format!("it does not start with '{MAGIC}'"));
    }
    let body_len = text
        .strip_suffix('\n')
        .and_then(|t| t.rfind('\n'))
        .map(|i| i + 1)
        .ok_or("it is truncated: no checksum line")?;
    let (body, last) = text.split_at(body_len);
    if !last.starts_with("crc32 ") {
        return Err("it is truncated: no checksum line".into());
    }
    if last != checksum_line(body) {
        return Err("it fails its checksum (damaged, truncated or edited)".into());
    }
    Ok(&body[MAGIC.len() + 1..])
}

/// Upper bound on `pi(x)` for every `x >= 0`: `x / ln x * (1 + 1.2762 / ln x)` for `x > 1` (Dusart
/// 1999), with a little room for floating-point rounding.
fn pi_upper(x: u64) -> f64 {
    if x < 2 {
        return 0.0;
    }
    let (x, l) = (x as f64, (x as f64).ln());
    (x / l * (1.0 + 1.2762 / l)) * (1.0 + 1e-9) + 1.0
}

/// Lower bound on `pi(x)` for every `x >= 0`: `x / ln x * (1 + 1 / ln x)` for `x >= 599` (Dusart
/// 1999), 0 below, with a little room for floating-point rounding.
fn pi_lower(x: u64) -> f64 {
    if x < 599 {
        return 0.0;
    }
    let (x, l) = (x as f64, (x as f64).ln());
    (x / l * (1.0 + 1.0 / l)) * (1.0 - 1e-9) - 1.0
}

/// Numbers in `[lo, hi]` that are 2, 3 or prime to 6: no interval holds more primes.
fn prime_to_6(lo: u64, hi: u64) -> u64 {
    // Numbers prime to 6 in [0, x]: those = 1 or 5 (mod 6).
    let upto = |x: u64| x / 6 * 2 + u64::from(x % 6 >= 1) + u64::from(x % 6 >= 5);
    let below = if lo == 0 { 0 } else { upto(lo - 1) };
    upto(hi) - below + u64::from(lo <= 2 && 2 <= hi) + u64::from(lo <= 3 && 3 <= hi)
}

/// Whether `counts` can be the counts of its interval (see the module docs); why not otherwise.
fn check_counts(c: &Counts, twins: bool) -> Result<(), String> {
    let (lo, hi) = (c.lo, c.hi);
    let most = prime_to_6(lo, hi) as f64;
    let most = most.min(pi_upper(hi) - if lo > 0 { pi_lower(lo - 1) } else { 0.0 });
    let least = pi_lower(hi) - if lo > 0 { pi_upper(lo - 1) } else { 0.0 };
    let primes = c.primes as f64;
    if primes > most || primes < least {
        return Err(format!(
            "records {} primes, which cannot be right: there are between {} and {}",
            c.primes,
            least.max(0.0).ceil(),
            most.floor()
        ));
    }
    if !twins && c.twins != 0 {
        return Err(format!(
            "records {} twin pairs in a count without twins",
            c.twins
        ));
    }
    if c.twins > c.primes.saturating_sub(1) {
        return Err(format!(
            "records {} twin pairs among {} primes",
            c.twins, c.primes
        ));
    }
    let (first, last) = if lo | 1 <= hi {
        (Some(lo | 1), Some(if hi % 2 == 1 { hi } else { hi - 1 }))
    } else {
        (None, None)
    };
    for (name, edge, odd) in [("first", c.first, first), ("last", c.last, last)] {
        match (edge, odd) {
            (None, None) => {}
            (Some(e), Some(odd)) if e.odd == odd => {
                if e.prime != sieve_core::oracle::is_prime(odd) {
                    let (says, is) = if e.prime { ("", "not ") } else { ("not ", "") };
                    return Err(format!(
                        "says its {name} odd number {odd} is {says}prime, but it is {is}prime"
                    ));
                }
            }
            _ => return Err(format!("has a wrong {name} odd number")),
        }
    }
    Ok(())
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
        let body = verified_body(&text).map_err(corrupt)?;
        let mut lines = body.lines();
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
            let unit = usize::try_from(num(1)?).unwrap_or(usize::MAX);
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
            check_counts(&counts, twins).map_err(|why| {
                corrupt(format!("unit {unit} [{}, {}] {why}", counts.lo, counts.hi))
            })?;
            if cp.done.insert(unit, counts).is_some() {
                return Err(corrupt(format!("unit {unit} is recorded twice")));
            }
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
            "{MAGIC}\nbuild {BUILD}\nrange {} {}\ntwins {}\nunits {}\n",
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
        let crc = checksum_line(&text);
        text.push_str(&crc);
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

    fn scratch(test: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("erato-checkpoint-{}-{test}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir.join("cp")
    }

    /// Replaces the body of a checkpoint file with `edit(body)` and a checksum that fits it, as
    /// someone who knows the format could.
    fn rewrite_with_checksum(path: &Path, edit: impl FnOnce(&str) -> String) {
        let text = std::fs::read_to_string(path).unwrap();
        let body_len = text[..text.len() - 1].rfind('\n').unwrap() + 1;
        let body = edit(&text[..body_len]);
        std::fs::write(path, format!("{body}{}", checksum_line(&body))).unwrap();
    }

    fn corrupt_because(result: Result<Checkpoint, CheckpointError>) -> String {
        match result {
            Err(CheckpointError::Corrupt(_, why)) => why,
            Err(e) => panic!("expected Corrupt, got {e}"),
            Ok(_) => panic!("expected Corrupt, got a usable checkpoint"),
        }
    }

    #[test]
    fn round_trip_and_refusals() {
        let path = scratch("round-trip");
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
        assert!(corrupt_because(Checkpoint::open(&path, lo, hi, true)).contains("does not start"));
    }

    /// The issue's case: one count changed by hand (78498 to 12345) is refused, not reported.
    #[test]
    fn edited_count_fails_the_checksum() {
        let path = scratch("edited");
        let mut cp = Checkpoint::open(&path, 0, 1_000_000, false).unwrap();
        cp.record(0, sieve_core::count(0, 1_000_000, false));
        cp.save().unwrap();
        assert_eq!(
            Checkpoint::open(&path, 0, 1_000_000, false)
                .unwrap()
                .total()
                .unwrap()
                .primes,
            78_498
        );
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(" 78498 "), "{text}");
        std::fs::write(&path, text.replace(" 78498 ", " 12345 ")).unwrap();
        let why = corrupt_because(Checkpoint::open(&path, 0, 1_000_000, false));
        assert!(why.contains("checksum"), "{why}");
        // The same edit with a checksum recomputed to match: the count itself cannot be right.
        std::fs::write(&path, &text).unwrap();
        rewrite_with_checksum(&path, |body| body.replace(" 78498 ", " 12345 "));
        let why = corrupt_because(Checkpoint::open(&path, 0, 1_000_000, false));
        assert!(why.contains("12345 primes, which cannot be right"), "{why}");
    }

    #[test]
    fn truncated_or_old_files_are_refused() {
        let path = scratch("truncated");
        let (lo, hi) = (0u64, 5_000_000_000u64);
        let all = units(lo, hi);
        let mut cp = Checkpoint::open(&path, lo, hi, true).unwrap();
        for unit in [0, 2] {
            cp.record(unit, sieve_core::count(all[unit].0, all[unit].1, true));
        }
        cp.save().unwrap();
        let whole = std::fs::read(&path).unwrap();
        // Cut anywhere, even at a line end: refused.
        for len in (0..whole.len()).step_by(7).chain([whole.len() - 1]) {
            std::fs::write(&path, &whole[..len]).unwrap();
            let why = corrupt_because(Checkpoint::open(&path, lo, hi, true));
            assert!(
                why.contains("truncated") || why.contains("checksum") || why.contains("start"),
                "cut at {len}: {why}"
            );
        }
        // A whole line lost from the middle.
        let text = String::from_utf8(whole.clone()).unwrap();
        let without_a_unit: String = text
            .lines()
            .filter(|l| !l.starts_with("done 2 "))
            .map(|l| format!("{l}\n"))
            .collect();
        std::fs::write(&path, without_a_unit).unwrap();
        assert!(corrupt_because(Checkpoint::open(&path, lo, hi, true)).contains("checksum"));
        // Format 1 had no checksum: refused with a clear reason, never read.
        let old: String = text
            .replace(MAGIC, "erato-checkpoint 1")
            .lines()
            .filter(|l| !l.starts_with("crc32 "))
            .map(|l| format!("{l}\n"))
            .collect();
        std::fs::write(&path, old).unwrap();
        let why = corrupt_because(Checkpoint::open(&path, lo, hi, true));
        assert!(why.contains("format 1"), "{why}");
    }

    #[test]
    fn inconsistent_counts_are_refused() {
        let path = scratch("inconsistent");
        let (lo, hi) = (0u64, 5_000_000_000u64);
        let all = units(lo, hi);
        let c = sieve_core::count(all[1].0, all[1].1, true);
        let line = |c: &Counts| {
            let e = |e: Option<Edge>| {
                e.map_or("- 0".into(), |e| format!("{} {}", e.odd, u8::from(e.prime)))
            };
            format!(
                "done 1 {} {} {} {} {} {}\n",
                c.lo,
                c.hi,
                c.primes,
                c.twins,
                e(c.first),
                e(c.last)
            )
        };
        let mut cp = Checkpoint::open(&path, lo, hi, true).unwrap();
        cp.record(1, c);
        cp.save().unwrap();
        let good = std::fs::read_to_string(&path).unwrap();
        let cases: Vec<(Counts, &str)> = vec![
            (
                Counts {
                    primes: c.primes * 2,
                    ..c
                },
                "cannot be right",
            ),
            (
                Counts {
                    primes: c.primes / 2,
                    ..c
                },
                "cannot be right",
            ),
            (
                Counts {
                    twins: c.primes,
                    ..c
                },
                "twin pairs among",
            ),
            (
                Counts {
                    first: c.first.map(|e| Edge {
                        prime: !e.prime,
                        ..e
                    }),
                    ..c
                },
                "prime, but it is",
            ),
            (
                Counts {
                    last: c.last.map(|e| Edge {
                        odd: e.odd - 2,
                        ..e
                    }),
                    ..c
                },
                "wrong last odd number",
            ),
            (Counts { first: None, ..c }, "wrong first odd number"),
        ];
        for (bad, want) in cases {
            std::fs::write(&path, &good).unwrap();
            rewrite_with_checksum(&path, |body| body.replace(&line(&c), &line(&bad)));
            let why = corrupt_because(Checkpoint::open(&path, lo, hi, true));
            assert!(why.contains(want), "{bad:?}: {why}");
        }
        // A unit recorded twice.
        std::fs::write(&path, &good).unwrap();
        rewrite_with_checksum(&path, |body| format!("{body}{}", line(&c)));
        assert!(corrupt_because(Checkpoint::open(&path, lo, hi, true)).contains("twice"));
        // Twin pairs in a checkpoint of a count without twins.
        let path = scratch("no-twins");
        let mut cp = Checkpoint::open(&path, lo, hi, false).unwrap();
        cp.record(1, sieve_core::count(all[1].0, all[1].1, false));
        cp.save().unwrap();
        rewrite_with_checksum(&path, |body| {
            let plain = sieve_core::count(all[1].0, all[1].1, false);
            body.replace(&line(&plain), &line(&Counts { twins: 5, ..plain }))
        });
        assert!(corrupt_because(Checkpoint::open(&path, lo, hi, false)).contains("without twins"));
    }

    #[test]
    fn bounds_hold_for_true_counts() {
        // The published counts sit inside the bounds, from tiny ranges up to 10^10 ...
        for (x, pi, _) in sieve_core::oracle::PUBLISHED_COUNTS {
            let c = sieve_core::count(0, x, true);
            assert_eq!(c.primes, pi);
            check_counts(&c, true).unwrap();
        }
        // ... and so do every tiny interval near the bottom and intervals higher up.
        for lo in 0..200u64 {
            for hi in lo..lo + 40 {
                check_counts(&sieve_core::count(lo, hi, true), true)
                    .unwrap_or_else(|e| panic!("[{lo}, {hi}]: {e}"));
            }
        }
        for lo in [1u64 << 40, 1_000_000_000_000, (1 << 40) + 1] {
            for len in [0, 1, 2, 100, 1_000_000] {
                check_counts(&sieve_core::count(lo, lo + len, false), false).unwrap();
            }
        }
        assert_eq!(prime_to_6(0, 30), 2 + 10);
        assert_eq!(prime_to_6(5, 5), 1);
        assert_eq!(prime_to_6(4, 4), 0);
    }
}
