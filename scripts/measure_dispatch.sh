#!/usr/bin/env bash
# Measures what run-time dispatch and the compiled kernel library give a
# consumer, and writes the "Dispatch and compile time" section of
# docs/performance.md:
#  - bench_dispatch from a build without -march (every architecture forced in
#    turn, and "auto") and from a build with CMAKE_CXX_FLAGS=-march=native,
#    the two binaries alternated for ROUNDS rounds (default 3: one pass of a
#    binary can swing by 1.6x on a shared machine), each figure the median of
#    the rounds' medians;
#  - bench_modes: a header-only program (a plain #include built with
#    -O2 -march=native) against the compiled library, in one binary;
#  - the compile time (g++ -O2 -c, median of 3) of benchmarks/compile/
#    three_rules.cpp and parse_rule.cpp, header-only and with
#    ROBUSTAGG_COMPILED_LIB (the robustagg::robustagg usage), against the
#    Eigen-only eigen_only.cpp.
# Usage: bash scripts/measure_dispatch.sh [repetitions per round]   (ROUNDS=3)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
reps=${1:-3}
rounds=${ROUNDS:-3}
out=build/dispatch-results
mkdir -p "$out"
common=(-DCMAKE_BUILD_TYPE=Release -DROBUSTAGG_BUILD_TESTS=OFF -DROBUSTAGG_BUILD_EXAMPLES=OFF
        -DROBUSTAGG_BUILD_TOOLS=OFF -DROBUSTAGG_BUILD_BENCHMARKS=ON)
