//! `erato`: count or list the primes in [START, STOP] on every core of every node.
//!
//! The command line is parsed here; the work is in the `driver` and `sieve-core` crates.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, ValueEnum};
use driver::comm::Comm;
use driver::job::{self, Mode, Request};
use driver::output::Format;

/// Exit status for a usage error (bad argument).
const USAGE: u8 = 2;
/// Exit status for a failure while running.
const FAILURE: u8 = 1;

/// Count or list the primes in [START, STOP] with a segmented sieve of Eratosthenes.
///
/// START and STOP are integers or expressions such as 1e10, 2^32, 1e12+1e10 or 2^64-1, between 0
/// and 2^64-1; START defaults to 0. Both ends are included (Python's range(N) stops at N-1: give
/// STOP = N-1 for the same primes).
#[derive(Parser, Debug)]
#[command(name = "erato", version, about, long_about = None)]
struct Cli {
    /// START, or STOP if it is the only number.
    #[arg(value_name = "START", required_unless_present_any = ["test", "stress_test"], allow_negative_numbers = true)]
    first: Option<String>,
    /// STOP (the last number of the range, included).
    #[arg(value_name = "STOP", allow_negative_numbers = true)]
    second: Option<String>,
    /// Print only the number(s), one per line.
    #[arg(short, long)]
    quiet: bool,
    /// Also count twin-prime pairs (p, p+2) with both in the range.
    #[arg(long)]
    twins: bool,
    /// Print every prime in the range, in increasing order.
    #[arg(short, long)]
    print: bool,
    /// How --print lists primes: one per line, or exactly as Python's
    /// print(textwrap.fill(str(primes), 80)).
    #[arg(long, value_enum, default_value_t = FormatArg::Lines, requires = "print")]
    format: FormatArg,
    /// Write the primes (--print) to FILE instead of stdout; FILE appears only once complete.
    #[arg(short, long, value_name = "FILE", requires = "print")]
    output: Option<PathBuf>,
    /// Write the odd-only bitmap of the range to FILE (format: sieve_core::bitmap_file).
    #[arg(long, value_name = "FILE", conflicts_with = "print")]
    bitmap: Option<PathBuf>,
    /// Print one JSON record of the run (range, counts, ranks, threads, seconds per phase).
    #[arg(long, conflicts_with = "quiet")]
    json: bool,
    /// Also write the JSON record to FILE (written whole under a temporary name, then renamed),
    /// leaving stdout as it would be without it.
    #[arg(long, value_name = "FILE")]
    json_file: Option<PathBuf>,
    /// Record progress of a count in FILE and resume from it: rerun the same command after a crash
    /// or a kill (any number of ranks and threads) to finish the remaining work.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["print", "bitmap"])]
    checkpoint: Option<PathBuf>,
    /// Threads per rank (default: SLURM_CPUS_PER_TASK, else every core this process may use).
    #[arg(short, long, value_name = "N")]
    threads: Option<String>,
    /// Bytes rank 0 may hold for gathered output, e.g. 256M, 4G (default 256M).
    #[arg(long, value_name = "BYTES")]
    max_memory: Option<String>,
    /// Sieve segment size in KiB (default: half the L2 cache).
    #[arg(long, value_name = "KIB")]
    segment_size: Option<String>,
    /// Show a progress bar on stderr (default: when stderr is a terminal and the range is longer
    /// than 10^11; never with --quiet).
    #[arg(long, overrides_with = "no_progress")]
    progress: bool,
    /// Never show a progress bar.
    #[arg(long)]
    no_progress: bool,
    /// Check erato against known prime counts and an independent primality test, then exit.
    #[arg(long, exclusive = true)]
    test: bool,
    /// Check random intervals all over [0, 2^64) against Miller-Rabin for SECONDS, then exit.
    #[arg(long, value_name = "SECONDS", conflicts_with_all = ["first", "test"])]
    stress_test: Option<String>,
    /// The random seed of --stress-test (default: from the clock; printed either way).
    #[arg(long, value_name = "N", requires = "stress_test")]
    seed: Option<String>,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum FormatArg {
    /// One prime per line.
    Lines,
    /// print(textwrap.fill(str(primes), 80)), byte for byte.
    Python,
}

/// Everything the run needs, read from the command line.
struct Settings {
    request: Request,
    threads: usize,
    segment_kib: Option<usize>,
    quiet: bool,
    json: bool,
    json_file: Option<PathBuf>,
    progress: bool,
}

fn parse_number(name: &str, text: &str) -> Result<u64, String> {
    driver::expr::parse_u64(text).map_err(|e| format!("{name} {text:?} {e}"))
}

/// Reads a count (threads, sizes) between 1 and `max`.
fn parse_count(name: &str, text: &str, max: u64) -> Result<usize, String> {
    let n = parse_number(name, text)?;
    if n == 0 || n > max {
        return Err(format!("{name} {text:?} must be between 1 and {max}"));
    }
    Ok(n as usize)
}

/// Reads a byte size with an optional K, M, G or T suffix (powers of 1024).
fn parse_bytes(name: &str, text: &str) -> Result<usize, String> {
    let t = text.trim();
    let (digits, shift) = match t.char_indices().last() {
        Some((i, c)) if "kKmMgGtT".contains(c) => (
            &t[..i],
            10 * (1 + "kKmMgGtT".find(c).unwrap_or(0) as u32 / 2),
        ),
        _ => (t, 0),
    };
    let n = parse_number(name, digits)?;
    n.checked_mul(1 << shift)
        .and_then(|b| usize::try_from(b).ok())
        .filter(|&b| b > 0)
        .ok_or_else(|| format!("{name} {text:?} must be a positive size such as 256M"))
}

fn settings(cli: Cli) -> Result<Settings, String> {
    let first = cli.first.as_deref().unwrap_or_default();
    let (lo, hi) = match &cli.second {
        None => (0, parse_number("STOP", first)?),
        Some(second) => (parse_number("START", first)?, parse_number("STOP", second)?),
    };
    if lo > hi {
        return Err(format!("START {lo} is greater than STOP {hi}"));
    }
    if cli.json && cli.print && cli.output.is_none() {
        return Err("--json with --print needs --output FILE: both would go to stdout".into());
    }
    let threads = match &cli.threads {
        None => driver::default_threads(),
        Some(t) => parse_count("--threads", t, 1 << 16)?,
    };
    let segment_kib = cli
        .segment_size
        .as_deref()
        .map(|t| parse_count("--segment-size", t, 64 << 10))
        .transpose()?;
    let max_memory = cli
        .max_memory
        .as_deref()
        .map_or(Ok(256 << 20), |t| parse_bytes("--max-memory", t))?;
    let mode = match (cli.print, cli.bitmap) {
        (true, _) => Mode::List {
            format: match cli.format {
                FormatArg::Lines => Format::Lines,
                FormatArg::Python => Format::Python,
            },
            output: cli.output,
        },
        (false, Some(path)) => Mode::Bitmap(path),
        (false, None) => Mode::Count,
    };
    let long_run = hi - lo >= 100_000_000_000;
    let progress = !cli.quiet
        && !cli.no_progress
        && (cli.progress
            || (long_run && !cli.json && std::io::IsTerminal::is_terminal(&std::io::stderr())));
    Ok(Settings {
        request: Request {
            lo,
            hi,
            twins: cli.twins,
            mode,
            checkpoint: cli.checkpoint,
            max_memory,
        },
        threads,
        segment_kib,
        quiet: cli.quiet,
        json: cli.json,
        json_file: cli.json_file,
        progress,
    })
}

/// The communicator of this run: MPI when built with it, else a single rank; refuses to run as
/// many copies of a non-MPI build started by mpirun or srun.
fn communicator() -> Result<Box<dyn Comm>, String> {
    #[cfg(feature = "mpi")]
    {
        let mpi = driver::comm::mpi_comm::Mpi::init()
            .ok_or("MPI could not be initialised with Threading::Funneled")?;
        // A launcher that started n > 1 copies which each see a world of one: this binary is linked
        // to another MPI library than the launcher's, and every copy would print its own answer.
        match driver::comm::Launcher::detect() {
            Some(l) if l.size > 1 && mpi.size() == 1 => {
                Err(l.world_of_one(&driver::comm::mpi_comm::library_version()))
            }
            _ => Ok(Box::new(mpi)),
        }
    }
    #[cfg(not(feature = "mpi"))]
    {
        match driver::comm::Launcher::detect() {
            Some(l) if l.size > 1 => Err(l.without_mpi()),
            _ => Ok(Box::new(driver::comm::Single)),
        }
    }
}

fn json_record(s: &Settings, report: &job::Report, total: f64) -> String {
    let r = &s.request;
    let mode = match &r.mode {
        Mode::Count => "count",
        Mode::List {
            format: Format::Lines,
            ..
        } => "print",
        Mode::List {
            format: Format::Python,
            ..
        } => "print-python",
        Mode::Bitmap(_) => "bitmap",
    };
    let p = report.phases;
    let twins = if r.twins || !matches!(r.mode, Mode::Count) {
        report.counts.twins.to_string()
    } else {
        "null".into()
    };
    format!(
        "{{\"start\":{},\"stop\":{},\"mode\":\"{mode}\",\"primes\":{},\"twins\":{twins},\"ranks\":{},\"threads_per_rank\":{},\"windows\":{},\"seconds\":{{\"plan\":{:.6},\"sieve\":{:.6},\"reduce\":{:.6},\"write\":{:.6},\"total\":{total:.6}}}}}",
        r.lo, r.hi, report.counts.primes, report.ranks, report.threads, report.windows, p.plan, p.sieve, p.reduce, p.write
    )
}

/// Runs a self-check (`--test`, `--stress-test`) on all cores, printing to stdout: status 0 if it
/// passed, 1 if not.
fn self_check(
    check: impl FnOnce(&driver::engine::Engine, &mut dyn Write) -> std::io::Result<bool>,
) -> ExitCode {
    let engine =
        match driver::engine::Engine::new(driver::default_threads(), driver::cache::detect(None)) {
            Ok(e) => e,
            Err(e) => {
                eprintln!("erato: error: cannot start threads: {e}");
                return ExitCode::from(FAILURE);
            }
        };
    match check(&engine, &mut std::io::stdout()) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(FAILURE),
        Err(e) => {
            eprintln!("erato: error: {e}");
            ExitCode::from(FAILURE)
        }
    }
}

