// The invariant check every wman fuzz target uses: a violated invariant aborts, so
// libFuzzer records the input as a crash.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#define FUZZ_CHECK(cond)                                                            \
  do {                                                                              \
    if (!(cond)) {                                                                  \
      std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                 \
    }                                                                               \
  } while (0)

// An HTTP response starts with `status_prefix`, its head ends at a blank line, and no line
// of the head holds a bare CR or LF (which would let a value split the response).
inline void checkHttpResponseHead(const std::string& r, std::string_view status_prefix) {
  FUZZ_CHECK(r.starts_with(status_prefix));
  const std::size_t end = r.find("\r\n\r\n");
  FUZZ_CHECK(end != std::string::npos);
  const std::string_view head = std::string_view(r).substr(0, end + 2);
  for (std::size_t i = 0; i < head.size(); ++i) {
    if (head[i] == '\r') FUZZ_CHECK(i + 1 < head.size() && head[i + 1] == '\n');
    if (head[i] == '\n') FUZZ_CHECK(i > 0 && head[i - 1] == '\r');
  }
}
