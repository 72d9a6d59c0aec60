#pragma once

#include <cstdint>
#include <string>

namespace cnnviz {

/// Reads a whole input file other than a model (an image, a labels file, an image list). Opening never
/// blocks: a FIFO, socket or device is refused, as is a directory, before anything is read. Reads to
/// the end rather than trusting the size the file system reports, but never more than `max_bytes`.
/// `what` names the expected content for messages, e.g. "a PNG or JPEG image".
/// Throws Error: kInput (missing, a directory, not a regular file, unreadable), kResource (over max_bytes).
std::string read_input_file(const std::string& path, int64_t max_bytes, const std::string& what);

}  // namespace cnnviz
