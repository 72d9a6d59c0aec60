#include "cnnviz/summary_csv.h"

#include <algorithm>

namespace cnnviz {
namespace {

std::string shape_x(const std::vector<int64_t>& shape) {
  std::string s;
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i) s += 'x';
    s += std::to_string(shape[i]);
  }
  return s;
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

}  // namespace

std::string summary_to_csv(const std::vector<LayerRecord>& records) {
  // FLOPs are a column only when they were counted (SummaryRequest::count_flops).
  const bool flops = std::any_of(records.begin(), records.end(), [](const LayerRecord& r) { return r.flops >= 0; });
  std::string out =
      "index,path,class,depth,depth_index,call_index,executed,is_leaf,is_recursive,input_shape,output_shape,"
      "output_bytes,params,trainable_params,kernel_shape,mult_adds" + std::string(flops ? ",flops" : "") + "\r\n";
  for (std::size_t i = 0; i < records.size(); ++i) {
    const LayerRecord& r = records[i];
    std::string kernel;
    if (r.kernel_size) kernel = r.kernel_size->is_scalar ? std::to_string(r.kernel_size->dims.at(0)) : shape_x(r.kernel_size->dims);
    out += std::to_string(i) + "," + csv_field(r.path) + "," + csv_field(r.class_name) + "," + std::to_string(r.depth) + "," +
           std::to_string(r.depth_index) + "," + std::to_string(r.call_index) + "," + (r.executed ? "true" : "false") + "," +
           (r.is_leaf ? "true" : "false") + "," + (r.is_recursive ? "true" : "false") + "," + shape_x(r.input_shape) + "," +
           shape_x(r.output_shape) + "," + std::to_string(r.output_bytes) + "," + std::to_string(r.num_params) + "," +
           std::to_string(r.trainable_params) + "," + kernel + "," + std::to_string(r.is_leaf ? r.mult_adds : r.leaf_mult_adds) +
           (flops ? "," + (r.flops >= 0 ? std::to_string(r.flops) : std::string()) : std::string()) + "\r\n";
  }
  return out;
}

}  // namespace cnnviz
