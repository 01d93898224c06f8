// Unit tests of the CLI's .npy reader and writer (tools/npy.hpp). The expected
// bytes come from the NumPy format specification (numpy.lib.format), written out
// by hand; the end-to-end checks against NumPy itself live in tests/cli/.
#include <catch2/catch.hpp>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "../tools/npy.hpp"

namespace npy = robustagg::tools::npy;

namespace {

// A .npy file built by hand: magic, version, little-endian header length, the
// header text padded with spaces and '\n' to a multiple of 64, then the data.
std::string make_npy(const std::string& dict, const std::string& data, int major = 1) {
  const std::size_t prefix = major == 1 ? 10 : 12;
  std::string header = dict;
  header.append((64 - (prefix + header.size() + 1) % 64) % 64, ' ');
  header += '\n';
  std::string out = "\x93NUMPY";
  out += char(major);
  out += char(0);
  const std::size_t len_bytes = major == 1 ? 2 : 4;
  for (std::size_t i = 0; i < len_bytes; ++i) out += char((header.size() >> (8 * i)) & 0xff);
  return out + header + data;
}

template <class T>
std::string bytes_of(const std::vector<T>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
}

npy::Matrix read_bytes(const std::string& file) {
  npy::MemorySource src(file.data(), file.size());
  return npy::read_matrix(src);
}

std::string error_of(const std::string& file) {
  try {
    read_bytes(file);
  } catch (const npy::Error& e) {
    return e.what();
  }
  return "(no error)";
}

const std::string kDict32 = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";

}  // namespace

TEST_CASE("npy: the vector header is the one numpy.save writes", "[npy][cli]") {
  // d = 5, float32: the dict is 57 characters,
  //   {'descr': '<f4', 'fortran_order': False, 'shape': (5,), }
  // then 21 - len("5") = 20 spare spaces (NumPy's room to grow the shape),
  // 10 (magic, version, length) + 57 + 20 + 1 ('\n') = 88 -> pad to 128 with 40
  // more spaces: 60 spaces in all, header length 128 - 10 = 118 = 0x76.
  const std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (5,), }";
  REQUIRE(dict.size() == 57);
  const std::string expected =
      std::string("\x93NUMPY\x01\x00\x76\x00", 10) + dict + std::string(60, ' ') + "\n";
  CHECK(npy::vector_header(npy::Dtype::float32, 5) == expected);

  // d = 123456789012, float64: the dict is 57 - 4 + 15 = 68 characters ("(5,)"
  // becomes "(123456789012,)"), 21 - 12 = 9 spare spaces, 10 + 68 + 9 + 1 = 88
  // -> 128 with 40 more: 49 spaces then '\n' after the dict.
  const std::string h = npy::vector_header(npy::Dtype::float64, 123456789012ULL);
  CHECK(h.size() == 128);
  CHECK(h.substr(10, 68) ==
        "{'descr': '<f8', 'fortran_order': False, 'shape': (123456789012,), }");
  CHECK(h.substr(78) == std::string(49, ' ') + "\n");
}

TEST_CASE("npy: every header is padded to 64 bytes and ends with a newline", "[npy][cli]") {
  // up to 2^61 - 1 float64 values (2^64 - 8 bytes, the largest size that fits)
  for (std::uint64_t d : {1ULL, 9ULL, 10ULL, 99999ULL, 1000000ULL, 2305843009213693951ULL}) {
    for (npy::Dtype t : {npy::Dtype::float32, npy::Dtype::float64}) {
      const std::string h = npy::vector_header(t, d);
      CHECK(h.size() % 64 == 0);
      CHECK(h.back() == '\n');
      const std::size_t len = std::size_t((unsigned char)h[8]) | (std::size_t((unsigned char)h[9]) << 8);
      CHECK(len + 10 == h.size());
      const npy::Header parsed = npy::parse_header_dict(h.substr(10));
      CHECK(parsed.dtype == t);
      CHECK(parsed.shape == std::vector<std::uint64_t>{d});
      CHECK_FALSE(parsed.fortran_order);
    }
  }
}

TEST_CASE("npy: write then read back a vector through a file", "[npy][cli]") {
  const std::vector<double> v = {1.5, -2.25, 1e300, -0.0};
  std::FILE* f = std::tmpfile();
  REQUIRE(f != nullptr);
  npy::write_vector<double>(f, v.data(), v.size());
  std::fflush(f);
  const long size = std::ftell(f);
  std::rewind(f);
  std::string file(std::size_t(size), '\0');
  REQUIRE(std::fread(file.data(), 1, file.size(), f) == file.size());
  std::fclose(f);
  CHECK(file.size() == 128 + 4 * 8);
  npy::MemorySource src(file.data(), file.size());
  const npy::Header h = npy::read_header(src);
  CHECK(h.data_offset == 128);
  CHECK(h.shape == std::vector<std::uint64_t>{4});
  CHECK(h.dtype == npy::Dtype::float64);
  CHECK(std::memcmp(file.data() + 128, v.data(), 32) == 0);
}

