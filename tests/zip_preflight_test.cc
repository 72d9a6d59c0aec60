#include <catch2/catch.hpp>

#include <fstream>

#include "cnnviz/error.h"
#include "cnnviz/zip_preflight.h"
#include "test_env.h"

using namespace cnnviz;
using Catch::Matchers::Contains;

namespace {

std::string refusal(const std::string& path) {
  try {
    preflight_archive(path, "1.13.0");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::kModel);
    CHECK(std::string(e.what()).find('\n') == std::string::npos);
    return e.what();
  }
  FAIL("accepted " << path);
  return "";
}

void write(const std::string& path, const std::string& bytes) { std::ofstream(path, std::ios::binary) << bytes; }

}  // namespace

TEST_CASE("a real TorchScript archive passes with its version and layout", "[model][models]") {
  const ArchiveInfo info = preflight_archive(test::model_path("tiny_cnn.script.pt"), "1.13.0");
  CHECK(info.has_code);
  CHECK(info.has_constants);
  CHECK(info.format_version >= 1);
  CHECK(info.format_version <= 10);
  CHECK(info.prefix == "tiny_cnn.script");
}

TEST_CASE("non-archives are named for what they are", "[model]") {
  test::TempDir dir;
  write(dir.file("empty.pt"), "");
  write(dir.file("image.pt"), std::string("\x89PNG\r\n\x1a\n0000", 12));
  write(dir.file("pickle.pt"), std::string("\x80\x02}q\x00.", 6));
  write(dir.file("text.pt"), "hello world\n");
  CHECK_THAT(refusal(dir.file("empty.pt")), Contains("the file is empty"));
  CHECK_THAT(refusal(dir.file("image.pt")), Contains("it is a PNG image"));
  CHECK_THAT(refusal(dir.file("pickle.pt")), Contains("legacy torch.save pickle"));
  CHECK_THAT(refusal(dir.file("text.pt")), Contains("not a zip archive") && Contains("torch.jit.script"));
}

TEST_CASE("broken and foreign archives from the exporter are refused", "[model][models]") {
  CHECK_THAT(refusal(test::model_path("bad/truncated.pt")), Contains("truncated or corrupted"));
  CHECK_THAT(refusal(test::model_path("bad/state_dict.pt")), Contains("no TorchScript code") && Contains("state_dict"));
  CHECK_THAT(refusal(test::model_path("bad/not_a_model.png")), Contains("PNG image"));
  CHECK_THAT(refusal(test::model_path("bad/future_version.pt")),
             Contains("newer PyTorch") && Contains("version 99") && Contains("LibTorch 1.13.0") && Contains("up to 10"));
}

TEST_CASE("entries pointing outside the file are refused", "[model][models]") {
  test::TempDir dir;
  std::string bytes = test::read_file(test::model_path("tiny_cnn.script.pt"));
  // Point the first central-directory entry's local-header offset past the end of the file.
  const std::size_t cd = bytes.find("PK\x01\x02");
  REQUIRE(cd != std::string::npos);
  for (int i = 0; i < 4; ++i) bytes[cd + 42 + static_cast<std::size_t>(i)] = '\x7f';
  write(dir.file("bad.pt"), bytes);
  CHECK_THAT(refusal(dir.file("bad.pt")), Contains("beyond the end of the file"));
}

TEST_CASE("entry names that climb out of the archive are refused", "[model][models]") {
  test::TempDir dir;
  std::string bytes = test::read_file(test::model_path("tiny_cnn.script.pt"));
  // Same length, in the local and the central header alike.
  const std::string name = "tiny_cnn.script/data.pkl", evil = "tiny_cnn.script/../a.pkl";
  REQUIRE(name.size() == evil.size());
  for (std::size_t at = bytes.find(name); at != std::string::npos; at = bytes.find(name, at)) bytes.replace(at, name.size(), evil);
  write(dir.file("climb.pt"), bytes);
  CHECK_THAT(refusal(dir.file("climb.pt")), Contains("escapes the archive"));
}

TEST_CASE("archives with more entries than the limit are refused", "[model][models]") {
  ArchiveLimits limits;
  limits.max_entries = 5;
  try {
    preflight_archive(test::model_path("tiny_cnn.script.pt"), "1.13.0", limits);
    FAIL("accepted");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::kModel);
    CHECK_THAT(e.what(), Contains("more than the limit of 5"));
  }
}

