#pragma once

// What `cnnviz gradcam` reports besides its pictures, as JSON (docs/cli.md has the fields).

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cnnviz/cam_batch.h"

namespace cnnviz {

/// "ok", "skipped" or "error".
std::string batch_status_name(CamBatchEvent::Status status);

/// One line of a batch run's JSON report: image, output, status; the rank with top-k; class, label,
/// top-1 class and probability for a written map; the message of a failure. `labels` names classes.
nlohmann::ordered_json cam_batch_line(const CamBatchEvent& event, const std::vector<std::string>& labels);

}  // namespace cnnviz
