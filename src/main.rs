//! `erato`: count or list the primes in [START, STOP] on every core of every node.
//!
//! Glue only: the command line is declared here (its values are read by `driver::args`), the work
//! is in the `driver` and `sieve-core` crates, and each error's exit status comes from
//! `driver::error::Error`.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::Instant;

use clap::{ArgAction, Parser, ValueEnum};
use driver::args::{Bytes, Count, Kinds, Number};
use driver::comm::Comm;
use driver::error::{Error, FAILURE};
use driver::job::{self, Mode, Request};
use driver::output::Format;
use driver::record::Record;
use driver::summary;

/// The C library's `pow` and `log` for the whole process, from the `libm` crate (the Rust
/// project's pure-Rust port of musl's, accurate to within an ulp): defined here, they leave the
/// binary nothing to take from the system's libm.so, which the build without MPI then does not
/// load at all (the linker drops a library nothing needs; MPI libraries such as Open MPI's and
/// hwloc need libm.so themselves, and their calls to these two may then come here). Loading it
/// cost about 0.45 MB of resident memory in every process, its code and tables, a seventh of a
/// small count's peak and more than the sieve's own margin against primesieve's (Intel Xeon,
/// `erato 1e5`: 3.51 -> 3.07 MB median; `[10^15, +10^10]` 20.32 -> 20.00 MB). Their callers
/// are indicatif's rate estimate (`powf`) and the driver's estimates of costs and counts
/// (`ln`); anything that calls another libm function brings libm.so back, which
/// `tests/cli.rs` checks for.
mod libm_symbols {
    /// `x` to the power `y`, as C's `pow`.
    #[unsafe(no_mangle)]
    extern "C" fn pow(x: f64, y: f64) -> f64 {
        libm::pow(x, y)
    }

    /// The natural logarithm of `x`, as C's `log`.
    #[unsafe(no_mangle)]
    extern "C" fn log(x: f64) -> f64 {
        libm::log(x)
    }
}

