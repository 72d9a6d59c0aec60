#pragma once

// Instant answers: a summary read from the model file alone, without LibTorch (no start-up, nothing
// run), for the cases where the file holds everything the summary prints.

#include <optional>
#include <string>

#include "cnnviz/summary.h"

namespace cnnviz {

/// The summary of request.model_path computed from the archive alone (no LibTorch), or nullopt when
/// the archive alone cannot answer (then the caller runs summarize_model).
///
/// It answers, equal in every field the text, JSON and CSV outputs print to what summarize_model(request)
/// gives, for a TorchScript `.pt` without inputs (the module tree and parameter counts from data.pkl and
/// the class definitions in code/), and for a torch.export `.pt2` at the shapes it was exported with
/// (request.inputs empty or equal to them, use_recorded_shapes), from its program's record. It declines
/// (nullopt) anything else: inputs for a TorchScript file, count_flops, a device other than the CPU, and
/// anything in the archive it does not read exactly as LibTorch would (frozen models whose constants
/// LibTorch may pool, classes with __setstate__, unknown storage types, ...): never a different answer.
///
/// The context is summary_context()'s, as on the full path (the BLAS named is the one LibTorch would
/// load). Throws the same Error as summarize_model for a file that
/// is missing, unreadable or not a zip archive; a damaged archive otherwise gives nullopt, and
/// summarize_model then reports it.
/// `why_not`, when given, receives the reason for a nullopt ("inputs: the model must run", "the operator
/// torchvision::nms, which this LibTorch does not have", ...).
std::optional<Summary> summarize_from_archive(const SummaryRequest& request, std::string* why_not = nullptr);

}  // namespace cnnviz
