//! The MPI build under its launcher: every output byte-identical to the single-process run, for 1,
//! 2 and 3 ranks (3 oversubscribed on small machines), tiny and empty rank slices, and windows; what
//! happens when a rank dies or is stopped; and, given a build against another MPI library, that
//! the two refuse each other's launchers and share checkpoints.
//!
//! Which launcher: `ERATO_MPI_LAUNCHER` is `openmpi` (the default: Open MPI's mpirun) or `mpich`
//! (MPICH's Hydra mpiexec, as in Intel MPI and MVAPICH); `ERATO_MPIEXEC` names the program (default:
//! the first of `mpirun.openmpi`, `mpirun` or of `mpiexec.mpich`, `mpiexec.hydra`, `mpiexec` that is
//! that family's: Debian's alternatives may point `mpirun` at either library). A launcher asked for
//! and missing, or of the other family, fails every test: it never skips.
//!
//! The other library: `ERATO_OTHER_MPI_ERATO` (erato built against it), `ERATO_OTHER_MPI_LAUNCHER`
//! and `ERATO_OTHER_MPIEXEC` (as above). Without `ERATO_OTHER_MPI_ERATO` the cross-library tests say
//! so and pass; scripts/test sets all three for the MPICH run.
#![cfg(feature = "mpi")]

mod common;
use common::erato_binary;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

fn alone(args: &[&str]) -> Output {
    Command::new(erato_binary())
        .args(args)
        .output()
        .expect("erato runs")
}

/// The MPI library families whose launchers differ in what the tests see.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Family {
    /// Open MPI's mpirun (ORTE).
    OpenMpi,
    /// MPICH's Hydra mpiexec.
    Mpich,
}

impl Family {
    fn from_name(variable: &str, name: &str) -> Self {
        match name {
            "openmpi" => Self::OpenMpi,
            "mpich" => Self::Mpich,
            _ => panic!("{variable}={name:?}: expected openmpi or mpich"),
        }
    }
    /// The programs tried when none is named, most specific first.
    fn programs(self) -> &'static [&'static str] {
        match self {
            Self::OpenMpi => &["mpirun.openmpi", "mpirun"],
            Self::Mpich => &["mpiexec.mpich", "mpiexec.hydra", "mpiexec"],
        }
    }
    /// What the family's launcher prints for `--version`, one of these (Open MPI 4 prints
    /// `mpirun (OpenRTE) 4.1.4`, Open MPI 5 `mpirun (Open MPI) 5.0.3`).
    fn signatures(self) -> &'static [&'static str] {
        match self {
            Self::OpenMpi => &["(OpenRTE)", "(Open MPI)"],
            Self::Mpich => &["HYDRA"],
        }
    }
    /// The variable the launcher sets to each process's rank.
    fn rank_var(self) -> &'static str {
        match self {
            Self::OpenMpi => "OMPI_COMM_WORLD_RANK",
            Self::Mpich => "PMI_RANK",
        }
    }
    /// How erato names this launcher in its errors.
    fn described_as(self) -> &'static str {
        match self {
            Self::OpenMpi => "Open MPI's mpirun",
            Self::Mpich => "Hydra's mpiexec",
        }
    }
}

/// A launcher found on this machine.
#[derive(Debug)]
struct Launcher {
    family: Family,
    program: String,
}

impl Launcher {
    /// The launcher of `family` (`program`, or the first of the family's usual names that runs and
    /// says it is of that family); panics, naming what it tried, when there is none.
    fn find(family: Family, program: Option<String>) -> Self {
        let candidates: Vec<String> = match program {
            Some(p) => vec![p],
            None => family.programs().iter().map(|p| p.to_string()).collect(),
        };
        let mut tried = Vec::new();
        for candidate in candidates {
            match Command::new(&candidate).arg("--version").output() {
                Ok(out) => {
                    let said = String::from_utf8_lossy(&out.stdout).to_string()
                        + &String::from_utf8_lossy(&out.stderr);
                    if family.signatures().iter().any(|s| said.contains(s)) {
                        return Self {
                            family,
                            program: candidate,
                        };
                    }
                    let first = said.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
                    tried.push(format!("{candidate} is another launcher ({first})"));
                }
                Err(e) => tried.push(format!("{candidate}: {e}")),
            }
        }
        panic!(
            "no {family:?} launcher: {}; install it (Debian: openmpi-bin or mpich) or name it in ERATO_MPIEXEC",
            tried.join("; ")
        );
    }

