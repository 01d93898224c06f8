# robustagg-demo --quick (the digits; demo_quick: the whole quick run,
# demo_csv_shape: 3 steps per run) with its output, progress log and CSV
# checked against each other:
#   - every experiment's tables and conclusions are printed, no \r reaches a
#     non-terminal stderr; --help names the q = 5 table's attacks;
#   - the log has one line per run, numbered 1..N in order, per experiment;
#   - the CSV has the documented header, one row per run (counts from the
#     design in docs/experiments.md), no run twice, accuracies in percent
#     with one decimal, and the accuracy curves;
#   - one rounding: the mean's clean accuracy is the same number in its
#     progress line, the printed table and the CSV;
#   - the conclusion "the mean fails under N of M attacks" agrees with the
#     CSV (fails: diverged or more than 10 points below the clean mean).
#
# Included from tests/CMakeLists.txt it registers the tests; run with
# cmake -DDEMO=... -DOUT=... -DLOG=... -P demo.cmake it performs the check.
# demo_public_api (run with -DDEMO_SOURCES=examples/demo): the demo uses only
# robustagg's public API, no robustagg::detail name and no detail/ header.
if(CMAKE_SCRIPT_MODE_FILE AND DEFINED DEMO_SOURCES)
  file(GLOB sources ${DEMO_SOURCES}/*.cpp ${DEMO_SOURCES}/*.hpp)
  list(LENGTH sources n)
  if(n EQUAL 0)
    message(FATAL_ERROR "no demo sources in '${DEMO_SOURCES}'")
  endif()
  foreach(f IN LISTS sources)
    file(READ ${f} text)
    if(text MATCHES "detail::|robustagg/detail/")
      message(FATAL_ERROR "${f} uses robustagg's internals ('${CMAKE_MATCH_0}'): the demo uses only the public API")
    endif()
  endforeach()
  message(STATUS "demo: ${n} sources, public API only")
  return()
endif()

if(CMAKE_SCRIPT_MODE_FILE)
  cmake_policy(SET CMP0054 NEW)
  cmake_policy(SET CMP0007 NEW)
  execute_process(COMMAND ${DEMO} --quick ${STEPS} --seed 5 --csv ${OUT} --log ${LOG}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE stdout ERROR_VARIABLE stderr)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "robustagg-demo failed (${rc}):\n${stdout}\n${stderr}")
  endif()
  foreach(part "== Experiment 1: DETOX" "Conclusion (a rule fails" "Points lost at q = 5"
               "Figure 1's q study" "Equal simulated time at q = 5" "== Experiment 2: DETOX with signSGD"
               "Conclusion: with no attack sign-vote" "== Experiment 3: heterogeneous data"
               "Conclusion: without attack the median" "The trade-off" "Best b per column" "total time")
    string(FIND "${stdout}" "${part}" at)
    if(at EQUAL -1)
      message(FATAL_ERROR "the output lacks '${part}':\n${stdout}")
    endif()
  endforeach()
  string(FIND "${stderr}" "\r" at)
  if(NOT at EQUAL -1)
    message(FATAL_ERROR "progress written with \\r to a non-terminal stderr")
  endif()
  # --help names the attacks of the q = 5 table (the first table with a
  # rule column): the same list, in the same order.
  execute_process(COMMAND ${DEMO} --help OUTPUT_VARIABLE help RESULT_VARIABLE rc)
  string(REGEX MATCH "DETOX forms under\n *([^;]+);" m "${help}")
  string(REGEX REPLACE "[ \n]+" "" help_attacks "${CMAKE_MATCH_1}")
  string(REGEX MATCH "\n\\| rule +\\|([^\n]*)\\|\n" m "${stdout}")
  string(REGEX REPLACE " +" "" table_attacks "${CMAKE_MATCH_1}")
  string(REPLACE "|" "," table_attacks "${table_attacks}")
  if(NOT rc EQUAL 0 OR help_attacks STREQUAL "" OR NOT help_attacks STREQUAL table_attacks)
    message(FATAL_ERROR "--help lists the attacks '${help_attacks}', the q = 5 table '${table_attacks}'")
  endif()

  # The progress log: per experiment, lines [name i/N] with i = 1..N in order.
  file(STRINGS ${LOG} log_lines)
  set(log_mean "")
  foreach(line IN LISTS log_lines)
    if(NOT line MATCHES "^\\[(detox|sign|heterogeneous) ([0-9]+)/([0-9]+)\\] (.*): ([0-9]+\\.[0-9]%|diverged at step [0-9]+) \\([0-9.e+-]+ s\\)$")
      message(FATAL_ERROR "malformed progress line: '${line}'")
    endif()
    set(name ${CMAKE_MATCH_1})
    if(NOT DEFINED seen_${name})
      set(seen_${name} 0)
    endif()
    math(EXPR want "${seen_${name}} + 1")
    if(NOT CMAKE_MATCH_2 EQUAL want)
      message(FATAL_ERROR "progress out of order: '${line}' after ${seen_${name}} ${name} lines")
    endif()
    set(seen_${name} ${want})
    set(total_${name} ${CMAKE_MATCH_3})
    if(CMAKE_MATCH_4 STREQUAL "detox q=0 none mean")
      string(REPLACE "%" "" log_mean "${CMAKE_MATCH_5}")
    endif()
  endforeach()
  foreach(name detox sign heterogeneous)
    if(NOT DEFINED seen_${name} OR NOT seen_${name} EQUAL total_${name})
      message(FATAL_ERROR "the log has ${seen_${name}} of ${total_${name}} ${name} lines")
    endif()
  endforeach()

  file(STRINGS ${OUT} lines)
  list(GET lines 0 header)
  if(NOT header STREQUAL "experiment,q,attack,rule,lr,status,steps,accuracy,ms_per_gradient,ms_per_aggregation,sim_seconds,note")
    message(FATAL_ERROR "unexpected CSV header: '${header}'")
  endif()
  list(REMOVE_AT lines 0)
  foreach(e detox equal-time sign sign-equal-time heterogeneous heterogeneous-iid)
    set(n_${e} 0)
  endforeach()
  set(curves 0)
  set(keys "")
  set(csv_mean "")
  set(mean_rows "")
  foreach(line IN LISTS lines)
    # experiment,q,attack,rule (quoted when it has commas),lr,status,steps,accuracy,ms,ms,seconds,note
    if(NOT line MATCHES "^(detox|equal-time|sign|sign-equal-time|heterogeneous|heterogeneous-iid),([0-9]+),(\"[^\"]+\"|[^,\"]+),(\"[^\"]+\"|[^,\"]+),(.*)$")
      message(FATAL_ERROR "malformed CSV row: '${line}'")
    endif()
    set(e ${CMAKE_MATCH_1})
    set(q ${CMAKE_MATCH_2})
    set(attack ${CMAKE_MATCH_3})
    set(rule ${CMAKE_MATCH_4})
    set(tail "${CMAKE_MATCH_5}")
    set(num "[0-9]+\\.?[0-9]*e?[-+]?[0-9]*")
    if(NOT tail MATCHES "^(${num})?,(ok|diverged|curve),([0-9]+),([0-9]+\\.[0-9])?,(${num})?,(${num})?,(${num})?,")
      message(FATAL_ERROR "malformed CSV row: '${line}'")
    endif()
    set(status ${CMAKE_MATCH_2})
    set(acc ${CMAKE_MATCH_4})
    if(acc MATCHES "^([0-9]+)\\.([0-9])$" AND CMAKE_MATCH_1 GREATER 100)
      message(FATAL_ERROR "accuracy outside [0, 100]: '${line}'")
    endif()
    if(status STREQUAL "curve")
      math(EXPR curves "${curves} + 1")
      continue()
    endif()
    math(EXPR n_${e} "${n_${e}} + 1")
    string(REGEX MATCH "^[^,]+,[^,]+,(\"[^\"]+\"|[^,\"]+),(\"[^\"]+\"|[^,\"]+),[^,]*,[^,]+,[0-9]+" key "${line}")
    string(REGEX REPLACE ",(ok|diverged)," "," key "${key}")
    list(FIND keys "${key}" dup)
    if(NOT dup EQUAL -1)
      message(FATAL_ERROR "run listed twice in the CSV: '${key}'")
    endif()
    list(APPEND keys "${key}")
    if(e STREQUAL "detox" AND rule STREQUAL "mean")
      if(attack STREQUAL "none")
        set(csv_mean "${acc}")
      elseif(q EQUAL 5)
        list(APPEND mean_rows "${attack}|${status}|${acc}")
      endif()
    endif()
  endforeach()
  # detox: 6 attacks (none included) x 9 rules (the mean, 4 vanilla rules,
  # their 4 DETOX forms) + the 8 pair rules under ALIE at q = 1 and q = 7;
  # equal-time: 4 vanilla forms x (none, alie); sign: 5 attacks (ipm(eps=10)
  # left out: the signs of ipm) x 2 rules + 2 with random groups; sign-equal-time: 2; heterogeneous (digits, 4 values
  # of b): 16 rules x (none, alie) + 5 noise levels x k = 1..3 (k = 0 is the
  # none column); heterogeneous-iid: 5 noise levels x k = 0..3.
  set(want_detox 70)
  set(want_equal-time 8)
  set(want_sign 12)
  set(want_sign-equal-time 2)
  set(want_heterogeneous 47)
  set(want_heterogeneous-iid 20)
  foreach(e detox equal-time sign sign-equal-time heterogeneous heterogeneous-iid)
    if(NOT n_${e} EQUAL want_${e})
      message(FATAL_ERROR "expected ${want_${e}} ${e} runs in the CSV, got ${n_${e}}")
    endif()
  endforeach()
  math(EXPR n_detox_log "${n_detox} + ${n_equal-time}")
  math(EXPR n_sign_log "${n_sign} + ${n_sign-equal-time}")
  math(EXPR n_het_log "${n_heterogeneous} + ${n_heterogeneous-iid}")
  if(NOT total_detox EQUAL n_detox_log OR NOT total_sign EQUAL n_sign_log OR NOT total_heterogeneous EQUAL n_het_log)
    message(FATAL_ERROR "the log's run counts differ from the CSV's")
  endif()
  # Curves: every detox run under none or alie (18 + 16), the equal-time runs
  # (8), every sign run (14): at least 2 points each.
  if(curves LESS 112)
    message(FATAL_ERROR "expected >= 112 curve rows, got ${curves}")
  endif()

  # One rounding: the clean mean in the log, the table and the CSV.
  string(REGEX MATCH "\n\\| `mean` +\\| +([0-9]+\\.[0-9]|diverged) \\|" row "${stdout}")
  set(table_mean "${CMAKE_MATCH_1}")
  if(NOT log_mean STREQUAL csv_mean OR NOT table_mean STREQUAL csv_mean OR csv_mean STREQUAL "")
    message(FATAL_ERROR "the clean mean differs: log '${log_mean}', table '${table_mean}', CSV '${csv_mean}'")
  endif()
  # The conclusion about the mean, recomputed from the CSV.
  string(REPLACE "." "" clean_tenths "${csv_mean}")
  math(EXPR limit "${clean_tenths} - 100")
  set(fails 0)
  list(LENGTH mean_rows attacks)
  foreach(r IN LISTS mean_rows)
    string(REPLACE "|" ";" r "${r}")
    list(GET r 1 status)
    list(GET r 2 acc)
    string(REPLACE "." "" t "${acc}")
    if(status STREQUAL "diverged" OR t LESS limit)
      math(EXPR fails "${fails} + 1")
    endif()
  endforeach()
  string(FIND "${stdout}" "the mean fails under ${fails} of ${attacks} attacks" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "the conclusion does not say 'the mean fails under ${fails} of ${attacks} attacks' (from the CSV):\n${stdout}")
  endif()
  message(STATUS "demo: ${n_detox} detox, ${n_sign} sign, ${n_heterogeneous} + ${n_heterogeneous-iid} heterogeneous runs, ${curves} curve rows; mean ${csv_mean}%, fails under ${fails} of ${attacks}")
  return()
endif()

if(ROBUSTAGG_BUILD_EXAMPLES)
  find_package(ZLIB QUIET)
  if(ZLIB_FOUND)
    add_test(NAME demo_csv_shape
             COMMAND ${CMAKE_COMMAND} -DDEMO=$<TARGET_FILE:robustagg-demo> "-DSTEPS=--steps;3"
                     -DOUT=${CMAKE_CURRENT_BINARY_DIR}/demo_tiny.csv -DLOG=${CMAKE_CURRENT_BINARY_DIR}/demo_tiny.log
                     -P ${CMAKE_CURRENT_LIST_FILE})
    add_test(NAME demo_quick
             COMMAND ${CMAKE_COMMAND} -DDEMO=$<TARGET_FILE:robustagg-demo>
                     -DOUT=${CMAKE_CURRENT_BINARY_DIR}/demo_quick.csv -DLOG=${CMAKE_CURRENT_BINARY_DIR}/demo_quick.log
                     -P ${CMAKE_CURRENT_LIST_FILE})
    set_tests_properties(demo_quick PROPERTIES TIMEOUT 300)
    add_test(NAME demo_public_api
             COMMAND ${CMAKE_COMMAND} -DDEMO_SOURCES=${PROJECT_SOURCE_DIR}/examples/demo -P ${CMAKE_CURRENT_LIST_FILE})
    add_test(NAME demo_help COMMAND robustagg-demo --help)
    set_tests_properties(demo_help PROPERTIES PASS_REGULAR_EXPRESSION "--experiment detox\\|sign\\|heterogeneous\\|all")
    add_test(NAME demo_bad_flag COMMAND robustagg-demo --experiment nope)
    set_tests_properties(demo_bad_flag PROPERTIES WILL_FAIL TRUE)
  endif()
endif()
