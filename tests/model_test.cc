#include <catch2/catch.hpp>
#include <string>

#include "cnnviz/error.h"
#include "cnnviz/model.h"

using namespace cnnviz;
using Catch::Matchers::Contains;

namespace {

Error load_refusal(const std::string& path) {
  try {
    load_model(path, DeviceKind::kCpu);
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::kModel);
    return e;
  }
  FAIL("loaded " << path);
  return Error(ErrorKind::kInternal, "");
}

}  // namespace

// Found by tests/fuzz/fuzz_model (an ASan heap-buffer-overflow in to_float_array): LibTorch 1.13 loads an
// archive whose data/N record is shorter than the tensor data.pkl puts on it, and every read of that
// tensor runs past its buffer. tests/data/models/make_short_storage.py writes the file.
TEST_CASE("load_model refuses a tensor larger than its data record", "[model]") {
  const std::string path = std::string(CNNVIZ_SOURCE_DIR) + "/tests/data/models/short_storage.pt";
  const std::string message = load_refusal(path).what();
  CHECK_THAT(message, Contains("short_storage.pt' is corrupted"));
  CHECK_THAT(message, Contains("tensor 'weight' of shape [2, 1, 3, 3] needs 72 bytes but its data holds 36"));
  CHECK_THAT(message, Contains("export the model again"));
  // The fuzzer's own input: probed.script.pt with data/0 cut from 432 to 310 bytes.
  CHECK_THAT(load_refusal(std::string(CNNVIZ_SOURCE_DIR) + "/tests/fuzz/corpus/fuzz_model/regression_short_storage.pt").what(),
             Contains("needs 432 bytes but its data holds 310"));
}

// Found by tests/fuzz/fuzz_model as a SEGV in LibTorch's ScriptTypeParser::parseClassConstant:
// tiny_cnn.trace.pt with `__buffers__ = []` changed to `foo = []` in one class body.
TEST_CASE("load_model refuses a class constant without a type", "[model]") {
  const std::string message =
      load_refusal(std::string(CNNVIZ_SOURCE_DIR) + "/tests/fuzz/corpus/fuzz_model/regression_class_constant.pt").what();
  CHECK_THAT(message, Contains("is corrupted: class MaxPool2d in tiny_cnn.trace/code/__torch__/torch/nn/modules/pooling/"));
  CHECK_THAT(message, Contains("assigns 'foo' without a type"));
  // The fuzzer's second find: the same, with an extra entry outside the archive folder (which made
  // LibTorch's own record listing throw, so the check must not depend on it).
  CHECK_THAT(load_refusal(std::string(CNNVIZ_SOURCE_DIR) + "/tests/fuzz/corpus/fuzz_model/regression_class_constant2.pt").what(),
             Contains("class Flatten in tiny_cnn.trace/code/__torch__/torch/nn/modules/flatten/___torch_mangle_2415.py "
                      "assigns 'cpuuffers__' without a type"));
}

// Found by tests/fuzz/fuzz_model: an entry outside the archive's folder ("tiny_cnn.sccode/data/7") made
// LibTorch's archive reader throw from getAllRecords() in our code-file check, which let a c10::Error
// escape load_model instead of a cnnviz::Error.
TEST_CASE("load_model reports an entry outside the archive folder as a model error", "[model]") {
  const std::string message =
      load_refusal(std::string(CNNVIZ_SOURCE_DIR) + "/tests/fuzz/corpus/fuzz_model/regression_record_names.pt").what();
  CHECK_THAT(message, Contains("could not be loaded by LibTorch"));
}
