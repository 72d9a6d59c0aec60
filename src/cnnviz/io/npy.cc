#include "cnnviz/npy.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "cnnviz/error.h"

namespace cnnviz {
namespace {

// NEP 1 / numpy.lib.format: "\x93NUMPY", major, minor, header length (uint16 LE for 1.0, uint32 LE for
// 2.0), then the header, which numpy pads with spaces and a '\n' so the data starts at a multiple of 64.
const char kMagic[] = "\x93NUMPY";
constexpr std::size_t kMagicSize = 6;
constexpr std::size_t kAlign = 64;
// numpy >= 1.23 leaves room after the dict so the first dimension can grow in place to 21 digits
// (numpy.lib.format.GROWTH_AXIS_MAX_DIGITS).
constexpr std::size_t kGrowthAxisMaxDigits = 21;

int64_t checked_numel(const std::vector<int64_t>& shape) {
  int64_t numel = 1;
  for (const int64_t dim : shape) {
    if (dim < 0) throw Error::usage("cannot write a .npy array with a negative dimension (" + std::to_string(dim) + ")");
    if (dim != 0 && numel > std::numeric_limits<int64_t>::max() / dim) {
      throw Error::usage("cannot write a .npy array: its element count overflows");
    }
    numel *= dim;
  }
  return numel;
}

// Python's repr of a tuple of ints: "()", "(5,)", "(2, 3)".
std::string shape_repr(const std::vector<int64_t>& shape) {
  std::string s = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) s += ", ";
    s += std::to_string(shape[i]);
  }
  if (shape.size() == 1) s += ",";
  return s + ")";
}

std::string npy_header(const std::string& descr, const std::vector<int64_t>& shape) {
  std::string dict = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape_repr(shape) + ", }";
  if (!shape.empty()) {
    const std::size_t digits = std::to_string(shape.front()).size();
    if (digits < kGrowthAxisMaxDigits) dict.append(kGrowthAxisMaxDigits - digits, ' ');
  }
  // As numpy's _wrap_header: total = magic (6) + version (2) + length field, then dict, padding, '\n'.
  const std::size_t hlen = dict.size() + 1;
  std::size_t length_size = 2;
  std::size_t pad = kAlign - (kMagicSize + 2 + length_size + hlen) % kAlign;
  if (hlen + pad > 0xffff) {
    length_size = 4;
    pad = kAlign - (kMagicSize + 2 + length_size + hlen) % kAlign;
  }
  const std::size_t field = hlen + pad;
  std::string out(kMagic, kMagicSize);
  out += static_cast<char>(length_size == 2 ? 1 : 2);
  out += '\0';
  for (std::size_t i = 0; i < length_size; ++i) out += static_cast<char>((field >> (8 * i)) & 0xff);
  out += dict;
  out.append(pad, ' ');
  out += '\n';
  return out;
}

Error bad_npy(const std::string& why) {
  return Error(ErrorKind::kData, "invalid .npy data (" + why + "); write it with numpy.save");
}

// A parser for the header dict numpy writes: a Python literal with the keys 'descr' (a string),
// 'fortran_order' (True/False) and 'shape' (a tuple of ints), in any order.
class HeaderParser {
 public:
  explicit HeaderParser(const std::string& text) : text_(text) {}

  void parse(NpyArray& array) {
    bool have_descr = false, have_order = false, have_shape = false;
    expect('{');
    for (;;) {
      skip_space();
      if (peek() == '}') break;
      const std::string key = parse_string();
      expect(':');
      if (key == "descr") {
        array.descr = parse_string();
        have_descr = true;
      } else if (key == "fortran_order") {
        skip_space();
        if (take_word("False")) {
        } else if (take_word("True")) {
          throw bad_npy("Fortran-order arrays are not supported");
        } else {
          throw bad_npy("fortran_order is not True or False");
        }
        have_order = true;
      } else if (key == "shape") {
        array.shape = parse_shape();
        have_shape = true;
      } else {
        throw bad_npy("unexpected header key '" + key + "'");
      }
      skip_space();
      if (peek() == ',') {
        ++pos_;
      } else if (peek() != '}') {
        throw bad_npy("malformed header");
      }
    }
    ++pos_;
    if (!have_descr || !have_order || !have_shape) throw bad_npy("the header lacks descr, fortran_order or shape");
    skip_space();
    if (pos_ != text_.size()) throw bad_npy("malformed header");
  }

