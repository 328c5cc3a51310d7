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

pub mod args;
pub mod cache;
pub mod checkpoint;
pub mod comm;
pub mod engine;
pub mod error;
pub mod expr;
pub mod format;
pub mod job;
pub mod nth;
pub mod output;
pub mod plan;
pub mod progress;
pub mod query;
pub mod record;
pub mod selftest;
pub mod summary;

/// The threads a run uses when none are asked for, and a note for stderr when that is not what the
/// environment said.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DefaultThreads {
    /// Threads per rank.
    pub threads: usize,
    /// Why `threads` differs from `SLURM_CPUS_PER_TASK`, when it does.
    pub note: Option<String>,
}

/// Threads to use when none are asked for: `SLURM_CPUS_PER_TASK` inside a Slurm job, else the cores
/// this process may run on; never more than [`engine::max_threads`] (a larger
/// `SLURM_CPUS_PER_TASK` is capped, and the note says so).
pub fn default_threads() -> DefaultThreads {
    threads_from(
        std::env::var("SLURM_CPUS_PER_TASK").ok().as_deref(),
        engine::available_cores(),
    )
}

fn threads_from(slurm: Option<&str>, cores: usize) -> DefaultThreads {
    let max = engine::THREADS_PER_CORE * cores;
    let Some(text) = slurm else {
        return DefaultThreads {
            threads: cores,
            note: None,
        };
    };
    match text.trim().parse::<usize>() {
        Ok(n) if (1..=max).contains(&n) => DefaultThreads {
            threads: n,
            note: None,
        },
        Ok(n) if n > max => DefaultThreads {
            threads: max,
            note: Some(format!(
                "SLURM_CPUS_PER_TASK={n} is more than {} threads per core for the {cores} cores this process may use; using {max} threads",
                engine::THREADS_PER_CORE
            )),
        },
        _ => DefaultThreads {
            threads: cores,
            note: Some(format!(
                "SLURM_CPUS_PER_TASK={text:?} is not a positive number; using the {cores} cores this process may use"
            )),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_threads_follow_slurm_within_the_cap() {
        let t = |slurm, cores| threads_from(slurm, cores);
        assert_eq!(t(None, 2).threads, 2);
        assert_eq!(
            t(Some("3"), 2),
            DefaultThreads {
                threads: 3,
                note: None
            }
        );
        assert_eq!(t(Some("8"), 2).threads, 8);
        let capped = t(Some("1000000"), 2);
        assert_eq!(capped.threads, 8);
        assert!(capped.note.unwrap().contains("using 8 threads"));
        for bad in ["0", "", "many", "-3"] {
            let d = t(Some(bad), 2);
            assert_eq!(d.threads, 2, "{bad:?}");
            assert!(d.note.is_some(), "{bad:?}");
        }
    }
}
