#!/usr/bin/env bash
# Before/after: the current library, built without -march (what a plain -O2
# consumer gets through run-time dispatch), against the include/ of an older
# revision built with -march=native (how that revision's figures were
# published), every rule of the kernel engine at n = 3..401 (n * d = 2^22
# floats, one thread), both sides in one binary with their repetitions
# interleaved (benchmarks/before_after/). Writes the "Before and after the
# dispatch" block of docs/performance.md: per rule and n, the median time now
# divided by the median time then (below 1: faster now).
#
# Usage: bash scripts/bench_before_after.sh [revision] [repetitions]
#   revision: default 3fd466b, the last commit before run-time dispatch
#   repetitions: default 5
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
rev=${1:-3fd466b}
reps=${2:-5}
root=build/before-after
rm -rf "$root/before"
mkdir -p "$root/before"
git archive "$rev" include | tar -x -C "$root/before"
cmake -S benchmarks/before_after -B "$root/build" -DCMAKE_BUILD_TYPE=Release \
  -DROBUSTAGG_SOURCE="$PWD" -DROBUSTAGG_BEFORE_INCLUDE="$PWD/$root/before/include" >/dev/null
cmake --build "$root/build" -j "$(nproc)"
"$root/build/bench_before_after" --benchmark_repetitions="$reps" \
  --benchmark_enable_random_interleaving=true --benchmark_report_aggregates_only=true \
  --benchmark_min_time=0.1 --benchmark_out="$root/results.json" --benchmark_out_format=json >&2
/usr/bin/python3 - "$root/results.json" "$(git rev-parse --short "$rev")" \
  "$(git rev-parse --short HEAD)" "$(cut -d' ' -f1-3 /proc/loadavg)" <<'PY'
import sys; sys.path.insert(0, "benchmarks")
from report import write_block
import json, re, sys
path, rev, head, load = sys.argv[1:5]
med = {}
for b in json.load(open(path))["benchmarks"]:
    if b.get("aggregate_name") != "median":
        continue
    side, spec, n, _ = re.match(r"(before|after)/(.*)/n:(\d+)/d:(\d+)", b["run_name"]).groups()
    med[(side, spec, int(n))] = b["real_time"]  # ms
ns = sorted({k[2] for k in med})
def family(spec):
    return re.sub(r"\(f=\d+\)", "(f)", spec)
rules = []
for k in med:
    if family(k[1]) not in rules:
        rules.append(family(k[1]))
ratio = {}
for (side, spec, n), t in med.items():
    if side == "after" and ("before", spec, n) in med:
        ratio[(family(spec), n)] = t / med[("before", spec, n)]
lines = ["<!-- before-after:begin -->", "## Before and after the dispatch (scripts/bench_before_after.sh)", "",
         f"Now ({head}, plain build: run-time dispatch) against {rev} (the last commit before it, header-only, "
         "built with `-march=native`), in one binary, repetitions interleaved; n·d = 2^22 floats, one thread, "
         "f = (n − 3)/4; median of the repetitions. Each cell is the time now divided by the time then "
         f"(below 1: faster now). Load average after the run: {load}.", "",
         "| rule | " + " | ".join(f"n={n}" for n in ns) + " |", "|---|" + "---|" * len(ns)]
worst = (0.0, "", 0)
for r in rules:
    cells = []
    for n in ns:
        x = ratio.get((r, n))
        cells.append("–" if x is None else f"{x:.2f}")
        if x is not None and x > worst[0]:
            worst = (x, r, n)
    lines.append(f"| {r} | " + " | ".join(cells) + " |")
lines += ["", f"Largest ratio: {worst[0]:.2f} ({worst[1]}, n = {worst[2]}).", "<!-- before-after:end -->"]
block = "\n".join(lines)
write_block("docs/performance.md", "<!-- before-after:begin -->", "<!-- before-after:end -->", block)
print(block)
PY