/// Count or list the primes and prime k-tuplets in [START, STOP] with a segmented sieve of
/// Eratosthenes.
///
/// START and STOP are integers or expressions such as 1e10, 2^32, 2**32, 1_000_000, 1e12+1e10 or
/// 2^64-1, between 0 and 2^64-1; START defaults to 0. Both ends are included (Python's range(N)
/// stops at N-1: give STOP = N-1 for the same primes). primesieve's options mean what they mean
/// there (-c, -c2..-c6, -p2..-p6, -d, -n, -s, --time, --no-status, --cpu-info, -v).
///
/// Listing and counting together: the listing comes first, then each count asked for (-c, -cK,
/// --twins), a bare number when one is asked for and `Label: N` lines when several (as primesieve
/// does); with -o FILE the count summary goes to stdout as without -p.
#[derive(Parser, Debug)]
#[command(
    name = "erato",
    version,
    about,
    long_about = None,
    disable_version_flag = true,
    after_help = "Numbers: integers or expressions such as 1e10, 2^32, 2**32, 1_000_000, 1e12+1e10, \
    2^64-1, from 0 to 2^64-1. primesieve's options mean what they mean there.\n\n\
    Listing and counting together (-p with -c, -cK or --twins): the listing first, then the counts \
    asked for, a bare number when one and 'Label: N' lines when several, as primesieve prints them; \
    with -o FILE the count summary goes to stdout as without -p. -q prints counts the same way \
    (--twins -q: primes and twins as two bare numbers)."
)]
struct Cli {
    /// START, or STOP if it is the only number (with -n: N, the prime's index).
    #[arg(value_name = "START", value_parser = Number, required_unless_present_any = ["test", "stress_test", "cpu_info", "dist"], allow_negative_numbers = true)]
    first: Option<u64>,
    /// STOP (the last number of the range, included; with -n: START, count primes above it).
    #[arg(value_name = "STOP", value_parser = Number, allow_negative_numbers = true)]
    second: Option<u64>,
    /// Print only the number(s): one count bare, several as "Label: N" lines (as primesieve).
    #[arg(short, long)]
    quiet: bool,
    /// Also count twin-prime pairs (p, p+2) with both in the range (erato's spelling of -c12; with
    /// -q the two counts print as two bare numbers).
    #[arg(long)]
    twins: bool,
    /// Count primes (-c, the default) and/or prime k-tuplets with all members in the range: -c2
    /// twins, -c3 triplets (p, p+2, p+6) and (p, p+4, p+6), -c4 quadruplets, -c5 quintuplets,
    /// -c6 sextuplets; several at once as -c123. K is attached: -c2 or --count=2.
    #[arg(short = 'c', long, value_name = "K", num_args = 0..=1, require_equals = true, default_missing_value = "1", value_parser = Kinds, action = ArgAction::Append)]
    count: Vec<u8>,
    /// Print every prime in the range in increasing order (-p), or the prime k-tuplets (-p2 ..
    /// -p6: "(p, p+2, p+6)" lines, as primesieve prints them). K is attached: -p3 or --print=3.
    #[arg(short, long, value_name = "K", num_args = 0..=1, require_equals = true, default_missing_value = "1", value_parser = Count { min: 1, max: 6 })]
    print: Option<usize>,
    /// Find the N-th prime (erato N -n), or the N-th prime above START (erato N START -n).
    #[arg(short = 'n', long, alias = "nthprime", conflicts_with_all = ["print", "bitmap", "checkpoint", "count", "twins", "dist", "json", "json_file"])]
    nth_prime: bool,
    /// Work on [START, START + DIST] (START is 0 when not given).
    #[arg(short = 'd', long, value_name = "DIST", value_parser = Number, conflicts_with = "second")]
    dist: Option<u64>,
    /// Print the seconds taken ("Seconds: S"); always shown without -q.
    #[arg(long)]
    time: bool,
    /// Also report the gaps between consecutive primes in the range: the largest (its first
    /// occurrence) and the record gaps (each longer than every earlier one in the range); with -q
    /// one line "LENGTH START END".
    #[arg(long, conflicts_with = "nth_prime")]
    gaps: bool,
    /// Print the cache sizes erato detected and the segment sizes it uses, then exit.
    #[arg(long, exclusive = true)]
    cpu_info: bool,
    /// Print the version.
    #[arg(short = 'v', short_alias = 'V', long, action = ArgAction::Version)]
    version: Option<bool>,
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
    /// Sieve segment size in KiB (default: from the work, at most one logical CPU's share of the L2 cache, and 512 KiB).
    #[arg(short = 's', long, visible_alias = "size", value_name = "KIB", value_parser = Count { min: 1, max: 64 << 10 })]
    segment_size: Option<usize>,
    /// Show a progress bar on stderr (default: when stderr is a terminal and the range is longer
    /// than 10^11; never with --quiet).
    #[arg(long, overrides_with = "no_progress")]
    progress: bool,
    /// Never show a progress bar.
    #[arg(long, visible_alias = "no-status")]
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
    /// The counts to show: bit k for k = 1 (primes), 2 (twins), 3..=6 (k-tuplets).
    kinds: u8,
    /// Whether counts were asked for with primesieve's -c (bare only when one is shown with -q).
    primesieve_counts: bool,
    /// Print the seconds with -q too.
    time: bool,
    /// Print the k-tuplets (k >= 2) instead of the primes.
    print_tuplets: Option<(usize, Option<PathBuf>)>,
    /// `-n`: the n-th prime above START.
    nth: Option<(u64, u64)>,
    /// `--gaps`: the largest and record gaps.
    gaps: bool,
}

/// The k-tuplet kinds (bits 3..=6) that need their own pass over the sieve.
const TUPLET_KINDS: u8 = 0b111_1000;

