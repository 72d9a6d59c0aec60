#include <catch2/catch.hpp>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "cnnviz/error.h"
#include "cnnviz/npy.h"
#include "test_env.h"

using namespace cnnviz;
using Catch::Matchers::Contains;

// tests/data/npy/*.npy are written by numpy 1.24's np.save (tests/data/make_images.py).

namespace {

std::string npy_path(const std::string& name) { return std::string(CNNVIZ_SOURCE_DIR) + "/tests/data/npy/" + name; }

template <typename T>
std::vector<T> values(const NpyArray& array) {
  std::vector<T> out(array.data.size() / sizeof(T));
  std::memcpy(out.data(), array.data.data(), array.data.size());  // the test hosts are little-endian
  return out;
}

Error npy_refusal(const std::string& bytes) {
  try {
    decode_npy(bytes);
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::kData);
    CHECK(std::string(e.what()).find('\n') == std::string::npos);
    return e;
  }
  FAIL("decoded " << bytes.size() << " bytes");
  return Error(ErrorKind::kInternal, "");
}

}  // namespace

TEST_CASE("encode_npy_float32 writes numpy's bytes", "[image]") {
  const std::vector<float> six = {0, 1, 2, 3, 4, 5};
  CHECK(encode_npy_float32({2, 3}, six.data()) == test::read_file(npy_path("f32_2x3.npy")));
  const std::vector<float> five = {-0.5F, -0.25F, 0.0F, 0.25F, 0.5F};
  CHECK(encode_npy_float32({5}, five.data()) == test::read_file(npy_path("f32_5.npy")));
  const float scalar = 42;
  CHECK(encode_npy_float32({}, &scalar) == test::read_file(npy_path("f32_scalar.npy")));
  CHECK(encode_npy_float32({0, 3}, nullptr) == test::read_file(npy_path("f32_0x3.npy")));
}

TEST_CASE("encode_npy_uint8 writes numpy's bytes", "[image]") {
  std::vector<uint8_t> twelve(12);
  for (uint8_t i = 0; i < 12; ++i) twelve[i] = i;
  CHECK(encode_npy_uint8({2, 2, 3}, twelve.data()) == test::read_file(npy_path("u8_2x2x3.npy")));
}

TEST_CASE("the npy header matches numpy's layout", "[image]") {
  const float one = 1;
  const std::string bytes = encode_npy_float32({1, 1}, &one);
  CHECK(bytes.size() == 128 + 4);
  CHECK(bytes.substr(10, 62) == "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1), }   ");
  CHECK(bytes[127] == '\n');
  const std::vector<float> zeros(64);
  for (const auto& shape : std::vector<std::vector<int64_t>>{{}, {0}, {7}, {123456789012, 0}, {1, 2, 1, 3, 1, 1, 2, 1}}) {
    const std::string b = encode_npy_float32(shape, zeros.data());
    const std::size_t header = 10 + (static_cast<unsigned char>(b[8]) | (static_cast<unsigned char>(b[9]) << 8));
    CHECK(header % 64 == 0);
    CHECK(b[header - 1] == '\n');
  }
  CHECK(encode_npy_float32({}, &one).find("'shape': (), }") != std::string::npos);
  CHECK(encode_npy_float32({5}, zeros.data()).find("'shape': (5,), }") != std::string::npos);
}

TEST_CASE("npy arrays round trip through encode and decode", "[image]") {
  const std::vector<float> f = {1.5F, -2.0F, 3.25F, 0.0F, 1e-30F, -7.0F};
  const NpyArray a = decode_npy(encode_npy_float32({3, 2}, f.data()));
  CHECK(a.descr == "<f4");
  CHECK(a.shape == std::vector<int64_t>{3, 2});
  CHECK(values<float>(a) == f);

  const std::vector<uint8_t> u = {0, 255, 7};
  const NpyArray b = decode_npy(encode_npy_uint8({3}, u.data()));
  CHECK(b.descr == "|u1");
  CHECK(values<uint8_t>(b) == u);

  const float scalar = 42;
  const NpyArray c = decode_npy(encode_npy_float32({}, &scalar));
  CHECK(c.shape.empty());
  CHECK(values<float>(c) == std::vector<float>{42});

  const NpyArray empty = decode_npy(encode_npy_float32({0, 3}, nullptr));
  CHECK(empty.shape == std::vector<int64_t>{0, 3});
  CHECK(empty.data.empty());
}

