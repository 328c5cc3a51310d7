"""Type stubs for erato. Bounds are whole numbers in [0, 2**64 - 1]; ranges include both ends."""

from typing import Iterator, Optional, SupportsIndex, Union

import numpy as np
import numpy.typing as npt

#: A bound: an int (or NumPy integer), a float holding a whole number (1e9), or a string in the
#: command line's syntax ("1e10", "2^64-1").
Bound = Union[SupportsIndex, float, str]

#: 2**64 - 1, the largest bound.
MAX_STOP: int
#: Numbers (not primes) per array of iter_primes by default: 2**27.
DEFAULT_CHUNK_SIZE: int

class ArgumentTypeError(TypeError, ValueError):
    """An argument of the wrong type; also a ValueError, so ``except ValueError`` catches all."""

def primes(
    start: Bound, stop: Optional[Bound] = None, *, threads: Optional[SupportsIndex] = None
) -> npt.NDArray[np.uint64]:
    """The primes in [start, stop] (``primes(stop)``: [0, stop]).

    Returns a 1-D uint64 array, shape (count_primes(start, stop),), increasing; 8 bytes per prime.
    Raises ValueError (negative, fraction, start > stop, threads not in 1..2**16), OverflowError
    (above 2**64 - 1), ArgumentTypeError (not a number), MemoryError (the primes do not fit),
    KeyboardInterrupt (Ctrl-C while sieving).
    """

def n_primes(
    n: SupportsIndex, start: Bound = 0, *, threads: Optional[SupportsIndex] = None
) -> npt.NDArray[np.uint64]:
    """The first n primes >= start: a 1-D uint64 array of shape (n,).

    Raises ValueError when fewer than n primes lie in [start, 2**64 - 1], else as primes().
    """

def count_primes(
    start: Bound, stop: Optional[Bound] = None, *, threads: Optional[SupportsIndex] = None
) -> int:
    """The number of primes in [start, stop] (``count_primes(stop)``: [0, stop]). Errors as primes()."""

def count_twins(
    start: Bound, stop: Optional[Bound] = None, *, threads: Optional[SupportsIndex] = None
) -> int:
    """The number of twin pairs (p, p + 2) with both in [start, stop]. Errors as primes()."""

def count_triplets(
    start: Bound, stop: Optional[Bound] = None, *, threads: Optional[SupportsIndex] = None
) -> int:
    """The number of prime triplets (p, p+2, p+6) and (p, p+4, p+6) with all members in
    [start, stop] (``count_triplets(stop)``: [0, stop]). Errors as primes()."""

def count_quadruplets(
    start: Bound, stop: Optional[Bound] = None, *, threads: Optional[SupportsIndex] = None
) -> int:
    """The number of prime quadruplets (p, p+2, p+6, p+8) with all members in [start, stop].
    Errors as primes()."""

def count_quintuplets(
    start: Bound, stop: Optional[Bound] = None, *, threads: Optional[SupportsIndex] = None
) -> int:
    """The number of prime quintuplets (p, p+2, p+6, p+8, p+12) and (p, p+4, p+6, p+10, p+12)
    with all members in [start, stop]. Errors as primes()."""

def count_sextuplets(
    start: Bound, stop: Optional[Bound] = None, *, threads: Optional[SupportsIndex] = None
) -> int:
    """The number of prime sextuplets (p, p+4, p+6, p+10, p+12, p+16) with all members in
    [start, stop]. Errors as primes()."""

def nth_prime(
    n: SupportsIndex, start: Bound = 0, *, threads: Optional[SupportsIndex] = None
) -> int:
    """The n-th prime above start (n > 0), the |n|-th below it (n < 0), the first >= start (n == 0).

    ``nth_prime(1) == 2``, ``nth_prime(10**6) == 15485863``. Raises ValueError when that prime is
    above 2**64 - 1 or there are fewer than |n| primes below start; else as primes().
    """

class PrimeIterator(Iterator[npt.NDArray[np.uint64]]):
    """What iter_primes returns: one 1-D uint64 array per chunk that holds primes."""

    def __iter__(self) -> "PrimeIterator": ...
    def __next__(self) -> npt.NDArray[np.uint64]: ...

def iter_primes(
    start: Bound,
    stop: Optional[Bound] = None,
    *,
    threads: Optional[SupportsIndex] = None,
    chunk_size: Optional[SupportsIndex] = None,
) -> PrimeIterator:
    """The primes in [start, stop] as increasing 1-D uint64 arrays, one per chunk_size numbers
    (default 2**27: at most 7.3 million primes, 56 MiB), chunks without primes skipped.
    Their concatenation is primes(start, stop). Errors as primes(), raised by the call (bad
    arguments) or by next() (Ctrl-C, MemoryError)."""

def default_threads() -> int:
    """Threads used without threads=: SLURM_CPUS_PER_TASK inside a Slurm job, else the cores this
    process may run on."""
