#include "model/torchvision_autograd.h"

#include <torch/library.h>
#include <torch/script.h>
#include <torch/version.h>

#if TORCH_VERSION_MAJOR >= 2
#include <torch/csrc/autograd/custom_function.h>
#endif

#include <memory>
#include <mutex>

namespace cnnviz {

#if TORCH_VERSION_MAJOR >= 2
namespace {

int64_t int_of(const c10::IValue& v) { return v.isInt() ? v.toInt() : v.toSymInt().expect_int(); }

std::optional<c10::OperatorHandle> find_op(const char* name) { return c10::Dispatcher::singleton().findSchema({name, ""}); }

// roi_align(input, rois, spatial_scale, pooled_height, pooled_width, sampling_ratio, aligned): the
// forward below autograd, and torchvision's _roi_align_backward for the input's gradient (the boxes
// get none, as in torchvision).
class RoiAlign : public torch::autograd::Function<RoiAlign> {
 public:
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& input, const at::Tensor& rois, double spatial_scale,
                            int64_t pooled_height, int64_t pooled_width, int64_t sampling_ratio, bool aligned) {
    ctx->saved_data["spatial_scale"] = spatial_scale;
    ctx->saved_data["pooled_height"] = pooled_height;
    ctx->saved_data["pooled_width"] = pooled_width;
    ctx->saved_data["sampling_ratio"] = sampling_ratio;
    ctx->saved_data["aligned"] = aligned;
    ctx->saved_data["input_shape"] = input.sizes().vec();
    ctx->save_for_backward({rois});
    at::AutoDispatchBelowADInplaceOrView below;
    torch::jit::Stack stack{input, rois, spatial_scale, pooled_height, pooled_width, sampling_ratio, aligned};
    find_op("torchvision::roi_align")->callBoxed(&stack);
    return stack.at(0).toTensor();
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::variable_list grad) {
    const at::Tensor rois = ctx->get_saved_variables().at(0);
    const std::vector<int64_t> shape = ctx->saved_data["input_shape"].toIntVector();
    torch::jit::Stack stack{grad.at(0),
                            rois,
                            ctx->saved_data["spatial_scale"].toDouble(),
                            ctx->saved_data["pooled_height"].toInt(),
                            ctx->saved_data["pooled_width"].toInt(),
                            shape.at(0),
                            shape.at(1),
                            shape.at(2),
                            shape.at(3),
                            ctx->saved_data["sampling_ratio"].toInt(),
                            ctx->saved_data["aligned"].toBool()};
    find_op("torchvision::_roi_align_backward")->callBoxed(&stack);
    return {stack.at(0).toTensor(), at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

void roi_align_autograd(const c10::OperatorHandle&, torch::jit::Stack* stack) {
  const bool aligned = torch::jit::pop(*stack).toBool();
  const int64_t sampling_ratio = torch::jit::pop(*stack).toInt();
  const int64_t pooled_width = int_of(torch::jit::pop(*stack));
  const int64_t pooled_height = int_of(torch::jit::pop(*stack));
  const double spatial_scale = torch::jit::pop(*stack).toDouble();
  const at::Tensor rois = torch::jit::pop(*stack).toTensor();
  const at::Tensor input = torch::jit::pop(*stack).toTensor();
  torch::jit::push(*stack, RoiAlign::apply(input, rois, spatial_scale, pooled_height, pooled_width, sampling_ratio, aligned));
}

}  // namespace

void add_missing_torchvision_autograd() {
  static std::mutex mutex;
  static std::unique_ptr<torch::Library> library;  // lives as long as the process: the registration points into it
  std::lock_guard<std::mutex> lock(mutex);
  if (library) return;
  const auto op = find_op("torchvision::roi_align");
  if (!op || !find_op("torchvision::_roi_align_backward")) return;
  if (op->hasKernelForDispatchKey(c10::DispatchKey::AutogradCPU) || op->hasKernelForDispatchKey(c10::DispatchKey::AutogradCUDA) ||
      op->hasKernelForDispatchKey(c10::DispatchKey::Autograd)) {
    return;
  }
  library = std::make_unique<torch::Library>(torch::Library::IMPL, "torchvision", c10::DispatchKey::Autograd, __FILE__, __LINE__);
  library->impl("roi_align", torch::CppFunction::makeFromBoxedFunction<&roi_align_autograd>());
}

#else

// LibTorch 1.x reads torchvision 0.14 and older, whose C++ library registers the derivatives itself.
void add_missing_torchvision_autograd() {}

#endif

}  // namespace cnnviz
