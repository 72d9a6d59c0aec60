#pragma once

// Private to libcnnviz. LibTorch 1.13's C++ build lacks `meta` kernels for a few ops CNNs use
// (convolution above all: Python gets them from torch/_meta_registrations.py, which C++ never loads).
// cnnviz registers shape-only kernels for exactly those ops, and only where LibTorch has none, so the
// memory guard can dry-run a model on the meta device.

namespace cnnviz {

/// Registers the missing meta kernels once per process; later calls do nothing.
void ensure_meta_kernels();

}  // namespace cnnviz
