// The torch.export runtime: a `.pt2` archive's ATen graph run node by node through LibTorch's operator
// dispatcher, so autograd, the meta device and CUDA work as they do for any LibTorch call.
//
// Module calls are rebuilt from each node's `nn_module_stack` (outermost first): a run of consecutive
// nodes with the same frame key is one call of that module. Its input is the first tensor it uses from
// outside, its output the tensors it defines that are used after it. The observer hears of each call
// when the first node of the call is about to run and after its last one, as hooks would.
//
// At the inputs it was exported with, every value's shape is in the program: replay_recorded walks the
// same call plan with shape-only tensors from that record and runs nothing. Sizes a program exported
// with dynamic shapes computes (`_operator.mul(sym_size, 12)`) are evaluated here (SymOp). Weights come
// from raw files (PyTorch 2.7 on) or from torch.save archives inside the .pt2 (PyTorch 2.6's layout).

#include "model/export_runtime.h"

#include <ATen/ScalarOps.h>
#include <ATen/core/dispatch/Dispatcher.h>
#include <torch/script.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "cnnviz/error.h"
#include "cnnviz/export_program.h"
#include "cnnviz/version.h"
#include "model/model_impl.h"
#include "model/module_aliases.h"

namespace cnnviz {
namespace {

// The schema's ScalarType numbers (torch/_export/serde/schema.py) as c10's.
std::optional<c10::ScalarType> scalar_type(int dtype) {
  switch (dtype) {
    case 1: return c10::kByte;
    case 2: return c10::kChar;
    case 3: return c10::kShort;
    case 4: return c10::kInt;
    case 5: return c10::kLong;
    case 6: return c10::kHalf;
    case 7: return c10::kFloat;
    case 8: return c10::kDouble;
    case 9: return c10::kComplexHalf;
    case 10: return c10::kComplexFloat;
    case 11: return c10::kComplexDouble;
    case 12: return c10::kBool;
    case 13: return c10::kBFloat16;
    default: return std::nullopt;
  }
}

c10::ScalarType scalar_type_of(DType dtype) {
  switch (dtype) {
    case DType::kInt64: return c10::kLong;
    case DType::kFloat16: return c10::kHalf;
    case DType::kFloat64: return c10::kDouble;
    default: return c10::kFloat;
  }
}

std::optional<c10::MemoryFormat> memory_format(int64_t format) {
  switch (format) {
    case 1: return c10::MemoryFormat::Contiguous;
    case 2: return c10::MemoryFormat::ChannelsLast;
    case 3: return c10::MemoryFormat::ChannelsLast3d;
    case 4: return c10::MemoryFormat::Preserve;
    default: return std::nullopt;
  }
}

/// The Python operators on symbolic sizes a program exported with dynamic shapes computes with
/// (`_operator.mul(sym_size, 12)`): integer arithmetic and comparisons, as Python evaluates them.
enum class SymOp { kNone, kAdd, kSub, kMul, kFloorDiv, kMod, kNeg, kEq, kNe, kLt, kLe, kGt, kGe };

SymOp sym_op(const std::string& target) {
  static const std::map<std::string, SymOp> ops = {
      {"_operator.add", SymOp::kAdd}, {"_operator.sub", SymOp::kSub}, {"_operator.mul", SymOp::kMul},
      {"_operator.floordiv", SymOp::kFloorDiv}, {"_operator.mod", SymOp::kMod}, {"_operator.neg", SymOp::kNeg},
      {"_operator.eq", SymOp::kEq}, {"_operator.ne", SymOp::kNe}, {"_operator.lt", SymOp::kLt},
      {"_operator.le", SymOp::kLe}, {"_operator.gt", SymOp::kGt}, {"_operator.ge", SymOp::kGe},
  };
  const auto it = ops.find(target);
  return it == ops.end() ? SymOp::kNone : it->second;
}

/// One call of a module, found in the graph: nodes [begin, end) run inside it.
struct PlannedCall {
  int node = 0;  ///< ModuleTree node
  std::size_t begin = 0, end = 0;
  std::string input;                 ///< the first tensor it takes from outside ("" if none)
  std::vector<std::string> outputs;  ///< the values it defines that are used after it
};

/// What happens before graph node i runs: calls that end there (innermost first), then calls that
/// begin there (outermost first). Index nodes.size() holds what happens after the last node.
struct CallEvents {
  std::vector<std::size_t> exits;
  std::vector<std::size_t> enters;
};

std::string module_of(const std::string& state_name) {
  const auto dot = state_name.rfind('.');
  return dot == std::string::npos ? "" : state_name.substr(0, dot);
}

class ExportRuntime : public ModelRuntime {
 public:
  ExportRuntime(std::string path, ExportProgram program, std::unordered_map<std::string, at::Tensor> state)
      : path_(std::move(path)), program_(std::move(program)), state_(std::move(state)) {
    resolve_operators();
    build_tree();
    plan_calls();
    fully_recorded_ = std::all_of(program_.tensor_values.begin(), program_.tensor_values.end(), [](const auto& entry) {
      const ExportTensorMeta& meta = entry.second;
      return scalar_type(meta.dtype) && std::none_of(meta.sizes.begin(), meta.sizes.end(), [](int64_t d) { return d < 0; });
    });
  }

  const ModuleTree& tree() const override { return tree_; }

  void check_input_count(std::size_t given) const override {
    if (given == user_inputs_.size()) return;
    std::string names;
    for (const auto& n : user_inputs_) names += (names.empty() ? "" : ", ") + n;
    throw Error(ErrorKind::kData, "'" + path_ + "' forward(" + names + ") takes " + std::to_string(user_inputs_.size()) + " input" +
                                      (user_inputs_.size() == 1 ? "" : "s") + " but " + std::to_string(given) + " --input " +
                                      (given == 1 ? "was" : "were") + " given; pass one --input per argument");
  }

  at::Tensor parameter(int node, const std::string& name) const override {
    const std::string& path = tree_.nodes.at(static_cast<std::size_t>(node)).path;
    const auto it = state_by_name_.find(path.empty() ? name : path + "." + name);
    return it == state_by_name_.end() ? at::Tensor() : state_.at(it->second);
  }

