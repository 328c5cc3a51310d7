//! Listing outputs of the binary: `-p`, `--format python`, `-o`, `--bitmap`, `--json`, windows.

use std::os::unix::fs::FileTypeExt;
use std::path::PathBuf;

/// `is_char_device`, named so the assertion reads as what it checks.
trait CharDevice {
    fn is_char_device_like(&self) -> bool;
}

impl CharDevice for std::fs::FileType {
    fn is_char_device_like(&self) -> bool {
        self.is_char_device()
    }
}
use std::process::{Command, Output};

fn erato(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_erato"))
        .args(args)
        .output()
        .expect("erato runs")
}

fn ok(args: &[&str]) -> Vec<u8> {
    let out = erato(args);
    assert!(
        out.status.success(),
        "erato {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// A file in a directory of this test's own (tests run in parallel).
fn scratch(test: &str, name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("erato-listing-{}-{test}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// The seed program's output for N: `print(textwrap.fill(str(primes), 80))` on the primes below N,
/// computed by Python itself (a plain sieve in Python, then textwrap).
fn python_fill(n: u64) -> Vec<u8> {
    let script = "import sys, textwrap\nn = int(sys.argv[1])\ns = bytearray([1]) * n\nfor i in range(min(n, 2)): s[i] = 0\ni = 2\nwhile i * i < n:\n    if s[i]: s[i*i::i] = bytearray(len(range(i*i, n, i)))\n    i += 1\nprint(textwrap.fill(str([i for i in range(n) if s[i]]), 80))\n";
    let out = Command::new("python3")
        .args(["-c", script, &n.to_string()])
        .output()
        .expect("python3 runs");
    assert!(out.status.success());
    out.stdout
}

#[test]
fn print_lists_the_oracle_primes() {
    for (lo, hi) in [
        (0u64, 1000u64),
        (2, 2),
        (3, 3),
        (4, 4),
        (1_000_000_000_000, 1_000_000_100_000),
        (u64::MAX - 10_000, u64::MAX),
    ] {
        let want: String = sieve_core::oracle::primes_between(lo, hi)
            .iter()
            .map(|p| format!("{p}\n"))
            .collect();
        assert_eq!(
            String::from_utf8(ok(&["-p", &lo.to_string(), &hi.to_string()])).unwrap(),
            want,
            "[{lo}, {hi}]"
        );
    }
}

#[test]
fn python_format_matches_textwrap() {
    // The seed lists primes below N; erato lists up to STOP inclusive, so STOP = N - 1.
    for n in [2u64, 3, 4, 10, 100, 999, 1000, 4099, 100_000, 1_000_000] {
        let mine = ok(&["-p", "--format", "python", "0", &(n - 1).to_string()]);
        assert_eq!(mine, python_fill(n), "N = {n}");
    }
    // An N whose last line is exactly 80 characters long.
    let n = (3..20_000u64)
        .find(|&n| {
            let text = ok(&["-p", "--format", "python", "0", &(n - 1).to_string()]);
            text.split(|&b| b == b'\n')
                .rev()
                .nth(1)
                .is_some_and(|line| line.len() == 80)
        })
        .expect("some N below 20000 ends on a full line");
    assert_eq!(
        ok(&["-p", "--format", "python", "0", &(n - 1).to_string()]),
        python_fill(n),
        "N = {n}, full last line"
    );
    // The reference size for N = 10^6.
    let text = ok(&["-p", "--format", "python", "999999"]);
    assert_eq!(text.len(), 616_967);
    assert!(text.ends_with(b"999983]\n"));
}

#[test]
fn output_file_is_complete_or_absent() {
    let path = scratch("output", "primes.txt");
    let out = erato(&["1e6", "-p", "-o", path.to_str().unwrap()]);
    assert!(out.status.success());
    assert_eq!(std::fs::read(&path).unwrap(), ok(&["1e6", "-p"]));
    // Nothing but the result is left in the directory.
    let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(
        names
            .iter()
            .all(|n| !n.to_string_lossy().contains("partial")),
        "{names:?}"
    );
    // A device is written in place, never replaced by a rename (this runs as root in CI).
    let out = erato(&["1e6", "-p", "-o", "/dev/null"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        std::fs::metadata("/dev/null")
            .unwrap()
            .file_type()
            .is_char_device_like(),
        "/dev/null is still a device"
    );
    // A directory is refused.
    let out = erato(&["100", "-p", "-o", std::env::temp_dir().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    // A missing directory: an error, no file.
    let missing = scratch("output", "no-such-dir").join("primes.txt");
    let out = erato(&["100", "-p", "-o", missing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(!missing.exists());
}

#[test]
fn small_max_memory_gives_identical_output() {
    let reference = ok(&["123456", "1e6", "-p"]);
    for memory in ["24", "100", "4K", "64K"] {
        assert_eq!(
            ok(&["123456", "1e6", "-p", "--max-memory", memory]),
            reference,
            "--max-memory {memory}"
        );
    }
    let json = String::from_utf8(ok(&[
        "1e6",
        "-p",
        "--max-memory",
        "1K",
        "--json",
        "-o",
        scratch("memory", "w.txt").to_str().unwrap(),
    ]))
    .unwrap();
    let windows: u64 = json
        .split("\"windows\":")
        .nth(1)
        .unwrap()
        .split(',')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(windows > 100, "{json}");
    let out = erato(&["1e6", "-p", "--max-memory", "16"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("minimum is 24 bytes"));
}

#[test]
fn bitmap_round_trips() {
    for (lo, hi) in [
        (0u64, 1_000_000u64),
        (1001, 99_999),
        (128, 255),
        (7, 7),
        (u64::MAX - 5000, u64::MAX),
    ] {
        let path = scratch("bitmap", &format!("bitmap-{lo}"));
        let json = String::from_utf8(ok(&[
            &lo.to_string(),
            &hi.to_string(),
            "--bitmap",
            path.to_str().unwrap(),
            "--json",
            "--max-memory",
            "1K",
        ]))
        .unwrap();
        let bitmap = sieve_core::bitmap_file::decode(&std::fs::read(&path).unwrap())
            .expect("a valid bitmap file");
        assert_eq!((bitmap.lo(), bitmap.hi()), (lo, hi));
        let want = sieve_core::oracle::primes_between(lo, hi.min(lo.saturating_add(1_000_000)));
        assert_eq!(bitmap.primes().collect::<Vec<_>>(), want, "[{lo}, {hi}]");
        assert!(
            json.contains(&format!("\"primes\":{}", want.len())),
            "{json}"
        );
    }
}

#[test]
fn json_record_is_one_object() {
    let text = String::from_utf8(ok(&["1e6", "--twins", "--json"])).unwrap();
    assert_eq!(text.lines().count(), 1);
    let check = Command::new("python3")
        .args(["-c", "import json,sys; r=json.loads(sys.argv[1]); assert r['primes']==78498 and r['twins']==8169 and r['ranks']==1 and set(r['seconds'])=={'plan','sieve','reduce','write','total'}", &text])
        .status()
        .unwrap();
    assert!(check.success(), "{text}");
}

#[test]
fn self_test_passes() {
    let out = erato(&["--test"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains("FAIL"));
}
