#pragma once

// Grad-CAM over many images: the batch loop of `cnnviz gradcam DIR -o OUTDIR` as a library function.
// Images are decoded and prepared one by one, stacked `batch_size` at a time into one compute_cams
// call, and each overlay is written atomically as soon as its chunk is done; finished overlays are
// skipped (so runs resume), and an image that fails is reported and skipped.

#include <functional>
#include <string>
#include <vector>

#include "cnnviz/batch_source.h"
#include "cnnviz/cam.h"
#include "cnnviz/cam_metrics.h"
#include "cnnviz/colormap.h"
#include "cnnviz/image.h"
#include "cnnviz/model.h"
#include "cnnviz/preprocess.h"

namespace cnnviz {

/// What a batch run does to every image.
struct CamBatchRequest {
  CamRequest cam;          ///< method, class or top-k, memory limit; layer -1: auto, from the first chunk
  PreprocessOptions pre;
  ImageLimits limits;
  int batch_size = 16;     ///< images per forward (and ScoreCAM's masked inputs per forward)
  bool overwrite = false;  ///< redo images whose outputs exist
  float image_weight = 0.5f;
  Colormap colormap = Colormap::kJet;
  bool metrics = false;    ///< compute each map's faithfulness figures (cam_confidence): one more forward per chunk
  std::vector<std::string> metric_names;  ///< with metrics: the names asked (the ROAD ones are computed only when named)
  RoadOptions road;        ///< with a ROAD metric: its percentiles and seed
};

/// One outcome, reported as it happens: per image, or per image and rank with top-k. `item` points into
/// the caller's items; `cam` is valid only during the call.
struct CamBatchEvent {
  enum class Status { kOk, kSkipped, kError };
  const BatchItem* item = nullptr;
  Status status = Status::kOk;
  std::string output;             ///< the overlay's path (ranked with top-k)
  int rank = 0;                   ///< 1, 2, ... with top-k; 0 without
  const CamResult* cam = nullptr; ///< with kOk
  std::string message;            ///< with kError: the one-line reason
  const CamConfidence* confidence = nullptr;  ///< with kOk and CamBatchRequest::metrics
};

/// What a batch run did.
struct CamBatchTotals {
  int written = 0;  ///< images whose outputs were all written
  int skipped = 0;  ///< images already done
  int failed = 0;   ///< images reported with kError
  int layer = -1;   ///< the layer explained (the auto choice when cam.layer was -1)
  CamMetricTotals metrics;  ///< with CamBatchRequest::metrics: sums over the maps written
  std::vector<std::string> notes;  ///< for the user, once (the memory guard's)
};

/// Runs the batch: the memory guard once before any image (an image of the input's size stands in for
/// all, `batch_size` per forward), then chunk by chunk. Creates the outputs' folders. `on_event` sees
/// every outcome in order; `on_chunk` (may be empty) runs after each chunk with the totals so far.
/// Throws only what stops the whole run (the memory guard, a layer that does not fit); an image's own
/// failure is an event.
CamBatchTotals run_cam_batch(Model& model, const std::vector<BatchItem>& items, const CamBatchRequest& request,
                             const std::function<void(const CamBatchEvent&)>& on_event,
                             const std::function<void(const CamBatchTotals&)>& on_chunk = {});

}  // namespace cnnviz
