// Reads the JSON of a torch.export program (torch/_export/serde/schema.py describes the format: each
// union is an object with exactly one key naming its case). Every access is checked: the file is input.

#include "cnnviz/export_program.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <limits>
#include <utility>

#include "cnnviz/error.h"
#include "cnnviz/pickle.h"

namespace cnnviz {
namespace {

using Json = nlohmann::json;

class Reader {
 public:
  explicit Reader(std::string where) : where_(std::move(where)) {}

  [[noreturn]] void fail(const std::string& detail) const {
    throw Error(ErrorKind::kModel, where_ + " is not a torch.export program cnnviz can read (" + detail +
                                       "); save the model again with torch.export.save(torch.export.export(model, (x,)), path)");
  }

  const Json& at(const Json& j, const char* key, const std::string& context) const {
    if (!j.is_object()) fail(context + " is not an object");
    const auto it = j.find(key);
    if (it == j.end()) fail(context + " has no '" + key + "'");
    return *it;
  }
  const Json* maybe(const Json& j, const char* key) const {
    if (!j.is_object()) return nullptr;
    const auto it = j.find(key);
    return it == j.end() || it->is_null() ? nullptr : &*it;
  }
  std::string str(const Json& j, const std::string& context) const {
    if (!j.is_string()) fail(context + " is not a string");
    return j.get<std::string>();
  }
  int64_t integer(const Json& j, const std::string& context) const {
    if (!j.is_number_integer()) fail(context + " is not an integer");
    return j.get<int64_t>();
  }
  double number(const Json& j, const std::string& context) const {
    // Infinities and NaN are written as strings ("Infinity", "-Infinity", "NaN").
    if (j.is_string()) {
      const std::string s = j.get<std::string>();
      if (s == "Infinity") return std::numeric_limits<double>::infinity();
      if (s == "-Infinity") return -std::numeric_limits<double>::infinity();
      if (s == "NaN") return std::numeric_limits<double>::quiet_NaN();
    }
    if (!j.is_number()) fail(context + " is not a number");
    return j.get<double>();
  }
  bool boolean(const Json& j, const std::string& context) const {
    if (!j.is_boolean()) fail(context + " is not a boolean");
    return j.get<bool>();
  }
  const Json& array(const Json& j, const std::string& context) const {
    if (!j.is_array()) fail(context + " is not a list");
    return j;
  }
  /// The one case of a union object: {"as_tensor": {...}} -> ("as_tensor", value).
  std::pair<std::string, const Json*> one_of(const Json& j, const std::string& context) const {
    if (!j.is_object() || j.size() != 1) fail(context + " is not a tagged union");
    return {j.begin().key(), &j.begin().value()};
  }
  std::string tensor_name(const Json& j, const std::string& context) const { return str(at(j, "name", context), context); }

  /// A SymInt of tensor metadata: a number, or -1 for an expression.
  int64_t sym_int(const Json& j, const std::string& context) const {
    const auto [kind, value] = one_of(j, context);
    if (kind == "as_int") return integer(*value, context);
    if (kind == "as_expr") return -1;
    fail(context + " has size kind '" + kind + "'");
  }
  std::vector<int64_t> sym_ints(const Json& j, const std::string& context) const {
    std::vector<int64_t> out;
    for (const Json& e : array(j, context)) out.push_back(sym_int(e, context));
    return out;
  }

  ExportTensorMeta tensor_meta(const Json& j, const std::string& context) const {
    ExportTensorMeta m;
    m.dtype = static_cast<int>(integer(at(j, "dtype", context), context + ".dtype"));
    m.sizes = sym_ints(at(j, "sizes", context), context + ".sizes");
    if (const Json* rg = maybe(j, "requires_grad")) m.requires_grad = boolean(*rg, context + ".requires_grad");
    return m;
  }

