#pragma once

// FLOPs as fvcore counts them (fvcore/nn/jit_handles.py, flop_count.py): one fused multiply-add is
// one flop, per ATen operator, from the shapes of its arguments. Plain data; no LibTorch here.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cnnviz {

/// One argument (or result) of an operator call, as much of it as a formula reads.
struct OpArg {
  enum class Kind { kOther, kTensor, kBool, kString, kTensorList } kind = Kind::kOther;
  std::vector<int64_t> shape;                ///< kTensor
  bool flag = false;                         ///< kBool
  std::string text;                          ///< kString (einsum's equation)
  std::vector<std::vector<int64_t>> shapes;  ///< kTensorList (einsum's operands)
};

/// How one operator call was counted.
enum class OpCounted {
  kCounted,    ///< a formula applied (possibly giving 0)
  kIgnored,    ///< fvcore's ignored operators and shape/view/copy operators: zero by design
  kUncounted,  ///< no formula: reported by name, never silently zero
};

struct OpFlops {
  OpCounted status = OpCounted::kUncounted;
  int64_t flops = 0;
};

/// fvcore's count for one call of `op` ("aten::conv2d"). Formulas: addmm (batch x in x out), linear
/// (prod(input) x out), bmm (n c t d), matmul and mm (prod(a) x b[-1]), the convolutions
/// (batch x prod(weight) x prod(output spatial), transposed: x prod(input spatial)), einsum of two
/// operands (as numpy's einsum_path counts, halved), batch_norm (inference: numel x 2 with affine,
/// else x 1; training: x 5 or x 4), group_norm and layer_norm (numel x 5 with affine, x 4 without),
/// instance_norm (the same), upsample_nearest2d (output numel), upsample_bilinear2d (4 x output numel),
/// adaptive_avg_pool2d (input numel), grid_sampler (4 x output numel). One addition over fvcore,
/// which predates it: scaled_dot_product_attention, q [.., L, E], k [.., S, E], v [.., S, Ev]:
/// prod(batch dims) x L x S x (E + Ev), PyTorch's own flop_counter halved.
OpFlops fvcore_flops(std::string_view op, const std::vector<OpArg>& inputs, const std::vector<OpArg>& outputs);

}  // namespace cnnviz
