#include "cnnviz/runtime.h"

#include <dlfcn.h>
#include <sched.h>

#include <ATen/Parallel.h>
#include <ATen/Version.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "cnnviz/error.h"

namespace cnnviz {

int usable_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0) return std::max(1, CPU_COUNT(&set));
  return std::max(1u, std::thread::hardware_concurrency());
}

void set_threads(int n) {
  if (n < 1) throw Error::usage("--threads " + std::to_string(n) + ": must be at least 1");
  at::set_num_threads(n);
}

namespace {

bool contains(const std::string& s, const char* part) { return s.find(part) != std::string::npos; }

// The shared object that the BLAS symbol LibTorch calls (sgemm_) resolves to in this process, by the
// loader's global search order, resolved through the alternatives symlinks
// (/usr/lib/x86_64-linux-gnu/libblas.so.3 -> .../openblas-pthread/libblas.so.3). "" when no loaded
// library exports it (a LibTorch with MKL linked in).
std::string blas_provider() {
  void* sgemm = dlsym(RTLD_DEFAULT, "sgemm_");
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

// LibTorch's BLAS_INFO build setting, from at::show_config() (" - BLAS_INFO=generic, ...").
std::string torch_blas_setting() {
  const std::string config = at::show_config();
  const auto at = config.find("BLAS_INFO=");
  if (at == std::string::npos) return "";
  const auto begin = at + 10;
  const auto end = config.find_first_of(", \n", begin);
  return config.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
}

}  // namespace

BlasInfo blas_info() {
  BlasInfo info;
  info.torch_blas = torch_blas_setting();
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
  } else if (!info.torch_blas.empty() && info.torch_blas != "generic") {
    info.name = info.torch_blas + " (inside LibTorch)";
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
