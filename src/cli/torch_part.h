#pragma once

// cnnviz's LibTorch part: the units of libcnnviz that run models (src/cnnviz's cnnviz_core sources) are
// a shared library, libcnnviz-torch.so, that the executable loads on first use, so that --help,
// --version, completions and summaries answered from the file itself never pay LibTorch's start-up
// (about 0.35 s). The executable calls the part's functions as if linked; generated stubs
// (cmake/TorchPartStubs.cmake) load it at the first call. A build with CNNVIZ_LAZY_TORCH off (the
// sanitizer and fuzzing builds) links it in, and these functions then only run hooks at once.

#include <functional>
#include <string>
#include <vector>

namespace cnnviz::cli {

/// Loads the LibTorch part now if it is not loaded yet. Throws Error(kInternal) naming the library
/// and the loader's reason when it cannot be loaded (a broken installation).
void load_torch_part();

/// Whether the LibTorch part is loaded (always true when it is linked in).
bool torch_part_loaded();

/// Runs `hook` once the LibTorch part is loaded: at once if it is, else right after it loads (the
/// --threads setting, which needs no model until one runs). `hook` must not throw.
void when_torch_part_loaded(std::function<void()> hook);

/// Where the executable looks for the LibTorch part, in order ("" entries left out): beside it (a
/// build folder), then in the installed library folder.
std::vector<std::string> torch_part_candidates();

}  // namespace cnnviz::cli
