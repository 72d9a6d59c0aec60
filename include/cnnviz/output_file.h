#pragma once

#include <string>

namespace cnnviz {

/// Writes `bytes` to `path` so that readers see either the old file or the complete new one, never a
/// partial file: the bytes go to a temporary "<name>.tmp.XXXXXX" in the same directory, which is
/// flushed, fsync'ed, given mode 0644 & ~umask and renamed over `path`; the directory is then fsync'ed
/// (best effort). "-" writes the bytes to stdout instead. A symlink at `path` is replaced, not followed.
/// Throws Error(kOutput) naming the path and the reason if the parent directory does not exist or is not
/// writable, or any step fails; no temporary file is left behind then, and an existing `path` is unchanged.
void write_file_atomically(const std::string& path, const std::string& bytes);

/// As write_file_atomically, but only if `path` does not exist: the complete file is published with
/// link(2), which fails when `path` exists, so of several processes creating it at the same moment
/// exactly one succeeds. Returns false, with nothing written and no temporary file left, when `path`
/// exists. ("-" is a file name here.) On a file system without hard links it checks and renames,
/// which is not atomic.
bool write_new_file_atomically(const std::string& path, const std::string& bytes);

}  // namespace cnnviz
