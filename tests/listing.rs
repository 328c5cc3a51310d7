//! Listing outputs of the binary: `-p`, `--format python`, `-o`, `--bitmap`, `--json`, windows.

mod common;
use common::erato_binary;
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};

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

use driver::record::{Record, RecordMode};

fn erato(args: &[&str]) -> Output {
    Command::new(erato_binary())
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

/// A file in a fresh directory of its own (tests run in parallel), removed with all in it when the
/// returned guard is dropped (even when the test fails).
fn scratch(test: &str, name: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::Builder::new()
        .prefix(&format!("erato-listing-{test}-"))
        .tempdir()
        .unwrap();
    let path = dir.path().join(name);
    (dir, path)
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
        (0, 0),
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
    let (_scratch, path) = scratch("output", "primes.txt");
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
    let (_parent, base) = scratch("output", "no-such-dir");
    let missing = base.join("primes.txt");
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
        scratch("memory", "w.txt").1.to_str().unwrap(),
    ]))
    .unwrap();
    let windows = Record::from_json(&json).unwrap().windows;
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
        let (_scratch, path) = scratch("bitmap", &format!("bitmap-{lo}"));
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
        let record = Record::from_json(&json).unwrap();
        assert_eq!(record.primes, want.len() as u64, "{json}");
        assert_eq!(record.mode, RecordMode::Bitmap);
    }
}

/// The bitmap file byte for byte as documented (sieve_core::bitmap_file), read here without the
/// crate's decoder so that a change to both the writer and the reader cannot go unnoticed.
#[test]
fn bitmap_file_bytes_are_pinned() {
    let (_scratch, path) = scratch("bitmap-bytes", "pinned.bin");
    ok(&["1001", "1200", "--bitmap", path.to_str().unwrap()]);
    let bytes = std::fs::read(&path).unwrap();
    // [1001, 1200] holds the 100 odd numbers 1001, 1003, ..., 1199: two words.
    #[rustfmt::skip]
    let header: [u8; 64] = [
        b'E', b'R', b'A', b'T', b'O', b'B', b'M', 0, // magic
        1, 0, 0, 0, // version 1
        1, 0, 0, 0, // layout 1: odd-only
        0xe9, 0x03, 0, 0, 0, 0, 0, 0, // lo = 1001
        0xb0, 0x04, 0, 0, 0, 0, 0, 0, // hi = 1200
        2, 0, 0, 0, 0, 0, 0, 0, // 2 words follow
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // zero
    ];
    assert_eq!(bytes.len(), 64 + 2 * 8);
    assert_eq!(bytes[..64], header);
    // Bit i (least significant first, words little-endian) is 1001 + 2i, set when prime (1009 is
    // bit 4, so the first byte is 0x50: 1009 and 1013); the 28 padding bits of the last word are
    // zero. The 28 primes of [1001, 1200], as a plain trial division in Python lays them out:
    let body = [
        0x50, 0x86, 0x09, 0xc3, 0x04, 0x68, 0x49, 0x24, //
        0x01, 0x18, 0x22, 0x24, 0x01, 0x00, 0x00, 0x00,
    ];
    assert_eq!(bytes[64..], body);
    let mut from_oracle = [0u8; 16];
    for i in 0..100 {
        if sieve_core::oracle::is_prime(1001 + 2 * i as u64) {
            from_oracle[i / 8] |= 1 << (i % 8);
        }
    }
    assert_eq!(from_oracle, body);
}

