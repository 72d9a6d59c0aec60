#pragma once

// Shared by the libFuzzer targets in this folder (scripts/fuzz runs them; docs/development.md).
//
// Each target feeds its bytes to one of libcnnviz's entry points for untrusted input. A cnnviz::Error
// of the documented kind is the expected answer to bad input; anything else is a bug the fuzzer
// reports: a crash, a sanitizer report, a hang, another exception type escaping (std::terminate ->
// abort), or a broken invariant (FUZZ_CHECK -> abort with the condition and line).

#include <cstdio>
#include <cstdlib>
#include <initializer_list>

#include "cnnviz/error.h"

#define FUZZ_CHECK(cond)                                                                   \
  do {                                                                                     \
    if (!(cond)) {                                                                         \
      std::fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__, __LINE__, #cond);    \
      std::abort();                                                                        \
    }                                                                                      \
  } while (0)

namespace cnnviz::fuzz {

/// Aborts unless `e` is of one of the kinds the entry point documents for bad input, with a message
/// of one line free of control characters (docs/security.md).
inline void expect_kind(const Error& e, std::initializer_list<ErrorKind> kinds) {
  bool ok = false;
  for (ErrorKind k : kinds) ok = ok || e.kind() == k;
  for (const char* c = e.what(); *c != '\0'; ++c) {
    const auto byte = static_cast<unsigned char>(*c);
    ok = ok && byte >= 0x20 && byte != 0x7f;
  }
  if (!ok || e.what()[0] == '\0') {
    std::fprintf(stderr, "unexpected cnnviz::Error (kind %d): %s\n", static_cast<int>(e.kind()), e.what());
    std::abort();
  }
}

}  // namespace cnnviz::fuzz