fn settings(cli: Cli) -> Result<Settings, Error> {
    let first = cli.first.unwrap_or_default();
    let (lo, hi) = match (cli.second, cli.dist) {
        (_, Some(dist)) => {
            let start = cli.first.unwrap_or(0);
            let stop = start.checked_add(dist).ok_or_else(|| {
                Error::Usage(format!(
                    "START {start} + --dist {dist} is above the largest supported value {}",
                    driver::expr::MAX_TEXT
                ))
            })?;
            (start, stop)
        }
        (None, None) => (0, first),
        (Some(second), None) => (first, second),
    };
    let nth = cli.nth_prime.then(|| (first, cli.second.unwrap_or(0)));
    // With -n the two numbers are N and START, not a range.
    let (lo, hi) = if nth.is_some() { (0, 0) } else { (lo, hi) };
    if lo > hi {
        return Err(Error::Usage(format!(
            "START {lo} is greater than STOP {hi}"
        )));
    }
    let print_tuplets = cli
        .print
        .filter(|&k| k >= 2)
        .map(|k| (k, cli.output.clone()));
    if print_tuplets.is_some() && (cli.json || cli.json_file.is_some()) {
        return Err(Error::Usage(
            "--json records counts and listings of primes, not printed k-tuplets (-p2 .. -p6)"
                .into(),
        ));
    }
    if print_tuplets.is_some() && !matches!(cli.format, FormatArg::Lines) {
        let name = match cli.format {
            FormatArg::Python => "python",
            FormatArg::Npy => "npy",
            _ => "binary",
        };
        return Err(Error::Usage(format!(
            "--format {name} lists primes (-p), not k-tuplets (-p2 .. -p6)"
        )));
    }
    let asked: u8 = cli.count.iter().fold(0, |all, &k| all | k);
    let mut kinds = asked | if cli.twins { 0b110 } else { 0 };
    let listing_to_stdout = cli.print.is_some() && cli.output.is_none();
    if kinds == 0 && !listing_to_stdout {
        // Primes, as without any option; the k-tuplets printed to a file with -pK.
        kinds = print_tuplets.as_ref().map_or(0b10, |&(k, _)| 1 << k);
    }
    if cli.json && cli.print.is_some() && cli.output.is_none() {
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
        (Some(k), _) if k >= 2 => Mode::Count,
        (Some(_), _) => Mode::List {
            format: match cli.format {
                FormatArg::Lines => Format::Lines,
                FormatArg::Python => Format::Python,
                FormatArg::Npy => Format::Npy,
                FormatArg::Binary => Format::Binary,
            },
            output: cli.output,
        },
        (None, Some(path)) => Mode::Bitmap(path),
        (None, None) => Mode::Count,
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
            twins: kinds & 0b100 != 0,
            mode,
            checkpoint: cli.checkpoint,
            max_memory: cli.max_memory,
        },
        threads: cli.threads,
        segment_kib: cli.segment_size,
        quiet: cli.quiet,
        json: cli.json,
        json_file: cli.json_file,
        progress: progress && nth.is_none() && print_tuplets.is_none(),
        kinds,
        primesieve_counts: asked != 0,
        time: cli.time,
        print_tuplets,
        nth,
        gaps: cli.gaps,
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
        // clap's "to pass '-x' as a value, use '-- -x'": no value erato reads starts with '-'.
        .filter(|l| !l.is_empty() && !l.starts_with("tip: to pass"))
        .collect();
    let message = message.join(" ");
    format!(
        "{} (see erato --help)",
        message.strip_prefix("error: ").unwrap_or(&message)
    )
}

/// The exit status this process has settled on once [`run`] has returned, or -1 before.
///
/// mpirun and srun send SIGTERM to every other rank as soon as one exits with an error; when every
/// rank ends with the same error (rank 0 reporting it), a rank still shutting down MPI gets that
/// signal too. It then exits quietly with the status it had settled on, rather than reporting a
/// stop by SIGTERM beside rank 0's one line.
static SETTLED: AtomicI32 = AtomicI32::new(-1);

