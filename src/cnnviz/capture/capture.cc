// The capture core: one forward of a model's runtime with a Recorder observing its module calls.
// It records calls, shapes and copies of chosen outputs, and runs the memory guard's meta-device dry
// run; what a feature needs beyond that it asks through a ReturnHook (capture/forward_run.h), which the
// Recorder calls as each module returns. Nothing here knows a file format (model/model_runtime.h) or a
// feature. See docs/architecture.md for the design and its traps.

#include "cnnviz/capture.h"

#include <ATen/record_function.h>

#include <map>
#include <optional>

#include "cnnviz/flop_count.h"

#include <torch/csrc/autograd/autograd.h>

#include <algorithm>
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

std::vector<int64_t> shape_of(const at::Tensor* t) {
  if (!t || !t->defined()) return {};
  return t->sizes().vec();
}

/// Collects the calls of one forward pass, and hands each module's output to the features' hooks.
struct Recorder : CallObserver {
  std::vector<ModuleCall> calls;
  std::vector<int> open;                  // indices into calls of the calls still running
  int returned = 0;                       // calls that have returned so far
  std::unordered_set<int> keep;           // nodes whose output is copied
  std::map<int, FloatArray> outputs;      // the copies
  std::vector<ReturnHook*> hooks;         // the features' views of module returns
  bool input_as_leaf = false;             // the model's first input becomes an autograd leaf
  at::Tensor input_leaf;                  // that leaf

  void on_enter(int node, const c10::IValue& first_arg) override {
    ModuleCall call;
    call.node = node;
    call.input_shape = shape_of(first_tensor(first_arg, false));
    open.push_back(static_cast<int>(calls.size()));
    calls.push_back(std::move(call));
  }

  at::Tensor on_tensor_return(int node, const at::Tensor& x) override {
    at::Tensor t;
    for (ReturnHook* hook : hooks) {
      at::Tensor replaced = hook->on_return(node, t.defined() ? t : x);
      if (replaced.defined()) t = std::move(replaced);
    }
    return t;
  }

  // An ATen operator's FLOPs belong to every call running when it ran.
  void add_flops(int64_t flops) {
    for (int i : open) calls[static_cast<std::size_t>(i)].flops += flops;
  }

  void on_exit(int node, const c10::IValue& out) override {
    for (ReturnHook* hook : hooks) hook->on_output(node, out);
    if (open.empty()) return;
    ModuleCall& call = calls[static_cast<std::size_t>(open.back())];
    open.pop_back();
    const at::Tensor* t = first_tensor(out, true);
    call.output_shape = shape_of(t);
    call.output_elem_bytes = t && t->defined() ? static_cast<int64_t>(t->element_size()) : 0;
    call.finished = true;
    call.finish_order = returned++;
    if (t && t->defined() && keep.count(node) && !outputs.count(node)) outputs.emplace(node, to_float_array(*t));
  }

