#include "cnnviz/version.h"

#include <torch/version.h>

namespace cnnviz {

std::string cnnviz_version() { return CNNVIZ_VERSION; }

std::string libtorch_version() { return TORCH_VERSION; }

bool libtorch_has_cuda() {
#ifdef USE_CUDA
  return true;
#else
  return false;
#endif
}

}  // namespace cnnviz
