#!/usr/bin/env bash
# Builds robustagg's libFuzzer targets (clang, -fsanitize=fuzzer,address,undefined)
# and runs each one: first over its committed seed corpus (fuzz/corpus/<target>/),
# then for a bounded time on new inputs (all targets at the same time). Fails on any finding (crash, sanitizer
# report, broken invariant, timeout, out-of-memory); the input that triggered it
# is left in <build>/artifacts/.
#
# Usage: bash scripts/fuzz.sh [seconds-per-target] [target...]
#   seconds: default $FUZZ_SECONDS or 60; 0 only replays the seed corpora.
#   targets: default every fuzz/fuzz_*.cpp (fuzz_npy fuzz_spec fuzz_aggregate).
# Environment: ROBUSTAGG_FUZZ_DIR (build/fuzz), JOBS (nproc).
# Reproduce a finding: <build>/fuzz/<target> <artifact-file>
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh clang libclang-rt-14-dev
seconds=${1:-${FUZZ_SECONDS:-60}}
shift || true
build=${ROBUSTAGG_FUZZ_DIR:-build/fuzz}
jobs=${JOBS:-$(nproc)}
targets=("$@")
if ((${#targets[@]} == 0)); then
  for src in fuzz/fuzz_*.cpp; do targets+=("$(basename "$src" .cpp)"); done
fi

# The library (its dispatched kernels included) is built with the same
# sanitizers as the targets; they add -fsanitize=fuzzer at link time.
CXX=${FUZZ_CXX:-clang++} cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS="-O1 -gline-tables-only -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all" \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="" \
  -DROBUSTAGG_SIMD_ARCHS=sse2 \
  -DROBUSTAGG_BUILD_FUZZERS=ON -DROBUSTAGG_BUILD_TESTS=OFF -DROBUSTAGG_BUILD_BENCHMARKS=OFF \
  -DROBUSTAGG_BUILD_EXAMPLES=OFF -DROBUSTAGG_BUILD_TOOLS=OFF -DROBUSTAGG_INSTALL=OFF >/dev/null
cmake --build "$build" -j "$jobs" --target "${targets[@]}"

mkdir -p "$build/artifacts"
export ASAN_OPTIONS=abort_on_error=1:detect_leaks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
status=0
declare -A pids
for t in "${targets[@]}"; do
  bin="$build/fuzz/$t"
  seeds="fuzz/corpus/$t"
  work="$build/corpus/$t"  # new inputs go here, never into the committed corpus
  mkdir -p "$work"
  dict=()
  [[ -f fuzz/$t.dict ]] && dict=(-dict="fuzz/$t.dict")
  common=(-timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=1024 -print_final_stats=1
          -artifact_prefix="$build/artifacts/$t-" "${dict[@]}")
  echo "== $t: replaying $(ls "$seeds" | wc -l) seeds" >&2
  if ! "$bin" "${common[@]}" -runs=0 "$seeds" >"$build/$t.replay.log" 2>&1; then
    tail -n 40 "$build/$t.replay.log" >&2
    echo "FAIL: $t crashed on its seed corpus (log: $build/$t.replay.log)" >&2
    status=1
    continue
  fi
  if ((seconds > 0)); then
    # The targets fuzz at the same time (one process each), so the stage
    # takes `seconds` however many targets there are.
    echo "== $t: fuzzing for ${seconds}s" >&2
    "$bin" "${common[@]}" -max_total_time="$seconds" "$work" "$seeds" >"$build/$t.log" 2>&1 &
    pids[$t]=$!
  fi
done
for t in "${!pids[@]}"; do
  if ! wait "${pids[$t]}"; then
    tail -n 60 "$build/$t.log" >&2
    echo "FAIL: $t found a problem (log: $build/$t.log, input: $build/artifacts/$t-*)" >&2
    status=1
    continue
  fi
  echo "== $t:" >&2
  grep -E "stat::number_of_executed_units|stat::peak_rss_mb" "$build/$t.log" | sed "s/^/   /" >&2 || true
done
exit $status
