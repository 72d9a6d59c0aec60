#include "cnnviz/version.h"

#include <torch/version.h>

namespace cnnviz {

std::string cnnviz_version() { return CNNVIZ_VERSION; }

std::string libtorch_version() { return TORCH_VERSION; }

bool libtorch_has_cuda() {
#if defined(CNNVIZ_TORCH_CUDA) || defined(USE_CUDA)
  return true;
#else
  return false;
#endif
}

}  // namespace cnnviz
