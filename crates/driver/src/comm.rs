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

/// The launcher families erato recognises, in the order they are tried, each with the variable it
/// sets to the number of processes it started and the one it sets to each process's rank.
///
/// The order matters where launchers nest: mpirun and Hydra's mpiexec inside a Slurm allocation start
/// their daemons with srun, so their ranks also see srun's variables (SLURM_STEP_NUM_TASKS is then
/// the number of nodes), and a launcher's own variables must win. srun sets SLURM_STEP_NUM_TASKS in
/// a step's tasks only: unlike SLURM_NTASKS it is absent from the batch script itself, where erato
/// is one process.
const FAMILIES: [(Family, &str, &str); 6] = [
    // Open MPI's mpirun (and its PRRTE successor, which keeps these names).
    (
        Family::OpenMpi,
        "OMPI_COMM_WORLD_SIZE",
        "OMPI_COMM_WORLD_RANK",
    ),
    // MVAPICH's mpirun_rsh.
    (
        Family::Mvapich,
        "MV2_COMM_WORLD_SIZE",
        "MV2_COMM_WORLD_RANK",
    ),
    // PMI-1 and PMI-2 servers: Hydra's mpiexec (MPICH, Intel MPI, MVAPICH) and srun --mpi=pmi2,
    // which also set PMI_FD (or PMI_PORT) for the client in the MPI library to connect to.
    (Family::Pmi, "PMI_SIZE", "PMI_RANK"),
    (Family::Pmix, "PMIX_SIZE", "PMIX_RANK"),
    // srun with any MPI plugin (pmix, none, cray_shasta): its own variables.
    (Family::Srun, "SLURM_STEP_NUM_TASKS", "SLURM_PROCID"),
    // Hydra's per-node variables: the processes on this node, and this one's index among them.
    (Family::Hydra, "MPI_LOCALNRANKS", "MPI_LOCALRANKID"),
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Family {
    OpenMpi,
    Mvapich,
    Pmi,
    Pmix,
    Srun,
    Hydra,
}

/// What started this process, as told by the variables launchers put in each process's environment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Launcher {
    /// The launcher in words: `Open MPI's mpirun`, `Hydra's mpiexec (MPICH, Intel MPI)`,
    /// `srun --mpi=pmi2`, ...
    pub name: String,
    /// The variable that gave the number of processes, e.g. `PMI_SIZE`.
    pub size_var: &'static str,
    /// The number of processes it started.
    pub size: usize,
    /// This process's rank among them, when the launcher says.
    pub rank: Option<usize>,
    family: Family,
}

impl Launcher {
    /// The launcher of this process, if a launcher started it.
    pub fn detect() -> Option<Self> {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// [`Launcher::detect`] over any source of environment variables.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Option<Self> {
        let number = |name: &str| var(name)?.trim().parse::<usize>().ok();
        let (family, size_var, rank_var) = FAMILIES
            .iter()
            .copied()
            .find(|&(_, size_var, _)| number(size_var).is_some())?;
        let slurm_plugin = var("SLURM_MPI_TYPE");
        // Hydra sets MPI_LOCALNRANKS and its proxy's control descriptor; srun sets neither.
        let hydra = var("MPI_LOCALNRANKS").is_some() || var("HYDI_CONTROL_FD").is_some();
        let name = match family {
            Family::OpenMpi => "Open MPI's mpirun".to_string(),
            Family::Mvapich => "MVAPICH's mpirun_rsh".to_string(),
            Family::Pmi | Family::Pmix | Family::Srun if !hydra && slurm_plugin.is_some() => {
                format!("srun --mpi={}", slurm_plugin.unwrap_or_default())
            }
            Family::Pmi | Family::Hydra if hydra => {
                "Hydra's mpiexec (MPICH, Intel MPI, MVAPICH)".to_string()
            }
            Family::Pmi => "a PMI launcher".to_string(),
            Family::Pmix => "a PMIx launcher".to_string(),
            Family::Srun => "srun (without an MPI plugin)".to_string(),
            Family::Hydra => "Hydra's mpiexec".to_string(),
        };
        Some(Self {
            name,
            size_var,
            size: number(size_var)?,
            rank: number(rank_var),
            family,
        })
    }

    /// The error for a build without MPI that this launcher started as several copies.
    pub fn without_mpi(&self) -> String {
        format!(
            "this erato was built without MPI support, but {} started {} copies of it ({}={}); rebuild with `cargo build --release --features mpi`, or run one copy",
            self.name, self.size, self.size_var, self.size
        )
    }