  // A program keeps such numbers only as its operators' arguments: the float argument `name` of the
  // first operator that the module itself runs (batch_norm's eps).
  std::optional<double> number(int node, const std::string& name) const override {
    const std::string& path = tree_.nodes.at(static_cast<std::size_t>(node)).path;
    for (const ExportNode& n : program_.nodes) {
      if (n.module_stack.empty() || n.module_stack.back().path != path) continue;
      for (const ExportInput& input : n.inputs) {
        if (input.name == name && input.arg.kind == ExportArg::Kind::kFloat) return input.arg.f;
      }
    }
    return std::nullopt;
  }

  c10::IValue forward(std::vector<c10::IValue> inputs, CallObserver* observer) override {
    std::unordered_map<std::string, c10::IValue> env;
    env.reserve(program_.nodes.size() * 2);
    for (const auto& [placeholder, tensor] : state_) env[placeholder] = tensor;
    for (std::size_t i = 0; i < user_inputs_.size() && i < inputs.size(); ++i) env[user_inputs_[i]] = inputs[i];
    const c10::Device device = run_device_ ? *run_device_ : device_;
    return walk(env, observer, [&](std::size_t i) { run_node(i, env, device); });
  }

  // At the shapes it was exported with, every value's shape and dtype is in the program: the calls are
  // reported with shape-only tensors made from that record, and no operator runs.
  bool replay_recorded(const std::vector<InputSpec>& inputs, CallObserver& observer) override {
    if (!fully_recorded_ || inputs.size() != user_inputs_.size()) return false;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      const ExportTensorMeta& meta = program_.tensor_values.at(user_inputs_[i]);
      if (meta.sizes != inputs[i].shape || scalar_type(meta.dtype) != scalar_type_of(inputs[i].dtype)) return false;
    }
    std::unordered_map<std::string, c10::IValue> env;
    env.reserve(program_.nodes.size() * 2);
    auto recorded = [&](const std::string& name) {
      const auto it = name.empty() ? program_.tensor_values.end() : program_.tensor_values.find(name);
      if (it == program_.tensor_values.end()) return;
      env[name] = at::empty(it->second.sizes, at::TensorOptions().dtype(*scalar_type(it->second.dtype)).device(c10::kMeta));
    };
    for (const std::string& name : user_inputs_) recorded(name);
    walk(env, &observer, [&](std::size_t i) {
      for (const std::string& out : program_.nodes[i].outputs) recorded(out);
    });
    return true;
  }

  void with_meta_weights(const std::function<void()>& body) override {
    std::unordered_map<std::string, at::Tensor> saved;
    for (auto& [name, tensor] : state_) {
      saved[name] = tensor;
      tensor = at::empty_like(tensor, at::TensorOptions().device(c10::kMeta));
    }
    run_device_ = c10::Device(c10::kMeta);
    struct Restore {
      ExportRuntime* self;
      std::unordered_map<std::string, at::Tensor>* saved;
      ~Restore() {
        self->state_ = std::move(*saved);
        self->run_device_.reset();
      }
    } restore{this, &saved};
    body();
  }

  void set_device(c10::Device device) {
    device_ = device;
    for (auto& [name, tensor] : state_) {
      const bool requires_grad = tensor.requires_grad();
      tensor = tensor.detach().to(device).requires_grad_(requires_grad);
    }
  }

  const std::vector<std::string>& user_inputs() const { return user_inputs_; }

 private:
  [[noreturn]] void fail(const std::string& detail) const {
    throw Error(ErrorKind::kModel, "'" + path_ + "' " + detail);
  }

  /// Goes through the graph, `step(i)` defining node i's outputs in `env`, and reports the module calls
  /// around the steps to `observer` (may be null). Returns the program's output.
  c10::IValue walk(std::unordered_map<std::string, c10::IValue>& env, CallObserver* observer,
                   const std::function<void(std::size_t)>& step) const {
    auto enter = [&](const PlannedCall& call) {
      if (!observer) return;
      const auto it = call.input.empty() ? env.end() : env.find(call.input);
      observer->on_enter(call.node, it == env.end() ? c10::IValue() : it->second);
    };
    auto exit = [&](const PlannedCall& call) {
      if (!observer) return;
      std::vector<c10::IValue> outs;
      for (const std::string& name : call.outputs) {
        auto it = env.find(name);
        if (it == env.end()) continue;
        if (it->second.isTensor()) {
          at::Tensor replaced = observer->on_tensor_return(call.node, it->second.toTensor());
          if (replaced.defined()) it->second = std::move(replaced);
        }
        outs.push_back(it->second);
      }
      observer->on_exit(call.node, outs.size() == 1 ? outs[0] : c10::IValue(c10::ivalue::Tuple::create(std::move(outs))));
    };
    auto run_events = [&](std::size_t i) {
      for (std::size_t c : events_[i].exits) exit(calls_[c]);
      for (std::size_t c : events_[i].enters) enter(calls_[c]);
    };

    if (observer) {
      const auto first = user_inputs_.empty() ? env.end() : env.find(user_inputs_[0]);
      observer->on_enter(0, first == env.end() ? c10::IValue() : first->second);
    }
    for (std::size_t i = 0; i < program_.nodes.size(); ++i) {
      run_events(i);
      step(i);
    }
    run_events(program_.nodes.size());

    std::vector<c10::IValue> outputs;
    for (const std::string& name : program_.outputs) {
      const auto it = name.empty() ? env.end() : env.find(name);
      outputs.push_back(it == env.end() ? c10::IValue() : it->second);
    }
    c10::IValue result = outputs.size() == 1 ? outputs[0] : c10::IValue(c10::ivalue::Tuple::create(std::move(outputs)));
    if (observer) {
      if (result.isTensor()) {
        at::Tensor replaced = observer->on_tensor_return(0, result.toTensor());
        if (replaced.defined()) result = replaced;
      }
      observer->on_exit(0, result);
    }
    return result;
  }

  // Node i, or the program's outputs for i == the node count (what the outputs use is checked too).
  std::string describe(std::size_t i) const {
    if (i >= program_.nodes.size()) return "the program's outputs";
    const ExportNode& n = program_.nodes[i];
    return "node " + std::to_string(i) + " (" + n.target + ")";
  }

