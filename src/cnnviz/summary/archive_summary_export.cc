// summarize_from_archive() for torch.export programs (`.pt2`): export_runtime.cc's load_export_program and
// ExportRuntime (build_tree, plan_calls, replay_recorded), with the stored tensors' facts in place of the
// tensors, and capture.cc's Recorder and memory guard for a replayed record, so that a `.pt2` at the
// shapes it was exported with is summarised as the full path summarises it from that record, without
// LibTorch. Whatever would make the full path refuse the file, or run it, declines. The two must agree
// byte for byte: tests/archive_summary_test.cc compares them on every test model.

#include <algorithm>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "cnnviz/export_program.h"
#include "cnnviz/layer_record.h"
#include "model/module_aliases.h"
#include "summary/archive_summary_impl.h"

namespace cnnviz::archive_summary {
namespace {

// kDispatcherSchemas: this LibTorch's operator schemas, written at build time (src/tools/op_table.cc).
#define CNNVIZ_WANT_DISPATCHER_SCHEMAS
#include "op_table.inc"

const std::map<std::string, std::pair<std::vector<std::string>, std::size_t>>& dispatcher_schemas() {
  // "aten::conv2d.default" -> argument names ("bias=": has a default), return count.
  static const auto schemas = [] {
    std::map<std::string, std::pair<std::vector<std::string>, std::size_t>> m;
    for (const char* line : kDispatcherSchemas) {
      const std::string text = line;
      const std::size_t a = text.find('|');
      const std::size_t b = text.rfind('|');
      std::vector<std::string> args;
      const std::string list = text.substr(a + 1, b - a - 1);
      for (std::size_t start = 0; start < list.size();) {
        std::size_t comma = list.find(',', start);
        if (comma == std::string::npos) comma = list.size();
        args.push_back(list.substr(start, comma - start));
        start = comma + 1;
      }
      m[text.substr(0, a)] = {std::move(args), static_cast<std::size_t>(std::stoul(text.substr(b + 1)))};
    }
    return m;
  }();
  return schemas;
}

bool known_scalar_type(int dtype) { return dtype >= 1 && dtype <= 13; }
bool floating_scalar_type(int dtype) { return dtype == 6 || dtype == 7 || dtype == 8 || dtype == 13; }

// One stored tensor as the runtime would hold it.
struct StateFacts {
  int64_t numel = 0;
  int64_t element_size = 0;
  bool requires_grad = false;
  std::vector<int64_t> sizes;
};

bool is_sym_op(const std::string& target, std::size_t& arity) {
  static const std::set<std::string> binary = {"_operator.add", "_operator.sub", "_operator.mul", "_operator.floordiv",
                                               "_operator.mod", "_operator.eq",  "_operator.ne",  "_operator.lt",
                                               "_operator.le",  "_operator.gt",  "_operator.ge"};
  if (target == "_operator.neg") return arity = 1, true;
  if (binary.count(target)) return arity = 2, true;
  return false;
}

struct PlannedCall {
  int node = 0;
  std::size_t begin = 0, end = 0;
  std::string input;
  std::vector<std::string> outputs;
};

std::string module_of(const std::string& state_name) {
  const auto dot = state_name.rfind('.');
  return dot == std::string::npos ? "" : state_name.substr(0, dot);
}

class ExportReader {
 public:
  ExportReader(ExportProgram program, std::unordered_map<std::string, const StateFacts*> state)
      : program_(std::move(program)), state_(std::move(state)) {
    check_operators_and_values();
    build_tree();
    plan_calls();
  }

  const ModuleTree& tree() const { return tree_; }
  const std::vector<std::string>& user_inputs() const { return user_inputs_; }

  bool fully_recorded() const {
    return std::all_of(program_.tensor_values.begin(), program_.tensor_values.end(), [](const auto& entry) {
      const ExportTensorMeta& meta = entry.second;
      return known_scalar_type(meta.dtype) && std::none_of(meta.sizes.begin(), meta.sizes.end(), [](int64_t d) { return d < 0; });
    });
  }

