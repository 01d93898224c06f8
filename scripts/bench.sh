#!/usr/bin/env bash
# Builds and runs the robustagg micro-benchmarks and the peer baselines (NumPy,
# torch) in one go, prints a short summary (each rule as a multiple of the
# read pass, the peers as multiples of robustagg) and writes the full report
# to <build-dir>/results/report.md (with its figure beside it). With
# --update-docs it writes docs/performance.md and
# docs/figures/performance_roofline.png instead.
# Usage: bash scripts/bench.sh [--update-docs] [build-dir] [repetitions]
# Installs python3-torch and python3-matplotlib (benchmark-only dependencies).
set -euo pipefail
cd "$(dirname "$0")/.."
update_docs=0
if [[ ${1:-} == --update-docs ]]; then update_docs=1; shift; fi
bash scripts/deps.sh python3-torch python3-matplotlib
build=${1:-build/bench}
reps=${2:-3}
out="$build/results"
mkdir -p "$out"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DROBUSTAGG_NATIVE=ON \
  -DROBUSTAGG_BUILD_TESTS=OFF -DROBUSTAGG_BUILD_EXAMPLES=OFF -DROBUSTAGG_BUILD_TOOLS=OFF
cmake --build "$build" -j "$(nproc)"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
benches=()
for b in "$build"/benchmarks/bench_*; do
  [ -x "$b" ] || continue
  name=$(basename "$b")
  echo "== $name" >&2
  "$b" --benchmark_repetitions="$reps" --benchmark_report_aggregates_only=true \
       --benchmark_min_time=0.2 --benchmark_format=console \
       --benchmark_out="$out/$name.json" --benchmark_out_format=json
  benches+=("$out/$name.json")
done
echo "== peers (numpy, torch)" >&2
/usr/bin/python3 benchmarks/peers.py --reps "$reps" --out "$out/peers.json"
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
doc="$out/report.md" figure="$out/performance_roofline.png"
if ((update_docs)); then doc=docs/performance.md figure=docs/figures/performance_roofline.png; fi
[[ -f $doc ]] || printf '# robustagg micro-benchmarks\n\n' >"$doc"
/usr/bin/python3 benchmarks/report.py --bench "${benches[@]}" --peers "$out/peers.json" \
  --load "Load average (1, 5, 15 min) before the run: $load_before; after: $load_after." \
  --doc "$doc" --figure "$figure" --summary
echo "wrote $doc and $figure" >&2
