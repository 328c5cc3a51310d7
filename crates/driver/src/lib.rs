//! # driver
//!
//! erato's hybrid engine. [`plan`] cuts `[START, STOP]` into one slice per MPI rank and each slice
//! into chunks; [`engine::Engine`] sieves a slice on a pool of rayon threads, each reusing one
//! [`sieve_core::Sieve`]; the results are reduced across ranks and written by rank 0.
//!
//! ```
//! let engine = driver::engine::Engine::new(2, sieve_core::SieveConfig::default()).unwrap();
//! let primes = sieve_core::SievingPrimes::for_hi(1_000_000);
//! assert_eq!(engine.count(&primes, 0, 1_000_000, true).primes, 78_498);
//! assert_eq!(driver::expr::parse_u64("1e12+1e10"), Ok(1_010_000_000_000));
//! ```

pub mod cache;
pub mod checkpoint;
pub mod comm;
pub mod engine;
pub mod expr;
pub mod job;
pub mod output;
pub mod plan;
pub mod progress;
pub mod query;
pub mod selftest;

/// Threads to use when none are asked for: `SLURM_CPUS_PER_TASK` inside a Slurm job, else the cores
/// this process may run on.
pub fn default_threads() -> usize {
    std::env::var("SLURM_CPUS_PER_TASK")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|&n| n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}
