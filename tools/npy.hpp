// robustagg tools: a strict reader and writer for NumPy .npy files (format
// versions 1.0, 2.0 and 3.0), limited to what the command-line tool needs:
// float32 / float64 little-endian arrays in C order.
//
// The file format (numpy.lib.format):
//   bytes 0-5   "\x93NUMPY"
//   byte  6, 7  major, minor version (1.0, 2.0 or 3.0)
//   then        header length L: uint16 LE (1.0) or uint32 LE (2.0, 3.0)
//   then        L bytes: a Python dict literal
//                 {'descr': '<f4', 'fortran_order': False, 'shape': (n, d), }
//               padded with spaces and ended by '\n' so that the data starts at a
//               multiple of 64 bytes (readers must not rely on the alignment)
//   then        the data, n*d items in C order.
//
// Everything read is validated before it is trusted: the header length against
// the file size, the dict's syntax and keys, the dtype, the shape (no negative
// dimensions, no overflow of the element count), and the data size against the
// bytes actually present. No allocation is ever sized from a header before that
// check, so a lying header cannot trigger a huge allocation.
//
// Header-only and independent of the CLI's main(), so the unit tests and the
// fuzz targets use the same code.
#pragma once

#include <sys/stat.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <robustagg/gradients.hpp>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "robustagg's .npy reader assumes a little-endian host"
#endif

