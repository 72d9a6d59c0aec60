#include "cnnviz/cam_batch.h"

#include <algorithm>
#include <filesystem>

#include "cnnviz/error.h"
#include "cnnviz/model_input.h"
#include "cnnviz/output_file.h"
#include "cnnviz/overlay.h"

namespace cnnviz {

CamBatchTotals run_cam_batch(Model& model, const std::vector<BatchItem>& items, const CamBatchRequest& request,
                             const std::function<void(const CamBatchEvent&)>& on_event,
                             const std::function<void(const CamBatchTotals&)>& on_chunk) {
  namespace fs = std::filesystem;
  using Status = CamBatchEvent::Status;
  const int top_k = request.cam.top_k;
  const int ranks = std::max(1, top_k);
  CamRequest cam = request.cam;
  CamBatchTotals totals;
  totals.layer = cam.layer;
  auto done = [&](const BatchItem& item) {
    for (int r = 1; r <= ranks; ++r) {
      if (!fs::exists(ranked_path(item.output, r, top_k))) return false;
    }
    return true;
  };
  auto report = [&](const BatchItem& item, Status status, const CamResult* result, const std::string& message, int rank = 0,
                    const CamConfidence* confidence = nullptr) {
    on_event(CamBatchEvent{&item, status, ranked_path(item.output, rank == 0 ? 1 : rank, top_k), rank, result, message, confidence});
  };

  MemoryCheck memory;
  if (!items.empty()) {
    // Once, before any image: every chunk has at most this shape. With an auto layer, the root's
    // gradient, and the layer is picked from this dry run.
    const PreprocessOptions& pre = request.pre;
    const Image typical{static_cast<int>(pre.width), static_cast<int>(pre.height), static_cast<int>(pre.channels), {}};
    memory = check_image_forward(model, typical, pre,
                                 {cam.max_memory_bytes, std::min<int64_t>(request.batch_size, static_cast<int64_t>(items.size())),
                                  std::max(cam.layer, 0)});
    cam.input_checked = true;
    totals.notes = memory.notes;
  }

  std::size_t next = 0;
  while (next < items.size()) {
    std::vector<const BatchItem*> chunk;
    std::vector<Image> seen;
    FloatArray batch;
    while (next < items.size() && static_cast<int>(chunk.size()) < request.batch_size) {
      const BatchItem& item = items[next++];
      if (!request.overwrite && done(item)) {
        ++totals.skipped;
        report(item, Status::kSkipped, nullptr, "");
        continue;
      }
      try {
        ModelImage prepared = prepare_image(load_image(item.image, request.limits), request.pre, cam.max_memory_bytes, item.image);
        batch.values.insert(batch.values.end(), prepared.input.values.begin(), prepared.input.values.end());
        batch.shape = prepared.input.shape;
        seen.push_back(std::move(prepared.seen));
        chunk.push_back(&item);
      } catch (const Error& e) {
        ++totals.failed;
        report(item, Status::kError, nullptr, e.what());
      }
    }
    if (chunk.empty()) continue;
    batch.shape[0] = static_cast<int64_t>(chunk.size());
    if (cam.layer < 0) {
      const int64_t one = batch.shape[1] * batch.shape[2] * batch.shape[3];
      const FloatArray first{{1, batch.shape[1], batch.shape[2], batch.shape[3]},
                             std::vector<float>(batch.values.begin(), batch.values.begin() + one)};
      cam.layer = totals.layer = auto_cam_layer(model, first, memory.calls, cam.reshape, cam_methods().at(static_cast<std::size_t>(cam.method)).needs_gradients);
    }
    const std::vector<CamResult> cams = compute_cams(model, batch, cam, {}, request.batch_size);
    const std::vector<CamConfidence> confidence = request.metrics ? cam_confidence(model, batch, cams, cam, request.metric_names, request.road) : std::vector<CamConfidence>{};
    for (std::size_t i = 0; i < chunk.size(); ++i) {
      const BatchItem& item = *chunk[i];
      try {
        std::error_code ec;
        fs::create_directories(fs::path(item.output).parent_path(), ec);
        for (int r = 0; r < ranks; ++r) {
          const std::size_t at = i * static_cast<std::size_t>(ranks) + static_cast<std::size_t>(r);
          const CamResult& result = cams[at];
          write_file_atomically(ranked_path(item.output, r + 1, top_k),
                                encode_png(overlay_heatmap(seen[i], result.map, request.image_weight, request.colormap)));
          const CamConfidence* figures = confidence.empty() ? nullptr : &confidence[at];
          if (figures) totals.metrics.add(*figures);
          report(item, Status::kOk, &result, "", top_k ? r + 1 : 0, figures);
        }
        ++totals.written;
      } catch (const Error& e) {
        ++totals.failed;
        report(item, Status::kError, nullptr, e.what());
      }
    }
    if (on_chunk) on_chunk(totals);
  }
  return totals;
}

}  // namespace cnnviz