cmake -S . -B build/dispatch-plain "${common[@]}" >/dev/null
cmake -S . -B build/dispatch-native "${common[@]}" -DCMAKE_CXX_FLAGS=-march=native >/dev/null
cmake --build build/dispatch-plain -j "$(nproc)" --target bench_dispatch bench_modes
cmake --build build/dispatch-native -j "$(nproc)" --target bench_dispatch
rm -f "$out"/*.json
for ((round = 1; round <= rounds; ++round)); do
  for flavour in plain native; do
    build/dispatch-$flavour/benchmarks/bench_dispatch --benchmark_repetitions="$reps" \
      --benchmark_report_aggregates_only=true --benchmark_min_time=0.2 \
      --benchmark_out="$out/$flavour-$round.json" --benchmark_out_format=json >&2
  done
done
build/dispatch-plain/benchmarks/bench_modes --benchmark_repetitions="$((reps * rounds))" \
  --benchmark_report_aggregates_only=true --benchmark_min_time=0.2 \
  --benchmark_out="$out/modes.json" --benchmark_out_format=json >&2
times() {  # median of 3 compile times of $1 (further arguments: extra flags)
  local src=$1; shift
  for _ in 1 2 3; do
    /usr/bin/time -f %e g++ -std=c++17 -O2 "$@" -c "$src" -Iinclude -isystem /usr/include/eigen3 \
      -o /dev/null 2>&1 >/dev/null | tail -n 1
  done | sort -n | sed -n 2p
}
eigen=$(times benchmarks/compile/eigen_only.cpp)
three=$(times benchmarks/compile/three_rules.cpp)
probe=$(times benchmarks/compile/parse_rule.cpp)
three_lib=$(times benchmarks/compile/three_rules.cpp -DROBUSTAGG_COMPILED_LIB)
probe_lib=$(times benchmarks/compile/parse_rule.cpp -DROBUSTAGG_COMPILED_LIB)
/usr/bin/python3 - "$out" "$eigen" "$three" "$probe" "$three_lib" "$probe_lib" \
  "$(cut -d' ' -f1-3 /proc/loadavg)" "$rounds" "$reps" <<'PY'
import sys; sys.path.insert(0, "benchmarks")
from report import write_block
import glob, json, statistics, sys
out = sys.argv[1]
eigen, three, probe, three_lib, probe_lib = map(float, sys.argv[2:7])
load, rounds, reps = sys.argv[7], int(sys.argv[8]), int(sys.argv[9])
def medians(flavour):
    """Per benchmark, the median over the rounds of each round's median."""
    per = {}
    for path in sorted(glob.glob(f"{out}/{flavour}-*.json")):
        for b in json.load(open(path))["benchmarks"]:
            if b.get("aggregate_name") != "median":
                continue
            t = b["seconds"] if "seconds" in b else b["real_time"] / 1e3
            per.setdefault(b["run_name"].split("/n:")[0], []).append(t)
    return {k: statistics.median(v) for k, v in per.items()}
plain, native = medians("plain"), medians("native")
read = plain.get("BM_ReadPass")
rows = []
ORDER = ["median", "trimmed-mean(f=2)", "krum(f=2)", "bulyan(f=2)", "sign-vote", "mean",
         "noisy-median(b=0.1)", "noisy-sign-vote(b=0.1)"]
specs = sorted({k.split("/")[1] for k in plain if k.startswith("BM_Dispatch/")},
               key=lambda s: ORDER.index(s)
               if s in ORDER else 99)
archs = [k.split("/")[2] for k in plain if k.startswith("BM_Dispatch/median/")]
lines = ["<!-- dispatch:begin -->", "## Dispatch and compile time (scripts/measure_dispatch.sh)", "",
         f"n = 15, d = 10^7 floats, all threads. The plain and the native binary alternated {rounds} times "
         f"({reps} repetitions each); each figure is the median of the rounds' medians. "
         f"Load average after the run: {load}.",
         "Times in ms; ratios are to the plain build's `auto` (what a plain -O2 consumer runs).", "",
         "| rule | " + " | ".join(f"plain, {a}" for a in archs) + " | -march=native, auto | native / plain auto | sse2 / plain auto |",
         "|---|" + "---|" * (len(archs) + 3)]
for s in specs:
    base = plain.get(f"BM_Dispatch/{s}/auto")
    nat = native.get(f"BM_Dispatch/{s}/auto")
    cells = [f"{plain[f'BM_Dispatch/{s}/{a}'] * 1e3:.1f}" for a in archs]
    sse = plain.get(f"BM_Dispatch/{s}/sse2")
    lines.append(f"| {s} | " + " | ".join(cells) + f" | {nat * 1e3:.1f} | {nat / base:.2f} | " +
                 (f"{sse / base:.2f}" if sse else "–") + " |")
if read:
    lines += ["", f"One read pass of the same input: {read * 1e3:.1f} ms (plain build)."]
modes = {}
for b in json.load(open(f"{out}/modes.json"))["benchmarks"]:
    if b.get("aggregate_name") == "median":
        modes[b["run_name"].split("/n:")[0]] = (b["real_time"], b.get("label", ""))
lines += ["", "### Header-only against the compiled library (benchmarks/bench_modes.cpp)", "",
          f"One binary, n = 15, d = 10^7 floats, all threads, median of {reps * rounds} repetitions; outputs "
          "checked bitwise equal before timing. `compiled`: robustagg::robustagg in a build without `-march` "
          "(run-time dispatch); `header-only`: a plain `#include` compiled with `-O2 -march=native`.", "",
          "| rule | compiled (ms) | header-only (ms) | header-only / compiled |", "|---|---|---|---|"]
for s in ["mean", "median", "trimmed-mean(f=2)", "krum(f=2)", "bulyan(f=2)", "geometric-median", "monna(f=2)",
          "clip(c=1, then=mean)"]:
    c, h = modes.get(f"BM_Mode/compiled/{s}"), modes.get(f"BM_Mode/header_only/{s}")
    if c and h:
        lines.append(f"| {s} ({c[1]} / {h[1]}) | {c[0]:.2f} | {h[0]:.2f} | {h[0] / c[0]:.2f} |")
lines += ["", "Compile time, `g++ -O2 -c`, median of 3, against the Eigen-only `benchmarks/compile/eigen_only.cpp` "
          f"({eigen:.1f} s):", "",
          "| file | header-only (a plain #include) | with ROBUSTAGG_COMPILED_LIB (robustagg::robustagg) |",
          "|---|---|---|",
          f"| `three_rules.cpp` (Median, Krum, Bulyan by type) | {three:.1f} s, **{three / eigen:.1f}×** | "
          f"{three_lib:.1f} s, {three_lib / eigen:.1f}× |",
          f"| `parse_rule.cpp` (a rule chosen at run time) | {probe:.1f} s, **{probe / eigen:.1f}×** | "
          f"{probe_lib:.1f} s, {probe_lib / eigen:.1f}× |", "<!-- dispatch:end -->"]
block = "\n".join(lines)
write_block("docs/performance.md", "<!-- dispatch:begin -->", "<!-- dispatch:end -->", block)
print(block)
PY
