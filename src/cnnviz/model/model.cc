#include <torch/csrc/jit/runtime/graph_executor.h>
#include <torch/cuda.h>

#include <algorithm>
#include <sstream>

#include "cnnviz/error.h"
#include "cnnviz/input_file.h"
#include "cnnviz/input_spec.h"
#include "cnnviz/op_library.h"
#include "cnnviz/version.h"
#include "cnnviz/zip_preflight.h"
#include "model/load_checks.h"
#include "model/model_impl.h"
#include "model/torch_compat.h"

namespace cnnviz {

Model::Model(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Model::Model(Model&&) noexcept = default;
Model& Model::operator=(Model&&) noexcept = default;
Model::~Model() = default;

const ModelFileInfo& Model::file() const { return impl_->file; }
const ModuleTree& Model::tree() const { return impl_->tree; }
std::string Model::device_name() const { return impl_->device.str(); }

std::string torch_error_message(const std::exception& e) {
  std::string text;
  if (const auto* c10_error = dynamic_cast<const c10::Error*>(&e)) {
    text = c10_error->what_without_backtrace();
  } else {
    text = e.what();
  }
  std::vector<std::string> lines;
  {
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind("Exception raised from", 0) == 0) break;  // a C++ backtrace follows
      if (line.find_first_not_of(" \t") != std::string::npos) lines.push_back(line);
    }
  }
  std::string best;
  // Dispatcher errors: "Could not run 'aten::x' with arguments from the 'Meta' backend. ..."
  for (const auto& line : lines) {
    if (best.empty() && line.rfind("Could not run '", 0) == 0) best = line;
  }
  // Interpreter errors end with the Python-style "RuntimeError: ..." after a TorchScript traceback;
  // compile errors (ErrorReport) put the message first and the source context after it.
  if (best.empty() && !lines.empty()) {
    const bool traceback = lines[0].rfind("The following operation failed", 0) == 0 || lines[0].rfind("Traceback", 0) == 0;
    if (traceback) {
      for (auto it = lines.rbegin(); it != lines.rend() && best.empty(); ++it) {
        if ((*it)[0] != ' ' && it->find("Error: ") != std::string::npos) best = *it;
      }
    }
    if (best.empty()) best = lines[0];
  }
  while (!best.empty() && (best.back() == ' ' || best.back() == '.')) best.pop_back();
  if (best.size() > 400) best = best.substr(0, 397) + "...";
  return best;
}

WarningCollector::WarningCollector(std::vector<std::string>& sink)
    : sink_(sink), previous_(compat::get_warning_handler()) {
  compat::set_warning_handler(this);
}

WarningCollector::~WarningCollector() { compat::set_warning_handler(previous_); }

void WarningCollector::add(const std::string& msg) {
  const std::string line = msg.substr(0, msg.find('\n'));
  if (std::find(sink_.begin(), sink_.end(), line) == sink_.end()) sink_.push_back(line);
}

