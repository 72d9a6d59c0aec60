#include "attribution/target_score.h"

#include "cnnviz/error.h"
#include "cnnviz/image.h"
#include "cnnviz/input_spec.h"
#include "capture/forward_run.h"

namespace cnnviz {
const at::Tensor& target_output(const Model::Impl& impl, const c10::IValue& output, int64_t n, const Target& target,
                                const std::string& explainers) {
  const at::Tensor* out = nullptr;
  if (output.isGenericDict()) {
    for (const auto& entry : output.toGenericDict()) {
      if (entry.key().isString() && entry.key().toStringRef() == "out" && entry.value().isTensor()) out = &entry.value().toTensor();
    }
  }
  if (!out) out = first_tensor(output, true);
  const std::string shape = out ? shape_to_string(out->sizes().vec()) : std::string("not a tensor");
  const std::string head = "the output of '" + impl.file.path + "' is " + shape;
  const bool batch = out && out->dim() >= 1 && out->size(0) == n;
  switch (target.kind) {
    case TargetKind::kClass:
    case TargetKind::kSoftmax:
      if (batch && out->dim() == 2) return *out;
      throw Error(ErrorKind::kData, head + ", not class scores [N, K]; " + explainers + " of a class explain classifiers" +
                                        (out && out->dim() == 4 ? " (for class maps [N, K, H, W] give --target seg:K)" : ""));
    case TargetKind::kSegmentation:
      if (batch && out->dim() == 4) return *out;
      throw Error(ErrorKind::kData, head + ", not class maps [N, K, H, W]; --target seg explains segmentation models" +
                                        (out && out->dim() == 2 ? " (for class scores [N, K] give --target class:K)" : ""));
    case TargetKind::kOutput:
      if (batch && out->dim() <= 2) return *out;
      throw Error(ErrorKind::kData, head + ", not [N] or [N, M]; --target output:I explains models with a few outputs per image");
  }
  throw Error(ErrorKind::kInternal, "unknown target kind");
}

int64_t default_index(const at::Tensor& row, const Target& target) {
  switch (target.kind) {
    case TargetKind::kClass:
    case TargetKind::kSoftmax: return row.argmax().item<int64_t>();
    case TargetKind::kOutput: return 0;
    case TargetKind::kSegmentation: {
      at::Tensor counts = at::bincount(row.argmax(0).flatten().to(at::kCPU), {}, row.size(0));
      counts[0] = 0;
      if (counts.max().item<int64_t>() == 0) {
        throw Error(ErrorKind::kData, "--target seg:auto: every pixel's arg-max is class 0 (the background); give --target seg:K");
      }
      return counts.argmax().item<int64_t>();
    }
  }
  return 0;
}

void check_target_index(const at::Tensor& out, const Target& target, int64_t index) {
  const int64_t count = out.dim() >= 2 ? out.size(1) : 1;
  const std::string what = target.kind == TargetKind::kOutput ? "outputs" : "classes";
  if (index < 0 || index >= count) {
    const std::string given = target.kind == TargetKind::kClass ? "--class " + std::to_string(index) : "--target " + target_text(target, static_cast<int>(index));
    throw Error::usage(given + " is out of range: the model has " + std::to_string(count) + " " + what + " (0 to " +
                       std::to_string(count - 1) + ")");
  }
}

at::Tensor segmentation_masks(const at::Tensor& out, const Target& target, const at::Tensor& indices) {
  const int64_t n = out.size(0), h = out.size(2), w = out.size(3);
  at::Tensor masks;
  if (!target.mask_path.empty()) {
    const Image image = load_image(target.mask_path);
    const at::Tensor pixels = at::from_blob(const_cast<uint8_t*>(image.pixels.data()), {image.height, image.width, image.channels}, at::kByte);
    const at::Tensor given = (pixels.select(2, 0) != 0).to(at::kFloat).unsqueeze(0).unsqueeze(0);
    masks = at::upsample_nearest2d(given, {h, w})[0].expand({n, h, w}).contiguous().to(out.device());
  } else {
    const at::Tensor best = out.detach().argmax(1);  // [N, H, W]
    masks = (best == indices.to(out.device()).view({n, 1, 1})).to(at::kFloat);
  }
  for (int64_t i = 0; i < n; ++i) {
    if (masks[i].sum().item<float>() == 0) {
      throw Error(ErrorKind::kData, "--target " + target_text(target, static_cast<int>(indices[i].item<int64_t>())) +
                                        ": the mask is empty" + (target.mask_path.empty() ? " (no pixel has this class as its arg-max)" : "") +
                                        "; pick another class or give a mask, seg:K:MASK.png");
    }
  }
  return masks;
}

at::Tensor target_scores(const at::Tensor& out, const Target& target, const at::Tensor& indices, const at::Tensor& masks) {
  const at::Tensor idx = indices.to(out.device());
  switch (target.kind) {
    case TargetKind::kClass: return out.gather(1, idx.unsqueeze(1)).squeeze(1);
    case TargetKind::kSoftmax: return at::softmax(out, -1).gather(1, idx.unsqueeze(1)).squeeze(1);
    case TargetKind::kOutput: return out.dim() == 1 ? out : out.gather(1, idx.unsqueeze(1)).squeeze(1);
    case TargetKind::kSegmentation: {
      const at::Tensor maps = out.gather(1, idx.view({-1, 1, 1, 1}).expand({out.size(0), 1, out.size(2), out.size(3)})).squeeze(1);
      return (maps * masks.to(out.dtype())).sum({1, 2});
    }
  }
  throw Error(ErrorKind::kInternal, "unknown target kind");
}

at::Tensor scale_min_max(const at::Tensor& m) {
  const at::Tensor shifted = m - m.min();
  return shifted / (1e-7 + shifted.max());
}

at::Tensor to_nchw(const at::Tensor& t, const Layout& layout) {
  switch (layout.kind) {
    case Layout::Kind::kNchw: return t;
    case Layout::Kind::kNhwc: return t.permute({0, 3, 1, 2}).contiguous();
    case Layout::Kind::kTokens:
      return t.slice(1, layout.extra_tokens).reshape({t.size(0), layout.rows, layout.cols, t.size(2)}).permute({0, 3, 1, 2}).contiguous();
    case Layout::Kind::kNone: break;
  }
  throw Error(ErrorKind::kInternal, "to_nchw: no layout");
}

}  // namespace cnnviz
