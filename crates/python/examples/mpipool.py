"""The seed's MPIpool.py on erato: the primes below N, printed as the seed prints them.

    mpirun -n 3 python crates/python/examples/mpipool.py 1e8
    srun python crates/python/examples/mpipool.py 1e8        # inside sbatch

Rank 0 cuts [0, N) into one subrange per rank and scatters them; every rank (rank 0 too) lists the
primes of its subrange with erato on all the cores it was given (SLURM_CPUS_PER_TASK under
Slurm), and rank 0 gathers the arrays with one Gatherv and prints
``textwrap.fill(str(primes), 80)``: byte for byte the seed's output for the same N.

Unlike the seed, no rank waits as a manager and no subrange is sent as a pickled task: each rank
sieves one contiguous share with threads, and only the primes travel (8 bytes each, as uint64).
"""

import sys
import textwrap

import numpy as np
from mpi4py import MPI

import erato


def read_n(text):
    """N from the command line: an integer, or a float that holds one (1e8)."""
    try:
        return int(text)
    except ValueError:
        value = float(text)
        if not value.is_integer() or value < 0:
            sys.exit(f"mpipool.py: N {text!r} must be a whole number >= 0")
        return int(value)


def determine_subranges(fullrange, num_subranges):
    """Cut the half-open fullrange into num_subranges contiguous half-open pieces (some may be
    empty), one per rank."""
    low, high = fullrange
    cuts = [low + (high - low) * i // num_subranges for i in range(num_subranges + 1)]
    return list(zip(cuts[:-1], cuts[1:]))


def calc_primes(range_tuple):
    """All the primes in the half-open range [low, high), as a uint64 array."""
    low, high = range_tuple
    if low >= high:
        return np.empty(0, dtype=np.uint64)
    return erato.primes(low, high - 1)


def main():
    comm = MPI.COMM_WORLD
    rank, size = comm.Get_rank(), comm.Get_size()
    n = read_n(sys.argv[1]) if len(sys.argv) > 1 else 100_000_000  # the seed's fullrange

    subranges = determine_subranges((0, n), size) if rank == 0 else None
    mine = calc_primes(comm.scatter(subranges, root=0))

    counts = comm.gather(len(mine), root=0)
    primes = np.empty(sum(counts), dtype=np.uint64) if rank == 0 else None
    comm.Gatherv(mine, (primes, counts) if rank == 0 else None, root=0)

    if rank == 0:
        # The seed prints a Python list: str of the list, not of the array.
        print(textwrap.fill(str(primes.tolist()), 80))


if __name__ == "__main__":
    main()
