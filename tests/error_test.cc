// Error messages are one line: whatever the user typed, a message cannot split or drive the terminal.

#include "cnnviz/error.h"

#include <catch2/catch.hpp>

using cnnviz::Error;
using cnnviz::ErrorKind;
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
