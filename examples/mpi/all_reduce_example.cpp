// The README's MPI example: every rank holds one gradient; all get the robust aggregate.
#include <cstdio>
#include <robustagg/mpi.hpp>
#include <robustagg/spec.hpp>
namespace ra = robustagg;
int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  ra::Vector<float> grad = ra::Vector<float>::Constant(1000, float(rank)), out;  // rank r sends r
  ra::mpi::all_reduce(MPI_COMM_WORLD, grad, ra::parse_rule("trimmed-mean(f=1)"), out,
                      ra::mpi::Mode::sharded);  // or Mode::server
  if (rank == 0) std::printf("aggregate[0] = %g\n", out[0]);  // 4 ranks: mean of 1, 2 = 1.5
  MPI_Finalize();
}
