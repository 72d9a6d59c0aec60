// In-process timing for scripts/benchmark: a bare LibTorch load + forward (what a user's own C++ would
// do) versus cnnviz's whole summary (load, meta dry run, instrumented forward, records, text), each
// repeated in one process. Prints one time in seconds per repetition.
//
//   cnnviz_bench bare|bare-noopt|summary|summary-run|features MODEL SHAPE [REPEATS] [THREADS] [IMAGE]
//
// summary-run: the summary with the graph run even where the file records every shape (a .pt2 at its
// exported shape, which `summary` reads from the record).
//
// features: what `cnnviz features MODEL IMAGE --all-layers DIR` does (decode and preprocess the image,
// one forward copying every convolution's output, a PNG grid per layer, encoded but not written).
//
// bare-noopt is bare with the graph executor's optimisation off, as cnnviz runs models: the difference
// between it and summary is the cost of cnnviz's capture alone.

#include <torch/csrc/jit/runtime/graph_executor.h>
#include <torch/script.h>

#include <ATen/Parallel.h>

#include <chrono>
#include <cstdio>
#include <string>

#include "cnnviz/capture.h"
#include "cnnviz/error.h"
#include "cnnviz/feature_grid.h"
#include "cnnviz/image.h"
#include "cnnviz/preprocess.h"
#include "cnnviz/input_spec.h"
#include "cnnviz/summary.h"
#include "cnnviz/summary_text.h"

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: cnnviz_bench bare|bare-noopt|summary|summary-run|features MODEL SHAPE [REPEATS] [THREADS]\n");
    return 2;
  }
  const std::string mode = argv[1], model = argv[2];
  try {
    const std::vector<int64_t> shape = cnnviz::parse_input_shape(argv[3]);
    const int repeats = argc > 4 ? std::stoi(argv[4]) : 5;
    at::set_num_threads(argc > 5 ? std::stoi(argv[5]) : 1);
    for (int i = 0; i < repeats; ++i) {
      const auto start = std::chrono::steady_clock::now();
      if (mode == "bare" || mode == "bare-noopt") {
        if (mode == "bare-noopt") torch::jit::setGraphExecutorOptimize(false);
        torch::jit::Module m = torch::jit::load(model);
        m.eval();
        torch::NoGradGuard no_grad;
        at::Tensor y = m.forward({at::rand(shape)}).toTensor();
        if (!y.defined()) return 1;
      } else if (mode == "summary" || mode == "summary-run") {
        cnnviz::SummaryRequest request;
        request.model_path = model;
        request.use_recorded_shapes = mode == "summary";
        request.inputs = {cnnviz::InputSpec{shape, cnnviz::DType::kFloat32}};
        request.max_memory_bytes = int64_t{1} << 40;
        const cnnviz::Summary s = cnnviz::summarize_model(request);
        const std::string text = cnnviz::render_summary_text(s.records, s.stats, cnnviz::TextOptions{});
        if (text.empty()) return 1;
      } else if (mode == "features" && argc > 6) {
        cnnviz::PreprocessOptions pre;
        pre.height = shape[2];
        pre.width = shape[3];
        cnnviz::FloatArray input = cnnviz::preprocess_image(cnnviz::load_image(argv[6]), pre);
        cnnviz::Model loaded = cnnviz::load_model(model, cnnviz::DeviceKind::kCpu);
        cnnviz::CaptureOptions capture;
        capture.inputs = {cnnviz::InputSpec{input.shape, cnnviz::DType::kFloat32}};
        capture.input_data = {std::move(input)};
        for (std::size_t n = 0; n < loaded.tree().nodes.size(); ++n) {
          if (loaded.tree().nodes[n].conv) capture.keep_outputs.push_back(static_cast<int>(n));
        }
        std::size_t bytes = 0;
        for (const auto& [node, map] : cnnviz::capture_module_calls(loaded, capture).outputs) {
          bytes += cnnviz::encode_png(cnnviz::render_feature_grid(map, cnnviz::FeatureGridOptions{})).size();
        }
        if (bytes == 0) return 1;
      } else {
        std::fprintf(stderr, "cnnviz_bench: unknown mode '%s'\n", mode.c_str());
        return 2;
      }
      std::printf("%.6f\n", seconds_since(start));
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cnnviz_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
