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

// The TLS settings of the operations endpoint ([daemon] metrics_cert, metrics_key); not
// enabled() when it serves plain HTTP.
TlsConfig metricsTls(const DaemonConfig& daemon);

// Checks each worker with transport "tls" (wss:// included), and the operations endpoint's
// certificate when it has one, with wman::checkTlsConfig().
TlsCheckResult checkTls(const Config& config);

}  // namespace wman::daemon