    /// The error for an MPI build linked to `library` (its MPI_Get_library_version, first line)
    /// that sees a world of one where this launcher started several processes: each copy would
    /// otherwise compute and print the whole answer alone.
    pub fn world_of_one(&self, library: &str) -> String {
        let remedy = match self.family {
            // srun starts any MPI: what must match the library is the PMI plugin.
            _ if self.name.starts_with("srun") => {
                "srun's MPI plugin must be one the library speaks: --mpi=pmix for Open MPI, --mpi=pmi2 for MPICH, Intel MPI and MVAPICH (srun --mpi=list shows this site's)"
            }
            Family::OpenMpi => {
                "start it with the mpiexec of the library it is linked against, or rebuild erato against Open MPI (a fresh target directory, MPICC pointing at Open MPI's mpicc)"
            }
            _ => {
                "start it with the launcher of the library it is linked against (mpirun for Open MPI), or rebuild erato against the launcher's MPI (a fresh target directory, MPICC pointing at its mpicc)"
            }
        };
        format!(
            "{} started {} processes ({}={}), but erato's MPI library ({library}) sees a world of 1: erato is linked against another MPI than the launcher's; {remedy}",
            self.name, self.size, self.size_var, self.size
        )
    }
}

/// This process's rank according to its launcher, if it was started by one (any launcher's rank
/// variable, even without its size: only used to let one copy speak).
pub fn launcher_rank() -> Option<usize> {
    FAMILIES
        .iter()
        .find_map(|(_, _, v)| std::env::var(v).ok()?.trim().parse().ok())
}

/// Why this process cannot join (or be) a job.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LaunchError {
    /// `MPI_Init_thread` failed or cannot give `Threading::Funneled`.
    #[error("MPI could not be initialised with Threading::Funneled")]
    MpiInit,
    /// A launcher started several copies, each of which sees a world of one: the binary is linked
    /// to another MPI library than the launcher's, and every copy would print its own answer.
    /// The message ([`Launcher::world_of_one`]) names the launcher, the library and the remedy.
    #[error("{message}")]
    ForeignMpi {
        /// Processes the launcher says it started.
        launched: usize,
        /// The whole message.
        message: String,
    },
    /// A build without MPI started as several copies by mpirun, mpiexec or srun: each would do
    /// the whole job and print it ([`Launcher::without_mpi`]).
    #[error("{message}")]
    NoMpi {
        /// Copies the launcher says it started.
        launched: usize,
        /// The whole message.
        message: String,
    },
}