TEST_CASE("npy: reads 2-D float32 and float64 matrices, versions 1.0, 2.0, 3.0", "[npy][cli]") {
  const std::vector<float> a = {1, 2, 3, 4, 5, 6.5f};
  for (int major : {1, 2, 3}) {
    const npy::Matrix m = read_bytes(make_npy(kDict32, bytes_of(a), major));
    REQUIRE(m.dtype == npy::Dtype::float32);
    REQUIRE(m.rows() == 2);
    REQUIRE(m.cols() == 3);
    CHECK(m.f32(0, 0) == 1.0f);
    CHECK(m.f32(0, 2) == 3.0f);  // row-major: row 0 is 1 2 3
    CHECK(m.f32(1, 0) == 4.0f);
    CHECK(m.f32(1, 2) == 6.5f);
  }
  const std::vector<double> b = {0.1, 0.2, 0.3};
  const npy::Matrix m =
      read_bytes(make_npy("{'descr': '<f8', 'fortran_order': False, 'shape': (3, 1), }", bytes_of(b)));
  REQUIRE(m.dtype == npy::Dtype::float64);
  CHECK(m.f64(2, 0) == 0.3);
}

TEST_CASE("npy: header dict variants NumPy writers produce or accept", "[npy][cli]") {
  for (const char* dict : {
           "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }",
           "{'descr':'<f4','fortran_order':False,'shape':(2,3)}",
           "{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": (2, 3)}",
           "{'shape': (2, 3), 'fortran_order': False, 'descr': '<f4'}",
           "{'descr': '=f4', 'fortran_order': False, 'shape': (2L, 3L), }",
           "{'descr': '|f4', 'fortran_order': False, 'shape': (2, 3,), }",
           "{'descr': 'f4', 'fortran_order': False, 'shape': ( 2 , 3 ) }",
       }) {
    INFO(dict);
    const npy::Header h = npy::parse_header_dict(dict);
    CHECK(h.dtype == npy::Dtype::float32);
    CHECK(h.shape == std::vector<std::uint64_t>{2, 3});
    CHECK(h.count == 6);
    CHECK(h.data_bytes == 24);
  }
  CHECK(npy::parse_header_dict("{'descr': '<f8', 'fortran_order': True, 'shape': ()}").count == 1);
}

TEST_CASE("npy: malformed headers are rejected with a message", "[npy][cli]") {
  struct Case {
    const char* dict;
    const char* message;
  };
  for (const Case& c : std::vector<Case>{
           {"{'descr': '>f4', 'fortran_order': False, 'shape': (2, 3)}", "big-endian"},
           {"{'descr': '<i4', 'fortran_order': False, 'shape': (2, 3)}", "unsupported dtype"},
           {"{'descr': '<f2', 'fortran_order': False, 'shape': (2, 3)}", "unsupported dtype"},
           {"{'descr': '|O', 'fortran_order': False, 'shape': (2, 3)}", "unsupported dtype"},
           {"{'descr': [('x', '<f4')], 'fortran_order': False, 'shape': (2, 3)}", "structured"},
           {"{'descr': '<f4', 'fortran_order': False}", "missing key 'shape'"},
           {"{'descr': '<f4', 'shape': (2, 3)}", "missing key 'fortran_order'"},
           {"{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)}", "twice"},
           {"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'x': 1}", "unexpected key"},
           {"{'descr': '<f4', 'fortran_order': 0, 'shape': (2, 3)}", "True or False"},
           {"{'descr': '<f4', 'fortran_order': False, 'shape': (-2, 3)}", "negative"},
           {"{'descr': '<f4', 'fortran_order': False, 'shape': (2)}", "(n,)"},
           {"{'descr': '<f4', 'fortran_order': False, 'shape': [2, 3]}", "tuple"},
           {"{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999, 1)}",
            "overflows 64 bits"},
           // 2^32 * 2^32 = 2^64: one past the largest uint64
           {"{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296)}",
            "element count overflows"},
           // 2^62 * 2 elements of 8 bytes = 2^66 bytes
           {"{'descr': '<f8', 'fortran_order': False, 'shape': (4611686018427387904, 2)}",
            "byte count overflows"},
           {"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)} junk", "after the dict"},
           {"[1, 2]", "not a Python dict"},
           {"", "not a Python dict"},
           {"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)", "end of header"},
           {"{'descr': '<f4\\'', 'fortran_order': False, 'shape': (2, 3)}", "unsupported character"},
       }) {
    INFO(c.dict);
    try {
      npy::parse_header_dict(c.dict);
      FAIL("accepted");
    } catch (const npy::Error& e) {
      CHECK_THAT(e.what(), Catch::Contains(c.message));
    }
  }
}

