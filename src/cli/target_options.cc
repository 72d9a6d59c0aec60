#include "target_options.h"

namespace cnnviz::cli {

CLI::Option* add_target_options(CLI::App& app, TargetOptions& o) {
  CLI::Option* cls = app.add_option("--class", o.target_class, "Class index to explain (default: the top-1 class); short for --target class:K");
  app.add_option("--target", o.target,
                 "What to explain: class[:K] (raw score), softmax[:K], seg:K|auto[:MASK.png] (a class's logits summed over its "
                 "arg-max pixels or a mask; dict outputs use 'out'), output:I (one of a few outputs). docs/cli.md, Targets")
      ->excludes(cls);
  return cls;
}

Target target_of(const TargetOptions& o) {
  if (!o.target.empty()) return parse_target(o.target);
  Target t;
  t.index = o.target_class;
  return t;
}

}  // namespace cnnviz::cli