/// Installs the handler of SIGINT, SIGTERM and SIGHUP: remove any output still being written and
/// end with 128 + the signal (or, once the run has ended, quietly with its status: [`SETTLED`]).
/// Under a launcher the other ranks then stop too (mpirun and srun end a job when one of its
/// processes exits with an error, and forward a Ctrl-C to every rank).
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
            let settled = SETTLED.load(Ordering::SeqCst);
            if settled >= 0 {
                std::process::exit(settled);
            }
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
    let cli = match Cli::try_parse_from(driver::args::primesieve_spellings(std::env::args_os())) {
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
    if cli.cpu_info {
        return cpu_info().map(|()| 0).map_err(Error::Stdout);
    }
    let settings = settings(cli)?;

    let began = Instant::now();
    let engine = driver::engine::Engine::new(
        threads(settings.threads, rank),
        driver::cache::detect(settings.segment_kib),
    )?;
    if let Some((n, start)) = settings.nth {
        return nth_prime(comm, &engine, &settings, n, start, began);
    }
    let request = &settings.request;
    if let Some((k, output)) = &settings.print_tuplets {
        // Printing k-tuplets is rank 0's alone, on all its threads.
        if rank != 0 {
            return Ok(0);
        }
        return print_tuplets(&engine, &settings, *k, output.as_deref(), began);
    }
    let progress = (settings.progress && rank == 0).then(|| {
        driver::progress::Progress::start(engine.progress(), job::progress_total(request, ranks))
    });
    let tuplet_kinds = settings.kinds & TUPLET_KINDS;
    let summarise = tuplet_kinds != 0 || settings.gaps;
    let gaps = settings.gaps;
    let result = if summarise && matches!(request.mode, Mode::Count) {
        summary::run(comm, &engine, request, tuplet_kinds, gaps)
            .map(|r| r.map(|(report, s)| (report, Some(s))))
    } else {
        job::run(comm, &engine, request).and_then(|report| {
            if !summarise {
                return Ok(report.map(|r| (r, None)));
            }
            // A listing or bitmap that also counts k-tuplets or gaps: a second pass.
            let counted = summary::run(comm, &engine, request, tuplet_kinds, gaps)?;
            Ok(report.zip(counted).map(|(r, (_, s))| (r, Some(s))))
        })
    };
    drop(progress);
    let Some((report, summary)) = result? else {
        return Ok(0); // not rank 0
    };
    let seconds = began.elapsed().as_secs_f64();
    let mut record = Record::new(request, &report, seconds);
    let tuplets = summary.as_ref().map(|s| s.tuplets);
    let gaps = summary.and_then(|s| s.gaps);
    if let Some(t) = &tuplets {
        record.set_tuplets(|k| (settings.kinds >> k & 1 == 1).then(|| t.count(k)));
    }
    if let Some(g) = &gaps {
        record.set_gaps(g);
    }

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
    let listing_to_stdout = matches!(request.mode, Mode::List { output: None, .. });
    let c = report.counts;
    let value = |k: usize| match k {
        1 => c.primes,
        2 => c.twins,
        k => tuplets.map_or(0, |t| t.count(k)),
    };
    let mut out = std::io::stdout().lock();
    let written = if settings.json {
        writeln!(out, "{}", record.to_json())
    } else {
        write_counts(
            &mut out,
            &settings,
            listing_to_stdout,
            &header(&engine, request.hi, ranks),
            value,
            gaps.as_ref(),
            record.seconds.total,
        )
    };
    written.and_then(|()| out.flush()).map_err(Error::Stdout)?;
    Ok(0)
}

/// primesieve's name of count k (1 primes, 2..=6 k-tuplets).
fn label(k: usize) -> &'static str {
    match k {
        1 => "Primes",
        k => sieve_core::tuplets::label(k),
    }
}

/// primesieve's lines before its results when not quiet: the segment size this run sieves with
/// (for STOP `hi`) and the threads (per rank; under MPI, a `Ranks = R` line follows when there
/// are several). primesieve's status line (`0%` .. `100%` on stdout) has no counterpart: erato's
/// progress bar goes to stderr (`--progress`).
fn header(engine: &driver::engine::Engine, hi: u64, ranks: usize) -> String {
    let kib = engine.config().segment_bytes_for(hi) >> 10;
    let mut text = format!("Sieve size = {kib} KiB\nThreads = {}\n", engine.threads());
    if ranks > 1 {
        text.push_str(&format!("Ranks = {ranks}\n"));
    }
    text
}

