//! The ranks of a job and the few collective operations erato needs. Without the `mpi` feature there
//! is one rank ([`Single`]); with it, `mpi_comm::Mpi` runs over MPI_COMM_WORLD.
//!
//! Every operation is called by every rank in the same order (they are collectives), and only from
//! the thread that initialised MPI (`Threading::Funneled`): rayon worker threads never call these.

/// A communicator over the ranks of one job.
pub trait Comm {
    /// This process's rank, `0..size()`.
    fn rank(&self) -> usize;
    /// Number of ranks.
    fn size(&self) -> usize;
    /// Gathers `mine` (the same length on every rank) to rank 0, in rank order; `None` elsewhere.
    fn gather(&self, mine: &[u64]) -> Option<Vec<u64>>;
    /// Gathers `mine` (rank `r` sends `counts[r]` words, and every rank knows `counts`) to rank 0, in
    /// rank order; `None` elsewhere. The total must be below 2^31. Takes `mine` by value so that a
    /// single rank hands it over without a copy.
    fn gather_varcount(&self, mine: Vec<u64>, counts: &[usize]) -> Option<Vec<u64>>;
    /// Rank 0's `flag`, on every rank.
    fn broadcast_flag(&self, flag: bool) -> bool;
    /// Overwrites `values` on every rank with rank 0's.
    fn broadcast(&self, values: &mut [u64]);
    /// Ends the whole job at once with `code` (MPI_Abort); for errors on any rank.
    fn abort(&self, code: i32) -> !;
}

/// The only rank of a job without MPI.
pub struct Single;

impl Comm for Single {
    fn rank(&self) -> usize {
        0
    }
    fn size(&self) -> usize {
        1
    }
    fn gather(&self, mine: &[u64]) -> Option<Vec<u64>> {
        Some(mine.to_vec())
    }
    fn gather_varcount(&self, mine: Vec<u64>, counts: &[usize]) -> Option<Vec<u64>> {
        debug_assert_eq!(counts, [mine.len()]);
        Some(mine)
    }
    fn broadcast_flag(&self, flag: bool) -> bool {
        flag
    }
    fn broadcast(&self, _values: &mut [u64]) {}
    fn abort(&self, code: i32) -> ! {
        std::process::exit(code)
    }
}

/// Environment variables that launchers set to the number of processes they started: mpirun
/// (OpenMPI), PMI launchers (MPICH's hydra), and srun, whose step tasks see SLURM_STEP_NUM_TASKS
/// (unlike SLURM_NTASKS it is absent from the batch script itself, where erato is one process).
const LAUNCHER_SIZE_VARS: [&str; 5] = [
    "OMPI_COMM_WORLD_SIZE",
    "PMI_SIZE",
    "PMIX_SIZE",
    "SLURM_STEP_NUM_TASKS",
    "MPI_LOCALNRANKS",
];

/// Environment variables that MPI launchers set to each process's rank.
const LAUNCHER_RANK_VARS: [&str; 4] = [
    "OMPI_COMM_WORLD_RANK",
    "PMI_RANK",
    "PMIX_RANK",
    "SLURM_PROCID",
];

/// This process's rank according to its launcher, if it was started by one.
pub fn launcher_rank() -> Option<usize> {
    LAUNCHER_RANK_VARS
        .iter()
        .find_map(|v| std::env::var(v).ok()?.trim().parse().ok())
}

/// The number of processes a launcher (mpirun, srun) says it started, if any.
pub fn launcher_size() -> Option<usize> {
    LAUNCHER_SIZE_VARS
        .iter()
        .find_map(|v| std::env::var(v).ok()?.trim().parse().ok())
}

/// Why this process cannot join (or be) a job.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LaunchError {
    /// `MPI_Init_thread` failed or cannot give `Threading::Funneled`.
    #[error("MPI could not be initialised with Threading::Funneled")]
    MpiInit,
    /// A launcher started several copies, each of which sees a world of one: the binary is linked
    /// to another MPI library than the launcher's, and every copy would print its own answer.
    #[error("the launcher started {launched} processes but MPI reports a world of 1: erato is linked against a different MPI library than the launcher (check `mpirun --version` and rebuild)")]
    ForeignMpi {
        /// Processes the launcher says it started.
        launched: usize,
    },
    /// A build without MPI started as several copies by mpirun or srun: each would do the whole
    /// job and print it.
    #[error("this erato was built without MPI support, but a launcher started {launched} copies of it; rebuild with `cargo build --release --features mpi`, or run one copy")]
    NoMpi {
        /// Copies the launcher says it started.
        launched: usize,
    },
}

