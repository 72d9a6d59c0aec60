#pragma once

// Private to libcnnviz: the LibTorch side of Model, shared by the model, capture and attribution units.

#include <torch/script.h>
#include <torch/version.h>

#include <memory>
#include <string>
#include <vector>

#include "cnnviz/model.h"
#include "model/model_runtime.h"

namespace cnnviz {

struct Model::Impl {
  ModelFileInfo file;
  c10::Device device{c10::kCPU};
  std::unique_ptr<ModelRuntime> runtime;  ///< the loaded program, whatever its format
  /// Warnings the model's own code raised (TorchScript `warnings.warn`), each once.
  std::vector<std::string> warnings;

  const ModuleTree& tree() const { return runtime->tree(); }
};

/// Routes LibTorch warnings (which would otherwise go to glog on stderr) into a list, each message
/// once, for as long as it lives.
class WarningCollector : public c10::WarningHandler {
 public:
  explicit WarningCollector(std::vector<std::string>& sink);
  ~WarningCollector() override;
  WarningCollector(const WarningCollector&) = delete;
  WarningCollector& operator=(const WarningCollector&) = delete;
#if TORCH_VERSION_MAJOR >= 2
  void process(const c10::Warning& warning) override { add(warning.msg()); }
#else
  void process(const c10::SourceLocation&, const std::string& msg, const bool) override { add(msg); }
#endif

 private:
  void add(const std::string& msg);
  std::vector<std::string>& sink_;
  c10::WarningHandler* previous_;
};

/// A float32 CPU copy of `t`, taken now: later in-place ops on `t` do not reach it (model.cc).
FloatArray to_float_array(const at::Tensor& t);

/// torchinfo's rule for the tensor that stands for a value (capture.cc): the tensor itself; the first
/// element of a list or tuple, recursively; the last value of a dict that is a whole module output
/// (`whole_output`), the first value of a nested one; nullptr for None and other values.
const at::Tensor* first_tensor(const c10::IValue& v, bool whole_output);

/// The first line of a LibTorch exception without its C++ backtrace or TorchScript traceback.
std::string torch_error_message(const std::exception& e);

}  // namespace cnnviz
