from . import n_primes as n_primes, primes as primes
