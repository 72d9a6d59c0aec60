#include "attribution/target_score.h"

#include <cstdio>

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
  if (target.kind != TargetKind::kBox && is_detector_output(output)) {
    throw Error(ErrorKind::kData, "the output of '" + impl.file.path + "' is a detector's (boxes, labels, scores); " + explainers +
                                      " of a detector explain a box: give --target box, box:K or box:K:X1,Y1,X2,Y2");
  }
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
    case TargetKind::kBox: break;  // detections_of()
  }
  throw Error(ErrorKind::kInternal, "unknown target kind");
}

int64_t default_index(const at::Tensor& row, const Target& target) {
  switch (target.kind) {
    case TargetKind::kClass:
    case TargetKind::kSoftmax: return row.argmax().item<int64_t>();
    case TargetKind::kOutput:
    case TargetKind::kBox: return 0;
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
    case TargetKind::kBox: break;  // box_score()
  }
  throw Error(ErrorKind::kInternal, "unknown target kind");
}

namespace {

// The detections list of a detector's output, or null.
const c10::IValue* detection_list(const c10::IValue& output) {
  auto is_list_of_detections = [](const c10::IValue& v) {
    if (!v.isList()) return false;
    for (const c10::IValue& item : v.toListRef()) {
      if (!item.isGenericDict()) return false;
      const c10::Dict<c10::IValue, c10::IValue> d = item.toGenericDict();
      for (const char* key : {"boxes", "labels", "scores"}) {
        const auto it = d.find(c10::IValue(std::string(key)));
        if (it == d.end() || !it->value().isTensor()) return false;
      }
    }
    return true;
  };
  if (is_list_of_detections(output)) return &output;
  if (output.isTuple()) {
    for (const c10::IValue& item : output.toTupleRef().elements()) {
      if (is_list_of_detections(item)) return &item;
    }
  }
  return nullptr;
}

at::Tensor entry(const c10::IValue& item, const char* key) {
  return item.toGenericDict().at(c10::IValue(std::string(key))).toTensor();
}

}  // namespace

bool is_detector_output(const c10::IValue& output) { return detection_list(output) != nullptr; }

std::vector<DetectionTensors> detections_of(const Model::Impl& impl, const c10::IValue& output, int64_t n, const std::string& explainers) {
  const c10::IValue* list = detection_list(output);
  if (!list) {
    const at::Tensor* t = first_tensor(output, true);
    throw Error(ErrorKind::kData, "the output of '" + impl.file.path + "' is " + (t ? shape_to_string(t->sizes().vec()) : std::string("not a tensor")) +
                                      ", not a detector's boxes, labels and scores; " + explainers +
                                      " of a box explain detectors (torchvision's Faster R-CNN, RetinaNet, ...)");
  }
  std::vector<DetectionTensors> out;
  for (const c10::IValue& item : list->toListRef()) {
    const at::Tensor boxes = entry(item, "boxes"), labels = entry(item, "labels"), scores = entry(item, "scores");
    if (boxes.dim() != 2 || boxes.size(1) != 4 || labels.dim() != 1 || scores.dim() != 1 || labels.size(0) != boxes.size(0) ||
        scores.size(0) != boxes.size(0)) {
      throw Error(ErrorKind::kData, "the detections of '" + impl.file.path + "' are boxes " + shape_to_string(boxes.sizes().vec()) + ", labels " +
                                        shape_to_string(labels.sizes().vec()) + " and scores " + shape_to_string(scores.sizes().vec()) +
                                        ", not [K, 4], [K] and [K]");
    }
    out.push_back({boxes, labels, scores});
  }
  if (static_cast<int64_t>(out.size()) != n) {
    throw Error(ErrorKind::kData, "'" + impl.file.path + "' returned detections for " + std::to_string(out.size()) + " images, not " + std::to_string(n));
  }
  return out;
}

std::vector<Detection> detection_records(const DetectionTensors& d) {
  const at::Tensor boxes = d.boxes.detach().to(at::kCPU, at::kFloat).contiguous();
  const at::Tensor labels = d.labels.detach().to(at::kCPU, at::kLong).contiguous();
  const at::Tensor scores = d.scores.detach().to(at::kCPU, at::kFloat).contiguous();
  std::vector<Detection> records(static_cast<std::size_t>(boxes.size(0)));
  for (std::size_t k = 0; k < records.size(); ++k) {
    const auto i = static_cast<int64_t>(k);
    records[k].label = static_cast<int>(labels[i].item<int64_t>());
    records[k].score = scores[i].item<float>();
    for (int64_t j = 0; j < 4; ++j) records[k].box[static_cast<std::size_t>(j)] = boxes[i][j].item<float>();
  }
  return records;
}

Target resolve_box_target(const DetectionTensors& d, const Target& target) {
  if (target.box) return target;
  const std::vector<Detection> found = detection_records(d);
  const Detection* best = nullptr;
  for (const Detection& det : found) {
    if (target.index && det.label != *target.index) continue;
    if (!best || det.score > best->score) best = &det;
  }
  if (!best) {
    throw Error(ErrorKind::kData, "--target " + target_text(target, target.index.value_or(0)) + ": the model detected " +
                                      (target.index ? "no object of label " + std::to_string(*target.index) : std::string("nothing")) +
                                      " in the image (" + std::to_string(found.size()) +
                                      " detections above its score threshold); give the box to explain, box:K:X1,Y1,X2,Y2");
  }
  Target resolved = target;
  resolved.index = best->label;
  resolved.box = best->box;
  return resolved;
}

at::Tensor box_score(const DetectionTensors& d, const Target& resolved) {
  const auto& b = *resolved.box;
  const std::string text = target_text(resolved, resolved.index.value_or(0));
  if (d.boxes.size(0) == 0) {
    throw Error(ErrorKind::kData, "--target " + text + ": the model detected nothing in the image, so no detection overlaps the box");
  }
  // torchvision.ops.box_iou of the box with every detection, in the graph (the boxes depend on the
  // layer too, so the IoU is part of what is explained, as in pytorch-grad-cam).
  const at::Tensor given = at::tensor({b[0], b[1], b[2], b[3]}, d.boxes.options().requires_grad(false));
  const at::Tensor top_left = at::max(d.boxes.slice(1, 0, 2), given.slice(0, 0, 2));
  const at::Tensor bottom_right = at::min(d.boxes.slice(1, 2, 4), given.slice(0, 2, 4));
  const at::Tensor wh = (bottom_right - top_left).clamp_min(0);
  const at::Tensor inter = wh.select(1, 0) * wh.select(1, 1);
  const at::Tensor areas = (d.boxes.select(1, 2) - d.boxes.select(1, 0)) * (d.boxes.select(1, 3) - d.boxes.select(1, 1));
  const at::Tensor ious = inter / ((b[2] - b[0]) * (b[3] - b[1]) + areas - inter);
  const int64_t best = ious.detach().argmax().item<int64_t>();
  const float iou = ious[best].item<float>();
  const int64_t label = d.labels[best].item<int64_t>();
  if (!(iou > 0.5f) || label != resolved.index.value_or(-1)) {
    char detail[160];
    std::snprintf(detail, sizeof detail, "the best overlap is a detection of label %lld with IoU %.3f", static_cast<long long>(label),
                  static_cast<double>(iou));
    throw Error(ErrorKind::kData, "--target " + text + ": no detection of label " + std::to_string(resolved.index.value_or(-1)) +
                                      " overlaps the box with IoU above 0.5 (" + detail + "); pick a detected box (gradcam prints them)");
  }
  return ious[best] + d.scores[best];
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