  // Every node's operator, found in this LibTorch's dispatcher, with every argument name in its schema.
  void resolve_operators() {
    ops_.reserve(program_.nodes.size());
    sym_ops_.assign(program_.nodes.size(), SymOp::kNone);
    for (std::size_t i = 0; i < program_.nodes.size(); ++i) {
      const ExportNode& n = program_.nodes[i];
      if (n.op.empty() && (sym_ops_[i] = sym_op(n.target)) != SymOp::kNone) {
        const std::size_t arity = sym_ops_[i] == SymOp::kNeg ? 1 : 2;
        if (n.inputs.size() != arity || n.outputs.size() != 1 || n.list_output) {
          fail("calls " + n.target + " with " + std::to_string(n.inputs.size()) + " arguments (" + describe(i) + ")");
        }
        ops_.emplace_back();
        continue;
      }
      if (n.op.empty()) {
        fail("calls '" + n.target + "' (" + describe(i) + "), which is not an ATen operator cnnviz can run; export the model with "
             "torch.export.export(...) and no control-flow operators, or save it with torch.jit.script");
      }
      auto handle = c10::Dispatcher::singleton().findSchema({n.op, n.overload});
      if (!handle) {
        const std::string name = n.op + (n.overload.empty() ? "" : "." + n.overload);
        if (n.op.rfind("aten::", 0) == 0) {
          fail("calls the operator " + name + ", which LibTorch " + libtorch_version() +
               " does not have: the program was saved by a newer PyTorch; use cnnviz built against a newer LibTorch "
               "(README: Building on a current LibTorch)");
        }
        fail("calls the operator " + name + ", which is not registered: load the library that defines it with --load-library PATH");
      }
      const auto& schema = handle->schema();
      for (const ExportInput& in : n.inputs) {
        const bool known = std::any_of(schema.arguments().begin(), schema.arguments().end(),
                                       [&](const c10::Argument& a) { return a.name() == in.name; });
        if (!known) {
          fail("calls " + schema.name() + " with an argument '" + in.name + "' that LibTorch " + libtorch_version() +
               "'s schema of it does not have (" + describe(i) + "): the program was saved by a newer PyTorch");
        }
      }
      for (const c10::Argument& a : schema.arguments()) {
        const bool given = std::any_of(n.inputs.begin(), n.inputs.end(), [&](const ExportInput& in) { return in.name == a.name(); });
        if (!given && !a.default_value()) fail("gives " + schema.name() + " no argument '" + a.name() + "' (" + describe(i) + ")");
      }
      if (n.list_output ? schema.returns().size() != 1 : n.outputs.size() > schema.returns().size()) {
        fail("expects " + std::to_string(n.outputs.size()) + " results of " + schema.name() + ", which has " +
             std::to_string(schema.returns().size()) + " (" + describe(i) + ")");
      }
      ops_.emplace_back(*handle);
    }
    // Every value a node uses is a placeholder or defined by an earlier node.
    std::unordered_set<std::string> defined;
    for (const std::string& in : program_.inputs) defined.insert(in);
    auto check = [&](const std::string& name, std::size_t i) {
      if (!name.empty() && !defined.count(name)) fail("uses a value '" + name + "' that nothing defines before it (" + describe(i) + "): the program is damaged; export the model again");
    };
    for (std::size_t i = 0; i < program_.nodes.size(); ++i) {
      for (const ExportInput& in : program_.nodes[i].inputs) {
        check(in.arg.name, i);
        for (const auto& n : in.arg.names) check(n, i);
      }
      for (const auto& out : program_.nodes[i].outputs) defined.insert(out);
    }
    for (const auto& out : program_.outputs) check(out, program_.nodes.size());
    for (const ExportInputSpec& spec : program_.input_specs) {
      if (spec.kind == ExportInputSpec::Kind::kUserInput && !spec.placeholder.empty()) user_inputs_.push_back(spec.placeholder);
      if (spec.kind == ExportInputSpec::Kind::kCustomObject || spec.kind == ExportInputSpec::Kind::kToken) {
        fail("takes a " + std::string(spec.kind == ExportInputSpec::Kind::kToken ? "side-effect token" : "custom object") +
             " input, which cnnviz does not run");
      }
      if (spec.kind == ExportInputSpec::Kind::kParameter || spec.kind == ExportInputSpec::Kind::kBuffer ||
          spec.kind == ExportInputSpec::Kind::kTensorConstant) {
        if (!state_.count(spec.placeholder)) fail("has no stored tensor for '" + spec.target + "'");
        state_by_name_[spec.target] = spec.placeholder;
      }
    }
  }

  int add_module(const std::string& path, const std::string& qualified_class) {
    if (const auto it = index_of_path_.find(path); it != index_of_path_.end()) {
      ModuleNode& node = tree_.nodes[static_cast<std::size_t>(it->second)];
      if (!qualified_class.empty() && node.qualified_class.empty()) set_class(node, qualified_class);
      return it->second;
    }
    ModuleNode node;
    node.path = path;
    const auto dot = path.rfind('.');
    if (!path.empty()) {
      node.parent = add_module(dot == std::string::npos ? "" : path.substr(0, dot), "");
      node.depth = tree_.nodes[static_cast<std::size_t>(node.parent)].depth + 1;
      tree_.nodes[static_cast<std::size_t>(node.parent)].is_leaf = false;
    }
    node.var_name = path.substr(dot == std::string::npos ? 0 : dot + 1);
    set_class(node, qualified_class);
    const int index = static_cast<int>(tree_.nodes.size());
    index_of_path_[path] = index;
    tree_.nodes.push_back(std::move(node));
    return index;
  }

  static void set_class(ModuleNode& node, const std::string& qualified) {
    node.qualified_class = qualified;
    const auto dot = qualified.rfind('.');
    node.class_name = qualified.empty() ? "Module" : qualified.substr(dot == std::string::npos ? 0 : dot + 1);
    if (node.path.empty()) node.var_name = node.class_name;
  }

