// libFuzzer target: parseConfig on arbitrary bytes must never crash, hang or throw, and must
// return either a config or at least one error.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "wman/config.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  wman::ConfigCheck check;
  check.check_files = false;  // the fuzzer must not depend on (or probe) the file system
  const wman::ConfigResult result = wman::parseConfig(text, "fuzz.toml", check);
  // Exactly one of the two outcomes; anything else is a loader bug.
  if (result.config.has_value() == !result.errors.empty()) std::abort();
  for (const wman::ConfigError& e : result.errors) {
    if (e.message.empty() || e.format().find('\n') != std::string::npos) std::abort();
  }
  return 0;
}
