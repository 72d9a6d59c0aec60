// The pickle evaluator (src/cnnviz/io/pickle.cc) and the torch.save state dict reader built on it
// (parse_saved_tensors, src/cnnviz/model/export_program.cc). References: bytes written by Python's own
// pickle module, and the state dict pickle of a tiny_cnn.pt2 saved by PyTorch 2.6
// (tests/data/torch26_tiny_cnn_state_dict.pkl), whose values pickletools disassembles as checked here.

#include <catch2/catch.hpp>

#include <string>

#include "cnnviz/error.h"
#include "cnnviz/export_program.h"
#include "cnnviz/pickle.h"
#include "test_env.h"

using namespace cnnviz;
using Catch::Matchers::Contains;

namespace {

std::string from_hex(const std::string& hex) {
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) out += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
  return out;
}

std::string data_file(const std::string& name) { return test::read_file(std::string(CNNVIZ_SOURCE_DIR) + "/tests/data/" + name); }

}  // namespace

TEST_CASE("pickle: the values Python's pickle wrote, protocol 2", "[pickle]") {
  // pickle.dumps({'a': (1, -2, 2.5, 'x', True, None, [3, 4]), 'b': -70000}, protocol=2)
  const std::string bytes = from_hex(
      "80027d7100285801000000617101284b014afeffffff4740040000000000005801000000787102884e5d7103284b034b046574710458010000006271054a"
      "90eefeff752e");
  std::string error;
  const PickleRef root = evaluate_pickle(bytes, error);
  REQUIRE(root);
  REQUIRE(root->kind == PickleValue::kDict);
  REQUIRE(root->items.size() == 4);
  CHECK(root->items[0]->text == "a");
  const PickleRef& a = root->items[1];
  REQUIRE(a->kind == PickleValue::kTuple);
  REQUIRE(a->items.size() == 7);
  CHECK(a->items[0]->number == 1);
  CHECK(a->items[1]->number == -2);
  CHECK(a->items[2]->real == 2.5);
  CHECK(a->items[3]->text == "x");
  CHECK((a->items[4]->kind == PickleValue::kBool && a->items[4]->number == 1));
  CHECK(a->items[5]->kind == PickleValue::kNone);
  REQUIRE(a->items[6]->kind == PickleValue::kList);
  CHECK(a->items[6]->items.size() == 2);
  CHECK(a->items[6]->items[1]->number == 4);
  CHECK(root->items[3]->number == -70000);
}

TEST_CASE("pickle: malformed pickles are refused with the byte they fail at", "[pickle]") {
  std::string error;
  CHECK_FALSE(evaluate_pickle(from_hex("80025801000000"), error));  // a string that runs past the end
  CHECK_THAT(error, Contains("runs past its end"));
  CHECK_FALSE(evaluate_pickle(from_hex("8002680a2e"), error));  // BINGET of a slot never stored
  CHECK_THAT(error, Contains("read before it is stored"));
  CHECK_FALSE(evaluate_pickle(from_hex("8002522e"), error));  // REDUCE with nothing on the stack
  CHECK_THAT(error, Contains("too few operands"));
  CHECK_FALSE(evaluate_pickle(from_hex("80024b01"), error));  // no STOP
  CHECK_THAT(error, Contains("no STOP"));
  CHECK_FALSE(evaluate_pickle(from_hex("80049500"), error));  // protocol 4
  CHECK_THAT(error, Contains("protocol"));
  // A tuple in a tuple in ... 2,000 levels deep: refused, not walked.
  std::string deep = from_hex("8002") + "]" + std::string(2000, '\x85') + ".";
  CHECK_FALSE(evaluate_pickle(deep, error));
  CHECK_THAT(error, Contains("nested deeper"));
}

TEST_CASE("pickle: the state dict of a .pt2 saved by PyTorch 2.6", "[pickle][export]") {
  const auto tensors = parse_saved_tensors(data_file("torch26_tiny_cnn_state_dict.pkl"), "'tiny_cnn.pt2' (serialized_state_dict.pt)");
  REQUIRE(tensors.count("features.0.weight") == 1);
  const ExportStoredTensor& w = tensors.at("features.0.weight");
  CHECK(w.file == "0");
  CHECK(w.dtype == 7);  // torch.FloatStorage
  CHECK(w.storage_offset == 0);
  CHECK(w.sizes == std::vector<int64_t>{8, 3, 3, 3});
  CHECK(w.strides == std::vector<int64_t>{27, 9, 3, 1});
  CHECK(w.is_param);
  CHECK(w.requires_grad);
  REQUIRE(tensors.count("features.0.bias") == 1);
  CHECK(tensors.at("features.0.bias").file == "1");
  CHECK(tensors.at("features.0.bias").sizes == std::vector<int64_t>{8});
}

TEST_CASE("pickle: what is not a dict of plain tensors is refused naming it", "[pickle][export]") {
  // pickle.dumps({'w': 3}, protocol=2)
  CHECK_THROWS_WITH(parse_saved_tensors(from_hex("80027d710058010000007771014b03732e"), "'m.pt2' (serialized_state_dict.pt)"),
                    Contains("'m.pt2' (serialized_state_dict.pt) holds 'w', which is not a plain tensor"));
  CHECK_THROWS_WITH(parse_saved_tensors(from_hex("80024b032e"), "'m.pt2' (x)"), Contains("is not a dict"));
}