  void build_tree() {
    // Classes come from the nodes' module stacks; module_call_graph orders the modules as the model
    // registered them (named_modules()). A module with no operator of its own and no submodule with
    // one is not in any stack: torch.export kept nothing of it.
    std::map<std::string, std::string> class_of;
    for (const ExportNode& n : program_.nodes) {
      for (const ExportFrame& f : n.module_stack) class_of.emplace(f.path, f.class_name);
    }
    add_module("", class_of.count("") ? class_of[""] : "");
    for (const std::string& path : program_.module_calls) {
      if (class_of.count(path)) add_module(path, class_of[path]);
    }
    for (const ExportNode& n : program_.nodes) {
      for (const ExportFrame& f : n.module_stack) add_module(f.path, f.class_name);
    }
    // A module that holds parameters but ran no operator (never called): its class is not recorded.
    const std::set<std::string> recorded(program_.module_calls.begin(), program_.module_calls.end());
    for (const ExportInputSpec& spec : program_.input_specs) {
      const std::string owner = module_of(spec.target);
      if (spec.kind == ExportInputSpec::Kind::kParameter && recorded.count(owner)) add_module(owner, "");
    }
    // The tree in pre-order: the hierarchy with siblings in first-seen order.
    std::vector<std::vector<int>> children(tree_.nodes.size());
    for (std::size_t i = 1; i < tree_.nodes.size(); ++i) children[static_cast<std::size_t>(tree_.nodes[i].parent)].push_back(static_cast<int>(i));
    std::vector<int> order;
    std::function<void(int)> visit = [&](int i) {
      order.push_back(i);
      for (int c : children[static_cast<std::size_t>(i)]) visit(c);
    };
    visit(0);
    std::vector<int> new_index(order.size());
    for (std::size_t k = 0; k < order.size(); ++k) new_index[static_cast<std::size_t>(order[k])] = static_cast<int>(k);
    std::vector<ModuleNode> sorted;
    for (int old : order) {
      ModuleNode node = tree_.nodes[static_cast<std::size_t>(old)];
      if (node.parent >= 0) node.parent = new_index[static_cast<std::size_t>(node.parent)];
      sorted.push_back(std::move(node));
    }
    tree_.nodes = std::move(sorted);
    for (std::size_t k = 0; k < tree_.nodes.size(); ++k) index_of_path_[tree_.nodes[k].path] = static_cast<int>(k);

    // A container never called itself, whose children are numbered, is a ModuleList (torchinfo names
    // it so); other modules that no operator names keep the class "Module" (docs/cli.md).
    for (ModuleNode& node : tree_.nodes) {
      if (!node.qualified_class.empty() || node.is_leaf) continue;
      bool numbered = true;
      for (const ModuleNode& child : tree_.nodes) {
        if (&child != &node && child.parent >= 0 && &tree_.nodes[static_cast<std::size_t>(child.parent)] == &node) {
          numbered = numbered && !child.var_name.empty() && child.var_name.find_first_not_of("0123456789") == std::string::npos;
        }
      }
      if (numbered) set_class(node, "torch.nn.modules.container.ModuleList");
    }
    // Parameters by module, each tensor once: a module registered under two names (tied weights) is
    // stored once and given to both names' placeholders (load_export_program).
    std::unordered_set<const c10::TensorImpl*> counted;
    std::vector<std::unordered_set<const c10::TensorImpl*>> node_seen(tree_.nodes.size());
    std::vector<std::vector<const void*>> signature(tree_.nodes.size());
    for (const ExportInputSpec& spec : program_.input_specs) {
      if (spec.kind == ExportInputSpec::Kind::kBuffer) tree_.buffer_count += state_.at(spec.placeholder).numel();
      if (spec.kind != ExportInputSpec::Kind::kParameter) continue;
      const at::Tensor& t = state_.at(spec.placeholder);
      const c10::TensorImpl* impl = t.unsafeGetTensorImpl();
      const int64_t n = t.numel(), bytes = n * static_cast<int64_t>(t.element_size());
      const bool trainable = t.requires_grad();
      if (counted.insert(impl).second) {
        tree_.total_params += n;
        tree_.trainable_params += trainable ? n : 0;
        tree_.param_bytes += bytes;
      }
      // Credit every module on its path; the name relative to each decides torchinfo's weight/bias split.
      const std::string owner = module_of(spec.target);
      for (std::size_t k = 0; k < tree_.nodes.size(); ++k) {
        ModuleNode& node = tree_.nodes[k];
        const bool inside = node.path.empty() || owner == node.path || owner.rfind(node.path + ".", 0) == 0;
        if (!inside || !node_seen[k].insert(impl).second) continue;
        signature[k].push_back(impl);
        node.num_params += n;
        node.trainable_params += trainable ? n : 0;
        node.param_bytes += bytes;
        const std::string relative = node.path.empty() ? spec.target : spec.target.substr(node.path.size() + 1);
        if (relative == "weight" || relative == "bias") {
          node.weight_bias_params += n;
        } else if (relative.find("weight") != std::string::npos || relative.find("bias") != std::string::npos) {
          node.other_weight_bias_params += n;
        }
      }
    }
    // A module's own `weight`, parameter or buffer (what parameter(node, "weight") returns).
    for (ModuleNode& node : tree_.nodes) {
      const auto it = state_by_name_.find(node.path.empty() ? "weight" : node.path + ".weight");
      if (it != state_by_name_.end()) node.weight_shape = state_.at(it->second).sizes().vec();
    }
    // One module under two names (`self.alias = self.shared`) is one module, as torchinfo's hooks see it.
    call_node_ = alias_targets(tree_, signature);
    // Convolution settings and pooling windows from the operator each module calls.
    for (const ExportNode& n : program_.nodes) {
      if (n.module_stack.empty()) continue;
      const auto it = index_of_path_.find(n.module_stack.back().path);
      if (it == index_of_path_.end()) continue;
      ModuleNode& node = tree_.nodes[static_cast<std::size_t>(it->second)];
      auto ints = [&](const char* name) -> std::optional<std::vector<int64_t>> {
        for (const ExportInput& in : n.inputs) {
          if (in.name == name && in.arg.kind == ExportArg::Kind::kInts) return in.arg.ints;
          if (in.name == name && in.arg.kind == ExportArg::Kind::kInt) return std::vector<int64_t>{in.arg.i};
        }
        return std::nullopt;
      };
      const bool conv = n.op.find("conv") != std::string::npos && n.op.find("conv_tbc") == std::string::npos;
      if (conv && !node.conv && node.weight_shape.size() >= 3) {
        ConvParams p;
        const std::size_t spatial = node.weight_shape.size() - 2;
        p.stride = ints("stride").value_or(std::vector<int64_t>(spatial, 1));
        p.padding = ints("padding").value_or(std::vector<int64_t>(spatial, 0));
        p.dilation = ints("dilation").value_or(std::vector<int64_t>(spatial, 1));
        if (auto g = ints("groups")) p.groups = g->empty() ? 1 : (*g)[0];
        p.transposed = n.op.find("transpose") != std::string::npos;
        for (const ExportInput& in : n.inputs) {
          if (in.name == "transposed" && in.arg.kind == ExportArg::Kind::kBool) p.transposed = in.arg.b;
          if (in.name == "padding" && in.arg.kind == ExportArg::Kind::kString) p.padding.clear();
        }
        node.conv = p;
        node.kernel_size = KernelSize{std::vector<int64_t>(node.weight_shape.begin() + 2, node.weight_shape.end()), false};
      }
      const bool pool = n.op.find("pool") != std::string::npos && n.op.find("adaptive") == std::string::npos;
      if (pool && !node.kernel_size) {
        if (auto k = ints("kernel_size"); k && !k->empty()) {
          KernelSize ks{*k, false};
          if (std::all_of(ks.dims.begin(), ks.dims.end(), [&](int64_t d) { return d == ks.dims[0]; })) {
            ks.dims.resize(1);
            ks.is_scalar = true;
          }
          node.kernel_size = ks;
        }
      }
    }
  }

