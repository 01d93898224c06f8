#!/usr/bin/env bash
# The main job: builds robustagg-demo (Release, -march=native) and runs it.
# Trains an MLP on Fashion-MNIST (the --quick run: the 8x8 digits) with
# simulated workers and reproduces DETOX's and the noisy median paper's
# effects (docs/experiments.md). Installs the Debian packages it needs first
# (Fashion-MNIST included; root or sudo the first time). It makes no plots
# and needs no Python: the figures are a separate step,
#   /usr/bin/python3 scripts/plot_experiments.py out.csv docs/figures
# (needs python3-matplotlib: bash scripts/deps.sh python3-matplotlib).
#
# Usage: bash scripts/demo.sh [robustagg-demo flags], e.g.
#   bash scripts/demo.sh                    # the default run (under 5 minutes on 2 cores, build included)
#   bash scripts/demo.sh --full             # more rules and attacks, optimal-alie included (much longer)
#   bash scripts/demo.sh --quick --csv out.csv
#   bash scripts/demo.sh --experiment sign
# Progress (one line per finished run, in order) goes to build/demo/progress.log
# unless --log FILE is given; the tables and conclusions to stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh zlib1g-dev dataset-fashion-mnist
build=build/demo
echo "building robustagg-demo in $build (about a minute) ..." >&2
# The kernels for this machine only (ROBUSTAGG_SIMD_ARCHS=native with
# -march=native): one copy to compile instead of three.
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DROBUSTAGG_NATIVE=ON \
      -DROBUSTAGG_SIMD_ARCHS=native -DCMAKE_CXX_FLAGS=-march=native \
      -DROBUSTAGG_BUILD_TESTS=OFF -DROBUSTAGG_BUILD_BENCHMARKS=OFF -DROBUSTAGG_BUILD_TOOLS=OFF \
      -DROBUSTAGG_BUILD_PYTHON=OFF >/dev/null
# The compiler's output goes to a log, shown only if the build fails.
log="$build/build.log"
if ! cmake --build "$build" -j "$(nproc)" --target robustagg-demo >"$log" 2>&1; then
  grep -E "error|Error" "$log" | head -40 >&2
  echo "build failed; full log: $log" >&2
  exit 1
fi
log=()
case " $* " in *" --log "*) ;; *) log=(--log "$build/progress.log") ;; esac
exec "$build/examples/robustagg-demo" "${log[@]}" "$@"
