#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "cnnviz/input_spec.h"
#include "cnnviz/layer_record.h"
#include "cnnviz/module_tree.h"

namespace cnnviz {

/// The totals under a summary table. Numbers only; summary_text decides units and formatting.
struct SummaryStats {
  int64_t total_params = 0;      ///< every distinct parameter tensor once (torchinfo 1.8.0 may count more)
  int64_t trainable_params = 0;
  int64_t non_trainable_params = 0;
  int64_t total_mult_adds = 0;   ///< Σ mult-adds of every leaf row, every call counted
  int64_t input_bytes = 0;       ///< Σ over inputs of bytes + 56, torchinfo's sys.getsizeof(storage)
  int64_t forward_backward_bytes = 0;  ///< Σ 2 x output bytes of leaf rows that have parameters
  int64_t param_bytes = 0;       ///< bytes of every distinct parameter tensor
  int64_t total_bytes = 0;       ///< input + forward/backward + params
  int64_t buffer_elements = 0;   ///< elements of buffers (BatchNorm running stats): not params
  /// What torchinfo 1.8.0 prints as Total params: Σ leaf params + container leftovers, skipping
  /// (recursive) rows. Differs from total_params when a module or tensor is shared.
  int64_t torchinfo_total_params = 0;
  bool has_input = false;        ///< mult-adds and sizes are only meaningful with an input
  /// fvcore's FLOPs of the whole forward (-1: not counted, no --flops), and the ATen operators that
  /// ran without a formula, with their call counts (flop_count.h).
  int64_t total_flops = -1;
  std::vector<std::pair<std::string, int64_t>> uncounted_ops;
};

/// CPython's object overhead that torchinfo's input size includes, per input tensor.
constexpr int64_t kTorchinfoStorageOverhead = 56;

/// Sums a summary's records into its totals.
SummaryStats compute_summary_stats(const std::vector<LayerRecord>& records, const ModuleTree& tree,
                                   const std::vector<InputSpec>& inputs);

}  // namespace cnnviz
