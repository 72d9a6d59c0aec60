// In-process Grad-CAM timing for scripts/benchmark: with the model loaded once, the median of
// REPEATS runs of (1) a plain no-grad forward, (2) forward + backward of the class score with every
// parameter's gradient (what pytorch-grad-cam pays), (3) cnnviz's compute_cam; then batch throughput
// of compute_cams against a bare batched forward; and (4) d score / d input by plain LibTorch against
// cnnviz's compute_saliency (vanilla). Prints "name seconds" lines.
//
//   cnnviz_cam_bench MODEL LAYER [REPEATS] [THREADS] [BATCH]
//
// CNNVIZ_BENCH_DEVICE=cuda runs both sides on the GPU (scripts/gpu-check): the bare side's tensors live
// there, and every timed run ends with a device synchronisation.

#include <torch/csrc/autograd/autograd.h>
#include <torch/cuda.h>
#include <torch/csrc/jit/runtime/graph_executor.h>
#include <torch/script.h>

#include <ATen/Parallel.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "cnnviz/cam.h"
#include "cnnviz/layer_lookup.h"
#include "cnnviz/model.h"
#include "cnnviz/saliency.h"

namespace {

bool on_cuda = false;

double median_seconds(int repeats, const std::function<void()>& fn) {
  fn();  // warm-up
  if (on_cuda) torch::cuda::synchronize();
  std::vector<double> times;
  for (int i = 0; i < repeats; ++i) {
    const auto start = std::chrono::steady_clock::now();
    fn();
    if (on_cuda) torch::cuda::synchronize();
    times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: cnnviz_cam_bench MODEL LAYER [REPEATS] [THREADS] [BATCH]\n");
    return 2;
  }
  try {
    const int repeats = argc > 3 ? std::stoi(argv[3]) : 5;
    at::set_num_threads(argc > 4 ? std::stoi(argv[4]) : 1);
    const int batch = argc > 5 ? std::stoi(argv[5]) : 16;
    torch::jit::setGraphExecutorOptimize(false);  // as cnnviz runs models, on both sides
    const char* device_name = std::getenv("CNNVIZ_BENCH_DEVICE");
    on_cuda = device_name != nullptr && std::string(device_name) == "cuda";
    const at::Device device = on_cuda ? at::Device(at::kCUDA) : at::Device(at::kCPU);

    // The bare side: the same file loaded by plain LibTorch.
    torch::jit::Module bare = torch::jit::load(argv[1], device);
    bare.eval();
    const at::Tensor x_host = at::rand({1, 3, 224, 224});
    const at::Tensor xb_host = at::rand({batch, 3, 224, 224});
    const at::Tensor x = x_host.to(device);
    const at::Tensor xb = xb_host.to(device);
    const double forward = median_seconds(repeats, [&] {
      torch::NoGradGuard no_grad;
      bare.forward({x});
    });
    const double forward_backward = median_seconds(repeats, [&] {
      at::Tensor y = bare.forward({x}).toTensor();
      y[0][24].backward();
      for (auto p : bare.parameters()) p.mutable_grad() = at::Tensor();
    });
    const double input_gradient = median_seconds(repeats, [&] {
      const at::Tensor leaf = x.clone().requires_grad_(true);
      const at::Tensor y = bare.forward({leaf}).toTensor();
      torch::autograd::grad({y[0][24]}, {leaf});
    });
    const double batched_forward = median_seconds(std::max(1, repeats / 2), [&] {
      torch::NoGradGuard no_grad;
      bare.forward({xb});
    });

    cnnviz::Model model = cnnviz::load_model(argv[1], on_cuda ? cnnviz::DeviceKind::kCuda : cnnviz::DeviceKind::kCpu);
    cnnviz::CamRequest request;
    request.layer = cnnviz::find_layer(model.tree(), argv[2], argv[1]);
    request.target.index = 24;
    const cnnviz::FloatArray input{{1, 3, 224, 224}, std::vector<float>(x_host.data_ptr<float>(), x_host.data_ptr<float>() + x_host.numel())};
    const cnnviz::FloatArray inputs{{batch, 3, 224, 224}, std::vector<float>(xb_host.data_ptr<float>(), xb_host.data_ptr<float>() + xb_host.numel())};
    const double cam = median_seconds(repeats, [&] { cnnviz::compute_cam(model, input, request); });
    cnnviz::SaliencyRequest saliency_request;
    saliency_request.target.index = 24;
    const double saliency = median_seconds(repeats, [&] { cnnviz::compute_saliency(model, input, saliency_request); });
    const double cam_batch = median_seconds(std::max(1, repeats / 2), [&] { cnnviz::compute_cams(model, inputs, request, {}); });

    std::printf("forward %.6f\nforward_backward %.6f\ngradcam %.6f\nbatched_forward %.6f\nbatched_gradcam %.6f\nbatch %d\n"
                "input_gradient %.6f\nsaliency %.6f\n",
                forward, forward_backward, cam, batched_forward, cam_batch, batch, input_gradient, saliency);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cnnviz_cam_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
