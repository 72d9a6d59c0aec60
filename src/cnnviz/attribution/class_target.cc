#include "attribution/class_target.h"

#include "cnnviz/error.h"
#include "cnnviz/input_spec.h"

namespace cnnviz {

const at::Tensor& class_scores(const Model::Impl& impl, const c10::IValue& output, int64_t n, const std::string& explainers) {
  const at::Tensor* out = first_tensor(output, true);
  if (!out || out->dim() != 2 || out->size(0) != n) {
    throw Error(ErrorKind::kData, "the output of '" + impl.file.path + "' is " +
                                      (out ? shape_to_string(out->sizes().vec()) : std::string("not a tensor")) +
                                      ", not class scores [N, K]; " + explainers + " explain classifiers");
  }
  return *out;
}

void check_class_index(int64_t c, int64_t classes) {
  if (c < 0 || c >= classes) {
    throw Error::usage("--class " + std::to_string(c) + " is out of range: the model has " + std::to_string(classes) +
                       " classes (0 to " + std::to_string(classes - 1) + ")");
  }
}

at::Tensor class_target_score(const at::Tensor& scores, const at::Tensor& targets) {
  return scores.gather(1, targets.to(scores.device()).unsqueeze(1)).sum();
}

at::Tensor scale_min_max(const at::Tensor& m) {
  const at::Tensor shifted = m - m.min();
  return shifted / (1e-7 + shifted.max());
}

}  // namespace cnnviz
