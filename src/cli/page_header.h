#pragma once

#include <string>
#include <vector>

namespace cnnviz::cli {

/// The command line as a shell would take it back: words with characters other than letters, digits
/// and _-+=.,/:@% in single quotes.
std::string shell_command(const std::vector<std::string>& argv);

/// Now in UTC, ISO 8601 ("2026-12-06T08:44:08Z"); SOURCE_DATE_EPOCH's time instead when it is set, so
/// that pages can be made reproducibly (as reproducible builds do).
std::string created_time();

}  // namespace cnnviz::cli
