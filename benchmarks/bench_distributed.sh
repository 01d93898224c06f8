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
/usr/bin/python3 - "$out" "$(nproc)" "$load_before" "$load_after" <<'PY'
import sys
sys.path.insert(0, "benchmarks")
from report import write_block
path, cores, lb, la = sys.argv[1:5]
rows = [l.split() for l in open(path) if l.strip() and not l.startswith("rule")]
res = {(r[0], r[1], int(r[2])): dict(d=int(r[3]), wall=float(r[4]), cpu=float(r[5]), bytes=float(r[6]))
       for r in rows}
ps = sorted({k[2] for k in res})
rules = [k[0] for k in res if k[1] == "sharded"]
rules = list(dict.fromkeys(rules))
d = rows[0][3]
lines = ["<!-- bench-distributed:begin -->",
         f"One run of `bash benchmarks/bench_distributed.sh` (d = {int(d):,} floats per rank, median of "
         f"the steps; aggregation on one thread per rank; {cores} cores, so 4 and 8 ranks are **oversubscribed**: wall times include time "
         f"slicing between ranks; load average {lb} before, {la} after, shared with other work).", "",
         "| rule | p | sharded bytes / ring all-reduce bytes | sharded agg. CPU / (server agg. CPU / p) "
         "| sharded wall / server wall | sharded wall / plain all-reduce wall | server agg. CPU (s) |",
         "|---|---|---|---|---|---|---|"]
for rule in rules:
    for p in ps:
        s, v, a = res[(rule, "sharded", p)], res[(rule, "server", p)], res[("sum", "allreduce", p)]
        lines.append(f"| {rule} | {p} | {s['bytes'] / a['bytes']:.3f} | "
                     f"{s['cpu'] / (v['cpu'] / p):.2f} | {s['wall'] / v['wall']:.2f} | "
                     f"{s['wall'] / a['wall']:.2f} | {v['cpu']:.3f} |")
lines += ["", "Raw lines (rule mode p d wall_s agg_cpu_s bytes_sent):", "", "```"]
lines += [l.rstrip() for l in open(path)]
lines += ["```", "<!-- bench-distributed:end -->"]
write_block("docs/distributed.md", "<!-- bench-distributed:begin -->", "<!-- bench-distributed:end -->",
            "\n".join(lines))
print("\n".join(lines))
PY
