#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cnnviz/summary.h"
#include "common_options.h"

namespace cnnviz::cli {

/// Options of `cnnviz summary`, named as torchinfo's summary() arguments.
struct SummaryOptions {
  std::vector<std::string> models;      ///< one or more model files, summarised in order
  std::vector<std::string> inputs;      ///< --input, one per forward argument
  std::vector<std::string> dtypes;      ///< --dtype: none, one for all inputs, or one per input
  int depth = 3;
  std::vector<std::string> columns;     ///< --columns; default output_size,num_params
  std::vector<std::string> row_settings = {"depth"};
  std::string format = "text";
  std::optional<int64_t> expect_params;
  std::optional<int64_t> expect_mult_adds;
  bool flops = false;                   ///< --flops: count fvcore's FLOPs (a column, totals, JSON)
  bool load = false;                    ///< --load: load the model with LibTorch even where the file answers
  std::optional<int64_t> expect_flops;
  std::string expect_file;              ///< --expect-file: a manifest, one JSON line per model
  std::string write_expect_file;        ///< --write-expect-file: writes the manifest of this run
  CommonOptions common;
};

CLI::App* add_summary_command(CLI::App& app, SummaryOptions& options);

/// The summary of request.model_path: read from the file alone where it can answer (no LibTorch
/// start-up, nothing run: summarize_from_archive), else, or with `load`, from the model LibTorch loads
/// (summarize_model). Both give the same output.
Summary summarize(const SummaryRequest& request, bool load);
void run_summary_command(const SummaryOptions& options);

}  // namespace cnnviz::cli
