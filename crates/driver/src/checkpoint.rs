//! `--checkpoint FILE`: long counts that survive a crash.
//!
//! `[lo, hi]` is cut into units that depend only on `lo` and `hi` (about 2^30 numbers each, at most
//! 1024), so a resumed run may use other numbers of ranks and threads. The run goes in rounds of
//! pending units; after each, rank 0 rewrites the file whole under a temporary name and renames it
//! onto FILE, so a crash at any moment leaves the previous checkpoint intact. Rerunning the same
//! command skips the units already done and gives exactly the counts of an uninterrupted run,
//! because each unit records everything its neighbours need to combine with it
//! ([`Summary::combine`]): its counts and the primality of its first and last odd numbers (twin
//! pairs across units), its k-tuplet counts and which of its first and last 16 numbers are prime
//! (k-tuplets across units), and its first and last prime and record gaps (gaps across units).
//!
//! A checkpoint is input like any other, and a wrong count in it would become a wrong answer, so
//! [`Checkpoint::open`] refuses a file that
//! - fails its CRC-32 (damaged, truncated or edited by hand), or has none (format 1, before it had
//!   one);
//! - was written for another range, another twin setting, other k-tuplets (`-c3` .. `-c6`), with
//!   or without `--gaps`, or by another build of erato;
//! - holds counts that cannot be right for their unit: more primes than numbers prime to 6, more
//!   than explicit bounds on `pi(x)` allow, or fewer; more twin pairs or k-tuplets than primes
//!   allow; twin pairs in a count without twins; edges that are not the unit's first and last odd
//!   numbers, or whose primality disagrees with Miller–Rabin (for k-tuplets, each of the unit's
//!   first and last 16 numbers); a first or last prime, or a record gap's ends, that Miller–Rabin
//!   says are not prime, records that do not grow or lie outside the unit; a unit twice.
//!
//! The file is text (format 3):
//! ```text
//! erato-checkpoint 3
//! build 0.1.0
//! range 0 100000000000
//! twins true
//! tuplets 3,4        (the k-tuplets counted, or "none")
//! gaps true
//! units 93
//! done UNIT LO HI PRIMES TWINS FIRST_ODD FIRST_PRIME LAST_ODD LAST_PRIME [tuplets EDGES C2 C3 C4 C5 C6] [gaps FIRST LAST N LENGTH START ...]
//! crc32 XXXXXXXX
//! ```
//! One `done` line per unit; `- 0` stands for no edge, `-` for no first or last prime. The
//! `tuplets` part (only when k-tuplets are counted) is [`Tuplets::to_words`]'s words 2 to 7: the
//! kinds and the primality of the unit's first and last 16 numbers, then the counts for k = 2..6;
//! the `gaps` part (only with `--gaps`) holds the first and last prime and the N record gaps.
//! The last line is the CRC-32 (IEEE, as `crc32fast` computes it) of every byte before it, in eight
//! lowercase hexadecimal digits, followed by a newline.
//!
//! Format 2 (erato before k-tuplets and gaps could be checkpointed) is format 3 without the
//! `tuplets` and `gaps` lines and parts: it is still read for counts of primes and twins, and
//! refused, as written for another run, for counts with k-tuplets or gaps. A checkpoint is always
//! rewritten in format 3.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use sieve_core::{Counts, Edge, Gap, Gaps, SievingPrimes, TupletTally, Tuplets};

use crate::comm::Comm;
use crate::engine::Engine;
use crate::job::{JobError, Phases};
use crate::output::Sink;
use crate::plan;
use crate::summary::{self, Summary};

/// The build written into checkpoints: a checkpoint from another version is refused.
pub const BUILD: &str = env!("CARGO_PKG_VERSION");

/// The format this erato writes.
const FORMAT: u32 = 3;

/// The first line of a checkpoint in `format`.
fn magic(format: u32) -> String {
    format!("erato-checkpoint {format}")
}

/// The units of `[lo, hi]`: about 2^30 numbers each, at most 1024, cut at multiples of 128.
pub fn units(lo: u64, hi: u64) -> Vec<(u64, u64)> {
    let count = ((hi - lo) >> 30).clamp(1, 1024) as usize;
    plan::split(lo, hi, count).into_iter().flatten().collect()
}

/// What a checkpointed count counts besides primes: a checkpoint is only resumed by a run that
/// asks for the same.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Asked {
    /// Twin pairs (`--twins`, `-c2`).
    pub twins: bool,
    /// The k-tuplets, bit k for each k in 3..=6 (`-c3` .. `-c6`).
    pub kinds: u8,
    /// The gaps (`--gaps`).
    pub gaps: bool,
}