  ExportArg arg(const Json& j, const std::string& context) const {
    ExportArg a;
    const auto [kind, value] = one_of(j, context);
    const Json& v = *value;
    using K = ExportArg::Kind;
    if (kind == "as_none") {
      a.kind = K::kNone;
    } else if (kind == "as_tensor") {
      a.kind = K::kTensor;
      a.name = tensor_name(v, context);
    } else if (kind == "as_optional_tensor") {
      const auto [k, t] = one_of(v, context);
      if (k == "as_none") {
        a.kind = K::kNone;
      } else {
        a.kind = K::kTensor;
        a.name = tensor_name(*t, context);
      }
    } else if (kind == "as_tensors") {
      a.kind = K::kTensors;
      for (const Json& e : array(v, context)) a.names.push_back(tensor_name(e, context));
    } else if (kind == "as_optional_tensors") {
      a.kind = K::kOptionalTensors;
      for (const Json& e : array(v, context)) {
        const auto [k, t] = one_of(e, context);
        a.names.push_back(k == "as_none" ? std::string() : tensor_name(*t, context));
      }
    } else if (kind == "as_int") {
      a.kind = K::kInt;
      a.i = integer(v, context);
    } else if (kind == "as_ints") {
      a.kind = K::kInts;
      for (const Json& e : array(v, context)) a.ints.push_back(integer(e, context));
    } else if (kind == "as_sym_int") {
      const auto [k, x] = one_of(v, context);
      if (k == "as_int") {
        a.kind = K::kInt;
        a.i = integer(*x, context);
      } else {
        a.kind = K::kSymInt;
        a.name = str(*x, context);
      }
    } else if (kind == "as_sym_ints") {
      a.kind = K::kSymInts;
      for (const Json& e : array(v, context)) {
        const auto [k, x] = one_of(e, context);
        a.names.push_back(k == "as_int" ? std::string() : str(*x, context));
        a.ints.push_back(k == "as_int" ? integer(*x, context) : 0);
      }
    } else if (kind == "as_float") {
      a.kind = K::kFloat;
      a.f = number(v, context);
    } else if (kind == "as_floats") {
      a.kind = K::kFloats;
      for (const Json& e : array(v, context)) a.floats.push_back(number(e, context));
    } else if (kind == "as_bool") {
      a.kind = K::kBool;
      a.b = boolean(v, context);
    } else if (kind == "as_bools") {
      a.kind = K::kBools;
      for (const Json& e : array(v, context)) a.ints.push_back(boolean(e, context) ? 1 : 0);
    } else if (kind == "as_string") {
      a.kind = K::kString;
      a.s = str(v, context);
    } else if (kind == "as_strings") {
      a.kind = K::kStrings;
      for (const Json& e : array(v, context)) a.strings.push_back(str(e, context));
    } else if (kind == "as_scalar_type" || kind == "as_memory_format" || kind == "as_layout") {
      a.kind = kind == "as_scalar_type" ? K::kScalarType : kind == "as_memory_format" ? K::kMemoryFormat : K::kLayout;
      a.i = integer(v, context);
    } else if (kind == "as_device") {
      a.kind = K::kDevice;
      a.s = str(at(v, "type", context), context);
      const Json* index = maybe(v, "index");
      a.i = index ? integer(*index, context) : -1;
    } else {
      fail(context + " has type '" + kind + "', which cnnviz does not run");
    }
    return a;
  }

