#!/usr/bin/env bash
# robustagg::mpi::all_reduce at p = 2, 4 and 8 ranks, d = 10^7 floats (one
# gradient per rank): sharded mode, server mode (gather to rank 0) and a plain
# MPI_Allreduce sum, per step and per rank; writes the ratios into
# docs/distributed.md (the block between the bench-distributed markers).
# On a machine with fewer cores than ranks, the ranks are oversubscribed:
# wall times then include time slicing, and the doc says so.
# Each rank aggregates on one thread (--threads 1): the per-rank work, and
# oversubscribed ranks do not compete with each other's thread pools.
# Usage: bash benchmarks/bench_distributed.sh [build-dir] [d] [reps]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/bench-distributed}
d=${2:-10000000}
reps=${3:-5}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DROBUSTAGG_BUILD_BENCHMARKS=ON \
  -DROBUSTAGG_BUILD_TESTS=OFF -DROBUSTAGG_BUILD_EXAMPLES=OFF -DROBUSTAGG_BUILD_TOOLS=OFF \
  -DROBUSTAGG_BUILD_PYTHON=OFF >/dev/null
cmake --build "$build" --target robustagg_mpi_bench -j 2
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_mpi_yield_when_idle=1 \
  OMPI_MCA_btl=self,vader OMPI_MCA_btl_vader_single_copy_mechanism=none
out="$build/distributed.txt"
: >"$out"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
for p in 2 4 8; do
  echo "== $p ranks" >&2
  mpirun -np "$p" --oversubscribe "$build/benchmarks/robustagg_mpi_bench" --d "$d" --reps "$reps" --threads 1 |
    tee -a "$out"
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
/usr/bin/python3 benchmarks/distributed_report.py "$out" "$(nproc)" "$load_before" "$load_after"
