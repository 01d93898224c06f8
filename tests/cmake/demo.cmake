# A tiny robustagg-demo run (3 training steps per run) whose CSV is checked
# for shape: the exact header, 63 rows (detox: 5 attacks x 10 rules;
# heterogeneous: 13 rules), accuracy in [0, 1], ms >= 0.
#
# Included from tests/CMakeLists.txt it registers the test; run with
# cmake -DDEMO=... -DOUT=... -P demo.cmake it performs the check.
if(CMAKE_SCRIPT_MODE_FILE)
  execute_process(COMMAND ${DEMO} --quick --steps 3 --seed 5 --csv ${OUT}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE stdout ERROR_VARIABLE stderr)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "robustagg-demo failed (${rc}):\n${stdout}\n${stderr}")
  endif()
  file(STRINGS ${OUT} lines)
  list(LENGTH lines count)
  list(GET lines 0 header)
  if(NOT header STREQUAL "experiment,attack,rule,accuracy,ms_per_aggregation")
    message(FATAL_ERROR "unexpected CSV header: '${header}'")
  endif()
  if(NOT count EQUAL 64)
    message(FATAL_ERROR "expected 1 header + 63 rows, got ${count} lines")
  endif()
  list(REMOVE_AT lines 0)
  set(detox 0)
  set(heterogeneous 0)
  foreach(line IN LISTS lines)
    # experiment,attack,rule (quoted when it has commas),accuracy,ms
    if(NOT line MATCHES "^(detox|heterogeneous),[a-z]+,(\"[^\"]+\"|[^,\"]+),([0-9]+\\.[0-9]+),([0-9]+\\.[0-9]+)$")
      message(FATAL_ERROR "malformed CSV row: '${line}'")
    endif()
    math(EXPR ${CMAKE_MATCH_1} "${${CMAKE_MATCH_1}} + 1")
    if(CMAKE_MATCH_3 GREATER 1)
      message(FATAL_ERROR "accuracy outside [0, 1]: '${line}'")
    endif()
  endforeach()
  if(NOT detox EQUAL 50 OR NOT heterogeneous EQUAL 13)
    message(FATAL_ERROR "expected 50 detox and 13 heterogeneous rows, got ${detox} and ${heterogeneous}")
  endif()
  message(STATUS "demo CSV: header and ${count} lines OK")
  return()
endif()

if(ROBUSTAGG_BUILD_EXAMPLES)
  find_package(ZLIB QUIET)
  if(ZLIB_FOUND)
    add_test(NAME demo_csv_shape
             COMMAND ${CMAKE_COMMAND} -DDEMO=$<TARGET_FILE:robustagg-demo>
                     -DOUT=${CMAKE_CURRENT_BINARY_DIR}/demo_tiny.csv
                     -P ${CMAKE_CURRENT_LIST_FILE})
    add_test(NAME demo_help COMMAND robustagg-demo --help)
    set_tests_properties(demo_help PROPERTIES PASS_REGULAR_EXPRESSION "--experiment detox\\|heterogeneous\\|all")
    add_test(NAME demo_bad_flag COMMAND robustagg-demo --experiment nope)
    set_tests_properties(demo_bad_flag PROPERTIES WILL_FAIL TRUE)
  endif()
endif()
