#pragma once

// Private to libcnnviz: defences against LibTorch 1.13 bugs that a corrupted or crafted .pt file
// triggers while it loads, used by load_model (model.cc). Each was found by tests/fuzz/fuzz_model;
// tests/fuzz/libtorch-crashes/README.md and docs/security.md list them. The zip and pickle checks
// that run before LibTorch sees a file are in zip_preflight.cc.

#include <torch/script.h>

#include <mutex>
#include <string>

#include "cnnviz/zip_preflight.h"

namespace cnnviz {

/// Throws Error(kModel) if a class in the archive's code assigns a class constant without a type
/// annotation, which LibTorch 1.13's importer reads past the end of a syntax tree to find.
void check_class_constants(const std::string& path, const ArchiveInfo& archive);

/// While one is alive, the size of every CPU buffer LibTorch allocates is recorded (until the buffer
/// is freed), for check_storage_bounds. One load records at a time: a second recorder waits.
class LoadAllocationRecorder {
 public:
  LoadAllocationRecorder();
  ~LoadAllocationRecorder();
  LoadAllocationRecorder(const LoadAllocationRecorder&) = delete;
  LoadAllocationRecorder& operator=(const LoadAllocationRecorder&) = delete;

 private:
  static std::mutex& mutex();
  std::lock_guard<std::mutex> lock_;
};

/// Throws Error(kModel), naming the tensor, unless every tensor `module` holds (its attributes at any
/// depth, and the constants of its compiled graphs) lies inside its storage, and its storage inside
/// the CPU buffer allocated for it while a LoadAllocationRecorder was alive. `path` names the file in
/// messages. Only CPU buffers are recorded: run it on a module loaded to the CPU.
void check_storage_bounds(const std::string& path, const torch::jit::Module& module);

}  // namespace cnnviz
