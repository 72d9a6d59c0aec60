// libFuzzer target: decode_image() (PNG and JPEG, detected by magic) on arbitrary bytes, with a 4 Mpx
// limit so a large header is refused before the fuzzer runs out of memory.
// Invariants: bad bytes give Error(kData) or, over the limit, Error(kResource); a decoded image has
// 1 or 3 channels and width * height * channels bytes within the limit; small decoded images survive
// an encode_png() / decode_image() round trip unchanged.

#include <cstddef>
#include <cstdint>
#include <string>

#include "cnnviz/image.h"
#include "fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  using namespace cnnviz;
  ImageLimits limits;
  limits.max_pixels = 4000000;
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  Image image;
  try {
    image = decode_image(bytes, "fuzz", limits);
  } catch (const Error& e) {
    fuzz::expect_kind(e, {ErrorKind::kData, ErrorKind::kResource});
    return 0;
  }
  FUZZ_CHECK(image.width > 0 && image.height > 0);
  FUZZ_CHECK(image.channels == 1 || image.channels == 3);
  const int64_t pixels = int64_t{image.width} * image.height;
  FUZZ_CHECK(pixels <= limits.max_pixels);
  FUZZ_CHECK(image.pixels.size() == static_cast<std::size_t>(pixels * image.channels));
  if (pixels <= 256 * 256) {
    const Image again = decode_image(encode_png(image), "round trip", limits);
    FUZZ_CHECK(again.width == image.width && again.height == image.height && again.channels == image.channels);
    FUZZ_CHECK(again.pixels == image.pixels);
  }
  return 0;
}
