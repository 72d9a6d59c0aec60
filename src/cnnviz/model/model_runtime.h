#pragma once

// Private to libcnnviz: what the rest of the library needs from a loaded model, whatever its file
// format. A runtime owns the loaded program and its weights, knows which module of the ModuleTree each
// call belongs to, and reports those calls to a CallObserver while it runs a forward. Everything above
// it (capture, summary, attribution, pictures) sees only this interface, the ModuleTree and tensors.
// The runtimes: TorchScript (model/torchscript_runtime.cc) and torch.export (model/export_runtime.cc).
// Adding a format is one more class behind this interface and one branch in load_model
// (docs/architecture.md, "Adding a model format").

#include <ATen/ATen.h>
#include <ATen/core/ivalue.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "cnnviz/input_spec.h"
#include "cnnviz/module_tree.h"

namespace cnnviz {

/// A runtime's report of module calls during one forward. Calls nest: every on_enter is followed by the
/// matching on_exit unless the forward fails inside the call.
class CallObserver {
 public:
  virtual ~CallObserver() = default;
  /// Module `node` is called; `first_arg` is its first argument (None when it takes none).
  virtual void on_enter(int node, const c10::IValue& first_arg) = 0;
  /// Module `node` returns the tensor `x`, before any code after the module sees it. A defined result
  /// is handed on instead of `x`; an undefined one leaves `x` as it is.
  virtual at::Tensor on_tensor_return(int node, const at::Tensor& x) = 0;
  /// Module `node` returns `output` (after on_tensor_return, with its replacement).
  virtual void on_exit(int node, const c10::IValue& output) = 0;
  /// Module `node` returned `x` unchanged and the program kept no output for it (a traced nn.Identity):
  /// `x` is its input and output.
  virtual void on_pass_through(int node, const at::Tensor& x) = 0;
};

class ModelRuntime {
 public:
  virtual ~ModelRuntime() = default;

  /// The module hierarchy and parameter totals, built once at load.
  virtual const ModuleTree& tree() const = 0;
  /// Throws Error(kData), naming the forward's arguments, unless `given` inputs fit its signature.
  virtual void check_input_count(std::size_t given) const = 0;
  /// True when the forward takes a list of images (torchvision's detectors: forward(images: List[Tensor])),
  /// each in [0, 1] at its own size.
  virtual bool takes_image_list() const { return false; }
  /// The tensor `name` ("weight") held by the module of node `node`; undefined when it has none.
  virtual at::Tensor parameter(int node, const std::string& name) const = 0;
  /// The number `name` the module of node `node` computes with that is no tensor (a BatchNorm's "eps");
  /// none when the file does not record it.
  virtual std::optional<double> number(int node, const std::string& name) const = 0;
  /// Runs the model's forward on `inputs` (one tensor per argument, batch first; the runtime adapts
  /// them to what the program takes), reporting module calls to `observer` (may be null). LibTorch's
  /// exceptions pass through; the caller names the module they came from.
  virtual c10::IValue forward(std::vector<c10::IValue> inputs, CallObserver* observer) = 0;
  /// Runs `body` with every weight, buffer and cache of the model swapped for shape-only tensors on
  /// PyTorch's meta device, and restores them afterwards, even when `body` throws (the memory guard's
  /// dry run).
  virtual void with_meta_weights(const std::function<void()>& body) = 0;
  /// Reports to `observer` the module calls of a forward on inputs of exactly these shapes and dtypes as
  /// the file recorded them when it was saved, running no operator: every value the observer sees is a
  /// shape-only tensor on the meta device. Returns false, reporting nothing, when the file records no
  /// such forward (TorchScript; a `.pt2` exported at other or symbolic shapes).
  virtual bool replay_recorded(const std::vector<InputSpec>& /*inputs*/, CallObserver& /*observer*/) { return false; }
};

}  // namespace cnnviz
