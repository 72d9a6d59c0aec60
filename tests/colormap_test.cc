#include "cnnviz/colormap.h"

#include <array>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "cnnviz/error.h"
#include "cnnviz/sha256.h"
#include "test_env.h"

using cnnviz::Colormap;
using cnnviz::colormap_color;
using cnnviz::colormap_index;
using cnnviz::colormap_index_opencv;
using cnnviz::colormap_names;
using cnnviz::parse_colormap;

namespace {

using Rgb = std::array<std::uint8_t, 3>;

std::string data_path(const std::string& name) {
  return std::string(CNNVIZ_SOURCE_DIR) + "/tests/data/" + name;
}

// tests/data/colormap_samples.json, written by scripts/make-colormaps from matplotlib 3.6.3.
const nlohmann::json& samples_doc() {
  static const nlohmann::json doc =
      nlohmann::json::parse(cnnviz::test::read_file(data_path("colormap_samples.json")));
  return doc;
}

// The float32 matplotlib was given: input_hex is exact ("0x1.99999a0000000p-4", "nan").
float sample_input(const nlohmann::json& sample) {
  const std::string hex = sample.at("input_hex");
  const float x = static_cast<float>(std::strtod(hex.c_str(), nullptr));
  if (!std::isnan(x)) {
    const std::string shortest = sample.at("input");
    REQUIRE(std::strtof(shortest.c_str(), nullptr) == x);
  }
  return x;
}

Rgb rgb_of(const nlohmann::json& rgba) {
  return {rgba.at(0).get<std::uint8_t>(), rgba.at(1).get<std::uint8_t>(),
          rgba.at(2).get<std::uint8_t>()};
}

}  // namespace

TEST_CASE("colormap names round-trip through parse_colormap", "[colormap]") {
  CHECK(colormap_names() ==
        std::vector<std::string>{"gray", "viridis", "magma", "inferno", "jet", "mpl_jet", "bwr"});
  for (std::size_t i = 0; i < colormap_names().size(); ++i) {
    const Colormap c = parse_colormap(colormap_names()[i]);
    CHECK(static_cast<std::size_t>(c) == i);
    CHECK(cnnviz::colormap_name(c) == colormap_names()[i]);
  }
  CHECK(parse_colormap("viridis") == Colormap::kViridis);
  CHECK(parse_colormap("mpl_jet") == Colormap::kMplJet);
  CHECK(parse_colormap("bwr") == Colormap::kBwr);
}

TEST_CASE("parse_colormap rejects unknown names with a usage error", "[colormap]") {
  for (const std::string name : {"turbo", "Viridis", "", " jet", "jet "}) {
    INFO("name: '" << name << "'");
    try {
      parse_colormap(name);
      FAIL("accepted");
    } catch (const cnnviz::Error& e) {
      CHECK(e.kind() == cnnviz::ErrorKind::kUsage);
      CHECK(std::string(e.what()) ==
            "--colormap '" + name +
                "' is not known; use one of gray, viridis, magma, inferno, jet, mpl_jet, bwr");
    }
  }
}

TEST_CASE("jet is the OpenCV COLORMAP_JET table row for row", "[colormap]") {
  std::istringstream csv(cnnviz::test::read_file(data_path("opencv_COLORMAP_JET_rgb.csv")));
  std::string line;
  int rows = 0;
  while (std::getline(csv, line)) {
    if (line.empty() || line[0] == '#') continue;
    int index = -1, r = -1, g = -1, b = -1;
    char c1 = 0, c2 = 0, c3 = 0;
    std::istringstream fields(line);
    fields >> index >> c1 >> r >> c2 >> g >> c3 >> b;
    INFO("csv line: " << line);
    REQUIRE(index == rows);
    CHECK(colormap_color(Colormap::kJet, index) == Rgb{static_cast<std::uint8_t>(r),
                                                       static_cast<std::uint8_t>(g),
                                                       static_cast<std::uint8_t>(b)});
    ++rows;
  }
  CHECK(rows == 256);
}

TEST_CASE("every 256-entry table matches the checksum of its source", "[colormap]") {
  // table_sha256: SHA-256 of matplotlib's cmap(np.arange(256), bytes=True)[:, :3] (jet: the CSV).
  const auto& sums = samples_doc().at("table_sha256");
  REQUIRE(sums.size() == colormap_names().size());
  for (const auto& name : colormap_names()) {
    INFO("colormap: " << name);
    const Colormap c = parse_colormap(name);
    std::string bytes;
    for (int i = 0; i < 256; ++i) {
      for (const std::uint8_t v : colormap_color(c, i)) bytes += static_cast<char>(v);
    }
    CHECK(bytes.size() == 768);
    CHECK(cnnviz::sha256_bytes(bytes) == sums.at(name).get<std::string>());
    CHECK(colormap_color(c, -1) == colormap_color(c, 0));
    CHECK(colormap_color(c, 256) == colormap_color(c, 255));
  }
}