// Found by tests/fuzz/fuzz_model (a LeakSanitizer report inside LibTorch, whose archive reader leaks when
// it throws for these): an archive without a version record, or with version 0, is refused before
// LibTorch sees it. Same-length renames keep the zip consistent.
TEST_CASE("archives without a usable version record are refused", "[model][models]") {
  test::TempDir dir;
  const std::string original = test::read_file(test::model_path("tiny_cnn.script.pt"));
  auto rename_all = [&](std::string bytes, const std::string& from, const std::string& to) {
    REQUIRE(from.size() == to.size());
    for (std::size_t at = bytes.find(from); at != std::string::npos; at = bytes.find(from, at)) bytes.replace(at, from.size(), to);
    return bytes;
  };
  write(dir.file("no_version.pt"), rename_all(original, "tiny_cnn.script/version", "tiny_cnn.script/versiom"));
  CHECK_THAT(refusal(dir.file("no_version.pt")), Contains("corrupted zip archive (no version record)"));

  // The version record is the 2-byte entry "3\n" (or so) right before the central directory: make it "0\n".
  std::string zero = original;
  const std::size_t name_at = zero.find("tiny_cnn.script/version");
  REQUIRE(name_at != std::string::npos);
  const std::size_t local = zero.rfind("PK\x03\x04", name_at);
  REQUIRE(local != std::string::npos);
  const std::size_t extra = static_cast<unsigned char>(zero[local + 28]) | (static_cast<unsigned char>(zero[local + 29]) << 8);
  const std::size_t data = name_at + std::string("tiny_cnn.script/version").size() + extra;
  REQUIRE(zero[data] >= '1');
  REQUIRE(zero[data] <= '9');
  zero[data] = '0';  // the CRC no longer matches, which the pre-flight does not check
  write(dir.file("version0.pt"), zero);
  CHECK_THAT(refusal(dir.file("version0.pt")), Contains("corrupted zip archive (version record '0')"));
}

// Found by tests/fuzz/fuzz_model: LibTorch 1.13's unpickler allocates whatever a string's length field
// says (4 GB from a 17 kB file: tests/fuzz/corpus/fuzz_model/regression_huge_string.pt) and indexes its
// stack, marks and memo without checks, so the pre-flight walks every pickle's opcodes first. The
// edits keep each file's length; the pre-flight does not check CRCs.
TEST_CASE("pickles LibTorch would misread are refused", "[model][models]") {
  test::TempDir dir;
  const std::string original = test::read_file(test::model_path("tiny_cnn.script.pt"));
  const std::size_t pkl = original.find("tiny_cnn.script/data.pkl");
  REQUIRE(pkl != std::string::npos);
  auto edited = [&](const std::string& from, const std::string& to) {
    REQUIRE(from.size() == to.size());
    std::string bytes = original;
    const std::size_t at = bytes.find(from, pkl);
    REQUIRE(at != std::string::npos);
    bytes.replace(at, from.size(), to);
    return bytes;
  };
  write(dir.file("string.pt"), edited(std::string("X\x08\0\0\0training", 13), std::string("X\xff\xff\xff\xfftraining", 13)));
  CHECK_THAT(refusal(dir.file("string.pt")),
             Contains("'tiny_cnn.script/data.pkl' is not a pickle LibTorch can read: a string of 4294967295 bytes runs past its end"));
  write(dir.file("memo.pt"), edited(std::string("h\x01\x89", 3), std::string("h\xfe\x89", 3)));
  CHECK_THAT(refusal(dir.file("memo.pt")), Contains("memo index 254 read before it is stored"));
  write(dir.file("opcode.pt"), edited(std::string(")\x81}", 3), std::string(")\xff}", 3)));
  CHECK_THAT(refusal(dir.file("opcode.pt")), Contains("opcode 0xff, which LibTorch does not read"));
  write(dir.file("mark.pt"), edited(std::string(")\x81}(", 4), std::string(")\x81}t", 4)));
  CHECK_THAT(refusal(dir.file("mark.pt")), Contains("an unmatched MARK"));
}

// Found by tests/fuzz/fuzz_model as a SEGV inside LibTorch: probed.trace.pt with a syntax error in one
// code file and one index of its .debug_pkl string table changed from 12 to 243. LibTorch 1.13 reads
// the string table unchecked when it formats the compile error. The pre-flight refuses the debug_pkl.
TEST_CASE("debug information with indices outside its string table is refused", "[model]") {
  const std::string path = std::string(CNNVIZ_SOURCE_DIR) + "/tests/fuzz/corpus/fuzz_model/regression_debug_pkl.pt";
  CHECK_THAT(refusal(path), Contains("___torch_mangle_2459.py.debug_pkl' is debug information with a text index outside "
                                     "its string table"));
}
