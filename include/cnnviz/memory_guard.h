#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace cnnviz {

/// Bytes this process may still use: MemAvailable from /proc/meminfo, lowered to the cgroup's
/// memory.max (v2) or memory.limit_in_bytes (v1) headroom and to the RLIMIT_AS (ulimit -v) headroom
/// when those are set. -1 if unknown.
int64_t available_memory_bytes();

/// The default --max-memory: 80% of available_memory_bytes(), or 8 GB when that is unknown.
int64_t default_memory_limit();

/// Parses a --max-memory value: a byte count with an optional SI or IEC suffix ("512M", "8G",
/// "1.5GiB", "4000000000"). Throws Error(kUsage) for anything else or a value below 1 MB.
int64_t parse_memory_size(std::string_view text);

/// "1.20 GB" style, SI units, for messages.
std::string format_bytes(int64_t bytes);

/// Throws Error(kResource) naming what needs the memory, the estimate and the limit, and the two ways
/// out (a smaller --input or a larger --max-memory), when `estimate_bytes` exceeds `limit_bytes`.
void check_memory(int64_t estimate_bytes, int64_t limit_bytes, const std::string& what);

}  // namespace cnnviz
