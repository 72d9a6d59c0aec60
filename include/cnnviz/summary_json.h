#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cnnviz/layer_record.h"
#include "cnnviz/summary_context.h"
#include "cnnviz/summary_stats.h"

namespace cnnviz {

/// Version of the JSON document summary_to_json writes (docs/json-schema.md). Bumped on any change
/// that could break a reader; additions of keys do not bump it.
constexpr int kSummarySchemaVersion = 1;

/// The whole summary as a JSON document (schema "cnnviz.summary", version kSummarySchemaVersion).
nlohmann::ordered_json summary_to_json(const std::vector<LayerRecord>& records, const SummaryStats& stats,
                                       const SummaryContext& context);

}  // namespace cnnviz