TEST_CASE("colormap_index and colormap_color reproduce matplotlib on sample floats", "[colormap]") {
  const auto& samples = samples_doc().at("samples");
  REQUIRE(samples.size() >= 20);
  for (const auto& sample : samples) {
    const float x = sample_input(sample);
    INFO("input: " << sample.at("input").get<std::string>());
    for (const auto& [name, rgba] : sample.at("matplotlib_rgba").items()) {
      INFO("colormap: " << name);
      const Colormap c = parse_colormap(name);
      if (rgba.at(3) == 0) {
        // matplotlib's "bad" colour, transparent black, for NaN; cnnviz has no alpha and uses index
        // 0.
        CHECK(std::isnan(x));
        CHECK(rgb_of(rgba) == Rgb{0, 0, 0});
        CHECK(colormap_index(x) == 0);
        continue;
      }
      CHECK(colormap_color(c, colormap_index(x)) == rgb_of(rgba));
      Rgb applied{};
      cnnviz::apply_colormap(&x, 1, c, applied.data());
      CHECK(applied == rgb_of(rgba));
    }
  }
}

TEST_CASE("colormap_index_opencv reproduces numpy uint8 of 255 times x on sample floats",
          "[colormap]") {
  int checked = 0;
  for (const auto& sample : samples_doc().at("samples")) {
    if (sample.at("opencv_index").is_null()) continue;
    const float x = sample_input(sample);
    INFO("input: " << sample.at("input").get<std::string>());
    CHECK(colormap_index_opencv(x) == sample.at("opencv_index").get<int>());
    ++checked;
  }
  CHECK(checked >= 15);
}

TEST_CASE("matplotlib bins are 1/256 wide and only the last is closed", "[colormap]") {
  for (int k = 0; k < 256; ++k) {
    INFO("k: " << k);
    CHECK(colormap_index(static_cast<float>(k) / 256.0f) == k);
    CHECK(colormap_index(std::nextafter(static_cast<float>(k + 1) / 256.0f, 0.0f)) == k);
  }
  CHECK(colormap_index(1.0f) == 255);
  CHECK(colormap_index(-0.25f) == 0);
  CHECK(colormap_index(7.0f) == 255);
  CHECK(colormap_index(std::numeric_limits<float>::infinity()) == 255);
  CHECK(colormap_index(-std::numeric_limits<float>::infinity()) == 0);
  CHECK(colormap_index(std::numeric_limits<float>::max()) == 255);
  CHECK(colormap_index(std::numeric_limits<float>::quiet_NaN()) == 0);
}

TEST_CASE("opencv bins truncate 255 times the value and clamp", "[colormap]") {
  CHECK(colormap_index_opencv(0.0f) == 0);
  CHECK(colormap_index_opencv(0.5f) == 127);
  CHECK(colormap_index_opencv(std::nextafter(1.0f, 0.0f)) == 254);
  CHECK(colormap_index_opencv(1.0f) == 255);
  CHECK(colormap_index_opencv(-0.5f) == 0);
  CHECK(colormap_index_opencv(2.0f) == 255);
  CHECK(colormap_index_opencv(std::numeric_limits<float>::quiet_NaN()) == 0);
  // The two quantisations differ: matplotlib puts 0.5 in bin 128, OpenCV in 127.
  CHECK(colormap_index(0.5f) == 128);
}

TEST_CASE("apply_colormap colours each value in order", "[colormap]") {
  const std::vector<float> values = {0.0f, 0.5f, 1.0f, 0.25f};
  for (const bool opencv : {false, true}) {
    INFO("opencv quantisation: " << opencv);
    std::vector<std::uint8_t> rgb(values.size() * 3, 7);
    cnnviz::apply_colormap(values.data(), values.size(), Colormap::kJet, rgb.data(), opencv);
    for (std::size_t i = 0; i < values.size(); ++i) {
      const int index = opencv ? colormap_index_opencv(values[i]) : colormap_index(values[i]);
      const Rgb want = colormap_color(Colormap::kJet, index);
      CHECK(Rgb{rgb[3 * i], rgb[3 * i + 1], rgb[3 * i + 2]} == want);
    }
  }
  cnnviz::apply_colormap(nullptr, 0, Colormap::kGray, nullptr);  // nothing to do, nothing touched
}