  std::vector<ExportFrame> module_stack(const std::string& text, const std::string& context) const {
    // "key,path,class;key,path,class": paths hold no ',' or ';', classes none either.
    std::vector<ExportFrame> frames;
    std::size_t start = 0;
    while (start < text.size()) {
      std::size_t end = text.find(';', start);
      if (end == std::string::npos) end = text.size();
      const std::string item = text.substr(start, end - start);
      const std::size_t c1 = item.find(','), c2 = c1 == std::string::npos ? c1 : item.find(',', c1 + 1);
      if (c2 == std::string::npos) fail(context + " has a malformed nn_module_stack entry '" + item.substr(0, 80) + "'");
      frames.push_back({item.substr(0, c1), item.substr(c1 + 1, c2 - c1 - 1), item.substr(c2 + 1)});
      // What torch.export writes for a node no module made (the input's symbolic sizes, read at the
      // start of a program exported with dynamic shapes): no module call.
      if (frames.back().key == "_empty_nn_module_stack_from_metadata_hook") {
        frames.pop_back();
        start = end + 1;
        continue;
      }
      // The module tree is built recursively along paths: bound their depth as torch.nn's never reach.
      if (std::count(frames.back().path.begin(), frames.back().path.end(), '.') >= kMaxModuleDepth) {
        fail(context + " nests modules deeper than " + std::to_string(kMaxModuleDepth) + " levels");
      }
      start = end + 1;
    }
    return frames;
  }

  ExportNode node(const Json& j, std::size_t index) const {
    ExportNode n;
    std::string context = "node " + std::to_string(index);
    n.target = str(at(j, "target", context), context + ".target");
    // "torch.ops.aten.conv2d.default" -> "aten::conv2d", ""; "torch.ops.aten.add.Tensor" -> "aten::add", "Tensor".
    const std::string prefix = "torch.ops.";
    if (n.target.rfind(prefix, 0) == 0) {
      const std::string rest = n.target.substr(prefix.size());
      const std::size_t d1 = rest.find('.'), d2 = d1 == std::string::npos ? d1 : rest.find('.', d1 + 1);
      if (d2 != std::string::npos && rest.find('.', d2 + 1) == std::string::npos && rest.compare(0, d1, "higher_order") != 0) {
        n.op = rest.substr(0, d1) + "::" + rest.substr(d1 + 1, d2 - d1 - 1);
        n.overload = rest.substr(d2 + 1);
        if (n.overload == "default") n.overload.clear();
      }
    }
    context += " (" + n.target + ")";
    for (const Json& in : array(at(j, "inputs", context), context + ".inputs")) {
      ExportInput input;
      input.name = str(at(in, "name", context), context + " input name");
      input.arg = arg(at(in, "arg", context), context + " argument '" + input.name + "'");
      if (const Json* kind = maybe(in, "kind")) input.keyword = integer(*kind, context) == 2;
      n.inputs.push_back(std::move(input));
    }
    for (const Json& out : array(at(j, "outputs", context), context + ".outputs")) {
      const auto [kind, value] = one_of(out, context + " output");
      if (kind == "as_tensor") {
        n.outputs.push_back(tensor_name(*value, context));
      } else if (kind == "as_tensors") {
        n.list_output = true;
        for (const Json& e : array(*value, context)) n.outputs.push_back(tensor_name(e, context));
      } else if (kind == "as_none") {
        n.outputs.emplace_back();
      } else if (kind == "as_sym_int" || kind == "as_sym_float" || kind == "as_sym_bool") {
        const auto [k, x] = one_of(*value, context + " output");
        n.outputs.push_back(k == "as_name" ? str(*x, context) : std::string());
      } else if (kind == "as_optional_tensor") {
        const auto [k, x] = one_of(*value, context + " output");
        n.outputs.push_back(k == "as_tensor" ? tensor_name(*x, context) : std::string());
      } else {
        fail(context + " has an output of type '" + kind + "', which cnnviz does not run");
      }
    }
    if (const Json* meta = maybe(j, "metadata")) {
      if (const Json* stack = maybe(*meta, "nn_module_stack")) n.module_stack = module_stack(str(*stack, context), context);
    }
    return n;
  }

