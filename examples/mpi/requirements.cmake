# Whether robustagg-mpi-ps can be built: included by examples/mpi/CMakeLists.txt
# and by tests/cmake/mpi.cmake (which is read first), so both agree.
find_package(MPI COMPONENTS CXX QUIET)
find_package(ZLIB QUIET)
if(MPI_CXX_FOUND AND ZLIB_FOUND)
  set(ROBUSTAGG_MPI_PS_ENABLED ON)
else()
  set(ROBUSTAGG_MPI_PS_ENABLED OFF)
endif()
