#pragma once

namespace cnnviz {

/// CPU cores this process may run on (its affinity mask, so container CPU sets are respected).
int usable_cores();

/// Sets LibTorch's intra-op thread count. Call before the first forward. LibTorch 1.13 otherwise uses
/// half the cores. Throws Error(kUsage) for n < 1.
void set_threads(int n);

}  // namespace cnnviz
