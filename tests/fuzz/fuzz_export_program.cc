// libFuzzer target: the torch.export program reader (parse_export_program, parse_export_tensor_config,
// and parse_saved_tensors with its pickle evaluator, for PyTorch 2.6's archives) on arbitrary bytes. Invariants: bad input gives Error(kModel) with a one-line message; a parsed
// program's operator names are "namespace::name", every module stack frame has a key, and a list output
// comes from one return.
//
// Seeds: tests/fuzz/corpus/fuzz_export_program/ (the program and weights config of two_inputs.pt2, and
// the state dict pickle of a PyTorch 2.6 tiny_cnn.pt2).
// Whole archives, weights included, are fuzzed by fuzz_model through load_model.

#include <cstddef>
#include <cstdint>
#include <string>

#include "cnnviz/export_program.h"
#include "fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  using namespace cnnviz;
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const ExportProgram p = parse_export_program(text, "'fuzz.pt2' (models/model.json)");
    FUZZ_CHECK(p.schema_major == kExportSchemaMajor);
    for (const ExportNode& n : p.nodes) {
      FUZZ_CHECK(n.op.empty() || n.op.find("::") != std::string::npos);
      for (const ExportFrame& f : n.module_stack) FUZZ_CHECK(f.path.find(',') == std::string::npos);
      for (const ExportInput& in : n.inputs) {
        if (in.arg.kind == ExportArg::Kind::kSymInts) FUZZ_CHECK(in.arg.names.size() == in.arg.ints.size());
      }
    }
  } catch (const Error& e) {
    fuzz::expect_kind(e, {ErrorKind::kModel});
  }
  try {
    for (const auto& [name, t] : parse_export_tensor_config(text, "'fuzz.pt2' (weights config)")) {
      for (const int64_t d : t.sizes) FUZZ_CHECK(d >= -1);  // -1: a symbolic size
    }
  } catch (const Error& e) {
    fuzz::expect_kind(e, {ErrorKind::kModel});
  }
  try {
    for (const auto& [name, t] : parse_saved_tensors(text, "'fuzz.pt2' (serialized_state_dict.pt)")) {
      FUZZ_CHECK(t.sizes.size() == t.strides.size() && t.storage_offset >= 0 && t.dtype != 0);
    }
  } catch (const Error& e) {
    fuzz::expect_kind(e, {ErrorKind::kModel});
  }
  return 0;
}
