// libFuzzer target: the command-line tool's .npy reader (tools/npy.hpp) on
// arbitrary bytes. Invariants: no crash, no UB, no allocation sized from an
// unchecked header; npy::Error is the only exception; a file that reads has
// exactly header + n*d*itemsize bytes and a non-empty 2-D shape; writing the
// matrix's rows back as 1-D vectors reads back the same bits.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "npy.hpp"

namespace npy = robustagg::tools::npy;

namespace {

[[noreturn]] void violated(const char* what) {
  std::fprintf(stderr, "fuzz_npy invariant violated: %s\n", what);
  std::abort();
}

template <class T>
void check_matrix(const robustagg::GradientMatrix<T>& m, const std::uint8_t* data,
                  std::size_t size) {
  const std::size_t bytes = std::size_t(m.rows()) * std::size_t(m.cols()) * sizeof(T);
  if (m.rows() < 1 || m.cols() < 1) violated("empty matrix accepted");
  if (bytes > size) violated("more data than bytes in the file");
  // The data is the file's last `bytes` bytes, in C order.
  if (std::memcmp(m.data(), data + (size - bytes), bytes) != 0) violated("data bytes differ");
  // A 1-D header written for the first row, read back.
  const std::string h = npy::vector_header(sizeof(T) == 4 ? npy::Dtype::float32
                                                          : npy::Dtype::float64,
                                           std::uint64_t(m.cols()));
  std::string file = h;
  file.append(reinterpret_cast<const char*>(m.data()), std::size_t(m.cols()) * sizeof(T));
  npy::MemorySource src(file.data(), file.size());
  const npy::Header back = npy::read_header(src);
  if (back.shape.size() != 1 || back.shape[0] != std::uint64_t(m.cols()))
    violated("vector header does not read back");
  if (back.data_offset % 64 != 0) violated("vector header not 64-byte aligned");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    npy::MemorySource src(data, size);
    const npy::Matrix m = npy::read_matrix(src);
    if (m.dtype == npy::Dtype::float32)
      check_matrix(m.f32, data, size);
    else
      check_matrix(m.f64, data, size);
  } catch (const npy::Error& e) {
    if (std::strchr(e.what(), '\n')) violated("multi-line error message");
    if (std::strlen(e.what()) > 400) violated("unbounded error message");
  }
  return 0;
}
