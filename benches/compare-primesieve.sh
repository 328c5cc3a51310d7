#!/usr/bin/env bash
# Side-by-side speed and memory of erato against primesieve 12.15, the fastest sieve there is.
#
# Usage: benches/compare-primesieve.sh [RUNS] [THREADS] [CASES]
#   RUNS     paired runs per case (default 5); the medians are compared
#   THREADS  threads for both programs (default 1)
#   CASES    which cases: `count` (the six counting ranges), `print` (listing to 1e8), or `all`
#            (default count)
#
# For each case both programs run RUNS times, interleaved (erato, primesieve, erato, ...) so that
# drifts in machine load hit both alike. The script first checks that they print the same count
# (or the same list), then reports each one's median wall time, CPU time (user + system) and peak
# resident memory, and the ratios erato / primesieve (below 1.0: erato is faster or smaller).
# Shared machines are noisy: read the ratios, not the seconds; when other work shares the cores,
# the CPU-time ratio is the steadier one (with one thread it is the wall time without the waits).
#
# primesieve 12.15 is built from ../shared/anchors/primesieve-12.15.tar.gz into target/anchors
# when it is missing (cmake and g++, installed through apt as root); Debian's primesieve 11
# (primesieve-bin) is used only when that cannot be done, and the script says so.
set -euo pipefail
runs=${1:-5}
threads=${2:-1}
cases=${3:-count}
cd "$(dirname "$0")/.."

apt_install() {
    [ "$(id -u)" = 0 ] || return 1
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

[ -x /usr/bin/time ] || apt_install time || { echo "compare-primesieve: needs GNU time (/usr/bin/time)" >&2; exit 1; }

ps=target/anchors/ps-build/primesieve
tarball=../shared/anchors/primesieve-12.15.tar.gz
if [ ! -x "$ps" ] && [ -f "$tarball" ]; then
    { command -v cmake >/dev/null && command -v g++ >/dev/null; } || apt_install cmake g++ || true
    if command -v cmake >/dev/null; then
        echo "building primesieve 12.15 from $tarball" >&2
        mkdir -p target/anchors
        tar xzf "$tarball" -C target/anchors
        cmake -S target/anchors/primesieve-12.15 -B target/anchors/ps-build \
            -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF >/dev/null
        cmake --build target/anchors/ps-build -j"$(nproc)" >/dev/null
    fi
fi
if [ ! -x "$ps" ]; then
    command -v primesieve >/dev/null || apt_install primesieve-bin \
        || { echo "compare-primesieve: no primesieve to compare with" >&2; exit 1; }
    ps=$(command -v primesieve)
    echo "compare-primesieve: primesieve 12.15 could not be built; using $("$ps" --version | head -1)" >&2
fi

cargo build --release --quiet
erato=target/release/erato

# shellcheck source=benches/lib.sh
source benches/lib.sh

cpu=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
cache() { cat "/sys/devices/system/cpu/cpu0/cache/index$1/size" 2>/dev/null || echo "?"; }
echo "CPU: $cpu; L1d $(cache 0), L2 $(cache 2), L3 $(cache 3) (per cpu0); $(nproc) cores"
echo "primesieve: $("$ps" --version | head -1) ($ps); erato: $($erato --version 2>/dev/null || echo erato)"
echo "runs: $runs paired, interleaved; threads: $threads"
echo

# Wall seconds, peak resident KiB and CPU seconds of one command (stdout discarded), as
# "WALL KIB CPU". The wall time is taken with nanosecond clocks around the command (GNU time's
# own is in hundredths, a sixth of the 0.06 s that [0, 1e9] takes); both programs pay the same
# start of /usr/bin/time inside it.
measure() {
    local t0 t1
    t0=$(date +%s%N)
    /usr/bin/time -f '%M %U %S' -o "$tmp/time" "$@" >/dev/null
    t1=$(date +%s%N)
    awk -v wall="$(( t1 - t0 ))" '{ printf "%.4f %s %.2f\n", wall / 1e9, $1, $2 + $3 }' "$tmp/time"
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

report() { # name, erato "wall kib cpu" lines file, primesieve lines file
    local es em ec ps_ pm pc
    es=$(cut -d' ' -f1 "$2" | median)
    em=$(cut -d' ' -f2 "$2" | median)
    ec=$(cut -d' ' -f3 "$2" | median)
    ps_=$(cut -d' ' -f1 "$3" | median)
    pm=$(cut -d' ' -f2 "$3" | median)
    pc=$(cut -d' ' -f3 "$3" | median)
    printf '%-26s %7.3f %7.3f %6.2f   %7.2f %7.2f %6.2f   %7.1f %7.1f %6.2f\n' "$1" \
        "$es" "$ps_" "$(echo "$es / $ps_" | bc -l)" \
        "$ec" "$pc" "$(echo "$ec / $pc" | bc -l)" \
        "$(echo "$em / 1024" | bc -l)" "$(echo "$pm / 1024" | bc -l)" "$(echo "$em / $pm" | bc -l)"
}

printf '%-26s %7s %7s %6s   %7s %7s %6s   %7s %7s %6s\n' "case" "erato" "psieve" "wall" \
    "erato" "psieve" "CPU" "erato" "psieve" "memory"
printf '%-26s %7s %7s %6s   %7s %7s %6s   %7s %7s %6s\n' "" "wall s" "wall s" "ratio" \
    "CPU s" "CPU s" "ratio" "MiB" "MiB" "ratio"

if [ "$cases" = count ] || [ "$cases" = all ]; then
    # The last range is [2^64 - 1e10, 2^64 - 1], spelt out (bash arithmetic is signed 64-bit).
    for range in "0 1e9" "0 1e10" "1e12 1e12+1e10" "1e15 1e15+1e10" "1e18 1e18+1e10" \
        "18446744063709551615 18446744073709551615"; do
        read -r lo hi <<<"$range"
        mine=$($erato "$lo" "$hi" -q -t "$threads")
        theirs=$("$ps" "$lo" "$hi" -c -q -t"$threads")
        if [ "$mine" != "$theirs" ]; then
            echo "compare-primesieve: counts differ for [$lo, $hi]: erato $mine, primesieve $theirs" >&2
            exit 1
        fi
        : >"$tmp/e" && : >"$tmp/p"
        for _ in $(seq "$runs"); do
            measure "$erato" "$lo" "$hi" -q -t "$threads" >>"$tmp/e"
            measure "$ps" "$lo" "$hi" -c -q -t"$threads" >>"$tmp/p"
        done
        [ "$lo" = 18446744063709551615 ] && lo="2^64-1e10" && hi="2^64-1"
        report "count [$lo, $hi]" "$tmp/e" "$tmp/p"
    done
fi

if [ "$cases" = print ] || [ "$cases" = all ]; then
    "$ps" 1e8 -p -t"$threads" >"$tmp/ps.txt"
    $erato 1e8 -p -o "$tmp/e.txt" -t "$threads"
    cmp -s "$tmp/ps.txt" "$tmp/e.txt" || { echo "compare-primesieve: -p lists differ" >&2; exit 1; }
    for format in lines python; do
        : >"$tmp/e" && : >"$tmp/p"
        for _ in $(seq "$runs"); do
            measure "$erato" 1e8 -p --format "$format" -o "$tmp/e.txt" -t "$threads" >>"$tmp/e"
            measure sh -c "$ps 1e8 -p -t$threads > $tmp/ps.txt" >>"$tmp/p"
        done
        report "print 1e8 ($format)" "$tmp/e" "$tmp/p"
    done
fi