    /// `PREFIX LAUNCHER -n ranks ... erato args`, with the settings this machine needs (root, 2
    /// cores, one rank using every core).
    fn command(&self, prefix: &[&str], ranks: usize, erato: &Path, args: &[&str]) -> Command {
        let (program, before) = prefix.split_first().expect("a program");
        let mut command = Command::new(program);
        command
            .args(before)
            .args([&self.program, "-n", &ranks.to_string()]);
        match self.family {
            Family::OpenMpi => {
                // Open MPI binds each of up to 2 ranks to one core, refuses more ranks than cores
                // and refuses root, unless told otherwise; ob1 and tcp halve its start-up here.
                command
                    .args(["--oversubscribe", "--bind-to", "none"])
                    .args(["--mca", "pml", "ob1", "--mca", "mpi_yield_when_idle", "1"])
                    .args(["--mca", "btl", "self,vader,tcp"])
                    .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
                    .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1");
            }
            Family::Mpich => {
                // Hydra binds nothing and oversubscribes by default; say the first for the reader.
                command.args(["-bind-to", "none"]);
            }
        }
        command.arg(erato).args(args);
        command
    }
}

/// The launcher these tests run under (`ERATO_MPI_LAUNCHER`, `ERATO_MPIEXEC`).
fn launcher() -> &'static Launcher {
    static LAUNCHER: OnceLock<Launcher> = OnceLock::new();
    LAUNCHER.get_or_init(|| {
        let family = std::env::var("ERATO_MPI_LAUNCHER").map_or(Family::OpenMpi, |name| {
            Family::from_name("ERATO_MPI_LAUNCHER", &name)
        });
        Launcher::find(family, std::env::var("ERATO_MPIEXEC").ok())
    })
}

/// erato built against the other MPI library, and that library's launcher, when
/// `ERATO_OTHER_MPI_ERATO` names one.
fn other_library() -> Option<&'static (PathBuf, Launcher)> {
    static OTHER: OnceLock<Option<(PathBuf, Launcher)>> = OnceLock::new();
    OTHER
        .get_or_init(|| {
            let erato = PathBuf::from(std::env::var_os("ERATO_OTHER_MPI_ERATO")?);
            assert!(
                erato.is_file(),
                "ERATO_OTHER_MPI_ERATO={}: no such file",
                erato.display()
            );
            let name = std::env::var("ERATO_OTHER_MPI_LAUNCHER")
                .expect("ERATO_OTHER_MPI_LAUNCHER (openmpi or mpich) beside ERATO_OTHER_MPI_ERATO");
            let family = Family::from_name("ERATO_OTHER_MPI_LAUNCHER", &name);
            assert_ne!(family, launcher().family, "the other library is this one");
            Some((
                erato,
                Launcher::find(family, std::env::var("ERATO_OTHER_MPIEXEC").ok()),
            ))
        })
        .as_ref()
}

/// `erato args` under `LAUNCHER -n ranks`, bounded by `timeout` so a hang fails instead of blocking.
fn mpirun(ranks: usize, args: &[&str]) -> Output {
    launcher()
        .command(&["timeout", "120"], ranks, Path::new(erato_binary()), args)
        .output()
        .expect("the launcher runs")
}

