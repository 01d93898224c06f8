# robustagg-demo --quick (the digits; demo_quick: the whole quick run,
# demo_csv_shape: 3 steps per run) with its output and CSV checked: the
# conclusions printed, no \r progress in a log, the exact CSV header, one row
# per run (detox: 8 attacks x 14 rules; heterogeneous: 2 x 11 rules) plus
# the accuracy-over-steps rows, accuracy in [0, 1].
#
# Included from tests/CMakeLists.txt it registers the test; run with
# cmake -DDEMO=... -DOUT=... -P demo.cmake it performs the check.
if(CMAKE_SCRIPT_MODE_FILE)
  cmake_policy(SET CMP0054 NEW)
  execute_process(COMMAND ${DEMO} --quick ${STEPS} --seed 5 --csv ${OUT}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE stdout ERROR_VARIABLE stderr)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "robustagg-demo failed (${rc}):\n${stdout}\n${stderr}")
  endif()
  foreach(part "Conclusion (clean = mean without attack" "best DETOX form" "worst plain rule"
               "Speed at d = 2410, p = 45" "Conclusion: without attack the median")
    string(FIND "${stdout}" "${part}" at)
    if(at EQUAL -1)
      message(FATAL_ERROR "the output lacks '${part}':\n${stdout}")
    endif()
  endforeach()
  string(FIND "${stderr}" "\r" at)
  if(NOT at EQUAL -1)
    message(FATAL_ERROR "progress written with \\r to a non-terminal stderr")
  endif()
  file(STRINGS ${OUT} lines)
  list(GET lines 0 header)
  if(NOT header STREQUAL "experiment,attack,rule,status,steps,accuracy,ms_per_aggregation,ms_per_step,note")
    message(FATAL_ERROR "unexpected CSV header: '${header}'")
  endif()
  list(REMOVE_AT lines 0)
  set(detox 0)
  set(heterogeneous 0)
  set(curves 0)
  foreach(line IN LISTS lines)
    # experiment,attack,rule (each quoted when it has commas),status,steps,accuracy,ms,ms,note
    if(NOT line MATCHES "^(detox|heterogeneous),(\"[^\"]+\"|[^,\"]+),(\"[^\"]+\"|[^,\"]+),(ok|diverged|curve),[0-9]+,([0-9]+\\.[0-9]+)?,([0-9]+\\.[0-9]+)?,([0-9]+\\.[0-9]+)?,")
      message(FATAL_ERROR "malformed CSV row: '${line}'")
    endif()
    if(CMAKE_MATCH_4 STREQUAL "curve")
      math(EXPR curves "${curves} + 1")
    else()
      math(EXPR ${CMAKE_MATCH_1} "${${CMAKE_MATCH_1}} + 1")
    endif()
    if(CMAKE_MATCH_5 GREATER 1)
      message(FATAL_ERROR "accuracy outside [0, 1]: '${line}'")
    endif()
  endforeach()
  # detox: 8 attacks x 14 rules; heterogeneous: 2 x 11 rules; curves: the
  # 14 ALIE runs, at least 2 points each.
  if(NOT detox EQUAL 112 OR NOT heterogeneous EQUAL 22 OR curves LESS 28)
    message(FATAL_ERROR "expected 112 detox, 22 heterogeneous and >= 28 curve rows, got ${detox}, ${heterogeneous}, ${curves}")
  endif()
  message(STATUS "demo CSV: ${detox} detox, ${heterogeneous} heterogeneous, ${curves} curve rows OK")
  return()
endif()

if(ROBUSTAGG_BUILD_EXAMPLES)
  find_package(ZLIB QUIET)
  if(ZLIB_FOUND)
    add_test(NAME demo_csv_shape
             COMMAND ${CMAKE_COMMAND} -DDEMO=$<TARGET_FILE:robustagg-demo> "-DSTEPS=--steps;3"
                     -DOUT=${CMAKE_CURRENT_BINARY_DIR}/demo_tiny.csv
                     -P ${CMAKE_CURRENT_LIST_FILE})
    add_test(NAME demo_quick
             COMMAND ${CMAKE_COMMAND} -DDEMO=$<TARGET_FILE:robustagg-demo>
                     -DOUT=${CMAKE_CURRENT_BINARY_DIR}/demo_quick.csv
                     -P ${CMAKE_CURRENT_LIST_FILE})
    set_tests_properties(demo_quick PROPERTIES TIMEOUT 300)
    add_test(NAME demo_help COMMAND robustagg-demo --help)
    set_tests_properties(demo_help PROPERTIES PASS_REGULAR_EXPRESSION "--experiment detox\\|heterogeneous\\|all")
    add_test(NAME demo_bad_flag COMMAND robustagg-demo --experiment nope)
    set_tests_properties(demo_bad_flag PROPERTIES WILL_FAIL TRUE)
  endif()
endif()
