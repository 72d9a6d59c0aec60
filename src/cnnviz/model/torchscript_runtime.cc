// The TorchScript runtime: a `.pt` archive loaded by LibTorch's torch::jit::load, run by its
// interpreter.
//
// LibTorch has no forward hooks for loaded TorchScript modules (pytorch/pytorch#25888, #86818), so
// the runtime rewrites each module type's forward graphs once, right after load, to call custom ops:
// cnnviz::pre(self, first_arg) on entry and cnnviz::post(self, output) before returning (with
// cnnviz::tap(self, output) before it when the output is a tensor, and cnnviz::hint after a traced
// pass-through call). The ops look up `self` in the runtime's object -> node map and report to the
// CallObserver of the forward running on this thread. See docs/architecture.md for the design and its
// traps.

#include "model/torchscript_runtime.h"
#include "model/torchvision_autograd.h"

#include <torch/csrc/jit/api/function_impl.h>
#include <torch/csrc/jit/ir/ir.h>
#include <torch/csrc/jit/runtime/graph_executor.h>

#include <algorithm>
#include <regex>
#include <unordered_set>

#include "cnnviz/error.h"
#include "cnnviz/input_file.h"
#include "cnnviz/op_library.h"
#include "cnnviz/version.h"
#include "cnnviz/zip_preflight.h"
#include "model/load_checks.h"
#include "model/model_impl.h"

namespace cnnviz {
namespace {

/// The forward running on this thread: whose module objects, and who is told of their calls.
struct ActiveForward {
  const std::unordered_map<const c10::ivalue::Object*, int>* node_of = nullptr;
  CallObserver* observer = nullptr;
};

thread_local ActiveForward* active_forward = nullptr;

/// The node of module object `self` in the forward running on this thread, or -1 (no forward observed,
/// or an object that is not one of its modules).
int node_of_self(const c10::IValue& self) {
  ActiveForward* run = active_forward;
  if (!run || !run->observer || !self.isObject()) return -1;
  auto it = run->node_of->find(&self.toObjectRef());
  return it == run->node_of->end() ? -1 : it->second;
}

void pre_kernel(const c10::OperatorHandle&, torch::jit::Stack* stack) {
  c10::IValue arg = torch::jit::pop(*stack);
  c10::IValue self = torch::jit::pop(*stack);
  const int node = node_of_self(self);
  if (node >= 0) active_forward->observer->on_enter(node, arg);
}

void post_kernel(const c10::OperatorHandle&, torch::jit::Stack* stack) {
  c10::IValue out = torch::jit::pop(*stack);
  c10::IValue self = torch::jit::pop(*stack);
  const int node = node_of_self(self);
  if (node >= 0) active_forward->observer->on_exit(node, out);
}

// hint(self, x): `self` returned `x` without computing anything, so the trace kept no output for it
// (see add_pass_through_hints).
void hint_kernel(const c10::OperatorHandle&, torch::jit::Stack* stack) {
  c10::IValue x = torch::jit::pop(*stack);
  c10::IValue self = torch::jit::pop(*stack);
  const int node = x.isTensor() ? node_of_self(self) : -1;
  if (node >= 0) active_forward->observer->on_pass_through(node, x.toTensor());
}

// tap(self, x) -> x, the module's output as it returns, or what the observer hands on instead.
void tap_kernel(const c10::OperatorHandle&, torch::jit::Stack* stack) {
  c10::IValue x = torch::jit::pop(*stack);
  c10::IValue self = torch::jit::pop(*stack);
  const int node = x.isTensor() ? node_of_self(self) : -1;
  if (node >= 0) {
    at::Tensor replaced = active_forward->observer->on_tensor_return(node, x.toTensor());
    if (replaced.defined()) {
      torch::jit::push(*stack, std::move(replaced));
      return;
    }
  }
  torch::jit::push(*stack, std::move(x));
}

// CONSERVATIVE alias analysis marks the ops as having side effects, so dead-code elimination and
// code motion leave them alone (with FROM_SCHEMA the output-less post ops were removed).
TORCH_LIBRARY(cnnviz, m) {
  m.def(torch::schema("cnnviz::pre(Any self, Any arg) -> ()", c10::AliasAnalysisKind::CONSERVATIVE),
        torch::CppFunction::makeFromBoxedFunction<&pre_kernel>());
  m.def(torch::schema("cnnviz::post(Any self, Any out) -> ()", c10::AliasAnalysisKind::CONSERVATIVE),
        torch::CppFunction::makeFromBoxedFunction<&post_kernel>());
  m.def(torch::schema("cnnviz::tap(Any self, Tensor x) -> Tensor", c10::AliasAnalysisKind::CONSERVATIVE),
        torch::CppFunction::makeFromBoxedFunction<&tap_kernel>());
  m.def(torch::schema("cnnviz::hint(Any self, Tensor x) -> ()", c10::AliasAnalysisKind::CONSERVATIVE),
        torch::CppFunction::makeFromBoxedFunction<&hint_kernel>());
}

/// Installs a forward for the current thread for the lifetime of the guard.
class ActiveForwardScope {
 public:
  explicit ActiveForwardScope(ActiveForward& run) : previous_(active_forward) { active_forward = &run; }
  ~ActiveForwardScope() { active_forward = previous_; }
  ActiveForwardScope(const ActiveForwardScope&) = delete;
  ActiveForwardScope& operator=(const ActiveForwardScope&) = delete;

