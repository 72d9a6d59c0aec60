#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <string>
#include <vector>

#include "cnnviz/error.h"
#include "cnnviz/image.h"
#include "cnnviz/npy.h"
#include "test_env.h"

using namespace cnnviz;
using Catch::Matchers::Contains;

// The fixtures and their expected pixels come from tests/data/make_images.py: every `<name>.expected.npy`
// is what Pillow 9.4 (Debian 12's python3-pil, on the same libjpeg-turbo 2.1.5 and zlib as cnnviz) gives
// for Image.open(f).convert('L' or 'RGB'), so these tests compare cnnviz with Pillow, not with itself.

namespace {

std::string image_path(const std::string& name) { return std::string(CNNVIZ_SOURCE_DIR) + "/tests/data/images/" + name; }

void write(const std::string& path, const std::string& bytes) { std::ofstream(path, std::ios::binary) << bytes; }

std::string stem(const std::string& name) { return name.substr(0, name.rfind('.')); }

// Requires `image` to equal Pillow's pixels for `name` exactly.
void check_matches_pillow(const std::string& name) {
  INFO("image " << name);
  const Image image = load_image(image_path(name));
  const NpyArray expected = decode_npy(test::read_file(image_path(stem(name) + ".expected.npy")));
  REQUIRE(expected.descr == "|u1");
  REQUIRE((expected.shape.size() == 2 || expected.shape.size() == 3));
  CHECK(image.height == expected.shape[0]);
  CHECK(image.width == expected.shape[1]);
  CHECK(image.channels == (expected.shape.size() == 2 ? 1 : expected.shape[2]));
  REQUIRE(image.pixels.size() == expected.data.size());
  std::size_t differing = 0, first = 0;
  for (std::size_t i = 0; i < image.pixels.size(); ++i) {
    if (image.pixels[i] != static_cast<uint8_t>(expected.data[i])) {
      if (differing++ == 0) first = i;
    }
  }
  INFO(differing << " differing samples; the first at index " << first);
  CHECK(differing == 0);
}

// The error a load refuses `path` with; fails the test if it loads.
Error refusal(const std::string& path, const ImageLimits& limits = {}) {
  try {
    load_image(path, limits);
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find('\n') == std::string::npos);
    CHECK_THAT(e.what(), Contains("'" + path + "'"));
    return e;
  }
  FAIL("accepted " << path);
  return Error(ErrorKind::kInternal, "");
}

// decode_image on bytes that may be anything: it either decodes or throws Error(kData), or Error(kResource)
// where the damage enlarged the header's width or height.
bool decodes_or_refuses(const std::string& bytes) {
  try {
    const Image image = decode_image(bytes, "fuzz");
    CHECK(image.pixels.size() ==
          static_cast<std::size_t>(image.width) * static_cast<std::size_t>(image.height) * static_cast<std::size_t>(image.channels));
    return true;
  } catch (const Error& e) {
    CHECK((e.kind() == ErrorKind::kData || e.kind() == ErrorKind::kResource));
    CHECK(std::string(e.what()).find('\n') == std::string::npos);
    return false;
  }
}

Image make_image(int width, int height, int channels) {
  Image image;
  image.width = width;
  image.height = height;
  image.channels = channels;
  for (int i = 0; i < width * height * channels; ++i) image.pixels.push_back(static_cast<uint8_t>((i * 37 + 11) % 256));
  return image;
}

}  // namespace

TEST_CASE("every PNG kind decodes to Pillow's pixels", "[image]") {
  for (const char* name : {"gray1.png", "gray2.png", "gray4.png", "gray8.png", "gray8_trns.png", "graya8.png", "graya16.png",
                           "rgb8.png", "rgb8_trns.png", "rgb16.png", "rgba8.png", "rgba16.png", "pal1.png", "pal2.png",
                           "pal4.png", "pal8.png", "pal4_trns.png", "pal8_trns.png", "rgb8_interlaced.png",
                           "pal2_trns_interlaced.png", "rgba8_interlaced_3x2.png", "rgb8_1x1.png"}) {
    check_matches_pillow(name);
  }
}

