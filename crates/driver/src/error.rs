//! Everything that can stop a run, and the exit status each ends erato with.
//!
//! | status | meaning | errors |
//! |---|---|---|
//! | 0 | success; a closed output pipe (`erato 1e10 -p \| head`) too | [`Error::is_quiet`] ones |
//! | 1 | a failure while running | I/O, threads the system refused, a signal handler that could not be set |
//! | 2 | bad input: an argument, a checkpoint, a thread count, a launcher that does not fit the build | [`Error::Usage`], [`EngineError::NoThreads`] and `TooManyThreads`, [`JobError::MemoryTooSmall`], [`JobError::NeedsFile`], an unusable checkpoint, [`LaunchError::NoMpi`] and `ForeignMpi` |
//!
//! Signals end erato with 128 + the signal, outside this table (see `src/main.rs`).

use std::io;
use std::path::PathBuf;

use crate::checkpoint::CheckpointError;
use crate::comm::LaunchError;
use crate::engine::EngineError;
use crate::job::JobError;

/// Exit status of a run that failed while running.
pub const FAILURE: u8 = 1;
/// Exit status of a run refused for bad input.
pub const USAGE: u8 = 2;

/// Why erato stopped.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A bad argument (the message names it and says what is allowed).
    #[error("{0}")]
    Usage(String),
    /// This process cannot join or be a job.
    #[error(transparent)]
    Launch(#[from] LaunchError),
    /// The engine's threads could not be started.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// The run itself failed.
    #[error(transparent)]
    Job(#[from] JobError),
    /// The result could not be written.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// The result could not be written to stdout.
    #[error("cannot write the result: {0}")]
    Stdout(io::Error),
    /// The signal handlers could not be installed.
    #[error("cannot handle signals: {0}")]
    Signals(io::Error),
}

impl Error {
    /// The exit status erato ends with (see the module docs).
    pub fn exit_status(&self) -> u8 {
        if self.is_quiet() && !matches!(self, Error::Job(JobError::CheckpointRefusedByRank0)) {
            return 0;
        }
        match self {
            Error::Usage(_)
            | Error::Launch(LaunchError::NoMpi { .. } | LaunchError::ForeignMpi { .. }) => USAGE,
            Error::Launch(LaunchError::MpiInit) => FAILURE,
            Error::Engine(EngineError::NoThreads | EngineError::TooManyThreads { .. }) => USAGE,
            Error::Engine(EngineError::Pool { .. }) => FAILURE,
            Error::Job(
                JobError::MemoryTooSmall { .. }
                | JobError::NeedsFile(_)
                | JobError::CheckpointRefusedByRank0
                | JobError::Checkpoint(CheckpointError::Corrupt(..) | CheckpointError::Mismatch(..)),
            ) => USAGE,
            Error::Job(JobError::Io(_) | JobError::Checkpoint(CheckpointError::Io(..))) => FAILURE,
            Error::Write { .. } | Error::Stdout(_) | Error::Signals(_) => FAILURE,
        }
    }

    /// Errors that need no message: a closed pipe (the reader took what it wanted), and a
    /// checkpoint that rank 0 refused (rank 0 says why).
    pub fn is_quiet(&self) -> bool {
        match self {
            Error::Job(JobError::Io(e)) | Error::Write { source: e, .. } | Error::Stdout(e) => {
                e.kind() == io::ErrorKind::BrokenPipe
            }
            Error::Job(JobError::CheckpointRefusedByRank0) => true,
            _ => false,
        }
    }

    /// Errors that one rank may meet alone (its own threads, its own I/O), as opposed to those that
    /// every rank reaches from the same arguments. Each rank reports its own, and the job is then
    /// aborted so that the other ranks do not wait for it in a collective.
    pub fn is_local(&self) -> bool {
        matches!(
            self,
            Error::Engine(_)
                | Error::Signals(_)
                | Error::Job(JobError::Io(_) | JobError::Checkpoint(CheckpointError::Io(..)))
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_status_table() {
        let pipe = || io::Error::from(io::ErrorKind::BrokenPipe);
        let full = || io::Error::other("No space left on device");
        let path = || PathBuf::from("f");
        let cases: Vec<(Error, u8)> = vec![
            (
                Error::Usage("START 10 is greater than STOP 5".into()),
                USAGE,
            ),
            (
                LaunchError::NoMpi {
                    launched: 3,
                    message: String::new(),
                }
                .into(),
                USAGE,
            ),
            (
                LaunchError::ForeignMpi {
                    launched: 3,
                    message: String::new(),
                }
                .into(),
                USAGE,
            ),
            (LaunchError::MpiInit.into(), FAILURE),
            (EngineError::NoThreads.into(), USAGE),
            (
                EngineError::TooManyThreads {
                    threads: 9,
                    max: 8,
                    cores: 2,
                }
                .into(),
                USAGE,
            ),
            (JobError::MemoryTooSmall { minimum: 24 }.into(), USAGE),
            (JobError::CheckpointRefusedByRank0.into(), USAGE),
            (
                JobError::Checkpoint(CheckpointError::Corrupt(path(), "x".into())).into(),
                USAGE,
            ),
            (
                JobError::Checkpoint(CheckpointError::Mismatch(path(), "x".into())).into(),
                USAGE,
            ),
            (
                JobError::Checkpoint(CheckpointError::Io(path(), full())).into(),
                FAILURE,
            ),
            (JobError::Io(full()).into(), FAILURE),
            (JobError::Io(pipe()).into(), 0),
            (
                Error::Write {
                    path: path(),
                    source: full(),
                },
                FAILURE,
            ),
            (
                Error::Write {
                    path: path(),
                    source: pipe(),
                },
                0,
            ),
            (Error::Stdout(full()), FAILURE),
            (Error::Stdout(pipe()), 0),
            (Error::Signals(full()), FAILURE),
        ];
        for (error, status) in cases {
            assert_eq!(error.exit_status(), status, "{error:?}");
            // Every error is a std::error::Error with a one-line message.
            let e: &dyn std::error::Error = &error;
            assert!(!e.to_string().contains('\n'), "{e}");
        }
        assert!(Error::from(JobError::Io(pipe())).is_quiet());
        assert!(!Error::from(JobError::Io(full())).is_quiet());
        assert!(Error::from(EngineError::NoThreads).is_local());
        assert!(!Error::Usage(String::new()).is_local());
    }
}
