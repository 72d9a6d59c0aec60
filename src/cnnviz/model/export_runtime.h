#pragma once

// Private to libcnnviz: the torch.export runtime (a `.pt2` archive from torch.export.save) behind the
// ModelRuntime interface.

#include <c10/core/Device.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "cnnviz/input_file.h"
#include "cnnviz/model.h"
#include "cnnviz/zip_archive.h"
#include "model/model_runtime.h"

namespace cnnviz {

/// Whether the zip archive is a torch.export archive (`<prefix>/archive_format` says "pt2", or it holds
/// `<prefix>/models/*.json`, or PyTorch 2.6's `serialized_exported_program.json`), read from its central
/// directory.
bool is_export_archive(ZipArchive& zip);

/// Loads a `.pt2` archive: the program of `models/<name>.json`, its weights and constants, every
/// operator resolved in LibTorch's dispatcher, then everything moved to the device `resolve_device`
/// names (asked after the file's checks). Fills `info`. Throws Error(kModel) naming what is wrong: an
/// AOTInductor package, a schema or operator this build does not know, missing or short weights.
std::unique_ptr<ModelRuntime> load_export_program(const InputFile& file, ZipArchive& zip,
                                                  const std::function<c10::Device()>& resolve_device, ModelFileInfo& info);

}  // namespace cnnviz