  // The module's last call, if it kept no shapes, gets `x` as its input and output (torchinfo's
  // shapes for a traced nn.Identity's row).
  void on_pass_through(int node, const at::Tensor& x) override {
    for (auto call = calls.rbegin(); call != calls.rend(); ++call) {
      if (call->node != node) continue;
      if (call->finished && call->output_shape.empty() && call->input_shape.empty()) {
        call->input_shape = call->output_shape = x.sizes().vec();
        call->output_elem_bytes = static_cast<int64_t>(x.element_size());
      }
      return;
    }
  }
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

std::string describe_node(const ModuleTree& tree, int node) {
  const ModuleNode& n = tree.nodes[static_cast<std::size_t>(node)];
  return (n.path.empty() ? n.class_name : n.path) + " (" + n.class_name + ")";
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

/// Runs forward once with `rec` installed. An exception becomes Error(kResource) when it is an
/// out-of-memory failure, else Error(kExecution) naming the module it failed in and the last one that
/// finished.
c10::IValue run_recorded(Model::Impl& impl, const CaptureOptions& options, c10::Device device, Recorder& rec) {
  WarningCollector collect(impl.warnings);
  try {
    torch::NoGradGuard no_grad;  // a hook may turn autograd on from a module's return (the CAMs' leaf)
    std::vector<c10::IValue> inputs = make_inputs(options.inputs, options.input_data, device);
    if (rec.input_as_leaf && !inputs.empty() && inputs[0].isTensor()) {
      rec.input_leaf = inputs[0].toTensor().requires_grad_(true);
      at::GradMode::set_enabled(true);  // for this forward only: the guard above restores the mode
    }
    return impl.runtime->forward(std::move(inputs), &rec);
  } catch (const std::exception& e) {
    std::string where, last;
    if (!rec.open.empty()) where = " in " + describe_node(impl.tree(), rec.calls[static_cast<std::size_t>(rec.open.back())].node);
    for (auto it = rec.calls.rbegin(); it != rec.calls.rend(); ++it) {
      if (it->finished) {
        last = "; executed layers up to " + describe_node(impl.tree(), it->node);
        break;
      }
    }
    const std::string message = torch_error_message(e);
    if (dynamic_cast<const std::bad_alloc*>(&e) || message.find("not enough memory") != std::string::npos ||
        message.find("out of memory") != std::string::npos) {
      throw Error(ErrorKind::kResource, "the forward pass of '" + impl.file.path + "' ran out of memory" + where + ": " +
                                            message + "; use a smaller --input or a lower --max-memory so the guard refuses it");
    }
    // A torch.export program fixes the shapes it was exported at unless told otherwise (dynamic_shapes).
    const std::vector<InputSpec>& exported = impl.file.example_inputs;
    const bool other_shape = !exported.empty() && (exported.size() != options.inputs.size() ||
        !std::equal(exported.begin(), exported.end(), options.inputs.begin(),
                    [](const InputSpec& a, const InputSpec& b) { return a.shape == b.shape && a.dtype == b.dtype; }));
    const std::string hint = other_shape ? "; the program was exported at " + describe_inputs(exported) +
                                               " and torch.export fixes shapes unless given dynamic_shapes: run it there (no --input) or export it again"
                                         : "; check --input and --dtype";
    throw Error(ErrorKind::kExecution, "the forward pass of '" + impl.file.path + "' failed" + where + ": " + message + last + hint);
  }
}

// fvcore's FLOPs of the operators one forward runs, seen through PyTorch's RecordFunction callbacks on
// this thread: every dispatcher call of a TorchScript interpreter or a .pt2 runtime passes through
// them. Only outermost operators count (aten::linear, not the aten::addmm it calls), as fvcore's traced
// graph shows them.
struct FlopTally {
  Recorder* rec = nullptr;
  int depth = 0;
  int64_t total = 0;
  std::map<std::string, int64_t> uncounted;
  std::string name;            // the outermost operator running
  std::vector<OpArg> inputs;   // its inputs
  std::size_t returns = 0;     // how many results its schema has
};
thread_local FlopTally* flop_tally = nullptr;

OpArg op_arg(const c10::IValue& v) {
  OpArg a;
  if (v.isTensor()) {
    if (v.toTensor().defined()) {
      a.kind = OpArg::Kind::kTensor;
      a.shape = v.toTensor().sizes().vec();
    }
  } else if (v.isBool()) {
    a.kind = OpArg::Kind::kBool;
    a.flag = v.toBool();
  } else if (v.isString()) {
    a.kind = OpArg::Kind::kString;
    a.text = v.toStringRef();
  } else if (v.isTensorList()) {
    a.kind = OpArg::Kind::kTensorList;
    for (const at::Tensor& t : v.toTensorVector()) a.shapes.push_back(t.sizes().vec());
  }
  return a;
}

// PyTorch gives the inputs to start callbacks only: the outermost call's are kept until it ends.
std::unique_ptr<at::ObserverContext> flop_start(const at::RecordFunction& fn) {
  if (!flop_tally || flop_tally->depth++ != 0) return nullptr;
  flop_tally->name = fn.name();
  flop_tally->inputs.clear();
  if (flop_tally->name.rfind("aten::", 0) == 0) {
    // A boxed call (TorchScript's interpreter) hands over its whole stack: the arguments are its top.
    c10::ArrayRef<const c10::IValue> args = fn.inputs();
    flop_tally->returns = 0;
    if (const auto schema = fn.operator_schema(); schema && schema->arguments().size() <= args.size()) {
      args = args.slice(args.size() - schema->arguments().size());
      flop_tally->returns = schema->returns().size();
    }
    for (const c10::IValue& v : args) flop_tally->inputs.push_back(op_arg(v));
  }
  return nullptr;
}

void flop_end(const at::RecordFunction& fn, at::ObserverContext*) {
  if (!flop_tally || --flop_tally->depth != 0) return;
  const std::string& name = flop_tally->name;
  if (name.rfind("aten::", 0) != 0) return;  // cnnviz's own taps, prim:: ops
  // The same for the results: the top of the stack.
  const auto& results = fn.outputs();
  const std::size_t first = results.size() >= flop_tally->returns ? results.size() - flop_tally->returns : 0;
  std::vector<OpArg> out;
  for (std::size_t i = first; i < results.size(); ++i) out.push_back(op_arg(results[i]));
  const OpFlops counted = fvcore_flops(name, flop_tally->inputs, out);
  if (counted.status == OpCounted::kUncounted) {
    ++flop_tally->uncounted[name];
  } else if (counted.flops) {
    flop_tally->total += counted.flops;
    flop_tally->rec->add_flops(counted.flops);
  }
}

// Counts while alive.
class FlopScope {
 public:
  explicit FlopScope(FlopTally& tally) {
    flop_tally = &tally;
    handle_ = at::addThreadLocalCallback(
        at::RecordFunctionCallback(&flop_start, &flop_end).needsInputs(true).needsOutputs(true).scopes({at::RecordScope::FUNCTION}));
  }
  ~FlopScope() {
    at::removeCallback(handle_);
    flop_tally = nullptr;
  }
  FlopScope(const FlopScope&) = delete;
  FlopScope& operator=(const FlopScope&) = delete;

 private:
  at::CallbackHandle handle_;
};

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


}  // namespace

// The memory guard: refuses inputs that cannot fit, then dry-runs the model on the meta device
// (shapes without data) and refuses when inputs + every leaf's output (+ copies of kept outputs)
// exceed options.max_memory_bytes. Returns the estimate; adds a note when no dry run was possible.
// Estimate: the inputs plus every leaf module's output (an upper bound for a no-grad forward, which frees
// intermediate outputs), plus a copy of each kept output. For a gradient run (`gradient_from` >= 0) the
// leaf outputs from that node's first call on count twice: autograd keeps them for the backward pass,
// which makes a gradient of the same size.
// `extra_bytes`: memory the caller holds besides the run (e.g. preprocessing buffers), added to both checks.
static MemoryCheck guard_memory(Model::Impl& impl, const CaptureOptions& options, int gradient_from = -1, int64_t extra_bytes = 0) {
  MemoryCheck check;
  // The inputs alone may not fit: refuse before allocating them, even on the meta device.
  int64_t input_bytes = inputs_bytes(options.inputs);
  if (__builtin_add_overflow(input_bytes, std::max<int64_t>(extra_bytes, 0), &input_bytes)) input_bytes = std::numeric_limits<int64_t>::max();
  const std::string inputs = describe_inputs(options.inputs) + (extra_bytes > 0 ? " with its preprocessing" : "");
  if (options.max_memory_bytes > 0) check_memory(input_bytes, options.max_memory_bytes, inputs);
  int64_t& estimated = check.estimated_bytes;
  estimated = input_bytes;
  if (!impl.tree().frozen) {
    try {
      ensure_meta_kernels();
      Recorder dry;
      // At the shapes a .pt2 was exported with, its record says what the meta run would.
      check.recorded = impl.runtime->replay_recorded(options.inputs, dry);
      if (!check.recorded) impl.runtime->with_meta_weights([&] { run_recorded(impl, options, c10::Device(c10::kMeta), dry); });
      std::unordered_set<int> kept;
      bool in_backward = false;
      for (const ModuleCall& call : dry.calls) {
        in_backward = in_backward || call.node == gradient_from;
        const bool copied = std::count(options.keep_outputs.begin(), options.keep_outputs.end(), call.node) &&
                            kept.insert(call.node).second;
        const bool leaf = impl.tree().nodes[static_cast<std::size_t>(call.node)].is_leaf;
        const int64_t copies = (leaf ? (in_backward ? 2 : 1) : 0) + (copied ? 1 : 0);
        int64_t bytes = 0;
        if (__builtin_mul_overflow(shape_numel(call.output_shape), call.output_elem_bytes * copies, &bytes) ||
            __builtin_add_overflow(estimated, bytes, &estimated)) {
          estimated = std::numeric_limits<int64_t>::max();
        }
      }
      check.calls = std::move(dry.calls);
    } catch (const std::exception& e) {
      // Some ops have no meta kernel, and traced files may hold CPU tensor constants.
      check.notes.push_back("no memory estimate beyond the inputs: the model does not run on PyTorch's meta device (" +
                      torch_error_message(e).substr(0, 300) + ")");
    }
  }
  if (options.max_memory_bytes > 0) {
    check_memory(estimated, options.max_memory_bytes, "running '" + impl.file.path + "' on " + inputs);
  }
  return check;
}

MemoryCheck check_capture_memory(Model& model, const CaptureOptions& options, int64_t extra_bytes, int gradient_from) {
  Model::Impl& impl = model.impl();
  impl.runtime->check_input_count(options.inputs.size());
  return guard_memory(impl, options, gradient_from, extra_bytes);
}

CaptureResult capture_module_calls(Model& model, const CaptureOptions& options) {
  Model::Impl& impl = model.impl();
  impl.runtime->check_input_count(options.inputs.size());
  CaptureResult result;
  // Shapes are all that is asked for: the file's record of them, where it has one, is the answer.
  const bool shapes_only = options.use_recorded_shapes && !options.count_flops && options.keep_outputs.empty() && options.input_data.empty();
  if (options.dry_run) {
    MemoryCheck check = guard_memory(impl, options);
    result.estimated_bytes = check.estimated_bytes;
    result.notes = std::move(check.notes);
    if (shapes_only && check.recorded) {
      result.calls = std::move(check.calls);
      result.ran = false;
      return result;
    }
  } else if (shapes_only) {
    Recorder recorded;
    if (impl.runtime->replay_recorded(options.inputs, recorded)) {
      result.calls = std::move(recorded.calls);
      result.ran = false;
      return result;
    }
  }

  Recorder rec;
  rec.keep.insert(options.keep_outputs.begin(), options.keep_outputs.end());
  FlopTally tally;
  tally.rec = &rec;
  {
    std::optional<FlopScope> counting;
    if (options.count_flops) counting.emplace(tally);
    run_recorded(impl, options, impl.device, rec);
  }
  result.total_flops = tally.total;
  result.uncounted_ops.assign(tally.uncounted.begin(), tally.uncounted.end());
  result.calls = std::move(rec.calls);
  result.outputs = std::move(rec.outputs);
  for (const auto& w : impl.warnings) result.notes.push_back("the model warned: " + w);
  return result;
}

}  // namespace cnnviz

