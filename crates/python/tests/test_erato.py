"""erato's Python module against oracles too simple to be wrong: a NumPy sieve below 10^13 and
deterministic Miller-Rabin anywhere in u64."""

import os
import random
import re
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

import erato
import erato.numpy

TOP = 2**64 - 1
# The largest primes below 2^64.
TOP_PRIMES = [2**64 - 95, 2**64 - 83, 2**64 - 59]


def is_prime(n):
    """Deterministic Miller-Rabin for every n < 3.3 * 10^24 (so all of u64)."""
    if n < 2:
        return False
    small = (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37)
    for p in small:
        if n % p == 0:
            return n == p
    d, s = n - 1, 0
    while d % 2 == 0:
        d, s = d // 2, s + 1
    for a in small:
        x = pow(a, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = x * x % n
            if x == n - 1:
                break
        else:
            return False
    return True


def sieve_primes(lo, hi):
    """The primes in [lo, hi] by a plain segmented sieve (hi - lo small, hi below about 10^13)."""
    root = int(hi**0.5) + 1
    small = np.ones(root + 1, dtype=bool)
    small[:2] = False
    for p in range(2, int(root**0.5) + 1):
        if small[p]:
            small[p * p :: p] = False
    seg = np.ones(hi - lo + 1, dtype=bool)
    for p in np.flatnonzero(small):
        p = int(p)
        first = max(p * p, (lo + p - 1) // p * p)
        seg[first - lo :: p] = False
    for n in range(lo, min(hi, 1) + 1):
        seg[n - lo] = False
    return np.flatnonzero(seg).astype(np.uint64) + np.uint64(lo)


def mr_primes(lo, hi):
    return np.array([n for n in range(lo, hi + 1) if is_prime(n)], dtype=np.uint64)


# primesieve's k-tuplet patterns (offsets from the first member), as erato -c2 .. -c6 count them.
PATTERNS = {
    2: [(0, 2)],
    3: [(0, 2, 6), (0, 4, 6)],
    4: [(0, 2, 6, 8)],
    5: [(0, 2, 6, 8, 12), (0, 4, 6, 10, 12)],
    6: [(0, 4, 6, 10, 12, 16)],
}
TUPLETS = {
    3: erato.count_triplets,
    4: erato.count_quadruplets,
    5: erato.count_quintuplets,
    6: erato.count_sextuplets,
}


def tuplet_counts(primes, lo, hi):
    """{k: the k-tuplets with every member in [lo, hi]}, given the primes of [lo, hi]: for each
    pattern, the numbers n of [lo, hi] with n + o prime for every offset o (primes past hi count as
    composite)."""
    width = hi - lo + 1
    is_prime = np.zeros(width + 17, dtype=bool)
    is_prime[(np.asarray(primes, dtype=np.uint64) - np.uint64(lo)).astype(np.int64)] = True
    counts = {}
    for k, patterns in PATTERNS.items():
        total = 0
        for pattern in patterns:
            hit = np.ones(width, dtype=bool)
            for o in pattern:
                hit &= is_prime[o : o + width]
            total += int(np.count_nonzero(hit))
        counts[k] = total
    return counts


# --- values -----------------------------------------------------------------------------------


def test_small_ranges_against_the_sieve():
    for lo in range(0, 40):
        for hi in range(lo, 60):
            got = erato.primes(lo, hi)
            assert got.dtype == np.uint64 and got.ndim == 1
            assert np.array_equal(got, sieve_primes(lo, hi)), (lo, hi)
    assert erato.primes(100).tolist() == sieve_primes(0, 100).tolist()
    assert erato.primes(0).size == 0 and erato.primes(1).size == 0
    assert erato.primes(2).tolist() == [2]


def test_random_ranges_against_the_sieve():
    rng = random.Random(11)
    for _ in range(40):
        lo = rng.randrange(0, 10 ** rng.randrange(2, 13))
        hi = lo + rng.randrange(0, 300_000)
        want = sieve_primes(lo, hi)
        assert np.array_equal(erato.primes(lo, hi), want), (lo, hi)
        assert erato.count_primes(lo, hi) == len(want)
        twins = int(np.count_nonzero(np.diff(want) == 2))
        assert erato.count_twins(lo, hi) == twins, (lo, hi)


def test_published_values():
    assert erato.count_primes(10**6) == 78_498
    assert erato.count_twins(10**6) == 8_169
    assert erato.count_twins(1, 10) == 2
    assert erato.count_primes(1e10) == 455_052_511
    assert erato.count_primes(2**32) == 203_280_221
    big = erato.primes(10**8)
    assert big.shape == (5_761_455,) and big[-1] == 99_999_989
    assert np.all(np.diff(big) > 0)


def test_near_the_top_of_u64():
    lo = TOP - 20_000
    want = mr_primes(lo, TOP)
    assert np.array_equal(erato.primes(lo, TOP), want)
    assert erato.primes(lo, TOP)[-3:].tolist() == TOP_PRIMES
    assert erato.count_primes(str(lo), "2^64-1") == len(want)
    assert erato.primes(TOP, TOP).size == 0
    assert erato.primes(TOP_PRIMES[-1], TOP).tolist() == [TOP_PRIMES[-1]]


def test_nth_prime():
    for n, p in [(1, 2), (2, 3), (10, 29), (1000, 7919), (10**6, 15_485_863), (10**8, 2_038_074_743)]:
        assert erato.nth_prime(n) == p
        assert erato.nth_prime(np.int64(n), start=0) == p
    # primesieve's conventions: n > 0 above start, n < 0 below, n == 0 at or above.
    assert erato.nth_prime(1, 7) == 11
    assert erato.nth_prime(0, 7) == 7
    assert erato.nth_prime(0, 8) == 11
    assert erato.nth_prime(-1, 7) == 5
    assert erato.nth_prime(-4, 8) == 2
    rng = random.Random(7)
    for _ in range(10):
        start = rng.randrange(0, 10**12)
        n = rng.randrange(1, 500)
        window = sieve_primes(start + 1, start + 50 * n + 2000)
        assert erato.nth_prime(n, start) == window[n - 1], (n, start)
    assert erato.nth_prime(1, TOP_PRIMES[-1] - 1) == TOP_PRIMES[-1]
    with pytest.raises(ValueError, match="above the largest supported value"):
        erato.nth_prime(1, TOP_PRIMES[-1])
    with pytest.raises(ValueError, match="above the largest supported value"):
        erato.nth_prime(10**30)
    with pytest.raises(ValueError, match="there are only 4 primes below 8"):
        erato.nth_prime(-5, 8)
    with pytest.raises(erato.ArgumentTypeError):
        erato.nth_prime(1.5)


def test_n_primes():
    assert erato.n_primes(5).tolist() == [2, 3, 5, 7, 11]
    assert erato.n_primes(5, 10).tolist() == [11, 13, 17, 19, 23]
    assert erato.n_primes(3, 11).tolist() == [11, 13, 17]
    assert erato.n_primes(0, 5).size == 0
    assert erato.numpy.n_primes(2, TOP_PRIMES[1]).tolist() == TOP_PRIMES[1:]
    with pytest.raises(ValueError):
        erato.n_primes(-1)


def test_iter_primes_concatenates_to_primes():
    for lo, hi, chunk in [(0, 10**6, 1000), (0, 10**6, None), (5, 5, 1), (10, 30, 1), (0, 3 * 10**8, 2**26), (10**12, 10**12 + 10**7, 999_999)]:
        arrays = list(erato.iter_primes(lo, hi, chunk_size=chunk))
        assert all(a.dtype == np.uint64 and a.size > 0 for a in arrays)
        joined = np.concatenate(arrays) if arrays else np.empty(0, np.uint64)
        assert np.array_equal(joined, erato.primes(lo, hi)), (lo, hi, chunk)
    near_top = list(erato.iter_primes(TOP - 1000, TOP, chunk_size=100))
    assert np.concatenate(near_top).tolist() == mr_primes(TOP - 1000, TOP).tolist()
    # Stopping early is fine, and the stop bound does not make the first chunk slow.
    first = next(iter(erato.iter_primes(0, TOP)))
    assert first[:4].tolist() == [2, 3, 5, 7] and first[-1] < erato.DEFAULT_CHUNK_SIZE


def test_tuplets_of_small_ranges_against_the_oracle():
    # Every [lo, hi] with lo < 100, hi < 130: tuplets cut at either edge, (3, 5, 7) (no pattern's),
    # the sextuplets (7, ..., 23) and (97, ..., 113).
    below = sieve_primes(0, 200)
    for threads in (1, 2):
        for lo in range(0, 100):
            for hi in range(lo, 130):
                want = tuplet_counts(below[(below >= lo) & (below <= hi)], lo, hi)
                for k, count in TUPLETS.items():
                    assert count(lo, hi, threads=threads) == want[k], (k, lo, hi, threads)
                assert erato.count_twins(lo, hi, threads=threads) == want[2], (lo, hi)
    for k, count in TUPLETS.items():
        for stop in range(0, 40):
            assert count(stop) == count(0, stop) == tuplet_counts(sieve_primes(0, stop), 0, stop)[k]
    # primesieve 1000 -c3456; primesieve 1 20 -c3
    assert [count(1000) for count in TUPLETS.values()] == [30, 5, 5, 2]
    assert erato.count_triplets(1, 20) == 4
    assert erato.count_quadruplets(100) == 2 and erato.count_quintuplets(100) == 3


def test_tuplets_of_random_ranges_against_the_oracle():
    rng = random.Random(23)
    cases = []
    for _ in range(12):
        lo = rng.randrange(0, 10 ** rng.randrange(2, 13))
        cases.append((lo, lo + rng.randrange(0, 300_000)))
    # Wide enough (2^25) that two or three threads cut them into chunks: tuplets across the cuts.
    cases += [(10**12 + 12_345, 10**12 + 12_345 + 2**25), (0, 2**25 + 77)]
    for lo, hi in cases:
        want = tuplet_counts(sieve_primes(lo, hi), lo, hi)
        for threads in (1, 2, 3):
            for k, count in TUPLETS.items():
                assert count(lo, hi, threads=threads) == want[k], (k, lo, hi, threads)


def test_tuplets_published_values():
    # primesieve 1e9 -c23456 (primesieve 12.15): 3424506 twins, then these.
    want = [759_256, 28_388, 7_221, 317]
    assert [count(1e9) for count in TUPLETS.values()] == want
    assert [count("1e9", threads=1) for count in TUPLETS.values()] == want
    assert erato.count_triplets(10**6) == 2_837 and erato.count_sextuplets(10**6) == 5


# Near 2^64 each call first sieves the primes up to 2^32 (about 1.2 s here): few calls, in three
# tests, so that pytest's workers share them.


def test_tuplets_near_the_top_of_u64():
    # primesieve 18446744073609551616 18446744073709551615 -c3456 (primesieve 12.15), and -p6:
    # the sextuplet of [2^64 - 10^8, 2^64 - 1] starts at 2^64 - 76076619.
    lo = TOP + 1 - 10**8
    assert [count(lo, TOP) for count in TUPLETS.values()] == [6_517, 105, 17, 1]
    six = 2**64 - 76_076_619
    assert erato.count_sextuplets(six, six + 16) == 1
    assert erato.count_sextuplets(six + 1, six + 16, threads=2) == 0
    assert erato.count_sextuplets(six, six + 15) == 0


def test_the_last_quadruplet_below_2_64():
    # The last quadruplet and quintuplet below 2^64 (primesieve -p4, -p5): p, ..., p + 12, cut
    # at either edge, against Miller-Rabin.
    q = 2**64 - 1_799_615
    primes = mr_primes(q - 30, q + 45)
    for a, b in [(q, q + 12), (q + 1, q + 12), (q, q + 11), (q - 3, q + 8)]:
        want = tuplet_counts(primes[(primes >= a) & (primes <= b)], a, b)
        for k in (4, 5):
            assert TUPLETS[k](a, b) == want[k], (k, a - TOP, b - TOP)
    assert want[4] == 1 and want[5] == 0


def test_the_triplets_of_the_top_50000_numbers():
    # The top 50000 numbers hold three triplets (primesieve -p3), against Miller-Rabin.
    lo = TOP - 50_000
    want = tuplet_counts(mr_primes(lo, TOP), lo, TOP)
    assert want[3] == 3
    for threads in (1, 2):
        assert erato.count_triplets(str(lo), "2^64-1", threads=threads) == 3
    assert erato.count_quadruplets(lo, TOP) == want[4]


def test_numpy_module_has_primesieves_names():
    assert np.array_equal(erato.numpy.primes(10, 100), erato.primes(10, 100))


# --- threads ----------------------------------------------------------------------------------


def test_threads_give_the_same_answers():
    want = erato.primes(10**7, 2 * 10**8, threads=1)
    for t in (2, 3, 8):
        assert np.array_equal(erato.primes(10**7, 2 * 10**8, threads=t), want)
        assert erato.count_twins(10**9, threads=t) == 3_424_506
    assert erato.count_primes(10**6, threads=np.uint8(2)) == 78_498


def test_default_threads_follow_slurm():
    code = "import erato; print(erato.default_threads())"
    env = dict(os.environ, SLURM_CPUS_PER_TASK="3")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "3"
    env.pop("SLURM_CPUS_PER_TASK")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert int(out.stdout) == len(os.sched_getaffinity(0))


def test_the_gil_is_released_while_sieving():
    ticks = 0
    done = threading.Event()

    def sieve():
        erato.count_primes(10**10, threads=1)
        done.set()

    worker = threading.Thread(target=sieve)
    worker.start()
    while not done.is_set():
        ticks += 1
        time.sleep(0.001)
    worker.join()
    assert ticks > 100  # the sieve takes seconds; a held GIL would allow about one tick


def test_works_after_fork():
    erato.count_primes(10**6)  # the parent's engine and its threads exist now
    pid = os.fork()
    if pid == 0:
        ok = erato.count_primes(10**7) == 664_579
        os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0


@pytest.mark.parametrize(
    "call",
    [
        "erato.count_primes(10**15)",
        "erato.count_quintuplets(10**15)",
        "erato.nth_prime(10**14)",
        "[a.size for a in erato.iter_primes(0, 10**15, chunk_size=10**9)]",
    ],
)
def test_ctrl_c_stops_a_long_call_within_a_second(call):
    code = f"import erato; print('ready', flush=True); {call}; print('finished')"
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    time.sleep(1.0)
    sent = time.monotonic()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    took = time.monotonic() - sent
    assert "KeyboardInterrupt" in err and "finished" not in out
    # About half a second measured here; generous for a shared 2-core machine.
    assert took < 3.0, f"took {took:.2f} s to stop"


# --- bad arguments ----------------------------------------------------------------------------

ABOVE = "is above the largest supported value 2^64-1 (18446744073709551615)"


@pytest.mark.parametrize(
    "args, error, message",
    [
        ((-1,), ValueError, "STOP -1 is negative"),
        ((-5, 10), ValueError, "START -5 is negative"),
        ((5, 3), ValueError, "START 5 is greater than STOP 3"),
        ((2**64,), OverflowError, f"STOP 18446744073709551616 {ABOVE}"),
        ((0, 10**30), OverflowError, f"STOP {10**30} {ABOVE}"),
        (("1e20",), OverflowError, f'STOP "1e20" {ABOVE}'),
        ((1e20,), OverflowError, f"STOP 1e+20 {ABOVE}"),
        ((float("inf"),), OverflowError, ABOVE),
        ((float("nan"),), ValueError, "is not a whole number"),
        ((1.5,), ValueError, "STOP 1.5 is not a whole number"),
        (("1e-3",), ValueError, 'STOP "1e-3" is not a whole number'),
        (("-5",), ValueError, 'STOP "-5" is negative'),
        (("ten",), ValueError, "STOP \"ten\" has unexpected 't' at position 1"),
        (([10],), erato.ArgumentTypeError, "STOP must be an integer"),
        ((None,), erato.ArgumentTypeError, "STOP must be an integer"),
        ((1, b"10"), erato.ArgumentTypeError, "STOP must be an integer"),
        ((np.int64(-1),), ValueError, "STOP -1 is negative"),
    ],
)
def test_bad_bounds_raise_the_command_lines_messages(args, error, message):
    for function in (erato.primes, erato.count_primes, erato.count_twins, *TUPLETS.values(), erato.iter_primes):
        with pytest.raises(error, match=re.escape(message)):
            function(*args)


def test_bad_types_are_type_errors_and_value_errors():
    with pytest.raises(TypeError):
        erato.primes([1])
    with pytest.raises(ValueError):
        erato.primes([1])


def test_bad_keywords():
    with pytest.raises(ValueError, match="threads 0 must be between 1 and 65536"):
        erato.primes(10, threads=0)
    with pytest.raises(ValueError, match="threads -1 is negative"):
        erato.count_primes(10, threads=-1)
    with pytest.raises(ValueError, match="between 1 and 65536"):
        erato.count_primes(10, threads=2**70)
    with pytest.raises(ValueError, match="chunk_size 0 must be at least 1"):
        erato.iter_primes(10, chunk_size=0)
    with pytest.raises(TypeError):
        erato.primes(10, thread=2)
    with pytest.raises(TypeError):
        erato.primes(1, 2, 3)


def test_too_large_for_memory_is_a_memory_error():
    with pytest.raises(MemoryError, match="iter_primes"):
        erato.primes(TOP)
    assert erato.count_primes(1000) == 168  # and the module still works