 private:
  ActiveForward* previous_;
};

/// Swaps every tensor held by the model's modules (parameters, buffers, tensor attributes) for an
/// empty tensor of the same shape on the `meta` device, and every dict and list attribute for a copy,
/// and swaps the originals back on destruction.
class MetaSwap {
 public:
  explicit MetaSwap(torch::jit::Module& root) {
    std::unordered_set<const c10::ivalue::Object*> done;
    for (const auto& named : root.named_modules()) {
      c10::intrusive_ptr<c10::ivalue::Object> obj = named.value._ivalue();
      if (!done.insert(obj.get()).second) continue;
      for (std::size_t i = 0; i < obj->slots().size(); ++i) {
        const c10::IValue& v = obj->getSlot(i);
        if (v.isGenericDict() || v.isList()) {
          // A cache the forward fills (torchvision's AnchorGenerator keeps anchors in a dict): the dry run
          // fills a copy, so no meta tensor is left behind for the real run.
          saved_.push_back({obj, i, v});
          obj->setSlot(i, v.isGenericDict() ? c10::IValue(v.toGenericDict().copy()) : c10::IValue(v.toList().copy()));
          continue;
        }
        if (!v.isTensor() || !v.toTensor().defined()) continue;
        saved_.push_back({obj, i, v});
        obj->setSlot(i, at::empty_like(v.toTensor(), at::TensorOptions().device(c10::kMeta)));
      }
    }
  }
  ~MetaSwap() {
    for (auto& s : saved_) s.object->setSlot(s.slot, std::move(s.value));
  }
  MetaSwap(const MetaSwap&) = delete;
  MetaSwap& operator=(const MetaSwap&) = delete;

