# robustagg::mpi::all_reduce (include/robustagg/mpi.hpp) against the
# single-process aggregate at 2, 4, 9 and 16 ranks (9: DETOX groups of 3),
# both modes, every catalogue rule, and bad configurations. Built only when
# MPI is found; nothing else in the library depends on MPI.
find_package(MPI COMPONENTS CXX QUIET)
if(NOT MPI_CXX_FOUND OR NOT MPIEXEC_EXECUTABLE)
  message(STATUS "robustagg: MPI not found; the mpi.all_reduce tests are skipped")
  return()
endif()

add_executable(robustagg_test_mpi ${CMAKE_CURRENT_SOURCE_DIR}/mpi/test_mpi_all_reduce.cpp)
target_link_libraries(robustagg_test_mpi PRIVATE robustagg::robustagg MPI::MPI_CXX robustagg_dev_flags)

# Open MPI: oversubscription (more ranks than the 2 cores), root allowed
# (containers, CI), idle ranks yield, and the shared-memory transport without
# single-copy (CMA needs ptrace rights containers often lack).
set(robustagg_allreduce_env "")
set(robustagg_allreduce_flags "")
execute_process(COMMAND ${MPIEXEC_EXECUTABLE} --version OUTPUT_VARIABLE robustagg_allreduce_version
                ERROR_QUIET TIMEOUT 20)
if(robustagg_allreduce_version MATCHES "Open MPI|OpenRTE|open-mpi")
  set(robustagg_allreduce_flags --oversubscribe)
  set(robustagg_allreduce_env
      OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
      OMPI_MCA_mpi_yield_when_idle=1 OMPI_MCA_btl=self,vader
      OMPI_MCA_btl_vader_single_copy_mechanism=none)
endif()
foreach(ranks 2 4 9 16)
  add_test(NAME mpi.all_reduce.${ranks}
           COMMAND ${MPIEXEC_EXECUTABLE} ${MPIEXEC_NUMPROC_FLAG} ${ranks} ${robustagg_allreduce_flags}
                   ${MPIEXEC_PREFLAGS} $<TARGET_FILE:robustagg_test_mpi> ${MPIEXEC_POSTFLAGS})
  set_tests_properties(mpi.all_reduce.${ranks} PROPERTIES TIMEOUT 240 PROCESSORS 2 LABELS mpi
                       ENVIRONMENT "${robustagg_allreduce_env}"
                       PASS_REGULAR_EXPRESSION "${ranks} ranks: [0-9]+ checks, 0 failed")
endforeach()

# The README's MPI example, built and run at 4 ranks.
add_executable(robustagg_mpi_all_reduce_example ${PROJECT_SOURCE_DIR}/examples/mpi/all_reduce_example.cpp)
target_link_libraries(robustagg_mpi_all_reduce_example PRIVATE robustagg::robustagg MPI::MPI_CXX
                      robustagg_dev_flags)
add_test(NAME mpi.all_reduce_example
         COMMAND ${MPIEXEC_EXECUTABLE} ${MPIEXEC_NUMPROC_FLAG} 4 ${robustagg_allreduce_flags}
                 ${MPIEXEC_PREFLAGS} $<TARGET_FILE:robustagg_mpi_all_reduce_example> ${MPIEXEC_POSTFLAGS})
set_tests_properties(mpi.all_reduce_example PROPERTIES TIMEOUT 60 PROCESSORS 2 LABELS mpi
                     ENVIRONMENT "${robustagg_allreduce_env}"
                     PASS_REGULAR_EXPRESSION "aggregate\\[0\\] = 1.5\n")

# A rank that dies before the collective (std::_Exit): mpirun must end the job
# with a failure, not hang (a timeout is a failure that WILL_FAIL does not invert).
add_test(NAME mpi.all_reduce.rank_dies
         COMMAND ${MPIEXEC_EXECUTABLE} ${MPIEXEC_NUMPROC_FLAG} 4 ${robustagg_allreduce_flags}
                 ${MPIEXEC_PREFLAGS} $<TARGET_FILE:robustagg_test_mpi> ${MPIEXEC_POSTFLAGS} --die)
set_tests_properties(mpi.all_reduce.rank_dies PROPERTIES TIMEOUT 60 PROCESSORS 2 LABELS mpi
                     ENVIRONMENT "${robustagg_allreduce_env}" WILL_FAIL TRUE)