impl Asked {
    /// Plain counts of primes (and twins if `twins`).
    pub fn counts(twins: bool) -> Self {
        Self {
            twins,
            kinds: 0,
            gaps: false,
        }
    }
}

/// The `tuplets` header value of `kinds`: "3,4", or "none".
fn kinds_text(kinds: u8) -> String {
    let ks: Vec<String> = (2..=6)
        .filter(|k| kinds >> k & 1 == 1)
        .map(|k| k.to_string())
        .collect();
    if ks.is_empty() {
        "none".into()
    } else {
        ks.join(",")
    }
}

/// The state of a checkpointed count.
pub struct Checkpoint {
    path: PathBuf,
    lo: u64,
    hi: u64,
    asked: Asked,
    units: usize,
    done: BTreeMap<usize, Summary>,
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

/// The format of `text` and its lines after the first and before its checksum line, if the
/// checksum is there and right.
fn verified_body(text: &str) -> Result<(u32, &str), String> {
    let format = [FORMAT, 2]
        .into_iter()
        .find(|&f| text.starts_with(&format!("{}\n", magic(f))));
    let Some(format) = format else {
        if text.starts_with("erato-checkpoint 1\n") {
            return Err(
                "it was written by an older erato in format 1, which has no checksum".into(),
            );
        }
        if text.starts_with("erato-checkpoint ") {
            return Err(format!(
                "it is in a format this erato does not know (it reads formats 2 and {FORMAT}): \
                 written by a newer erato?"
            ));
        }
        return Err(format!("it does not start with '{}'", magic(FORMAT)));
    };
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
    Ok((format, &body[magic(format).len() + 1..]))
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

/// The odd-only words of `[a, b]` as the sieve lays them out (bit `i` for `(a & !127) + 1 + 2i`),
/// from Miller–Rabin: for the few numbers at a unit's edges.
fn oracle_words(a: u64, b: u64) -> Vec<u64> {
    let base = a & !127;
    let mut words = vec![0u64; ((b - base) / 128 + 1) as usize];
    for x in (a..=b).filter(|&x| x % 2 == 1 && sieve_core::oracle::is_prime(x)) {
        let i = ((x - base - 1) / 2) as usize;
        words[i / 64] |= 1 << (i % 64);
    }
    words
}

/// The edge word ([`Tuplets::to_words`]'s word 2) that the tuplets of `[lo, hi]` must have: the
/// kinds, and which of the first and last 16 numbers are prime, taken from the tuplets of those
/// numbers alone (bits 8..24 hold the head, 24..40 the tail; the tests check this against sieved
/// units).
fn expected_edges(lo: u64, hi: u64, kinds: u8) -> u64 {
    let of = |a: u64, b: u64| Tuplets::of_words(a, b, kinds, &oracle_words(a, b)).to_words()[2];
    let head = of(lo, hi.min(lo.saturating_add(15)));
    let tail = of(lo.max(hi.saturating_sub(15)), hi);
    u64::from(kinds) | head & 0xffff << 8 | tail & 0xffff << 24
}

/// Whether `t` can be the k-tuplets of its unit, counted with `c`.
fn check_tuplets(t: &Tuplets, c: &Counts, kinds: u8) -> Result<(), String> {
    for k in 2..=6 {
        let n = t.count(k);
        if kinds >> k & 1 == 0 && n != 0 {
            return Err(format!(
                "records {n} {k}-tuplets, which this count does not count"
            ));
        }
        if n > c.primes {
            return Err(format!("records {n} {k}-tuplets among {} primes", c.primes));
        }
    }
    if t.to_words()[2] != expected_edges(c.lo, c.hi, kinds) {
        return Err("records which of its first and last 16 numbers are prime wrongly".into());
    }
    Ok(())
}

/// Whether `g` can be the gaps of its unit, counted with `c`.
fn check_gaps(g: &Gaps, c: &Counts) -> Result<(), String> {
    let is_prime = sieve_core::oracle::is_prime;
    let (first, last) = match (g.first, g.last) {
        (None, None) if c.primes == 0 && g.records.is_empty() => return Ok(()),
        (Some(f), Some(l)) if c.lo <= f && f <= l && l <= c.hi => (f, l),
        _ => return Err("records a first or last prime that does not fit its counts".into()),
    };
    for p in [first, last] {
        if !is_prime(p) {
            return Err(format!("records {p} as a prime, but it is not prime"));
        }
    }
    if c.primes == 0 || (c.primes == 1) != (first == last) {
        return Err(format!(
            "records first prime {first} and last prime {last} among {} primes",
            c.primes
        ));
    }
    // The gap after the first prime is the first record; each later one is longer and later.
    let mut previous: Option<Gap> = None;
    for (i, r) in g.records.iter().enumerate() {
        let end = r.start.checked_add(r.length);
        let fits = end.is_some_and(|end| first <= r.start && end <= last && r.length > 0);
        let grows = match previous {
            None => r.start == first,
            Some(p) => r.length > p.length && r.start > p.start,
        };
        if !fits || !grows || !is_prime(r.start) || !end.is_some_and(is_prime) {
            return Err(format!(
                "records a gap of {} after {} that cannot be its record gap {i}",
                r.length, r.start
            ));
        }
        previous = Some(*r);
    }
    if (c.primes >= 2) == g.records.is_empty() {
        return Err(format!(
            "records {} record gaps among {} primes",
            g.records.len(),
            c.primes
        ));
    }
    Ok(())
}

/// Reads the `tuplets ...` and `gaps ...` parts of a `done` line (`f`: the fields after its first
/// ten) for a unit `[lo, hi]`.
fn parse_parts(
    f: &[&str],
    lo: u64,
    hi: u64,
    asked: Asked,
) -> Result<(Option<Tuplets>, Option<Gaps>), String> {
    let num = |s: &str| s.parse::<u64>().map_err(|_| format!("bad number {s:?}"));
    let mut at = 0;
    let mut tuplets = None;
    if asked.kinds != 0 {
        let part = f
            .get(at..at + 7)
            .filter(|p| p[0] == "tuplets")
            .ok_or("no k-tuplet counts")?;
        let mut words = vec![lo, hi];
        for w in &part[1..] {
            words.push(num(w)?);
        }
        if words[2] & 0xff != u64::from(asked.kinds) {
            return Err("k-tuplet counts of other kinds".into());
        }
        tuplets = Some(Tuplets::from_words(&words));
        at += 7;
    }
    let mut gaps = None;
    if asked.gaps {
        let part = f
            .get(at..at + 4)
            .filter(|p| p[0] == "gaps")
            .ok_or("no gaps")?;
        let prime = |s: &str| match s {
            "-" => Ok(None),
            s => num(s).map(Some),
        };
        let n = usize::try_from(num(part[3])?).map_err(|_| "too many gaps")?;
        at += 4;
        let pairs = n
            .checked_mul(2)
            .and_then(|len| f.get(at..at.checked_add(len)?))
            .ok_or("fewer gaps than it says")?;
        let mut records = Vec::with_capacity(n);
        for pair in pairs.chunks_exact(2) {
            records.push(Gap {
                length: num(pair[0])?,
                start: num(pair[1])?,
            });
        }
        at += 2 * n;
        gaps = Some(Gaps {
            lo,
            hi,
            first: prime(part[1])?,
            last: prime(part[2])?,
            records,
        });
    }
    if at != f.len() {
        return Err("more fields than its run records".into());
    }
    Ok((tuplets, gaps))
}

impl Checkpoint {
    /// Opens `path` for a count of `[lo, hi]` of what `asked` says: a new, empty checkpoint if the
    /// file does not exist, else the one in it, if it was written for this very run.
    pub fn open(path: &Path, lo: u64, hi: u64, asked: Asked) -> Result<Self, CheckpointError> {
        let units = units(lo, hi).len();
        let mut cp = Self {
            path: path.to_owned(),
            lo,
            hi,
            asked,
            units,
            done: BTreeMap::new(),
        };
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(cp),
            Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
                let why = "it is not text (damaged, or not a checkpoint)".to_string();
                return Err(CheckpointError::Corrupt(path.to_owned(), why));
            }
            Err(e) => return Err(CheckpointError::Io(path.to_owned(), e)),
        };
        let corrupt = |why: String| CheckpointError::Corrupt(path.to_owned(), why);
        let mismatch = |why: String| CheckpointError::Mismatch(path.to_owned(), why);
        let (format, body) = verified_body(&text).map_err(corrupt)?;
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
        if file_twins != asked.twins.to_string() {
            return Err(mismatch(format!(
                "twins {file_twins}, this run {} (--twins, -c2)",
                asked.twins
            )));
        }
        let (file_kinds, file_gaps) = match format {
            2 => (kinds_text(0), "false".to_string()),
            _ => (field("tuplets")?, field("gaps")?),
        };
        if file_kinds != kinds_text(asked.kinds) {
            // As the options spell them: -c3456, or none.
            let spelled = |text: &str| match text {
                "none" => "no k-tuplets".to_string(),
                ks => format!("-c{}", ks.replace(',', "")),
            };
            return Err(mismatch(format!(
                "{}, this run {}",
                spelled(&file_kinds),
                spelled(&kinds_text(asked.kinds))
            )));
        }
        if file_gaps != asked.gaps.to_string() {
            let spelled = |gaps: bool| if gaps { "--gaps" } else { "no --gaps" };
            return Err(mismatch(format!(
                "{}, this run {}",
                spelled(file_gaps == "true"),
                spelled(asked.gaps)
            )));
        }
        if field("units")? != units.to_string() {
            return Err(corrupt("its unit count does not match its range".into()));
        }
        let all_units = self::units(lo, hi);
        for line in lines {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() < 10 || f[0] != "done" {
                return Err(corrupt(format!("bad line {line:?}")));
            }
            let num = |i: usize| {
                f[i].parse::<u64>()
                    .map_err(|_| corrupt(format!("bad number in {line:?}")))
            };
            let unit = usize::try_from(num(1)?).unwrap_or(usize::MAX);
            let mut counts = Counts {
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
            let in_unit =
                |why: String| corrupt(format!("unit {unit} [{}, {}] {why}", counts.lo, counts.hi));
            check_counts(&counts, asked.twins).map_err(in_unit)?;
            let (tuplets, gaps) = parse_parts(&f[10..], counts.lo, counts.hi, asked)
                .map_err(|why| corrupt(format!("{why} in {line:?}")))?;
            if let Some(t) = &tuplets {
                check_tuplets(t, &counts, asked.kinds).map_err(in_unit)?;
            }
            if let Some(g) = &gaps {
                check_gaps(g, &counts).map_err(in_unit)?;
            }
            // Without twins the twin count stays 0 in the file (checked above).
            counts.twins = if asked.twins { counts.twins } else { 0 };
            let summary = Summary {
                counts,
                tuplets: tuplets
                    .unwrap_or_else(|| TupletTally::new(counts.lo, counts.hi, 0).finish()),
                gaps,
            };
            if cp.done.insert(unit, summary).is_some() {
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

    /// Records what was found in `unit`.
    pub fn record(&mut self, unit: usize, mut found: Summary) {
        if !self.asked.twins {
            // A pass for k-tuplets or gaps counts twin pairs too; a count without twins records 0.
            found.counts.twins = 0;
        }
        self.done.insert(unit, found);
    }

    /// Writes the file whole under a temporary name and renames it onto the checkpoint.
    pub fn save(&self) -> Result<(), CheckpointError> {
        let a = self.asked;
        let mut text = format!(
            "{}\nbuild {BUILD}\nrange {} {}\ntwins {}\ntuplets {}\ngaps {}\nunits {}\n",
            magic(FORMAT),
            self.lo,
            self.hi,
            a.twins,
            kinds_text(a.kinds),
            a.gaps,
            self.units
        );
        let e = |edge: Option<Edge>| {
            edge.map_or("- 0".to_string(), |e| {
                format!("{} {}", e.odd, u8::from(e.prime))
            })
        };
        let prime = |p: Option<u64>| p.map_or("-".to_string(), |p| p.to_string());
        for (unit, s) in &self.done {
            let c = &s.counts;
            text.push_str(&format!(
                "done {unit} {} {} {} {} {} {}",
                c.lo,
                c.hi,
                c.primes,
                c.twins,
                e(c.first),
                e(c.last)
            ));
            if a.kinds != 0 {
                let w = s.tuplets.to_words();
                text.push_str(" tuplets");
                for word in &w[2..] {
                    text.push_str(&format!(" {word}"));
                }
            }
            if let Some(g) = s.gaps.as_ref().filter(|_| a.gaps) {
                text.push_str(&format!(
                    " gaps {} {} {}",
                    prime(g.first),
                    prime(g.last),
                    g.records.len()
                ));
                for r in &g.records {
                    text.push_str(&format!(" {} {}", r.length, r.start));
                }
            }
            text.push('\n');
        }
        let crc = checksum_line(&text);
        text.push_str(&crc);
        let io = |e| CheckpointError::Io(self.path.clone(), e);
        let mut sink = Sink::file(&self.path).map_err(io)?;
        sink.write_all(text.as_bytes()).map_err(io)?;
        sink.commit().map_err(io)
    }

    /// What the whole range holds, once every unit is done.
    pub fn total(&self) -> Option<Summary> {
        (self.done.len() == self.units).then(|| {
            self.done
                .values()
                .cloned()
                .reduce(Summary::combine)
                .expect("at least one unit")
        })
    }
}

/// Counts `[lo, hi]` (what `asked` says) in rounds of checkpoint units, resuming from and
/// recording in the checkpoint at `path`, on every rank. Rank 0 returns what the whole range
/// holds, the other ranks `None`; `phases` gets the sieving and gathering times.
#[allow(clippy::too_many_arguments)]
pub fn count(
    comm: &dyn Comm,
    engine: &Engine,
    primes: &SievingPrimes,
    lo: u64,
    hi: u64,
    asked: Asked,
    path: &Path,
    phases: &mut Phases,
) -> Result<Option<Summary>, JobError> {
    let (ranks, rank) = (comm.size(), comm.rank());
    let all = units(lo, hi);
    // Rank 0 reads the file; every rank learns whether it may go on and which units are done.
    let mut checkpoint = None;
    let mut verdict = Ok(());
    if rank == 0 {
        match Checkpoint::open(path, lo, hi, asked) {
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
        for unit in (0..all.len()).filter(|&u| cp.is_done(u)) {
            done[unit / 64] |= 1 << (unit % 64);
        }
    }
    comm.broadcast(&mut done);
    let pending: Vec<usize> = (0..all.len())
        .filter(|&u| done[u / 64] >> (u % 64) & 1 == 0)
        .collect();

    let t = Instant::now();
    let mut gather_time = Duration::ZERO;
    let never = AtomicBool::new(false);
    // Each round gives every thread of every rank about two units, then saves.
    let round = (2 * ranks * engine.threads()).max(1);
    for batch in pending.chunks(round) {
        let share = |r: usize| &batch[r * batch.len() / ranks..(r + 1) * batch.len() / ranks];
        let mine: Vec<(u64, u64)> = share(rank).iter().map(|&u| all[u]).collect();
        let found: Vec<Summary> = if asked.kinds == 0 && !asked.gaps {
            engine
                .count_each(primes, &mine, asked.twins)
                .into_iter()
                .map(|counts| Summary {
                    counts,
                    tuplets: TupletTally::new(counts.lo, counts.hi, 0).finish(),
                    gaps: None,
                })
                .collect()
        } else {
            summary::summarise_each(engine, primes, &mine, asked.kinds, asked.gaps, &never)
                .expect("never cancelled")
        };
        // Each unit as [unit, length, its summary's words].
        let mut words = Vec::new();
        for (&unit, s) in share(rank).iter().zip(&found) {
            let w = summary::to_words(Some(s));
            words.extend([unit as u64, w.len() as u64]);
            words.extend(w);
        }
        let g = Instant::now();
        let mut sizes = vec![0u64; ranks];
        if let Some(all_sizes) = comm.gather(&[words.len() as u64]) {
            sizes.copy_from_slice(&all_sizes);
        }
        comm.broadcast(&mut sizes);
        let sizes: Vec<usize> = sizes.iter().map(|&n| n as usize).collect();
        let gathered = comm.gather_varcount(words, &sizes);
        gather_time += g.elapsed();
        if let (Some(words), Some(cp)) = (gathered, checkpoint.as_mut()) {
            let mut rest = &words[..];
            while let [unit, len, tail @ ..] = rest {
                let (w, after) = tail.split_at(*len as usize);
                let s = summary::from_words(w, asked.gaps).expect("a unit's summary");
                cp.record(*unit as usize, s);
                rest = after;
            }
            cp.save().map_err(JobError::Checkpoint)?;
        }
    }
    phases.sieve = t.elapsed().as_secs_f64();
    phases.reduce = gather_time.as_secs_f64();
    Ok(checkpoint.map(|cp| cp.total().expect("every unit is done")))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A checkpoint path in a fresh directory, removed with all in it when the returned guard
    /// is dropped (even when the test fails).
    fn scratch(test: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::Builder::new()
            .prefix(&format!("erato-checkpoint-{test}-"))
            .tempdir()
            .unwrap();
        let path = dir.path().join("cp");
        (dir, path)
    }

    /// Replaces the body of a checkpoint file with `edit(body)` and a checksum that fits it, as
    /// someone who knows the format could.
    fn rewrite_with_checksum(path: &Path, edit: impl FnOnce(&str) -> String) {
        let text = std::fs::read_to_string(path).unwrap();
        let body_len = text[..text.len() - 1].rfind('\n').unwrap() + 1;
        let body = edit(&text[..body_len]);
        std::fs::write(path, format!("{body}{}", checksum_line(&body))).unwrap();
    }

    /// What a plain count of a unit records.
    fn plain(counts: Counts) -> Summary {
        Summary {
            counts,
            tuplets: TupletTally::new(counts.lo, counts.hi, 0).finish(),
            gaps: None,
        }
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
        let (_scratch, path) = scratch("round-trip");
        let (lo, hi) = (0u64, 5_000_000_000u64);
        let all = units(lo, hi);
        assert_eq!(all.len(), 4);
        let mut cp = Checkpoint::open(&path, lo, hi, Asked::counts(true)).unwrap();
        let c = sieve_core::count(all[1].0, all[1].1, true);
        cp.record(1, plain(c));
        cp.save().unwrap();
        let again = Checkpoint::open(&path, lo, hi, Asked::counts(true)).unwrap();
        assert!(again.is_done(1) && !again.is_done(0));
        assert_eq!(again.done[&1].counts, c);
        assert!(matches!(
            Checkpoint::open(&path, lo, hi + 1, Asked::counts(true)),
            Err(CheckpointError::Mismatch(..))
        ));
        assert!(matches!(
            Checkpoint::open(&path, lo, hi, Asked::counts(false)),
            Err(CheckpointError::Mismatch(..))
        ));
        std::fs::write(&path, "garbage").unwrap();
        assert!(
            corrupt_because(Checkpoint::open(&path, lo, hi, Asked::counts(true)))
                .contains("does not start")
        );
    }

    /// The issue's case: one count changed by hand (78498 to 12345) is refused, not reported.
    #[test]
    fn edited_count_fails_the_checksum() {
        let (_scratch, path) = scratch("edited");
        let mut cp = Checkpoint::open(&path, 0, 1_000_000, Asked::counts(false)).unwrap();
        cp.record(0, plain(sieve_core::count(0, 1_000_000, false)));
        cp.save().unwrap();
        assert_eq!(
            Checkpoint::open(&path, 0, 1_000_000, Asked::counts(false))
                .unwrap()
                .total()
                .unwrap()
                .counts
                .primes,
            78_498
        );
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(" 78498 "), "{text}");
        std::fs::write(&path, text.replace(" 78498 ", " 12345 ")).unwrap();
        let why = corrupt_because(Checkpoint::open(&path, 0, 1_000_000, Asked::counts(false)));
        assert!(why.contains("checksum"), "{why}");
        // The same edit with a checksum recomputed to match: the count itself cannot be right.
        std::fs::write(&path, &text).unwrap();
        rewrite_with_checksum(&path, |body| body.replace(" 78498 ", " 12345 "));
        let why = corrupt_because(Checkpoint::open(&path, 0, 1_000_000, Asked::counts(false)));
        assert!(why.contains("12345 primes, which cannot be right"), "{why}");
    }

    #[test]
    fn truncated_or_old_files_are_refused() {
        let (_scratch, path) = scratch("truncated");
        let (lo, hi) = (0u64, 5_000_000_000u64);
        let all = units(lo, hi);
        let mut cp = Checkpoint::open(&path, lo, hi, Asked::counts(true)).unwrap();
        for unit in [0, 2] {
            cp.record(
                unit,
                plain(sieve_core::count(all[unit].0, all[unit].1, true)),
            );
        }
        cp.save().unwrap();
        let whole = std::fs::read(&path).unwrap();
        // Cut anywhere, even at a line end: refused.
        for len in (0..whole.len()).step_by(7).chain([whole.len() - 1]) {
            std::fs::write(&path, &whole[..len]).unwrap();
            let why = corrupt_because(Checkpoint::open(&path, lo, hi, Asked::counts(true)));
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
        assert!(
            corrupt_because(Checkpoint::open(&path, lo, hi, Asked::counts(true)))
                .contains("checksum")
        );
        // Format 1 had no checksum: refused with a clear reason, never read.
        let old: String = text
            .replace(&magic(FORMAT), "erato-checkpoint 1")
            .lines()
            .filter(|l| !l.starts_with("crc32 "))
            .map(|l| format!("{l}\n"))
            .collect();
        std::fs::write(&path, old).unwrap();
        let why = corrupt_because(Checkpoint::open(&path, lo, hi, Asked::counts(true)));
        assert!(why.contains("format 1"), "{why}");
    }

    #[test]
    fn inconsistent_counts_are_refused() {
        let (_scratch, path) = scratch("inconsistent");
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
        let mut cp = Checkpoint::open(&path, lo, hi, Asked::counts(true)).unwrap();
        cp.record(1, plain(c));
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
            let why = corrupt_because(Checkpoint::open(&path, lo, hi, Asked::counts(true)));
            assert!(why.contains(want), "{bad:?}: {why}");
        }
        // A unit recorded twice.
        std::fs::write(&path, &good).unwrap();
        rewrite_with_checksum(&path, |body| format!("{body}{}", line(&c)));
        assert!(
            corrupt_because(Checkpoint::open(&path, lo, hi, Asked::counts(true))).contains("twice")
        );
        // Twin pairs in a checkpoint of a count without twins.
        let (_scratch, path) = scratch("no-twins");
        let mut cp = Checkpoint::open(&path, lo, hi, Asked::counts(false)).unwrap();
        cp.record(1, plain(sieve_core::count(all[1].0, all[1].1, false)));
        cp.save().unwrap();
        rewrite_with_checksum(&path, |body| {
            let plain = sieve_core::count(all[1].0, all[1].1, false);
            body.replace(&line(&plain), &line(&Counts { twins: 5, ..plain }))
        });
        assert!(
            corrupt_because(Checkpoint::open(&path, lo, hi, Asked::counts(false)))
                .contains("without twins")
        );
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

    const ALL_TUPLETS: u8 = 0b111_1000;

    /// What a unit of a count of k-tuplets (3..=6) and gaps records.
    fn summarised(lo: u64, hi: u64) -> Summary {
        let engine = Engine::new(1, sieve_core::SieveConfig::default()).unwrap();
        summary::count(&engine, lo, hi, ALL_TUPLETS, true, &AtomicBool::new(false)).unwrap()
    }

    const TUPLETS_AND_GAPS: Asked = Asked {
        twins: false,
        kinds: ALL_TUPLETS,
        gaps: true,
    };

    /// The edge word the checks expect is the one the sieve's tuplets have, and true gaps pass,
    /// on tiny units, ones shorter than 16 numbers, and near 2^64.
    #[test]
    fn true_tuplets_and_gaps_pass_the_checks() {
        for (lo, hi) in [
            (0u64, 0u64),
            (0, 20),
            (5, 17),
            (24, 28),
            (0, 1000),
            (1_000_000_000_000, 1_000_000_100_000),
            (u64::MAX - 100, u64::MAX),
            (u64::MAX - 5, u64::MAX),
        ] {
            let s = summarised(lo, hi);
            check_tuplets(&s.tuplets, &s.counts, ALL_TUPLETS)
                .unwrap_or_else(|e| panic!("[{lo}, {hi}]: {e}"));
            check_gaps(s.gaps.as_ref().unwrap(), &s.counts)
                .unwrap_or_else(|e| panic!("[{lo}, {hi}]: {e}"));
        }
    }

    #[test]
    fn tuplets_and_gaps_round_trip_and_refusals() {
        let (_scratch, path) = scratch("tuplets-gaps");
        let (lo, hi) = (1_000_000_000_000u64, 1_000_000_300_000u64);
        assert_eq!(units(lo, hi), [(lo, hi)]);
        let found = summarised(lo, hi);
        let mut cp = Checkpoint::open(&path, lo, hi, TUPLETS_AND_GAPS).unwrap();
        cp.record(0, found.clone());
        cp.save().unwrap();
        let want = Summary {
            counts: Counts {
                twins: 0,
                ..found.counts
            },
            ..found.clone()
        };
        let again = Checkpoint::open(&path, lo, hi, TUPLETS_AND_GAPS).unwrap();
        assert_eq!(again.total(), Some(want));
        let good = std::fs::read_to_string(&path).unwrap();
        assert!(good.contains("\ntuplets 3,4,5,6\ngaps true\n"), "{good}");

        // Resumed with other options: refused, saying which.
        for (asked, want) in [
            (
                Asked {
                    kinds: 0b011_1000,
                    ..TUPLETS_AND_GAPS
                },
                "-c3456, this run -c345",
            ),
            (
                Asked {
                    kinds: 0,
                    ..TUPLETS_AND_GAPS
                },
                "this run no k-tuplets",
            ),
            (
                Asked {
                    gaps: false,
                    ..TUPLETS_AND_GAPS
                },
                "--gaps, this run no --gaps",
            ),
            (
                Asked {
                    twins: true,
                    ..TUPLETS_AND_GAPS
                },
                "twins false",
            ),
        ] {
            match Checkpoint::open(&path, lo, hi, asked) {
                Err(CheckpointError::Mismatch(_, why)) => assert!(why.contains(want), "{why}"),
                Err(e) => panic!("{asked:?}: expected Mismatch, got {e}"),
                Ok(_) => panic!("{asked:?}: expected Mismatch, got a usable checkpoint"),
            }
        }

        // Edited by someone who recomputes the checksum: each edit is caught by a check.
        let line = good.lines().find(|l| l.starts_with("done ")).unwrap();
        let f: Vec<&str> = line.split_whitespace().collect();
        let t = f.iter().position(|&w| w == "tuplets").unwrap();
        let g = f.iter().position(|&w| w == "gaps").unwrap();
        let with = |i: usize, value: String| {
            let mut f = f.clone();
            f[i] = &value;
            f.join(" ")
        };
        let edges: u64 = f[t + 1].parse().unwrap();
        let last: u64 = f[g + 2].parse().unwrap();
        let cases = [
            (
                with(t + 2, "5".into()),
                "2-tuplets, which this count does not count",
            ),
            (
                with(t + 3, (found.counts.primes + 1).to_string()),
                "3-tuplets among",
            ),
            (
                with(t + 1, (edges ^ 1 << 9).to_string()),
                "first and last 16 numbers",
            ),
            (with(t + 1, (edges ^ 1 << 3).to_string()), "other kinds"),
            (with(g + 2, (last - 1).to_string()), "not prime"),
            (with(g + 2, (hi + 1).to_string()), "does not fit"),
            (
                with(g + 5, (f[g + 5].parse::<u64>().unwrap() + 2).to_string()),
                "record gap 0",
            ),
            (with(g + 3, "1000".into()), "fewer gaps than it says"),
            (f[..g].join(" "), "no gaps"),
            (f[..t].join(" "), "no k-tuplet counts"),
            (format!("{line} 7"), "more fields"),
        ];
        for (edited, want) in cases {
            std::fs::write(&path, &good).unwrap();
            rewrite_with_checksum(&path, |body| body.replace(line, &edited));
            let why = corrupt_because(Checkpoint::open(&path, lo, hi, TUPLETS_AND_GAPS));
            assert!(why.contains(want), "{edited}: {why}");
        }
        // Not even text.
        std::fs::write(&path, [0xff, 0xfe, 0x00]).unwrap();
        let why = corrupt_because(Checkpoint::open(&path, lo, hi, TUPLETS_AND_GAPS));
        assert!(why.contains("not text"), "{why}");
    }

    /// Format 2 (primes and twins only) is still read for such counts, and rewritten as format 3;
    /// a format this erato does not know is refused.
    #[test]
    fn format_2_is_read_for_plain_counts() {
        let (_scratch, path) = scratch("format-2");
        let mut cp = Checkpoint::open(&path, 0, 1_000_000, Asked::counts(true)).unwrap();
        cp.record(0, plain(sieve_core::count(0, 1_000_000, true)));
        cp.save().unwrap();
        let three = std::fs::read_to_string(&path).unwrap();
        rewrite_with_checksum(&path, |body| {
            body.replace("erato-checkpoint 3\n", "erato-checkpoint 2\n")
                .replace("tuplets none\ngaps false\n", "")
        });
        let two = std::fs::read_to_string(&path).unwrap();
        assert!(!two.contains("tuplets") && !two.contains("gaps"), "{two}");
        let cp = Checkpoint::open(&path, 0, 1_000_000, Asked::counts(true)).unwrap();
        assert_eq!(cp.total().unwrap().counts.twins, 8_169);
        cp.save().unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), three);
        std::fs::write(&path, &two).unwrap();
        let asked = Asked {
            kinds: 1 << 3,
            ..Asked::counts(true)
        };
        assert!(matches!(
            Checkpoint::open(&path, 0, 1_000_000, asked),
            Err(CheckpointError::Mismatch(..))
        ));
        rewrite_with_checksum(&path, |body| body.replace("checkpoint 2", "checkpoint 4"));
        let why = corrupt_because(Checkpoint::open(&path, 0, 1_000_000, Asked::counts(true)));
        assert!(why.contains("newer erato"), "{why}");
    }
}
