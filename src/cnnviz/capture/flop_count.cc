// fvcore's formulas (fvcore/nn/jit_handles.py and flop_count.py's _DEFAULT_SUPPORTED_OPS, jit_analysis.py's
// _IGNORED_OPS), over the shapes of one ATen call.

#include "cnnviz/flop_count.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>

namespace cnnviz {
namespace {

int64_t prod(const std::vector<int64_t>& shape, std::size_t from = 0) {
  int64_t p = 1;
  for (std::size_t i = from; i < shape.size(); ++i) p *= shape[i];
  return p;
}

const std::vector<int64_t>* tensor(const std::vector<OpArg>& args, std::size_t i) {
  return i < args.size() && args[i].kind == OpArg::Kind::kTensor ? &args[i].shape : nullptr;
}

// Operators fvcore skips silently (_IGNORED_OPS), and operators that only move, view or make data.
bool ignored(std::string_view op) {
  static const std::set<std::string, std::less<>> names = {
      // fvcore's _IGNORED_OPS
      "aten::Int", "aten::ScalarImplicit", "aten::__and__", "aten::arange", "aten::bitwise_not", "aten::cat", "aten::chunk",
      "aten::clamp", "aten::clamp_", "aten::constant_pad_nd", "aten::contiguous", "aten::copy_", "aten::detach", "aten::dropout",
      "aten::empty", "aten::eq", "aten::expand", "aten::flatten", "aten::floor", "aten::floor_divide", "aten::full",
      "aten::full_like", "aten::gather", "aten::ge", "aten::gt", "aten::index", "aten::index_put_", "aten::masked_fill",
      "aten::max", "aten::narrow", "aten::new_empty", "aten::new_full", "aten::new_zeros", "aten::nonzero", "aten::ones",
      "aten::permute", "aten::relu", "aten::relu_", "aten::remainder", "aten::reshape", "aten::roll", "aten::select",
      "aten::size", "aten::slice", "aten::split", "aten::split_with_sizes", "aten::squeeze", "aten::stack", "aten::t",
      "aten::to", "aten::transpose", "aten::type_as", "aten::unbind", "aten::unsqueeze", "aten::unsqueeze_", "aten::view",
      "aten::zeros", "aten::zeros_like",
      // the same kind of operator under the names scripted files and torch.export programs use
      "aten::_unsafe_view", "aten::alias", "aten::as_strided", "aten::clone", "aten::dim", "aten::dropout_",
      "aten::empty_like", "aten::expand_as", "aten::feature_dropout", "aten::detach_", "aten::lift_fresh", "aten::numel",
      "aten::ones_like", "aten::reshape_as", "aten::view_as", "aten::squeeze_", "aten::sym_size", "aten::_shape_as_tensor",
      "aten::len", "aten::list", "aten::__getitem__", "aten::tensor", "aten::scalar_tensor", "aten::zero_", "aten::fill_",
      "aten::item", "aten::_reshape_alias", "aten::slice_copy", "aten::select_copy", "aten::view_copy", "aten::permute_copy",
      "aten::unflatten", "aten::movedim", "aten::swapaxes", "aten::resize_", "aten::split_with_sizes_copy", "aten::identity",
      // making the random inputs of a summary, before the model runs
      "aten::rand", "aten::randn", "aten::uniform_", "aten::normal_", "aten::empty_strided", "aten::_to_copy",
      "aten::lift_fresh_copy",
  };
  return names.count(op) > 0;
}

// fvcore's einsum_flop_jit for two operands: the equation's letters renamed a, b, c, ... in order of
// first use; "abc,abd->acd" and "abc,adc->adb" counted exactly, any other from numpy's einsum_path:
// the product of every index's size, x 2 when an index is summed, as the path's report prints it
// ("%.3e", four significant digits), halved and floored.
std::optional<int64_t> einsum_two(std::string equation, const std::vector<std::vector<int64_t>>& shapes) {
  equation.erase(std::remove(equation.begin(), equation.end(), ' '), equation.end());
  if (shapes.size() != 2 || equation.find('.') != std::string::npos) return std::nullopt;
  std::map<char, char> rename;
  for (char& c : equation) {
    if (!std::isalpha(static_cast<unsigned char>(c))) continue;
    const auto [it, added] = rename.emplace(c, static_cast<char>('a' + rename.size()));
    c = it->second;
  }
  const std::size_t arrow = equation.find("->");
  const std::string lhs = equation.substr(0, arrow);
  const std::size_t comma = lhs.find(',');
  if (comma == std::string::npos) return std::nullopt;
  const std::string a = lhs.substr(0, comma), b = lhs.substr(comma + 1);
  if (a.size() != shapes[0].size() || b.size() != shapes[1].size()) return std::nullopt;
  if (equation == "abc,abd->acd" || equation == "abc,adc->adb") {
    // n c t x p, and n t g x c: both the first operand's product times one dimension of the second.
    return shapes[0][0] * shapes[0][1] * shapes[0][2] * (equation == "abc,abd->acd" ? shapes[1][2] : shapes[1][1]);
  }
  std::map<char, int64_t> size;
  std::map<char, int> uses;
  for (std::size_t i = 0; i < a.size(); ++i) size[a[i]] = shapes[0][i], ++uses[a[i]];
  for (std::size_t i = 0; i < b.size(); ++i) size[b[i]] = std::max(size[b[i]], shapes[1][i]), ++uses[b[i]];
  std::string out;
  if (arrow != std::string::npos) {
    out = equation.substr(arrow + 2);
  } else {
    for (const auto& [letter, n] : uses) {
      if (n == 1) out += letter;
    }
  }
  double overall = 1;
  for (const auto& [letter, n] : size) overall *= static_cast<double>(n);
  bool summed = false;
  for (const auto& [letter, n] : uses) summed = summed || out.find(letter) == std::string::npos;
  char printed[64];
  std::snprintf(printed, sizeof printed, "%.3e", overall * (summed ? 2 : 1));
  return static_cast<int64_t>(std::floor(std::strtod(printed, nullptr) / 2));
}

}  // namespace

OpFlops fvcore_flops(std::string_view op, const std::vector<OpArg>& in, const std::vector<OpArg>& out) {
  auto counted = [](int64_t flops) { return OpFlops{OpCounted::kCounted, flops}; };
  const std::vector<int64_t>* x = tensor(in, 0);
  if (op == "aten::addmm" || op == "aten::addmm_") {
    const auto *a = tensor(in, 1), *b = tensor(in, 2);
    if (a && b && a->size() == 2 && b->size() == 2) return counted((*a)[0] * (*a)[1] * (*b)[1]);
  } else if (op == "aten::linear") {
    const auto* w = tensor(in, 1);
    if (x && w && !x->empty() && !w->empty()) return counted(prod(*x) * (w->size() == 2 ? (*w)[0] : 1));
  } else if (op == "aten::bmm") {
    const auto* b = tensor(in, 1);
    if (x && b && x->size() == 3 && !b->empty()) return counted((*x)[0] * (*x)[1] * (*x)[2] * b->back());
  } else if (op == "aten::matmul" || op == "aten::mm") {
    const auto* b = tensor(in, 1);
    if (x && b && !x->empty() && b->size() >= 2) return counted(prod(*x) * b->back());
  } else if (op == "aten::conv1d" || op == "aten::conv2d" || op == "aten::conv3d" || op == "aten::convolution" ||
             op == "aten::_convolution" || op == "aten::conv_transpose1d" || op == "aten::conv_transpose2d" ||
             op == "aten::conv_transpose3d") {
    const auto* w = tensor(in, 1);
    const auto* y = tensor(out, 0);
    bool transposed = op.find("transpose") != std::string_view::npos;
    if ((op == "aten::convolution" || op == "aten::_convolution") && in.size() > 6 && in[6].kind == OpArg::Kind::kBool) transposed = in[6].flag;
    const auto* spatial = transposed ? x : y;
    if (x && w && spatial && spatial->size() >= 2) return counted((*x)[0] * prod(*w) * prod(*spatial, 2));
  } else if (op == "aten::einsum") {
    if (!in.empty() && in[0].kind == OpArg::Kind::kString && in.size() > 1 && in[1].kind == OpArg::Kind::kTensorList) {
      if (auto flops = einsum_two(in[0].text, in[1].shapes)) return counted(*flops);
    }
  } else if (op == "aten::batch_norm") {
    const bool affine = tensor(in, 1) != nullptr;
    const bool training = in.size() > 5 && in[5].kind == OpArg::Kind::kBool && in[5].flag;
    if (x) return counted(prod(*x) * (training ? (affine ? 5 : 4) : (affine ? 2 : 1)));
  } else if (op == "aten::group_norm" || op == "aten::layer_norm" || op == "aten::instance_norm") {
    const bool affine = tensor(in, op == "aten::instance_norm" ? 1 : 2) != nullptr;
    if (x && x->size() >= 2 && x->size() <= 5) return counted(prod(*x) * (affine ? 5 : 4));
  } else if (op == "aten::upsample_nearest2d" || op == "aten::upsample_bilinear2d" || op == "aten::grid_sampler") {
    const auto* y = tensor(out, 0);
    if (y) return counted(prod(*y) * (op == "aten::upsample_nearest2d" ? 1 : 4));
  } else if (op == "aten::adaptive_avg_pool2d") {
    if (x) return counted(prod(*x));
  } else if (op == "aten::_native_multi_head_attention") {
    // The fused inference path of nn.MultiheadAttention (scripted files with autograd off): what its
    // differentiable path counts, linear in-projections of query, key and value, the two attention
    // products, the out-projection.
    const auto *k = tensor(in, 1), *v = tensor(in, 2);
    if (x && k && v && x->size() == 3 && k->size() == 3) {
      const int64_t batch = (*x)[0], l = (*x)[1], s = (*k)[1], e = x->back();
      return counted(batch * (l * e * e + 2 * s * e * e) + 2 * batch * l * s * e + batch * l * e * e);
    }
  } else if (op == "aten::scaled_dot_product_attention") {
    const auto *k = tensor(in, 1), *v = tensor(in, 2);
    if (x && k && v && x->size() >= 2 && k->size() >= 2 && v->size() >= 2) {
      const int64_t batch = prod(*x) / ((*x)[x->size() - 2] * x->back());
      return counted(batch * (*x)[x->size() - 2] * (*k)[k->size() - 2] * (x->back() + v->back()));
    }
  } else if (ignored(op)) {
    return {OpCounted::kIgnored, 0};
  }
  return {};
}

}  // namespace cnnviz
