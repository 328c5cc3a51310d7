//! The MPI build under `mpirun`: every output byte-identical to the single-process run, for 1, 2
//! and 3 ranks (3 oversubscribed on small machines), tiny and empty rank slices, and windows.
#![cfg(feature = "mpi")]

use std::path::PathBuf;
use std::process::{Command, Output};

const ERATO: &str = env!("CARGO_BIN_EXE_erato");

fn alone(args: &[&str]) -> Output {
    Command::new(ERATO).args(args).output().expect("erato runs")
}

/// `erato args` under `mpirun -n ranks`, bounded by `timeout` so a hang fails instead of blocking.
fn mpirun(ranks: usize, args: &[&str]) -> Output {
    Command::new("timeout")
        .args([
            "120",
            "mpirun",
            "-n",
            &ranks.to_string(),
            "--oversubscribe",
            "--bind-to",
            "none",
        ])
        .args([
            "--mca",
            "pml",
            "ob1",
            "--mca",
            "mpi_yield_when_idle",
            "1",
            "--mca",
            "btl",
            "self,vader,tcp",
        ])
        .arg(ERATO)
        .args(args)
        .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
        .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
        .output()
        .expect("mpirun runs (OpenMPI installed?)")
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("erato-mpi-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn same_stdout(args: &[&str]) {
    let want = alone(args);
    assert!(
        want.status.success(),
        "erato {args:?}: {}",
        String::from_utf8_lossy(&want.stderr)
    );
    for ranks in [1, 2, 3] {
        let got = mpirun(ranks, args);
        assert!(
            got.status.success(),
            "mpirun -n {ranks} erato {args:?}: {}",
            String::from_utf8_lossy(&got.stderr)
        );
        assert!(
            got.stdout == want.stdout,
            "mpirun -n {ranks} erato {args:?}: output differs"
        );
    }
}

#[test]
fn counts_and_twins() {
    same_stdout(&["1e9", "-q"]);
    same_stdout(&["1e9", "--twins", "-q"]);
    same_stdout(&["1e12", "1e12+1e8", "--twins", "-q"]);
    same_stdout(&["2^64-1e7", "2^64-1", "--twins", "-q"]);
}

#[test]
fn tiny_and_empty_slices() {
    for range in [
        ["0", "0"],
        ["2", "2"],
        ["3", "5"],
        ["10", "200"],
        ["127", "129"],
        ["5", "130"],
    ] {
        same_stdout(&[range[0], range[1], "--twins", "-q"]);
        same_stdout(&[range[0], range[1], "-p"]);
        same_stdout(&[range[0], range[1], "-p", "--format", "python"]);
    }
}

#[test]
fn listing_in_many_windows() {
    same_stdout(&["999", "1e6", "-p"]);
    same_stdout(&["999", "1e6", "-p", "--max-memory", "2K"]);
    same_stdout(&[
        "0",
        "999999",
        "-p",
        "--format",
        "python",
        "--max-memory",
        "100K",
    ]);
}

#[test]
fn bitmap_files_are_identical() {
    let reference = scratch("alone.bin");
    assert!(
        alone(&["999", "1e6", "--bitmap", reference.to_str().unwrap()])
            .status
            .success()
    );
    let want = std::fs::read(&reference).unwrap();
    for ranks in [1, 2, 3] {
        let path = scratch(&format!("ranks-{ranks}.bin"));
        let out = mpirun(
            ranks,
            &[
                "999",
                "1e6",
                "--bitmap",
                path.to_str().unwrap(),
                "--max-memory",
                "1K",
            ],
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(std::fs::read(&path).unwrap() == want, "{ranks} ranks");
    }
}

#[test]
fn only_rank_0_prints_and_errors_end_the_job() {
    let out = mpirun(3, &["1e6", "--json"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 1);
    assert!(String::from_utf8_lossy(&out.stdout).contains("\"ranks\":3"));
    // A usage error: every rank stops, one message, status 2.
    let out = mpirun(3, &["1e20"]);
    assert_ne!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr)
            .matches("erato: error:")
            .count(),
        1,
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
