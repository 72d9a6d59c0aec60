#pragma once

// Private to libcnnviz: the TorchScript runtime (a `.pt` archive from torch.jit.script or trace) behind
// the ModelRuntime interface.

#include <torch/script.h>

#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "cnnviz/input_file.h"
#include "cnnviz/model.h"
#include "cnnviz/zip_archive.h"
#include "model/model_runtime.h"

namespace cnnviz {

/// Checks the archive (a TorchScript zip archive of a version this LibTorch reads), asks
/// `resolve_device` where to load it (after those checks), loads it there and instruments its forward
/// methods for per-module capture. `zip` is `file`'s central directory. Fills `info`'s size and format
/// version; the model's own warnings during load go to `warnings`. Errors as load_model.
std::unique_ptr<ModelRuntime> load_torchscript(const InputFile& file, ZipArchive& zip, const std::function<c10::Device()>& resolve_device,
                                               ModelFileInfo& info, std::vector<std::string>& warnings);

/// The ModuleTree of a loaded TorchScript module (module_tree.cc), with the module object of each node
/// (`modules`) and the node that each live module object's calls are reported as (`node_of`: aliases
/// of one module go to one node, as torchinfo's hooks see them).
ModuleTree build_module_tree(const torch::jit::Module& root, std::vector<torch::jit::Module>& modules,
                             std::unordered_map<const c10::ivalue::Object*, int>& node_of);

}  // namespace cnnviz