namespace robustagg::tools::npy {

/// Anything wrong with a .npy file or its I/O. The message is one line.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

enum class Dtype { float32, float64 };

inline std::size_t item_size(Dtype t) { return t == Dtype::float32 ? 4 : 8; }
inline const char* descr(Dtype t) { return t == Dtype::float32 ? "<f4" : "<f8"; }
inline const char* dtype_name(Dtype t) { return t == Dtype::float32 ? "float32" : "float64"; }

/// The fields of a parsed header.
struct Header {
  int major = 0, minor = 0;
  Dtype dtype = Dtype::float64;
  bool fortran_order = false;
  std::vector<std::uint64_t> shape;
  std::uint64_t data_offset = 0;  // where the data starts in the file
  std::uint64_t count = 0;        // product of shape (1 for a 0-d array)
  std::uint64_t data_bytes = 0;   // count * item size
};

/// Upper bound on the header length we accept. A real header of a 2-D array is
/// about 128 bytes; NumPy itself refuses headers over 10000 bytes by default.
inline constexpr std::uint64_t kMaxHeaderLength = 1 << 20;

/// At most this many dimensions (NumPy's own limit is 32 or 64).
inline constexpr std::size_t kMaxRank = 64;

namespace detail {

/// A printable, bounded rendering of untrusted text for error messages.
inline std::string quote(std::string_view s, std::size_t max = 60) {
  std::string out;
  for (std::size_t i = 0; i < s.size() && i < max; ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out += char(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
  }
  if (s.size() > max) out += "...";
  return out;
}

/// A recursive-descent parser for the subset of Python literals a .npy header
/// uses: a dict of string keys to strings, True/False, and tuples of integers.
class DictParser {
 public:
  explicit DictParser(std::string_view s) : s_(s) {}

  Header parse() {
    Header h;
    bool have_descr = false, have_fortran = false, have_shape = false;
    skip_space();
    expect('{', "the header is not a Python dict (no '{')");
    skip_space();
    while (peek() != '}') {
      const std::string key = string_literal("a quoted key");
      skip_space();
      expect(':', "expected ':' after key '" + quote(key) + "'");
      skip_space();
      if (key == "descr") {
        if (have_descr) fail("key 'descr' given twice");
        have_descr = true;
        h.dtype = parse_descr();
      } else if (key == "fortran_order") {
        if (have_fortran) fail("key 'fortran_order' given twice");
        have_fortran = true;
        h.fortran_order = parse_bool();
      } else if (key == "shape") {
        if (have_shape) fail("key 'shape' given twice");
        have_shape = true;
        h.shape = parse_shape();
      } else {
        fail("unexpected key '" + quote(key) + "' (a .npy header has exactly 'descr', "
             "'fortran_order' and 'shape')");
      }
      skip_space();
      if (peek() == ',') {
        ++pos_;
        skip_space();
        continue;
      }
      if (peek() != '}') fail("expected ',' or '}'");
    }
    ++pos_;  // '}'
    // After the dict: only the padding (spaces) and the terminating newline.
    while (pos_ < s_.size()) {
      const char c = s_[pos_];
      if (c != ' ' && c != '\n' && c != '\t' && c != '\r')
        fail("unexpected bytes after the dict");
      ++pos_;
    }
    for (auto [have, key] : {std::pair{have_descr, "descr"}, std::pair{have_fortran, "fortran_order"},
                             std::pair{have_shape, "shape"}})
      if (!have) throw Error(std::string("malformed .npy header: missing key '") + key + "'");
    return h;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw Error("malformed .npy header: " + what + " at header offset " + std::to_string(pos_));
  }
  char peek() const {
    if (pos_ >= s_.size()) fail("unexpected end of header");
    return s_[pos_];
  }
  void expect(char c, const std::string& what) {
    if (pos_ >= s_.size() || s_[pos_] != c) fail(what);
    ++pos_;
  }
  void skip_space() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' ||
                                s_[pos_] == '\r'))
      ++pos_;
  }
  std::string string_literal(const char* what) {
    if (pos_ >= s_.size() || (s_[pos_] != '\'' && s_[pos_] != '"'))
      fail(std::string("expected ") + what);
    const char q = s_[pos_++];
    const std::size_t start = pos_;
    while (pos_ < s_.size() && s_[pos_] != q) {
      if (s_[pos_] == '\\' || s_[pos_] == '\n') fail("unsupported character in a string");
      ++pos_;
    }
    if (pos_ >= s_.size()) fail("unterminated string");
    std::string v(s_.substr(start, pos_ - start));
    ++pos_;
    return v;
  }
  Dtype parse_descr() {
    if (peek() == '[' || peek() == '{')
      fail("structured dtypes are not supported (need float32 or float64)");
    const std::string d = string_literal("a quoted dtype for 'descr'");
    // '<' little-endian; '=' native (little-endian on every host this builds
    // on); '|' "not applicable", which NumPy also accepts for floats; no prefix
    // means native as well.
    std::string_view t = d;
    char order = '=';
    if (!t.empty() && (t[0] == '<' || t[0] == '>' || t[0] == '=' || t[0] == '|')) {
      order = t[0];
      t.remove_prefix(1);
    }
    if (t == "f4" || t == "f8") {
      if (order == '>') {
        throw Error("unsupported dtype '" + quote(d) +
                    "': big-endian data is not supported (convert with "
                    "a.astype('<" + std::string(t) + "'))");
      }
      return t == "f4" ? Dtype::float32 : Dtype::float64;
    }
    throw Error("unsupported dtype '" + quote(d) + "' (need float32 '<f4' or float64 '<f8')");
  }
  bool parse_bool() {
    if (s_.substr(pos_, 4) == "True") {
      pos_ += 4;
      return true;
    }
    if (s_.substr(pos_, 5) == "False") {
      pos_ += 5;
      return false;
    }
    fail("'fortran_order' must be True or False");
  }
  std::uint64_t parse_dim() {
    if (peek() == '-') fail("negative dimension in 'shape'");
    if (peek() < '0' || peek() > '9') fail("expected a non-negative integer in 'shape'");
    std::uint64_t v = 0;
    while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') {
      const unsigned digit = unsigned(s_[pos_] - '0');
      if (v > (std::numeric_limits<std::uint64_t>::max() - digit) / 10)
        fail("dimension in 'shape' overflows 64 bits");
      v = v * 10 + digit;
      ++pos_;
    }
    if (pos_ < s_.size() && (s_[pos_] == 'L' || s_[pos_] == 'l')) ++pos_;  // Python 2 long
    return v;
  }
  std::vector<std::uint64_t> parse_shape() {
    expect('(', "'shape' must be a tuple");
    std::vector<std::uint64_t> shape;
    skip_space();
    if (peek() == ')') {
      ++pos_;
      return shape;
    }
    for (;;) {
      skip_space();
      if (shape.size() == kMaxRank) fail("'shape' has too many dimensions");
      shape.push_back(parse_dim());
      skip_space();
      if (peek() == ',') {
        ++pos_;
        skip_space();
        if (peek() == ')') {
          ++pos_;
          return shape;
        }
        continue;
      }
      if (peek() == ')') {
        if (shape.size() == 1) fail("'shape' of one dimension must be written (n,)");
        ++pos_;
        return shape;
      }
      fail("expected ',' or ')' in 'shape'");
    }
  }

  std::string_view s_;
  std::size_t pos_ = 0;
};

