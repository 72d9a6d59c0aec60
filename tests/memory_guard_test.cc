#include <catch2/catch.hpp>

#include "cnnviz/error.h"
#include "cnnviz/memory_guard.h"

using Catch::Matchers::Contains;

TEST_CASE("parse_memory_size understands SI and IEC units", "[guard]") {
  CHECK(cnnviz::parse_memory_size("512M") == 512000000);
  CHECK(cnnviz::parse_memory_size("8G") == 8000000000);
  CHECK(cnnviz::parse_memory_size("1GiB") == 1073741824);
  CHECK(cnnviz::parse_memory_size("1.5GB") == 1500000000);
  CHECK(cnnviz::parse_memory_size("4000000000") == 4000000000);
  for (const char* bad : {"", "lots", "12Q", "0", "-5G", "100"}) {
    INFO(bad);
    CHECK_THROWS_AS(cnnviz::parse_memory_size(bad), cnnviz::Error);
  }
}

TEST_CASE("check_memory refuses above the limit with both numbers and a way out", "[guard]") {
  CHECK_NOTHROW(cnnviz::check_memory(1000, 1000, "x"));
  try {
    cnnviz::check_memory(120000000000, 19000000000, "input 1,3,100000,100000");
    FAIL("accepted");
  } catch (const cnnviz::Error& e) {
    CHECK(e.kind() == cnnviz::ErrorKind::kResource);
    CHECK_THAT(e.what(), Contains("input 1,3,100000,100000 needs about 120.00 GB") && Contains("19.00 GB") &&
                             Contains("--max-memory"));
  }
}

TEST_CASE("the default memory limit is a share of what is available", "[guard]") {
  const int64_t available = cnnviz::available_memory_bytes();
  REQUIRE(available > 0);  // /proc/meminfo exists on every Linux this runs on
  CHECK(cnnviz::default_memory_limit() <= available);
  CHECK(cnnviz::default_memory_limit() >= available / 2);
}