TEST_CASE("16-bit gray PNGs keep the high byte where Pillow clips", "[image]") {
  // Pillow opens these as mode I and convert('L') clips at 255; make_images.py writes value >> 8 as the
  // expected array, i.e. what Pillow does for every other 16-bit kind (see image.h).
  check_matches_pillow("gray16.png");
  check_matches_pillow("gray16_interlaced.png");
}

TEST_CASE("gray PNGs give one channel and colour PNGs three", "[image]") {
  CHECK(load_image(image_path("graya16.png")).channels == 1);
  CHECK(load_image(image_path("gray1.png")).channels == 1);
  CHECK(load_image(image_path("pal8_trns.png")).channels == 3);
  CHECK(load_image(image_path("rgba8.png")).channels == 3);
}

TEST_CASE("every JPEG kind decodes to Pillow's pixels exactly", "[image]") {
  // Same libjpeg-turbo, islow DCT, fancy upsampling: no tolerance is needed, and none is allowed.
  for (const char* name : {"baseline_420.jpg", "baseline_422.jpg", "baseline_444.jpg", "progressive.jpg", "gray.jpg",
                           "gray_progressive.jpg"}) {
    check_matches_pillow(name);
  }
  CHECK(load_image(image_path("gray.jpg")).channels == 1);
  CHECK(load_image(image_path("progressive.jpg")).channels == 3);
}

TEST_CASE("a CMYK JPEG is refused with a fix", "[image]") {
  const Error e = refusal(image_path("cmyk.jpg"));
  CHECK(e.kind() == ErrorKind::kData);
  CHECK_THAT(e.what(), Contains("CMYK JPEG") && Contains("convert it to RGB"));
}

TEST_CASE("truncated PNG and JPEG files are refused as data errors", "[image]") {
  test::TempDir dir;
  for (const char* name : {"rgb8.png", "rgb8_interlaced.png", "baseline_420.jpg", "progressive.jpg", "gray.jpg"}) {
    const std::string bytes = test::read_file(image_path(name));
    const std::string path = dir.file(std::string("cut_") + name);
    write(path, bytes.substr(0, bytes.size() / 2));
    const Error e = refusal(path);
    CHECK(e.kind() == ErrorKind::kData);
    const bool png = std::string(name).find(".png") != std::string::npos;
    CHECK_THAT(e.what(), Contains(png ? "is a truncated or corrupt PNG (" : "is a truncated or corrupt JPEG ("));
  }
}

TEST_CASE("every prefix of an image is decoded or refused", "[image]") {
  for (const char* name : {"rgb8_interlaced.png", "pal4_trns.png", "gray16.png", "baseline_420.jpg", "progressive.jpg"}) {
    INFO("image " << name);
    const std::string bytes = test::read_file(image_path(name));
    const bool png = std::string(name).find(".png") != std::string::npos;
    for (std::size_t n = 0; n < bytes.size(); ++n) {
      INFO("prefix of " << n << " bytes");
      const bool ok = decodes_or_refuses(bytes.substr(0, n));
      // A PNG may lose its IEND chunk (12 bytes), which cnnviz does not read; a JPEG may lose nothing.
      const std::size_t tail = png ? 12 : 0;
      if (n + tail < bytes.size()) CHECK_FALSE(ok);
    }
  }
}

TEST_CASE("corrupted bytes never crash the decoder", "[image]") {
  for (const char* name : {"rgb8.png", "pal8_trns.png", "rgb8_interlaced.png", "baseline_422.jpg", "gray_progressive.jpg"}) {
    INFO("image " << name);
    const std::string bytes = test::read_file(image_path(name));
    for (std::size_t i = 0; i < bytes.size(); ++i) {
      for (const unsigned char mask : {0x01, 0x80, 0xff}) {
        std::string bad = bytes;
        bad[i] = static_cast<char>(static_cast<unsigned char>(bad[i]) ^ mask);
        decodes_or_refuses(bad);
      }
    }
  }
}