/// [`mpirun`] that must succeed; on failure the message shows what erato said.
fn mpirun_ok(ranks: usize, args: &[&str]) -> Output {
    let out = mpirun(ranks, args);
    assert!(
        out.status.success(),
        "{} -n {ranks} erato {args:?}: {}",
        launcher().program,
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

/// A path in a fresh directory, removed with all in it when the returned guard is dropped (even
/// when the test fails).
fn scratch(name: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::Builder::new()
        .prefix("erato-mpi-")
        .tempdir()
        .unwrap();
    let path = dir.path().join(name);
    (dir, path)
}

fn same_stdout(args: &[&str]) {
    same_stdout_with(&[1, 2, 3], args);
}

/// [`same_stdout`] for the given numbers of ranks only.
fn same_stdout_with(all_ranks: &[usize], args: &[&str]) {
    let want = alone(args);
    assert!(
        want.status.success(),
        "erato {args:?}: {}",
        String::from_utf8_lossy(&want.stderr)
    );
    for &ranks in all_ranks {
        let got = mpirun_ok(ranks, args);
        assert!(
            got.stdout == want.stdout,
            "{} -n {ranks} erato {args:?}: output differs",
            launcher().program
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

/// k-tuplets and gaps across rank boundaries (issue 10): the same as one process, which
/// tests/primesieve.rs and tests/cli.rs check against primesieve and the published gaps.
#[test]
fn tuplets_gaps_and_nth_prime() {
    same_stdout(&["1e9", "-c123456", "--gaps", "-q"]);
    same_stdout(&["2^64-1e7", "2^64-1", "-c3456", "--gaps", "-q"]);
    for range in [["0", "1000"], ["5", "13"], ["1e6", "1e6+300"]] {
        same_stdout(&[range[0], range[1], "-c23456", "--gaps", "-q"]);
    }
    same_stdout(&["1000", "-p3"]);
    same_stdout(&["1e6", "-n", "-q"]);
}

/// `-p2` .. `-p6` from several ranks: rank 0 prints every k-tuplet of the whole range on all its
/// threads while the others wait, so the output is the one process's, every tuplet once and in
/// order, whatever the rank slices would have been; with a count after it and with `-o FILE` too.
/// Near 2^64, where each run first walks the 203 million sieving primes, with three ranks only.
#[test]
fn printed_tuplets_from_several_ranks() {
    for k in 2..=6 {
        let print = format!("-p{k}");
        for range in [["0", "1e6"], ["1e12", "1e12+2e6"], ["5", "30"]] {
            same_stdout(&[range[0], range[1], &print, "-t", "1"]);
        }
        same_stdout_with(&[3], &["2^64-2e6", "2^64-1", &print, "-t", "1"]);
        same_stdout(&["1e6", &print, "-c1234", "-t", "2"]);
    }
    let (_scratch, file) = scratch("tuplets.txt");
    let path = file.to_str().unwrap();
    let want = alone(&["1e7", "-p3", "-c3", "-q"]).stdout;
    let written = alone(&["1e7", "-p3", "-o", path]);
    assert!(written.status.success());
    let one = std::fs::read(&file).unwrap();
    std::fs::remove_file(&file).unwrap();
    for ranks in [2, 3] {
        assert_eq!(mpirun_ok(ranks, &["1e7", "-p3", "-c3", "-q"]).stdout, want);
        mpirun_ok(ranks, &["1e7", "-p3", "-o", path]);
        assert_eq!(std::fs::read(&file).unwrap(), one, "-n {ranks} -p3 -o FILE");
        std::fs::remove_file(&file).unwrap();
    }
}

/// Without -q, primesieve's header with erato's threads per rank, then the ranks.
#[test]
fn header_names_the_ranks() {
    let out = mpirun_ok(2, &["1e6", "-s", "64", "-t", "1"]);
    // The seconds' value blanked.
    let blanked = |out: &[u8]| -> String {
        String::from_utf8_lossy(out)
            .lines()
            .map(|l| match l.starts_with("Seconds: ") {
                true => "Seconds: _\n".to_string(),
                false => format!("{l}\n"),
            })
            .collect()
    };
    assert_eq!(
        blanked(&out.stdout),
        "Sieve size = 64 KiB\nThreads = 1\nRanks = 2\nSeconds: _\nPrimes: 78498\n"
    );
    let alone = alone(&["1e6", "-s", "64", "-t", "1"]);
    assert_eq!(
        blanked(&alone.stdout),
        "Sieve size = 64 KiB\nThreads = 1\nSeconds: _\nPrimes: 78498\n"
    );
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
        // Streamed windows of three words, ranks without a slice among them.
        same_stdout(&[range[0], range[1], "-p", "--max-memory", "72", "-t", "1"]);
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

/// Every listing format, written to a file, is the same bytes alone and from 1, 2 and 3 ranks, in
/// many windows: shared windows (cut among ranks and threads), streamed ones (one sieve per rank
/// that keeps its state, near 2^64 and with one thread per rank) and one window. Near 2^64, where
/// each rank first walks the 203 million sieving primes, one text and one binary format: the
/// python format (20-digit numbers wrapped across windows) and npy (its header's count).
#[test]
fn listing_files_are_identical_in_every_format() {
    const ALL: &[&str] = &["lines", "python", "npy", "binary"];
    for (lo, hi, memory, threads, formats) in [
        ("999", "1e7", "1M", "2", ALL), // two shared windows
        ("999", "1e6", "2K", "1", ALL), // streamed, one thread per rank
        ("2^64-3e6", "2^64-1", "10K", "2", &["python", "npy"]), // streamed near 2^64: 57 windows
        ("0", "1e6", "256M", "2", ALL), // one window
    ] {
        for &format in formats {
            let run = |ranks: Option<usize>| {
                let (_scratch, path) = scratch(&format!("{lo}-{memory}-{format}-{ranks:?}.out"));
                let args = [
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
                ];
                match ranks {
                    None => assert!(alone(&args).status.success(), "erato {args:?}"),
                    Some(n) => drop(mpirun_ok(n, &args)),
                }
                let bytes = std::fs::read(&path).unwrap();
                std::fs::remove_file(&path).unwrap();
                bytes
            };
            let want = run(None);
            assert!(!want.is_empty());
            for ranks in [1, 2, 3] {
                assert!(
                    run(Some(ranks)) == want,
                    "{} -n {ranks}: [{lo}, {hi}] --format {format} --max-memory {memory} differs",
                    launcher().program
                );
            }
        }
    }
}

#[test]
fn bitmap_files_are_identical() {
    let (_scratch, reference) = scratch("alone.bin");
    assert!(
        alone(&["999", "1e6", "--bitmap", reference.to_str().unwrap()])
            .status
            .success()
    );
    let want = std::fs::read(&reference).unwrap();
    for ranks in [1, 2, 3] {
        let (_scratch, path) = scratch(&format!("ranks-{ranks}.bin"));
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
    // A usage error: every rank stops, one message, and both launchers pass on status 2.
    let out = mpirun(3, &["1e20"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr)
            .matches("erato: error:")
            .count(),
        1,
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every process as (pid, parent pid, command name), read from /proc.
fn processes() -> Vec<(u32, u32, String)> {
    let mut all = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // `pid (comm) state ppid ...`: the name may hold spaces and parentheses.
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let name = stat[open + 1..close].to_string();
        let ppid = stat[close + 1..]
            .split_whitespace()
            .nth(1)
            .and_then(|p| p.parse().ok());
        if let Some(ppid) = ppid {
            all.push((pid, ppid, name));
        }
    }
    all
}

/// The pids of erato processes descended from `launcher` (Open MPI's mpirun forks the ranks; Hydra's
/// mpiexec forks a proxy that forks them), waiting (at most 20 s) for `count`.
fn children(launcher: u32, count: usize) -> Vec<u32> {
    let began = std::time::Instant::now();
    loop {
        let all = processes();
        let parent: std::collections::HashMap<u32, u32> =
            all.iter().map(|&(pid, ppid, _)| (pid, ppid)).collect();
        let descends = |mut pid: u32| {
            while let Some(&up) = parent.get(&pid) {
                if up == launcher {
                    return true;
                }
                pid = up;
            }
            false
        };
        let pids: Vec<u32> = all
            .iter()
            .filter(|(pid, _, name)| name == "erato" && descends(*pid))
            .map(|&(pid, _, _)| pid)
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

/// Which of `ranks` has rank `rank`, by the variable the launcher sets.
fn pid_of_rank(ranks: &[u32], rank: usize) -> u32 {
    let wanted = format!("{}={rank}", launcher().family.rank_var());
    ranks
        .iter()
        .copied()
        .find(|p| {
            std::fs::read(format!("/proc/{p}/environ"))
                .is_ok_and(|env| env.split(|&b| b == 0).any(|v| v == wanted.as_bytes()))
        })
        .unwrap_or_else(|| panic!("no process with {wanted} among {ranks:?}"))
}

/// `LAUNCHER -n ranks erato args` started in the background, its output piped.
fn mpirun_child(ranks: usize, args: &[&str]) -> std::process::Child {
    let mut command = launcher().command(&["env"], ranks, Path::new(erato_binary()), args);
    command
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    command.spawn().expect("the launcher runs")
}

/// Waits for a child at most `secs` seconds, collecting its output; kills it and fails if it is
/// still running.
fn wait_bounded(mut child: std::process::Child, secs: u64) -> Output {
    // Read the pipes on their own threads so that a chatty launcher never blocks on a full pipe.
    let drain = |pipe: Option<Box<dyn std::io::Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut bytes);
            }
            bytes
        })
    };
    let stdout = drain(child.stdout.take().map(|p| Box::new(p) as _));
    let stderr = drain(child.stderr.take().map(|p| Box::new(p) as _));
    let began = std::time::Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return Output {
                status,
                stdout: stdout.join().unwrap(),
                stderr: stderr.join().unwrap(),
            };
        }
        if began.elapsed() > std::time::Duration::from_secs(secs) {
            let _ = child.kill();
            panic!("the job did not end within {secs} s");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// How each launcher ends a job one of whose ranks was killed with SIGKILL: Open MPI's mpirun sends
/// the others SIGTERM (they stop as after Ctrl-C), reports on stderr and exits 128 + 9; Hydra's
/// mpiexec sends SIGTERM and SIGKILL at once (no handler can run), prints its "BAD TERMINATION"
/// banner on **stdout** and exits 9, the bare signal number.
fn assert_ended_by_a_killed_rank(job: &Output) {
    let stdout = String::from_utf8_lossy(&job.stdout);
    match launcher().family {
        Family::OpenMpi => {
            assert_eq!(job.status.code(), Some(128 + 9), "{job:?}");
            assert!(stdout.is_empty(), "{stdout}");
        }
        Family::Mpich => {
            assert_eq!(job.status.code(), Some(9), "{job:?}");
            assert!(stdout.contains("BAD TERMINATION"), "{stdout}");
        }
    }
}

#[test]
fn a_killed_rank_ends_the_job() {
    let job = mpirun_child(3, &["1e13", "-t", "1"]);
    let ranks = children(job.id(), 3);
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert!(Command::new("kill")
        .args(["-KILL", &pid_of_rank(&ranks, 1).to_string()])
        .status()
        .unwrap()
        .success());
    let out = wait_bounded(job, 30);
    assert!(!out.status.success(), "a job that lost a rank must fail");
    assert_ended_by_a_killed_rank(&out);
    assert!(
        children_alive(&ranks).is_empty(),
        "ranks left running: {:?}",
        children_alive(&ranks)
    );
}

/// A rank other than 0 dies while rank 0 writes a listing: the output file is never created. Under
/// Open MPI, rank 0 gets SIGTERM and removes its partial file; under Hydra it gets SIGKILL at once,
/// so its hidden partial file (`.primes.txt.XXXXXX.erato-partial`) stays behind, as after any
/// SIGKILL.
#[test]
fn a_killed_rank_during_a_listing_leaves_no_output() {
    let (_scratch, dir) = scratch("killed-listing");
    std::fs::create_dir_all(&dir).unwrap();
    let target = dir.join("primes.txt");
    let job = mpirun_child(
        2,
        &["1e12", "-p", "-o", target.to_str().unwrap(), "-t", "1"],
    );
    let ranks = children(job.id(), 2);
    wait_until("rank 0 opening its output", 20, || {
        std::fs::read_dir(&dir).unwrap().next().is_some()
    });
    assert!(Command::new("kill")
        .args(["-KILL", &pid_of_rank(&ranks, 1).to_string()])
        .status()
        .unwrap()
        .success());
    let out = wait_bounded(job, 30);
    assert_ended_by_a_killed_rank(&out);
    assert!(children_alive(&ranks).is_empty(), "ranks left running");
    let mut left: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    match launcher().family {
        Family::OpenMpi => assert!(left.is_empty(), "left behind: {left:?}"),
        // Rank 0's partial file, under the hidden random name tempfile gave it; never primes.txt.
        Family::Mpich => assert!(
            left.len() == 1
                && left[0].starts_with(".primes.txt.")
                && left[0].ends_with(".erato-partial"),
            "left behind: {left:?}"
        ),
    }
    std::fs::remove_dir_all(&dir).unwrap();
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

/// SIGTERM to rank 0: it removes its partial file and exits 143, which both launchers pass on
/// after stopping the other ranks.
#[test]
fn sigterm_to_rank_0_stops_all_and_removes_output() {
    let (_scratch, dir) = scratch("sigterm");
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
    assert!(Command::new("kill")
        .args(["-TERM", &pid_of_rank(&ranks, 0).to_string()])
        .status()
        .unwrap()
        .success());
    let out = wait_bounded(job, 30);
    assert_eq!(out.status.code(), Some(128 + 15), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("erato: stopped by SIGTERM on rank 0; partial output removed"));
    assert!(children_alive(&ranks).is_empty());
    assert_eq!(
        std::fs::read_dir(&dir).unwrap().count(),
        0,
        "partial output left behind"
    );
}

/// Under a launcher, erato's stdout is a pipe to the launcher, which stays open; it is the launcher
/// that finds the reader gone. Open MPI 4.1's mpirun then aborts the job (and crashes on its way
/// out), sending SIGTERM to the ranks; Hydra's mpiexec is killed by SIGPIPE, and its proxy, losing
/// it, kills the ranks. What erato controls: the job ends at once and no rank is left behind.
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
    let out = wait_bounded(job, 30);
    assert!(!out.status.success(), "{out:?}");
    if launcher().family == Family::Mpich {
        assert_eq!(
            out.status.signal(),
            Some(13),
            "mpiexec killed by SIGPIPE: {out:?}"
        );
    }
    assert!(children_alive(&ranks).is_empty(), "ranks left running");
}

/// `erato args --checkpoint FILE -t 1` started by `start`, killed once FILE records three units.
fn interrupted_count(file: &Path, mut start: Command) {
    let mut child = start.spawn().unwrap();
    wait_until("checkpointed units", 60, || {
        std::fs::read_to_string(file).map_or(0, |t| t.matches("\ndone ").count()) >= 3
    });
    child.kill().unwrap();
    child.wait().unwrap();
}

const CHECKPOINTED: [&str; 4] = ["1e12", "1e12+5e10", "--twins", "-q"];

fn checkpointed(file: &Path) -> Vec<&str> {
    let mut args = CHECKPOINTED.to_vec();
    args.extend(["--checkpoint", file.to_str().unwrap(), "-t", "1"]);
    args
}

#[test]
fn checkpoint_resumes_with_other_ranks() {
    let (_scratch, dir) = scratch("checkpoint");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("count.checkpoint");
    // Begin alone, stop after a few units, finish with three ranks.
    let mut start = Command::new(erato_binary());
    start.args(checkpointed(&file));
    interrupted_count(&file, start);
    let resumed = mpirun_ok(3, &checkpointed(&file));
    assert_eq!(resumed.stdout, alone(&CHECKPOINTED).stdout);
}

/// k-tuplets and gaps across checkpoint units and ranks: begun alone, stopped after a few units,
/// finished with three ranks, exactly the answer of an uninterrupted run.
#[test]
fn checkpointed_tuplets_and_gaps_resume_with_other_ranks() {
    let (_scratch, file) = scratch("tuplets-gaps.checkpoint");
    let args = ["1e12", "1e12+5e10", "-c3456", "--gaps", "-q"];
    let with_file = |threads: &'static str| {
        let mut all = args.to_vec();
        all.extend(["--checkpoint", file.to_str().unwrap(), "-t", threads]);
        all
    };
    let mut start = Command::new(erato_binary());
    start.args(with_file("1"));
    interrupted_count(&file, start);
    let resumed = mpirun_ok(3, &with_file("1"));
    assert_eq!(resumed.stdout, alone(&args).stdout);
    // Resumed with other k-tuplets: refused by rank 0, once, and every rank stops.
    let mut other = with_file("1");
    other[2] = "-c345";
    let out = mpirun(2, &other);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    let errors: Vec<&str> = err.lines().filter(|l| l.starts_with("erato: ")).collect();
    assert_eq!(errors.len(), 1, "{err}");
    assert!(errors[0].contains("written for another run"), "{err}");
}

/// A checkpoint holds counts and the range, nothing of MPI: a count begun with one library's build
/// finishes with the other's, in both directions.
#[test]
fn checkpoint_resumes_across_libraries() {
    let Some((other, _)) = other_library() else {
        eprintln!("ERATO_OTHER_MPI_ERATO is not set: no build against another MPI to resume with");
        return;
    };
    let (_scratch, dir) = scratch("checkpoint-across");
    std::fs::create_dir_all(&dir).unwrap();
    let uninterrupted = alone(&CHECKPOINTED).stdout;
    // The other library's build, alone (a singleton MPI_Init), then this one under its launcher.
    let file = dir.join("from-other.checkpoint");
    let mut start = Command::new(other);
    start.args(checkpointed(&file));
    interrupted_count(&file, start);
    assert_eq!(mpirun_ok(3, &checkpointed(&file)).stdout, uninterrupted);
    // This build under its launcher, stopped by SIGTERM to rank 0, then the other build alone.
    let file = dir.join("from-this.checkpoint");
    let job = mpirun_child(2, &checkpointed(&file));
    let ranks = children(job.id(), 2);
    wait_until("checkpointed units", 60, || {
        std::fs::read_to_string(&file).map_or(0, |t| t.matches("\ndone ").count()) >= 3
    });
    Command::new("kill")
        .args(["-TERM", &pid_of_rank(&ranks, 0).to_string()])
        .status()
        .unwrap();
    wait_bounded(job, 30);
    let resumed = Command::new(other)
        .args(checkpointed(&file))
        .output()
        .unwrap();
    assert!(resumed.status.success(), "{resumed:?}");
    assert_eq!(resumed.stdout, uninterrupted);
}

/// Run under the other library's launcher, a build sees a world of one in every copy: each would
/// print the whole answer. erato refuses once, naming the launcher and its own library.
#[test]
fn a_launcher_of_another_library_is_refused() {
    let Some((other, other_launcher)) = other_library() else {
        eprintln!("ERATO_OTHER_MPI_ERATO is not set: no other MPI library to cross with");
        return;
    };
    for (launcher, erato) in [
        (launcher(), other.as_path()),
        (other_launcher, Path::new(erato_binary())),
    ] {
        let out = launcher
            .command(&["timeout", "120"], 3, erato, &["1e6", "-q"])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(
            out.stdout.is_empty(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
        let errors: Vec<&str> = err.lines().filter(|l| l.starts_with("erato: ")).collect();
        assert_eq!(errors.len(), 1, "{err}");
        assert!(
            errors[0].contains(launcher.family.described_as())
                && errors[0].contains("started 3 processes")
                && errors[0].contains("sees a world of 1"),
            "{err}"
        );
    }
}