inline std::uint32_t load_le(const unsigned char* p, int bytes) {
  std::uint32_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

}  // namespace detail

/// Parses the dict text of a header (no magic, no length prefix) and fills
/// dtype, fortran_order, shape, count and data_bytes.
inline Header parse_header_dict(std::string_view dict) {
  Header h = detail::DictParser(dict).parse();
  std::uint64_t count = 1;
  for (std::uint64_t dim : h.shape) {
    if (dim != 0 && count > std::numeric_limits<std::uint64_t>::max() / dim)
      throw Error("malformed .npy header: the shape's element count overflows 64 bits");
    count *= dim;
  }
  h.count = count;
  if (count > std::numeric_limits<std::uint64_t>::max() / item_size(h.dtype))
    throw Error("malformed .npy header: the shape's byte count overflows 64 bits");
  h.data_bytes = count * item_size(h.dtype);
  return h;
}

/// A source of bytes of known total size: a file or a memory buffer.
class Source {
 public:
  virtual ~Source() = default;
  /// Total size in bytes.
  virtual std::uint64_t size() const = 0;
  /// Reads exactly n bytes or throws Error naming `what`.
  virtual void read(void* dst, std::size_t n, const char* what) = 0;
};

/// Bytes in memory (tests, fuzzing).
class MemorySource final : public Source {
 public:
  MemorySource(const void* data, std::size_t size)
      : p_(static_cast<const unsigned char*>(data)), size_(size) {}
  std::uint64_t size() const override { return size_; }
  void read(void* dst, std::size_t n, const char* what) override {
    if (n > size_ - pos_) throw Error(std::string("truncated .npy file: ends inside the ") + what);
    if (n) std::memcpy(dst, p_ + pos_, n);
    pos_ += n;
  }

 private:
  const unsigned char* p_;
  std::size_t size_;
  std::size_t pos_ = 0;
};

