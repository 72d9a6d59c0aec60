#pragma once

#include <string>

namespace cnnviz {

/// Lowercase hex SHA-256 of a file's bytes. Throws Error(kInput) if it cannot be read.
std::string sha256_file(const std::string& path);

/// Lowercase hex SHA-256 of a byte string.
std::string sha256_bytes(const std::string& bytes);

}  // namespace cnnviz
