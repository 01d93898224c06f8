# End-to-end tests of the robustagg command-line tool (tools/): a Python script
# (Debian's /usr/bin/python3 with python3-numpy, installed by scripts/deps.sh)
# runs the CLI on arrays written with np.save and on a corpus of malformed .npy
# files. Two CTest entries so `ctest -j` runs them side by side.
if(ROBUSTAGG_BUILD_TOOLS)
  set(ROBUSTAGG_PYTHON /usr/bin/python3 CACHE FILEPATH
      "Python 3 with NumPy for the CLI's end-to-end tests")
  foreach(group IN ITEMS results errors)
    add_test(NAME cli.${group}
             COMMAND ${ROBUSTAGG_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/cli/test_cli.py
                     $<TARGET_FILE:robustagg_cli> ${group})
    # 77: NumPy missing, reported by CTest as skipped (never as passed).
    set_tests_properties(cli.${group} PROPERTIES
      SKIP_RETURN_CODE 77
      FAIL_REGULAR_EXPRESSION "FAILED:"
      TIMEOUT 300
      LABELS cli)
  endforeach()
endif()
