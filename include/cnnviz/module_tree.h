#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace cnnviz {

/// A module's `kernel_size` as the module stores it: Conv2d keeps a tuple ([7, 7]), MaxPool2d(3)
/// keeps the int 3. torchinfo prints the two differently, so the distinction is kept.
struct KernelSize {
  std::vector<int64_t> dims;
  bool is_scalar = false;  ///< stored as a single int
};

/// Hyper-parameters of a convolution module (Conv1d/2d/3d, ConvTranspose*d), read from the module's
/// constants (scripted files) or from its forward graph's convolution call (traced files).
struct ConvParams {
  std::vector<int64_t> stride;
  std::vector<int64_t> padding;  ///< empty when the module pads by name ("same", "valid")
  std::vector<int64_t> dilation;
  int64_t groups = 1;
  bool transposed = false;
};

/// One submodule of a loaded model: plain data, no LibTorch types.
struct ModuleNode {
  std::string path;        ///< dotted attribute path, "" for the root ("layer1.0.conv1")
  std::string var_name;    ///< last path component; the class name for the root
  std::string class_name;  ///< original Python class name ("Conv2d", "BasicBlock")
  std::string qualified_class;  ///< with its module ("torch.nn.modules.conv.Conv2d", "__main__.Net")
  int depth = 0;           ///< 0 for the root
  int parent = -1;         ///< index of the parent node, -1 for the root
  bool is_leaf = true;     ///< has no child modules
  int64_t num_params = 0;        ///< elements of every parameter in the subtree, shared tensors once
  int64_t trainable_params = 0;  ///< the part of num_params with requires_grad
  int64_t param_bytes = 0;       ///< bytes of those parameters
  /// Elements of the subtree's parameters named exactly "weight" or "bias" (the module's own), and of
  /// those whose name merely contains one of them ("0.weight", "weight_ih_l0"): the two inputs of
  /// torchinfo's mult-adds rule.
  int64_t weight_bias_params = 0;
  int64_t other_weight_bias_params = 0;
  std::optional<KernelSize> kernel_size;  ///< for convolutions and pools
  std::optional<ConvParams> conv;         ///< for convolutions
  std::vector<int64_t> weight_shape;      ///< shape of the module's own `weight`, if it has one
};

/// The module hierarchy of a model in pre-order (nodes[0] is the root), with whole-model totals.
struct ModuleTree {
  std::vector<ModuleNode> nodes;
  int64_t total_params = 0;      ///< every distinct parameter tensor counted once (frozen: constants)
  int64_t trainable_params = 0;
  int64_t param_bytes = 0;
  int64_t buffer_count = 0;      ///< elements of buffers (BatchNorm running stats), never params
  /// A frozen / optimize_for_inference model has no submodules; its weights are graph constants.
  bool frozen = false;
  int64_t constant_tensors = 0;   ///< tensor constants in a frozen model's graph
  int64_t constant_elements = 0;  ///< their elements
  int64_t constant_bytes = 0;     ///< their bytes
};

}  // namespace cnnviz
