#!/usr/bin/env bash
# Builds robustagg and runs its whole test suite (ctest), then builds the two
# consumer projects (find_package and add_subdirectory). Installs the Debian
# packages it needs first. Usage: bash scripts/test.sh [build-dir]
set -euo pipefail
cd "$(dirname "$0")/.."
# zlib: robustagg-demo and its CTest run; python3-torch (CPU, large: a few
# minutes to install): the Python module's torch tests and examples;
# python3-venv, -setuptools, -wheel: the pip test (python.pip_install);
# python3-mypy: the type stubs checked by a type checker (python.stubs); clang:
# the header-only syntax tests under clang (consumer.clang_header_only_*).
bash scripts/deps.sh zlib1g-dev python3-torch python3-venv python3-setuptools python3-wheel clang \
  python3-mypy
build=${1:-build/test}
jobs=$(nproc)
# The benchmarks are left to scripts/bench.sh (built with -march=native there):
# nothing here runs them, and they are a fifth of the build's compile time.
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DROBUSTAGG_BUILD_PYTHON=ON \
  -DROBUSTAGG_BUILD_BENCHMARKS=OFF -DPython3_EXECUTABLE=/usr/bin/python3
cmake --build "$build" -j "$jobs"
ctest --test-dir "$build" --output-on-failure -j "$jobs"
# Reliability (issue 5, docs/security.md): the whole suite under ASan+UBSan and
# the threaded tests under TSan, then every fuzz target over its seed corpus and
# for FUZZ_SECONDS (default 60) seconds each. ROBUSTAGG_SKIP_HARDENING=1 skips both.
if [[ ${ROBUSTAGG_SKIP_HARDENING:-0} != 1 ]]; then
  bash scripts/sanitize.sh
  bash scripts/fuzz.sh "${FUZZ_SECONDS:-60}"
fi