namespace cnnviz {

ForwardRun run_forward(Model::Impl& impl, const CaptureOptions& options, const ForwardRequest& request) {
  impl.runtime->check_input_count(options.inputs.size());
  ForwardRun run;
  if (options.max_memory_bytes > 0) run.notes = guard_memory(impl, options, request.gradient_from).notes;
  Recorder rec;
  rec.hooks = request.hooks;
  rec.input_as_leaf = request.input_as_leaf;
  run.output = run_recorded(impl, options, impl.device, rec);
  run.input_leaf = rec.input_leaf;
  run.calls = std::move(rec.calls);
  return run;
}

std::vector<at::Tensor> gradients_of(const at::Tensor& output, const std::vector<at::Tensor>& leaves, const std::string& backward,
                                     bool retain_graph, bool create_graph, const at::Tensor& grad_output) {
  try {
    return torch::autograd::grad({output}, leaves, /*grad_outputs=*/{grad_output}, retain_graph, create_graph, /*allow_unused=*/true);
  } catch (const std::exception& e) {
    const std::string message = torch_error_message(e);
    // "derivative for aten::_native_multi_head_attention is not implemented": the file itself lacks a
    // differentiable path, which a user fixes by exporting it again, not by retrying.
    const std::size_t at = message.find("derivative for ");
    const std::size_t end = message.find(" is not implemented", at == std::string::npos ? 0 : at);
    if (at != std::string::npos && end != std::string::npos) {
      const std::string op = message.substr(at + 15, end - at - 15);
      const bool fused = op.find("_native_multi_head_attention") != std::string::npos || op.find("_transformer_encoder_layer_fwd") != std::string::npos;
      throw Error(ErrorKind::kModel,
                  backward + " failed: PyTorch has no derivative for " + op + ", which the model calls after the layer" +
                      (fused ? "; attention's fused inference path was saved in the file (torch.jit.trace under torch.no_grad()): "
                               "trace it with gradients enabled, or save it with torch.jit.script or torch.export"
                             : "; pick a layer after it, or save the model with torch.export"));
    }
    throw Error(ErrorKind::kExecution, backward + " failed: " + message);
  }
}

at::Tensor gradient_of(const at::Tensor& score, const at::Tensor& leaf, const std::string& no_path, const std::string& backward,
                       bool retain_graph) {
  if (!score.defined() || !score.requires_grad() || !leaf.defined()) throw Error(ErrorKind::kModel, no_path);
  const at::Tensor g = gradients_of(score, {leaf}, backward, retain_graph)[0];
  if (!g.defined()) throw Error(ErrorKind::kModel, no_path);
  return g;
}

Error layer_did_not_run(const Model::Impl& impl, int node) {
  const ModuleNode& n = impl.tree().nodes.at(static_cast<std::size_t>(node));
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
    MemoryCheck check = guard_memory(impl, options);
    if (notes) notes->insert(notes->end(), check.notes.begin(), check.notes.end());
  }
  const at::Tensor cpu = input.to(at::kCPU, at::kFloat).contiguous();
  options.input_data = {FloatArray{cpu.sizes().vec(), std::vector<float>(cpu.data_ptr<float>(), cpu.data_ptr<float>() + cpu.numel())}};
  const c10::IValue out = run_recorded(impl, options, impl.device, rec);
  const at::Tensor* t = first_tensor(out, true);
  if (!t) throw Error(ErrorKind::kData, "the output of '" + impl.file.path + "' is not a tensor");
  return *t;
}

}  // namespace cnnviz