TEST_CASE("a PNG header claiming 100000 x 100000 pixels is refused before decoding", "[image]") {
  // Allocating the 30 GB of pixels would throw std::bad_alloc (or take long), not Error(kResource).
  const auto start = std::chrono::steady_clock::now();
  const Error e = refusal(image_path("huge_header.png"));
  CHECK(e.kind() == ErrorKind::kResource);
  CHECK_THAT(e.what(), Contains("100000 x 100000") && Contains("10000000000") && Contains("limit of 89478485"));
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(1));
}

TEST_CASE("a JPEG header larger than max_pixels is refused", "[image]") {
  std::string bytes = test::read_file(image_path("baseline_420.jpg"));
  const std::size_t sof = bytes.find("\xff\xc0");
  REQUIRE(sof != std::string::npos);
  // SOF0: marker, length (2), precision (1), height (2), width (2).
  for (const std::size_t at : {sof + 5, sof + 7}) {
    bytes[at] = static_cast<char>(0xfd);
    bytes[at + 1] = static_cast<char>(0xe8);  // 65000
  }
  try {
    decode_image(bytes, "big.jpg");
    FAIL("accepted a 65000 x 65000 JPEG");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::kResource);
    CHECK_THAT(e.what(), Contains("'big.jpg' has 65000 x 65000 = 4225000000 pixels"));
  }
}

TEST_CASE("max_pixels and max_file_bytes are enforced", "[image]") {
  ImageLimits small;
  small.max_pixels = 34;  // the fixtures are 7 x 5 = 35 pixels
  CHECK(refusal(image_path("rgb8.png"), small).kind() == ErrorKind::kResource);
  CHECK(refusal(image_path("gray.jpg"), small).kind() == ErrorKind::kResource);
  small.max_pixels = 35;
  CHECK(load_image(image_path("rgb8.png"), small).width == 7);

  ImageLimits tiny_file;
  tiny_file.max_file_bytes = 100;
  const Error e = refusal(image_path("rgb8.png"), tiny_file);
  CHECK(e.kind() == ErrorKind::kResource);
  CHECK_THAT(e.what(), Contains("more than the limit of 100 bytes"));
}

TEST_CASE("files that are not PNG or JPEG images are refused", "[image]") {
  test::TempDir dir;
  const Error gif = refusal(image_path("not_png.gif"));
  CHECK(gif.kind() == ErrorKind::kData);
  CHECK_THAT(gif.what(), Contains("is not a PNG or JPEG image (it is a GIF); convert it"));

  write(dir.file("empty.png"), "");
  const Error empty = refusal(dir.file("empty.png"));
  CHECK(empty.kind() == ErrorKind::kData);
  CHECK_THAT(empty.what(), Contains("is empty"));

  write(dir.file("text.png"), "hello\n");
  CHECK(refusal(dir.file("text.png")).kind() == ErrorKind::kData);
}

TEST_CASE("missing files and non-files are input errors", "[image]") {
  test::TempDir dir;
  const Error missing = refusal(dir.file("nope.png"));
  CHECK(missing.kind() == ErrorKind::kInput);
  CHECK_THAT(missing.what(), Contains("no such file"));

  const Error directory = refusal(dir.path());
  CHECK(directory.kind() == ErrorKind::kInput);
  CHECK_THAT(directory.what(), Contains("is a directory") && Contains("PNG or JPEG"));

  // A FIFO with no writer: opening it must not block.
  REQUIRE(::mkfifo(dir.file("fifo.png").c_str(), 0600) == 0);
  const Error fifo = refusal(dir.file("fifo.png"));
  CHECK(fifo.kind() == ErrorKind::kInput);
  CHECK_THAT(fifo.what(), Contains("not a regular file"));

  if (::geteuid() == 0) {
    WARN("running as root, which reads any file: the unreadable-file check is skipped");
  } else {
    write(dir.file("secret.png"), test::read_file(image_path("rgb8.png")));
    REQUIRE(::chmod(dir.file("secret.png").c_str(), 0) == 0);
    const Error unreadable = refusal(dir.file("secret.png"));
    CHECK(unreadable.kind() == ErrorKind::kInput);
    CHECK_THAT(unreadable.what(), Contains("cannot be read"));
  }
}

