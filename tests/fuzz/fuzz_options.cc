// libFuzzer target: the option-value parsers other than --input. The first byte picks the parser, the
// rest is the option's text:
//   0  parse_index_ranges (--filters/--channels "0-15,20"); bytes 1-2 give the limit (0..65535)
//   1  parse_memory_size (--max-memory "2G", "1.5GiB")
//   2  take_shard (--shard "I/N", src/cnnviz/io/batch_source.cc); byte 1 gives the number of items
//   3  the name parsers; byte 1 picks --dtype, --colormap, --interpolation or --columns
// Bad text must give Error(kUsage); parsed values must obey each parser's documented contract.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "cnnviz/batch_source.h"
#include "cnnviz/colormap.h"
#include "cnnviz/input_spec.h"
#include "cnnviz/layer_lookup.h"
#include "cnnviz/memory_guard.h"
#include "cnnviz/preprocess.h"
#include "cnnviz/summary_text.h"
#include "fuzz_check.h"

namespace {

using namespace cnnviz;

void index_ranges(const uint8_t* data, std::size_t size) {
  if (size < 2) return;
  const int limit = data[0] | (data[1] << 8);
  const std::string_view text(reinterpret_cast<const char*>(data + 2), size - 2);
  const std::vector<int> indices = parse_index_ranges(text, limit, "--channels");
  FUZZ_CHECK(!indices.empty());
  std::unordered_set<int> seen;
  for (const int i : indices) {
    FUZZ_CHECK(i >= 0 && i < limit);
    FUZZ_CHECK(seen.insert(i).second);
  }
}

void memory_size(const uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const int64_t bytes = parse_memory_size(text);
  FUZZ_CHECK(bytes >= 1000000 && bytes <= int64_t{9000000000000000000});
  FUZZ_CHECK(!format_bytes(bytes).empty());
}

void shard(const uint8_t* data, std::size_t size) {
  if (size < 1) return;
  std::vector<BatchItem> items(data[0]);
  for (std::size_t i = 0; i < items.size(); ++i) items[i].name = std::to_string(i);
  const std::string text(reinterpret_cast<const char*>(data + 1), size - 1);
  const std::vector<BatchItem> mine = take_shard(items, text);
  if (text.empty()) {
    FUZZ_CHECK(mine.size() == items.size());
    return;
  }
  // Accepted: "I/N" with 0 <= I < N. Every N-th item from I, in order.
  const std::size_t slash = text.find('/');
  FUZZ_CHECK(slash != std::string::npos);
  const std::size_t index = std::stoul(text.substr(0, slash)), count = std::stoul(text.substr(slash + 1));
  FUZZ_CHECK(index < count);
  std::size_t expected = 0;
  for (std::size_t i = index; i < items.size(); i += count) {
    FUZZ_CHECK(expected < mine.size() && mine[expected].name == items[i].name);
    ++expected;
  }
  FUZZ_CHECK(mine.size() == expected);
}

void names(const uint8_t* data, std::size_t size) {
  if (size < 1) return;
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  switch (data[0] % 4) {
    case 0: FUZZ_CHECK(dtype_name(parse_dtype(text)) == text); break;
    case 1: parse_colormap(text); break;
    case 2: parse_interpolation(text); break;
    default: parse_column(text); break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  try {
    switch (data[0] % 4) {
      case 0: index_ranges(data + 1, size - 1); break;
      case 1: memory_size(data + 1, size - 1); break;
      case 2: shard(data + 1, size - 1); break;
      default: names(data + 1, size - 1); break;
    }
  } catch (const Error& e) {
    fuzz::expect_kind(e, {ErrorKind::kUsage});
  }
  return 0;
}
