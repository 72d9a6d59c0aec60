#include "cnnviz/name_table.h"

#include "cnnviz/error.h"

namespace cnnviz {

std::size_t name_index(const std::vector<std::string>& names, std::string_view name, std::string_view option) {
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (name == names[i]) return i;
  }
  std::string valid;
  for (const auto& n : names) valid += (valid.empty() ? "" : ", ") + n;
  throw Error::usage(std::string(option) + " '" + std::string(name) + "' is not known; use one of " + valid);
}

}  // namespace cnnviz
