#pragma once

// Private to libcnnviz: torchinfo's view of a module registered under two names, shared by both
// runtimes' module trees (module_tree.cc for TorchScript, export_runtime.cc for .pt2 programs).

#include <vector>

#include "cnnviz/module_tree.h"

namespace cnnviz {

/// For each node of `tree`, the node its calls are reported as. Modules of one class holding the very
/// same parameter tensors (`signatures[i]`: their identities, in any order; empty for a module without
/// parameters) on unrelated paths are the one module the user wrote (`self.alias = self.shared`), and
/// torchinfo registers it under the last name it is reachable by: each member goes to the last member
/// of its group that is not nested with it. A module inside another one can hold the very same
/// parameters without being an alias (a Sequential whose only block holds a Sequential), so nested
/// paths are never folded. Every other node is reported as itself.
std::vector<int> alias_targets(const ModuleTree& tree, const std::vector<std::vector<const void*>>& signatures);

}  // namespace cnnviz
