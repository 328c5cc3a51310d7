"""The timing half of benches/compare-python.sh: erato against primesieve's Python module."""

import statistics
import sys
import time

import numpy as np
import primesieve
import primesieve.numpy

import erato

runs = int(sys.argv[1]) if len(sys.argv) > 1 else 7


def seconds(call):
    start = time.perf_counter()
    result = call()
    return time.perf_counter() - start, result


def case(name, threads, erato_call, primesieve_call, same):
    primesieve.set_num_threads(threads)
    a, b = erato_call(), primesieve_call()  # warm-up, and the answers must agree
    assert same(a, b), f"{name}: erato and primesieve disagree"
    del a, b
    times = {"erato": [], "primesieve": []}
    for _ in range(runs):
        for who, call in (("erato", erato_call), ("primesieve", primesieve_call)):
            t, result = seconds(call)
            times[who].append(t)
            del result
    e, p = statistics.median(times["erato"]), statistics.median(times["primesieve"])
    print(f"| {name} | {threads} | {e:.3f} s | {p:.3f} s | {e / p:.2f} |", flush=True)


version = primesieve.primesieve_version()
version = version.decode() if isinstance(version, bytes) else version
print(f"erato (crates/python) vs primesieve {version} (its Python module), "
      f"median of {runs} interleaved runs")
print("| call | threads | erato | primesieve | ratio |")
print("|---|---|---|---|---|")
for threads in (1, 2):
    case("primes(1e9)", threads,
         lambda: erato.primes(10**9, threads=threads),
         lambda: primesieve.numpy.primes(10**9),
         lambda a, b: np.array_equal(a, b))
for threads in (1, 2):
    case("count_primes(1e10)", threads,
         lambda: erato.count_primes(10**10, threads=threads),
         lambda: primesieve.count_primes(10**10),
         lambda a, b: a == b == 455_052_511)