 private:
  std::string where_;
};

std::optional<ExportInputSpec> input_spec(const Reader& r, const Json& j, const std::string& context) {
  const auto [kind, value] = r.one_of(j, context);
  const Json& v = *value;
  ExportInputSpec s;
  using K = ExportInputSpec::Kind;
  auto placeholder = [&] { return r.tensor_name(r.at(v, "arg", context), context); };
  if (kind == "user_input") {
    s.kind = K::kUserInput;
    const auto [k, a] = r.one_of(r.at(v, "arg", context), context);
    if (k == "as_tensor") s.placeholder = r.tensor_name(*a, context);
  } else if (kind == "parameter") {
    s.kind = K::kParameter;
    s.placeholder = placeholder();
    s.target = r.str(r.at(v, "parameter_name", context), context);
  } else if (kind == "buffer") {
    s.kind = K::kBuffer;
    s.placeholder = placeholder();
    s.target = r.str(r.at(v, "buffer_name", context), context);
    if (const Json* p = r.maybe(v, "persistent")) s.persistent = r.boolean(*p, context);
  } else if (kind == "tensor_constant") {
    s.kind = K::kTensorConstant;
    s.placeholder = placeholder();
    s.target = r.str(r.at(v, "tensor_constant_name", context), context);
  } else if (kind == "custom_obj") {
    s.kind = K::kCustomObject;
    s.placeholder = r.str(r.at(r.at(v, "arg", context), "name", context), context);
  } else if (kind == "token") {
    s.kind = K::kToken;
    s.placeholder = placeholder();
  } else if (kind == "constant_input") {
    s.kind = K::kConstantInput;
    s.placeholder = r.str(r.at(v, "name", context), context);
  } else {
    r.fail(context + " is of kind '" + kind + "'");
  }
  return s;
}

Json parse_json(const Reader& r, const std::string& text) {
  Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) r.fail("not valid JSON");
  return j;
}

}  // namespace

ExportProgram parse_export_program(const std::string& json_text, const std::string& where) {
  const Reader r(where);
  const Json root = parse_json(r, json_text);
  ExportProgram p;
  const Json& version = r.at(root, "schema_version", "the program");
  p.schema_major = static_cast<int>(r.integer(r.at(version, "major", "schema_version"), "schema_version.major"));
  p.schema_minor = static_cast<int>(r.integer(r.at(version, "minor", "schema_version"), "schema_version.minor"));
  if (const Json* tv = r.maybe(root, "torch_version"); tv && tv->is_string()) p.torch_version = tv->get<std::string>();
  if (p.schema_major != kExportSchemaMajor) {
    throw Error(ErrorKind::kModel, where + " uses torch.export schema " + std::to_string(p.schema_major) + "." +
                                       std::to_string(p.schema_minor) +
                                       (p.torch_version.empty() ? std::string() : " (PyTorch " + p.torch_version + ")") +
                                       "; this cnnviz reads schema " + std::to_string(kExportSchemaMajor) +
                                       ".x (PyTorch 2.6 to 2.14): save it with one of those, or update cnnviz");
  }
  const Json& module = r.at(root, "graph_module", "the program");
  const Json& graph = r.at(module, "graph", "graph_module");
  for (const Json& in : r.array(r.at(graph, "inputs", "graph"), "graph.inputs")) {
    const auto [kind, value] = r.one_of(in, "graph input");
    p.inputs.push_back(kind == "as_tensor" ? r.tensor_name(*value, "graph input") : std::string());
  }
  for (const Json& out : r.array(r.at(graph, "outputs", "graph"), "graph.outputs")) {
    const auto [kind, value] = r.one_of(out, "graph output");
    p.outputs.push_back(kind == "as_tensor" ? r.tensor_name(*value, "graph output") : std::string());
  }
  const Json& nodes = r.array(r.at(graph, "nodes", "graph"), "graph.nodes");
  p.nodes.reserve(nodes.size());
  for (std::size_t i = 0; i < nodes.size(); ++i) p.nodes.push_back(r.node(nodes[i], i));
  const Json& values = r.at(graph, "tensor_values", "graph");
  if (!values.is_object()) r.fail("graph.tensor_values is not an object");
  for (const auto& [name, meta] : values.items()) p.tensor_values[name] = r.tensor_meta(meta, "tensor value '" + name + "'");
  const Json& signature = r.at(module, "signature", "graph_module");
  for (const Json& spec : r.array(r.at(signature, "input_specs", "signature"), "signature.input_specs")) {
    if (auto s = input_spec(r, spec, "input spec")) p.input_specs.push_back(std::move(*s));
  }
  if (const Json* calls = r.maybe(module, "module_call_graph")) {
    for (const Json& call : r.array(*calls, "module_call_graph")) {
      std::string fqn = r.str(r.at(call, "fqn", "module call"), "module call fqn");
      if (std::count(fqn.begin(), fqn.end(), '.') >= kMaxModuleDepth) {
        r.fail("module_call_graph nests modules deeper than " + std::to_string(kMaxModuleDepth) + " levels");
      }
      p.module_calls.push_back(std::move(fqn));
    }
  }
  return p;
}