TEST_CASE("npy: a file cut anywhere is rejected, never read past its end", "[npy][cli]") {
  const std::vector<float> a = {1, 2, 3, 4, 5, 6};
  const std::string file = make_npy(kDict32, bytes_of(a));
  REQUIRE(file.size() == 128 + 24);  // 10 + 59 + 1 = 70 -> 128, then 6 floats
  REQUIRE_NOTHROW(read_bytes(file));
  for (std::size_t cut = 0; cut < file.size(); ++cut) {
    INFO("cut at " << cut);
    // Copy into an exactly sized buffer so a read past the end is a real overrun
    // (caught by the sanitizer build).
    const std::string prefix = file.substr(0, cut);
    std::vector<char> exact(prefix.begin(), prefix.end());
    npy::MemorySource src(exact.data(), exact.size());
    CHECK_THROWS_AS(npy::read_matrix(src), npy::Error);
  }
  // the header text itself cut at every byte, with a truthful length field
  for (std::size_t cut = 0; cut < kDict32.size(); ++cut) {
    INFO("header cut at " << cut);
    CHECK_THROWS_AS(read_bytes(make_npy(kDict32.substr(0, cut), bytes_of(a))), npy::Error);
  }
}

TEST_CASE("npy: sizes are checked against the file before anything is allocated", "[npy][cli]") {
  const std::vector<float> a = {1, 2, 3, 4, 5, 6};
  // 10^6 x 10^6 float32 = 4e12 bytes claimed, 24 present
  CHECK_THAT(error_of(make_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1000000, "
                               "1000000), }",
                               bytes_of(a))),
             Catch::Contains("claims 4000000000000 bytes of data, the file has 24"));
  // a header length of 65535 in a 152-byte file
  std::string file = make_npy(kDict32, bytes_of(a));
  file[8] = '\xff';
  file[9] = '\xff';
  CHECK_THAT(error_of(file), Catch::Contains("header length 65535 runs past the end"));
  // version 2.0 with a 4 GiB header length
  std::string v2 = make_npy(kDict32, bytes_of(a), 2);
  for (int i = 8; i < 12; ++i) v2[std::size_t(i)] = '\xff';
  CHECK_THAT(error_of(v2), Catch::Contains("header length 4294967295 runs past the end"));
  // one byte too many is rejected too (no silent trailing data)
  CHECK_THAT(error_of(make_npy(kDict32, bytes_of(a) + "x")), Catch::Contains("trailing"));
}

TEST_CASE("npy: shapes and layouts the tool cannot aggregate", "[npy][cli]") {
  const std::vector<float> a = {1, 2, 3, 4, 5, 6};
  auto with_shape = [&](const std::string& shape, const std::string& fortran = "False") {
    return error_of(make_npy("{'descr': '<f4', 'fortran_order': " + fortran + ", 'shape': " +
                                 shape + ", }",
                             bytes_of(a)));
  };
  CHECK_THAT(with_shape("(6,)"), Catch::Contains("need a 2-D array") && Catch::Contains("(6,)"));
  CHECK_THAT(with_shape("(1, 2, 3)"), Catch::Contains("need a 2-D array"));
  CHECK_THAT(with_shape("(2, 3)", "True"), Catch::Contains("fortran_order"));
  CHECK_THAT(error_of(make_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (0, 3), }", "")),
             Catch::Contains("empty array"));
  CHECK_THAT(error_of(make_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 0), }", "")),
             Catch::Contains("empty array"));
  CHECK_THAT(error_of(""), Catch::Contains("empty"));
  CHECK_THAT(error_of("\x93NUMPX"), Catch::Contains("bad magic"));
  CHECK_THAT(error_of("\x93NU"), Catch::Contains("truncated"));
  CHECK_THAT(error_of("hello"), Catch::Contains("bad magic"));
  std::string v9 = make_npy(kDict32, bytes_of(a));
  v9[6] = 9;
  CHECK_THAT(error_of(v9), Catch::Contains("version 9.0"));
}
