#include "cnnviz/runtime.h"

#include <sched.h>

#include <ATen/Parallel.h>

#include <string>
#include <thread>

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

}  // namespace cnnviz
