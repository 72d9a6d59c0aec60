#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace cnnviz {

/// The position of `name` in `names`: the table of an option's values, in the order of the enum they
/// name (parse_colormap, parse_cam_method, ...). Throws Error(kUsage) "<option> '<name>' is not known;
/// use one of a, b, c" for any other name.
std::size_t name_index(const std::vector<std::string>& names, std::string_view name, std::string_view option);

}  // namespace cnnviz
