#pragma once

// A torch.export program (`.pt2`, torch.export.save) as plain data, read without LibTorch: the graph of
// `models/<name>.json`, its signature and the weights' config. The runtime that runs it is
// src/cnnviz/model/export_runtime.cc; docs/architecture.md ("The .pt2 runtime") describes both.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace cnnviz {

/// The serialisation schema versions this reader knows (torch/_export/serde/schema.py: PyTorch 2.6
/// writes 8.x, 2.14 writes 8.20). A newer major version is refused; a newer minor one is read.
inline constexpr int kExportSchemaMajor = 8;

/// The deepest module path read (dots in an nn_module_stack path); deeper is refused as malformed.
inline constexpr int kMaxModuleDepth = 256;

/// One argument of a graph node, typed as the schema types it.
struct ExportArg {
  enum class Kind {
    kNone,
    kTensor,          ///< `name`: a value of the graph
    kTensors,         ///< `names`
    kOptionalTensors, ///< `names`, "" for None
    kInt,             ///< `i`
    kInts,            ///< `ints`
    kSymInt,          ///< `name`: a symbolic int value of the graph
    kSymInts,         ///< `names` ("" for an int) and `ints`
    kFloat,           ///< `f`
    kFloats,          ///< `floats`
    kBool,            ///< `b`
    kBools,           ///< `ints` (0 or 1)
    kString,          ///< `s`
    kStrings,         ///< `strings`
    kScalarType,      ///< `i`: the schema's ScalarType number
    kMemoryFormat,    ///< `i`: the schema's MemoryFormat number
    kLayout,          ///< `i`: the schema's Layout number
    kDevice,          ///< `s` ("cpu", "cuda"), `i` (index, -1 for none)
  };
  Kind kind = Kind::kNone;
  std::string name;
  std::vector<std::string> names;
  int64_t i = 0;
  std::vector<int64_t> ints;
  double f = 0;
  std::vector<double> floats;
  bool b = false;
  std::string s;
  std::vector<std::string> strings;
};

/// A node's argument with the name of the schema argument it binds to.
struct ExportInput {
  std::string name;
  ExportArg arg;
  bool keyword = false;
};

/// One entry of a node's `nn_module_stack`, outermost first.
struct ExportFrame {
  std::string key;         ///< unique per module call ("L__self___layer1_0_relu_1")
  std::string path;        ///< module path ("layer1.0.relu"), "" for the root
  std::string class_name;  ///< qualified class ("torch.nn.modules.activation.ReLU")
};

struct ExportNode {
  std::string target;    ///< as serialised: "torch.ops.aten.conv2d.default"
  std::string op;        ///< "aten::conv2d"; empty when the target is not a torch.ops operator
  std::string overload;  ///< "" for "default"
  std::vector<ExportInput> inputs;
  /// The values it defines, one per return ("" for a return that is unused or None); a return that
  /// is a list of tensors is `list_output` with the element names.
  std::vector<std::string> outputs;
  bool list_output = false;
  std::vector<ExportFrame> module_stack;
};

struct ExportTensorMeta {
  int dtype = 0;               ///< the schema's ScalarType number
  std::vector<int64_t> sizes;  ///< -1 for a symbolic size
  bool requires_grad = false;
};

/// What each placeholder of the graph stands for (the signature's input_specs).
struct ExportInputSpec {
  enum class Kind { kUserInput, kParameter, kBuffer, kTensorConstant, kCustomObject, kToken, kConstantInput };
  Kind kind = Kind::kUserInput;
  std::string placeholder;  ///< the graph's name for it ("p_conv1_weight", "x")
  std::string target;       ///< the state name ("conv1.weight"); empty for user inputs
  bool persistent = true;   ///< buffers
};

/// One stored tensor of the archive (model_weights_config.json, model_constants_config.json).
struct ExportStoredTensor {
  std::string file;  ///< entry under data/weights/ or data/constants/
  int dtype = 0;
  std::vector<int64_t> sizes;
  std::vector<int64_t> strides;
  int64_t storage_offset = 0;
  bool is_param = false;
  bool requires_grad = false;
  bool pickled = false;  ///< use_pickle: a torch.save pickle rather than raw bytes
};

struct ExportProgram {
  int schema_major = 0;
  int schema_minor = 0;
  std::string torch_version;  ///< of the PyTorch that saved it, "" when not recorded
  std::vector<std::string> inputs;   ///< placeholder names, in order (a user input that is not a tensor: "")
  std::vector<std::string> outputs;  ///< output value names ("" for a non-tensor output)
  std::vector<ExportNode> nodes;
  std::map<std::string, ExportTensorMeta> tensor_values;
  std::vector<ExportInputSpec> input_specs;
  /// Module paths of module_call_graph, in the order torch.export recorded them ("" first).
  std::vector<std::string> module_calls;
};

/// Parses `models/<name>.json`; `where` names it in messages. Throws Error(kModel): not JSON, not an
/// exported program, a schema major version other than kExportSchemaMajor (naming both), or a node
/// whose argument has a type this reader does not know (naming the node and the type).
ExportProgram parse_export_program(const std::string& json_text, const std::string& where);

/// Parses a weights or constants config (`{"config": {name: {path_name, tensor_meta, ...}}}`).
std::map<std::string, ExportStoredTensor> parse_export_tensor_config(const std::string& json_text, const std::string& where);

/// The tensors of a dict saved with torch.save (`serialized_state_dict.pt` and `serialized_constants.pt`
/// of a `.pt2` written by PyTorch 2.6, whose data.pkl this is): name -> its storage key (`file`, the entry
/// `data/<key>` beside data.pkl), dtype, sizes, strides, offset and, for an nn.Parameter, `is_param`
/// and requires_grad. The pickle is evaluated as plain data (cnnviz/pickle.h), nothing is imported.
/// Throws Error(kModel) naming `where` for anything but a dict of plain tensors.
std::map<std::string, ExportStoredTensor> parse_saved_tensors(const std::string& pickle, const std::string& where);

/// Bytes per element of a schema ScalarType number, 0 for one this reader does not know.
int export_dtype_size(int dtype);

}  // namespace cnnviz
