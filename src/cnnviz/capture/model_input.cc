#include "cnnviz/model_input.h"

#include "cnnviz/input_spec.h"
#include "cnnviz/memory_guard.h"

namespace cnnviz {

MemoryCheck check_image_forward(Model& model, const Image& image, const PreprocessOptions& pre, const ImageForward& forward) {
  if (forward.max_memory_bytes <= 0) return {};
  CaptureOptions shapes;
  shapes.inputs = {InputSpec{{forward.batch, pre.channels, pre.height, pre.width}, DType::kFloat32}};
  shapes.max_memory_bytes = forward.max_memory_bytes;
  // The resize buffers of one image, plus the 8-bit picture kept per image for overlays.
  const int64_t seen = forward.batch * pre.channels * pre.height * pre.width;
  return check_capture_memory(model, shapes, preprocess_memory_bytes(image, pre) + seen, forward.gradient_from);
}

ModelImage prepare_image(const Image& image, const PreprocessOptions& pre, int64_t max_memory_bytes, const std::string& name) {
  if (max_memory_bytes > 0) check_memory(preprocess_memory_bytes(image, pre), max_memory_bytes, "preprocessing '" + name + "'");
  ModelImage prepared;
  prepared.seen = resize_for_model(image, pre);
  prepared.input = model_input_from_resized(prepared.seen, pre);
  return prepared;
}

}  // namespace cnnviz