namespace {

c10::Device resolve_device(DeviceKind kind) {
  const bool cuda = torch::cuda::is_available();
  switch (kind) {
    case DeviceKind::kCpu: return c10::Device(c10::kCPU);
    case DeviceKind::kAuto: return cuda ? c10::Device(c10::kCUDA, 0) : c10::Device(c10::kCPU);
    case DeviceKind::kCuda:
      if (cuda) return c10::Device(c10::kCUDA, 0);
      if (!libtorch_has_cuda()) {
        throw Error(ErrorKind::kDevice, "--device cuda: this cnnviz is built against a CPU-only LibTorch " +
                                            libtorch_version() +
                                            "; use --device cpu, or rebuild against a CUDA LibTorch (README: Building against another LibTorch)");
      }
      throw Error(ErrorKind::kDevice, "--device cuda: no CUDA device is visible to LibTorch " + libtorch_version() +
                                          "; check the driver and CUDA_VISIBLE_DEVICES, or use --device cpu");
  }
  return c10::Device(c10::kCPU);
}

// The one-line error for a model that calls an operator this process does not have.
Error missing_operator(const std::string& path, const std::string& op) {
  const std::string ns = op.substr(0, op.find("::"));
  if (ns == "torchvision") {
    const std::string found = find_torchvision_library();
    return Error(ErrorKind::kModel,
                 "'" + path + "' calls torchvision's operator " + op + ", which is not loaded: " +
                     (found.empty() ? "install Debian's python3-torchvision built for LibTorch " + libtorch_version() +
                                          " (cnnviz then finds it), or pass --load-library with torchvision's _C library for this LibTorch"
                                    : "pass --load-library " + found));
  }
  if (ns == "aten" || ns == "prim" || ns == "quantized") {
    return Error(ErrorKind::kModel, "'" + path + "' calls the operator " + op + ", which LibTorch " + libtorch_version() +
                                        " does not have: the file was saved by a newer PyTorch; use cnnviz built against "
                                        "a newer LibTorch (README: Building on a current LibTorch)");
  }
  return Error(ErrorKind::kModel, "'" + path + "' calls the operator " + op +
                                      ", which is not registered: load the library that defines it with --load-library PATH");
}

// torch::jit::load of `source` (a name for the open file) to `device`, its errors made one of ours.
// A model that calls torchvision's operators (detection models: nms, roi_align) gets Debian's
// torchvision library for this LibTorch loaded, once, when no --load-library provided them.
torch::jit::Module torch_load(const std::string& path, const std::string& source, c10::Device device) {
  for (bool retried = false;; retried = true) {
    try {
      torch::jit::Module module = torch::jit::load(source, device);
      module.eval();
      return module;
    } catch (const std::exception& e) {
      const std::string op = unknown_operator(e.what());
      if (op.empty()) {
        throw Error(ErrorKind::kModel, "'" + path + "' could not be loaded by LibTorch " + libtorch_version() + ": " +
                                           torch_error_message(e) +
                                           "; if it was exported by a newer PyTorch, re-export it or rebuild cnnviz "
                                           "against a matching LibTorch");
      }
      if (!retried && op.rfind("torchvision::", 0) == 0) {
        const std::string library = find_torchvision_library();
        const auto& loaded = loaded_operator_libraries();
        if (!library.empty() && std::find(loaded.begin(), loaded.end(), library) == loaded.end()) {
          load_operator_library(library);
          continue;
        }
      }
      throw missing_operator(path, op);
    } catch (...) {
      throw Error(ErrorKind::kModel, "'" + path + "' could not be loaded by LibTorch " + libtorch_version());
    }
  }
}

// Wraps what LibTorch throws while cnnviz walks a loaded module.
template <typename F>
void inspect(const std::string& path, F&& f) {
  try {
    f();
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Error(ErrorKind::kModel, "'" + path + "' has a structure cnnviz cannot inspect: " + torch_error_message(e));
  }
}

}  // namespace

FloatArray to_float_array(const at::Tensor& t) {
  const at::Tensor c = t.detach().to(at::kCPU, at::kFloat).contiguous();
  FloatArray a;
  a.shape = c.sizes().vec();
  a.values.assign(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
  return a;
}

FloatArray module_parameter(const Model& model, int node, const std::string& name) {
  const Model::Impl& impl = model.impl();
  const torch::jit::Module& m = impl.modules.at(static_cast<std::size_t>(node));
  const ModuleNode& n = impl.tree.nodes.at(static_cast<std::size_t>(node));
  if (!m.hasattr(name) || !m.attr(name).isTensor()) {
    throw Error(ErrorKind::kModel, "layer '" + n.path + "' (" + n.class_name + ") of '" + impl.file.path + "' has no " + name);
  }
  return to_float_array(m.attr(name).toTensor());
}

Model load_model(const std::string& path, DeviceKind device_kind) {
  // One open file for every step: the pre-flight check and LibTorch read the same file, even if the
  // path is renamed or replaced meanwhile.
  const InputFile file(path, kModelFile);
  // Check the archive ourselves first: LibTorch's own messages for non-archives are cryptic, and a
  // malformed archive is better refused before LibTorch's parser sees it (a .pt file is code).
  const ArchiveInfo archive = preflight_archive(file, libtorch_version());
  check_class_constants(path, archive);
  const c10::Device device = resolve_device(device_kind);

  auto impl = std::make_unique<Model::Impl>();
  impl->file.path = path;
  impl->file.format_version = archive.format_version;
  impl->file.file_bytes = file.size();
  impl->device = device;

  // cnnviz runs each model a few times at most: skip the profiling executor's specialisation, which
  // costs more than it saves here and would specialise on the meta-device dry run.
  torch::jit::setGraphExecutorOptimize(false);
  WarningCollector collect(impl->warnings);
  {
    // Storage bounds can only be checked on a CPU load (load_checks.h). For another device, LibTorch
    // copies each storage there inside torch::jit::load, reading past a short buffer before anything
    // could check it; so the file is loaded and checked on the CPU first, then loaded to the device.
    LoadAllocationRecorder record_buffers;
    impl->module = torch_load(path, file.open_name(), c10::Device(c10::kCPU));
    inspect(path, [&] { check_storage_bounds(path, impl->module); });
  }
  if (!device.is_cpu()) {
    impl->module = torch::jit::Module();  // free the CPU copy first
    impl->module = torch_load(path, file.open_name(), device);
  }
  inspect(path, [&] {
    build_module_tree(*impl);
    instrument_for_capture(impl->module);
  });
  return Model(std::move(impl));
}

}  // namespace cnnviz
