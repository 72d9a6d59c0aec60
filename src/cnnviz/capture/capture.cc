// Per-module capture for TorchScript models.
//
// LibTorch has no forward hooks for loaded TorchScript modules (pytorch/pytorch#25888, #86818), so
// cnnviz rewrites each module type's forward graphs once, right after load, to call custom ops:
// cnnviz::pre(self, first_arg) on entry and cnnviz::post(self, output) before returning (with
// cnnviz::tap(self, output) before it when the output is a tensor). The ops look up
// `self` in the model's object -> node map and report to the recorder active on this thread. The
// capture itself only records calls, shapes and copies of chosen outputs; what a feature needs beyond
// that it asks through a ReturnHook (capture/forward_run.h), which the tap op calls. See
// docs/architecture.md for the design and its traps.

#include "cnnviz/capture.h"

#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/jit/api/function_impl.h>
#include <torch/csrc/jit/ir/ir.h>

#include <algorithm>
#include <regex>
#include <unordered_set>

#include "cnnviz/error.h"
#include "cnnviz/memory_guard.h"
#include "capture/forward_run.h"
#include "model/meta_kernels.h"
#include "model/model_impl.h"

namespace cnnviz {

// torchinfo's shape rule: LayerInfo.calculate_size / nested_list_size.
const at::Tensor* first_tensor(const c10::IValue& v, bool whole_output) {
  if (v.isTensor()) return &v.toTensor();
  if (v.isTuple()) {
    const auto& elems = v.toTupleRef().elements();
    return elems.empty() ? nullptr : first_tensor(elems[0], false);
  }
  if (v.isList()) {
    const auto list = v.toListRef();
    return list.empty() ? nullptr : first_tensor(list[0], false);
  }
  if (v.isGenericDict()) {
    const auto dict = v.toGenericDict();
    if (dict.empty()) return nullptr;
    if (!whole_output) return first_tensor(dict.begin()->value(), false);
    const c10::IValue* last = nullptr;
    for (const auto& entry : dict) last = &entry.value();
    return first_tensor(*last, false);
  }
  return nullptr;
}

namespace {

/// Collects the calls of one forward pass; installed thread-locally around it.
struct Recorder {
  const std::unordered_map<const c10::ivalue::Object*, int>* node_of = nullptr;
  std::vector<ModuleCall> calls;
  std::vector<int> open;                  // indices into calls of the calls still running
  int returned = 0;                       // calls that have returned so far
  std::unordered_set<int> keep;           // nodes whose output is copied
  std::map<int, FloatArray> outputs;      // the copies
  std::vector<ReturnHook*> hooks;         // the features' views of module returns (tap_kernel)
  bool input_as_leaf = false;             // the model's first input becomes an autograd leaf
  at::Tensor input_leaf;                  // that leaf
};

thread_local Recorder* active_recorder = nullptr;

std::vector<int64_t> shape_of(const at::Tensor* t) {
  if (!t || !t->defined()) return {};
  return t->sizes().vec();
}

void pre_kernel(const c10::OperatorHandle&, torch::jit::Stack* stack) {
  c10::IValue arg = torch::jit::pop(*stack);
  c10::IValue self = torch::jit::pop(*stack);
  Recorder* rec = active_recorder;
  if (!rec || !self.isObject()) return;
  auto it = rec->node_of->find(&self.toObjectRef());
  if (it == rec->node_of->end()) return;
  ModuleCall call;
  call.node = it->second;
  call.input_shape = shape_of(first_tensor(arg, false));
  rec->open.push_back(static_cast<int>(rec->calls.size()));
  rec->calls.push_back(std::move(call));
}

void post_kernel(const c10::OperatorHandle&, torch::jit::Stack* stack) {
  c10::IValue out = torch::jit::pop(*stack);
  c10::IValue self = torch::jit::pop(*stack);
  Recorder* rec = active_recorder;
  if (!rec || !self.isObject() || rec->open.empty()) return;
  auto it = rec->node_of->find(&self.toObjectRef());
  if (it == rec->node_of->end()) return;
  ModuleCall& call = rec->calls[static_cast<std::size_t>(rec->open.back())];
  rec->open.pop_back();
  const at::Tensor* t = first_tensor(out, true);
  call.output_shape = shape_of(t);
  call.output_elem_bytes = t && t->defined() ? static_cast<int64_t>(t->element_size()) : 0;
  call.finished = true;
  call.finish_order = rec->returned++;
  if (t && t->defined() && rec->keep.count(call.node) && !rec->outputs.count(call.node)) {
    rec->outputs.emplace(call.node, to_float_array(*t));
  }
}

// hint(self, x): `self` returned `x` without computing anything, so the trace kept no output for it
// (see instrument_for_capture): x is its output and its input, set on its last call if that has none.
void hint_kernel(const c10::OperatorHandle&, torch::jit::Stack* stack) {
  c10::IValue x = torch::jit::pop(*stack);
  c10::IValue self = torch::jit::pop(*stack);
  Recorder* rec = active_recorder;
  if (!rec || !self.isObject() || !x.isTensor()) return;
  auto it = rec->node_of->find(&self.toObjectRef());
  if (it == rec->node_of->end()) return;
  for (auto call = rec->calls.rbegin(); call != rec->calls.rend(); ++call) {
    if (call->node != it->second) continue;
    if (call->finished && call->output_shape.empty() && call->input_shape.empty()) {
      const at::Tensor& t = x.toTensor();
      call->input_shape = call->output_shape = t.sizes().vec();
      call->output_elem_bytes = static_cast<int64_t>(t.element_size());
    }
    return;
  }
}

// tap(self, x) -> x, the module's output as it returns, or what the recorder's hooks hand on instead
// (ReturnHook: the features' business, not the capture's).
void tap_kernel(const c10::OperatorHandle&, torch::jit::Stack* stack) {
  c10::IValue x = torch::jit::pop(*stack);
  c10::IValue self = torch::jit::pop(*stack);
  Recorder* rec = active_recorder;
  if (rec && !rec->hooks.empty() && self.isObject() && x.isTensor()) {
    auto it = rec->node_of->find(&self.toObjectRef());
    if (it != rec->node_of->end()) {
      at::Tensor t = x.toTensor();
      for (ReturnHook* hook : rec->hooks) {
        at::Tensor replaced = hook->on_return(it->second, t);
        if (replaced.defined()) t = std::move(replaced);
      }
      torch::jit::push(*stack, std::move(t));
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

/// Installs a recorder for the current thread for the lifetime of the guard.
class RecorderScope {
 public:
  explicit RecorderScope(Recorder& rec) : previous_(active_recorder) { active_recorder = &rec; }
  ~RecorderScope() { active_recorder = previous_; }
  RecorderScope(const RecorderScope&) = delete;
  RecorderScope& operator=(const RecorderScope&) = delete;

 private:
  Recorder* previous_;
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

std::vector<c10::IValue> make_inputs(const std::vector<InputSpec>& specs, const std::vector<FloatArray>& data,
                                     c10::Device device) {
  std::vector<c10::IValue> inputs;
  if (!data.empty() && !device.is_meta()) {
    for (const auto& d : data) {
      FloatArray copy = d;  // from_blob does not own its memory
      inputs.emplace_back(at::from_blob(copy.values.data(), copy.shape, at::kFloat).clone().to(device));
    }
    return inputs;
  }
  for (const auto& spec : specs) {
    // torchinfo: torch.rand(*size).type(dtype), which makes int64 inputs all zeros.
    at::Tensor t;
    if (spec.dtype == DType::kInt64) {
      t = at::zeros(spec.shape, at::TensorOptions().dtype(at::kLong).device(device));
    } else if (device.is_meta()) {
      t = at::empty(spec.shape, at::TensorOptions().dtype(at::kFloat).device(device));
    } else {
      t = at::rand(spec.shape, at::TensorOptions().dtype(at::kFloat).device(device));
    }
    switch (spec.dtype) {
      case DType::kFloat16: t = t.to(at::kHalf); break;
      case DType::kFloat64: t = t.to(at::kDouble); break;
      default: break;
    }
    inputs.emplace_back(std::move(t));
  }
  return inputs;
}

// A forward that takes a list of images (torchvision's detectors: forward(images: List[Tensor], ...))
// gets each --input batch as the list of its images, as the eager model iterates over a batch tensor.
void batches_to_image_lists(const Model::Impl& impl, std::vector<c10::IValue>& inputs) {
  const auto& args = impl.module.get_method("forward").function().getSchema().arguments();
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

void check_input_count(const Model::Impl& impl, std::size_t given) {
  const auto& schema = impl.module.get_method("forward").function().getSchema();
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
  throw Error(ErrorKind::kData, "'" + impl.file.path + "' forward(" + names + ") takes " + expected + " input" +
                                    (total == 1 ? "" : "s") + " but " + std::to_string(given) +
                                    " --input " + (given == 1 ? "was" : "were") + " given; pass one --input per argument");
}

std::string describe_node(const ModuleTree& tree, int node) {
  const ModuleNode& n = tree.nodes[static_cast<std::size_t>(node)];
  return (n.path.empty() ? n.class_name : n.path) + " (" + n.class_name + ")";
}

/// Runs forward once with `rec` installed. An exception becomes Error(kResource) when it is an
/// out-of-memory failure, else Error(kExecution) naming the module it failed in and the last one that
/// finished.
c10::IValue run_recorded(Model::Impl& impl, const CaptureOptions& options, c10::Device device, Recorder& rec) {
  rec.node_of = &impl.node_of;
  WarningCollector collect(impl.warnings);
  try {
    torch::NoGradGuard no_grad;  // a hook may turn autograd on from a module's return (the CAMs' leaf)
    std::vector<c10::IValue> inputs = make_inputs(options.inputs, options.input_data, device);
    batches_to_image_lists(impl, inputs);
    if (rec.input_as_leaf && !inputs.empty() && inputs[0].isTensor()) {
      rec.input_leaf = inputs[0].toTensor().requires_grad_(true);
      at::GradMode::set_enabled(true);  // for this forward only: the guard above restores the mode
    }
    RecorderScope scope(rec);
    return impl.module.forward(std::move(inputs));
  } catch (const std::exception& e) {
    std::string where, last;
    if (!rec.open.empty()) where = " in " + describe_node(impl.tree, rec.calls[static_cast<std::size_t>(rec.open.back())].node);
    for (auto it = rec.calls.rbegin(); it != rec.calls.rend(); ++it) {
      if (it->finished) {
        last = "; executed layers up to " + describe_node(impl.tree, it->node);
        break;
      }
    }
    const std::string message = torch_error_message(e);
    if (dynamic_cast<const std::bad_alloc*>(&e) || message.find("not enough memory") != std::string::npos ||
        message.find("out of memory") != std::string::npos) {
      throw Error(ErrorKind::kResource, "the forward pass of '" + impl.file.path + "' ran out of memory" + where + ": " +
                                            message + "; use a smaller --input or a lower --max-memory so the guard refuses it");
    }
    throw Error(ErrorKind::kExecution, "the forward pass of '" + impl.file.path + "' failed" + where + ": " + message +
                                           last + "; check --input and --dtype");
  }
}

int64_t inputs_bytes(const std::vector<InputSpec>& specs) {
  int64_t total = 0;
  for (const auto& s : specs) {
    int64_t bytes = 0;
    if (__builtin_mul_overflow(shape_numel(s.shape), dtype_size(s.dtype), &bytes) ||
        __builtin_add_overflow(total, bytes, &total)) {
      return std::numeric_limits<int64_t>::max();
    }
  }
  return total;
}

std::string describe_inputs(const std::vector<InputSpec>& specs) {
  std::string s;
  for (const auto& spec : specs) {
    if (!s.empty()) s += " and ";
    for (std::size_t i = 0; i < spec.shape.size(); ++i) {
      if (i) s += ',';
      s += std::to_string(spec.shape[i]);
    }
  }
  return "input " + s;
}

}  // namespace

namespace {

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

}  // namespace

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

// The memory guard: refuses inputs that cannot fit, then dry-runs the model on the meta device
// (shapes without data) and refuses when inputs + every leaf's output (+ copies of kept outputs)
// exceed options.max_memory_bytes. Returns the estimate; adds a note when no dry run was possible.
// Estimate: the inputs plus every leaf module's output (an upper bound for a no-grad forward, which frees
// intermediate outputs), plus a copy of each kept output. For a gradient run (`gradient_from` >= 0) the
// leaf outputs from that node's first call on count twice: autograd keeps them for the backward pass,
// which makes a gradient of the same size.
// `extra_bytes`: memory the caller holds besides the run (e.g. preprocessing buffers), added to both checks.
static int64_t guard_memory(Model::Impl& impl, const CaptureOptions& options, std::vector<std::string>& notes,
                            int gradient_from = -1, int64_t extra_bytes = 0) {
  // The inputs alone may not fit: refuse before allocating them, even on the meta device.
  int64_t input_bytes = inputs_bytes(options.inputs);
  if (__builtin_add_overflow(input_bytes, std::max<int64_t>(extra_bytes, 0), &input_bytes)) input_bytes = std::numeric_limits<int64_t>::max();
  const std::string inputs = describe_inputs(options.inputs) + (extra_bytes > 0 ? " with its preprocessing" : "");
  if (options.max_memory_bytes > 0) check_memory(input_bytes, options.max_memory_bytes, inputs);
  int64_t estimated = input_bytes;
  if (!impl.tree.frozen) {
    try {
      ensure_meta_kernels();
      Recorder dry;
      MetaSwap swap(impl.module);
      run_recorded(impl, options, c10::Device(c10::kMeta), dry);
      std::unordered_set<int> kept;
      bool in_backward = false;
      for (const ModuleCall& call : dry.calls) {
        in_backward = in_backward || call.node == gradient_from;
        const bool copied = std::count(options.keep_outputs.begin(), options.keep_outputs.end(), call.node) &&
                            kept.insert(call.node).second;
        const bool leaf = impl.tree.nodes[static_cast<std::size_t>(call.node)].is_leaf;
        const int64_t copies = (leaf ? (in_backward ? 2 : 1) : 0) + (copied ? 1 : 0);
        int64_t bytes = 0;
        if (__builtin_mul_overflow(shape_numel(call.output_shape), call.output_elem_bytes * copies, &bytes) ||
            __builtin_add_overflow(estimated, bytes, &estimated)) {
          estimated = std::numeric_limits<int64_t>::max();
        }
      }
    } catch (const std::exception& e) {
      // Some ops have no meta kernel, and traced files may hold CPU tensor constants.
      notes.push_back("no memory estimate beyond the inputs: the model does not run on PyTorch's meta device (" +
                      torch_error_message(e).substr(0, 300) + ")");
    }
  }
  if (options.max_memory_bytes > 0) {
    check_memory(estimated, options.max_memory_bytes, "running '" + impl.file.path + "' on " + inputs);
  }
  return estimated;
}

int64_t check_capture_memory(Model& model, const CaptureOptions& options, int64_t extra_bytes, int gradient_from) {
  Model::Impl& impl = model.impl();
  check_input_count(impl, options.inputs.size());
  std::vector<std::string> notes;  // capture_module_calls reports them when it runs
  return guard_memory(impl, options, notes, gradient_from, extra_bytes);
}

CaptureResult capture_module_calls(Model& model, const CaptureOptions& options) {
  Model::Impl& impl = model.impl();
  check_input_count(impl, options.inputs.size());
  CaptureResult result;
  result.estimated_bytes = guard_memory(impl, options, result.notes);

  Recorder rec;
  rec.keep.insert(options.keep_outputs.begin(), options.keep_outputs.end());
  run_recorded(impl, options, impl.device, rec);
  result.calls = std::move(rec.calls);
  result.outputs = std::move(rec.outputs);
  for (const auto& w : impl.warnings) result.notes.push_back("the model warned: " + w);
  return result;
}

}  // namespace cnnviz

namespace cnnviz {

ForwardRun run_forward(Model::Impl& impl, const CaptureOptions& options, const ForwardRequest& request) {
  check_input_count(impl, options.inputs.size());
  ForwardRun run;
  if (options.max_memory_bytes > 0) guard_memory(impl, options, run.notes, request.gradient_from);
  Recorder rec;
  rec.hooks = request.hooks;
  rec.input_as_leaf = request.input_as_leaf;
  run.output = run_recorded(impl, options, impl.device, rec);
  run.input_leaf = rec.input_leaf;
  run.calls = std::move(rec.calls);
  return run;
}

at::Tensor gradient_of(const at::Tensor& score, const at::Tensor& leaf, const std::string& no_path, const std::string& backward,
                       bool retain_graph) {
  if (!score.defined() || !score.requires_grad() || !leaf.defined()) throw Error(ErrorKind::kModel, no_path);
  at::Tensor g;
  try {
    g = torch::autograd::grad({score}, {leaf}, /*grad_outputs=*/{}, retain_graph, /*create_graph=*/false, /*allow_unused=*/true)[0];
  } catch (const std::exception& e) {
    throw Error(ErrorKind::kExecution, backward + " failed: " + torch_error_message(e));
  }
  if (!g.defined()) throw Error(ErrorKind::kModel, no_path);
  return g;
}

Error layer_did_not_run(const Model::Impl& impl, int node) {
  const ModuleNode& n = impl.tree.nodes.at(static_cast<std::size_t>(node));
  return Error(ErrorKind::kModel, "layer '" + n.path + "' (" + n.class_name + ") of '" + impl.file.path +
                                      "' did not run for this input or does not return a tensor; pick another --layer");
}

at::Tensor run_plain_forward(Model::Impl& impl, const at::Tensor& input, int64_t max_memory_bytes,
                             std::vector<std::string>* notes) {
  Recorder rec;
  CaptureOptions options;
  options.inputs = {InputSpec{input.sizes().vec(), DType::kFloat32}};
  options.max_memory_bytes = max_memory_bytes;
  if (max_memory_bytes > 0) {
    std::vector<std::string> ignored;
    guard_memory(impl, options, notes ? *notes : ignored);
  }
  const at::Tensor cpu = input.to(at::kCPU, at::kFloat).contiguous();
  options.input_data = {FloatArray{cpu.sizes().vec(), std::vector<float>(cpu.data_ptr<float>(), cpu.data_ptr<float>() + cpu.numel())}};
  const c10::IValue out = run_recorded(impl, options, impl.device, rec);
  const at::Tensor* t = first_tensor(out, true);
  if (!t) throw Error(ErrorKind::kData, "the output of '" + impl.file.path + "' is not a tensor");
  return *t;
}

}  // namespace cnnviz
