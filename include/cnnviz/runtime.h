#pragma once

#include <string>

namespace cnnviz {

/// usable_cores(), blas_info() and blas_note() need no LibTorch (src/cnnviz/core/host_info.cc).

/// CPU cores this process may run on (its affinity mask, so container CPU sets are respected).
int usable_cores();

/// Sets LibTorch's intra-op thread count. Call before the first forward. LibTorch 1.13 otherwise uses
/// half the cores. Throws Error(kUsage) for n < 1.
void set_threads(int n);

/// The BLAS that LibTorch's matrix products (Linear layers, attention, matmul) run on in this process.
/// Debian's LibTorch is built with BLAS_INFO=generic and calls whatever `libblas.so.3` the system's
/// alternatives select; pip's and pytorch.org's builds carry MKL or OpenBLAS inside.
struct BlasInfo {
  std::string name;        ///< "OpenBLAS 0.3.21 (pthread)", "reference BLAS (netlib)", "MKL", ...
  std::string library;     ///< the resolved path of the BLAS library; "" when none is found (MKL inside LibTorch)
  bool reference = false;  ///< the slow reference implementation (about 40x slower on a ViT forward)
};
BlasInfo blas_info();

/// A one-line note for stderr when the BLAS is the reference implementation (names the Debian package
/// that replaces it), else "".
std::string blas_note(const BlasInfo& blas);

}  // namespace cnnviz
