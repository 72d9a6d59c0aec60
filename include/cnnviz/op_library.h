#pragma once

#include <string>
#include <vector>

namespace cnnviz {

/// Loads a shared library of operators (e.g. torchvision's `_C.so`, which registers `torchvision::nms`,
/// `roi_align`, ...) into the process, so that models calling those operators load. Loading a library
/// runs its code (docs/security.md). Loading the same path twice is a no-op.
/// Throws Error(kInput) when the file is missing or is not a loadable library, naming the loader's reason.
void load_operator_library(const std::string& path);

/// The paths loaded by load_operator_library(), in order.
const std::vector<std::string>& loaded_operator_libraries();

/// The soname of the LibTorch CPU library this process runs on ("libtorch_cpu.so.1.13"), or "" when
/// it cannot be told (a static or renamed build).
std::string libtorch_soname();

/// Debian's `python3-torchvision` operator library built for this process's LibTorch: the first
/// `torchvision/_C*.so` under the Python module folders (or only `CNNVIZ_TORCHVISION_LIBRARY` when set) whose
/// dependencies name libtorch_soname(). "" when there is none. It has no Python dependency.
std::string find_torchvision_library();

/// Whether `soname` appears among the library names `file` depends on (read from its bytes).
bool library_depends_on(const std::string& file, const std::string& soname);

/// The namespace-qualified operator named by a LibTorch "Unknown builtin op: ns::name" message
/// ("torchvision::nms"), or "" when the message is about something else.
std::string unknown_operator(const std::string& torch_message);

}  // namespace cnnviz
