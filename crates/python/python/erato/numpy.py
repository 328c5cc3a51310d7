"""erato's functions that return NumPy arrays, under primesieve's module name ``primesieve.numpy``:
``from erato.numpy import primes, n_primes`` replaces ``from primesieve.numpy import ...``."""

from . import n_primes, primes

__all__ = ["n_primes", "primes"]
