// The IDX format of (Fashion-)MNIST, read with validation: a big-endian
// header (two zero bytes, the element type, the number of dimensions, then
// each dimension as a 32-bit unsigned integer) followed by the elements in
// row-major order. Only unsigned bytes (type 0x08) are read, which is what
// the image and label files hold. Files may be gzip-compressed (zlib reads
// both). Every malformed input throws std::runtime_error naming the file and
// what was wrong: bad magic, an unexpected number of dimensions or sizes,
// a truncated body, trailing bytes, labels outside 0..9.
#pragma once

#include <cstdint>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

#include "digits.hpp"

namespace demo {

/// A parsed IDX file of unsigned bytes: its dimensions and its elements.
struct IdxArray {
  std::vector<std::uint32_t> dims;
  std::string bytes;  // product(dims) elements
};

/// Parses an IDX byte buffer; `name` names it in errors. Expects
/// `want_dims` dimensions.
inline IdxArray parse_idx(const std::string& data, const std::string& name, int want_dims) {
  auto fail = [&](const std::string& what) -> void { throw std::runtime_error(name + ": " + what); };
  if (data.size() < 4) fail("truncated: " + std::to_string(data.size()) + " bytes, an IDX header needs 4");
  const auto u8 = [&](std::size_t i) { return static_cast<std::uint32_t>(static_cast<unsigned char>(data[i])); };
  if (u8(0) != 0 || u8(1) != 0 || u8(2) != 0x08) {
    char buf[80];
    std::snprintf(buf, sizeof buf, "bad magic 0x%02x%02x%02x%02x (expected 0x000008%02x: unsigned bytes, %d dimensions)",
                  u8(0), u8(1), u8(2), u8(3), want_dims, want_dims);
    fail(buf);
  }
  const int ndims = int(u8(3));
  if (ndims != want_dims)
    fail("has " + std::to_string(ndims) + " dimensions, expected " + std::to_string(want_dims));
  const std::size_t header = 4 + 4 * std::size_t(ndims);
  if (data.size() < header)
    fail("truncated header: " + std::to_string(data.size()) + " bytes, " + std::to_string(ndims) +
         " dimensions need " + std::to_string(header));
  IdxArray a;
  std::uint64_t count = 1;
  for (int k = 0; k < ndims; ++k) {
    const std::size_t o = 4 + 4 * std::size_t(k);
    const std::uint32_t dim = (u8(o) << 24) | (u8(o + 1) << 16) | (u8(o + 2) << 8) | u8(o + 3);
    a.dims.push_back(dim);
    count *= dim;
    if (count > (std::uint64_t(1) << 34)) fail("dimensions too large");
  }
  const std::uint64_t body = data.size() - header;
  if (body < count)
    fail("truncated: " + std::to_string(body) + " data bytes, the dimensions need " + std::to_string(count));
  if (body > count)
    fail(std::to_string(body - count) + " trailing bytes after the " + std::to_string(count) + " elements");
  a.bytes = data.substr(header);
  return a;
}

/// Reads an image file (N x rows x cols bytes) and a label file (N bytes,
/// 0..9) into a Dataset with pixels / 255 in [0, 1]. `expect_pixels` (when
/// > 0) is the required rows * cols.
inline Dataset load_idx(const std::string& images_path, const std::string& labels_path,
                        int expect_pixels = 0) {
  const IdxArray img = parse_idx(read_gzip(images_path), images_path, 3);
  const IdxArray lab = parse_idx(read_gzip(labels_path), labels_path, 1);
  const std::uint64_t pixels = std::uint64_t(img.dims[1]) * img.dims[2];
  if (expect_pixels > 0 && pixels != std::uint64_t(expect_pixels))
    throw std::runtime_error(images_path + ": images of " + std::to_string(img.dims[1]) + " x " +
                             std::to_string(img.dims[2]) + " pixels, expected " +
                             std::to_string(expect_pixels));
  if (img.dims[0] != lab.dims[0])
    throw std::runtime_error(images_path + " holds " + std::to_string(img.dims[0]) + " images but " +
                             labels_path + " " + std::to_string(lab.dims[0]) + " labels");
  Dataset d;
  const std::ptrdiff_t n = std::ptrdiff_t(img.dims[0]);
  d.x.resize(n, std::ptrdiff_t(pixels));
  float* x = d.x.data();
  for (std::size_t i = 0; i < img.bytes.size(); ++i)
    x[i] = float(static_cast<unsigned char>(img.bytes[i])) / 255.0f;
  d.y.resize(std::size_t(n));
  for (std::ptrdiff_t i = 0; i < n; ++i) {
    const int label = static_cast<unsigned char>(lab.bytes[std::size_t(i)]);
    if (label >= kClasses)
      throw std::runtime_error(labels_path + ": label " + std::to_string(label) + " of example " +
                               std::to_string(i) + " is outside 0..9");
    d.y[std::size_t(i)] = label;
  }
  return d;
}

}  // namespace demo
