#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace cnnviz {

/// A JSON document as text (`indent` < 0: one line). Linux file names may be any bytes: a string that
/// is not valid UTF-8 gets U+FFFD for each invalid byte instead of failing the whole document.
inline std::string json_text(const nlohmann::ordered_json& doc, int indent = -1) {
  return doc.dump(indent, ' ', /*ensure_ascii=*/false, nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace cnnviz
