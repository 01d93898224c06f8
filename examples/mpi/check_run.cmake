# Runs robustagg-mpi-ps under mpirun and checks the outcome (a CTest helper,
# `cmake -DCOMMAND=<;-list> -DMODE=... -P check_run.cmake`).
#   MODE=accuracy  MIN_ACCURACY=x : exit code 0, the last line of stdout is
#                                   "final test accuracy: X" and X >= x
#   MODE=error     MESSAGE=text   : non-zero exit, "text" on stderr exactly once,
#                                   no "final test accuracy" on stdout
# TIMEOUT (seconds) bounds the run, so a hang fails instead of blocking.
if(NOT DEFINED TIMEOUT)
  set(TIMEOUT 50)
endif()
string(REPLACE "|" ";" command "${COMMAND}")
execute_process(COMMAND ${command}
                OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc
                TIMEOUT ${TIMEOUT})
message("---- stderr ----\n${err}---- stdout ----\n${out}---- exit: ${rc}")

if(MODE STREQUAL "accuracy")
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "expected exit code 0, got '${rc}'")
  endif()
  string(STRIP "${out}" stripped)
  string(REGEX MATCH "[^\n]*$" last "${stripped}")
  if(NOT last MATCHES "^final test accuracy: ([0-9]+(\\.[0-9]+)?)$")
    message(FATAL_ERROR "the last line of stdout is not 'final test accuracy: X': '${last}'")
  endif()
  set(acc "${CMAKE_MATCH_1}")
  if(acc GREATER 1 OR acc LESS MIN_ACCURACY)
    message(FATAL_ERROR "final test accuracy ${acc} is not in [${MIN_ACCURACY}, 1]")
  endif()
  message("final test accuracy ${acc} >= ${MIN_ACCURACY}: ok")
elseif(MODE STREQUAL "error")
  if(rc EQUAL 0)
    message(FATAL_ERROR "expected a non-zero exit code, got 0")
  endif()
  if(NOT rc MATCHES "^[0-9]+$")
    message(FATAL_ERROR "expected a clean non-zero exit, got '${rc}' (a hang or a crash)")
  endif()
  string(FIND "${err}" "${MESSAGE}" first)
  string(FIND "${err}" "${MESSAGE}" last REVERSE)
  if(first EQUAL -1)
    message(FATAL_ERROR "expected on stderr: '${MESSAGE}'")
  endif()
  if(NOT first EQUAL last)
    message(FATAL_ERROR "the message was printed more than once: '${MESSAGE}'")
  endif()
  if(out MATCHES "final test accuracy")
    message(FATAL_ERROR "a failed run printed a final accuracy")
  endif()
  message("failed cleanly with the expected message: ok")
else()
  message(FATAL_ERROR "MODE must be accuracy or error, got '${MODE}'")
endif()
