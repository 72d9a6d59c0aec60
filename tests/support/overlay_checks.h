#pragma once

// The reference-overlay check shared by cam_test.cc and cli_gradcam_test.cc.

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>

#include "cnnviz/image.h"

namespace cnnviz::test {

/// `ours` equals pytorch-grad-cam's overlay within a colormap step: a map value within float noise of
/// a step can land on its other side (LibTorch 2.14 moves 2 of 50,176 pixels by 3).
inline void check_overlay_matches(const Image& ours, const Image& theirs) {
  REQUIRE(ours.pixels.size() == theirs.pixels.size());
  int worst = 0, off_by_more_than_one = 0;
  for (std::size_t i = 0; i < ours.pixels.size(); ++i) {
    const int d = std::abs(ours.pixels[i] - theirs.pixels[i]);
    worst = std::max(worst, d);
    off_by_more_than_one += d > 1;
  }
  CHECK(worst <= 3);
  CHECK(off_by_more_than_one <= 40);
}

}  // namespace cnnviz::test
