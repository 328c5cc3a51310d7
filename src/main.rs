//! `erato`: count or list the primes in [START, STOP] on every core of every node.
//!
//! Glue only: the command line is declared here (its values are read by `driver::args`), the work
//! is in the `driver` and `sieve-core` crates, and each error's exit status comes from
//! `driver::error::Error`.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, ValueEnum};
use driver::args::{Bytes, Count, Number};
use driver::comm::Comm;
use driver::error::{Error, FAILURE};
use driver::job::{self, Mode, Request};
use driver::output::Format;
use driver::record::Record;

/// Count or list the primes in [START, STOP] with a segmented sieve of Eratosthenes.
///
/// START and STOP are integers or expressions such as 1e10, 2^32, 1e12+1e10 or 2^64-1, between 0
/// and 2^64-1; START defaults to 0. Both ends are included (Python's range(N) stops at N-1: give
/// STOP = N-1 for the same primes).
#[derive(Parser, Debug)]
#[command(name = "erato", version, about, long_about = None)]
struct Cli {
    /// START, or STOP if it is the only number.
    #[arg(value_name = "START", value_parser = Number, required_unless_present_any = ["test", "stress_test"], allow_negative_numbers = true)]
    first: Option<u64>,
    /// STOP (the last number of the range, included).
    #[arg(value_name = "STOP", value_parser = Number, allow_negative_numbers = true)]
    second: Option<u64>,
    /// Print only the number(s), one per line.
    #[arg(short, long)]
    quiet: bool,
    /// Also count twin-prime pairs (p, p+2) with both in the range.
    #[arg(long)]
    twins: bool,
    /// Print every prime in the range, in increasing order.
    #[arg(short, long)]
    print: bool,
    /// How --print lists primes: one per line, exactly as Python's
    /// print(textwrap.fill(str(primes), 80)), a NumPy .npy file or raw little-endian u64 (these two
    /// with --output only).
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
    /// Threads per rank, at most 4 per core this process may use (default: SLURM_CPUS_PER_TASK,
    /// else every core this process may use).
    #[arg(short, long, value_name = "N", value_parser = Count::POSITIVE)]
    threads: Option<usize>,
    /// Bytes rank 0 may hold for gathered output, e.g. 256M, 4G.
    #[arg(long, value_name = "BYTES", value_parser = Bytes, default_value = "256M")]
    max_memory: usize,
    /// Sieve segment size in KiB (default: half the L2 cache).
    #[arg(long, value_name = "KIB", value_parser = Count { min: 1, max: 64 << 10 })]
    segment_size: Option<usize>,
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
    #[arg(long, value_name = "SECONDS", value_parser = Count { min: 1, max: 1 << 30 }, conflicts_with_all = ["first", "test"])]
    stress_test: Option<usize>,
    /// The random seed of --stress-test (default: from the clock; printed either way).
    #[arg(long, value_name = "N", value_parser = Number, requires = "stress_test")]
    seed: Option<u64>,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum FormatArg {
    /// One prime per line.
    Lines,
    /// print(textwrap.fill(str(primes), 80)), byte for byte.
    Python,
    /// A NumPy .npy file (format 1.0, dtype '<u8', shape (n,)); needs --output.
    Npy,
    /// Raw little-endian u64, one per prime; needs --output.
    Binary,
}

/// Everything a run needs, read from the command line.
struct Settings {
    request: Request,
    threads: Option<usize>,
    segment_kib: Option<usize>,
    quiet: bool,
    json: bool,
    json_file: Option<PathBuf>,
    progress: bool,
}

fn settings(cli: Cli) -> Result<Settings, Error> {
    let first = cli.first.unwrap_or_default();
    let (lo, hi) = match cli.second {
        None => (0, first),
        Some(second) => (first, second),
    };
    if lo > hi {
        return Err(Error::Usage(format!(
            "START {lo} is greater than STOP {hi}"
        )));
    }
    if cli.json && cli.print && cli.output.is_none() {
        return Err(Error::Usage(
            "--json with --print needs --output FILE: both would go to stdout".into(),
        ));
    }
    if matches!(cli.format, FormatArg::Npy | FormatArg::Binary) && cli.output.is_none() {
        return Err(Error::Usage(format!(
            "--format {} needs --output FILE: its header holds the count, written last",
            if matches!(cli.format, FormatArg::Npy) {
                "npy"
            } else {
                "binary"
            }
        )));
    }
    let mode = match (cli.print, cli.bitmap) {
        (true, _) => Mode::List {
            format: match cli.format {
                FormatArg::Lines => Format::Lines,
                FormatArg::Python => Format::Python,
                FormatArg::Npy => Format::Npy,
                FormatArg::Binary => Format::Binary,
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
            max_memory: cli.max_memory,
        },
        threads: cli.threads,
        segment_kib: cli.segment_size,
        quiet: cli.quiet,
        json: cli.json,
        json_file: cli.json_file,
        progress,
    })
}

/// The threads asked for, else the default, whose note (a capped `SLURM_CPUS_PER_TASK`) rank 0
/// prints.
fn threads(asked: Option<usize>, rank: usize) -> usize {
    asked.unwrap_or_else(|| {
        let default = driver::default_threads();
        if let (Some(note), 0) = (&default.note, rank) {
            eprintln!("erato: note: {note}");
        }
        default.threads
    })
}

/// Runs a self-check (`--test`, `--stress-test`) on all cores, printing to stdout: status 0 if it
/// passed, 1 if not.
fn self_check(
    check: impl FnOnce(&driver::engine::Engine, &mut dyn Write) -> std::io::Result<bool>,
) -> Result<u8, Error> {
    let engine = driver::engine::Engine::new(threads(None, 0), driver::cache::detect(None))?;
    match check(&engine, &mut std::io::stdout()).map_err(Error::Stdout)? {
        true => Ok(0),
        false => Ok(FAILURE),
    }
}

/// A clap error as one line (its message may run over several before the usage block or the hint
/// to try --help).
fn one_line(e: &clap::Error) -> String {
    let rendered = e.render().to_string();
    let message: Vec<&str> = rendered
        .lines()
        .take_while(|l| !l.starts_with("Usage:") && !l.starts_with("For more information"))
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let message = message.join(" ");
    format!(
        "{} (see erato --help)",
        message.strip_prefix("error: ").unwrap_or(&message)
    )
}

/// Installs the handler of SIGINT, SIGTERM and SIGHUP: remove any output still being written and
/// end with 128 + the signal. Under a launcher the other ranks then stop too (mpirun and srun end a
/// job when one of its processes exits with an error, and forward a Ctrl-C to every rank).
fn handle_signals(rank: usize, ranks: usize) -> Result<(), Error> {
    let mut signals = signal_hook::iterator::Signals::new([
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGHUP,
    ])
    .map_err(Error::Signals)?;
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
    Ok(())
}

/// Everything after the communicator: the exit status, or the error that ended the run.
fn run(comm: &dyn Comm) -> Result<u8, Error> {
    let (rank, ranks) = (comm.rank(), comm.size());
    handle_signals(rank, ranks)?;
    // Every rank parses the same arguments and reaches the same verdict; rank 0 reports it.
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            if rank == 0 {
                let _ = e.print(); // --help, --version
            }
            return Ok(0);
        }
        Err(e) => return Err(Error::Usage(one_line(&e))),
    };
    if cli.test {
        return self_check(|engine, out| driver::selftest::run(engine, out));
    }
    if let Some(seconds) = cli.stress_test {
        let seed = cli.seed.unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
        });
        return self_check(|engine, out| {
            driver::selftest::stress(engine, seconds as f64, seed, out)
        });
    }
    let settings = settings(cli)?;

    let began = Instant::now();
    let engine = driver::engine::Engine::new(
        threads(settings.threads, rank),
        driver::cache::detect(settings.segment_kib),
    )?;
    let progress = (settings.progress && rank == 0).then(|| {
        driver::progress::Progress::start(
            engine.progress(),
            job::progress_total(&settings.request, ranks),
        )
    });
    let result = job::run(comm, &engine, &settings.request);
    drop(progress);
    let Some(report) = result? else {
        return Ok(0); // not rank 0
    };
    let record = Record::new(&settings.request, &report, began.elapsed().as_secs_f64());

    if let Some(path) = &settings.json_file {
        let write_error = |source| Error::Write {
            path: path.clone(),
            source,
        };
        let mut sink = driver::output::Sink::file(path).map_err(write_error)?;
        sink.write_all(format!("{}\n", record.to_json()).as_bytes())
            .and_then(|()| sink.commit())
            .map_err(write_error)?;
    }
    let listing_to_stdout = matches!(settings.request.mode, Mode::List { output: None, .. });
    let mut out = std::io::stdout().lock();
    let c = report.counts;
    let twins = settings.request.twins;
    let written = if settings.json {
        writeln!(out, "{}", record.to_json())
    } else if listing_to_stdout {
        Ok(())
    } else if settings.quiet {
        writeln!(out, "{}", c.primes).and_then(|()| {
            if twins {
                writeln!(out, "{}", c.twins)
            } else {
                Ok(())
            }
        })
    } else {
        writeln!(out, "Primes: {}", c.primes)
            .and_then(|()| {
                if twins {
                    writeln!(out, "Twin primes: {}", c.twins)
                } else {
                    Ok(())
                }
            })
            .and_then(|()| writeln!(out, "Seconds: {:.3}", record.seconds.total))
    };
    written.and_then(|()| out.flush()).map_err(Error::Stdout)?;
    Ok(0)
}

fn main() -> ExitCode {
    let comm = match driver::comm::connect() {
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
            return ExitCode::from(Error::from(e).exit_status());
        }
    };
    let (rank, ranks) = (comm.rank(), comm.size());
    let on_rank = move || {
        if ranks > 1 {
            format!(" on rank {rank}")
        } else {
            String::new()
        }
    };
    // A panic on any rank ends the whole job: one line, then abort (mpirun/srun then stop the
    // other ranks) rather than leave them waiting in a collective.
    std::panic::set_hook(Box::new(move |info| {
        eprintln!("erato: internal error{}: {info}", on_rank());
        std::process::abort();
    }));
    match run(comm.as_ref()) {
        Ok(status) => ExitCode::from(status),
        Err(e) => {
            let status = e.exit_status();
            if !e.is_quiet() && (rank == 0 || e.is_local()) {
                let at = if e.is_local() {
                    on_rank()
                } else {
                    String::new()
                };
                eprintln!("erato: error: {e}{at}");
            }
            if ranks > 1 && e.is_local() {
                comm.abort(i32::from(status));
            }
            ExitCode::from(status)
        }
    }
}