  // The module calls of the graph and, for each node, the events before it.
  void plan_calls() {
    const std::size_t count = program_.nodes.size();
    events_.assign(count + 1, {});
    std::vector<std::size_t> open;  // calls_ indices, outermost first
    std::vector<std::string> open_keys;
    for (std::size_t i = 0; i <= count; ++i) {
      const std::vector<ExportFrame> none;
      const auto& stack = i < count ? program_.nodes[i].module_stack : none;
      // The root frame ("" path) is the whole forward, reported by forward() itself.
      std::vector<const ExportFrame*> frames;
      for (const ExportFrame& f : stack) {
        if (!f.path.empty()) frames.push_back(&f);
      }
      std::size_t common = 0;
      while (common < open.size() && common < frames.size() && open_keys[common] == frames[common]->key) ++common;
      for (std::size_t k = open.size(); k > common; --k) {
        calls_[open[k - 1]].end = i;
        events_[i].exits.push_back(open[k - 1]);
      }
      open.resize(common);
      open_keys.resize(common);
      for (std::size_t k = common; k < frames.size(); ++k) {
        PlannedCall call;
        call.node = call_node_[static_cast<std::size_t>(index_of_path_.at(frames[k]->path))];
        call.begin = i;
        open.push_back(calls_.size());
        open_keys.push_back(frames[k]->key);
        events_[i].enters.push_back(calls_.size());
        calls_.push_back(call);
      }
    }
    // Where each value is defined and last used, for the calls' inputs and outputs.
    std::unordered_map<std::string, std::size_t> defined_at;
    std::unordered_map<std::string, std::size_t> last_use;
    for (std::size_t i = 0; i < count; ++i) {
      for (const ExportInput& in : program_.nodes[i].inputs) {
        if (!in.arg.name.empty()) last_use[in.arg.name] = i;
        for (const auto& n : in.arg.names) last_use[n] = i;
      }
      for (const auto& out : program_.nodes[i].outputs) {
        if (!out.empty()) defined_at[out] = i;
      }
    }
    for (const auto& out : program_.outputs) last_use[out] = count;
    for (PlannedCall& call : calls_) {
      for (std::size_t i = call.begin; i < call.end && call.input.empty(); ++i) {
        for (const ExportInput& in : program_.nodes[i].inputs) {
          if (in.arg.kind != ExportArg::Kind::kTensor || state_.count(in.arg.name)) continue;
          const auto d = defined_at.find(in.arg.name);
          if (d == defined_at.end() || d->second < call.begin) {
            call.input = in.arg.name;
            break;
          }
        }
      }
      for (std::size_t i = call.begin; i < call.end; ++i) {
        for (const auto& out : program_.nodes[i].outputs) {
          const auto u = last_use.find(out);
          // Tensors only: a size computed inside and reused later (dynamic shapes) is no output of the module.
          if (!out.empty() && u != last_use.end() && u->second >= call.end && program_.tensor_values.count(out)) call.outputs.push_back(out);
        }
      }
    }
  }

  c10::IValue value(const std::unordered_map<std::string, c10::IValue>& env, const std::string& name) const {
    const auto it = env.find(name);
    if (it == env.end()) fail("uses a value '" + name + "' that is not defined");
    return it->second;
  }

  c10::IValue argument(const ExportArg& a, const std::unordered_map<std::string, c10::IValue>& env, c10::Device device,
                       std::size_t node) const {
    using K = ExportArg::Kind;
    switch (a.kind) {
      case K::kNone: return c10::IValue();
      case K::kTensor:
      case K::kSymInt: return value(env, a.name);
      case K::kTensors: {
        c10::List<at::Tensor> list;
        for (const auto& n : a.names) list.push_back(value(env, n).toTensor());
        return list;
      }
      case K::kOptionalTensors: {
        c10::List<c10::optional<at::Tensor>> list;
        for (const auto& n : a.names) list.push_back(n.empty() ? c10::optional<at::Tensor>() : c10::optional<at::Tensor>(value(env, n).toTensor()));
        return list;
      }
      case K::kInt: return a.i;
      case K::kInts: return c10::IValue(a.ints);
      case K::kSymInts: {
        std::vector<int64_t> v;
        for (std::size_t k = 0; k < a.names.size(); ++k) v.push_back(a.names[k].empty() ? a.ints[k] : value(env, a.names[k]).toInt());
        return c10::IValue(v);
      }
      case K::kFloat: return a.f;
      case K::kFloats: return c10::IValue(a.floats);
      case K::kBool: return a.b;
      case K::kBools: {
        c10::List<bool> list;
        for (int64_t b : a.ints) list.push_back(b != 0);
        return list;
      }
      case K::kString: return a.s;
      case K::kStrings: return c10::IValue(a.strings);
      case K::kScalarType: {
        const auto t = scalar_type(static_cast<int>(a.i));
        if (!t) fail("uses dtype number " + std::to_string(a.i) + ", which cnnviz does not run (" + describe(node) + ")");
        return static_cast<int64_t>(*t);
      }
      case K::kMemoryFormat: {
        const auto f = memory_format(a.i);
        if (!f) fail("uses memory format number " + std::to_string(a.i) + " (" + describe(node) + ")");
        return static_cast<int64_t>(*f);
      }
      case K::kLayout:
        if (a.i != 7) fail("uses a sparse or MKL-DNN layout, which cnnviz does not run (" + describe(node) + ")");
        return static_cast<int64_t>(c10::kStrided);
      case K::kDevice:
        // Tensors the graph creates go where the model runs, whatever device it was exported on.
        return device;
    }
    return c10::IValue();
  }

