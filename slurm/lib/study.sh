# Shared by slurm/strong-scaling.sbatch and slurm/weak-scaling.sbatch (sourced, not run).
#
# CONFIGS lists the shapes to run as RANKSxTHREADS words, e.g. "1x1 1x2 2x1 2x2"; by default every
# power-of-two number of nodes up to the allocation times every power-of-two number of threads up
# to --cpus-per-task. REPEAT (default 3) runs each shape that many times. Each run leaves its --json
# record in results/<study>-JOBID/; at the end erato-plot collects them into results/<study>-JOBID.csv
# and draws results/<study>-JOBID-speedup.png and -efficiency.png.

submit_dir=${SLURM_SUBMIT_DIR:-$PWD}
erato=${ERATO:-$submit_dir/target/release/erato}
plot=${ERATO_PLOT:-$submit_dir/target/release/erato-plot}
[ -x "$erato" ] || { echo "no erato at $erato: cargo build --release --features mpi, or set ERATO" >&2; exit 1; }
job=${SLURM_JOB_ID:-manual}
results=${ERATO_RESULTS:-$submit_dir/results}

powers_up_to() {
    local n=1 out=""
    while [ "$n" -le "$1" ]; do out="$out $n"; n=$((n * 2)); done
    echo "$out"
}

default_configs() {
    local out="" r t
    for r in $(powers_up_to "${SLURM_JOB_NUM_NODES:-1}"); do
        for t in $(powers_up_to "${SLURM_CPUS_PER_TASK:-1}"); do out="$out ${r}x${t}"; done
    done
    echo "$out"
}

# run_shape RANKS THREADS RECORD RANGE...: one erato run as RANKS ranks (one per node) of THREADS
# threads, its JSON record to RECORD.
run_shape() {
    local ranks=$1 threads=$2 record=$3
    shift 3
    srun --mpi=pmix --nodes="$ranks" --ntasks="$ranks" --ntasks-per-node=1 --cpus-per-task="$threads" \
        "$erato" "$@" -q --threads "$threads" --json-file "$record" >/dev/null
}

# finish STUDY KIND: collect the records into a CSV and plot it.
finish() {
    local study=$1 kind=$2
    "$plot" collect "$results/$study-$job"/*.json >"$results/$study-$job.csv"
    "$plot" plot "$results/$study-$job.csv" --kind "$kind" --out "$results/$study-$job"
    echo "records: $results/$study-$job/  csv: $results/$study-$job.csv  plots: $results/$study-$job-*.png"
}
