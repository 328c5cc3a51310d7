//! The `erato` binary as a user runs it: counts, output formats and usage errors.

mod common;
use common::erato_binary;
use std::process::{Command, Output};

fn erato(args: &[&str]) -> Output {
    Command::new(erato_binary())
        .args(args)
        .output()
        .expect("erato runs")
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).expect("utf-8")
}

fn quiet_count(args: &[&str]) -> u64 {
    let mut all = args.to_vec();
    all.push("-q");
    let out = erato(&all);
    assert!(
        out.status.success(),
        "erato {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout(&out).trim().parse().expect("a number")
}

#[test]
fn counts_match_published_values() {
    // shared/reference/prime-counts.md
    assert_eq!(quiet_count(&["10"]), 4);
    assert_eq!(quiet_count(&["1e6"]), 78_498);
    assert_eq!(quiet_count(&["1e9", "-t", "2"]), 50_847_534);
    assert_eq!(quiet_count(&["1e9", "-t", "1"]), 50_847_534);
    assert_eq!(quiet_count(&["2^32"]), 203_280_221);
    assert_eq!(quiet_count(&["2^64-1e8", "2^64-1"]), 2_253_052);
}

#[test]
fn start_and_stop_are_inclusive() {
    assert_eq!(quiet_count(&["2", "2"]), 1);
    assert_eq!(quiet_count(&["4", "4"]), 0);
    assert_eq!(quiet_count(&["0", "0"]), 0);
    assert_eq!(quiet_count(&["97", "97"]), 1);
    assert_eq!(quiet_count(&["2^64-59", "2^64-59"]), 1);
    assert_eq!(quiet_count(&["2^64-58", "2^64-1"]), 0);
    assert_eq!(
        quiet_count(&["1e12", "1e12+1e6"]),
        sieve_core::oracle::primes_between(1_000_000_000_000, 1_000_001_000_000).len() as u64
    );
}

/// `text` with the value of its `Seconds: S` lines replaced by `_`.
fn seconds_blanked(text: &str) -> String {
    text.lines()
        .map(|l| match l.starts_with("Seconds: ") {
            true => "Seconds: _\n".to_string(),
            false => format!("{l}\n"),
        })
        .collect()
}

#[test]
fn output_formats() {
    // Without -q, primesieve's header first (tests/primesieve.rs compares it with primesieve's).
    let out = erato(&["100", "-s", "64", "-t", "1"]);
    assert_eq!(
        seconds_blanked(&stdout(&out)),
        "Sieve size = 64 KiB\nThreads = 1\nSeconds: _\nPrimes: 25\n"
    );
    let out = erato(&["1e6", "--twins", "-t", "2"]);
    let text = seconds_blanked(&stdout(&out));
    let results = text.split_once("Threads = 2\n").map_or("", |(_, r)| r);
    assert!(
        text.starts_with("Sieve size = ")
            && results == "Seconds: _\nPrimes: 78498\nTwin primes: 8169\n",
        "{text}"
    );
    let out = erato(&["1e6", "--twins", "-q"]);
    assert_eq!(stdout(&out), "78498\n8169\n");
    // primesieve's spellings and output rule: one count bare with -q, several labelled.
    assert_eq!(stdout(&erato(&["1e6", "-c2", "-q"])), "8169\n");
    assert_eq!(
        stdout(&erato(&["100", "-c123", "-q"])),
        "Primes: 25\nTwin primes: 8\nPrime triplets: 8\n"
    );
    assert_eq!(
        seconds_blanked(&stdout(&erato(&["100", "-c3456", "-s", "64", "-t", "1"]))),
        "Sieve size = 64 KiB\nThreads = 1\nSeconds: _\nPrime triplets: 8\nPrime quadruplets: 2\n\
         Prime quintuplets: 3\nPrime sextuplets: 1\n"
    );
    assert!(stdout(&erato(&["100", "-q", "--time"])).starts_with("Seconds: "));
    // Listing and counting: the list, then the counts (bare when one, labelled when several).
    assert_eq!(
        stdout(&erato(&["30", "--twins", "-p"])),
        "2\n3\n5\n7\n11\n13\n17\n19\n23\n29\nPrimes: 10\nTwin primes: 4\n"
    );
    assert_eq!(
        stdout(&erato(&["30", "-p2", "-c2"])),
        "(3, 5)\n(5, 7)\n(11, 13)\n(17, 19)\n4\n"
    );
    assert_eq!(stdout(&erato(&["1e6", "-n", "-q"])), "15485863\n");
    assert_eq!(stdout(&erato(&["2**32", "-q"])), "203280221\n");
    assert_eq!(stdout(&erato(&["1e6", "-d", "1e3", "-q"])), "75\n");
    assert!(stdout(&erato(&["--cpu-info"])).contains("L1 cache size: "));
    assert!(stdout(&erato(&["-v"])).starts_with("erato "));
    assert!(erato(&["--help"]).status.success());
    assert!(erato(&["--version"]).status.success());
}

#[test]
fn bad_input_is_one_line_and_exit_2() {
    let cases: &[&[&str]] = &[
        &["-5"],
        &["--", "-5"],
        &["2^64"],
        &["1e20"],
        &["2^64-1+1"],
        &["10", "5"],
        &[""],
        &["1e"],
        &["1e-3"],
        &["0x"],
        &["nan"],
        &["inf"],
        &["١٢٣"],
        &["99999999999999999999999999999999999999999999"],
        &["2^100*2^100"],
        &["100", "-t", "0"],
        &["100", "-t", "many"],
        &["100", "-t", "1e9"],
        &["100", "-t", "2^64"],
        &["100", "--segment-size", "0"],
        &["100", "--no-such-option"],
        &["100", "-p", "--format", "xml"],
        &["100", "--max-memory", "0"],
        &["1", "2", "3"],
        &[],
        &["100", "-c7"],
        &["100", "-c10"],
        &["100", "--count="],
        &["100", "-p7"],
        &["100", "-d"],
        &["1", "2", "-d", "5"],
        &["2^64-1", "-d", "1"],
        &["1", "18446744073709551557", "-n"],
        &["100", "-p3", "--format", "python"],
        &["100", "-p3", "--format", "npy", "-o", "/dev/null"],
        &["100", "-p3", "--format", "binary"],
        &["--", "100", "-q"],
        &["100", "-n", "--json"],
        &["100", "-p3", "--json", "-o", "/dev/null"],
    ];
    for args in cases {
        let out = erato(args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "erato {args:?}: {err}");
        assert_eq!(
            err.lines().count(),
            1,
            "erato {args:?} should print one line: {err}"
        );
        assert!(err.starts_with("erato: error: "), "erato {args:?}: {err}");
        assert!(!err.contains("panicked"), "erato {args:?}: {err}");
        assert!(
            !err.contains("For more information"),
            "erato {args:?}: {err}"
        );
        assert!(
            out.stdout.is_empty(),
            "erato {args:?} printed {:?}",
            stdout(&out)
        );
    }
    // The rough edges of issue 10: no misleading hints, no "negative" option, one --help hint.
    for (args, want, not) in [
        (
            &["--", "100", "-q"][..],
            "is an option, not a number",
            "negative",
        ),
        (&["100", "--countx"], "--countx", "--output"),
        (&["100", "-x"], "'-x'", "-- -x"),
        (
            &["100", "-p", "--format", "xml"],
            "possible values",
            "For more",
        ),
    ] {
        let err = String::from_utf8_lossy(&erato(args).stderr).into_owned();
        assert!(
            err.contains(want) && !err.contains(not),
            "erato {args:?}: {err}"
        );
        assert_eq!(err.matches("--help").count(), 1, "erato {args:?}: {err}");
    }
    let err = String::from_utf8_lossy(&erato(&["1e20"]).stderr).into_owned();
    assert!(
        err.contains("18446744073709551615"),
        "names the largest value: {err}"
    );
}

/// Inputs that once overflowed the stack and aborted (exit 134): 50,000 nested parentheses and a
/// chain of 60,000 powers. One short line and exit 2, like any other bad number.
#[test]
fn deep_expressions_are_refused_not_a_crash() {
    let parens = format!("{}1{}", "(".repeat(50_000), ")".repeat(50_000));
    let powers = vec!["2"; 60_001].join("^");
    let ones = vec!["1"; 60_001].join("^");
    for (args, want) in [
        (
            vec![parens.as_str()],
            "nests parentheses more than 100 deep",
        ),
        (vec![powers.as_str()], "overflows while being evaluated"),
        (
            vec!["0", parens.as_str()],
            "nests parentheses more than 100 deep",
        ),
        (vec!["-t", parens.as_str(), "100"], "nests parentheses"),
    ] {
        let out = erato(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.len() < 300,
            "the message quotes the argument short: {err}"
        );
        assert!(
            err.starts_with("erato: error: ") && err.contains(want),
            "{err}"
        );
    }
    // A long chain that stays small is just a number.
    assert_eq!(quiet_count(&[&ones, "100"]), 25);
    // Nesting up to the limit is fine.
    let deep_enough = format!("{}100{}", "(".repeat(100), ")".repeat(100));
    assert_eq!(quiet_count(&[&deep_enough]), 25);
}

/// Threads: at least 1, at most 4 per core this process may use, whether asked for with -t or by
/// SLURM_CPUS_PER_TASK (which is capped with a note instead, since the scheduler set it).
#[test]
fn thread_counts_are_capped() {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let max = 4 * cores;
    let out = erato(&["1e6", "-q", "-t", &(max + 1).to_string()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains(&format!("more than {max}")), "{err}");
    assert_eq!(quiet_count(&["1e6", "-t", &max.to_string()]), 78_498);
    // The case: a huge SLURM_CPUS_PER_TASK once allocated a sieve per thread for a minute.
    let began = std::time::Instant::now();
    let out = Command::new(erato_binary())
        .args(["1e6", "--json"])
        .env("SLURM_CPUS_PER_TASK", "1000000")
        .output()
        .unwrap();
    assert!(began.elapsed() < std::time::Duration::from_secs(20));
    assert!(out.status.success());
    let record = driver::record::Record::from_json(&stdout(&out)).unwrap();
    assert_eq!((record.primes, record.threads_per_rank), (78_498, max));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("erato: note: SLURM_CPUS_PER_TASK=1000000")
            && err.contains(&format!("using {max} threads")),
        "{err}"
    );
    // Within the cap it is taken as it is, silently.
    let out = Command::new(erato_binary())
        .args(["1e6", "--json"])
        .env("SLURM_CPUS_PER_TASK", "1")
        .output()
        .unwrap();
    assert!(out.stderr.is_empty());
    assert_eq!(
        driver::record::Record::from_json(&stdout(&out))
            .unwrap()
            .threads_per_rank,
        1
    );
}

#[test]
#[ignore = "slow in the test profile; scripts/test runs it with --ignored against the release build (ERATO_TEST_BINARY)"]
fn counts_1e11_and_1e12() {
    let out = erato(&["1e11", "--twins", "-q"]);
    assert_eq!(stdout(&out), "4118054813\n224376048\n");
    let out = erato(&["1e12", "--twins", "-q"]);
    assert_eq!(stdout(&out), "37607912018\n1870585220\n");
}

/// `--gaps` over `[0, 5 x 10^7]`: the record gaps are the published maximal prime gaps (OEIS
/// A002386 lower ends, A000101 upper ends), read from the JSON record.
#[test]
fn record_gaps_are_the_published_maximal_gaps() {
    let lower = [
        2u64, 3, 7, 23, 89, 113, 523, 887, 1129, 1327, 9551, 15683, 19609, 31397, 155921, 360653,
        370261, 492113, 1349533, 1357201, 2010733, 4652353, 17051707, 20831323, 47326693,
    ];
    let upper = [
        3u64, 5, 11, 29, 97, 127, 541, 907, 1151, 1361, 9587, 15727, 19661, 31469, 156007, 360749,
        370373, 492227, 1349651, 1357333, 2010881, 4652507, 17051887, 20831533, 47326913,
    ];
    let out = erato(&["5e7", "--gaps", "--json"]);
    assert!(out.status.success());
    let record = driver::record::Record::from_json(&stdout(&out)).unwrap();
    let records = record.gap_records.expect("asked for");
    let got: Vec<(u64, u64, u64)> = records.iter().map(|g| (g.start, g.end, g.length)).collect();
    let want: Vec<(u64, u64, u64)> = lower
        .iter()
        .zip(&upper)
        .map(|(&a, &b)| (a, b, b - a))
        .collect();
    assert_eq!(got, want);
    let gap = record.gap.expect("two primes or more");
    assert_eq!((gap.length, gap.start, gap.end), (220, 47326693, 47326913));
    // Within a range the records start afresh; -q prints the largest as LENGTH START END.
    assert_eq!(
        stdout(&erato(&["1e6", "2e6", "--gaps", "-q"])),
        "70435\n132 1357201 1357333\n"
    );
    assert_eq!(stdout(&erato(&["24", "28", "--gaps", "-q"])), "0\nnone\n");
}

/// The binary itself needs no libm.so: `src/main.rs` defines the two functions of it that were
/// called (`pow`, `log`). A call to any other one brings libm.so back, and with it about 0.45 MB
/// of resident memory in every process without MPI (whose libraries load it in their own right;
/// readelf lists the binary's own needs only). readelf comes with binutils, to which the linker
/// Rust uses belongs.
#[test]
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn the_binary_does_not_need_libm() {
    let out = Command::new("readelf")
        .args(["-d", erato_binary()])
        .output()
        .expect("readelf runs");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("(NEEDED)") && text.contains("[libc.so"),
        "{text}"
    );
    assert!(
        !text.contains("[libm.so"),
        "erato needs libm.so again:\n{text}"
    );
}
