// libFuzzer target: decode_npy() on arbitrary bytes.
// Invariants: bad bytes give Error(kData); a decoded array has a supported descr and exactly
// numel * itemsize bytes of data; a float32 or uint8 array re-encoded with encode_npy_*() decodes to
// the same shape and bytes.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "cnnviz/npy.h"
#include "fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  using namespace cnnviz;
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  NpyArray array;
  try {
    array = decode_npy(bytes);
  } catch (const Error& e) {
    fuzz::expect_kind(e, {ErrorKind::kData});
    return 0;
  }
  std::size_t item = 0;
  if (array.descr == "<f4") item = 4;
  else if (array.descr == "<f8" || array.descr == "<i8") item = 8;
  else if (array.descr == "|u1") item = 1;
  FUZZ_CHECK(item != 0);
  uint64_t numel = 1;
  for (const int64_t d : array.shape) {
    FUZZ_CHECK(d >= 0);
    numel = d == 0 ? 0 : numel * static_cast<uint64_t>(d);  // bounded by the data present unless 0
  }
  FUZZ_CHECK(array.data.size() == numel * item);

  std::string encoded;
  if (array.descr == "<f4") {
    std::vector<float> values(numel);
    if (numel > 0) std::memcpy(values.data(), array.data.data(), array.data.size());
    encoded = encode_npy_float32(array.shape, values.data());
  } else if (array.descr == "|u1") {
    encoded = encode_npy_uint8(array.shape, reinterpret_cast<const uint8_t*>(array.data.data()));
  } else {
    return 0;
  }
  const NpyArray again = decode_npy(encoded);
  FUZZ_CHECK(again.shape == array.shape && again.descr == array.descr && again.data == array.data);
  return 0;
}