TEST_CASE("encode_png round trips gray and RGB and drops alpha on decode", "[image]") {
  for (const int channels : {1, 3}) {
    const Image image = make_image(13, 7, channels);
    const Image back = decode_image(encode_png(image), "roundtrip.png");
    CHECK(back.width == 13);
    CHECK(back.height == 7);
    CHECK(back.channels == channels);
    CHECK(back.pixels == image.pixels);
  }
  const Image rgba = make_image(5, 3, 4);
  const Image rgb = decode_image(encode_png(rgba), "rgba.png");
  REQUIRE(rgb.channels == 3);
  for (std::size_t p = 0; p < 15; ++p) {
    for (std::size_t c = 0; c < 3; ++c) CHECK(rgb.pixels[p * 3 + c] == rgba.pixels[p * 4 + c]);
  }
}

TEST_CASE("encode_png is deterministic and writes no time stamp", "[image]") {
  const Image image = make_image(31, 17, 3);
  const std::string a = encode_png(image), b = encode_png(image);
  CHECK(a == b);
  CHECK(a.find("tIME") == std::string::npos);
  CHECK(a.compare(0, 8, "\x89PNG\r\n\x1a\n") == 0);
}

TEST_CASE("encode_png refuses malformed images", "[image]") {
  Image bad = make_image(4, 4, 3);
  bad.pixels.pop_back();
  CHECK_THROWS_MATCHES(encode_png(bad), Error, Catch::Predicate<Error>([](const Error& e) { return e.kind() == ErrorKind::kUsage; }));
  CHECK_THROWS_AS(encode_png(make_image(4, 4, 2)), Error);
  CHECK_THROWS_AS(encode_png(Image{}), Error);
}

TEST_CASE("encode_jpeg: a baseline JPEG that our decoder reads back close to the original", "[image]") {
  // A smooth gradient: JPEG at quality 90 keeps every pixel within a few levels of it.
  for (const int channels : {1, 3}) {
    Image image{48, 32, channels, {}};
    for (int y = 0; y < image.height; ++y) {
      for (int x = 0; x < image.width; ++x) {
        for (int c = 0; c < channels; ++c) image.pixels.push_back(static_cast<uint8_t>(2 * x + 3 * y + 20 * c));  // at most 227: no wrap
      }
    }
    const std::string bytes = encode_jpeg(image, 90);
    CHECK(bytes.compare(0, 3, "\xff\xd8\xff") == 0);
    CHECK(bytes == encode_jpeg(image, 90));  // deterministic
    const Image back = decode_image(bytes, "roundtrip.jpg");
    REQUIRE(back.width == 48);
    REQUIRE(back.height == 32);
    REQUIRE(back.channels == channels);
    int worst = 0;
    for (std::size_t i = 0; i < back.pixels.size(); ++i) worst = std::max(worst, std::abs(back.pixels[i] - image.pixels[i]));
    CHECK(worst <= 6);
    CHECK(encode_jpeg(image, 10).size() < bytes.size());  // quality is honoured
  }
  CHECK_THROWS_AS(encode_jpeg(make_image(4, 4, 4)), Error);  // no alpha in JPEG
  CHECK_THROWS_AS(encode_jpeg(make_image(4, 4, 3), 0), Error);
  CHECK_THROWS_AS(encode_jpeg(Image{}), Error);
}
