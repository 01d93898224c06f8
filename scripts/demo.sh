#!/usr/bin/env bash
# The main job: builds robustagg-demo (Release, -march=native) and runs it.
# Trains a small MLP on the handwritten digits with simulated workers and
# reproduces DETOX's and the noisy median paper's effects (docs/experiments.md).
# Installs the Debian packages it needs first (root or sudo the first time).
#
# Usage: bash scripts/demo.sh [robustagg-demo flags], e.g.
#   bash scripts/demo.sh                    # full run (a few minutes on 2 cores)
#   bash scripts/demo.sh --quick --csv out.csv
#   bash scripts/demo.sh --experiment heterogeneous
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh zlib1g-dev
build=build/demo
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DROBUSTAGG_NATIVE=ON \
      -DROBUSTAGG_BUILD_TESTS=OFF -DROBUSTAGG_BUILD_BENCHMARKS=OFF -DROBUSTAGG_BUILD_TOOLS=OFF \
      >/dev/null
cmake --build "$build" -j "$(nproc)" --target robustagg-demo
exec "$build/examples/robustagg-demo" "$@"