 private:
  struct Saved {
    c10::intrusive_ptr<c10::ivalue::Object> object;
    std::size_t slot;
    c10::IValue value;
  };
  std::vector<Saved> saved_;
};

// A forward that takes a list of images (torchvision's detectors: forward(images: List[Tensor], ...))
// gets each --input batch as the list of its images, as the eager model iterates over a batch tensor.
void batches_to_image_lists(const torch::jit::Module& module, std::vector<c10::IValue>& inputs) {
  const auto& args = module.get_method("forward").function().getSchema().arguments();
  for (std::size_t i = 0; i < inputs.size() && i + 1 < args.size(); ++i) {
    const auto list = args[i + 1].type()->cast<c10::ListType>();
    if (!list || !list->getElementType()->isSubtypeOf(*c10::TensorType::get()) || !inputs[i].isTensor()) continue;
    const at::Tensor batch = inputs[i].toTensor();
    if (batch.dim() < 1) continue;
    c10::List<at::Tensor> images;
    for (const at::Tensor& image : batch.unbind(0)) images.push_back(image);
    inputs[i] = images;
  }
}

void check_forward_inputs(const torch::jit::Module& module, const std::string& path, std::size_t given) {
  const auto& schema = module.get_method("forward").function().getSchema();
  std::size_t required = 0, total = 0;
  std::string names;
  for (std::size_t i = 1; i < schema.arguments().size(); ++i) {  // skip self
    const auto& arg = schema.arguments()[i];
    ++total;
    if (!arg.default_value()) ++required;
    names += (names.empty() ? "" : ", ") + arg.name() + ": " + arg.type()->annotation_str();
  }
  if (given >= required && given <= total) return;
  const std::string expected = required == total ? std::to_string(total) : std::to_string(required) + " to " + std::to_string(total);
  throw Error(ErrorKind::kData, "'" + path + "' forward(" + names + ") takes " + expected + " input" +
                                    (total == 1 ? "" : "s") + " but " + std::to_string(given) +
                                    " --input " + (given == 1 ? "was" : "were") + " given; pass one --input per argument");
}

// torch.jit.trace keeps no output for a module that returns its input unchanged (nn.Identity, or
// StochasticDepth in eval mode): its forward becomes forward(self) -> None, called with no argument,
// and the caller goes on with the value it already had. That value is the last tensor computed before
// the call (`x = self.stochastic_depth(x)` right after x is made), or the forward's own input when
// nothing was computed before (`res = self.proj(x)`), so a hint op after the call gives the module
// that tensor as its input and output (torchinfo's shapes for such a row).
void add_pass_through_hints(torch::jit::Block* block, c10::Symbol hint) {
  for (torch::jit::Node* node : block->nodes()) {
    for (torch::jit::Block* inner : node->blocks()) add_pass_through_hints(inner, hint);
    // A module called again in a trace gets forward1, forward2, ...
    static const std::regex forward_name("forward([0-9]+|__[0-9]+)?");
    if (node->kind() != c10::prim::CallMethod || !std::regex_match(node->s(c10::attr::name), forward_name) || node->inputs().size() != 1 ||
        node->outputs().size() != 1 || node->output()->type()->kind() != c10::TypeKind::NoneType) {
      continue;
    }
    torch::jit::Value* last = nullptr;
    for (torch::jit::Node* prev = node->prev(); prev != block->param_node() && !last; prev = prev->prev()) {
      for (torch::jit::Value* out : prev->outputs()) {
        if (out->type()->isSubtypeOf(*c10::TensorType::get())) last = out;
      }
    }
    // Called first thing (`res = self.proj(x)` in MaxViT): what it passed on is the block's input.
    for (auto it = block->inputs().rbegin(); !last && it != block->inputs().rend(); ++it) {
      if ((*it)->type()->isSubtypeOf(*c10::TensorType::get())) last = *it;
    }
    if (!last) continue;
    torch::jit::WithInsertPoint after(node->next());
    block->owningGraph()->insert(hint, {node->input(0), last});
  }
}

void instrument_for_capture(torch::jit::Module& module) {
  static const std::regex forward_name("forward([0-9]+|__[0-9]+)?");
  const c10::Symbol pre = c10::Symbol::fromQualString("cnnviz::pre");
  const c10::Symbol post = c10::Symbol::fromQualString("cnnviz::post");
  const c10::Symbol tap = c10::Symbol::fromQualString("cnnviz::tap");
  const c10::Symbol hint = c10::Symbol::fromQualString("cnnviz::hint");
  std::unordered_set<const c10::ClassType*> done;
  for (const auto& named : module.named_modules()) {
    const c10::ClassTypePtr type = named.value.type();
    if (!done.insert(type.get()).second) continue;  // instances of one type share its graphs
    for (torch::jit::Function* fn : type->methods()) {
      if (!std::regex_match(fn->name(), forward_name)) continue;
      auto* graph_fn = dynamic_cast<torch::jit::GraphFunction*>(fn);
      if (!graph_fn) continue;
      std::shared_ptr<torch::jit::Graph> graph = graph_fn->graph();
      torch::jit::Value* self = graph->inputs().at(0);
      {
        torch::jit::WithInsertPoint at_start(*graph->nodes().begin());
        torch::jit::Value* arg = graph->inputs().size() > 1 ? graph->inputs()[1] : graph->insertConstant(c10::IValue());
        graph->insert(pre, {self, arg});
      }
      {
        torch::jit::WithInsertPoint at_return(graph->return_node());
        torch::jit::Value* out = graph->outputs().at(0);
        if (out->type()->isSubtypeOf(*c10::TensorType::get())) {
          out = graph->insert(tap, {self, out});
          graph->return_node()->replaceInput(0, out);
        }
        graph->insert(post, {self, out});
      }
      add_pass_through_hints(graph->block(), hint);
    }
  }
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
      add_missing_torchvision_autograd();
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

class TorchScriptRuntime : public ModelRuntime {
 public:
  TorchScriptRuntime(std::string path, torch::jit::Module module) : path_(std::move(path)), module_(std::move(module)) {
    tree_ = build_module_tree(module_, modules_, node_of_);
    instrument_for_capture(module_);
  }

  const ModuleTree& tree() const override { return tree_; }

  void check_input_count(std::size_t given) const override { check_forward_inputs(module_, path_, given); }
  bool takes_image_list() const override {
    const auto& args = module_.get_method("forward").function().getSchema().arguments();
    if (args.size() < 2) return false;
    const auto list = args[1].type()->cast<c10::ListType>();
    return list && list->getElementType()->isSubtypeOf(*c10::TensorType::get());
  }

  at::Tensor parameter(int node, const std::string& name) const override {
    const torch::jit::Module& m = modules_.at(static_cast<std::size_t>(node));
    if (!m.hasattr(name) || !m.attr(name).isTensor()) return {};
    return m.attr(name).toTensor();
  }

  std::optional<double> number(int node, const std::string& name) const override {
    const torch::jit::Module& m = modules_.at(static_cast<std::size_t>(node));
    if (m.hasattr(name) && m.attr(name).isDouble()) return m.attr(name).toDouble();  // scripted: a constant of the class
    // Traced: only a constant argument `name` of an operator in the module's forward (batch_norm's eps).
    if (!m.find_method("forward")) return std::nullopt;
    for (const torch::jit::Node* n : m.get_method("forward").graph()->nodes()) {
      const c10::FunctionSchema* schema = n->maybeSchema();
      if (!schema) continue;
      const auto index = schema->argumentIndexWithName(name);  // c10::optional before LibTorch 2.4
      if (!index || static_cast<std::size_t>(*index) >= n->inputs().size()) continue;
      const auto value = torch::jit::toIValue(n->inputs()[static_cast<std::size_t>(*index)]);
      if (value && value->isDouble()) return value->toDouble();
    }
    return std::nullopt;
  }

  c10::IValue forward(std::vector<c10::IValue> inputs, CallObserver* observer) override {
    batches_to_image_lists(module_, inputs);
    ActiveForward run{&node_of_, observer};
    ActiveForwardScope scope(run);
    return module_.forward(std::move(inputs));
  }

  void with_meta_weights(const std::function<void()>& body) override {
    MetaSwap swap(module_);
    body();
  }

 private:
  std::string path_;
  torch::jit::Module module_;
  ModuleTree tree_;
  std::vector<torch::jit::Module> modules_;  // the module of each ModuleTree node
  // Live module object -> ModuleTree node, for the capture ops (which receive `self`).
  std::unordered_map<const c10::ivalue::Object*, int> node_of_;
};

}  // namespace

std::unique_ptr<ModelRuntime> load_torchscript(const InputFile& file, ZipArchive& zip, const std::function<c10::Device()>& resolve_device,
                                               ModelFileInfo& info, std::vector<std::string>& warnings) {
  const std::string& path = file.path();
  // Check the archive ourselves first: LibTorch's own messages for non-archives are cryptic, and a
  // malformed archive is better refused before LibTorch's parser sees it (a .pt file is code).
  const ArchiveInfo archive = preflight_archive(zip, libtorch_version());
  check_class_constants(path, archive);
  info.format_version = archive.format_version;
  info.file_bytes = file.size();
  const c10::Device device = resolve_device();

  // cnnviz runs each model a few times at most: skip the profiling executor's specialisation, which
  // costs more than it saves here and would specialise on the meta-device dry run.
  torch::jit::setGraphExecutorOptimize(false);
  WarningCollector collect(warnings);
  torch::jit::Module module;
  {
    // Storage bounds can only be checked on a CPU load (load_checks.h). For another device, LibTorch
    // copies each storage there inside torch::jit::load, reading past a short buffer before anything
    // could check it; so the file is loaded and checked on the CPU first, then loaded to the device.
    LoadAllocationRecorder record_buffers;
    module = torch_load(path, file.open_name(), c10::Device(c10::kCPU));
    inspect(path, [&] { check_storage_bounds(path, module); });
  }
  if (!device.is_cpu()) {
    module = torch::jit::Module();  // free the CPU copy first
    module = torch_load(path, file.open_name(), device);
  }
  std::unique_ptr<ModelRuntime> runtime;
  inspect(path, [&] { runtime = std::make_unique<TorchScriptRuntime>(path, std::move(module)); });
  return runtime;
}

}  // namespace cnnviz
