#pragma once
// Reading `cnnviz report`'s pages in C++ tests (the browser tests read them in Chromium).

#include <catch2/catch.hpp>
#include <string>

namespace cnnviz::test {

/// How often `what` occurs in `text` (overlaps counted).
inline int count_occurrences(const std::string& text, const std::string& what) {
  int n = 0;
  for (std::size_t pos = text.find(what); pos != std::string::npos; pos = text.find(what, pos + 1)) ++n;
  return n;
}

/// The text of the page's <script type="application/json" id="cnnviz-record"> element.
inline std::string embedded_record_text(const std::string& html) {
  const std::string open = "<script type=\"application/json\" id=\"cnnviz-record\">";
  const std::size_t begin = html.find(open);
  REQUIRE(begin != std::string::npos);
  const std::size_t end = html.find("</script>", begin);
  REQUIRE(end != std::string::npos);
  return html.substr(begin + open.size(), end - begin - open.size());
}

}  // namespace cnnviz::test