  // replay_recorded with capture.cc's Recorder: the calls, shapes from the program's record.
  std::vector<ModuleCall> replay() const {
    std::vector<ModuleCall> calls;
    std::vector<int> open;
    int returned = 0;
    std::unordered_set<std::string> env;
    auto recorded = [&](const std::string& name) {
      if (!name.empty() && program_.tensor_values.count(name)) env.insert(name);
    };
    auto meta_of = [&](const std::string& name) -> const ExportTensorMeta* {
      if (name.empty() || !env.count(name)) return nullptr;
      return &program_.tensor_values.at(name);
    };
    auto enter = [&](int node, const ExportTensorMeta* first) {
      ModuleCall call;
      call.node = node;
      if (first) call.input_shape = first->sizes;
      open.push_back(static_cast<int>(calls.size()));
      calls.push_back(std::move(call));
    };
    auto exit = [&](const ExportTensorMeta* out) {
      if (open.empty()) return;
      ModuleCall& call = calls[static_cast<std::size_t>(open.back())];
      open.pop_back();
      if (out) {
        call.output_shape = out->sizes;
        call.output_elem_bytes = export_dtype_size(out->dtype);
      }
      call.finished = true;
      call.finish_order = returned++;
    };
    auto exit_call = [&](const PlannedCall& call) {
      // One output: itself; several: a tuple, whose first element stands for it; none: no tensor.
      std::vector<const ExportTensorMeta*> outs;
      for (const std::string& name : call.outputs) {
        if (env.count(name)) outs.push_back(&program_.tensor_values.at(name));
      }
      exit(outs.empty() ? nullptr : outs[0]);
    };
    auto run_events = [&](std::size_t i) {
      for (std::size_t c : events_[i].first) exit_call(calls_[c]);
      for (std::size_t c : events_[i].second) enter(calls_[c].node, meta_of(calls_[c].input));
    };
    for (const std::string& name : user_inputs_) recorded(name);
    enter(0, user_inputs_.empty() ? nullptr : meta_of(user_inputs_[0]));
    for (std::size_t i = 0; i < program_.nodes.size(); ++i) {
      run_events(i);
      for (const std::string& out : program_.nodes[i].outputs) recorded(out);
    }
    run_events(program_.nodes.size());
    // The program's output: one value, or a tuple whose first element stands for it.
    const ExportTensorMeta* out = program_.outputs.empty() ? nullptr : meta_of(program_.outputs[0]);
    exit(out);
    return calls;
  }

 private:
  bool is_state(const std::string& name) const { return state_.count(name) > 0; }

