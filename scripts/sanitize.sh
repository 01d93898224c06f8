#!/usr/bin/env bash
# Runs robustagg's test suite under sanitizers:
#   1. AddressSanitizer + UndefinedBehaviorSanitizer (-fno-sanitize-recover=all,
#      -D_GLIBCXX_ASSERTIONS): every ctest test of the unit tests and the CLI
#      (examples and the consumer builds are left to the plain build).
#   2. ThreadSanitizer: the threaded subset of the unit tests (Catch2 tags
#      [threads] and [concurrency]).
# Any sanitizer report fails the run. Each build has its own directory.
# The sanitized builds use clang (the plain build and the consumers use the
# default compiler, GCC on Debian): it compiles the instrumented kernels about
# twice as fast as GCC 12 (the ASan stage: ~10 instead of ~13 minutes on two
# cores), and the suite then runs under a second compiler too.
#
# Usage: bash scripts/sanitize.sh [asan|tsan|all]   (default all)
# Environment: ROBUSTAGG_ASAN_DIR (build/asan), ROBUSTAGG_TSAN_DIR (build/tsan),
#              JOBS (nproc), SANITIZE_CXX (the compiler; default clang++).
set -euo pipefail
cd "$(dirname "$0")/.."
# clang, and libclang-rt-14-dev: its sanitizer runtimes.
bash scripts/deps.sh clang libclang-rt-14-dev
export CXX=${SANITIZE_CXX:-clang++}
what=${1:-all}
asan_dir=${ROBUSTAGG_ASAN_DIR:-build/asan}
tsan_dir=${ROBUSTAGG_TSAN_DIR:-build/tsan}
jobs=${JOBS:-$(nproc)}

# The tool stays on so the CLI's tests run under the sanitizers too. Benchmarks
# and examples only cost time here (the demo alone is a multi-GB compile under
# ASan, the MPI test runs 16 ranks); the consumer tests check packaging, not
# memory safety, and are left to the plain build. The Python module is left out
# too: an ASan-built extension needs the ASan runtime preloaded into python3.
common=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DROBUSTAGG_BUILD_TESTS=ON
        -DROBUSTAGG_BUILD_BENCHMARKS=OFF -DROBUSTAGG_BUILD_EXAMPLES=OFF
        -DROBUSTAGG_BUILD_TOOLS=ON -DROBUSTAGG_BUILD_FUZZERS=OFF -DROBUSTAGG_BUILD_PYTHON=OFF
        # the kernels under ASan for the baseline architecture only: each instrumented
        # copy of the unrolled networks takes minutes (an AVX-512 copy ~7 CPU-minutes).
        # The plain build tests every architecture against the scalar references.
        -DROBUSTAGG_SIMD_ARCHS=sse2)

if [[ $what == all || $what == asan ]]; then
  echo "== ASan + UBSan: $asan_dir" >&2
  flags="-O1 -gline-tables-only -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all -D_GLIBCXX_ASSERTIONS"
  cmake -S . -B "$asan_dir" "${common[@]}" \
    -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="" \
    -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" >/dev/null
  cmake --build "$asan_dir" -j "$jobs"
  # halt_on_error and abort: a report fails the test; detect_leaks: on.
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:halt_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir "$asan_dir" --output-on-failure -j "$jobs" -E '^consumer[.]'
fi

if [[ $what == all || $what == tsan ]]; then
  # Only the test files with threaded tests, in a small project of their own
  # that takes robustagg by add_subdirectory (its usage requirements, nothing
  # else): a second sanitized build of the whole suite would double the time.
  mapfile -t files < <(grep -l -E '\[(threads|concurrency)\]' tests/test_*.cpp)
  echo "== ThreadSanitizer: $tsan_dir (tests tagged [threads] or [concurrency] in ${files[*]})" >&2
  mkdir -p "$tsan_dir/project"
  src=$(pwd)
  {
    echo "cmake_minimum_required(VERSION 3.21)"
    echo "project(robustagg_tsan LANGUAGES CXX)"
    echo "find_package(Catch2 2 REQUIRED)"
    echo "add_subdirectory(\"$src\" robustagg EXCLUDE_FROM_ALL)"
    echo "add_executable(threaded_tests \"$src/tests/main.cpp\""
    for f in "${files[@]}"; do echo "  \"$src/$f\""; done
    echo ")"
    echo "target_include_directories(threaded_tests PRIVATE \"$src/tests\")"
    echo "target_link_libraries(threaded_tests PRIVATE robustagg::robustagg Catch2::Catch2)"
  } >"$tsan_dir/project/CMakeLists.txt.new"
  # Rewrite only on change, so an unchanged list does not trigger a reconfigure.
  cmp -s "$tsan_dir/project/CMakeLists.txt.new" "$tsan_dir/project/CMakeLists.txt" ||
    mv "$tsan_dir/project/CMakeLists.txt.new" "$tsan_dir/project/CMakeLists.txt"
  flags="-O1 -gline-tables-only -fno-omit-frame-pointer -fsanitize=thread"
  cmake -S "$tsan_dir/project" -B "$tsan_dir/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="" \
    -DROBUSTAGG_SIMD_ARCHS=sse2 \
    -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=thread" >/dev/null
  cmake --build "$tsan_dir/build" -j "$jobs"
  # Catch2 v2: a comma between tags means "or".
  TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
    "$tsan_dir/build/threaded_tests" "[threads],[concurrency]"
fi
