#pragma once

// Python pickles as plain data, read without Python or LibTorch: what cnnviz needs from the pickles
// PyTorch writes (TorchScript's debug information, torch.save's state dicts in `.pt2` archives of
// PyTorch 2.6). Globals are named, never imported or called: a REDUCE or BUILD is recorded as a call.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace cnnviz {

struct PickleValue;
using PickleRef = std::shared_ptr<const PickleValue>;

struct PickleValue {
  enum Kind { kNone, kBool, kInt, kFloat, kString, kTuple, kList, kDict, kGlobal, kCall, kPersistentId };
  Kind kind = kNone;
  int64_t number = 0;  ///< kInt, kBool (0 or 1)
  double real = 0;     ///< kFloat
  std::string text;    ///< kString; kGlobal: "module.name"
  /// kTuple, kList: the elements; kDict: keys and values alternating, in insertion order; kCall: the
  /// callee and its argument; kPersistentId: the id.
  std::vector<PickleRef> items;
  int depth = 1;  ///< nesting depth (1 for a value with no items)
};

/// Whether `v` is a value of `kind` with at least `min_items` items.
inline bool is_kind(const PickleRef& v, PickleValue::Kind kind, std::size_t min_items = 0) {
  return v && v->kind == kind && v->items.size() >= min_items;
}

/// How deep values may nest; deeper is refused (consumers walk them, and so do destructors).
inline constexpr int kMaxPickleDepth = 1000;

/// Evaluates a pickle of protocol 0 to 2 opcodes (what torch.save and TorchScript write) into plain
/// values. A call of a global for which `unwrap_call` answers true evaluates to its argument tuple's
/// first element (TorchScript's list builders); `collections.OrderedDict()` is an empty dict. Returns null and sets `error` ("truncated at byte N",
/// "opcode 0x.. ... at byte N", "too few operands ...") for anything else or anything malformed.
PickleRef evaluate_pickle(const std::string& bytes, std::string& error,
                          const std::function<bool(const std::string&)>& unwrap_call = {});

}  // namespace cnnviz
