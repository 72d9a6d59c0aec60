#include <catch2/catch.hpp>

#include "cnnviz/error.h"
#include "cnnviz/kernel_grid.h"

using namespace cnnviz;

namespace {

std::array<uint8_t, 3> pixel(const Image& image, int x, int y) {
  const auto* p = &image.pixels[(static_cast<std::size_t>(y) * image.width + x) * 3];
  return {p[0], p[1], p[2]};
}

std::array<uint8_t, 3> bwr(float value) { return colormap_color(Colormap::kBwr, colormap_index(value)); }

}  // namespace

TEST_CASE("kernels are drawn symmetric around zero", "[kernels]") {
  // Conv2d weight [out 2, in 1, 1, 3]: filter 0 = (-2, 0, 1), filter 1 = (4, 0, -4).
  const FloatArray w{{2, 1, 1, 3}, {-2, 0, 1, 4, 0, -4}};
  KernelGridOptions o;
  o.grid.scale = 1;
  o.grid.pad = 0;
  o.grid.cols = 1;
  SECTION("per kernel") {
    const Image g = render_kernel_grid(w, false, o);
    REQUIRE(g.width == 3);
    REQUIRE(g.height == 2);
    CHECK(pixel(g, 0, 0) == bwr(0.0f));   // -2 is filter 0's largest |value|
    CHECK(pixel(g, 1, 0) == bwr(0.5f));   // zero is the middle of the map
    CHECK(pixel(g, 2, 0) == bwr(0.75f));
    CHECK(pixel(g, 0, 1) == bwr(1.0f));
    CHECK(pixel(g, 2, 1) == bwr(0.0f));
  }
  SECTION("over the layer") {
    o.scale_per_kernel = false;
    const Image g = render_kernel_grid(w, false, o);
    CHECK(pixel(g, 0, 0) == bwr(0.25f));  // -2 / 4
    CHECK(pixel(g, 0, 1) == bwr(1.0f));
  }
}

TEST_CASE("Conv1d kernels are 1 x k and transposed convolutions draw output channels", "[kernels]") {
  KernelGridOptions o;
  o.grid.pad = 1;
  o.grid.scale = 2;
  const FloatArray conv1d{{3, 2, 5}, std::vector<float>(30, 1.0f)};
  CHECK(kernel_grid_extent(conv1d, false) == std::pair<int, int>{3, 2});
  const Image g = render_kernel_grid(conv1d, false, o);
  CHECK(g.width == 2 * 5 * 2 + 3);   // one row per filter, one column per channel
  CHECK(g.height == 3 * 1 * 2 + 4);
  const FloatArray transposed{{2, 4, 3, 3}, std::vector<float>(72, 0.5f)};  // [in 2, out 4, 3, 3]
  CHECK(kernel_grid_extent(transposed, true) == std::pair<int, int>{4, 2});
}

TEST_CASE("three input channels make colour tiles normalised over the layer", "[kernels]") {
  std::vector<float> v(2 * 3 * 1 * 1);
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i);  // 0..5
  const FloatArray w{{2, 3, 1, 1}, v};
  KernelGridOptions o;
  o.grid.scale = 1;
  o.grid.pad = 0;
  o.grid.cols = 2;
  const Image g = render_kernel_grid(w, false, o);
  REQUIRE(g.width == 2);
  CHECK(pixel(g, 0, 0) == std::array<uint8_t, 3>{0, 51, 102});
  CHECK(pixel(g, 1, 0) == std::array<uint8_t, 3>{153, 204, 255});
}

TEST_CASE("kernel selections out of range are usage errors", "[kernels]") {
  const FloatArray w{{2, 1, 1, 1}, {1, 2}};
  KernelGridOptions o;
  o.filters = {2};
  CHECK_THROWS_AS(render_kernel_grid(w, false, o), Error);
  const FloatArray linear{{4, 4}, std::vector<float>(16)};
  try {
    render_kernel_grid(linear, false, KernelGridOptions{});
    FAIL("accepted");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::kModel);
  }
}
