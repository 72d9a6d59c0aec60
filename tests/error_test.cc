// Error messages are one line: whatever the user typed, a message cannot split or drive the terminal.

#include "cnnviz/error.h"

#include <catch2/catch.hpp>

#include "test_env.h"

using cnnviz::Error;
using cnnviz::ErrorKind;
using cnnviz::ErrorKindInfo;
using cnnviz::error_kinds;
using cnnviz::exit_code;
using cnnviz::exit_code_summary;
using cnnviz::one_line;

TEST_CASE("one_line escapes line breaks and control characters", "[error]") {
  CHECK(one_line("plain text, caf\xc3\xa9 \xff") == "plain text, caf\xc3\xa9 \xff");
  CHECK(one_line("a\nb\r\nc\td") == "a\\nb\\r\\nc\\td");
  CHECK(one_line(std::string("nul\0x", 5)) == "nul\\x00x");
  CHECK(one_line("\x1b[31mred\x1b[0m\x7f") == "\\x1b[31mred\\x1b[0m\\x7f");
  CHECK(one_line("") == "");
}

TEST_CASE("an Error's message is always one line", "[error]") {
  const Error e = Error::file_not_found("model\n.pt");
  const std::string what = e.what();
  CHECK(what.find('\n') == std::string::npos);
  CHECK(what.find("model\\n.pt") != std::string::npos);
  CHECK(e.kind() == ErrorKind::kInput);
  CHECK(std::string(Error(ErrorKind::kUsage, "--input '1\n2'").what()) == "--input '1\\n2'");
}

TEST_CASE("the error table gives every kind one exit code, each documented in docs/cli.md", "[error]") {
  const std::string doc = cnnviz::test::read_file(std::string(CNNVIZ_SOURCE_DIR) + "/docs/cli.md");
  int expected = 1;
  for (const ErrorKindInfo& info : error_kinds()) {
    INFO(info.summary);
    CHECK(info.exit_code == expected++);
    CHECK(exit_code(info.kind) == info.exit_code);
    CHECK(doc.find("\n| " + std::to_string(info.exit_code) + " | ") != std::string::npos);
  }
  CHECK(expected == 12);
  CHECK(exit_code_summary().rfind("Exit codes: 0 ok, 1 internal error, 2 usage, ", 0) == 0);
  CHECK(exit_code_summary().find(", 11 some batch items failed.") != std::string::npos);
}