 private:
  char peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }
  void skip_space() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\n' || text_[pos_] == '\t' || text_[pos_] == '\r')) {
      ++pos_;
    }
  }
  void expect(char c) {
    skip_space();
    if (peek() != c) throw bad_npy(std::string("malformed header: expected '") + c + "'");
    ++pos_;
  }
  bool take_word(const char* word) {
    const std::size_t n = std::strlen(word);
    if (text_.compare(pos_, n, word) != 0) return false;
    pos_ += n;
    return true;
  }
  std::string parse_string() {
    skip_space();
    const char quote = peek();
    if (quote != '\'' && quote != '"') throw bad_npy("malformed header: expected a string");
    const std::size_t end = text_.find(quote, pos_ + 1);
    if (end == std::string::npos) throw bad_npy("malformed header: unterminated string");
    std::string s = text_.substr(pos_ + 1, end - pos_ - 1);
    pos_ = end + 1;
    return s;
  }
  std::vector<int64_t> parse_shape() {
    std::vector<int64_t> shape;
    expect('(');
    for (;;) {
      skip_space();
      if (peek() == ')') break;
      if (peek() < '0' || peek() > '9') throw bad_npy("malformed shape");
      int64_t value = 0;
      while (peek() >= '0' && peek() <= '9') {
        const int digit = peek() - '0';
        if (value > (std::numeric_limits<int64_t>::max() - digit) / 10) throw bad_npy("a dimension is too large");
        value = value * 10 + digit;
        ++pos_;
      }
      shape.push_back(value);
      skip_space();
      if (peek() == ',') {
        ++pos_;
      } else if (peek() != ')') {
        throw bad_npy("malformed shape");
      }
    }
    ++pos_;
    return shape;
  }

  const std::string& text_;
  std::size_t pos_ = 0;
};

int64_t item_size(const std::string& descr) {
  if (descr == "<f4") return 4;
  if (descr == "<f8" || descr == "<i8") return 8;
  if (descr == "|u1") return 1;
  throw bad_npy("dtype '" + descr + "' is not supported; use '<f4', '<f8', '|u1' or '<i8'");
}

}  // namespace

std::string encode_npy_float32(const std::vector<int64_t>& shape, const float* data) {
  const auto numel = static_cast<std::size_t>(checked_numel(shape));
  std::string out = npy_header("<f4", shape);
  const std::size_t start = out.size();
  out.resize(start + 4 * numel);
  for (std::size_t i = 0; i < numel; ++i) {
    uint32_t bits = 0;
    std::memcpy(&bits, &data[i], 4);
    for (std::size_t b = 0; b < 4; ++b) out[start + 4 * i + b] = static_cast<char>((bits >> (8 * b)) & 0xff);
  }
  return out;
}

std::string encode_npy_uint8(const std::vector<int64_t>& shape, const uint8_t* data) {
  const auto numel = static_cast<std::size_t>(checked_numel(shape));
  std::string out = npy_header("|u1", shape);
  if (numel > 0) out.append(reinterpret_cast<const char*>(data), numel);
  return out;
}

NpyArray decode_npy(const std::string& bytes) {
  if (bytes.size() < kMagicSize + 4 || bytes.compare(0, kMagicSize, kMagic, kMagicSize) != 0) {
    throw bad_npy("no \\x93NUMPY magic");
  }
  const int major = static_cast<unsigned char>(bytes[6]);
  std::size_t length_size = 0;
  if (major == 1) {
    length_size = 2;
  } else if (major == 2) {
    length_size = 4;
  } else {
    throw bad_npy("format version " + std::to_string(major) + "." + std::to_string(static_cast<unsigned char>(bytes[7])) +
                  " is not supported; use 1.0 or 2.0");
  }
  if (bytes.size() < kMagicSize + 2 + length_size) throw bad_npy("truncated header");
  std::size_t header_length = 0;
  for (std::size_t i = 0; i < length_size; ++i) {
    header_length |= std::size_t{static_cast<unsigned char>(bytes[kMagicSize + 2 + i])} << (8 * i);
  }
  const std::size_t header_start = kMagicSize + 2 + length_size;
  if (header_length > bytes.size() - header_start) throw bad_npy("truncated header");
  const std::string header = bytes.substr(header_start, header_length);

  NpyArray array;
  HeaderParser(header).parse(array);
  const int64_t size = item_size(array.descr);
  const std::size_t available = bytes.size() - header_start - header_length;
  // As numpy ("array is too big"): the non-zero dimensions times the item size must fit in int64 even
  // when a zero dimension makes the array empty, so (2**40, 2**40, 0) is refused, as np.load refuses
  // it, and every shape decoded here can be written back by encode_npy_*().
  {
    uint64_t nonzero_bytes = static_cast<uint64_t>(size);
    for (const int64_t dim : array.shape) {
      if (dim == 0) continue;
      if (static_cast<uint64_t>(dim) > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) / nonzero_bytes) {
        throw bad_npy("shape " + shape_repr(array.shape) + " of " + array.descr + " is too large");
      }
      nonzero_bytes *= static_cast<uint64_t>(dim);
    }
  }
  // Each factor is checked against the bytes actually present, so the product cannot overflow.
  uint64_t expected = static_cast<uint64_t>(size);
  if (std::find(array.shape.begin(), array.shape.end(), 0) != array.shape.end()) {
    expected = 0;
  } else {
    for (const int64_t dim : array.shape) {
      if (static_cast<uint64_t>(dim) > available / expected) {
        throw bad_npy("shape " + shape_repr(array.shape) + " of " + array.descr + " needs more than the " +
                      std::to_string(available) + " bytes of data present");
      }
      expected *= static_cast<uint64_t>(dim);
    }
  }
  if (expected != available) {
    throw bad_npy("shape " + shape_repr(array.shape) + " of " + array.descr + " needs " + std::to_string(expected) +
                  " bytes of data, the file has " + std::to_string(available));
  }
  array.data = bytes.substr(header_start + header_length);
  return array;
}

}  // namespace cnnviz
