#include "cnnviz/summary_stats.h"

namespace cnnviz {

SummaryStats compute_summary_stats(const std::vector<LayerRecord>& records, const ModuleTree& tree,
                                   const std::vector<InputSpec>& inputs) {
  SummaryStats s;
  s.has_input = !inputs.empty();
  s.total_params = tree.total_params;
  s.trainable_params = tree.trainable_params;
  s.non_trainable_params = s.total_params - s.trainable_params;
  s.param_bytes = tree.param_bytes;
  s.buffer_elements = tree.buffer_count;

  for (const LayerRecord& r : records) {
    if (r.is_leaf) {
      s.total_mult_adds += r.mult_adds;
      if (r.num_params > 0) s.forward_backward_bytes += 2 * r.output_bytes;  // x2 for gradients
      if (!r.is_recursive) s.torchinfo_total_params += std::max<int64_t>(r.num_params, 0);
    } else if (!r.is_recursive) {
      s.torchinfo_total_params += std::max<int64_t>(r.leftover_params, 0);
    }
  }
  for (const InputSpec& in : inputs) s.input_bytes += shape_numel(in.shape) * dtype_size(in.dtype) + kTorchinfoStorageOverhead;
  s.total_bytes = s.input_bytes + s.forward_backward_bytes + s.param_bytes;
  return s;
}

}  // namespace cnnviz
