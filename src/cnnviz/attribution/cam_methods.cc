// The CAM methods' names and settings: plain data, no LibTorch, so that --help, completions and option
// checks answer without loading it. How each method computes its map is in cam.cc.

#include "cnnviz/cam.h"
#include "cnnviz/name_table.h"

namespace cnnviz {

// One row per method, in enum order. Names, --help, the batch settings record (by name) and the tests'
// method loops all come from it.
const std::vector<CamMethodInfo>& cam_methods() {
  static const std::vector<CamMethodInfo> infos = {
      {CamMethod::kGradCam, "gradcam", "Selvaraju et al. 2017", true, false},
      {CamMethod::kGradCamPlusPlus, "gradcam++", "Chattopadhay et al. 2018", true, false},
      {CamMethod::kXGradCam, "xgradcam", "Fu et al. 2020", true, false},
      {CamMethod::kLayerCam, "layercam", "Jiang et al. 2021", true, false},
      {CamMethod::kHiResCam, "hirescam", "Draelos & Carin 2020", true, false},
      {CamMethod::kEigenCam, "eigencam", "Muhammad & Yeasin 2020", false, false},
      {CamMethod::kGradCamElementWise, "gradcamelementwise", "pytorch-grad-cam's GradCAMElementWise", true, false},
      {CamMethod::kScoreCam, "scorecam", "Wang et al. 2020", false, true},
      {CamMethod::kEigenGradCam, "eigengradcam", "pytorch-grad-cam's EigenGradCAM", true, false},
      {CamMethod::kFem, "fem", "Fuad et al. 2020", false, false},
      {CamMethod::kRandomCam, "randomcam", "pytorch-grad-cam's RandomCAM (a baseline)", false, false},
      {CamMethod::kAblationCam, "ablationcam", "Desai & Ramaswamy 2020", false, true},
      {CamMethod::kKpcaCam, "kpca_cam", "Karmani et al. 2024", false, false},
      {CamMethod::kFullGrad, "fullgrad", "Srinivas & Fleuret 2019", true, false},
      {CamMethod::kShapleyCam, "shapleycam", "Cai 2025", true, false},
      {CamMethod::kFinerCam, "finercam", "Zhang et al. 2025", true, false},
  };
  return infos;
}

const std::vector<std::string>& cam_method_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v;
    for (const CamMethodInfo& info : cam_methods()) v.push_back(info.name);
    return v;
  }();
  return names;
}

CamMethod parse_cam_method(std::string_view name) {
  return static_cast<CamMethod>(name_index(cam_method_names(), name, "--method"));
}

}  // namespace cnnviz
