# Consumer builds (CTest group "consumer."): a tiny user project
# (tests/consumer) must build and run both
#  (a) against an installed robustagg: `cmake --install` this build tree into
#      a prefix, then find_package(robustagg) with CMAKE_PREFIX_PATH, and
#  (b) through add_subdirectory of this source tree.
# The find_package build also checks the installed config's workaround for
# Debian's xsimd export (cmake/xsimd_fix.cmake): without it the consumer
# would link a non-existent `xtl` and fail.
set(_consumer_src ${CMAKE_CURRENT_SOURCE_DIR}/consumer)
set(_consumer_dir ${CMAKE_CURRENT_BINARY_DIR}/consumer)
set(_consumer_prefix ${_consumer_dir}/prefix)
set(_consumer_args
  -DCMAKE_CXX_COMPILER=${CMAKE_CXX_COMPILER}
  -DCMAKE_BUILD_TYPE=)  # no optimisation: this checks packaging, and builds fast

add_test(NAME consumer.clean
  COMMAND ${CMAKE_COMMAND} -E rm -rf ${_consumer_prefix} ${_consumer_dir}/find_package
          ${_consumer_dir}/add_subdirectory)
set_tests_properties(consumer.clean PROPERTIES FIXTURES_SETUP consumer_clean)

if(ROBUSTAGG_INSTALL)
  add_test(NAME consumer.install
    COMMAND ${CMAKE_COMMAND} --install ${PROJECT_BINARY_DIR} --prefix ${_consumer_prefix})
  set_tests_properties(consumer.install PROPERTIES
    FIXTURES_REQUIRED consumer_clean FIXTURES_SETUP consumer_installed)

  # the installed package holds the headers, the config with the xsimd fix
  add_test(NAME consumer.installed_files
    COMMAND ${CMAKE_COMMAND} -E cat
      ${_consumer_prefix}/${CMAKE_INSTALL_INCLUDEDIR}/robustagg/robustagg.hpp
      ${_consumer_prefix}/${CMAKE_INSTALL_DATADIR}/cmake/robustagg/robustaggConfig.cmake
      ${_consumer_prefix}/${CMAKE_INSTALL_DATADIR}/cmake/robustagg/xsimd_fix.cmake)
  set_tests_properties(consumer.installed_files PROPERTIES
    FIXTURES_REQUIRED consumer_installed
    PASS_REGULAR_EXPRESSION "include\\(\"\\\${CMAKE_CURRENT_LIST_DIR}/xsimd_fix.cmake\"\\)")

  add_test(NAME consumer.find_package.configure
    COMMAND ${CMAKE_COMMAND} -S ${_consumer_src} -B ${_consumer_dir}/find_package
            ${_consumer_args} -DROBUSTAGG_CONSUMER_MODE=find_package
            -DCMAKE_PREFIX_PATH=${_consumer_prefix}
            -DCMAKE_FIND_PACKAGE_NO_PACKAGE_REGISTRY=ON)
  set_tests_properties(consumer.find_package.configure PROPERTIES
    FIXTURES_REQUIRED consumer_installed FIXTURES_SETUP consumer_fp_configured)

  add_test(NAME consumer.find_package.build
    COMMAND ${CMAKE_COMMAND} --build ${_consumer_dir}/find_package)
  set_tests_properties(consumer.find_package.build PROPERTIES
    FIXTURES_REQUIRED consumer_fp_configured FIXTURES_SETUP consumer_fp_built)

  add_test(NAME consumer.find_package.run COMMAND ${CMAKE_COMMAND} -E chdir ${_consumer_dir}/find_package ./consumer)
  set_tests_properties(consumer.find_package.run PROPERTIES
    FIXTURES_REQUIRED consumer_fp_built PASS_REGULAR_EXPRESSION "consumer ok")

  # The warning check (issue: zero warnings from the library's headers): the
  # installed package, every public rule instantiated, -Werror with the
  # strictest warnings, at -O2 and -O2 -march=native.
  foreach(_flavour O2 native)
    set(_flags "-O2")
    if(_flavour STREQUAL "native")
      set(_flags "-O2 -march=native")
    endif()
    set(_dir ${_consumer_dir}/strict_${_flavour})
    add_test(NAME consumer.strict_${_flavour}.configure
      COMMAND ${CMAKE_COMMAND} -E env --unset=CXXFLAGS
              ${CMAKE_COMMAND} -S ${_consumer_src} -B ${_dir}
              -DCMAKE_CXX_COMPILER=${CMAKE_CXX_COMPILER} -DCMAKE_BUILD_TYPE=
              "-DCMAKE_CXX_FLAGS=${_flags}" -DROBUSTAGG_CONSUMER_STRICT=ON
              -DROBUSTAGG_CONSUMER_MODE=find_package -DCMAKE_PREFIX_PATH=${_consumer_prefix}
              -DCMAKE_FIND_PACKAGE_NO_PACKAGE_REGISTRY=ON)
    add_test(NAME consumer.strict_${_flavour}.build COMMAND ${CMAKE_COMMAND} --build ${_dir} --target strict)
    add_test(NAME consumer.strict_${_flavour}.run COMMAND ${CMAKE_COMMAND} -E chdir ${_dir} ./strict)
    set_tests_properties(consumer.strict_${_flavour}.configure PROPERTIES
      FIXTURES_REQUIRED consumer_installed FIXTURES_SETUP consumer_strict_${_flavour}_configured)
    set_tests_properties(consumer.strict_${_flavour}.build PROPERTIES
      FIXTURES_REQUIRED consumer_strict_${_flavour}_configured
      FIXTURES_SETUP consumer_strict_${_flavour}_built
      FAIL_REGULAR_EXPRESSION "warning:")
    set_tests_properties(consumer.strict_${_flavour}.run PROPERTIES
      FIXTURES_REQUIRED consumer_strict_${_flavour}_built PASS_REGULAR_EXPRESSION "strict consumer ok")
    set_property(TEST consumer.strict_${_flavour}.configure consumer.strict_${_flavour}.build
      consumer.strict_${_flavour}.run APPEND PROPERTY RESOURCE_LOCK robustagg_consumer)
  endforeach()
