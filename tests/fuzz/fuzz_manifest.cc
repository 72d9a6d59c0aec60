// libFuzzer target: the summary manifest parser (parse_manifest, `cnnviz summary --expect-file`) on
// arbitrary text. Invariants: every entry has a non-empty model and counts >= 0, no two entries name
// the same model, each is found by its own model string, and its manifest_line() parses back to the
// same entry; bad text gives Error(kUsage).

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "cnnviz/summary_manifest.h"
#include "fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  using namespace cnnviz;
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const std::vector<ManifestEntry> manifest = parse_manifest(text, "fuzz.json");
    for (const ManifestEntry& e : manifest) {
      FUZZ_CHECK(!e.model.empty() && e.params >= 0 && e.line >= 1);
      FUZZ_CHECK(!e.mult_adds || *e.mult_adds >= 0);
      FUZZ_CHECK(!e.flops || *e.flops >= 0);
      FUZZ_CHECK(find_manifest_entry(manifest, e.model) == &e);
      FUZZ_CHECK(manifest_mismatches(e, e.params, e.mult_adds, e.flops).empty());
      const std::vector<ManifestEntry> again = parse_manifest(manifest_line(e), "line");
      FUZZ_CHECK(again.size() == 1 && again[0].model == e.model && again[0].params == e.params &&
                 again[0].mult_adds == e.mult_adds && again[0].flops == e.flops);
    }
  } catch (const Error& e) {
    fuzz::expect_kind(e, {ErrorKind::kUsage});
  }
  return 0;
}
