// Builds cnnviz's plain-data ModuleTree from a loaded TorchScript module.

#include <torch/csrc/jit/api/function_impl.h>
#include <torch/csrc/jit/ir/ir.h>

#include <regex>
#include <unordered_set>

#include "model/module_aliases.h"
#include "model/torchscript_runtime.h"

namespace cnnviz {
namespace {

// The Python class a TorchScript class name stands for: "__torch__.torch.nn.modules.activation.ReLU"
// and a traced file's "__torch__.torch.nn.modules.activation.___torch_mangle_3.ReLU" are both
// "torch.nn.modules.activation.ReLU".
std::string python_class_name(std::string name) {
  static const std::regex mangle("___torch_mangle_[0-9]+\\.");
  name = std::regex_replace(name, mangle, "");
  const std::string prefix = "__torch__.";
  return name.rfind(prefix, 0) == 0 ? name.substr(prefix.size()) : name;
}

std::optional<KernelSize> kernel_size_from_ivalue(const c10::IValue& v) {
  KernelSize k;
  if (v.isInt()) {
    k.dims = {v.toInt()};
    k.is_scalar = true;
  } else if (v.isIntList()) {
    k.dims = v.toIntVector();
  } else if (v.isTuple()) {
    for (const auto& e : v.toTupleRef().elements()) {
      if (!e.isInt()) return std::nullopt;
      k.dims.push_back(e.toInt());
    }
  } else {
    return std::nullopt;
  }
  return k;
}

// An int[] argument of a graph node: a list constant, or a ListConstruct of int constants.
std::optional<std::vector<int64_t>> int_list_argument(const torch::jit::Value* arg) {
  if (auto constant = torch::jit::toIValue(arg)) {
    if (constant->isIntList()) return constant->toIntVector();
    if (constant->isInt()) return std::vector<int64_t>{constant->toInt()};
    return std::nullopt;
  }
  if (arg->node()->kind() != c10::prim::ListConstruct) return std::nullopt;
  std::vector<int64_t> values;
  for (const torch::jit::Value* item : arg->node()->inputs()) {
    auto c = torch::jit::toIValue(item);
    if (!c || !c->isInt()) return std::nullopt;
    values.push_back(c->toInt());
  }
  return values;
}

// The first node of a module's forward graphs whose kind satisfies `match`.
template <typename Match>
const torch::jit::Node* find_forward_node(const torch::jit::Module& m, Match match) {
  for (const auto& method : m.get_methods()) {
    if (method.name().rfind("forward", 0) != 0) continue;
    auto& graph_fn = torch::jit::toGraphFunction(method.function());
    for (const torch::jit::Node* node : graph_fn.graph()->nodes()) {
      if (match(std::string(node->kind().toQualString()))) return node;
    }
  }
  return nullptr;
}

// Traced modules keep no `kernel_size` attribute: read the pooling op's kernel argument from the
// forward graph. The trace records an int list even where Python had an int (MaxPool2d(3)), so
// equal sides are shown as an int, as torchvision's pools are written; documented in docs/cli.md.
std::optional<KernelSize> pool_kernel_from_graph(const torch::jit::Module& m) {
  const torch::jit::Node* node = find_forward_node(m, [](const std::string& kind) {
    return kind.rfind("aten::", 0) == 0 && kind.find("pool") != std::string::npos && kind.find("adaptive") == std::string::npos;
  });
  if (!node || node->inputs().size() < 2) return std::nullopt;
  auto dims = int_list_argument(node->inputs()[1]);
  if (!dims || dims->empty()) return std::nullopt;
  KernelSize k{*dims, false};
  if (std::all_of(k.dims.begin(), k.dims.end(), [&](int64_t d) { return d == k.dims[0]; })) {
    k.dims.erase(k.dims.begin() + 1, k.dims.end());
    k.is_scalar = true;
  }
  return k;
}

std::optional<ConvParams> find_conv_params(const torch::jit::Module& m) {
  auto ints = [&](const char* name) -> std::optional<std::vector<int64_t>> {
    if (!m.hasattr(name)) return std::nullopt;
    const c10::IValue v = m.attr(name);
    if (v.isTuple()) {
      std::vector<int64_t> out;
      for (const auto& e : v.toTupleRef().elements()) {
        if (!e.isInt()) return std::nullopt;
        out.push_back(e.toInt());
      }
      return out;
    }
    if (v.isIntList()) return v.toIntVector();
    if (v.isInt()) return std::vector<int64_t>{v.toInt()};
    return std::nullopt;
  };
  ConvParams p;
  // Scripted: __constants__ of torch.nn.Conv*d.
  if (auto stride = ints("stride")) {
    p.stride = *stride;
    p.padding = ints("padding").value_or(std::vector<int64_t>{});
    p.dilation = ints("dilation").value_or(std::vector<int64_t>{});
    if (m.hasattr("groups") && m.attr("groups").isInt()) p.groups = m.attr("groups").toInt();
    if (m.hasattr("transposed") && m.attr("transposed").isBool()) p.transposed = m.attr("transposed").toBool();
    return p;
  }
  // Traced: aten::_convolution(input, weight, bias, stride, padding, dilation, transposed,
  // output_padding, groups, ...).
  const torch::jit::Node* node = find_forward_node(m, [](const std::string& kind) { return kind == "aten::_convolution"; });
  if (!node || node->inputs().size() < 9) return std::nullopt;
  p.stride = int_list_argument(node->inputs()[3]).value_or(std::vector<int64_t>{});
  p.padding = int_list_argument(node->inputs()[4]).value_or(std::vector<int64_t>{});
  p.dilation = int_list_argument(node->inputs()[5]).value_or(std::vector<int64_t>{});
  if (auto t = torch::jit::toIValue(node->inputs()[6]); t && t->isBool()) p.transposed = t->toBool();
  if (auto g = torch::jit::toIValue(node->inputs()[8]); g && g->isInt()) p.groups = g->toInt();
  return p;
}

std::optional<KernelSize> find_kernel_size(const torch::jit::Module& m, const std::string& class_name) {
  // Scripted modules keep it as a class constant (Conv2d, MaxPool2d list it in __constants__).
  if (m.hasattr("kernel_size")) {
    if (auto k = kernel_size_from_ivalue(m.attr("kernel_size"))) return k;
  }
  if (class_name.find("Conv") != std::string::npos && m.hasattr("weight")) {
    const c10::IValue w = m.attr("weight");
    if (w.isTensor() && w.toTensor().dim() >= 3) {
      const auto sizes = w.toTensor().sizes();
      return KernelSize{std::vector<int64_t>(sizes.begin() + 2, sizes.end()), false};
    }
  }
  if (class_name.find("Pool") != std::string::npos) return pool_kernel_from_graph(m);
  return std::nullopt;
}

bool is_exact_weight_or_bias(const std::string& name) { return name == "weight" || name == "bias"; }
bool mentions_weight_or_bias(const std::string& name) {
  return name.find("weight") != std::string::npos || name.find("bias") != std::string::npos;
}

void count_frozen_constants(const torch::jit::Module& root, ModuleTree& tree) {
  std::unordered_set<const c10::TensorImpl*> seen;
  for (const auto& method : root.get_methods()) {
    auto& graph_fn = torch::jit::toGraphFunction(method.function());
    for (const torch::jit::Node* node : graph_fn.graph()->nodes()) {
      if (node->kind() != c10::prim::Constant || !node->output()->type()->isSubtypeOf(*c10::TensorType::get())) {
        continue;
      }
      auto v = torch::jit::toIValue(node->output());
      if (!v || !v->isTensor()) continue;
      const at::Tensor& t = v->toTensor();
      if (!seen.insert(t.unsafeGetTensorImpl()).second) continue;
      tree.constant_tensors += 1;
      tree.constant_elements += t.numel();
      tree.constant_bytes += t.numel() * static_cast<int64_t>(t.element_size());
    }
  }
}

}  // namespace

ModuleTree build_module_tree(const torch::jit::Module& root, std::vector<torch::jit::Module>& modules,
                             std::unordered_map<const c10::ivalue::Object*, int>& node_of) {
  ModuleTree tree;
  std::unordered_map<std::string, int> index_of_path;
  // torch.jit.script turns `self.alias = self.shared` into two module objects that share their
  // parameter tensors: alias_targets folds them back into the one module the user wrote, so its second
  // call is "(recursive)" as in torchinfo.
  std::vector<std::vector<const void*>> signatures;
  std::vector<const c10::ivalue::Object*> object_of;
  for (const auto& named : root.named_modules()) {
    const torch::jit::Module& m = named.value;
    ModuleNode node;
    node.path = named.name;
    node.class_name = m.type()->name() ? m.type()->name()->name() : "Module";
    node.qualified_class = m.type()->name() ? python_class_name(m.type()->name()->qualifiedName()) : node.class_name;
    const auto dot = node.path.rfind('.');
    node.var_name = node.path.empty() ? node.class_name : node.path.substr(dot == std::string::npos ? 0 : dot + 1);
    node.depth = node.path.empty() ? 0 : 1 + static_cast<int>(std::count(node.path.begin(), node.path.end(), '.'));
    if (!node.path.empty()) {
      const std::string parent = dot == std::string::npos ? "" : node.path.substr(0, dot);
      auto it = index_of_path.find(parent);
      node.parent = it == index_of_path.end() ? 0 : it->second;
    }
    node.is_leaf = m.named_children().size() == 0;

    // named_parameters() of a subtree, each tensor once (as Python's named_parameters does).
    std::unordered_set<const c10::TensorImpl*> seen;
    std::vector<const void*> signature;
    for (const auto& p : m.named_parameters(/*recurse=*/true)) {
      if (!seen.insert(p.value.unsafeGetTensorImpl()).second) continue;
      signature.push_back(p.value.unsafeGetTensorImpl());
      const int64_t n = p.value.numel();
      node.num_params += n;
      if (p.value.requires_grad()) node.trainable_params += n;
      node.param_bytes += n * static_cast<int64_t>(p.value.element_size());
      if (is_exact_weight_or_bias(p.name)) {
        node.weight_bias_params += n;
      } else if (mentions_weight_or_bias(p.name)) {
        node.other_weight_bias_params += n;
      }
    }
    node.kernel_size = find_kernel_size(m, node.class_name);
    if (m.hasattr("weight") && m.attr("weight").isTensor()) node.weight_shape = m.attr("weight").toTensor().sizes().vec();
    if (node.class_name.find("Conv") != std::string::npos && !node.weight_shape.empty()) node.conv = find_conv_params(m);

    const int index = static_cast<int>(tree.nodes.size());
    index_of_path[node.path] = index;
    // A module object reachable under two names is attributed to the last one, as torchinfo's hook
    // registration does.
    node_of[m._ivalue().get()] = index;
    object_of.push_back(m._ivalue().get());
    modules.push_back(m);
    signatures.push_back(std::move(signature));
    tree.nodes.push_back(std::move(node));
  }
  const std::vector<int> target = alias_targets(tree, signatures);
  for (std::size_t i = 0; i < object_of.size(); ++i) node_of[object_of[i]] = target[i];

  std::unordered_set<const c10::TensorImpl*> seen;
  for (const auto& p : root.parameters(/*recurse=*/true)) {
    if (!seen.insert(p.unsafeGetTensorImpl()).second) continue;
    tree.total_params += p.numel();
    if (p.requires_grad()) tree.trainable_params += p.numel();
    tree.param_bytes += p.numel() * static_cast<int64_t>(p.element_size());
  }
  for (const auto& b : root.buffers(/*recurse=*/true)) tree.buffer_count += b.numel();

  if (tree.nodes.size() == 1 && tree.total_params == 0) {
    count_frozen_constants(root, tree);
    tree.frozen = tree.constant_tensors > 0;
    // Frozen weights are graph constants: count them as the (non-trainable) params of the root.
    tree.total_params = tree.nodes[0].num_params = tree.constant_elements;
    tree.param_bytes = tree.nodes[0].param_bytes = tree.constant_bytes;
  }
  return tree;
}

}  // namespace cnnviz
