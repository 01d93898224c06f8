#!/usr/bin/env bash
# The n sweep: bench_sweep (every rule family at n x d = 2^25 floats, n = 3 to
# 1024, with the read pass of each shape) and the peers (numpy, torch) on the
# same shapes, one after the other; writes the "How cost grows with n" section
# of docs/performance.md and docs/figures/performance_sweep.png.
# Usage: bash scripts/bench_sweep.sh [build-dir] [repetitions]
# Installs python3-torch and python3-matplotlib (benchmark-only dependencies).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh python3-torch python3-matplotlib
build=${1:-build/bench}
reps=${2:-3}
out="$build/results"
mkdir -p "$out" docs/figures
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DROBUSTAGG_NATIVE=ON \
  -DROBUSTAGG_BUILD_TESTS=OFF -DROBUSTAGG_BUILD_EXAMPLES=OFF -DROBUSTAGG_BUILD_TOOLS=OFF >/dev/null
cmake --build "$build" -j "$(nproc)" --target bench_sweep
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
"$build/benchmarks/bench_sweep" --benchmark_repetitions="$reps" --benchmark_report_aggregates_only=true \
  --benchmark_min_time=0.1 --benchmark_out="$out/bench_sweep.json" --benchmark_out_format=json >&2
rows=$(/usr/bin/python3 -c 'import json,sys,re
ns=sorted({int(re.search(r"/n:(\d+)/",b["name"]).group(1)) for b in json.load(open(sys.argv[1]))["benchmarks"]})
print(",".join(map(str,ns)))' "$out/bench_sweep.json")
/usr/bin/python3 benchmarks/peers.py --rows "$rows" --sweep 33554432 --reps "$reps" --out "$out/peers_sweep.json"
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
/usr/bin/python3 benchmarks/sweep_report.py --bench "$out/bench_sweep.json" --peers "$out/peers_sweep.json" \
  --load "Load average (1, 5, 15 min) before the run: $load_before; after: $load_after." \
  --doc docs/performance.md --figure docs/figures/performance_sweep.png
