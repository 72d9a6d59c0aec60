#pragma once

// Private to libcnnviz: the few places where LibTorch's C++ API differs between the versions cnnviz
// builds against (Debian 12's 1.13 through Debian sid's 2.14). Every version check lives here.

#include <c10/core/Allocator.h>
#include <c10/util/Exception.h>
#include <torch/version.h>

#define CNNVIZ_TORCH_AT_LEAST(major, minor) \
  (TORCH_VERSION_MAJOR > (major) || (TORCH_VERSION_MAJOR == (major) && TORCH_VERSION_MINOR >= (minor)))

// c10::Allocator::allocate lost its `const` in 2.3, which also made copy_data() pure virtual.
#if CNNVIZ_TORCH_AT_LEAST(2, 3)
#define CNNVIZ_ALLOCATE_QUALIFIER
#define CNNVIZ_ALLOCATOR_HAS_COPY_DATA 1
#else
#define CNNVIZ_ALLOCATE_QUALIFIER const
#define CNNVIZ_ALLOCATOR_HAS_COPY_DATA 0
#endif

namespace cnnviz::compat {

// The warning handler moved from namespace c10::Warning (1.13) to c10::WarningUtils (2.0), where
// c10::Warning became the class that WarningHandler::process receives.
inline c10::WarningHandler* get_warning_handler() {
#if TORCH_VERSION_MAJOR >= 2
  return c10::WarningUtils::get_warning_handler();
#else
  return c10::Warning::get_warning_handler();
#endif
}

inline void set_warning_handler(c10::WarningHandler* handler) {
#if TORCH_VERSION_MAJOR >= 2
  c10::WarningUtils::set_warning_handler(handler);
#else
  c10::Warning::set_warning_handler(handler);
#endif
}

}  // namespace cnnviz::compat