/// The launcher policy: whether a process that `launcher` started (`None`: no launcher) may run
/// with a communicator of `world` ranks, in a build with or without MPI; `library` names the
/// linked MPI library for the message.
pub fn check_launch(
    launcher: Option<&Launcher>,
    world: usize,
    mpi_build: bool,
    library: impl FnOnce() -> String,
) -> Result<(), LaunchError> {
    match launcher {
        Some(l) if l.size > 1 && !mpi_build => Err(LaunchError::NoMpi {
            launched: l.size,
            message: l.without_mpi(),
        }),
        Some(l) if l.size > 1 && world == 1 => Err(LaunchError::ForeignMpi {
            launched: l.size,
            message: l.world_of_one(&library()),
        }),
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
        check_launch(
            Launcher::detect().as_ref(),
            mpi.size(),
            true,
            mpi_comm::library_version,
        )?;
        Ok(Box::new(mpi))
    }
    #[cfg(not(feature = "mpi"))]
    {
        check_launch(Launcher::detect().as_ref(), 1, false, String::new)?;
        Ok(Box::new(Single))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn launcher_policy() {
        let started = |n: &str| {
            let vars = [("PMI_SIZE", n.to_string()), ("PMI_RANK", "0".to_string())];
            Launcher::from_vars(|name| vars.iter().find(|v| v.0 == name).map(|v| v.1.clone()))
                .expect("a PMI launcher")
        };
        let library = || "Open MPI v4.1.4".to_string();
        // No launcher, or a launcher of one: always runs.
        for mpi in [false, true] {
            assert_eq!(check_launch(None, 1, mpi, library), Ok(()));
            assert_eq!(check_launch(Some(&started("1")), 1, mpi, library), Ok(()));
        }
        let three = started("3");
        assert!(matches!(
            check_launch(Some(&three), 1, false, library),
            Err(LaunchError::NoMpi { launched: 3, ref message }) if message.contains("without MPI")
        ));
        assert_eq!(check_launch(Some(&three), 3, true, library), Ok(()));
        assert!(matches!(
            check_launch(Some(&three), 1, true, library),
            Err(LaunchError::ForeignMpi { launched: 3, ref message })
                if message.contains("Open MPI v4.1.4") && message.contains("world of 1")
        ));
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

    /// The MPI library erato is linked against, in one short line: the first line of
    /// MPI_Get_library_version up to its first comma (`MPICH Version: 4.0.2`, `Open MPI v4.1.4`).
    pub fn library_version() -> String {
        let full = mpi::environment::library_version().unwrap_or_default();
        let first = full
            .lines()
            .next()
            .unwrap_or("")
            .split(',')
            .next()
            .unwrap_or("");
        let words: Vec<&str> = first.split_whitespace().collect();
        if words.is_empty() {
            "unknown".to_string()
        } else {
            words.join(" ")
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

#[cfg(test)]
mod launcher_tests {
    use super::Launcher;

    fn launcher(vars: &[(&str, &str)]) -> Option<Launcher> {
        Launcher::from_vars(|name| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.to_string())
        })
    }

    #[test]
    fn each_launcher_is_named_with_its_size_and_rank() {
        // What each launcher was seen to set (Open MPI 4.1.4, MPICH 4.0.2's Hydra, Slurm 22.05).
        // (variables set, launcher named, processes, rank)
        type Case<'a> = (&'a [(&'a str, &'a str)], &'a str, usize, Option<usize>);
        let cases: [Case; 6] = [
            (
                &[
                    ("OMPI_COMM_WORLD_SIZE", "3"),
                    ("OMPI_COMM_WORLD_RANK", "2"),
                    ("PMIX_RANK", "2"),
                ],
                "Open MPI's mpirun",
                3,
                Some(2),
            ),
            (
                &[
                    ("PMI_SIZE", "3"),
                    ("PMI_RANK", "1"),
                    ("PMI_FD", "6"),
                    ("MPI_LOCALNRANKS", "3"),
                    ("MPI_LOCALRANKID", "1"),
                    ("HYDI_CONTROL_FD", "7"),
                ],
                "Hydra's mpiexec (MPICH, Intel MPI, MVAPICH)",
                3,
                Some(1),
            ),
            (
                &[
                    ("PMI_SIZE", "2"),
                    ("PMI_RANK", "0"),
                    ("PMI_FD", "11"),
                    ("SLURM_MPI_TYPE", "pmi2"),
                    ("SLURM_STEP_NUM_TASKS", "2"),
                    ("SLURM_PROCID", "0"),
                ],
                "srun --mpi=pmi2",
                2,
                Some(0),
            ),
            (
                &[
                    ("PMIX_RANK", "1"),
                    ("SLURM_MPI_TYPE", "pmix"),
                    ("SLURM_STEP_NUM_TASKS", "2"),
                    ("SLURM_PROCID", "1"),
                ],
                "srun --mpi=pmix",
                2,
                Some(1),
            ),
            (
                &[("SLURM_STEP_NUM_TASKS", "2"), ("SLURM_PROCID", "1")],
                "srun (without an MPI plugin)",
                2,
                Some(1),
            ),
            (
                &[("MV2_COMM_WORLD_SIZE", "4"), ("MV2_COMM_WORLD_RANK", "3")],
                "MVAPICH's mpirun_rsh",
                4,
                Some(3),
            ),
        ];
        for (vars, name, size, rank) in cases {
            let l = launcher(vars).expect("a launcher");
            assert_eq!(
                (l.name.as_str(), l.size, l.rank),
                (name, size, rank),
                "{vars:?}"
            );
        }
    }

    #[test]
    fn a_launcher_inside_an_allocation_wins_over_srun() {
        // Hydra started by a batch script: its proxies were started by srun, one per node.
        let l = launcher(&[
            ("SLURM_STEP_NUM_TASKS", "2"),
            ("SLURM_PROCID", "0"),
            ("PMI_SIZE", "128"),
            ("PMI_RANK", "65"),
            ("MPI_LOCALNRANKS", "64"),
        ])
        .unwrap();
        assert_eq!((l.size, l.rank), (128, Some(65)));
        assert!(l.name.starts_with("Hydra"));
    }

    #[test]
    fn no_launcher_in_a_batch_script_or_alone() {
        assert_eq!(launcher(&[]), None);
        assert_eq!(
            launcher(&[("SLURM_NTASKS", "2"), ("SLURM_PROCID", "0")]),
            None
        );
    }

    #[test]
    fn the_advice_for_srun_names_the_plugins() {
        let l = launcher(&[("SLURM_MPI_TYPE", "pmix"), ("SLURM_STEP_NUM_TASKS", "2")]).unwrap();
        let message = l.world_of_one("MPICH Version: 4.0.2");
        assert!(
            message.starts_with("srun --mpi=pmix started 2 processes"),
            "{message}"
        );
        assert!(message.contains("--mpi=pmi2 for MPICH"), "{message}");
        assert!(!message.contains('\n'));
    }
}