  // A Python operator on sizes: ints (or bools) in, one out.
  void run_sym_op(std::size_t i, std::unordered_map<std::string, c10::IValue>& env, c10::Device device) const {
    const ExportNode& n = program_.nodes[i];
    auto integer = [&](const ExportInput& in) {
      const c10::IValue v = argument(in.arg, env, device, i);
      if (v.isInt()) return v.toInt();
      if (v.isBool()) return static_cast<int64_t>(v.toBool());
      fail("gives " + n.target + " an argument that is not an integer (" + describe(i) + ")");
    };
    const int64_t a = integer(n.inputs[0]);
    const int64_t b = n.inputs.size() > 1 ? integer(n.inputs[1]) : 0;
    int64_t r = 0;
    bool overflow = false;
    c10::IValue out;
    switch (sym_ops_[i]) {
      case SymOp::kAdd: overflow = __builtin_add_overflow(a, b, &r); out = r; break;
      case SymOp::kSub: overflow = __builtin_sub_overflow(a, b, &r); out = r; break;
      case SymOp::kMul: overflow = __builtin_mul_overflow(a, b, &r); out = r; break;
      case SymOp::kNeg: overflow = __builtin_sub_overflow(int64_t{0}, a, &r); out = r; break;
      case SymOp::kFloorDiv:
      case SymOp::kMod: {
        if (b == 0) fail("divides a size by zero (" + describe(i) + ")");
        overflow = a == INT64_MIN && b == -1;
        if (overflow) break;
        const int64_t q = a / b - ((a % b != 0 && ((a < 0) != (b < 0))) ? 1 : 0);  // Python's //: towards minus infinity
        out = sym_ops_[i] == SymOp::kFloorDiv ? q : a - q * b;                      // Python's %: the sign of b
        break;
      }
      case SymOp::kEq: out = a == b; break;
      case SymOp::kNe: out = a != b; break;
      case SymOp::kLt: out = a < b; break;
      case SymOp::kLe: out = a <= b; break;
      case SymOp::kGt: out = a > b; break;
      case SymOp::kGe: out = a >= b; break;
      case SymOp::kNone: break;
    }
    if (overflow) fail("computes a size that overflows 64 bits in " + n.target + " (" + describe(i) + ")");
    if (!n.outputs[0].empty()) env[n.outputs[0]] = out;
  }

  void run_node(std::size_t i, std::unordered_map<std::string, c10::IValue>& env, c10::Device device) const {
    if (sym_ops_[i] != SymOp::kNone) return run_sym_op(i, env, device);
    const ExportNode& n = program_.nodes[i];
    const c10::OperatorHandle& op = *ops_[i];
    const auto& schema = op.schema();
    torch::jit::Stack stack;
    stack.reserve(schema.arguments().size());
    for (const c10::Argument& a : schema.arguments()) {
      const auto it = std::find_if(n.inputs.begin(), n.inputs.end(), [&](const ExportInput& in) { return in.name == a.name(); });
      if (it == n.inputs.end()) {
        stack.push_back(*a.default_value());
        continue;
      }
      c10::IValue v = argument(it->arg, env, device, i);
      // A number where the schema takes a Tensor (`x / 8` is aten::div.Tensor(x, 8)): a wrapped number,
      // as Python passes it, so type promotion treats it as a scalar.
      if ((v.isInt() || v.isDouble() || v.isBool()) && a.type()->kind() == c10::TypeKind::TensorType) {
        at::Tensor t = at::scalar_to_tensor(v.toScalar());
        t.unsafeGetTensorImpl()->set_wrapped_number(true);
        v = t;
      }
      stack.push_back(std::move(v));
    }
    op.callBoxed(&stack);
    if (n.list_output) {
      const auto list = stack.at(0).toTensorVector();
      for (std::size_t k = 0; k < n.outputs.size() && k < list.size(); ++k) {
        if (!n.outputs[k].empty()) env[n.outputs[k]] = list[k];
      }
      return;
    }
    for (std::size_t k = 0; k < n.outputs.size() && k < stack.size(); ++k) {
      if (!n.outputs[k].empty()) env[n.outputs[k]] = std::move(stack[k]);
    }
  }

