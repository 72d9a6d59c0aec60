#include "cnnviz/memory_guard.h"

#include <sys/resource.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "cnnviz/error.h"

namespace cnnviz {
namespace {

int64_t read_int_file(const char* path) {
  std::ifstream in(path);
  std::string text;
  if (!(in >> text) || text == "max") return -1;
  try {
    return std::stoll(text);
  } catch (const std::exception&) {
    return -1;
  }
}

}  // namespace

int64_t available_memory_bytes() {
  int64_t available = -1;
  std::ifstream meminfo("/proc/meminfo");
  std::string key;
  int64_t kb = 0;
  std::string unit;
  while (meminfo >> key >> kb >> unit) {
    if (key == "MemAvailable:") {
      available = kb * 1024;
      break;
    }
  }
  // A container's limit can be far below the host's free memory.
  int64_t limit = read_int_file("/sys/fs/cgroup/memory.max");
  int64_t usage = read_int_file("/sys/fs/cgroup/memory.current");
  if (limit < 0) {
    limit = read_int_file("/sys/fs/cgroup/memory/memory.limit_in_bytes");
    usage = read_int_file("/sys/fs/cgroup/memory/memory.usage_in_bytes");
  }
  if (limit > 0 && limit < (int64_t{1} << 60) && usage >= 0) {
    const int64_t headroom = std::max<int64_t>(limit - usage, 0);
    available = available < 0 ? headroom : std::min(available, headroom);
  }
  // An address-space limit (ulimit -v) caps what this process can allocate, whatever is free.
  struct rlimit as {};
  if (::getrlimit(RLIMIT_AS, &as) == 0 && as.rlim_cur != RLIM_INFINITY) {
    std::ifstream status("/proc/self/status");
    std::string line;
    int64_t vm_kb = 0;
    while (std::getline(status, line)) {
      if (line.rfind("VmSize:", 0) == 0) vm_kb = std::atoll(line.c_str() + 7);
    }
    const int64_t headroom = std::max<int64_t>(static_cast<int64_t>(as.rlim_cur) - vm_kb * 1024, 0);
    available = available < 0 ? headroom : std::min(available, headroom);
  }
  return available;
}

int64_t default_memory_limit() {
  const int64_t available = available_memory_bytes();
  return available > 0 ? available / 10 * 8 : int64_t{8} * 1000 * 1000 * 1000;
}

int64_t parse_memory_size(std::string_view text) {
  auto fail = [&] {
    return Error::usage("--max-memory '" + std::string(text) +
                        "' is not a size; write bytes with an optional unit, e.g. 512M, 8G or 16GiB");
  };
  std::string s(text);
  std::size_t used = 0;
  double value = 0;
  try {
    value = std::stod(s, &used);
  } catch (const std::exception&) {
    throw fail();
  }
  std::string unit = s.substr(used);
  double scale = 1;
  if (unit.empty() || unit == "B") scale = 1;
  else if (unit == "k" || unit == "K" || unit == "kB" || unit == "KB") scale = 1e3;
  else if (unit == "M" || unit == "MB") scale = 1e6;
  else if (unit == "G" || unit == "GB") scale = 1e9;
  else if (unit == "T" || unit == "TB") scale = 1e12;
  else if (unit == "KiB") scale = 1024.0;
  else if (unit == "MiB") scale = 1024.0 * 1024;
  else if (unit == "GiB") scale = 1024.0 * 1024 * 1024;
  else if (unit == "TiB") scale = 1024.0 * 1024 * 1024 * 1024;
  else throw fail();
  const double bytes = value * scale;
  if (!std::isfinite(bytes) || bytes < 0 || bytes > 9e18) throw fail();
  if (bytes < 1e6) {
    throw Error::usage("--max-memory '" + std::string(text) + "' is below the minimum of 1 MB; no model fits in that");
  }
  return static_cast<int64_t>(bytes);
}

std::string format_bytes(int64_t bytes) {
  static const char* kUnits[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1000 && u < 6) {
    v /= 1000;
    ++u;
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.2f %s", v, kUnits[u]);
  return buf;
}

void check_memory(int64_t estimate_bytes, int64_t limit_bytes, const std::string& what) {
  if (estimate_bytes <= limit_bytes) return;
  throw Error(ErrorKind::kResource, what + " needs about " + format_bytes(estimate_bytes) +
                                        ", more than the memory limit of " + format_bytes(limit_bytes) +
                                        "; use a smaller --input or raise --max-memory");
}

}  // namespace cnnviz
