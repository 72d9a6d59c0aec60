// The torch.export program reader (src/cnnviz/model/export_program.cc) on hand-written JSON in the
// schema's shape (torch/_export/serde/schema.py; tests/export_runtime_test.cc reads the real files).

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "cnnviz/error.h"
#include "cnnviz/export_program.h"

using namespace cnnviz;
using Catch::Matchers::Contains;
using Json = nlohmann::json;

namespace {

Json tensor(const std::string& name) { return {{"as_tensor", {{"name", name}}}}; }

// A two-node program: conv2d(x, weight, stride=[1, 1]) then relu, inside "features.0" and "features.1".
Json program() {
  const Json meta = {{"dtype", 7},
                     {"sizes", Json::array({{{"as_int", 1}}, {{"as_int", 3}}, {{"as_int", 8}}, {{"as_expr", {{"expr_str", "s0"}}}}})},
                     {"requires_grad", false},
                     {"device", {{"type", "cpu"}, {"index", nullptr}}},
                     {"strides", Json::array()},
                     {"storage_offset", {{"as_int", 0}}},
                     {"layout", 7}};
  Json conv = {{"target", "torch.ops.aten.conv2d.default"},
               {"inputs", Json::array({{{"name", "input"}, {"arg", tensor("x")}, {"kind", 1}},
                                       {{"name", "weight"}, {"arg", tensor("p_features_0_weight")}, {"kind", 1}},
                                       {{"name", "stride"}, {"arg", {{"as_ints", {1, 1}}}}, {"kind", 1}},
                                       {{"name", "groups"}, {"arg", {{"as_sym_int", {{"as_int", 1}}}}}, {"kind", 2}}})},
               {"outputs", Json::array({tensor("conv2d")})},
               {"metadata", {{"nn_module_stack", "L__self__,,m.Net;L__self___features_0,features.0,torch.nn.modules.conv.Conv2d"}}}};
  Json relu = {{"target", "torch.ops.aten.add.Tensor"},
               {"inputs", Json::array({{{"name", "self"}, {"arg", tensor("conv2d")}, {"kind", 1}},
                                       {{"name", "other"}, {"arg", {{"as_float", "Infinity"}}}, {"kind", 1}}})},
               {"outputs", Json::array({tensor("add")})},
               {"metadata", Json::object()}};
  return {{"schema_version", {{"major", 8}, {"minor", 20}}},
          {"torch_version", "2.14.1"},
          {"graph_module",
           {{"graph",
             {{"inputs", Json::array({tensor("p_features_0_weight"), tensor("x")})},
              {"outputs", Json::array({tensor("add")})},
              {"nodes", Json::array({conv, relu})},
              {"tensor_values", {{"x", meta}}}}},
            {"signature",
             {{"input_specs",
               Json::array({{{"parameter", {{"arg", {{"name", "p_features_0_weight"}}}, {"parameter_name", "features.0.weight"}}}},
                            {{"user_input", {{"arg", tensor("x")}}}}})}}},
            {"module_call_graph", Json::array({{{"fqn", ""}}, {{"fqn", "features"}}, {{"fqn", "features.0"}}})}}}};
}

std::string refusal(const std::string& text) {
  try {
    parse_export_program(text, "'m.pt2' (models/model.json)");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::kModel);
    return e.what();
  }
  FAIL("parsed");
  return "";
}

}  // namespace

TEST_CASE("export program: nodes arguments module stacks and the signature", "[export]") {
  const ExportProgram p = parse_export_program(program().dump(), "m");
  CHECK(p.schema_major == 8);
  CHECK(p.schema_minor == 20);
  CHECK(p.torch_version == "2.14.1");
  CHECK(p.inputs == std::vector<std::string>{"p_features_0_weight", "x"});
  CHECK(p.outputs == std::vector<std::string>{"add"});
  REQUIRE(p.nodes.size() == 2);
  const ExportNode& conv = p.nodes[0];
  CHECK(conv.op == "aten::conv2d");
  CHECK(conv.overload.empty());
  CHECK(p.nodes[1].op == "aten::add");
  CHECK(p.nodes[1].overload == "Tensor");
  REQUIRE(conv.inputs.size() == 4);
  CHECK(conv.inputs[0].arg.kind == ExportArg::Kind::kTensor);
  CHECK(conv.inputs[0].arg.name == "x");
  CHECK(conv.inputs[2].arg.ints == std::vector<int64_t>{1, 1});
  CHECK(conv.inputs[3].arg.kind == ExportArg::Kind::kInt);  // a SymInt that is a plain int
  CHECK(conv.inputs[3].keyword);
  CHECK(std::isinf(p.nodes[1].inputs[1].arg.f));
  REQUIRE(conv.module_stack.size() == 2);
  CHECK(conv.module_stack[1].path == "features.0");
  CHECK(conv.module_stack[1].class_name == "torch.nn.modules.conv.Conv2d");
  CHECK(conv.module_stack[0].path.empty());
  CHECK(p.nodes[1].module_stack.empty());
  CHECK(p.tensor_values.at("x").sizes == std::vector<int64_t>{1, 3, 8, -1});  // a symbolic size is -1
  REQUIRE(p.input_specs.size() == 2);
  CHECK(p.input_specs[0].kind == ExportInputSpec::Kind::kParameter);
  CHECK(p.input_specs[0].target == "features.0.weight");
  CHECK(p.input_specs[1].kind == ExportInputSpec::Kind::kUserInput);
  CHECK(p.input_specs[1].placeholder == "x");
  CHECK(p.module_calls == std::vector<std::string>{"", "features", "features.0"});
}

