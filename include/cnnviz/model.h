#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "cnnviz/float_array.h"
#include "cnnviz/input_spec.h"
#include "cnnviz/module_tree.h"

namespace cnnviz {

/// Where a model runs.
enum class DeviceKind { kCpu, kCuda, kAuto };

/// Facts about the model file itself.
struct ModelFileInfo {
  std::string path;
  int64_t file_bytes = 0;
  int64_t format_version = 0;  ///< the archive's `version` record
  std::string format = "TorchScript";  ///< "TorchScript" or "torch.export"
  /// The inputs a torch.export program was exported with (shapes and dtypes of its user inputs); empty
  /// for TorchScript, or when one of them is not a tensor or has a symbolic size.
  std::vector<InputSpec> example_inputs;
};

/// A model loaded for inspection: TorchScript (`.pt`, torch.jit.script or trace) or a torch.export
/// program (`.pt2`, torch.export.save). A `.pt` file is code: loading runs its TorchScript (including
/// `__setstate__`), so only load files you would run. A `.pt2` program runs ATen operators only. Move-only.
class Model {
 public:
  struct Impl;
  explicit Model(std::unique_ptr<Impl> impl);
  Model(Model&&) noexcept;
  Model& operator=(Model&&) noexcept;
  ~Model();

  const ModelFileInfo& file() const;
  /// The module hierarchy and parameter totals (built once at load).
  const ModuleTree& tree() const;
  /// "cpu" or "cuda:0".
  std::string device_name() const;
  /// True for a detector's forward(images: List[Tensor]) (torchvision's Faster R-CNN): it takes each
  /// image in [0, 1] at its own size and normalises and resizes it itself.
  bool takes_image_list() const;

  Impl& impl() { return *impl_; }
  const Impl& impl() const { return *impl_; }

 private:
  std::unique_ptr<Impl> impl_;
};

/// A float32 copy of parameter `name` ("weight") of the module at ModuleTree node `node`, e.g. a
/// Conv2d weight [out, in / groups, kh, kw]. Throws Error(kModel) if the module has no such tensor.
FloatArray module_parameter(const Model& model, int node, const std::string& name);

/// Checks the file (exists, regular, a TorchScript or torch.export zip archive this LibTorch reads),
/// loads it onto the device and prepares per-module capture. Throws Error: kInput (missing, directory,
/// unreadable), kModel (not a model, truncated, corrupted, too new, an unknown operator), kDevice
/// (cuda unavailable).
Model load_model(const std::string& path, DeviceKind device);

}  // namespace cnnviz