/// Writes the counts asked for (`value(k)` for each kind k) and the seconds, as primesieve does:
/// after a listing on stdout, or with -q, a bare number when one count is shown and `Label: N`
/// lines when several (erato's --twins -q: two bare numbers), "Seconds: S" first when asked
/// (--time); otherwise, as primesieve, `header` (see [`header`]), the seconds, then `Label: N`
/// lines.
fn write_counts(
    out: &mut dyn Write,
    settings: &Settings,
    after_listing: bool,
    header: &str,
    value: impl Fn(usize) -> u64,
    gaps: Option<&sieve_core::Gaps>,
    seconds: f64,
) -> std::io::Result<()> {
    let kinds: Vec<usize> = (1..=6).filter(|k| settings.kinds >> k & 1 == 1).collect();
    let write_gaps = |out: &mut dyn Write| -> std::io::Result<()> {
        let Some(gaps) = gaps else { return Ok(()) };
        let Some(largest) = gaps.largest() else {
            return match settings.quiet {
                true => writeln!(out, "none"),
                false => writeln!(out, "Largest prime gap: none (fewer than two primes)"),
            };
        };
        if settings.quiet {
            return writeln!(
                out,
                "{} {} {}",
                largest.length,
                largest.start,
                largest.end()
            );
        }
        writeln!(
            out,
            "Largest prime gap: {} ({}, {})",
            largest.length,
            largest.start,
            largest.end()
        )?;
        writeln!(out, "Record prime gaps: {}", gaps.records.len())?;
        for r in &gaps.records {
            writeln!(out, "  {} ({}, {})", r.length, r.start, r.end())?;
        }
        Ok(())
    };
    if after_listing || settings.quiet {
        if settings.time {
            writeln!(out, "Seconds: {seconds:.3}")?;
        }
        let bare = kinds.len() == 1 || (!settings.primesieve_counts && !after_listing);
        for &k in &kinds {
            if bare {
                writeln!(out, "{}", value(k))?;
            } else {
                writeln!(out, "{}: {}", label(k), value(k))?;
            }
        }
        return write_gaps(out);
    }
    out.write_all(header.as_bytes())?;
    writeln!(out, "Seconds: {seconds:.3}")?;
    for &k in &kinds {
        writeln!(out, "{}: {}", label(k), value(k))?;
    }
    write_gaps(out)
}

/// `erato N [START] -n`: the N-th prime above START.
fn nth_prime(
    comm: &dyn Comm,
    engine: &driver::engine::Engine,
    settings: &Settings,
    n: u64,
    start: u64,
    began: Instant,
) -> Result<u8, Error> {
    use driver::query::NthPrimeError;
    let rank = comm.rank();
    let prime = match driver::nth::nth_prime(comm, engine, n, start) {
        Ok(p) => p,
        Err(NthPrimeError::AboveMax) => {
            let above = if start > 0 {
                format!(" above {start}")
            } else {
                String::new()
            };
            return Err(Error::Usage(format!(
                "prime number {n}{above} is above the largest supported value {}",
                driver::expr::MAX_TEXT
            )));
        }
        Err(e) => unreachable!("counting up from START: {e:?}"),
    };
    if rank != 0 {
        return Ok(0);
    }
    let seconds = began.elapsed().as_secs_f64();
    let mut out = std::io::stdout().lock();
    let time = settings.time;
    let written = if settings.quiet {
        (if time {
            writeln!(out, "Seconds: {seconds:.3}")
        } else {
            Ok(())
        })
        .and_then(|()| writeln!(out, "{prime}"))
    } else {
        out.write_all(header(engine, prime, comm.size()).as_bytes())
            .and_then(|()| writeln!(out, "Seconds: {seconds:.3}"))
            .and_then(|()| writeln!(out, "Nth prime: {prime}"))
    };
    written.and_then(|()| out.flush()).map_err(Error::Stdout)?;
    Ok(0)
}

