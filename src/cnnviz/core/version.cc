#include "cnnviz/version.h"

#include "cnnviz/version_config.h"

// The LibTorch facts are the build's (cmake/LibTorch.cmake writes them into version_config.h), so that
// `cnnviz --version` answers without loading LibTorch.
namespace cnnviz {

std::string cnnviz_version() { return CNNVIZ_VERSION_STRING; }

std::string libtorch_version() { return CNNVIZ_LIBTORCH_VERSION; }

bool libtorch_has_cuda() { return CNNVIZ_LIBTORCH_CUDA != 0; }

}  // namespace cnnviz
