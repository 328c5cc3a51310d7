//! `erato`: count or list the primes in [START, STOP] on every core of every node.
//!
//! The command line is parsed here; the work is in the `driver` and `sieve-core` crates.

use std::io::Write;
use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;

/// Exit status for a usage error (bad argument).
const USAGE: u8 = 2;
/// Exit status for a failure while running.
const FAILURE: u8 = 1;

/// Count the primes in [START, STOP] with a segmented sieve of Eratosthenes.
///
/// START and STOP are integers or expressions such as 1e10, 2^32, 1e12+1e10 or 2^64-1, between 0
/// and 2^64-1; START defaults to 0. Both ends are included.
#[derive(Parser, Debug)]
#[command(name = "erato", version, about, long_about = None)]
struct Cli {
    /// START, or STOP if it is the only number.
    #[arg(value_name = "START")]
    first: String,
    /// STOP (the last number of the range, included).
    #[arg(value_name = "STOP")]
    second: Option<String>,
    /// Print only the number(s), one per line.
    #[arg(short, long)]
    quiet: bool,
    /// Also count twin-prime pairs (p, p+2) with both in the range.
    #[arg(long)]
    twins: bool,
    /// Threads (default: SLURM_CPUS_PER_TASK, else every core this process may use).
    #[arg(short, long, value_name = "N")]
    threads: Option<String>,
    /// Sieve segment size in KiB (default: half the L2 cache).
    #[arg(long, value_name = "KIB")]
    segment_size: Option<String>,
}

/// A usage error: one line on stderr, exit status 2.
fn usage_error(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("erato: error: {message}");
    ExitCode::from(USAGE)
}

fn parse_number(name: &str, text: &str) -> Result<u64, String> {
    driver::expr::parse_u64(text).map_err(|e| format!("{name} {text:?} {e}"))
}

/// Reads a small positive count (threads, sizes) with a stated upper bound.
fn parse_count(name: &str, text: &str, max: u64) -> Result<usize, String> {
    let n = parse_number(name, text)?;
    if n == 0 || n > max {
        return Err(format!("{name} {text:?} must be between 1 and {max}"));
    }
    Ok(n as usize)
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            // --help and --version go to stdout and succeed.
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            let rendered = e.render().to_string();
            let first = rendered.lines().next().unwrap_or("invalid arguments");
            let first = first.strip_prefix("error: ").unwrap_or(first);
            return usage_error(format!("{first} (see erato --help)"));
        }
    };
    let (start, stop) = match (&cli.second, parse_number("START", &cli.first)) {
        (None, _) => match parse_number("STOP", &cli.first) {
            Ok(stop) => (0, stop),
            Err(e) => return usage_error(e),
        },
        (Some(_), Err(e)) => return usage_error(e),
        (Some(second), Ok(start)) => match parse_number("STOP", second) {
            Ok(stop) => (start, stop),
            Err(e) => return usage_error(e),
        },
    };
    if start > stop {
        return usage_error(format!("START {start} is greater than STOP {stop}"));
    }
    let threads = match cli
        .threads
        .as_deref()
        .map(|t| parse_count("--threads", t, 1 << 16))
    {
        None => driver::default_threads(),
        Some(Ok(n)) => n,
        Some(Err(e)) => return usage_error(e),
    };
    let segment_kib = match cli
        .segment_size
        .as_deref()
        .map(|t| parse_count("--segment-size", t, 64 << 10))
    {
        None => None,
        Some(Ok(n)) => Some(n),
        Some(Err(e)) => return usage_error(e),
    };

    let began = Instant::now();
    let config = driver::cache::detect(segment_kib);
    let engine = match driver::engine::Engine::new(threads, config) {
        Ok(engine) => engine,
        Err(e) => {
            eprintln!("erato: error: cannot start {threads} threads: {e}");
            return ExitCode::from(FAILURE);
        }
    };
    let primes = sieve_core::SievingPrimes::for_hi(stop);
    let counts = engine.count(&primes, start, stop, cli.twins);
    let seconds = began.elapsed().as_secs_f64();

    let mut out = std::io::stdout().lock();
    let written = if cli.quiet {
        writeln!(out, "{}", counts.primes).and_then(|()| {
            if cli.twins {
                writeln!(out, "{}", counts.twins)
            } else {
                Ok(())
            }
        })
    } else {
        writeln!(out, "Primes: {}", counts.primes)
            .and_then(|()| {
                if cli.twins {
                    writeln!(out, "Twin primes: {}", counts.twins)
                } else {
                    Ok(())
                }
            })
            .and_then(|()| writeln!(out, "Seconds: {seconds:.3}"))
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