TEST_CASE("a header too long for format 1.0 switches to 2.0", "[image]") {
  const std::vector<int64_t> shape(30000, 1);
  const float one = 1;
  const std::string bytes = encode_npy_float32(shape, &one);
  CHECK(bytes[6] == 2);
  const NpyArray back = decode_npy(bytes);
  CHECK(back.shape == shape);
  CHECK(values<float>(back) == std::vector<float>{1});
}

TEST_CASE("decode_npy reads numpy's files of every supported dtype", "[image]") {
  const NpyArray f64 = decode_npy(test::read_file(npy_path("f64_3.npy")));
  CHECK(f64.descr == "<f8");
  CHECK(values<double>(f64) == std::vector<double>{0.5, -1.25, 3.0});
  const NpyArray i64 = decode_npy(test::read_file(npy_path("i64_2x2.npy")));
  CHECK(i64.descr == "<i8");
  CHECK(i64.shape == std::vector<int64_t>{2, 2});
  CHECK(values<int64_t>(i64) == std::vector<int64_t>{1, -2, 3, int64_t{1} << 40});
  const NpyArray f32 = decode_npy(test::read_file(npy_path("f32_2x3.npy")));
  CHECK(values<float>(f32) == std::vector<float>{0, 1, 2, 3, 4, 5});

  int expected_files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(std::string(CNNVIZ_SOURCE_DIR) + "/tests/data/images")) {
    const std::string name = entry.path().filename().string();
    if (name.size() < 13 || name.compare(name.size() - 13, 13, ".expected.npy") != 0) continue;
    INFO(name);
    const NpyArray array = decode_npy(test::read_file(entry.path().string()));
    CHECK(array.descr == "|u1");
    CHECK((array.shape.size() == 2 || (array.shape.size() == 3 && array.shape[2] == 3)));
    ++expected_files;
  }
  CHECK(expected_files >= 30);
}

TEST_CASE("decode_npy refuses what it cannot read", "[image]") {
  const float one = 1;
  const std::string good = encode_npy_float32({1}, &one);
  CHECK_THAT(npy_refusal("").what(), Contains("magic"));
  CHECK_THAT(npy_refusal("PK\x03\x04 not npy").what(), Contains("magic"));
  std::string v3 = good;
  v3[6] = 3;
  CHECK_THAT(npy_refusal(v3).what(), Contains("version 3.0"));
  CHECK_THAT(npy_refusal(good.substr(0, good.size() - 1)).what(), Contains("needs more than the 3 bytes of data present"));
  CHECK_THAT(npy_refusal(good + "x").what(), Contains("the file has 5"));
  CHECK_THAT(npy_refusal(good.substr(0, 40)).what(), Contains("truncated header"));

  auto with_header = [&](std::string from, const std::string& to) {
    std::string bytes = good;
    bytes.replace(bytes.find(from), from.size(), to);
    return bytes;
  };
  CHECK_THAT(npy_refusal(with_header("'<f4'", "'>f4'")).what(), Contains("dtype '>f4' is not supported"));
  CHECK_THAT(npy_refusal(with_header("False", "True ")).what(), Contains("Fortran"));
  CHECK_THAT(npy_refusal(with_header("(1,)", "(9,)")).what(), Contains("needs more than"));
  CHECK_THAT(npy_refusal(with_header("(1,)", "(x,)")).what(), Contains("malformed shape"));
  CHECK_THAT(npy_refusal(with_header("'shape'", "'shapx'")).what(), Contains("unexpected header key"));
  CHECK_THAT(npy_refusal(with_header("(1,)", "(99999999999999999999,)")).what(), Contains("too large"));
  // Found by fuzz_npy's round trip: an empty array whose other dimensions overflow int64 (numpy: "array
  // is too big") was decoded, and encode_npy_* then threw on it. tests/fuzz/corpus/fuzz_npy/zero_dim_overflow.
  CHECK_THAT(npy_refusal(with_header("(1,)", "(1099511627776, 1099511627776, 0)")).what(), Contains("too large"));
  CHECK_THAT(npy_refusal(with_header("(1,)", "(0, 9223372036854775807)")).what(), Contains("too large"));
  const std::vector<int64_t> largest_empty = {(int64_t{1} << 61) - 1, 0};  // 4 * (2**61 - 1) fits
  CHECK(decode_npy(encode_npy_float32(largest_empty, nullptr)).shape == largest_empty);
}

TEST_CASE("encode_npy refuses negative dimensions", "[image]") {
  const float one = 1;
  CHECK_THROWS_AS(encode_npy_float32({2, -1}, &one), Error);
  CHECK_THROWS_AS(encode_npy_uint8({int64_t{1} << 40, int64_t{1} << 40}, nullptr), Error);
}
