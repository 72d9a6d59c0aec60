#pragma once

#include <string>
#include <vector>

#include "cnnviz/layer_record.h"

namespace cnnviz {

/// The rows as RFC 4180 CSV with a header line; shapes are written 1x3x224x224.
std::string summary_to_csv(const std::vector<LayerRecord>& records);

}  // namespace cnnviz
