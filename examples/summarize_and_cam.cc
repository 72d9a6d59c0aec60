// Summarises a model as torchinfo does and explains an image with Grad-CAM, through libcnnviz alone:
//
//   summarize_and_cam MODEL.pt IMAGE.png OVERLAY.png
//
// prints the summary table at the image's input shape (the same bytes as `cnnviz summary MODEL --input
// 1,3,224,224`), then the explained class, and writes the Grad-CAM overlay. Errors are cnnviz::Error, with
// the exit code `cnnviz` itself would use.
#include <cstdio>
#include <exception>

#include "cnnviz/cam.h"
#include "cnnviz/error.h"
#include "cnnviz/image.h"
#include "cnnviz/image_run.h"
#include "cnnviz/output_file.h"
#include "cnnviz/overlay.h"
#include "cnnviz/summary.h"
#include "cnnviz/summary_text.h"
#include "cnnviz/version.h"

#if CNNVIZ_VERSION_NUMBER < 100
#error "this example needs cnnviz 0.1.0 or later"
#endif

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s MODEL IMAGE OVERLAY.png\n", argv[0]);
    return 2;
  }
  try {
    // The summary: load, run at [1, 3, 224, 224], build torchinfo's rows and totals, render its table.
    cnnviz::SummaryRequest request;
    request.model_path = argv[1];
    request.inputs = {cnnviz::InputSpec{{1, 3, 224, 224}, cnnviz::DType::kFloat32}};
    const cnnviz::Summary summary = cnnviz::summarize_model(request);
    std::printf("%s\n", cnnviz::render_summary_text(summary.records, summary.stats, cnnviz::TextOptions{}).c_str());

    // Grad-CAM of the top-1 class at the last spatial layer (the layer left to cnnviz: -1).
    cnnviz::Model model = cnnviz::load_model(argv[1], cnnviz::DeviceKind::kCpu);
    const cnnviz::Image image = cnnviz::load_image(argv[2]);
    cnnviz::CamRequest cam;
    cam.method = cnnviz::CamMethod::kGradCam;
    const cnnviz::ImageCams explained = cnnviz::run_cam_image(model, image, cnnviz::PreprocessOptions{}, cam);
    const cnnviz::CamResult& result = explained.cams.front();
    std::printf("cnnviz %s: Grad-CAM of %s at %s, score %.4f\n", cnnviz::cnnviz_version().c_str(), result.target.c_str(),
                model.tree().nodes.at(static_cast<std::size_t>(explained.layer)).path.c_str(), result.target_score);
    cnnviz::write_file_atomically(argv[3], cnnviz::encode_png(cnnviz::overlay_heatmap(explained.image.seen, result.map)));
    return 0;
  } catch (const cnnviz::Error& e) {
    std::fprintf(stderr, "summarize_and_cam: %s\n", e.what());
    return cnnviz::exit_code(e.kind());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "summarize_and_cam: %s\n", e.what());
    return 1;
  }
}
