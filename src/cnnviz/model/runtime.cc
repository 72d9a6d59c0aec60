#include "cnnviz/runtime.h"

#include <ATen/Parallel.h>

#include <string>

#include "cnnviz/error.h"

namespace cnnviz {

void set_threads(int n) {
  if (n < 1) throw Error::usage("--threads " + std::to_string(n) + ": must be at least 1");
  at::set_num_threads(n);
}

}  // namespace cnnviz
