#!/usr/bin/env bash
# Listing speed: erato against primesieve 12.15, erato's threads against one, and narrow windows
# against the default (issue 9's goals; benchmarks, not timed tests).
#
# Usage: benches/compare-listing.sh [RUNS] [CASES]
#   RUNS   paired runs per case (default 5); medians are compared
#   CASES  `primesieve`, `threads`, `windows` or `all` (default all)
#
#   primesieve  erato 1e9 -p -t 2 -o F         against  primesieve 1e9 -p -t2 > F   (goal <= 0.5)
#   threads     erato 1e9 -p -t 2 [-o F]       against  erato 1e9 -p -t 1 [-o F]    (goal <= 0.65)
#   windows     erato 2^64-1e9 2^64-1 -p -o F --max-memory 3M (about 60 windows)
#                                              against  the same with the default   (goal <= 1.25)
#
# Runs are interleaved (A, B, A, B, ...) so that drifts in machine load hit both alike. Each line
# gives the median wall time and CPU time (user + system) of both and their ratios A / B; on a
# shared machine the CPU-time ratio is the steadier one. erato's -o writes a temporary file,
# fsyncs it and renames it; primesieve's `> F` does not sync, so its data may still be in the page
# cache when it ends.
#
# primesieve is target/anchors/ps-build/primesieve (benches/compare-primesieve.sh builds it), or
# $PRIMESIEVE.
set -euo pipefail
runs=${1:-5}
cases=${2:-all}
cd "$(dirname "$0")/.."
[ -x /usr/bin/time ] || { echo "compare-listing: needs GNU time (/usr/bin/time)" >&2; exit 1; }
ps=${PRIMESIEVE:-target/anchors/ps-build/primesieve}

cargo build --release --quiet
erato=target/release/erato
# shellcheck source=benches/lib.sh
source benches/lib.sh

cpu=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
cache() { cat "/sys/devices/system/cpu/cpu0/cache/index$1/size" 2>/dev/null || echo "?"; }
echo "CPU: $cpu; L1d $(cache 0), L2 $(cache 2), L3 $(cache 3) (per cpu0); $(nproc) cores"
echo "runs: $runs paired, interleaved; $(uptime | sed 's/.*load/load/')"
echo

tmp=$(mktemp -d "${TMPDIR:-/tmp}/compare-listing.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# "WALL CPU" of one command, its stdout discarded.
measure() {
    /usr/bin/time -f '%e %U %S' -o "$tmp/time" "$@" >/dev/null
    awk '{ printf "%s %.2f\n", $1, $2 + $3 }' "$tmp/time"
}

# Removes the outputs of earlier runs and writes back what they left in the page cache.
clean() {
    rm -f "$tmp"/*.txt "$tmp"/*.out
    sync
}

# name, then two commands as strings; runs them interleaved and prints medians and ratios.
pair() {
    local name=$1 a=$2 b=$3
    : >"$tmp/a" && : >"$tmp/b"
    for _ in $(seq "$runs"); do
        # Each run starts with no output file and nothing dirty in the page cache: primesieve's
        # `> F` does not sync, and its 500 MB written back during the next run would be timed
        # there instead (erato's -o: 0.39 s that way against 0.27 s from a clean start).
        clean && measure sh -c "$a" >>"$tmp/a"
        clean && measure sh -c "$b" >>"$tmp/b"
    done
    local aw ac bw bc_
    aw=$(cut -d' ' -f1 "$tmp/a" | median) && ac=$(cut -d' ' -f2 "$tmp/a" | median)
    bw=$(cut -d' ' -f1 "$tmp/b" | median) && bc_=$(cut -d' ' -f2 "$tmp/b" | median)
    printf '%-44s wall %6.3f / %6.3f = %5.2f   CPU %6.2f / %6.2f = %5.2f\n' "$name" \
        "$aw" "$bw" "$(echo "$aw / $bw" | bc -l)" "$ac" "$bc_" "$(echo "$ac / $bc_" | bc -l)"
}

if [ "$cases" = primesieve ] || [ "$cases" = all ]; then
    if [ -x "$ps" ] || command -v "$ps" >/dev/null; then
        "$ps" 1e9 -p -t2 >"$tmp/ps.txt"
        $erato 1e9 -p -t 2 -o "$tmp/e.txt" >/dev/null
        cmp -s "$tmp/ps.txt" "$tmp/e.txt" || { echo "compare-listing: lists differ" >&2; exit 1; }
        rm -f "$tmp/ps.txt" "$tmp/e.txt"
        pair "erato 1e9 -p -t 2 -o F / primesieve -t2 > F" \
            "$erato 1e9 -p -t 2 -o $tmp/e.txt" "$ps 1e9 -p -t2 > $tmp/ps.txt"
    else
        echo "compare-listing: no primesieve at $ps (run benches/compare-primesieve.sh once)" >&2
    fi
fi
if [ "$cases" = threads ] || [ "$cases" = all ]; then
    # Formatting alone (to /dev/null), then to a file, where the disk's write rate bounds both.
    for format in lines python; do
        pair "erato 1e9 -p --format $format >/dev/null: -t 2 / -t 1" \
            "$erato 1e9 -p --format $format -t 2" \
            "$erato 1e9 -p --format $format -t 1"
    done
    for format in lines python npy; do
        pair "erato 1e9 -p --format $format -o F: -t 2 / -t 1" \
            "$erato 1e9 -p --format $format -t 2 -o $tmp/e.out" \
            "$erato 1e9 -p --format $format -t 1 -o $tmp/e.out"
    done
fi
if [ "$cases" = windows ] || [ "$cases" = all ]; then
    # [2^64 - 1e9, 2^64 - 1], spelt out.
    range="18446744072709551615 18446744073709551615"
    for t in 1 2; do
        pair "2^64-1e9.. -t $t: --max-memory 3M / default" \
            "$erato $range -p -t $t -o $tmp/w.txt --max-memory 3M" \
            "$erato $range -p -t $t -o $tmp/w.txt"
    done
fi
