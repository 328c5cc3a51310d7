//! erato against primesieve's command line (Debian's `primesieve-bin` 11 gives the same answers as
//! 12.15): the same command, the same stdout, for counts of every k, k-tuplet printing, -n and -d,
//! on random intervals (tiny ones, ones shorter than a tuplet, and near 2^64). Numbers are given
//! as plain integers: primesieve's expression syntax changed between versions (`2**20` is
//! checked in tests/cli.rs against the known count instead).
//!
//! Needs `primesieve` on PATH (`scripts/test` installs it). Without it the tests are skipped with
//! a note, except under `CI=true`, where they fail.

mod common;
use common::erato_binary;
use std::process::Command;

fn primesieve() -> Option<&'static str> {
    let found = Command::new("primesieve").arg("-v").output().is_ok();
    if !found {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "primesieve is not installed (apt-get install primesieve-bin); CI needs it"
        );
        eprintln!("note: primesieve not on PATH, comparison skipped");
        return None;
    }
    Some("primesieve")
}

fn run(program: &str, args: &[String]) -> String {
    let out = Command::new(program).args(args).output().expect("runs");
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

/// Both programs' stdout for `args`.
fn both(ps: &str, args: &[String]) -> (String, String) {
    (run(erato_binary(), args), run(ps, args))
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Random intervals: tiny ones at the bottom, ones shorter than a tuplet, longer ones at random
/// heights, and a few near 2^64.
fn intervals() -> Vec<(u64, u64)> {
    let mut r = Random(0x9e37_79b9_7f4a_7c15);
    let mut all = vec![
        (0, 0),
        (0, 1),
        (2, 2),
        (3, 5),
        (5, 13),
        (5, 17),
        (7, 23),
        (0, 100),
    ];
    for _ in 0..6 {
        let lo = r.next() % 200;
        all.push((lo, lo + r.next() % 18));
    }
    for _ in 0..6 {
        let lo = r.next() >> (r.next() % 40 + 20);
        all.push((lo, lo + r.next() % 3_000_000));
    }
    for _ in 0..2 {
        let len = r.next() % 1_000_000;
        let lo = u64::MAX - len - r.next() % 1000;
        all.push((lo, lo + len));
    }
    all.push((u64::MAX - 1000, u64::MAX));
    all
}

#[test]
fn counts_of_every_k_match() {
    let Some(ps) = primesieve() else { return };
    for (lo, hi) in intervals() {
        let (lo, hi) = (lo.to_string(), hi.to_string());
        // Every kind at once (labelled lines), and each alone with -q (a bare number).
        let (mine, theirs) = both(ps, &args(&[&lo, &hi, "-c123456", "-q"]));
        assert_eq!(mine, theirs, "[{lo}, {hi}] -c123456 -q");
        if hi.len() < 12 {
            for k in ["-c2", "-c5"] {
                let (mine, theirs) = both(ps, &args(&[&lo, &hi, k, "-q"]));
                assert_eq!(mine, theirs, "[{lo}, {hi}] {k} -q");
            }
        }
    }
}

#[test]
fn printed_tuplets_match() {
    let Some(ps) = primesieve() else { return };
    let mut r = Random(0x2545_f491_4f6c_dd1d);
    for k in 1..=6 {
        let print = format!("-p{k}");
        for (lo, hi) in [(0, 1000), (5, 5), (3, 7), (11, 19)] {
            let a = args(&[&lo.to_string(), &hi.to_string(), &print]);
            let (mine, theirs) = both(ps, &a);
            assert_eq!(mine, theirs, "{a:?}");
        }
        let lo = r.next() >> (r.next() % 30 + 25);
        let a = args(&[&lo.to_string(), &(lo + 2_000_000).to_string(), &print]);
        let (mine, theirs) = both(ps, &a);
        assert_eq!(mine, theirs, "{a:?}");
        // Listing with a count: the list, then a bare number.
        let a = args(&["1000", &print, &format!("-c{k}")]);
        let (mine, theirs) = both(ps, &a);
        assert_eq!(mine, theirs, "{a:?}");
    }
}

#[test]
fn nth_primes_and_distances_match() {
    let Some(ps) = primesieve() else { return };
    let mut r = Random(0x1234_5678_9abc_def1);
    let mut cases = vec![
        args(&["0", "-n", "-q"]),
        args(&["1", "-n", "-q"]),
        args(&["1e6", "-n", "-q"]),
        args(&["10", "18446744073709550615", "-n", "-q"]),
        args(&["100", "-d", "50", "-q"]),
        args(&["-d", "1000", "-q", "-c2"]),
    ];
    for _ in 0..8 {
        let n = r.next() % 100_000;
        let start = r.next() >> (r.next() % 40 + 24);
        cases.push(args(&[&n.to_string(), &start.to_string(), "-n", "-q"]));
        let dist = r.next() % 1_000_000;
        cases.push(args(&[&start.to_string(), "-d", &dist.to_string(), "-q"]));
    }
    for a in cases {
        let (mine, theirs) = both(ps, &a);
        assert_eq!(mine, theirs, "{a:?}");
    }
}

/// Without -q both print primesieve's header, `Sieve size = N KiB` and `Threads = N`, before the
/// results. With the same -s and -t the lines are the same, in the same order, but for the
/// seconds' value and primesieve's status line (`\r0%\r100%` on stdout, which --no-status drops;
/// erato's progress bar goes to stderr).
#[test]
fn headers_match_without_quiet() {
    let Some(ps) = primesieve() else { return };
    // Each line but the status line, the seconds without their value.
    let results = |text: &str| -> String {
        text.lines()
            .filter(|l| !l.starts_with('\r'))
            .map(|l| match l.starts_with("Seconds: ") {
                true => "Seconds: _\n".to_string(),
                false => format!("{l}\n"),
            })
            .collect()
    };
    let cases: [&[&str]; 7] = [
        &["1000000"],
        &["1000000", "-c2"],
        &["100", "200", "-c3456"],
        &["1000", "-c123"],
        &["1000000", "-n"],
        &["-d", "1000"],
        &["1000000", "--time"],
    ];
    for case in cases {
        for status in [&["--no-status"][..], &[]] {
            let mut a = args(case);
            a.extend(args(&["-s", "64", "-t", "1"]));
            a.extend(args(status));
            let (mine, theirs) = both(ps, &a);
            assert!(
                mine.starts_with("Sieve size = 64 KiB\nThreads = 1\n"),
                "{a:?}: {mine}"
            );
            assert_eq!(results(&mine), results(&theirs), "{a:?}");
            assert_eq!(mine.matches("Seconds: ").count(), 1, "{a:?}: {mine}");
            assert!(!mine.contains('\r'), "{a:?}: {mine:?}");
        }
    }
    // erato's own segment size and threads when not given, and nothing of them with -q.
    let mine = run(erato_binary(), &args(&["1000000", "-c2"]));
    let lines: Vec<&str> = mine.lines().collect();
    let kib: usize = lines[0]
        .strip_prefix("Sieve size = ")
        .and_then(|l| l.strip_suffix(" KiB"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{mine}"));
    assert!(kib.is_power_of_two(), "{mine}");
    let threads: usize = lines[1]
        .strip_prefix("Threads = ")
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{mine}"));
    assert!(threads >= 1, "{mine}");
    assert!(lines[2].starts_with("Seconds: "), "{mine}");
    assert_eq!(lines[3], "Twin primes: 8169");
    for quiet in [
        &["1000000", "-c2", "-q"][..],
        &["1000000", "-n", "-q"],
        &["100", "-p3"],
    ] {
        let (mine, theirs) = both(ps, &args(quiet));
        assert_eq!(mine, theirs, "{quiet:?}");
    }
}