  std::string path_;
  ExportProgram program_;
  std::unordered_map<std::string, at::Tensor> state_;          ///< placeholder -> parameter, buffer or constant
  std::unordered_map<std::string, std::string> state_by_name_;  ///< "conv1.weight" -> placeholder
  std::vector<std::optional<c10::OperatorHandle>> ops_;  ///< none for a Python operator on sizes
  std::vector<SymOp> sym_ops_;
  std::vector<std::string> user_inputs_;
  ModuleTree tree_;
  std::unordered_map<std::string, int> index_of_path_;
  std::vector<int> call_node_;  ///< the node each node's calls are reported as (aliases: one node)
  std::vector<PlannedCall> calls_;
  std::vector<CallEvents> events_;
  c10::Device device_{c10::kCPU};
  std::optional<c10::Device> run_device_;  ///< meta during with_meta_weights
  bool fully_recorded_ = false;            ///< every value's shape and dtype is in the program, none symbolic
};

// A stored tensor from its raw bytes: sizes and strides as the config says, bytes checked to cover them.
at::Tensor stored_tensor(const std::string& path, const std::string& name, const ExportStoredTensor& t, const std::string& bytes) {
  const auto dtype = scalar_type(t.dtype);
  const int element = export_dtype_size(t.dtype);
  if (!dtype || element == 0) throw Error(ErrorKind::kModel, "'" + path + "' stores '" + name + "' with dtype number " + std::to_string(t.dtype) + ", which cnnviz does not read");
  if (t.sizes.size() != t.strides.size()) throw Error(ErrorKind::kModel, "'" + path + "' stores '" + name + "' with sizes and strides of different ranks");
  // The last element's offset, in elements; every size and stride must be known and non-negative.
  int64_t extent = t.storage_offset;
  bool empty = false;
  for (std::size_t k = 0; k < t.sizes.size(); ++k) {
    if (t.sizes[k] < 0 || t.strides[k] < 0) throw Error(ErrorKind::kModel, "'" + path + "' stores '" + name + "' with a symbolic or negative size");
    if (t.sizes[k] == 0) empty = true;
    if (t.sizes[k] > 0 && t.strides[k] > (INT64_MAX / 2) / t.sizes[k]) throw Error(ErrorKind::kModel, "'" + path + "' stores '" + name + "' with absurd strides");
    extent += (t.sizes[k] - 1) * t.strides[k];
  }
  // A saved tensor never overlaps itself: more elements than its storage holds is a corrupted config
  // (and a stride-0 shape would otherwise allocate whatever the sizes claim).
  int64_t numel = 1;
  for (const int64_t d : t.sizes) numel = (d == 0 || numel == 0) ? 0 : (numel > INT64_MAX / d ? INT64_MAX : numel * d);
  if (numel > static_cast<int64_t>(bytes.size()) / element) {
    throw Error(ErrorKind::kModel, "'" + path + "': the weight file of '" + name + "' holds " + std::to_string(bytes.size()) + " bytes, fewer than its shape needs; export the model again");
  }
  const int64_t needed = empty ? 0 : (extent + 1);
  if (extent < 0 || needed > static_cast<int64_t>(bytes.size()) / element) {
    throw Error(ErrorKind::kModel, "'" + path + "': the weight file of '" + name + "' holds " + std::to_string(bytes.size()) + " bytes, fewer than its " +
                                       std::to_string(needed * element) + "-byte shape needs; export the model again");
  }
  at::Tensor storage = at::empty({static_cast<int64_t>(bytes.size()) / element}, at::TensorOptions().dtype(*dtype));
  std::memcpy(storage.data_ptr(), bytes.data(), static_cast<std::size_t>(storage.numel() * element));
  return storage.as_strided(t.sizes, t.strides, t.storage_offset).clone();
}

// An archive's `byteorder` record, where it has one, must say little-endian.
void require_little_endian(ZipArchive& zip, const std::string& prefix, const std::string& path) {
  if (const ZipEntry* order = zip.find(prefix + "byteorder"); order && order->size < 16 && zip.read(*order).rfind("little", 0) != 0) {
    throw Error(ErrorKind::kModel, "'" + path + "' was saved on a big-endian machine; cnnviz reads little-endian archives");
  }
}

}  // namespace

bool is_export_archive(ZipArchive& zip) {
  const std::string prefix = zip.prefix() + "/";
  if (const ZipEntry* format = zip.find(prefix + "archive_format"); format && format->size < 64) {
    if (zip.read(*format).rfind("pt2", 0) == 0) return true;
  }
  if (zip.find("serialized_exported_program.json")) return true;  // PyTorch 2.6's layout
  return std::any_of(zip.entries().begin(), zip.entries().end(), [&](const ZipEntry& e) {
    return e.name.rfind(prefix + "models/", 0) == 0 && e.name.size() > 5 && e.name.compare(e.name.size() - 5, 5, ".json") == 0;
  });
}

