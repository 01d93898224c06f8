# The MPI parameter server's tests (examples/mpi/): a short DETOX run under an
# attack with 16 ranks (1 server + 15 workers) that must reach a set test
# accuracy, and bad configurations that must fail cleanly on every rank.
if(NOT ROBUSTAGG_BUILD_EXAMPLES)
  return()
endif()
include(${PROJECT_SOURCE_DIR}/examples/mpi/requirements.cmake)
if(NOT ROBUSTAGG_MPI_PS_ENABLED OR NOT MPIEXEC_EXECUTABLE)
  message(STATUS "robustagg: MPI not found; the robustagg-mpi-ps tests are skipped")
  return()
endif()

# 16 ranks on a small machine need oversubscription; Open MPI refuses to run
# as root unless told it may (containers, CI): the OMPI_ALLOW_RUN_AS_ROOT*
# variables below say so, and do nothing for other users. Idle ranks yield
# the CPU instead of busy-polling (16 ranks share 2 cores), and the shared
# memory transport copies through a buffer, since single-copy (CMA) needs
# ptrace rights that containers often lack.
set(robustagg_mpirun ${MPIEXEC_EXECUTABLE} ${MPIEXEC_NUMPROC_FLAG} 16 ${MPIEXEC_PREFLAGS})
set(robustagg_mpi_env "")
execute_process(COMMAND ${MPIEXEC_EXECUTABLE} --version OUTPUT_VARIABLE robustagg_mpiexec_version
                ERROR_QUIET TIMEOUT 20)
if(robustagg_mpiexec_version MATCHES "Open MPI|OpenRTE|open-mpi")
  list(APPEND robustagg_mpirun --oversubscribe)
  set(robustagg_mpi_env
      OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
      OMPI_MCA_mpi_yield_when_idle=1 OMPI_MCA_btl=self,vader
      OMPI_MCA_btl_vader_single_copy_mechanism=none)
endif()

function(robustagg_mpi_test name mode expect)
  set(command ${robustagg_mpirun} $<TARGET_FILE:robustagg-mpi-ps> ${MPIEXEC_POSTFLAGS} ${ARGN})
  string(REPLACE ";" "|" command "${command}")
  if(mode STREQUAL "accuracy")  # expect: MIN or MIN:MAX
    string(REPLACE ":" ";" bounds "${expect}")
    list(GET bounds 0 lo)
    set(check -DMIN_ACCURACY=${lo})
    list(LENGTH bounds nb)
    if(nb GREATER 1)
      list(GET bounds 1 hi)
      list(APPEND check -DMAX_ACCURACY=${hi})
    endif()
  else()
    set(check "-DMESSAGE=${expect}")
  endif()
  add_test(NAME ${name}
           COMMAND ${CMAKE_COMMAND} "-DCOMMAND=${command}" -DMODE=${mode} ${check} -DTIMEOUT=55
                   -P ${PROJECT_SOURCE_DIR}/examples/mpi/check_run.cmake)
  set_tests_properties(${name} PROPERTIES TIMEOUT 60 PROCESSORS 2 LABELS mpi
                       ENVIRONMENT "${robustagg_mpi_env}")
endfunction()

# DETOX (r = 3, 5 groups, median of the 5 votes) with 3 Byzantine workers
# placed as the worst case (2 of them capture group 0's vote). Over seeds
# 1..10, 300 steps reach 0.916..0.958 under ALIE (colluding) and 0.916..0.964
# under reverse; the bar is 0.85. The clean mean reaches ~0.96.
robustagg_mpi_test(mpi_ps_detox_alie accuracy 0.85
  --rule "detox(r=3, outer=median)" --byzantine 3 --attack alie --steps 300 --seed 1)
robustagg_mpi_test(mpi_ps_detox_reverse accuracy 0.85
  --rule "detox(r=3, outer=median)" --byzantine 3 --attack reverse --steps 300 --seed 2)
# The control: the same attack does land (the plain mean diverges within 20
# steps: 0.0 on seeds 1..10, NaN weights count every image wrong).
robustagg_mpi_test(mpi_ps_mean_reverse accuracy 0:0.5
  --rule mean --byzantine 3 --attack reverse --steps 100 --seed 2)
# Bad configurations: every rank fails with one message, no hang.
robustagg_mpi_test(mpi_ps_error_detox_groups error
  "needs the number of gradients to be a multiple of r = 7, got 15" --rule "detox(r=7)" --steps 5)
robustagg_mpi_test(mpi_ps_error_too_few_workers error
  "bulyan(f=4) needs n >= 4f+3 = 19 gradients, got 15" --rule "bulyan(f=4)" --steps 5)
robustagg_mpi_test(mpi_ps_error_byzantine error "--byzantine 16 is more than the 15 workers"
  --byzantine 16 --attack alie --steps 5)
# A failure during training (two Byzantine workers of group 0 send different
# noise, so the group has no majority and is dropped; multi-krum(f=1) then has
# 4 of the 5 votes it needs): the server stops every rank through the
# broadcast's status word.
robustagg_mpi_test(mpi_ps_error_at_run_time error "after the vote 4 of 5 groups remain"
  --rule "detox(r=3, outer=multi-krum(f=1))" --byzantine 2 --attack gaussian --steps 5)
# The three aggregation paths (--mode sharded is the default above): the same
# training, bitwise, for this coordinate-wise rule (0.9471 at seed 1 in each).
robustagg_mpi_test(mpi_ps_detox_alie_server accuracy 0.85
  --mode server --rule "detox(r=3, outer=median)" --byzantine 3 --attack alie --steps 300 --seed 1)
robustagg_mpi_test(mpi_ps_detox_alie_gather accuracy 0.85
  --mode gather --rule "detox(r=3, outer=median)" --byzantine 3 --attack alie --steps 300 --seed 1)
robustagg_mpi_test(mpi_ps_error_at_run_time_gather error "after the vote 4 of 5 groups remain"
  --mode gather --rule "detox(r=3, outer=multi-krum(f=1))" --byzantine 2 --attack gaussian --steps 5)
robustagg_mpi_test(mpi_ps_omniscient_sharded accuracy 0.85
  --rule "trimmed-mean(f=3)" --byzantine 3 --attack alie --omniscient --steps 300 --seed 1)
