#!/usr/bin/env bash
# Ranks against threads: erato counting to 1e10 (or RANGE) as 2 MPI ranks of 1 thread each
# (mpirun -n 2 --bind-to none) and as 1 rank of 2 threads, with the 1-thread time for parallel
# efficiency (T1 / (2 * T2)). Medians of RUNS interleaved runs. All three start through mpirun, so
# they pay the same launch cost (a singleton MPI_Init costs more: 0.35 s against 0.13 s here).
#
# Usage: benches/compare-mpi.sh [RUNS] [RANGE...]      (defaults: 7, 1e10)
# Needs OpenMPI and the MPI build (this script builds it: cargo build --release --features mpi).
set -euo pipefail
runs=${1:-7}
shift || true
range=("${@:-1e10}")
cd "$(dirname "$0")/.."
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
cargo build --release --features mpi --quiet
erato=target/release/erato
mpi=(mpirun -n 2 --bind-to none --mca pml ob1 --mca mpi_yield_when_idle 1)
one=(mpirun -n 1 --bind-to none --mca pml ob1)

# shellcheck source=benches/lib.sh
source benches/lib.sh

[ "$("${mpi[@]}" $erato "${range[@]}" -q -t 1)" = "$($erato "${range[@]}" -q -t 2)" ] || { echo "counts differ" >&2; exit 1; }
t_one=() threads=() ranks=()
for _ in $(seq "$runs"); do
    t_one+=("$(wall "${one[@]}" $erato "${range[@]}" -q -t 1)")
    threads+=("$(wall "${one[@]}" $erato "${range[@]}" -q -t 2)")
    ranks+=("$(wall "${mpi[@]}" $erato "${range[@]}" -q -t 1)")
done
t1=$(printf '%s\n' "${t_one[@]}" | median)
tt=$(printf '%s\n' "${threads[@]}" | median)
tr=$(printf '%s\n' "${ranks[@]}" | median)
printf 'range %s, median of %s runs\n' "${range[*]}" "$runs"
printf '%-34s %8.3f s\n' "1 rank x 1 thread" "$t1"
printf '%-34s %8.3f s   efficiency %.0f%%\n' "1 rank x 2 threads" "$tt" "$(echo "100 * $t1 / (2 * $tt)" | bc -l)"
printf '%-34s %8.3f s   efficiency %.0f%%\n' "2 ranks x 1 thread (mpirun)" "$tr" "$(echo "100 * $t1 / (2 * $tr)" | bc -l)"
printf '%-34s %8.2f\n' "ranks / threads time ratio" "$(echo "$tr / $tt" | bc -l)"
