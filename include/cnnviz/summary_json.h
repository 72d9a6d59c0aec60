#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cnnviz/input_spec.h"
#include "cnnviz/layer_record.h"
#include "cnnviz/summary_stats.h"

namespace cnnviz {

/// Version of the JSON document summary_to_json writes (docs/json-schema.md). Bumped on any change
/// that could break a reader; additions of keys do not bump it.
constexpr int kSummarySchemaVersion = 1;

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

/// The whole summary as a JSON document (schema "cnnviz.summary", version kSummarySchemaVersion).
nlohmann::ordered_json summary_to_json(const std::vector<LayerRecord>& records, const SummaryStats& stats,
                                       const SummaryContext& context);

/// The rows as RFC 4180 CSV with a header line; shapes are written 1x3x224x224.
std::string summary_to_csv(const std::vector<LayerRecord>& records);

}  // namespace cnnviz