endif()

add_test(NAME consumer.add_subdirectory.configure
  COMMAND ${CMAKE_COMMAND} -S ${_consumer_src} -B ${_consumer_dir}/add_subdirectory
          ${_consumer_args} -DROBUSTAGG_CONSUMER_MODE=add_subdirectory
          -DROBUSTAGG_SOURCE_DIR=${PROJECT_SOURCE_DIR}
          # the kernels once (sse2) instead of per architecture: this checks packaging
          -DROBUSTAGG_SIMD_ARCHS=sse2)
set_tests_properties(consumer.add_subdirectory.configure PROPERTIES
  FIXTURES_REQUIRED consumer_clean FIXTURES_SETUP consumer_as_configured)

add_test(NAME consumer.add_subdirectory.build
  COMMAND ${CMAKE_COMMAND} --build ${_consumer_dir}/add_subdirectory)
set_tests_properties(consumer.add_subdirectory.build PROPERTIES
  FIXTURES_REQUIRED consumer_as_configured FIXTURES_SETUP consumer_as_built)

add_test(NAME consumer.add_subdirectory.run COMMAND ${CMAKE_COMMAND} -E chdir ${_consumer_dir}/add_subdirectory ./consumer)
set_tests_properties(consumer.add_subdirectory.run PROPERTIES
  FIXTURES_REQUIRED consumer_as_built PASS_REGULAR_EXPRESSION "consumer ok")

# The consumer builds run one at a time (each compiles Eigen) and share the
# clean step; RESOURCE_LOCK keeps a parallel ctest from racing on the prefix.
set_property(TEST consumer.clean consumer.add_subdirectory.configure
  consumer.add_subdirectory.build consumer.add_subdirectory.run
  APPEND PROPERTY RESOURCE_LOCK robustagg_consumer)
if(ROBUSTAGG_INSTALL)
  set_property(TEST consumer.install consumer.installed_files consumer.find_package.configure
    consumer.find_package.build consumer.find_package.run
    APPEND PROPERTY RESOURCE_LOCK robustagg_consumer)
endif()
unset(_consumer_args)

# ROBUSTAGG_HEADER_ONLY: the headers alone (no library), two translation units
# linked together, built by the compiler directly.
add_test(NAME consumer.header_only.build
  COMMAND ${CMAKE_CXX_COMPILER} -std=c++17 -O0 -DROBUSTAGG_HEADER_ONLY  # -O0: checks linkage, builds fast
          -I${PROJECT_SOURCE_DIR}/include
          "-I$<JOIN:$<TARGET_PROPERTY:Eigen3::Eigen,INTERFACE_INCLUDE_DIRECTORIES>,;-I>"
          ${_consumer_src}/header_only_a.cpp ${_consumer_src}/header_only_b.cpp
          -o ${_consumer_dir}/header_only -pthread
  COMMAND_EXPAND_LISTS)
set_tests_properties(consumer.header_only.build PROPERTIES
  FIXTURES_REQUIRED consumer_clean FIXTURES_SETUP consumer_header_only_built)
add_test(NAME consumer.header_only.run COMMAND ${_consumer_dir}/header_only)
set_tests_properties(consumer.header_only.run PROPERTIES
  FIXTURES_REQUIRED consumer_header_only_built PASS_REGULAR_EXPRESSION "header-only consumer ok")