/// A regular file opened for reading; its size comes from fstat before any
/// allocation is sized from the header. Messages do not repeat the path: the
/// caller prefixes it.
class FileSource final : public Source {
 public:
  explicit FileSource(const std::string& path) {
    f_ = std::fopen(path.c_str(), "rb");
    if (!f_) throw Error(std::string("cannot open: ") + std::strerror(errno));
    struct stat st {};
    if (::fstat(::fileno(f_), &st) != 0) {
      const int e = errno;
      std::fclose(f_);
      throw Error(std::string("cannot stat: ") + std::strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
      std::fclose(f_);
      throw Error("not a regular file");
    }
    size_ = std::uint64_t(st.st_size);
  }
  FileSource(const FileSource&) = delete;
  FileSource& operator=(const FileSource&) = delete;
  ~FileSource() override {
    if (f_) std::fclose(f_);
  }
  std::uint64_t size() const override { return size_; }
  void read(void* dst, std::size_t n, const char* what) override {
    if (n == 0) return;
    const std::size_t got = std::fread(dst, 1, n, f_);
    if (got != n) {
      if (std::ferror(f_))
        throw Error(std::string("read error: ") + std::strerror(errno));
      throw Error(std::string("truncated .npy file: ends inside the ") + what);
    }
  }

 private:
  std::FILE* f_ = nullptr;
  std::uint64_t size_ = 0;
};

/// Reads and validates the magic, version, header length and header dict.
/// Checks that the file holds exactly the data the header claims.
inline Header read_header(Source& src) {
  const std::uint64_t file_size = src.size();
  if (file_size == 0) throw Error("not a .npy file: the file is empty");
  unsigned char pre[12];
  const std::size_t magic_len = file_size < 6 ? std::size_t(file_size) : 6;
  src.read(pre, magic_len, "magic string");
  if (magic_len < 6 || std::memcmp(pre, "\x93NUMPY", 6) != 0) {
    // Check what we have first, so a short file of the wrong kind says so.
    if (std::memcmp(pre, "\x93NUMPY", magic_len) != 0)
      throw Error("not a .npy file: bad magic string (expected \\x93NUMPY)");
    throw Error("truncated .npy file: ends inside the magic string");
  }
  src.read(pre + 6, 2, "version");
  const int major = pre[6], minor = pre[7];
  if (!((major == 1 || major == 2 || major == 3) && minor == 0))
    throw Error("unsupported .npy format version " + std::to_string(major) + "." +
                std::to_string(minor) + " (supported: 1.0, 2.0, 3.0)");
  const int len_bytes = major == 1 ? 2 : 4;
  src.read(pre + 8, std::size_t(len_bytes), "header length");
  const std::uint64_t header_len = detail::load_le(pre + 8, len_bytes);
  const std::uint64_t prefix = 8 + std::uint64_t(len_bytes);
  if (header_len > file_size - prefix)
    throw Error("truncated .npy file: header length " + std::to_string(header_len) +
                " runs past the end of the file (" + std::to_string(file_size) + " bytes)");
  if (header_len > kMaxHeaderLength)
    throw Error("malformed .npy header: header length " + std::to_string(header_len) +
                " is over the limit of " + std::to_string(kMaxHeaderLength) + " bytes");
  std::string text(std::size_t(header_len), '\0');
  src.read(text.data(), text.size(), "header");
  Header h = parse_header_dict(text);
  h.major = major;
  h.minor = minor;
  h.data_offset = prefix + header_len;
  const std::uint64_t available = file_size - h.data_offset;
  if (available < h.data_bytes)
    throw Error("truncated .npy file: the header claims " + std::to_string(h.data_bytes) +
                " bytes of data, the file has " + std::to_string(available));
  if (available > h.data_bytes)
    throw Error("malformed .npy file: " + std::to_string(available - h.data_bytes) +
                " bytes of trailing data after the array");
  return h;
}

/// Checks that the header describes a non-empty 2-D C-order matrix.
inline void require_matrix(const Header& h) {
  if (h.fortran_order)
    throw Error("fortran_order=True arrays are not supported (save np.ascontiguousarray(a))");
  if (h.shape.size() != 2) {
    std::string shape = "(";
    for (std::size_t i = 0; i < h.shape.size(); ++i)
      shape += (i ? ", " : "") + std::to_string(h.shape[i]);
    if (h.shape.size() == 1) shape += ",";
    shape += ")";
    throw Error("need a 2-D array (n gradients x d coordinates), got shape " + shape);
  }
  if (h.shape[0] == 0 || h.shape[1] == 0)
    throw Error("empty array of shape (" + std::to_string(h.shape[0]) + ", " +
                std::to_string(h.shape[1]) + "): need n >= 1 gradients and d >= 1 coordinates");
  const std::uint64_t max_index = std::uint64_t(std::numeric_limits<Index>::max());
  if (h.shape[0] > max_index || h.shape[1] > max_index || h.count > max_index)
    throw Error("array too large for this platform");
}

/// Reads the data of a validated matrix header (the source positioned just
/// after the header) into an n x d row-major matrix.
template <class T>
GradientMatrix<T> read_matrix_data(Source& src, const Header& h) {
  static_assert(sizeof(T) == 4 || sizeof(T) == 8);
  require_matrix(h);
  if (item_size(h.dtype) != sizeof(T)) throw Error("internal error: dtype mismatch");
  GradientMatrix<T> m(Index(h.shape[0]), Index(h.shape[1]));
  src.read(m.data(), std::size_t(h.data_bytes), "array data");
  return m;
}

/// A 2-D float matrix read from a .npy file: exactly one of f32 / f64 is set.
struct Matrix {
  Dtype dtype = Dtype::float64;
  GradientMatrix<float> f32;
  GradientMatrix<double> f64;
  Index rows() const { return dtype == Dtype::float32 ? f32.rows() : f64.rows(); }
  Index cols() const { return dtype == Dtype::float32 ? f32.cols() : f64.cols(); }
};

/// Reads a non-empty 2-D C-order float32/float64 matrix from any source.
inline Matrix read_matrix(Source& src) {
  const Header h = read_header(src);
  require_matrix(h);
  Matrix m;
  m.dtype = h.dtype;
  if (h.dtype == Dtype::float32)
    m.f32 = read_matrix_data<float>(src, h);
  else
    m.f64 = read_matrix_data<double>(src, h);
  return m;
}

/// Reads a non-empty 2-D C-order float32/float64 matrix from a .npy file.
inline Matrix read_matrix(const std::string& path) {
  FileSource src(path);
  return read_matrix(src);
}

/// The complete header (magic through '\n') of a version 1.0 .npy file of a
/// C-order array of shape (count,) or (count, cols) when cols >= 0, byte for
/// byte what numpy.save writes: the dict with its keys sorted,
/// 21 - len(str(count)) spare spaces so the first dimension can grow in place,
/// then spaces up to a multiple of 64 bytes and '\n'.
inline std::string array_header(Dtype dtype, std::uint64_t count, std::int64_t cols) {
  const std::string n = std::to_string(count);
  const std::string shape = cols < 0 ? n + "," : n + ", " + std::to_string(cols);
  std::string dict = std::string("{'descr': '") + descr(dtype) +
                     "', 'fortran_order': False, 'shape': (" + shape + "), }";
  if (n.size() < 21) dict.append(21 - n.size(), ' ');
  const std::size_t unpadded = 10 + dict.size() + 1;  // magic+version+len, dict, '\n'
  dict.append((64 - unpadded % 64) % 64, ' ');
  dict += '\n';
  if (dict.size() > 0xffff) throw Error("internal error: header too long for format 1.0");
  std::string out = "\x93NUMPY";
  out += char(1);
  out += char(0);
  out += char(dict.size() & 0xff);
  out += char((dict.size() >> 8) & 0xff);
  out += dict;
  return out;
}

/// The header of a 1-D array of `count` items (array_header).
inline std::string vector_header(Dtype dtype, std::uint64_t count) {
  return array_header(dtype, count, -1);
}

/// Writes a 2-D rows x cols .npy (format 1.0, C order) to an open stream, row i
/// from rows[i]. Throws Error on any write failure.
template <class T>
void write_matrix(std::FILE* f, const T* const* rows, std::uint64_t n, std::uint64_t cols) {
  static_assert(sizeof(T) == 4 || sizeof(T) == 8);
  const std::string header =
      array_header(sizeof(T) == 4 ? Dtype::float32 : Dtype::float64, n, std::int64_t(cols));
  bool ok = std::fwrite(header.data(), 1, header.size(), f) == header.size();
  for (std::uint64_t i = 0; ok && i < n; ++i)
    ok = cols == 0 || std::fwrite(rows[i], sizeof(T), std::size_t(cols), f) == cols;
  if (!ok) throw Error(std::string("write error: ") + std::strerror(errno));
}

/// Writes a 1-D .npy (format 1.0) of `count` items to an open stream. Throws
/// Error on any write failure (the caller owns the stream and its cleanup).
template <class T>
void write_vector(std::FILE* f, const T* data, std::uint64_t count) {
  static_assert(sizeof(T) == 4 || sizeof(T) == 8);
  const std::string header = vector_header(sizeof(T) == 4 ? Dtype::float32 : Dtype::float64, count);
  if (std::fwrite(header.data(), 1, header.size(), f) != header.size() ||
      (count && std::fwrite(data, sizeof(T), std::size_t(count), f) != count))
    throw Error(std::string("write error: ") + std::strerror(errno));
}

}  // namespace robustagg::tools::npy
