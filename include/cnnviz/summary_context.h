#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cnnviz/input_spec.h"

namespace cnnviz {

/// Context of a summary that is not in the records: where the model came from and what ran it.
struct SummaryContext {
  std::string model_path;
  std::string model_sha256;
  int64_t model_file_bytes = 0;
  int64_t model_format_version = -1;  ///< the archive's version record
  bool frozen = false;
  int64_t memory_estimate_bytes = 0;  ///< what the memory guard checked (0: no forward)
  std::string device;  ///< "cpu", "cuda:0"
  std::string blas;    ///< the BLAS in use (BlasInfo::name)
  std::vector<InputSpec> inputs;
  std::vector<std::string> notes;
};

}  // namespace cnnviz
