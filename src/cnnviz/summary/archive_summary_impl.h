#pragma once

// Private to summary/: what the two halves of summarize_from_archive() share (archive_summary.cc reads
// TorchScript archives, archive_summary_export.cc torch.export programs).

#include <cstdint>
#include <string>

#include "cnnviz/input_file.h"
#include "cnnviz/summary.h"
#include "cnnviz/zip_archive.h"

namespace cnnviz::archive_summary {

/// Thrown when the archive alone cannot answer; summarize_from_archive turns it into nullopt.
struct Decline {
  std::string why;
};

[[noreturn]] inline void decline(const std::string& why) { throw Decline{why}; }

/// ZipArchive::read's checks of a stored entry that is not read: a sound local header, and the data
/// inside the file. Returns where the data begins. Declines otherwise.
uint64_t check_local_header(const InputFile& file, const ZipEntry& entry);

/// Whether the archive is a torch.export program (export_runtime.cc's is_export_archive).
bool is_export_archive(ZipArchive& zip);

/// The summary of a `.pt2` at its exported shapes, or a Decline.
Summary summarize_export(const SummaryRequest& request, const InputFile& file, ZipArchive& zip);

}  // namespace cnnviz::archive_summary
