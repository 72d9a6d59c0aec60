#include <torch/cuda.h>

#include <algorithm>
#include <sstream>

#include "cnnviz/error.h"
#include "cnnviz/version.h"
#include "cnnviz/input_file.h"
#include "cnnviz/zip_archive.h"
#include "cnnviz/zip_preflight.h"
#include "model/export_runtime.h"
#include "model/model_impl.h"
#include "model/torch_compat.h"
#include "model/torchscript_runtime.h"

namespace cnnviz {

Model::Model(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Model::Model(Model&&) noexcept = default;
Model& Model::operator=(Model&&) noexcept = default;
Model::~Model() = default;

const ModelFileInfo& Model::file() const { return impl_->file; }
const ModuleTree& Model::tree() const { return impl_->tree(); }
std::string Model::device_name() const { return impl_->device.str(); }

bool Model::takes_image_list() const { return impl_->runtime->takes_image_list(); }

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
  const ModuleNode& n = impl.tree().nodes.at(static_cast<std::size_t>(node));
  const at::Tensor t = impl.runtime->parameter(node, name);
  if (!t.defined()) {
    throw Error(ErrorKind::kModel, "layer '" + n.path + "' (" + n.class_name + ") of '" + impl.file.path + "' has no " + name);
  }
  return to_float_array(t);
}

Model load_model(const std::string& path, DeviceKind device_kind) {
  auto impl = std::make_unique<Model::Impl>();
  impl->file.path = path;
  // One open file for every step: the checks and LibTorch read the same file, even if the path is
  // renamed or replaced meanwhile.
  const InputFile file(path, kModelFile);
  ZipArchive zip(file);
  // The device is resolved after the file's own checks: a bad file is reported before a missing GPU.
  const auto device = [&] { return impl->device = resolve_device(device_kind); };
  if (is_export_archive(zip)) {
    impl->runtime = load_export_program(file, zip, device, impl->file);
  } else {
    impl->runtime = load_torchscript(file, zip, device, impl->file, impl->warnings);
  }
  return Model(std::move(impl));
}

}  // namespace cnnviz