std::unique_ptr<ModelRuntime> load_export_program(const InputFile& file, ZipArchive& zip, const std::function<c10::Device()>& resolve_device,
                                                  ModelFileInfo& info) {
  const std::string& path = file.path();
  const std::string prefix = zip.prefix() + "/";
  info.file_bytes = file.size();
  for (const ZipEntry& e : zip.entries()) {
    if (e.name.rfind(prefix + "data/aotinductor/", 0) == 0) {
      throw Error(ErrorKind::kModel, "'" + path + "' is an AOTInductor package (compiled code, no graph to inspect); save the program "
                                                  "itself with torch.export.save(torch.export.export(model, (x,)), path)");
    }
  }
  require_little_endian(zip, prefix, path);
  // Where each stored tensor's bytes are: a raw file of the archive (PyTorch 2.7 and later), or a storage
  // of a torch.save archive inside it (PyTorch 2.6).
  struct Stored {
    ZipArchive* archive = nullptr;
    std::string entry;
    ExportStoredTensor meta;
  };
  std::map<std::string, Stored> stored;  // state name -> where
  std::vector<std::unique_ptr<ZipArchive>> saved_archives;
  const ZipEntry* json = nullptr;
  std::string where;
  const ZipEntry* legacy = zip.find("serialized_exported_program.json");
  if (legacy) {
    // PyTorch 2.6's layout: the program, and torch.save archives of the state dict and the constants.
    json = legacy;
    where = "'" + path + "' (" + legacy->name + ")";
    for (const char* name : {"serialized_state_dict.pt", "serialized_constants.pt"}) {
      const ZipEntry* entry = zip.find(name);
      if (!entry) continue;
      saved_archives.push_back(std::make_unique<ZipArchive>(zip, *entry));
      ZipArchive& inner = *saved_archives.back();
      const std::string inner_prefix = inner.prefix() + "/";
      const ZipEntry* pickle = inner.find(inner_prefix + "data.pkl");
      if (!pickle) throw Error(ErrorKind::kModel, "'" + path + "': " + name + " is not an archive of torch.save; export the model again");
      require_little_endian(inner, inner_prefix, path);
      for (auto& [state_name, t] : parse_saved_tensors(inner.read(*pickle, uint64_t{1} << 28), "'" + path + "' (" + name + ")")) {
        stored[state_name] = Stored{&inner, inner_prefix + "data/" + t.file, t};
      }
    }
  } else {
    // The program: models/model.json, or the only models/*.json.
    json = zip.find(prefix + "models/model.json");
    if (!json) {
      for (const ZipEntry& e : zip.entries()) {
        const bool model = e.name.rfind(prefix + "models/", 0) == 0 && e.name.size() > 5 && e.name.compare(e.name.size() - 5, 5, ".json") == 0;
        if (!model) continue;
        if (json) throw Error(ErrorKind::kModel, "'" + path + "' holds several programs; cnnviz reads archives of one (torch.export.save)");
        json = &e;
      }
    }
    if (!json) throw Error(ErrorKind::kModel, "'" + path + "' is a .pt2 archive without a program (models/*.json); save one with torch.export.save");
    where = "'" + path + "' (" + json->name.substr(prefix.size()) + ")";
    const std::string model_name = json->name.substr(prefix.size() + 7, json->name.size() - prefix.size() - 7 - 5);
    // Weights and constants: one config each, raw tensor files beside it.
    for (const char* kind : {"weights", "constants"}) {
      const std::string dir = prefix + "data/" + kind + "/";
      const ZipEntry* config = zip.find(dir + (std::string(kind) == "weights" ? model_name + "_weights_config.json" : model_name + "_constants_config.json"));
      if (!config) continue;
      for (auto& [name, t] : parse_export_tensor_config(zip.read(*config, uint64_t{1} << 28), "'" + path + "' (" + config->name.substr(prefix.size()) + ")")) {
        stored[name] = Stored{&zip, dir + t.file, t};
      }
    }
  }
  ExportProgram program = parse_export_program(zip.read(*json, uint64_t{1} << 30), where);

  // One stored view under two names is one tensor (tied weights, a module registered twice).
  auto view_of = [](const Stored& where_stored) {
    const ExportStoredTensor& meta = where_stored.meta;
    std::string view = std::to_string(reinterpret_cast<std::uintptr_t>(where_stored.archive)) + ":" + where_stored.entry + "@" +
                       std::to_string(meta.storage_offset);
    for (std::size_t k = 0; k < meta.sizes.size(); ++k) view += "," + std::to_string(meta.sizes[k]) + ":" + std::to_string(meta.strides[k]);
    return view;
  };
  if (legacy) {
    // PyTorch 2.6's signature names only the tensors the graph uses, a tied one under one name; its state
    // dict holds every parameter and buffer under each name. The others join the signature with
    // placeholders no node uses, as PyTorch 2.14 writes them, so that every module holds its own.
    std::set<std::string> named;
    for (const ExportInputSpec& spec : program.input_specs) named.insert(spec.target);
    for (const auto& [name, where_stored] : stored) {
      if (named.count(name)) continue;
      ExportInputSpec spec;
      spec.kind = where_stored.meta.is_param ? ExportInputSpec::Kind::kParameter : ExportInputSpec::Kind::kBuffer;
      spec.placeholder = "@" + name;
      spec.target = name;
      program.input_specs.push_back(std::move(spec));
    }
  }

  std::unordered_map<std::string, at::Tensor> state;
  std::map<std::string, at::Tensor> by_view;
  for (const ExportInputSpec& spec : program.input_specs) {
    const bool tensor = spec.kind == ExportInputSpec::Kind::kParameter || spec.kind == ExportInputSpec::Kind::kBuffer ||
                        spec.kind == ExportInputSpec::Kind::kTensorConstant;
    if (!tensor) continue;
    const auto it = stored.find(spec.target);
    if (it == stored.end()) throw Error(ErrorKind::kModel, "'" + path + "' has no stored tensor for '" + spec.target + "'; export the model again");
    const Stored& where_stored = it->second;
    const ExportStoredTensor& meta = where_stored.meta;
    if (meta.pickled) {
      throw Error(ErrorKind::kModel, "'" + path + "' stores '" + spec.target + "' as a pickle (a tensor subclass?), which cnnviz does not read");
    }
    const ZipEntry* entry = where_stored.archive->find(where_stored.entry);
    if (!entry) {
      throw Error(ErrorKind::kModel, "'" + path + "' is missing the weight file '" +
                                         (where_stored.archive == &zip ? where_stored.entry.substr(prefix.size()) : where_stored.entry) + "' of '" + spec.target + "'; export the model again");
    }
    auto& t = by_view[view_of(where_stored)];
    if (t.defined()) {
      state[spec.placeholder] = t;
      continue;
    }
    t = stored_tensor(path, spec.target, meta, where_stored.archive->read(*entry, uint64_t{1} << 36));
    // Parameters keep requires_grad as saved (torchinfo's trainable count); buffers and constants never have it.
    if (spec.kind == ExportInputSpec::Kind::kParameter && meta.requires_grad && at::isFloatingType(t.scalar_type())) t.requires_grad_(true);
    state[spec.placeholder] = t;
  }
  info.format = "torch.export";
  info.format_version = program.schema_major;
  for (const ExportInputSpec& spec : program.input_specs) {
    if (spec.kind != ExportInputSpec::Kind::kUserInput) continue;
    const auto meta = program.tensor_values.find(spec.placeholder);
    const bool known = meta != program.tensor_values.end() && !meta->second.sizes.empty() &&
                       meta->second.sizes.size() <= kMaxInputRank &&
                       std::none_of(meta->second.sizes.begin(), meta->second.sizes.end(), [](int64_t d) { return d <= 0; });
    const DType dtype = !known ? DType::kFloat32 : meta->second.dtype == 5 ? DType::kInt64 : meta->second.dtype == 6 ? DType::kFloat16
                                                   : meta->second.dtype == 8 ? DType::kFloat64 : DType::kFloat32;
    if (!known || (meta->second.dtype != 5 && meta->second.dtype != 6 && meta->second.dtype != 7 && meta->second.dtype != 8)) {
      info.example_inputs.clear();
      break;
    }
    info.example_inputs.push_back(InputSpec{meta->second.sizes, dtype});
  }
  auto runtime = std::make_unique<ExportRuntime>(path, std::move(program), std::move(state));
  const c10::Device device = resolve_device();
  if (!device.is_cpu()) runtime->set_device(device);
  return runtime;
}

}  // namespace cnnviz