  void check_operators_and_values() {
    const auto& schemas = dispatcher_schemas();
    for (const ExportNode& n : program_.nodes) {
      std::size_t arity = 0;
      if (n.op.empty() && is_sym_op(n.target, arity)) {
        if (n.inputs.size() != arity || n.outputs.size() != 1 || n.list_output) decline("a size operator with other arguments");
        continue;
      }
      if (n.op.empty()) decline("a node that is not an ATen operator: " + n.target);
      const auto schema = schemas.find(n.op + "." + (n.overload.empty() ? "default" : n.overload));
      if (schema == schemas.end()) decline("the operator " + n.op + ", which this LibTorch does not have");
      const std::vector<std::string>& args = schema->second.first;
      auto arg_name = [](const std::string& a) { return a.back() == '=' ? a.substr(0, a.size() - 1) : a; };
      for (const ExportInput& in : n.inputs) {
        if (std::none_of(args.begin(), args.end(), [&](const std::string& a) { return arg_name(a) == in.name; })) decline("an argument the schema lacks");
      }
      for (const std::string& a : args) {
        const bool given = std::any_of(n.inputs.begin(), n.inputs.end(), [&](const ExportInput& in) { return in.name == arg_name(a); });
        if (!given && a.back() != '=') decline("a required argument not given");
      }
      if (n.list_output ? schema->second.second != 1 : n.outputs.size() > schema->second.second) decline("more results than the schema's");
    }
    std::unordered_set<std::string> defined(program_.inputs.begin(), program_.inputs.end());
    auto check = [&](const std::string& name) {
      if (!name.empty() && !defined.count(name)) decline("a value used before it is defined");
    };
    for (const ExportNode& n : program_.nodes) {
      for (const ExportInput& in : n.inputs) {
        check(in.arg.name);
        for (const auto& name : in.arg.names) check(name);
      }
      for (const auto& out : n.outputs) defined.insert(out);
    }
    for (const auto& out : program_.outputs) check(out);
    for (const ExportInputSpec& spec : program_.input_specs) {
      if (spec.kind == ExportInputSpec::Kind::kUserInput && !spec.placeholder.empty()) user_inputs_.push_back(spec.placeholder);
      if (spec.kind == ExportInputSpec::Kind::kCustomObject || spec.kind == ExportInputSpec::Kind::kToken) decline("a custom object or token input");
      if (spec.kind == ExportInputSpec::Kind::kParameter || spec.kind == ExportInputSpec::Kind::kBuffer ||
          spec.kind == ExportInputSpec::Kind::kTensorConstant) {
        if (!is_state(spec.placeholder)) decline("no stored tensor for " + spec.target);
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
    if (std::count(path.begin(), path.end(), '.') > kMaxModuleDepth) decline("a module path too deep");
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
    const std::set<std::string> recorded(program_.module_calls.begin(), program_.module_calls.end());
    for (const ExportInputSpec& spec : program_.input_specs) {
      const std::string owner = module_of(spec.target);
      if (spec.kind == ExportInputSpec::Kind::kParameter && recorded.count(owner)) add_module(owner, "");
    }
    std::vector<std::vector<int>> children(tree_.nodes.size());
    for (std::size_t i = 1; i < tree_.nodes.size(); ++i) children[static_cast<std::size_t>(tree_.nodes[i].parent)].push_back(static_cast<int>(i));
    std::vector<int> order;
    std::vector<int> stack = {0};
    while (!stack.empty()) {  // pre-order, children in first-seen order
      const int i = stack.back();
      stack.pop_back();
      order.push_back(i);
      const auto& c = children[static_cast<std::size_t>(i)];
      for (auto it = c.rbegin(); it != c.rend(); ++it) stack.push_back(*it);
    }
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

    std::vector<std::vector<std::size_t>> kids(tree_.nodes.size());
    for (std::size_t k = 1; k < tree_.nodes.size(); ++k) kids[static_cast<std::size_t>(tree_.nodes[k].parent)].push_back(k);
    for (std::size_t k = 0; k < tree_.nodes.size(); ++k) {
      ModuleNode& node = tree_.nodes[k];
      if (!node.qualified_class.empty() || node.is_leaf) continue;
      bool numbered = true;
      for (std::size_t c : kids[k]) {
        const std::string& v = tree_.nodes[c].var_name;
        numbered = numbered && !v.empty() && v.find_first_not_of("0123456789") == std::string::npos;
      }
      if (numbered) set_class(node, "torch.nn.modules.container.ModuleList");
    }
    std::unordered_set<const StateFacts*> counted;
    std::vector<std::unordered_set<const StateFacts*>> node_seen(tree_.nodes.size());
    std::vector<std::vector<const void*>> signature(tree_.nodes.size());
    for (const ExportInputSpec& spec : program_.input_specs) {
      if (spec.kind == ExportInputSpec::Kind::kBuffer) tree_.buffer_count += state_.at(spec.placeholder)->numel;
      if (spec.kind != ExportInputSpec::Kind::kParameter) continue;
      const StateFacts* t = state_.at(spec.placeholder);
      const int64_t n = t->numel, bytes = n * t->element_size;
      const bool trainable = t->requires_grad;
      if (counted.insert(t).second) {
        tree_.total_params += n;
        tree_.trainable_params += trainable ? n : 0;
        tree_.param_bytes += bytes;
      }
      const std::string owner = module_of(spec.target);
      for (std::size_t k = 0; k < tree_.nodes.size(); ++k) {
        ModuleNode& node = tree_.nodes[k];
        const bool inside = node.path.empty() || owner == node.path || owner.rfind(node.path + ".", 0) == 0;
        if (!inside || !node_seen[k].insert(t).second) continue;
        signature[k].push_back(t);
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
    for (ModuleNode& node : tree_.nodes) {
      const auto it = state_by_name_.find(node.path.empty() ? "weight" : node.path + ".weight");
      if (it != state_by_name_.end()) node.weight_shape = state_.at(it->second)->sizes;
    }
    call_node_ = alias_targets(tree_, signature);
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

  void plan_calls() {
    const std::size_t count = program_.nodes.size();
    events_.assign(count + 1, {});
    std::vector<std::size_t> open;
    std::vector<std::string> open_keys;
    for (std::size_t i = 0; i <= count; ++i) {
      const std::vector<ExportFrame> none;
      const auto& stack = i < count ? program_.nodes[i].module_stack : none;
      std::vector<const ExportFrame*> frames;
      for (const ExportFrame& f : stack) {
        if (!f.path.empty()) frames.push_back(&f);
      }
      std::size_t common = 0;
      while (common < open.size() && common < frames.size() && open_keys[common] == frames[common]->key) ++common;
      for (std::size_t k = open.size(); k > common; --k) {
        calls_[open[k - 1]].end = i;
        events_[i].first.push_back(open[k - 1]);
      }
      open.resize(common);
      open_keys.resize(common);
      for (std::size_t k = common; k < frames.size(); ++k) {
        PlannedCall call;
        call.node = call_node_[static_cast<std::size_t>(index_of_path_.at(frames[k]->path))];
        call.begin = i;
        open.push_back(calls_.size());
        open_keys.push_back(frames[k]->key);
        events_[i].second.push_back(calls_.size());
        calls_.push_back(call);
      }
    }
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
          if (in.arg.kind != ExportArg::Kind::kTensor || is_state(in.arg.name)) continue;
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
          if (!out.empty() && u != last_use.end() && u->second >= call.end && program_.tensor_values.count(out)) call.outputs.push_back(out);
        }
      }
    }
  }

  ExportProgram program_;
  std::unordered_map<std::string, const StateFacts*> state_;   // placeholder -> its tensor's facts
  std::unordered_map<std::string, std::string> state_by_name_;  // "conv1.weight" -> placeholder
  std::vector<std::string> user_inputs_;
  ModuleTree tree_;
  std::unordered_map<std::string, int> index_of_path_;
  std::vector<int> call_node_;
  std::vector<PlannedCall> calls_;
  std::vector<std::pair<std::vector<std::size_t>, std::vector<std::size_t>>> events_;  // exits, enters before node i
};

}  // namespace

bool is_export_archive(ZipArchive& zip) {
  const std::string prefix = zip.prefix() + "/";
  if (const ZipEntry* format = zip.find(prefix + "archive_format"); format && format->size < 64) {
    if (zip.read(*format).rfind("pt2", 0) == 0) return true;
  }
  if (zip.find("serialized_exported_program.json")) return true;
  return std::any_of(zip.entries().begin(), zip.entries().end(), [&](const ZipEntry& e) {
    return e.name.rfind(prefix + "models/", 0) == 0 && e.name.size() > 5 && e.name.compare(e.name.size() - 5, 5, ".json") == 0;
  });
}

Summary summarize_export(const SummaryRequest& request, const InputFile& file, ZipArchive& zip) {
  if (!request.use_recorded_shapes) decline("asked to run the program");
  const std::string prefix = zip.prefix() + "/";
  for (const ZipEntry& e : zip.entries()) {
    if (e.name.rfind(prefix + "data/aotinductor/", 0) == 0) decline("an AOTInductor package");
  }
  if (const ZipEntry* order = zip.find(prefix + "byteorder"); order && order->size < 16 && zip.read(*order).rfind("little", 0) != 0) {
    decline("big-endian");
  }
  if (zip.find("serialized_exported_program.json")) decline("PyTorch 2.6's layout");
  const ZipEntry* json = zip.find(prefix + "models/model.json");
  if (!json) {
    for (const ZipEntry& e : zip.entries()) {
      const bool model = e.name.rfind(prefix + "models/", 0) == 0 && e.name.size() > 5 && e.name.compare(e.name.size() - 5, 5, ".json") == 0;
      if (!model) continue;
      if (json) decline("several programs");
      json = &e;
    }
  }
  if (!json) decline("no program");
  const std::string model_name = json->name.substr(prefix.size() + 7, json->name.size() - prefix.size() - 7 - 5);
  struct Stored {
    std::string entry;
    ExportStoredTensor meta;
  };
  std::map<std::string, Stored> stored;
  for (const char* kind : {"weights", "constants"}) {
    const std::string dir = prefix + "data/" + kind + "/";
    const ZipEntry* config = zip.find(dir + (std::string(kind) == "weights" ? model_name + "_weights_config.json" : model_name + "_constants_config.json"));
    if (!config) continue;
    for (auto& [name, t] : parse_export_tensor_config(zip.read(*config, uint64_t{1} << 28), "'" + file.path() + "'")) {
      stored[name] = Stored{dir + t.file, t};
    }
  }
  ExportProgram program = parse_export_program(zip.read(*json, uint64_t{1} << 30), "'" + file.path() + "'");

  // The stored tensors' facts, one per stored view (tied weights are one tensor), checked as
  // stored_tensor() checks them against their files.
  std::map<std::string, StateFacts> by_view;
  std::unordered_map<std::string, const StateFacts*> state;
  for (const ExportInputSpec& spec : program.input_specs) {
    const bool tensor = spec.kind == ExportInputSpec::Kind::kParameter || spec.kind == ExportInputSpec::Kind::kBuffer ||
                        spec.kind == ExportInputSpec::Kind::kTensorConstant;
    if (!tensor) continue;
    const auto it = stored.find(spec.target);
    if (it == stored.end()) decline("no stored tensor for " + spec.target);
    const ExportStoredTensor& meta = it->second.meta;
    if (meta.pickled) decline("a pickled tensor");
    const ZipEntry* entry = zip.find(it->second.entry);
    if (!entry) decline("a missing weight file");
    // Not read (that is the point): it must be stored, so its size is what a read gives.
    if (entry->method != 0 || entry->compressed_size != entry->size) decline("a compressed weight file");
    check_local_header(file, *entry);
    std::string view = it->second.entry + "@" + std::to_string(meta.storage_offset);
    for (std::size_t k = 0; k < meta.sizes.size() && k < meta.strides.size(); ++k) {
      view += "," + std::to_string(meta.sizes[k]) + ":" + std::to_string(meta.strides[k]);
    }
    auto [slot, fresh] = by_view.try_emplace(view);
    StateFacts& f = slot->second;
    if (fresh) {
      const int element = export_dtype_size(meta.dtype);
      if (!known_scalar_type(meta.dtype) || element == 0) decline("a dtype it does not read");
      if (meta.sizes.size() != meta.strides.size()) decline("sizes and strides of different ranks");
      int64_t extent = meta.storage_offset;
      bool empty = false;
      for (std::size_t k = 0; k < meta.sizes.size(); ++k) {
        if (meta.sizes[k] < 0 || meta.strides[k] < 0) decline("a symbolic or negative size");
        if (meta.sizes[k] == 0) empty = true;
        if (meta.sizes[k] > 0 && meta.strides[k] > (INT64_MAX / 2) / meta.sizes[k]) decline("absurd strides");
        extent += (meta.sizes[k] - 1) * meta.strides[k];
      }
      int64_t numel = 1;
      for (const int64_t d : meta.sizes) numel = (d == 0 || numel == 0) ? 0 : (numel > INT64_MAX / d ? INT64_MAX : numel * d);
      const auto bytes = static_cast<int64_t>(entry->size);
      if (numel > bytes / element) decline("a weight file shorter than its shape");
      const int64_t needed = empty ? 0 : (extent + 1);
      if (extent < 0 || needed > bytes / element) decline("a weight file shorter than its shape");
      f.numel = numel;
      f.element_size = element;
      f.sizes = meta.sizes;
      f.requires_grad = spec.kind == ExportInputSpec::Kind::kParameter && meta.requires_grad && floating_scalar_type(meta.dtype);
    }
    state[spec.placeholder] = &f;
  }
  std::vector<InputSpec> example_inputs;
  for (const ExportInputSpec& spec : program.input_specs) {
    if (spec.kind != ExportInputSpec::Kind::kUserInput) continue;
    const auto meta = program.tensor_values.find(spec.placeholder);
    const bool known = meta != program.tensor_values.end() && !meta->second.sizes.empty() && meta->second.sizes.size() <= kMaxInputRank &&
                       std::none_of(meta->second.sizes.begin(), meta->second.sizes.end(), [](int64_t d) { return d <= 0; });
    if (!known || (meta->second.dtype != 5 && meta->second.dtype != 6 && meta->second.dtype != 7 && meta->second.dtype != 8)) {
      example_inputs.clear();
      break;
    }
    const int d = meta->second.dtype;
    example_inputs.push_back(InputSpec{meta->second.sizes, d == 5 ? DType::kInt64 : d == 6 ? DType::kFloat16 : d == 8 ? DType::kFloat64 : DType::kFloat32});
  }
  const int64_t format_version = program.schema_major;
  const ExportReader reader(std::move(program), std::move(state));
  const ModuleTree& tree = reader.tree();

  Summary summary;
  int64_t estimated = 0;
  const std::vector<InputSpec>& inputs = request.inputs.empty() ? example_inputs : request.inputs;
  if (inputs.empty()) {
    summary.records = build_layer_records_without_input(tree);
  } else {
    // capture_module_calls: the input count, then the memory guard's record of these shapes.
    if (inputs.size() != reader.user_inputs().size()) decline("another number of inputs");
    if (inputs.size() != example_inputs.size()) decline("inputs other than the exported ones");
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      if (inputs[i].shape != example_inputs[i].shape || inputs[i].dtype != example_inputs[i].dtype) decline("inputs other than the exported ones");
    }
    if (!reader.fully_recorded()) decline("a program whose record has symbolic sizes");
    const std::vector<ModuleCall> calls = reader.replay();
    for (const InputSpec& s : inputs) {
      int64_t bytes = 0;
      if (__builtin_mul_overflow(shape_numel(s.shape), dtype_size(s.dtype), &bytes) || __builtin_add_overflow(estimated, bytes, &estimated)) {
        estimated = std::numeric_limits<int64_t>::max();
      }
    }
    for (const ModuleCall& call : calls) {
      if (!tree.nodes[static_cast<std::size_t>(call.node)].is_leaf) continue;
      int64_t bytes = 0;
      if (__builtin_mul_overflow(shape_numel(call.output_shape), call.output_elem_bytes, &bytes) ||
          __builtin_add_overflow(estimated, bytes, &estimated)) {
        estimated = std::numeric_limits<int64_t>::max();
      }
    }
    // The memory guard's check of the same estimate: past the limit, the full path gives its error.
    if (request.max_memory_bytes > 0 && estimated > request.max_memory_bytes) decline("an estimate above the memory limit");
    summary.records = build_layer_records(tree, calls, false);
  }
  // After every check that may decline: the file's hash, when asked, is the last cost.
  summary.context = summary_context(request, file.size(), format_version, tree, "cpu", example_inputs);
  summary.context.memory_estimate_bytes = estimated;
  summary.stats = compute_summary_stats(summary.records, tree, inputs);
  return summary;
}


}  // namespace cnnviz::archive_summary
