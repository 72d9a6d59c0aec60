#pragma once

#include <string>

#include "cnnviz/version_config.h"  // CNNVIZ_VERSION_MAJOR, _MINOR, _PATCH, _STRING, _NUMBER

namespace cnnviz {

/// cnnviz's own version ("0.1.0").
std::string cnnviz_version();
/// The LibTorch version cnnviz was built against ("1.13.0"), from torch/version.h.
std::string libtorch_version();
/// Whether that LibTorch was built with CUDA support.
bool libtorch_has_cuda();

}  // namespace cnnviz
