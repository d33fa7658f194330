// The TLS part of validating a config: every TLS worker's certificates and keys are loaded
// the way its workers will load them, before `start`, `check` or `reload` go on.
#pragma once

#include <string>
#include <vector>

#include "wman/config.h"

namespace wman::daemon {

struct TlsCheckResult {
  std::vector<ConfigError> errors;    // at the worker's [[worker]] line; the config is refused
  std::vector<std::string> warnings;  // "file:line: warning: ..." (certificates expiring soon)
  bool ok() const { return errors.empty(); }
};

// Checks each worker with transport "tls" (wss:// included) with wman::checkTlsConfig().
TlsCheckResult checkTls(const Config& config);

}  // namespace wman::daemon
