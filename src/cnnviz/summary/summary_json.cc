#include "cnnviz/summary_json.h"

#include "cnnviz/version.h"

namespace cnnviz {
namespace {

nlohmann::ordered_json kernel_json(const std::optional<KernelSize>& k) {
  if (!k) return nullptr;
  if (k->is_scalar) return k->dims.at(0);
  return k->dims;
}

}  // namespace

nlohmann::ordered_json summary_to_json(const std::vector<LayerRecord>& records, const SummaryStats& stats,
                                       const SummaryContext& ctx) {
  nlohmann::ordered_json doc;
  doc["schema"] = "cnnviz.summary";
  doc["schema_version"] = kSummarySchemaVersion;
  doc["cnnviz_version"] = cnnviz_version();
  doc["libtorch_version"] = libtorch_version();
  doc["model"] = {{"path", ctx.model_path},
                  {"sha256", ctx.model_sha256},
                  {"file_bytes", ctx.model_file_bytes},
                  {"format_version", ctx.model_format_version},
                  {"frozen", ctx.frozen}};
  doc["device"] = ctx.device;
  doc["blas"] = ctx.blas;
  auto inputs = nlohmann::ordered_json::array();
  for (const auto& in : ctx.inputs) {
    inputs.push_back({{"shape", in.shape}, {"dtype", std::string(dtype_name(in.dtype))},
                      {"bytes", shape_numel(in.shape) * dtype_size(in.dtype)}});
  }
  doc["inputs"] = inputs;
  auto layers = nlohmann::ordered_json::array();
  for (std::size_t i = 0; i < records.size(); ++i) {
    const LayerRecord& r = records[i];
    layers.push_back({
        {"index", i},
        {"path", r.path},
        {"var_name", r.var_name},
        {"class", r.class_name},
        {"depth", r.depth},
        {"depth_index", r.depth_index},
        {"call_index", r.call_index},
        {"executed", r.executed},
        {"is_leaf", r.is_leaf},
        {"is_recursive", r.is_recursive},
        {"input_shape", r.input_shape},
        {"output_shape", r.output_shape},
        {"output_bytes", r.output_bytes},
        {"params", r.num_params},
        {"trainable_params", r.trainable_params},
        {"leftover_params", r.leftover_params},
        {"kernel_shape", kernel_json(r.kernel_size)},
        {"mult_adds", r.is_leaf ? r.mult_adds : r.leaf_mult_adds},
    });
    if (stats.total_flops >= 0) layers.back()["flops"] = r.flops >= 0 ? nlohmann::ordered_json(r.flops) : nlohmann::ordered_json();
  }
  doc["layers"] = layers;
  doc["totals"] = {
      {"params", stats.total_params},
      {"trainable_params", stats.trainable_params},
      {"non_trainable_params", stats.non_trainable_params},
      {"mult_adds", stats.total_mult_adds},
      {"input_bytes", stats.input_bytes},
      {"forward_backward_bytes", stats.forward_backward_bytes},
      {"param_bytes", stats.param_bytes},
      {"estimated_total_bytes", stats.total_bytes},
      {"buffer_elements", stats.buffer_elements},
      {"memory_estimate_bytes", ctx.memory_estimate_bytes},
      {"torchinfo_1_8_total_params", stats.torchinfo_total_params},
  };
  if (stats.total_flops >= 0) {
    doc["totals"]["flops"] = stats.total_flops;
    auto uncounted = nlohmann::ordered_json::object();
    for (const auto& [op, calls] : stats.uncounted_ops) uncounted[op] = calls;
    doc["totals"]["uncounted_ops"] = uncounted;
  }
  doc["notes"] = ctx.notes;
  return doc;
}

}  // namespace cnnviz
