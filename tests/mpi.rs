//! The MPI build under `mpirun`: every output byte-identical to the single-process run, for 1, 2
//! and 3 ranks (3 oversubscribed on small machines), tiny and empty rank slices, and windows.
#![cfg(feature = "mpi")]

use std::path::PathBuf;
use std::process::{Command, Output};

const ERATO: &str = env!("CARGO_BIN_EXE_erato");

fn alone(args: &[&str]) -> Output {
    Command::new(ERATO).args(args).output().expect("erato runs")
}

/// `PREFIX mpirun -n ranks ... erato args`, with the settings this machine needs (root, 2 cores).
fn launch(prefix: &[&str], ranks: usize, args: &[&str]) -> Command {
    let (program, before) = prefix.split_first().expect("a program");
    let mut command = Command::new(program);
    command
        .args(before)
        .args([
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
        .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1");
    command
}

/// `erato args` under `mpirun -n ranks`, bounded by `timeout` so a hang fails instead of blocking.
fn mpirun(ranks: usize, args: &[&str]) -> Output {
    launch(&["timeout", "120"], ranks, args)
        .output()
        .expect("mpirun runs (OpenMPI installed?)")
}

/// [`mpirun`] that must succeed; on failure the message shows what erato said.
fn mpirun_ok(ranks: usize, args: &[&str]) -> Output {
    let out = mpirun(ranks, args);
    assert!(
        out.status.success(),
        "mpirun -n {ranks} erato {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Polls `done` every 20 ms until it holds; fails with `what` after `secs` seconds.
fn wait_until(what: &str, secs: u64, mut done: impl FnMut() -> bool) {
    let began = std::time::Instant::now();
    while !done() {
        assert!(
            began.elapsed() < std::time::Duration::from_secs(secs),
            "timed out waiting: {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
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
        let got = mpirun_ok(ranks, args);
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
        mpirun_ok(
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
        assert!(std::fs::read(&path).unwrap() == want, "{ranks} ranks");
    }
}

#[test]
fn only_rank_0_prints_and_errors_end_the_job() {
    let out = mpirun(3, &["1e6", "--json"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.lines().count(), 1);
    let record = driver::record::Record::from_json(&text).unwrap();
    assert_eq!((record.ranks, record.primes), (3, 78_498));
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

/// The pids of erato processes whose parent is `parent`, waiting (at most 20 s) for `count`.
fn children(parent: u32, count: usize) -> Vec<u32> {
    let began = std::time::Instant::now();
    loop {
        let out = Command::new("pgrep")
            .args(["-P", &parent.to_string(), "erato"])
            .output()
            .unwrap();
        let pids: Vec<u32> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .collect();
        if pids.len() >= count {
            return pids;
        }
        assert!(
            began.elapsed() < std::time::Duration::from_secs(20),
            "ranks did not start"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// `mpirun -n ranks erato args` started in the background, its output piped.
fn mpirun_child(ranks: usize, args: &[&str]) -> std::process::Child {
    let mut command = launch(&["env"], ranks, args);
    command
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    command.spawn().expect("mpirun runs")
}

/// Waits for a child at most `secs` seconds; kills it and fails if it is still running.
fn wait_bounded(mut child: std::process::Child, secs: u64) -> std::process::ExitStatus {
    let began = std::time::Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if began.elapsed() > std::time::Duration::from_secs(secs) {
            let _ = child.kill();
            panic!("the job did not end within {secs} s");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[test]
fn a_killed_rank_ends_the_job() {
    let job = mpirun_child(3, &["1e13", "-t", "1"]);
    let ranks = children(job.id(), 3);
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert!(Command::new("kill")
        .args(["-KILL", &ranks[1].to_string()])
        .status()
        .unwrap()
        .success());
    let status = wait_bounded(job, 30);
    assert!(!status.success(), "a job that lost a rank must fail");
    assert!(
        children_alive(&ranks).is_empty(),
        "ranks left running: {:?}",
        children_alive(&ranks)
    );
}

/// Those of `pids` still running (not exited, not zombies) after up to 10 s of waiting.
fn children_alive(pids: &[u32]) -> Vec<u32> {
    let running = |p: &u32| {
        std::fs::read_to_string(format!("/proc/{p}/stat")).is_ok_and(|stat| {
            // The state follows the parenthesised command name.
            stat.rsplit(')')
                .next()
                .and_then(|rest| rest.split_whitespace().next())
                .is_some_and(|state| state != "Z" && state != "X")
        })
    };
    let began = std::time::Instant::now();
    loop {
        let alive: Vec<u32> = pids.iter().copied().filter(running).collect();
        if alive.is_empty() || began.elapsed() > std::time::Duration::from_secs(10) {
            return alive;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

#[test]
fn sigterm_to_rank_0_stops_all_and_removes_output() {
    let dir = scratch("sigterm");
    std::fs::create_dir_all(&dir).unwrap();
    let target = dir.join("primes.txt");
    let job = mpirun_child(
        2,
        &["1e12", "-p", "-o", target.to_str().unwrap(), "-t", "1"],
    );
    let ranks = children(job.id(), 2);
    // Rank 0 is the one that opened the output: wait until it exists.
    wait_until("rank 0 opening its output", 20, || {
        std::fs::read_dir(&dir).unwrap().next().is_some()
    });
    let rank0 = ranks.iter().copied().find(|p| {
        std::fs::read(format!("/proc/{p}/environ")).is_ok_and(|env| {
            env.split(|&b| b == 0)
                .any(|v| v == b"OMPI_COMM_WORLD_RANK=0")
        })
    });
    let rank0 = rank0.expect("rank 0's pid");
    assert!(Command::new("kill")
        .args(["-TERM", &rank0.to_string()])
        .status()
        .unwrap()
        .success());
    let status = wait_bounded(job, 30);
    assert!(!status.success());
    assert!(children_alive(&ranks).is_empty());
    assert_eq!(
        std::fs::read_dir(&dir).unwrap().count(),
        0,
        "partial output left behind"
    );
}

/// Under mpirun, erato's stdout is a pipe to mpirun, which stays open; it is mpirun that finds the
/// reader gone. OpenMPI 4.1 then aborts the job (and crashes on its way out, status 139), sending
/// SIGTERM to the ranks. What erato controls: the job ends at once and no rank is left behind.
/// (Run alone, a closed pipe is a quiet success: tests/hardening.rs.)
#[test]
fn closed_pipe_under_mpirun_ends_the_job() {
    let mut job = mpirun_child(2, &["1e11", "-p", "-t", "1"]);
    let ranks = children(job.id(), 2);
    let mut first = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(job.stdout.take().unwrap()),
        &mut first,
    )
    .unwrap();
    assert_eq!(first, "2\n");
    wait_bounded(job, 30);
    assert!(children_alive(&ranks).is_empty(), "ranks left running");
}

#[test]
fn checkpoint_resumes_with_other_ranks() {
    let dir = scratch("checkpoint");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("count.checkpoint");
    let file_arg = file.to_str().unwrap();
    // Begin alone, stop after a few units, finish with three ranks.
    let args = [
        "1e12",
        "1e12+5e10",
        "--twins",
        "-q",
        "--checkpoint",
        file_arg,
        "-t",
        "1",
    ];
    let mut child = Command::new(ERATO).args(args).spawn().unwrap();
    wait_until("checkpointed units", 60, || {
        std::fs::read_to_string(&file).map_or(0, |t| t.matches("\ndone ").count()) >= 3
    });
    child.kill().unwrap();
    child.wait().unwrap();
    let resumed = mpirun_ok(3, &args);
    let uninterrupted = alone(&["1e12", "1e12+5e10", "--twins", "-q"]);
    assert_eq!(resumed.stdout, uninterrupted.stdout);
}
