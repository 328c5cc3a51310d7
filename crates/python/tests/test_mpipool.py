"""examples/mpipool.py under mpirun prints byte for byte what the seed's MPIpool.py prints.

Needs mpirun and mpi4py; without them these tests skip, unless ERATO_REQUIRE_MPI=1 (scripts/test
sets it), which makes a missing MPI a failure."""

import math
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "mpipool.py"


# --- the seed's MPIpool.py, its two functions verbatim --------------------------------------


def calc_primes(range_tuple):
    """Calculate all the prime numbers in the given range."""
    low, high = range_tuple
    if low <= 2 < high:
        primes = [2]
    else:
        primes = []
    start = max(3, low)  # Don't start below 3
    if start % 2 == 0:  # Make sure start is odd, i.e. skip evens
        start += 1
    for num in range(start, high, 2):  # increment by 2's, i.e. skip evens
        if all(num % i != 0 for i in range(3, int(math.sqrt(num)) + 1, 2)):
            primes.append(num)
    return primes


def determine_subranges(fullrange, num_subranges):
    """
    Break fullrange up into smaller sets of ranges that cover all
    the same numbers.
    """
    subranges = []
    inc = fullrange[1] // num_subranges
    for i in range(fullrange[0], fullrange[1], inc):
        subranges.append((i, min(i + inc, fullrange[1])))
    return subranges


def seed_output(n):
    """What the seed prints for fullrange (0, n), computed the seed's way (without MPI)."""
    prime_sets = map(calc_primes, determine_subranges((0, n), 1000))
    primes = [p for plist in prime_sets for p in plist]
    return textwrap.fill(str(primes), 80) + "\n"


def sieve_output(n):
    """The same from a plain sieve, for n where trial division takes minutes."""
    is_prime = np.ones(n, dtype=bool)
    is_prime[:2] = False
    for p in range(2, math.isqrt(n - 1) + 1):
        if is_prime[p]:
            is_prime[p * p :: p] = False
    return textwrap.fill(str(np.flatnonzero(is_prime).tolist()), 80) + "\n"


def test_the_oracles_agree():
    assert seed_output(10**5) == sieve_output(10**5)


def mpirun():
    # ERATO_MPIRUN names Open MPI's launcher where MPICH is installed beside it (scripts/test).
    launcher = os.environ.get("ERATO_MPIRUN", "mpirun")
    missing = []
    if shutil.which(launcher) is None:
        missing.append(launcher)
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        missing.append("mpi4py")
    if missing:
        reason = f"needs {' and '.join(missing)}"
        if os.environ.get("ERATO_REQUIRE_MPI") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    return shutil.which(launcher)


@pytest.fixture(scope="module")
def expected():
    return {10**6: seed_output(10**6), 10**7: sieve_output(10**7)}


@pytest.mark.parametrize("ranks", [2, 3])
@pytest.mark.parametrize("n, text", [(10**6, "1e6"), (10**7, "1e7")])
def test_mpipool_prints_the_seeds_output(expected, ranks, n, text):
    env = dict(os.environ)
    if os.geteuid() == 0:
        env.setdefault("OMPI_ALLOW_RUN_AS_ROOT", "1")
        env.setdefault("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
    command = [mpirun(), "-n", str(ranks), "--oversubscribe", "--bind-to", "none",
               sys.executable, str(EXAMPLE), text]
    run = subprocess.run(command, env=env, capture_output=True, timeout=300)
    assert run.returncode == 0, run.stderr.decode(errors="replace")
    assert run.stdout == expected[n].encode(), f"{ranks} ranks, N = {text}: output differs"