std::map<std::string, ExportStoredTensor> parse_export_tensor_config(const std::string& json_text, const std::string& where) {
  const Reader r(where);
  const Json root = parse_json(r, json_text);
  const Json& config = r.at(root, "config", "the config");
  if (!config.is_object()) r.fail("'config' is not an object");
  std::map<std::string, ExportStoredTensor> out;
  for (const auto& [name, entry] : config.items()) {
    const std::string context = "stored tensor '" + name + "'";
    ExportStoredTensor t;
    t.file = r.str(r.at(entry, "path_name", context), context + ".path_name");
    if (const Json* p = r.maybe(entry, "is_param")) t.is_param = r.boolean(*p, context);
    if (const Json* p = r.maybe(entry, "use_pickle")) t.pickled = r.boolean(*p, context);
    const Json& meta = r.at(entry, "tensor_meta", context);
    const ExportTensorMeta m = r.tensor_meta(meta, context);
    t.dtype = m.dtype;
    t.sizes = m.sizes;
    t.requires_grad = m.requires_grad;
    t.strides = r.sym_ints(r.at(meta, "strides", context), context + ".strides");
    if (const Json* off = r.maybe(meta, "storage_offset")) t.storage_offset = r.sym_int(*off, context + ".storage_offset");
    out[name] = std::move(t);
  }
  return out;
}

namespace {

// torch.save's typed storage classes as the schema's ScalarType numbers.
int storage_dtype(const std::string& global) {
  static const std::map<std::string, int> dtypes = {
      {"torch.ByteStorage", 1},  {"torch.CharStorage", 2},   {"torch.ShortStorage", 3},         {"torch.IntStorage", 4},
      {"torch.LongStorage", 5},  {"torch.HalfStorage", 6},   {"torch.FloatStorage", 7},         {"torch.DoubleStorage", 8},
      {"torch.BoolStorage", 12}, {"torch.BFloat16Storage", 13}, {"torch.ComplexFloatStorage", 10}, {"torch.ComplexDoubleStorage", 11},
  };
  const auto it = dtypes.find(global);
  return it == dtypes.end() ? 0 : it->second;
}

std::vector<int64_t> ints_of(const PickleRef& tuple, const std::string& where, const std::string& what) {
  if (!is_kind(tuple, PickleValue::kTuple)) throw Error(ErrorKind::kModel, where + ": " + what + " is not a tuple of ints; export the model again");
  std::vector<int64_t> out;
  for (const PickleRef& v : tuple->items) {
    if (!is_kind(v, PickleValue::kInt) || v->number < 0) throw Error(ErrorKind::kModel, where + ": " + what + " is not a tuple of sizes; export the model again");
    out.push_back(v->number);
  }
  return out;
}

}  // namespace