fn main() -> ExitCode {
    let comm = match communicator() {
        Ok(c) => c,
        Err(e) => {
            // Without a working communicator every copy gets here: only the launcher's rank 0 says
            // so. The others wait before exiting: Open MPI's mpirun kills the whole job as soon as
            // any copy exits with an error, which lost rank 0's message whenever another copy got
            // here first (MPICH builds under mpirun, whose singleton MPI_Init takes varying time).
            match driver::comm::launcher_rank().unwrap_or(0) {
                0 => eprintln!("erato: error: {e}"),
                _ => std::thread::sleep(std::time::Duration::from_secs(5)),
            }
            return ExitCode::from(USAGE);
        }
    };
    let rank = comm.rank();
    let ranks = comm.size();
    // A panic on any rank ends the whole job: one line, then abort (mpirun/srun then stop the
    // other ranks) rather than leave them waiting in a collective.
    std::panic::set_hook(Box::new(move |info| {
        let at = if ranks > 1 {
            format!(" on rank {rank}")
        } else {
            String::new()
        };
        eprintln!("erato: internal error{at}: {info}");
        std::process::abort();
    }));
    // SIGINT, SIGTERM or SIGHUP: remove any output still being written and end with 128 + the
    // signal. Under a launcher the other ranks then stop too (mpirun and srun end a job when one of
    // its processes exits with an error, and forward a Ctrl-C to every rank).
    let mut signals = match signal_hook::iterator::Signals::new([
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGHUP,
    ]) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("erato: error: cannot handle signals: {e}");
            return ExitCode::from(FAILURE);
        }
    };
    std::thread::spawn(move || {
        if let Some(signal) = signals.forever().next() {
            driver::output::remove_partial_files();
            let name = signal_hook::low_level::signal_name(signal).unwrap_or("a signal");
            let at = if ranks > 1 {
                format!(" on rank {rank}")
            } else {
                String::new()
            };
            eprintln!("erato: stopped by {name}{at}; partial output removed");
            std::process::exit(128 + signal);
        }
    });
    // Every rank parses the same arguments and reaches the same verdict; rank 0 reports it.
    let say = |message: &str| {
        if rank == 0 {
            eprintln!("erato: error: {message}");
        }
    };
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            if rank == 0 {
                let _ = e.print(); // --help, --version
            }
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            // clap's message may run over several lines before its usage block: join them.
            let rendered = e.render().to_string();
            let message: Vec<&str> = rendered
                .lines()
                .take_while(|l| !l.starts_with("Usage:"))
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect();
            let message = message.join(" ");
            say(&format!(
                "{} (see erato --help)",
                message.strip_prefix("error: ").unwrap_or(&message)
            ));
            return ExitCode::from(USAGE);
        }
    };
    if cli.test {
        return self_check(|engine, out| driver::selftest::run(engine, out));
    }
    if let Some(text) = &cli.stress_test {
        let seconds = match parse_count("--stress-test", text, 1 << 30) {
            Ok(s) => s as f64,
            Err(e) => {
                say(&e);
                return ExitCode::from(USAGE);
            }
        };
        let seed = match cli
            .seed
            .as_deref()
            .map(|t| parse_number("--seed", t))
            .transpose()
        {
            Ok(seed) => seed.unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(1, |d| d.as_nanos() as u64)
            }),
            Err(e) => {
                say(&e);
                return ExitCode::from(USAGE);
            }
        };
        return self_check(|engine, out| driver::selftest::stress(engine, seconds, seed, out));
    }
    let settings = match settings(cli) {
        Ok(s) => s,
        Err(e) => {
            say(&e);
            return ExitCode::from(USAGE);
        }
    };

    let began = Instant::now();
    let engine = match driver::engine::Engine::new(
        settings.threads,
        driver::cache::detect(settings.segment_kib),
    ) {
        Ok(engine) => engine,
        Err(e) => {
            eprintln!(
                "erato: error: cannot start {} threads on rank {rank}: {e}",
                settings.threads
            );
            comm.abort(i32::from(FAILURE));
        }
    };
    let progress = (settings.progress && rank == 0).then(|| {
        let share = (settings.request.hi - settings.request.lo) / ranks as u64 + 1;
        driver::progress::Progress::start(engine.progress(), share)
    });
    let result = job::run(comm.as_ref(), &engine, &settings.request);
    drop(progress);
    let report = match result {
        Ok(report) => report,
        Err(e) if job::is_broken_pipe(&e) => return ExitCode::SUCCESS,
        Err(e @ job::JobError::MemoryTooSmall { .. }) => {
            say(&e.to_string());
            return ExitCode::from(USAGE);
        }
        Err(job::JobError::CheckpointRefusedByRank0) => return ExitCode::from(USAGE),
        Err(
            e @ job::JobError::Checkpoint(
                driver::checkpoint::CheckpointError::Mismatch(..)
                | driver::checkpoint::CheckpointError::Corrupt(..),
            ),
        ) => {
            say(&e.to_string());
            return ExitCode::from(USAGE);
        }
        Err(e) => {
            eprintln!("erato: error: {e}");
            if ranks > 1 {
                comm.abort(i32::from(FAILURE));
            }
            return ExitCode::from(FAILURE);
        }
    };
    let Some(report) = report else {
        return ExitCode::SUCCESS;
    };
    let total = began.elapsed().as_secs_f64();

    if let Some(path) = &settings.json_file {
        let record = json_record(&settings, &report, total) + "\n";
        let written = driver::output::Sink::file(path).and_then(|mut sink| {
            sink.write_all(record.as_bytes())?;
            sink.commit()
        });
        if let Err(e) = written {
            eprintln!("erato: error: cannot write {}: {e}", path.display());
            return ExitCode::from(FAILURE);
        }
    }
    let listing_to_stdout = matches!(settings.request.mode, Mode::List { output: None, .. });
    let mut out = std::io::stdout().lock();
    let c = report.counts;
    let written = if settings.json {
        writeln!(out, "{}", json_record(&settings, &report, total))
    } else if listing_to_stdout {
        Ok(())
    } else if settings.quiet {
        writeln!(out, "{}", c.primes).and_then(|()| {
            if settings.request.twins {
                writeln!(out, "{}", c.twins)
            } else {
                Ok(())
            }
        })
    } else {
        writeln!(out, "Primes: {}", c.primes)
            .and_then(|()| {
                if settings.request.twins {
                    writeln!(out, "Twin primes: {}", c.twins)
                } else {
                    Ok(())
                }
            })
            .and_then(|()| writeln!(out, "Seconds: {total:.3}"))
    };
    match written.and_then(|()| out.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("erato: error: cannot write the result: {e}");
            ExitCode::from(FAILURE)
        }
    }
}
