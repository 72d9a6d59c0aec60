#pragma once

// Assertions shared by the CLI tests.

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "test_env.h"

namespace cnnviz::test {

/// One clean error line: the documented code, nothing on stdout, no backtrace.
inline void check_error(const std::vector<std::string>& args, int code, const std::vector<std::string>& mentions) {
  const auto r = run_cnnviz(args);
  INFO("stderr: " << r.err);
  CHECK(r.exit_code == code);
  CHECK(r.out.empty());
  CHECK(count_lines(r.err) == 1);
  CHECK_THAT(r.err, Catch::Matchers::StartsWith("cnnviz"));
  CHECK_THAT(r.err, Catch::Matchers::Contains("error:"));
  CHECK(r.err.find("Exception raised from") == std::string::npos);
  CHECK(r.err.find("frame #") == std::string::npos);
  for (const auto& m : mentions) CHECK_THAT(r.err, Catch::Matchers::Contains(m));
}

}  // namespace cnnviz::test