#[test]
fn json_record_is_one_object() {
    let text = String::from_utf8(ok(&["1e6", "--twins", "--json"])).unwrap();
    assert_eq!(text.lines().count(), 1);
    let record = Record::from_json(&text).unwrap();
    assert_eq!(
        (record.start, record.stop, record.mode),
        (0, 1_000_000, RecordMode::Count)
    );
    assert_eq!((record.primes, record.twins), (78_498, Some(8169)));
    assert_eq!((record.ranks, record.windows), (1, 0));
    assert!(record.seconds.total >= record.seconds.sieve);
    // Without --twins, twins is null; the field names are the documented ones, in order.
    let text = String::from_utf8(ok(&["1e6", "--json"])).unwrap();
    assert_eq!(Record::from_json(&text).unwrap().twins, None);
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut keys: Vec<&str> = value
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    let mut sorted = vec![
        "start",
        "stop",
        "mode",
        "primes",
        "twins",
        "triplets",
        "quadruplets",
        "quintuplets",
        "sextuplets",
        "gap",
        "gap_records",
        "ranks",
        "threads_per_rank",
        "windows",
        "seconds",
    ];
    sorted.sort_unstable();
    assert_eq!(keys, sorted);
    assert!(text.starts_with("{\"start\":0,\"stop\":1000000,\"mode\":\"count\",\"primes\":78498,\"twins\":null,\"triplets\":null,\"quadruplets\":null,\"quintuplets\":null,\"sextuplets\":null,\"gap\":null,\"gap_records\":null,\"ranks\":1,"), "{text}");
    // --json-file: the same record in a file, stdout as without it.
    let (_scratch, path) = scratch("json-file", "r.json");
    let out = ok(&["1e6", "-q", "--json-file", path.to_str().unwrap()]);
    assert_eq!(out, b"78498\n");
    let record = Record::from_json(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(record.primes, 78_498);
    // A listing records its mode and windows.
    let text = String::from_utf8(ok(&[
        "1e6",
        "-p",
        "--format",
        "python",
        "--json",
        "--twins",
        "-o",
        scratch("json-list", "p.txt").1.to_str().unwrap(),
    ]))
    .unwrap();
    let record = Record::from_json(&text).unwrap();
    assert_eq!(record.mode, RecordMode::PrintPython);
    // Twins are recorded when asked for (--twins), in listings as in counts.
    assert!(record.windows >= 1 && record.twins == Some(8169));
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

/// A Python with NumPy, if this machine has one: `python3`, or `ERATO_TEST_PYTHON`.
fn numpy_python() -> Option<String> {
    let candidates = std::env::var("ERATO_TEST_PYTHON")
        .into_iter()
        .chain(["python3".to_string()]);
    for python in candidates {
        let works = Command::new(&python)
            .args(["-c", "import numpy"])
            .output()
            .is_ok_and(|o| o.status.success());
        if works {
            return Some(python);
        }
    }
    None
}

/// The primes of a `.npy` file, read by the format's specification (version 1.0): magic, version,
/// a little-endian u16 header length, a dictionary padded with spaces and ended by a newline so
/// that the header is a multiple of 64 bytes, then the data.
fn read_npy(bytes: &[u8]) -> Vec<u64> {
    assert_eq!(&bytes[..6], b"\x93NUMPY");
    assert_eq!(&bytes[6..8], &[1, 0], "version 1.0");
    let header_len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    let data = 10 + header_len;
    assert_eq!(data % 64, 0, "aligned to 64 bytes");
    let dict = std::str::from_utf8(&bytes[10..data]).unwrap();
    assert!(dict.ends_with('\n'));
    let dict = dict.trim_end();
    let shape = dict
        .strip_prefix("{'descr': '<u8', 'fortran_order': False, 'shape': (")
        .and_then(|s| s.strip_suffix(",), }"))
        .unwrap_or_else(|| panic!("{dict:?}"));
    let n: usize = shape.parse().unwrap();
    assert_eq!(bytes.len(), data + 8 * n);
    read_binary(&bytes[data..])
}

fn read_binary(bytes: &[u8]) -> Vec<u64> {
    assert_eq!(bytes.len() % 8, 0);
    bytes
        .chunks_exact(8)
        .map(|b| u64::from_le_bytes(b.try_into().unwrap()))
        .collect()
}

#[test]
fn npy_and_binary_hold_the_primes() {
    let python = numpy_python();
    for (lo, hi) in [
        (0u64, 1_000_000u64),
        (0, 0),
        (0, 1),
        (2, 2),
        (1001, 99_999),
        (u64::MAX - 100_000, u64::MAX),
    ] {
        let want = sieve_core::oracle::primes_between(lo, hi);
        for memory in ["1K", "256M"] {
            for threads in ["1", "3"] {
                let (l, h) = (lo.to_string(), hi.to_string());
                let args = |format, path: &Path| {
                    ok(&[
                        &l,
                        &h,
                        "-p",
                        "--format",
                        format,
                        "-o",
                        path.to_str().unwrap(),
                        "--max-memory",
                        memory,
                        "-t",
                        threads,
                    ])
                };
                let (_npy_dir, npy) = scratch("npy", &format!("{lo}-{memory}-{threads}.npy"));
                let summary = String::from_utf8(args("npy", &npy)).unwrap();
                assert!(summary.contains(&format!("Primes: {}", want.len())));
                let bytes = std::fs::read(&npy).unwrap();
                assert_eq!(
                    read_npy(&bytes),
                    want,
                    "npy [{lo}, {hi}] {memory} -t {threads}"
                );
                let (_binary_dir, binary) = scratch("npy", &format!("{lo}-{memory}-{threads}.bin"));
                args("binary", &binary);
                let raw = std::fs::read(&binary).unwrap();
                assert_eq!(raw, bytes[128..], "binary is the npy data");
                if let (Some(python), "1K", "3") = (&python, memory, threads) {
                    // NumPy reads it, also memory-mapped.
                    let script = "import sys, numpy\na = numpy.load(sys.argv[1])\nm = numpy.load(sys.argv[1], mmap_mode='r')\nassert a.dtype == numpy.dtype('<u8') and a.shape == m.shape\nassert (a == m).all()\nprint(len(a), int(a.sum()) if len(a) else 0)\n";
                    let out = Command::new(python)
                        .args(["-c", script, npy.to_str().unwrap()])
                        .output()
                        .unwrap();
                    assert!(
                        out.status.success(),
                        "{}",
                        String::from_utf8_lossy(&out.stderr)
                    );
                    let sum: u128 = want.iter().map(|&p| u128::from(p)).sum();
                    // NumPy sums u64 modulo 2^64.
                    assert_eq!(
                        String::from_utf8(out.stdout).unwrap(),
                        format!("{} {}\n", want.len(), sum as u64)
                    );
                }
            }
        }
    }
    if python.is_none() {
        eprintln!("note: no Python with NumPy here (python3, ERATO_TEST_PYTHON); npy checked by the specification only");
    }
}

#[test]
fn npy_and_binary_need_an_output_file() {
    for format in ["npy", "binary"] {
        let out = erato(&["1e6", "-p", "--format", format]);
        assert_eq!(out.status.code(), Some(2), "{format}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.contains("needs --output FILE"), "{stderr}");
        assert!(out.stdout.is_empty());
    }
}

/// Every format is the same bytes whatever the threads and windows: formatting parts, windows and
/// the sieve streams used where windows are narrow join exactly.
#[test]
fn formats_are_identical_across_threads_and_windows() {
    for (lo, hi) in [
        ("0", "3e6"),
        ("999990000", "1000010000"),
        ("2^64-2e6", "2^64-1"),
    ] {
        for format in ["lines", "python", "binary"] {
            let run = |memory: &str, threads: &str| {
                let (_scratch, path) = scratch(
                    "identical",
                    &format!("{lo}-{format}-{memory}-{threads}.out"),
                );
                ok(&[
                    lo,
                    hi,
                    "-p",
                    "--format",
                    format,
                    "-o",
                    path.to_str().unwrap(),
                    "--max-memory",
                    memory,
                    "-t",
                    threads,
                ]);
                std::fs::read(&path).unwrap()
            };
            let want = run("256M", "1");
            for memory in ["24", "1K", "100K"] {
                for threads in ["1", "3"] {
                    if memory == "24" && lo != "999990000" {
                        continue; // 10^4 windows of one word each: slow, not different
                    }
                    assert!(
                        run(memory, threads) == want,
                        "[{lo}, {hi}] {format} --max-memory {memory} -t {threads}"
                    );
                }
            }
        }
    }
    // The Python format in many windows is still textwrap's.
    let mine = ok(&[
        "-p",
        "--format",
        "python",
        "0",
        "999999",
        "--max-memory",
        "1K",
        "-t",
        "3",
    ]);
    assert_eq!(mine, python_fill(1_000_000));
}