/// `-p2` .. `-p6`: the k-tuplets, to stdout or FILE, then the counts asked for.
fn print_tuplets(
    engine: &driver::engine::Engine,
    settings: &Settings,
    k: usize,
    output: Option<&std::path::Path>,
    began: Instant,
) -> Result<u8, Error> {
    let (lo, hi) = (settings.request.lo, settings.request.hi);
    let never = std::sync::atomic::AtomicBool::new(false);
    let mut sink = match output {
        Some(path) => driver::output::Sink::file(path).map_err(|source| Error::Write {
            path: path.to_owned(),
            source,
        })?,
        None => driver::output::Sink::stdout(),
    };
    let write_error = |source| match output {
        Some(path) => Error::Write {
            path: path.to_owned(),
            source,
        },
        None => Error::Stdout(source),
    };
    let mut buffered = std::io::BufWriter::with_capacity(1 << 16, &mut sink);
    let printed = summary::print_tuplets(engine, lo, hi, k, &mut buffered, &never)
        .and_then(|n| buffered.flush().map(|()| n))
        .map_err(write_error)?;
    drop(buffered);
    sink.commit().map_err(write_error)?;
    let mut counts = None;
    if settings.kinds & !(1 << k) != 0 {
        counts = Some(
            summary::count(engine, lo, hi, settings.kinds & TUPLET_KINDS, false, &never)
                .expect("never cancelled"),
        );
    }
    let value = |kind: usize| match (kind, &counts) {
        (kind, _) if kind == k => printed,
        (1, Some(s)) => s.counts.primes,
        (2, Some(s)) => s.counts.twins,
        (kind, Some(s)) => s.tuplets.count(kind),
        (_, None) => 0,
    };
    let seconds = began.elapsed().as_secs_f64();
    let mut out = std::io::stdout().lock();
    let header = header(engine, hi, 1);
    write_counts(
        &mut out,
        settings,
        output.is_none(),
        &header,
        value,
        None,
        seconds,
    )
    .and_then(|()| out.flush())
    .map_err(Error::Stdout)?;
    Ok(0)
}

/// `--cpu-info`: the caches erato detected and the segment sizes it uses.
fn cpu_info() -> std::io::Result<()> {
    let (l1, l2) = driver::cache::detected();
    let config = driver::cache::detect(None);
    let mut out = std::io::stdout().lock();
    let kib = |cache: Option<driver::cache::Cache>| {
        cache.map_or("unknown".into(), |c| match c.shared_by {
            1 => format!("{} KiB", c.bytes >> 10),
            n => format!("{} KiB (shared by {n} logical CPUs)", c.bytes >> 10),
        })
    };
    writeln!(
        out,
        "Logical CPU cores: {}",
        driver::engine::available_cores()
    )?;
    writeln!(out, "L1 cache size: {}", kib(l1))?;
    writeln!(out, "L2 cache size: {}", kib(l2))?;
    writeln!(
        out,
        "L1 chunk size: {} KiB (small primes are sieved one chunk at a time)",
        config.l1_bytes() >> 10
    )?;
    writeln!(out, "Segment size: 2 sqrt(STOP) bytes to the nearest power of two, from {} KiB to {} KiB (at most one logical CPU's share of the L2 cache, and 512 KiB):", (4 * config.l1_bytes()) >> 10, config.segment_bytes() >> 10)?;
    for (text, stop) in [
        ("1e9", 1_000_000_000u64),
        ("1e10", 10_000_000_000),
        ("1e12", 1_000_000_000_000),
        ("1e15", 1_000_000_000_000_000),
        ("2^64-1", u64::MAX),
    ] {
        writeln!(
            out,
            "  STOP {text}: {} KiB",
            config.segment_bytes_for(stop) >> 10
        )?;
    }
    writeln!(
        out,
        "Threads: {} (default)",
        driver::default_threads().threads
    )?;
    out.flush()
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
        Ok(status) => {
            SETTLED.store(i32::from(status), Ordering::SeqCst);
            ExitCode::from(status)
        }
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
            // Only once the error is out: a signal before then still says why the rank stopped.
            SETTLED.store(i32::from(status), Ordering::SeqCst);
            if ranks > 1 && e.is_local() {
                comm.abort(i32::from(status));
            }
            ExitCode::from(status)
        }
    }
}
