#!/usr/bin/env bash
# Side-by-side speed of erato against primesieve, the fastest sieve there is.
#
# Usage: benches/compare-primesieve.sh [RUNS] [THREADS]    (defaults: 7 runs, 1 thread)
#
# For each case both programs run RUNS times, interleaved so that drifts in machine load hit both
# alike; the script checks they print the same count (or the same list) and reports each one's
# median wall time and the ratio erato / primesieve (below 1.0: erato is faster). Cases: counting
# to 1e9 and 1e10 and on [1e12, 1e12 + 1e10]; listing the primes to 1e8 into a file, one per line
# and in the seed's Python format, against `primesieve 1e8 -p > FILE`. Installs Debian's
# primesieve-bin if it is missing. Shared machines are noisy: read the ratio, not the seconds.
set -euo pipefail
runs=${1:-7}
threads=${2:-1}
cd "$(dirname "$0")/.."

if ! command -v primesieve >/dev/null; then
    if [ "$(id -u)" = 0 ]; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq primesieve-bin >/dev/null
    else
        echo "compare-primesieve: primesieve is missing; install Debian's primesieve-bin" >&2
        exit 1
    fi
fi
cargo build --release --quiet
erato=target/release/erato

# shellcheck source=benches/lib.sh
source benches/lib.sh

printf '%-22s %8s %12s %12s %8s\n' "case" "threads" "erato s" "primesieve s" "ratio"
for range in "1e9" "1e10" "1e12 1e12+1e10"; do
    # shellcheck disable=SC2086 # the range is two words on purpose
    mine=$($erato $range -q -t "$threads")
    # shellcheck disable=SC2086
    theirs=$(primesieve $range -c -q -t "$threads")
    if [ "$mine" != "$theirs" ]; then
        echo "compare-primesieve: counts differ for $range: erato $mine, primesieve $theirs" >&2
        exit 1
    fi
    e=() p=()
    for _ in $(seq "$runs"); do
        # shellcheck disable=SC2086
        e+=("$(wall $erato $range -q -t "$threads")")
        # shellcheck disable=SC2086
        p+=("$(wall primesieve $range -c -q -t "$threads")")
    done
    em=$(printf '%s\n' "${e[@]}" | median)
    pm=$(printf '%s\n' "${p[@]}" | median)
    printf '%-22s %8s %12.3f %12.3f %8.2f\n' "$range" "$threads" "$em" "$pm" "$(echo "$em / $pm" | bc -l)"
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
primesieve 1e8 -p -t "$threads" >"$tmp/ps.txt"
$erato 1e8 -p -o "$tmp/e.txt" -t "$threads"
cmp -s "$tmp/ps.txt" "$tmp/e.txt" || { echo "compare-primesieve: -p lists differ" >&2; exit 1; }
for format in lines python; do
    e=() p=()
    for _ in $(seq "$runs"); do
        e+=("$(wall $erato 1e8 -p --format "$format" -o "$tmp/e.txt" -t "$threads")")
        p+=("$(wall sh -c "primesieve 1e8 -p -t $threads > $tmp/ps.txt")")
    done
    em=$(printf '%s\n' "${e[@]}" | median)
    pm=$(printf '%s\n' "${p[@]}" | median)
    printf '%-22s %8s %12.3f %12.3f %8.2f\n' "print 1e8 ($format)" "$threads" "$em" "$pm" "$(echo "$em / $pm" | bc -l)"
done
