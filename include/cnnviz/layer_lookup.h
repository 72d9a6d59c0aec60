#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "cnnviz/module_tree.h"

namespace cnnviz {

/// Index of the module whose path is `name` ("features.3"; "" or "root" is the model itself). Throws
/// Error(kModel) for an unknown name, suggesting the closest path ("did you mean 'features.3'?").
int find_layer(const ModuleTree& tree, const std::string& name, const std::string& model_path);

/// Levenshtein distance, for suggestions.
std::size_t edit_distance(std::string_view a, std::string_view b);

/// Parses "0-15,20,31" into the indices it names, in order and without repeats. Every index must be
/// below `limit`. Throws Error(kUsage) naming `option`, the text and the valid range.
std::vector<int> parse_index_ranges(std::string_view text, int limit, const std::string& option);

}  // namespace cnnviz
