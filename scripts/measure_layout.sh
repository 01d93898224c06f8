#!/usr/bin/env bash
# Measures column-major against row-major input (benchmarks/bench_layout.cpp:
# one binary, the same values in both layouts, outputs checked bitwise equal
# first) and writes the "Column-major input" figures of docs/performance.md.
# Usage: [BUILD=dir] bash scripts/measure_layout.sh [repetitions]   (default 9)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
reps=${1:-9}
build=${BUILD:-build/layout}  # BUILD=<dir>: an existing build with the benchmarks
out=$build/results
mkdir -p "$out"
if [[ -z ${BUILD:-} ]]; then
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DROBUSTAGG_BUILD_TESTS=OFF -DROBUSTAGG_BUILD_EXAMPLES=OFF \
    -DROBUSTAGG_BUILD_TOOLS=OFF -DROBUSTAGG_BUILD_BENCHMARKS=ON >/dev/null
fi
cmake --build "$build" -j "$(nproc)" --target bench_layout
"$build"/benchmarks/bench_layout --benchmark_repetitions="$reps" --benchmark_report_aggregates_only=true \
  --benchmark_min_time=0.2 --benchmark_out="$out/layout.json" --benchmark_out_format=json >&2
/usr/bin/python3 - "$out/layout.json" "$(cut -d' ' -f1-3 /proc/loadavg)" "$reps" <<'PY'
import sys; sys.path.insert(0, "benchmarks")
from report import write_block
import json
path, load, reps = sys.argv[1], sys.argv[2], sys.argv[3]
t, reads = {}, []
for b in json.load(open(path))["benchmarks"]:
    if b.get("aggregate_name") == "median":
        if b["run_name"].startswith("BM_ReadPass"):
            reads.append(b["real_time"])  # one thread and all threads: the faster is the baseline
        else:
            t[b["run_name"].split("/n:")[0]] = b["real_time"]
read = min(reads)
specs = []
for k in t:
    if k.startswith("BM_Layout/row_major/workspace/"):
        specs.append(k.split("/", 3)[3])
COORD = {"median", "trimmed-mean(f=2)", "mean", "sign-vote"}
lines = ["<!-- layout:begin -->",
         f"n = 15, d = 2^20 floats, all threads, median of {reps} repetitions, one binary "
         f"(`benchmarks/bench_layout.cpp`, run by `scripts/measure_layout.sh`); load average after the run: {load}. "
         "Times in ms; ratios are column-major over row-major in the same form. Goals: ≤ 1.2× for the "
         "coordinate-wise rules, ≤ 1.5× for the others.", "",
         "| rule | row-major, workspace | column-major, workspace | ratio | row-major, value | column-major, value | ratio |",
         "|---|---|---|---|---|---|---|"]
for s in specs:
    rw, cw = t[f"BM_Layout/row_major/workspace/{s}"], t[f"BM_Layout/col_major/workspace/{s}"]
    rv, cv = t[f"BM_Layout/row_major/value/{s}"], t[f"BM_Layout/col_major/value/{s}"]
    bound = 1.2 if s in COORD else 1.5
    mark = lambda r: f"**{r:.2f}**" if r > bound else f"{r:.2f}"
    lines.append(f"| {s} | {rw:.2f} | {cw:.2f} | {mark(cw / rw)} | {rv:.2f} | {cv:.2f} | {mark(cv / rv)} |")
lines += ["", f"One read pass of the input: {read:.2f} ms. Bold: over the goal.", "<!-- layout:end -->"]
block = "\n".join(lines)
write_block("docs/performance.md", "<!-- layout:begin -->", "<!-- layout:end -->", block)
print(block)
PY