/// The launcher policy: whether a process that a launcher says is one of `launched` (`None`: no
/// launcher) may run with a communicator of `world` ranks, in a build with or without MPI.
pub fn check_launch(
    launched: Option<usize>,
    world: usize,
    mpi_build: bool,
) -> Result<(), LaunchError> {
    match launched {
        Some(n) if n > 1 && !mpi_build => Err(LaunchError::NoMpi { launched: n }),
        Some(n) if n > 1 && world == 1 => Err(LaunchError::ForeignMpi { launched: n }),
        _ => Ok(()),
    }
}

/// The communicator of this process: MPI_COMM_WORLD in a build with the `mpi` feature, else
/// [`Single`]; refused by [`check_launch`] when the launcher and the build disagree. Only the
/// launcher's rank 0 ([`launcher_rank`]) should report the error: every copy gets it.
pub fn connect() -> Result<Box<dyn Comm>, LaunchError> {
    #[cfg(feature = "mpi")]
    {
        let mpi = mpi_comm::Mpi::init().ok_or(LaunchError::MpiInit)?;
        check_launch(launcher_size(), mpi.size(), true)?;
        Ok(Box::new(mpi))
    }
    #[cfg(not(feature = "mpi"))]
    {
        check_launch(launcher_size(), 1, false)?;
        Ok(Box::new(Single))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn launcher_policy() {
        // No launcher, or a launcher of one: always runs.
        for mpi in [false, true] {
            assert_eq!(check_launch(None, 1, mpi), Ok(()));
            assert_eq!(check_launch(Some(1), 1, mpi), Ok(()));
        }
        assert_eq!(
            check_launch(Some(3), 1, false),
            Err(LaunchError::NoMpi { launched: 3 })
        );
        assert_eq!(check_launch(Some(3), 3, true), Ok(()));
        assert_eq!(
            check_launch(Some(3), 1, true),
            Err(LaunchError::ForeignMpi { launched: 3 })
        );
    }
}

#[cfg(feature = "mpi")]
pub mod mpi_comm {
    //! [`super::Comm`] over MPI_COMM_WORLD (rsmpi).

    use mpi::datatype::PartitionMut;
    use mpi::environment::Universe;
    use mpi::topology::SimpleCommunicator;
    use mpi::traits::*;
    use mpi::Count;

    /// MPI_COMM_WORLD of an initialised MPI library; finalised on drop.
    pub struct Mpi {
        _universe: Universe,
        world: SimpleCommunicator,
    }

    impl Mpi {
        /// Initialises MPI with `Threading::Funneled` (only this thread calls MPI), or `None` if MPI
        /// was already initialised or the library cannot give that level.
        pub fn init() -> Option<Self> {
            let (universe, level) = mpi::initialize_with_threading(mpi::Threading::Funneled)?;
            if level < mpi::Threading::Funneled {
                return None;
            }
            let world = universe.world();
            Some(Self {
                _universe: universe,
                world,
            })
        }
    }

    impl super::Comm for Mpi {
        fn rank(&self) -> usize {
            self.world.rank() as usize
        }
        fn size(&self) -> usize {
            self.world.size() as usize
        }
        fn gather(&self, mine: &[u64]) -> Option<Vec<u64>> {
            let root = self.world.process_at_rank(0);
            if self.rank() == 0 {
                let mut all = vec![0u64; mine.len() * self.size()];
                root.gather_into_root(mine, &mut all[..]);
                Some(all)
            } else {
                root.gather_into(mine);
                None
            }
        }
        fn gather_varcount(&self, mine: Vec<u64>, counts: &[usize]) -> Option<Vec<u64>> {
            let root = self.world.process_at_rank(0);
            if self.rank() == 0 {
                let total: usize = counts.iter().sum();
                assert!(
                    total < i32::MAX as usize,
                    "one Gatherv carries fewer than 2^31 elements"
                );
                let counts: Vec<Count> = counts.iter().map(|&c| c as Count).collect();
                let displs: Vec<Count> = counts
                    .iter()
                    .scan(0, |acc, &c| {
                        let at = *acc;
                        *acc += c;
                        Some(at)
                    })
                    .collect();
                let mut all = vec![0u64; total];
                let mut partition = PartitionMut::new(&mut all[..], counts, &displs[..]);
                root.gather_varcount_into_root(&mine[..], &mut partition);
                Some(all)
            } else {
                root.gather_varcount_into(&mine[..]);
                None
            }
        }
        fn broadcast_flag(&self, flag: bool) -> bool {
            let mut value = u8::from(flag);
            self.world.process_at_rank(0).broadcast_into(&mut value);
            value != 0
        }
        fn broadcast(&self, values: &mut [u64]) {
            self.world.process_at_rank(0).broadcast_into(values);
        }
        fn abort(&self, code: i32) -> ! {
            self.world.abort(code)
        }
    }
}
