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
  add_test(NAME consumer.find_package.run_header_only
    COMMAND ${CMAKE_COMMAND} -E chdir ${_consumer_dir}/find_package ./consumer_header_only)
  set_tests_properties(consumer.find_package.run_header_only PROPERTIES
    FIXTURES_REQUIRED consumer_fp_built PASS_REGULAR_EXPRESSION "consumer ok")

  # The warning check (issue: zero warnings from the library's headers): the
  # installed package in its compiled mode, every public rule instantiated,
  # -Werror with the strictest warnings, at -O2 -march=native. (At plain -O2,
  # and header-only with the kernels expanded in the user's file, the plain
  # g++ builds below use the same warnings.)
  foreach(_flavour native)
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

# The compiled library from the source tree and the program on it (its
# header-only twin is the find_package build's: the same target definitions).
add_test(NAME consumer.add_subdirectory.build
  COMMAND ${CMAKE_COMMAND} --build ${_consumer_dir}/add_subdirectory --target consumer)
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
    consumer.find_package.build consumer.find_package.run consumer.find_package.run_header_only
    APPEND PROPERTY RESOURCE_LOCK robustagg_consumer)
endif()
unset(_consumer_args)

# Header-only, as the README's first screen says: a trainer (two translation
# units) built by the compiler directly, with nothing but the include paths of
# robustagg, Eigen and xsimd, under the strictest warnings as errors (-Wall
# -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion -Werror), at -O2
# (SSE2 kernels) and at -O2 -march=native (this machine's tier; GCC's default GNU
# mode contracts a*b+c into FMA there unless the headers prevent it). Each
# runs its hand-checked cases, then prints every rule's output digest
# (tests/consumer/digest.hpp), which must equal the compiled library's
# (consumer_digest_compiled, built with the suite).
add_executable(consumer_digest_compiled ${_consumer_src}/digest_compiled.cpp)
target_link_libraries(consumer_digest_compiled PRIVATE robustagg::robustagg)
add_test(NAME consumer.digest_compiled
  COMMAND ${CMAKE_COMMAND} -DPROGRAM=$<TARGET_FILE:consumer_digest_compiled>
          -DOUT=${_consumer_dir}/digest_compiled.txt -P ${PROJECT_SOURCE_DIR}/tests/scripts/run_to_file.cmake)
set_tests_properties(consumer.digest_compiled PROPERTIES FIXTURES_REQUIRED consumer_clean
  FIXTURES_SETUP consumer_digest_compiled)
# Eigen's and xsimd's own warnings are theirs: their directories as system
# includes (not the compiler's default /usr/include, which -isystem would break).
set(_consumer_system_includes)
foreach(_target Eigen3::Eigen xsimd)
  get_target_property(_dirs ${_target} INTERFACE_INCLUDE_DIRECTORIES)
  foreach(_d IN LISTS _dirs)
    if(NOT _d MATCHES "^/usr(/local)?/include/?$")
      list(APPEND _consumer_system_includes -isystem ${_d})
    endif()
  endforeach()
endforeach()
foreach(_flavour O2 native)
  set(_flags -O2)
  if(_flavour STREQUAL "native")
    set(_flags -O2 -march=native)
  endif()
  set(_exe ${_consumer_dir}/plain_trainer_${_flavour})
  add_test(NAME consumer.plain_${_flavour}.build
    COMMAND ${CMAKE_CXX_COMPILER} -std=c++17 ${_flags} -Wall -Wextra -Wpedantic -Wshadow
            -Wconversion -Wsign-conversion -Werror
            -I${PROJECT_SOURCE_DIR}/include ${_consumer_system_includes}
            ${_consumer_src}/trainer.cpp ${_consumer_src}/trainer_b.cpp -o ${_exe} -pthread
    COMMAND_EXPAND_LISTS)
  set_tests_properties(consumer.plain_${_flavour}.build PROPERTIES
    FIXTURES_REQUIRED consumer_clean FIXTURES_SETUP consumer_plain_${_flavour}_built)
  add_test(NAME consumer.plain_${_flavour}.run COMMAND ${_exe})
  set_tests_properties(consumer.plain_${_flavour}.run PROPERTIES
    FIXTURES_REQUIRED consumer_plain_${_flavour}_built PASS_REGULAR_EXPRESSION "plain trainer ok")
  add_test(NAME consumer.plain_${_flavour}.bitwise
    COMMAND ${CMAKE_COMMAND} -DPROGRAM=${_exe} -DARGS=--digest -DOUT=${_consumer_dir}/digest_${_flavour}.txt
            -DEXPECT=${_consumer_dir}/digest_compiled.txt -P ${PROJECT_SOURCE_DIR}/tests/scripts/run_to_file.cmake)
  set_tests_properties(consumer.plain_${_flavour}.bitwise PROPERTIES
    FIXTURES_REQUIRED "consumer_plain_${_flavour}_built;consumer_digest_compiled")
endforeach()

# Header-only under clang, for each x86-64 tier's flags (SSE2, AVX2 + FMA,
# AVX-512), as a user's file would be compiled: semantic analysis only
# (-fsyntax-only instantiates every template the trainer uses, ~6 s each), so
# the AVX-512 flags need no AVX-512 machine. clang checks branches of
# `if constexpr` that GCC skips: the AVX-512 expansion once failed to compile
# under clang while every GCC build passed. scripts/test.sh installs clang.
find_program(ROBUSTAGG_CLANGXX NAMES clang++ clang++-14)
if(ROBUSTAGG_CLANGXX AND CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64")
  set(_clang_tiers "sse2=" "avx2=-mavx2 -mfma"
      "avx512=-mavx512f -mavx512cd -mavx512dq -mavx512bw -mavx2 -mfma")
  foreach(_tier IN LISTS _clang_tiers)
    string(REGEX REPLACE "=.*" "" _name "${_tier}")
    string(REGEX REPLACE "^[^=]*=" "" _flags "${_tier}")
    separate_arguments(_flags)
    add_test(NAME consumer.clang_header_only_${_name}.syntax
      COMMAND ${ROBUSTAGG_CLANGXX} -std=c++17 -O2 ${_flags} -fsyntax-only -Wall -Wextra -Wpedantic
              -Wshadow -Wconversion -Wsign-conversion -Werror
              -I${PROJECT_SOURCE_DIR}/include ${_consumer_system_includes}
              ${_consumer_src}/trainer.cpp ${_consumer_src}/trainer_b.cpp
      COMMAND_EXPAND_LISTS)
  endforeach()
else()
  message(STATUS "robustagg tests: no clang++ found; the clang header-only syntax tests are not added")
endif()
