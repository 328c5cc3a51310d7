#!/usr/bin/env bash
# erato's Python module against primesieve's (PyPI `primesieve`, its `primesieve.numpy` module).
#
# Usage: benches/compare-python.sh [RUNS]        (default: 7 runs of each case)
#
# Cases: primes(1e9) as a NumPy array, and count_primes(1e10), each on one and on two threads
# (primesieve.set_num_threads; primesieve lists on one thread whatever it is set to). Both run in
# one process, interleaved, after a warm-up call each; the script checks they agree and prints each
# one's median seconds and the ratio erato / primesieve (below 1.0: erato is faster). Shared
# machines are noisy: read the ratio, not the seconds.
#
# Sets up target/bench-python, a virtual environment with NumPy 1.x (primesieve 2.3.4 ships C++
# generated for NumPy 1), primesieve's module compiled against the installed libprimesieve, and
# erato built from crates/python. Install libprimesieve 12.15 first, as root (shared/anchors):
#     mkdir -p target/anchors && tar xzf ../shared/anchors/primesieve-12.15.tar.gz -C target/anchors
#     cmake -S target/anchors/primesieve-12.15 -B target/anchors/ps-build -DCMAKE_BUILD_TYPE=Release
#     cmake --build target/anchors/ps-build -j2 && cmake --install target/anchors/ps-build && ldconfig
set -euo pipefail
runs=${1:-7}
cd "$(dirname "$0")/.."

if ! [ -e /usr/local/include/primesieve.h ] && ! [ -e /usr/include/primesieve.h ]; then
    echo "compare-python: libprimesieve is not installed; see the comment at the top of $0" >&2
    exit 1
fi
venv=target/bench-python
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install -q "numpy<2" setuptools wheel
"$venv/bin/python" -c "import primesieve.numpy" 2>/dev/null ||
    "$venv/bin/pip" install -q --no-cache-dir --no-build-isolation --no-binary primesieve --no-deps \
        --force-reinstall primesieve==2.3.4
"$venv/bin/pip" install -q --force-reinstall --no-deps ./crates/python
exec "$venv/bin/python" benches/compare-python.py "$runs"
