//! Faults: signals, full disks and closed pipes never leave output that could pass for complete,
//! never hang, and end with the documented status.

mod common;
use common::erato_binary;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A fresh directory of this test's own (tests run in parallel), removed with all in it when
/// dropped, even when the test fails.
fn scratch(test: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&format!("erato-hardening-{test}-"))
        .tempdir()
        .unwrap()
}

fn entries(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

/// Waits for a file to appear (the run has started writing), at most 20 s.
fn wait_for_any_file(dir: &Path) {
    let began = Instant::now();
    while entries(dir).is_empty() {
        assert!(
            began.elapsed() < Duration::from_secs(20),
            "erato never started writing"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn signals_remove_partial_output() {
    for (signal, status) in [("TERM", 143), ("INT", 130), ("HUP", 129)] {
        let scratch_dir = scratch(&format!("signal-{signal}"));
        let dir = scratch_dir.path();
        let target = dir.join("primes.txt");
        let child = Command::new(erato_binary())
            .args(["1e12", "-p", "-o", target.to_str().unwrap()])
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        wait_for_any_file(dir);
        assert!(Command::new("kill")
            .args([&format!("-{signal}"), &child.id().to_string()])
            .status()
            .unwrap()
            .success());
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(status), "SIGNAL {signal}");
        assert_eq!(
            entries(dir),
            Vec::<String>::new(),
            "SIG{signal} left files behind"
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(&format!("SIG{signal}")), "{err}");
    }
}

#[test]
fn dev_full_is_a_clear_error() {
    let out = Command::new(erato_binary())
        .args(["1e7", "-p", "-o", "/dev/full"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("No space left"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

/// Runs `erato N -p -o FILE` into a fresh tmpfs mounted with `options`, and returns its output and
/// the names left in that file system; `None` where this process may not mount (it needs root on
/// Linux; as root, a read-only mount is the only way to refuse a write). Under CI (`CI=true`, as
/// .ci/run is started) a failed mount fails the test: CI runs as root and must run these cases.
fn listing_onto_tmpfs(
    test: &str,
    options: &str,
    n: &str,
) -> Option<(std::process::Output, Vec<String>)> {
    let scratch_dir = scratch(test);
    let dir = scratch_dir.path();
    let mut mount = Command::new("mount");
    mount
        .args(["-t", "tmpfs", "-o", options, "tmpfs", dir.to_str().unwrap()])
        .stderr(Stdio::null());
    if !mount.status().is_ok_and(|s| s.success()) {
        assert!(
            std::env::var("CI").map_or(true, |ci| ci != "true"),
            "{test}: cannot mount a tmpfs, and CI=true: CI must run this test (as root)"
        );
        eprintln!("{test}: cannot mount a tmpfs here (not root?); not tested");
        return None;
    }
    let target = dir.join("primes.txt");
    let out = Command::new(erato_binary())
        .args([n, "-p", "-o", target.to_str().unwrap()])
        .output()
        .unwrap();
    let left = entries(dir);
    let _ = Command::new("umount").arg(dir).status();
    Some((out, left))
}

#[test]
fn full_filesystem_leaves_no_file() {
    let Some((out, left)) = listing_onto_tmpfs("tmpfs", "size=2m", "1e7") else {
        return;
    };
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("No space left"), "{err}");
    assert_eq!(left, Vec::<String>::new(), "a full disk left files behind");
}

#[test]
fn read_only_directory_is_a_clear_error() {
    let Some((out, left)) = listing_onto_tmpfs("read-only", "ro,size=1m", "1e6") else {
        return;
    };
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("Read-only file system") && err.contains("primes.txt"),
        "{err}"
    );
    assert_eq!(left, Vec::<String>::new());
}

/// A build without MPI, started as several copies by a launcher (here: the variables each sets),
/// refuses once instead of printing the answer N times.
#[test]
#[cfg(not(feature = "mpi"))]
fn non_mpi_build_under_a_launcher_refuses() {
    // Open MPI's mpirun, then PMI launchers (MPICH's Hydra mpiexec, srun --mpi=pmi2), then srun's
    // own (inside a step; the batch script itself has neither), then Hydra's per-node variables.
    for (size_var, rank_var) in [
        ("OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_RANK"),
        ("PMI_SIZE", "PMI_RANK"),
        ("SLURM_STEP_NUM_TASKS", "SLURM_PROCID"),
        ("MPI_LOCALNRANKS", "MPI_LOCALRANKID"),
    ] {
        for rank in ["0", "1"] {
            let out = Command::new(erato_binary())
                .arg("1e6")
                .env(size_var, "3")
                .env(rank_var, rank)
                .output()
                .unwrap();
            assert_eq!(out.status.code(), Some(2));
            assert!(out.stdout.is_empty());
            let err = String::from_utf8_lossy(&out.stderr);
            if rank == "0" {
                assert!(
                    err.contains("built without MPI support") && err.contains("3 copies"),
                    "{err}"
                );
            } else {
                assert!(err.is_empty(), "only rank 0 speaks: {err}");
            }
        }
    }
    // In the batch script itself (SLURM_NTASKS but no step), one process: it runs.
    let out = Command::new(erato_binary())
        .args(["1e6", "-q"])
        .env("SLURM_NTASKS", "2")
        .env("SLURM_PROCID", "0")
        .output()
        .unwrap();
    assert!(out.status.success());
}

#[test]
fn closed_pipe_is_quiet_success() {
    for format in ["lines", "python"] {
        let mut child = Command::new(erato_binary())
            .args(["1e10", "-p", "--format", format])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        // The reader is gone: the next write fails with a closed pipe.
        let out = child.wait_with_output().unwrap();
        assert!(first.starts_with('2') || first.starts_with("[2"), "{first}");
        assert_eq!(
            out.status.code(),
            Some(0),
            "{format}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.stderr.is_empty(),
            "{format}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn stress_test_runs_and_agrees() {
    let out = Command::new(erato_binary())
        .args(["--stress-test", "5", "--seed", "7"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.lines().last().unwrap().ends_with(" passed, 0 failed"),
        "{text}"
    );
}

/// Done units recorded in a checkpoint file.
fn done_units(path: &Path) -> usize {
    std::fs::read_to_string(path)
        .map_or(0, |t| t.lines().filter(|l| l.starts_with("done ")).count())
}

/// Waits until the checkpoint at `path` records at least `units` finished units (a minute at most).
fn wait_for_units(path: &Path, units: usize) {
    let began = Instant::now();
    while done_units(path) < units {
        assert!(
            began.elapsed() < Duration::from_secs(60),
            "no progress recorded"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn checkpoint_survives_a_kill_and_resumes_exactly() {
    let scratch_dir = scratch("checkpoint");
    let dir = scratch_dir.path();
    let file = dir.join("count.checkpoint");
    let file_arg = file.to_str().unwrap();
    let mut child = Command::new(erato_binary())
        .args(["1e11", "--twins", "-q", "--checkpoint", file_arg, "-t", "2"])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Kill it once some, but not all, of the 93 units are recorded.
    wait_for_units(&file, 5);
    child.kill().unwrap(); // SIGKILL: no chance to clean up, the checkpoint must still be whole
    child.wait().unwrap();
    let recorded = done_units(&file);
    assert!((5..93).contains(&recorded), "{recorded} units recorded");
    // Resume with another thread count: exactly the published counts.
    let out = Command::new(erato_binary())
        .args(["1e11", "--twins", "-q", "--checkpoint", file_arg, "-t", "1"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "4118054813\n224376048\n"
    );
    assert_eq!(done_units(&file), 93);
    // A checkpoint of another run is refused with a clear message.
    for args in [["2e11", "--twins"], ["1e11", "-q"]] {
        let out = Command::new(erato_binary())
            .args(args)
            .args(["--checkpoint", file_arg])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("written for another run"), "{err}");
    }
    std::fs::write(&file, "not a checkpoint").unwrap();
    let out = Command::new(erato_binary())
        .args(["1e11", "--twins", "--checkpoint", file_arg])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// k-tuplets and gaps across the units of a checkpoint: killed part way and resumed with another
/// thread count, the answer is exactly that of an uninterrupted run; resumed with other options or
/// from a damaged file, refused with one line.
#[test]
fn checkpointed_tuplets_and_gaps_resume_exactly() {
    const RANGE: [&str; 3] = ["1e12", "1e12+3e10", "-q"];
    const UNITS: usize = 27;
    let cases: [(&str, &[&str]); 2] =
        [("all", &["-c3456", "--gaps"]), ("gaps", &["--gaps", "-c2"])];
    for (name, options) in cases {
        let scratch_dir = scratch(&format!("checkpoint-{name}"));
        let dir = scratch_dir.path();
        let file = dir.join("count.checkpoint");
        let file_arg = file.to_str().unwrap();
        let erato = |extra: &[&str], threads: &str| {
            let mut c = Command::new(erato_binary());
            c.args(RANGE)
                .args(options)
                .args(extra)
                .args(["-t", threads]);
            c
        };
        let uninterrupted = erato(&[], "2").output().unwrap();
        assert!(uninterrupted.status.success());
        let mut child = erato(&["--checkpoint", file_arg], "1")
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        wait_for_units(&file, 4);
        child.kill().unwrap();
        child.wait().unwrap();
        let recorded = done_units(&file);
        assert!(
            (4..UNITS).contains(&recorded),
            "{name}: {recorded} units recorded"
        );
        let resumed = erato(&["--checkpoint", file_arg], "2").output().unwrap();
        assert!(resumed.status.success(), "{name}: {resumed:?}");
        assert_eq!(
            String::from_utf8_lossy(&resumed.stdout),
            String::from_utf8_lossy(&uninterrupted.stdout),
            "{name}"
        );
        assert_eq!(done_units(&file), UNITS);
        // Whole: the same answer again, from the file alone.
        let again = erato(&["--checkpoint", file_arg], "1").output().unwrap();
        assert_eq!(again.stdout, uninterrupted.stdout, "{name}");

        let refused = |args: &[&str], want: &str| {
            let out = Command::new(erato_binary())
                .args(RANGE)
                .args(args)
                .args(["--checkpoint", file_arg])
                .output()
                .unwrap();
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
            assert!(out.stdout.is_empty(), "{args:?}: printed an answer");
            assert_eq!(err.lines().count(), 1, "{err}");
            assert!(
                err.starts_with("erato: error: checkpoint ") && err.contains(want),
                "{args:?}: {err}"
            );
        };
        // Other k-tuplets, or without the gaps: another run.
        refused(&["-c345", "--gaps"], "written for another run");
        refused(&["-c3456"], "written for another run");
        refused(&["-c2"], "written for another run");
        let good = std::fs::read(&file).unwrap();
        // Damaged: one byte changed in the middle, or cut short.
        let mut damaged = good.clone();
        damaged[good.len() / 2] ^= 1;
        std::fs::write(&file, &damaged).unwrap();
        refused(options, "checksum");
        std::fs::write(&file, &good[..good.len() - 3]).unwrap();
        refused(options, "checksum");
    }
}

/// A checkpoint is input: damaged, truncated, edited or from the old format without a checksum, it
/// is refused with one line and status 2, never turned into a wrong answer.
#[test]
fn damaged_checkpoints_are_refused() {
    let scratch_dir = scratch("checkpoint-damage");
    let dir = scratch_dir.path();
    let file = dir.join("count.checkpoint");
    let file_arg = file.to_str().unwrap();
    let run = || {
        Command::new(erato_binary())
            .args(["1e6", "-q", "--checkpoint", file_arg])
            .output()
            .unwrap()
    };
    let out = run();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "78498\n");
    let good = std::fs::read_to_string(&file).unwrap();
    assert!(good.contains(" 78498 "), "{good}");
    let refused = |text: &str, want: &str| {
        std::fs::write(&file, text).unwrap();
        let out = run();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{want}: {err}");
        assert!(out.stdout.is_empty(), "{want}: printed an answer");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.starts_with("erato: error: checkpoint ") && err.contains(want),
            "{want}: {err}"
        );
    };
    // The case: 78498 changed to 12345 by hand.
    refused(&good.replace(" 78498 ", " 12345 "), "fails its checksum");
    // Truncated: without its last line, and cut in the middle of it.
    let without_crc = &good[..good[..good.len() - 1].rfind('\n').unwrap() + 1];
    refused(without_crc, "truncated");
    refused(&good[..good.len() - 4], "checksum");
    // The old format, which had no checksum.
    refused(
        &without_crc.replace("erato-checkpoint 3", "erato-checkpoint 1"),
        "format 1",
    );
    // Whole again: the answer, from the file.
    std::fs::write(&file, &good).unwrap();
    assert_eq!(String::from_utf8_lossy(&run().stdout), "78498\n");
}