std::map<std::string, ExportStoredTensor> parse_saved_tensors(const std::string& pickle, const std::string& where) {
  auto fail = [&](const std::string& why) -> Error {
    return Error(ErrorKind::kModel, where + " " + why + "; cnnviz reads dicts of tensors saved by torch.save; export the model again");
  };
  std::string error;
  const PickleRef root = evaluate_pickle(pickle, error);
  if (!root) throw fail("is not a pickle cnnviz reads (" + error + ")");
  if (!is_kind(root, PickleValue::kDict)) throw fail("is not a dict");
  std::map<std::string, ExportStoredTensor> out;
  for (std::size_t k = 0; k + 1 < root->items.size(); k += 2) {
    if (!is_kind(root->items[k], PickleValue::kString)) throw fail("has a key that is not a string");
    const std::string& name = root->items[k]->text;
    PickleRef value = root->items[k + 1];
    auto call_of = [&](const PickleRef& v, const std::string& callee) {
      return is_kind(v, PickleValue::kCall, 2) && is_kind(v->items[0], PickleValue::kGlobal) && v->items[0]->text == callee &&
             is_kind(v->items[1], PickleValue::kTuple);
    };
    ExportStoredTensor t;
    // torch.nn.Parameter: _rebuild_parameter(tensor, requires_grad, hooks) (or _with_state, one more).
    if (call_of(value, "torch._utils._rebuild_parameter") || call_of(value, "torch._utils._rebuild_parameter_with_state")) {
      const auto& args = value->items[1]->items;
      if (args.size() < 2 || !is_kind(args[1], PickleValue::kBool)) throw fail("holds a malformed parameter '" + name + "'");
      t.is_param = true;
      t.requires_grad = args[1]->number != 0;
      value = args[0];
    }
    // _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, hooks[, metadata])
    if (!call_of(value, "torch._utils._rebuild_tensor_v2")) {
      throw fail("holds '" + name + "', which is not a plain tensor (a tensor subclass, a quantized tensor or another object)");
    }
    const auto& args = value->items[1]->items;
    if (args.size() < 4 || !is_kind(args[0], PickleValue::kPersistentId, 1) || !is_kind(args[1], PickleValue::kInt)) {
      throw fail("holds a malformed tensor '" + name + "'");
    }
    // The storage: ('storage', torch.FloatStorage, key, location, numel).
    const PickleRef& id = args[0]->items[0];
    if (!is_kind(id, PickleValue::kTuple, 5) || !is_kind(id->items[0], PickleValue::kString) || id->items[0]->text != "storage" ||
        !is_kind(id->items[1], PickleValue::kGlobal) || !is_kind(id->items[2], PickleValue::kString)) {
      throw fail("holds '" + name + "' with a storage it does not describe");
    }
    t.dtype = storage_dtype(id->items[1]->text);
    if (t.dtype == 0) throw fail("holds '" + name + "' as " + id->items[1]->text + ", which cnnviz does not read");
    t.file = id->items[2]->text;
    if (t.file.empty() || t.file.find_first_not_of("0123456789") != std::string::npos) throw fail("names a storage '" + t.file + "'");
    t.storage_offset = args[1]->number;
    if (t.storage_offset < 0) throw fail("holds '" + name + "' at a negative offset");
    t.sizes = ints_of(args[2], where, "the size of '" + name + "'");
    t.strides = ints_of(args[3], where, "the stride of '" + name + "'");
    if (t.sizes.size() != t.strides.size()) throw fail("holds '" + name + "' with sizes and strides of different ranks");
    if (!t.is_param && args.size() > 4 && is_kind(args[4], PickleValue::kBool)) t.requires_grad = args[4]->number != 0;
    out[name] = std::move(t);
  }
  return out;
}

int export_dtype_size(int dtype) {
  // The schema's ScalarType numbers (torch/_export/serde/schema.py).
  switch (dtype) {
    case 1: case 2: case 12: case 29: case 30: case 31: case 32: case 33: return 1;  // uint8, int8, bool, float8 kinds
    case 3: case 6: case 13: case 28: return 2;                                       // int16, half, bfloat16, uint16
    case 4: case 7: case 9: case 34: return 4;                                        // int32, float, complex half, uint32
    case 5: case 8: case 10: case 35: return 8;                                       // int64, double, complex float, uint64
    case 11: return 16;                                                               // complex double
    default: return 0;
  }
}

}  // namespace cnnviz
