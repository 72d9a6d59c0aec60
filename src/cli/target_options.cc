#include "target_options.h"

#include "common_options.h"

namespace cnnviz::cli {

CLI::Option* add_target_options(CLI::App& app, TargetOptions& o) {
  CLI::Option* cls = app.add_option("--class", o.target_class, "Class index to explain (default: the top-1 class); short for --target class:K");
  app.add_option("--target", o.target,
                 "What to explain: class[:K] (raw score), softmax[:K], seg:K|auto[:MASK.png] (a class's logits summed over its "
                 "arg-max pixels or a mask; dict outputs use 'out'), output:I (one of a few outputs), box[:K[:X1,Y1,X2,Y2]] (a detector's "
                 "box: IoU + score of the detection matching it; default for detectors: the best detection). docs/cli.md, Targets")
      ->excludes(cls);
  return cls;
}

Target target_of(const TargetOptions& o) {
  if (!o.target.empty()) return parse_target(o.target);
  Target t;
  t.index = o.target_class;
  return t;
}

void adapt_to_detector(const Model& model, const std::string& model_path, const Image& image, const ImageOptions& i,
                       const TargetOptions& options, PreprocessOptions& pre, Target& target) {
  if (!model.takes_image_list()) return;
  if (i.input.empty() && i.resize == 0 && i.crop == 0 && i.mean.empty() && i.std.empty() && !i.no_normalize) {
    pre.height = image.height;
    pre.width = image.width;
    pre.normalize = false;
    print_note("'" + model_path + "' is a detector (its forward takes a list of images): the image goes in at its own size, " +
               std::to_string(image.width) + " x " + std::to_string(image.height) + ", in [0, 1]; the model resizes and normalises it");
  }
  if (options.target.empty() && !options.target_class) target = Target{TargetKind::kBox, std::nullopt, {}, std::nullopt};
}

}  // namespace cnnviz::cli
