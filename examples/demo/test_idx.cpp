// Tests of the IDX reader (idx.hpp) on synthetic files written here, plain
// and gzip-compressed: a valid pair loads with the right pixels and labels;
// bad magic, wrong dimension count, truncated header and body, trailing
// bytes, mismatched counts, wrong image size and labels outside 0..9 each
// throw an error naming the file and the problem.
#include <zlib.h>

#include <cstdio>
#include <functional>
#include <iostream>
#include <string>

#include "idx.hpp"

namespace {

int failures = 0;

void check(bool ok, const std::string& what) {
  if (!ok) {
    std::cerr << "FAILED: " << what << "\n";
    ++failures;
  }
}

std::string be32(std::uint32_t v) {
  return {char(v >> 24), char((v >> 16) & 255), char((v >> 8) & 255), char(v & 255)};
}

std::string header(int type, std::initializer_list<std::uint32_t> dims) {
  std::string h = {0, 0, char(type), char(dims.size())};
  for (std::uint32_t d : dims) h += be32(d);
  return h;
}

void write(const std::string& path, const std::string& data, bool gz) {
  if (gz) {
    gzFile f = gzopen(path.c_str(), "wb");
    gzwrite(f, data.data(), unsigned(data.size()));
    gzclose(f);
  } else {
    std::FILE* f = std::fopen(path.c_str(), "wb");
    std::fwrite(data.data(), 1, data.size(), f);
    std::fclose(f);
  }
}

// Expects load_idx to throw with a message containing `part`.
void expect_error(const std::string& images, const std::string& labels, const std::string& part,
                  int pixels = 0) {
  const std::string dir = "idx_test_";
  write(dir + "i", images, false);
  write(dir + "l", labels, false);
  try {
    demo::load_idx(dir + "i", dir + "l", pixels);
    check(false, "expected an error containing '" + part + "'");
  } catch (const std::runtime_error& e) {
    const std::string msg = e.what();
    check(msg.find(part) != std::string::npos, "error '" + msg + "' lacks '" + part + "'");
  }
}

}  // namespace

int main() {
  // 3 images of 2 x 2 pixels, labels 7, 0, 9.
  const std::string pixels = {char(0), char(255), char(51), char(102), char(1), char(2), char(3), char(4),
                              char(10), char(20), char(30), char(40)};
  const std::string images = header(8, {3, 2, 2}) + pixels;
  const std::string labels = header(8, {3}) + std::string{7, 0, 9};
  for (bool gz : {false, true}) {
    write("idx_test_ok_i", images, gz);
    write("idx_test_ok_l", labels, gz);
    const demo::Dataset d = demo::load_idx("idx_test_ok_i", "idx_test_ok_l", 4);
    check(d.size() == 3 && d.x.cols() == 4, "shape 3 x 4");
    check(d.x(0, 0) == 0.0f && d.x(0, 1) == 1.0f && d.x(0, 2) == 51.0f / 255.0f, "pixels / 255");
    check(d.x(2, 3) == 40.0f / 255.0f, "last pixel");
    check(d.y[0] == 7 && d.y[1] == 0 && d.y[2] == 9, "labels");
  }
  expect_error(header(8, {3, 2, 2}).replace(0, 1, 1, char(1)) + pixels, labels, "bad magic 0x01000803");
  expect_error(header(9, {3, 2, 2}) + pixels, labels, "bad magic 0x00000903");
  expect_error(images, header(8, {3, 1}) + std::string(3, '\0'), "has 2 dimensions, expected 1");
  expect_error(std::string{0, 0}, labels, "truncated: 2 bytes");
  expect_error(header(8, {3, 2, 2}).substr(0, 10), labels, "truncated header: 10 bytes");
  expect_error(images.substr(0, images.size() - 1), labels, "truncated: 11 data bytes, the dimensions need 12");
  expect_error(images + "x", labels, "1 trailing bytes");
  expect_error(images, header(8, {2}) + std::string{1, 2}, "holds 3 images but");
  expect_error(images, header(8, {3}) + std::string{1, 10, 2}, "label 10 of example 1 is outside 0..9");
  expect_error(images, labels, "images of 2 x 2 pixels, expected 784", 784);
  try {
    demo::load_idx("idx_test_missing", "idx_test_missing");
    check(false, "missing file");
  } catch (const std::runtime_error& e) {
    check(std::string(e.what()).find("cannot open idx_test_missing") != std::string::npos, e.what());
  }
  for (const char* f : {"idx_test_i", "idx_test_l", "idx_test_ok_i", "idx_test_ok_l"}) std::remove(f);
  if (failures) return 1;
  std::cout << "idx reader: all checks passed\n";
  return 0;
}