TEST_CASE("export program: what it cannot read is one message naming it", "[export]") {
  CHECK_THAT(refusal("{not json"), Contains("'m.pt2' (models/model.json) is not a torch.export program cnnviz can read (not valid JSON)"));
  CHECK_THAT(refusal("[]"), Contains("torch.export.save"));

  Json newer = program();
  newer["schema_version"] = {{"major", 9}, {"minor", 1}};
  const std::string schema = refusal(newer.dump());
  CHECK_THAT(schema, Contains("uses torch.export schema 9.1 (PyTorch 2.14.1)"));
  CHECK_THAT(schema, Contains("reads schema 8.x"));

  Json graph_arg = program();
  graph_arg["graph_module"]["graph"]["nodes"][0]["inputs"][1]["arg"] = {{"as_graph", {{"name", "g"}}}};
  CHECK_THAT(refusal(graph_arg.dump()), Contains("node 0 (torch.ops.aten.conv2d.default) argument 'weight' has type 'as_graph'"));

  Json stack = program();
  stack["graph_module"]["graph"]["nodes"][0]["metadata"]["nn_module_stack"] = "no commas here";
  CHECK_THAT(refusal(stack.dump()), Contains("malformed nn_module_stack entry 'no commas here'"));

  Json deep = program();
  std::string path = "a";
  for (int i = 0; i < kMaxModuleDepth; ++i) path += ".a";
  deep["graph_module"]["graph"]["nodes"][0]["metadata"]["nn_module_stack"] = "k," + path + ",torch.nn.Module";
  CHECK_THAT(refusal(deep.dump()), Contains("nests modules deeper than 256 levels"));

  Json wrong_type = program();
  wrong_type["graph_module"]["graph"]["nodes"][0]["inputs"][2]["arg"] = {{"as_ints", {1, "two"}}};
  CHECK_THAT(refusal(wrong_type.dump()), Contains("argument 'stride' is not an integer"));

  Json no_graph = program();
  no_graph["graph_module"].erase("graph");
  CHECK_THAT(refusal(no_graph.dump()), Contains("graph_module has no 'graph'"));
}

TEST_CASE("export program: the weights config", "[export]") {
  const Json config = {{"config",
                        {{"conv.weight",
                          {{"path_name", "weight_0"},
                           {"is_param", true},
                           {"use_pickle", false},
                           {"tensor_meta",
                            {{"dtype", 7},
                             {"sizes", Json::array({{{"as_int", 8}}, {{"as_int", 3}}})},
                             {"requires_grad", true},
                             {"strides", Json::array({{{"as_int", 3}}, {{"as_int", 1}}})},
                             {"storage_offset", {{"as_int", 0}}}}}}}}}};
  const auto tensors = parse_export_tensor_config(config.dump(), "c");
  REQUIRE(tensors.count("conv.weight") == 1);
  const ExportStoredTensor& t = tensors.at("conv.weight");
  CHECK(t.file == "weight_0");
  CHECK(t.sizes == std::vector<int64_t>{8, 3});
  CHECK(t.strides == std::vector<int64_t>{3, 1});
  CHECK(t.is_param);
  CHECK(t.requires_grad);
  CHECK_FALSE(t.pickled);
  CHECK(export_dtype_size(7) == 4);    // float32
  CHECK(export_dtype_size(13) == 2);   // bfloat16
  CHECK(export_dtype_size(11) == 16);  // complex128
  CHECK(export_dtype_size(99) == 0);
  CHECK_THROWS_AS(parse_export_tensor_config("{\"config\": []}", "c"), Error);
}
