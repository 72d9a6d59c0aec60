// What this machine gives cnnviz: usable cores and the BLAS that LibTorch's matrix products run on.
// Plain code (no LibTorch): `cnnviz --version` and the summary's context ask without loading it.

#include <dlfcn.h>
#include <sched.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <string>
#include <thread>

#include "cnnviz/runtime.h"

namespace cnnviz {

int usable_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0) return std::max(1, CPU_COUNT(&set));
  return std::max(1u, std::thread::hardware_concurrency());
}

namespace {

bool contains(const std::string& s, const char* part) { return s.find(part) != std::string::npos; }

// The shared object that the BLAS symbol LibTorch calls (sgemm_) resolves to, resolved through the
// alternatives symlinks (/usr/lib/x86_64-linux-gnu/libblas.so.3 -> .../openblas-pthread/libblas.so.3).
// Once LibTorch is loaded, the one the loader's global search order gives; before (cnnviz --version,
// a summary read from the file), the `libblas.so.3` the loader finds for Debian's LibTorch, which links
// it. "" when none is found (a LibTorch with MKL linked in).
std::string blas_provider() {
  void* sgemm = dlsym(RTLD_DEFAULT, "sgemm_");
  if (sgemm == nullptr) {
    static void* const system_blas = dlopen("libblas.so.3", RTLD_LAZY | RTLD_LOCAL);  // kept: LibTorch may load it later
    if (system_blas != nullptr) sgemm = dlsym(system_blas, "sgemm_");
  }
  Dl_info where{};
  if (sgemm == nullptr || dladdr(sgemm, &where) == 0 || where.dli_fname == nullptr) return "";
  char resolved[PATH_MAX];
  return realpath(where.dli_fname, resolved) ? resolved : where.dli_fname;
}

// OpenBLAS's own description of itself ("OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY Haswell
// MAX_THREADS=64"), asked of `library` and its dependencies; "" when it is not OpenBLAS.
std::string openblas_config(const std::string& library) {
  void* handle = dlopen(library.c_str(), RTLD_LAZY | RTLD_NOLOAD);
  if (handle == nullptr) return "";
  using ConfigFn = const char* (*)();
  auto* config = reinterpret_cast<ConfigFn>(dlsym(handle, "openblas_get_config"));
  std::string text = config && config() ? config() : "";
  dlclose(handle);
  return text;
}

}  // namespace

BlasInfo blas_info() {
  BlasInfo info;
  info.library = blas_provider();
  const std::string openblas = info.library.empty() ? "" : openblas_config(info.library);
  if (!openblas.empty()) {
    info.name = openblas.substr(0, openblas.find(' ', openblas.find(' ') + 1));  // "OpenBLAS 0.3.21"
    if (contains(info.library, "openblas-pthread")) info.name += " (pthread)";
    if (contains(info.library, "openblas-openmp")) info.name += " (OpenMP)";
    if (contains(info.library, "openblas-serial")) info.name += " (serial)";
  } else if (contains(info.library, "/blas/") || contains(info.library, "netlib")) {
    info.name = "reference BLAS (netlib)";
    info.reference = true;
  } else if (contains(info.library, "blis")) {
    info.name = "BLIS";
  } else if (contains(info.library, "atlas")) {
    info.name = "ATLAS";
  } else if (contains(info.library, "mkl")) {
    info.name = "MKL";
  } else if (!info.library.empty()) {
    info.name = info.library;
  } else {
    info.name = "unknown";
  }
  return info;
}

std::string blas_note(const BlasInfo& blas) {
  if (!blas.reference) return "";
  return "the BLAS in use is the slow reference implementation (" + blas.library +
         "): Linear layers and matrix products run many times slower; install an optimised one with "
         "'apt-get install libopenblas0-pthread'";
}

}  // namespace cnnviz
