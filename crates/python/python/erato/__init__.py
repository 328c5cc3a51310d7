"""erato: primes from a segmented sieve of Eratosthenes, on every core, as NumPy arrays.

The names follow primesieve's Python module, so switching is one import::

    import erato
    erato.primes(100)                 # array([ 2,  3,  5, ..., 97], dtype=uint64)
    erato.primes(10**9, 10**9 + 100)  # both ends included
    erato.count_primes(1e10)          # 455052511
    erato.count_twins(1e6)            # 8169
    erato.count_triplets(1e6)         # 2837; count_quadruplets, count_quintuplets and
    erato.count_sextuplets(1e6)       # 5;    count_sextuplets as in primesieve
    erato.nth_prime(10**6)            # 15485863
    for chunk in erato.iter_primes(0, 10**12):   # arrays of 2**27 numbers' primes each
        ...

Every bound is a whole number from 0 to 2**64 - 1 (an int, a whole float such as 1e9, or a
string such as "2^64-1"); ranges include both ends. Every call takes ``threads=`` (default:
``SLURM_CPUS_PER_TASK``, else all cores this process may use), releases the GIL while it sieves
and stops on Ctrl-C. The module uses no MPI: in an mpi4py program, call it on each rank
(see examples/mpipool.py).
"""

from ._erato import (
    ArgumentTypeError,
    DEFAULT_CHUNK_SIZE,
    MAX_STOP,
    count_primes,
    count_quadruplets,
    count_quintuplets,
    count_sextuplets,
    count_triplets,
    count_twins,
    default_threads,
    iter_primes,
    nth_prime,
    primes,
)
from ._erato import PrimeIterator

import numpy as _np

__all__ = [
    "ArgumentTypeError",
    "DEFAULT_CHUNK_SIZE",
    "MAX_STOP",
    "PrimeIterator",
    "count_primes",
    "count_quadruplets",
    "count_quintuplets",
    "count_sextuplets",
    "count_triplets",
    "count_twins",
    "default_threads",
    "iter_primes",
    "n_primes",
    "nth_prime",
    "primes",
]


def n_primes(n, start=0, *, threads=None):
    """The first n primes at or above start, as a 1-D uint64 NumPy array of shape (n,).

    As primesieve's ``n_primes``. Raises ValueError when fewer than n primes lie between start
    and 2**64 - 1, and the errors of ``primes`` for start.
    """
    if not isinstance(n, int) and hasattr(n, "__index__"):
        n = n.__index__()
    if not isinstance(n, int) or isinstance(n, bool):
        raise ArgumentTypeError(f"n must be an integer, not {type(n).__name__}")
    if n < 0:
        raise ValueError(f"n {n} is negative")
    if n == 0:
        primes(start, start, threads=threads)  # the same checks of start
        return _np.empty(0, dtype=_np.uint64)
    first = nth_prime(0, start, threads=threads)
    last = first if n == 1 else nth_prime(n - 1, first, threads=threads)
    return primes(first, last, threads=threads)
