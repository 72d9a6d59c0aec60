#include "model/meta_kernels.h"

#include <torch/script.h>
#include <torch/library.h>
#include <ATen/core/dispatch/Dispatcher.h>

#include <memory>
#include <mutex>
#include <vector>

namespace cnnviz {
namespace {

std::vector<int64_t> int_list(const c10::IValue& v) {
  if (v.isIntList()) return v.toIntVector();
  std::vector<int64_t> out;
  for (const auto& e : v.toListRef()) out.push_back(e.toInt());
  return out;
}

int64_t at_or_last(const std::vector<int64_t>& v, std::size_t i) { return v.empty() ? 0 : v[std::min(i, v.size() - 1)]; }

// convolution_overrideable(input, weight, bias, stride, padding, dilation, transposed, output_padding,
// groups): the output shape of PyTorch's Conv*d / ConvTranspose*d.
void meta_convolution(const c10::OperatorHandle&, torch::jit::Stack* stack) {
  const int64_t groups = torch::jit::pop(*stack).toInt();
  const auto output_padding = int_list(torch::jit::pop(*stack));
  const bool transposed = torch::jit::pop(*stack).toBool();
  const auto dilation = int_list(torch::jit::pop(*stack));
  const auto padding = int_list(torch::jit::pop(*stack));
  const auto stride = int_list(torch::jit::pop(*stack));
  torch::jit::pop(*stack);  // bias
  const at::Tensor weight = torch::jit::pop(*stack).toTensor();
  const at::Tensor input = torch::jit::pop(*stack).toTensor();
  const bool batched = input.dim() == weight.dim();
  const int64_t spatial_start = batched ? 2 : 1;
  std::vector<int64_t> out;
  if (batched) out.push_back(input.size(0));
  out.push_back(transposed ? weight.size(1) * groups : weight.size(0));
  for (int64_t d = spatial_start; d < input.dim(); ++d) {
    const std::size_t i = static_cast<std::size_t>(d - spatial_start);
    const int64_t in = input.size(d), k = weight.size(2 + static_cast<int64_t>(i));
    const int64_t s = at_or_last(stride, i), p = at_or_last(padding, i), dl = at_or_last(dilation, i);
    const int64_t o = transposed ? (in - 1) * s - 2 * p + dl * (k - 1) + at_or_last(output_padding, i) + 1
                                 : (in + 2 * p - dl * (k - 1) - 1) / s + 1;
    TORCH_CHECK(o > 0, "convolution output size is ", o, " for input size ", in, "; the input is too small");
    out.push_back(o);
  }
  torch::jit::push(*stack, at::empty(out, input.options()));
}

// Any op whose result has its first argument's shape (relu, hardtanh, ...).
void meta_same_shape(const c10::OperatorHandle& op, torch::jit::Stack* stack) {
  const std::size_t n = op.schema().arguments().size();
  at::Tensor self = (*stack)[stack->size() - n].toTensor();
  torch::jit::drop(*stack, n);
  torch::jit::push(*stack, at::empty_like(self));
}

// In-place ops (relu_, hardtanh_): the result is the first argument itself.
void meta_in_place(const c10::OperatorHandle& op, torch::jit::Stack* stack) {
  const std::size_t n = op.schema().arguments().size();
  c10::IValue self = (*stack)[stack->size() - n];
  torch::jit::drop(*stack, n);
  torch::jit::push(*stack, std::move(self));
}

// native_batch_norm(input, weight, bias, running_mean, running_var, training, momentum, eps)
//   -> (output, save_mean, save_invstd)
void meta_batch_norm(const c10::OperatorHandle& op, torch::jit::Stack* stack) {
  const std::size_t n = op.schema().arguments().size();
  at::Tensor input = (*stack)[stack->size() - n].toTensor();
  torch::jit::drop(*stack, n);
  const int64_t channels = input.dim() > 1 ? input.size(1) : 1;
  torch::jit::push(*stack, at::empty_like(input), at::empty({channels}, input.options()),
                   at::empty({channels}, input.options()));
}

// _adaptive_avg_pool2d(self, output_size): the last two dimensions become output_size.
void meta_adaptive_pool(const c10::OperatorHandle&, torch::jit::Stack* stack) {
  const auto output_size = int_list(torch::jit::pop(*stack));
  at::Tensor self = torch::jit::pop(*stack).toTensor();
  std::vector<int64_t> out = self.sizes().vec();
  const std::size_t k = output_size.size();
  TORCH_CHECK(out.size() >= k, "adaptive pooling: input has too few dimensions");
  for (std::size_t i = 0; i < k; ++i) out[out.size() - k + i] = output_size[i];
  torch::jit::push(*stack, at::empty(out, self.options()));
}

}  // namespace

void ensure_meta_kernels() {
  static std::once_flag once;
  std::call_once(once, [] {
    static std::unique_ptr<torch::Library> lib;
    auto missing = [](const char* name) {
      auto op = c10::Dispatcher::singleton().findOp(c10::OperatorName(name, ""));
      return op && !op->hasKernelForDispatchKey(c10::DispatchKey::Meta);
    };
    lib = std::make_unique<torch::Library>(torch::Library::IMPL, "aten", c10::DispatchKey::Meta, __FILE__, __LINE__);
    auto add = [&](const char* name, torch::CppFunction&& fn) {
      if (missing((std::string("aten::") + name).c_str())) lib->impl(name, std::move(fn));
    };
    add("convolution_overrideable", torch::CppFunction::makeFromBoxedFunction<&meta_convolution>());
    add("native_batch_norm", torch::CppFunction::makeFromBoxedFunction<&meta_batch_norm>());
    add("_adaptive_avg_pool2d", torch::CppFunction::makeFromBoxedFunction<&meta_adaptive_pool>());
    add("_adaptive_avg_pool3d", torch::CppFunction::makeFromBoxedFunction<&meta_adaptive_pool>());
    for (const char* name : {"relu", "hardtanh", "relu6", "gelu", "silu", "hardswish", "hardsigmoid", "elu", "selu",
                             "celu", "leaky_relu", "sigmoid", "tanh", "prelu", "_prelu_kernel", "threshold"}) {
      add(name, torch::CppFunction::makeFromBoxedFunction<&meta_same_shape>());
    }
    for (const char* name : {"relu_", "hardtanh_", "relu6_", "silu_", "hardswish_", "hardsigmoid_", "elu_", "selu_",
                             "celu_", "leaky_relu_", "sigmoid_", "tanh_", "threshold_"}) {
      add(name, torch::CppFunction::makeFromBoxedFunction<&meta_in_place>());
    }
  });
}

}  // namespace cnnviz
