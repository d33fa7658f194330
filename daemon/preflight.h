// The checks of a loaded config that need this machine rather than the file: TLS certificates
// and keys load (tls_check.h), and every forward worker's upstream host resolves. `wman check`,
// `start` and `reload` all run preflight() after loadConfig(), so they refuse the same configs.
#pragma once

#include <string>
#include <vector>

#include "wman/config.h"

namespace wman::daemon {

struct PreflightResult {
  std::vector<ConfigError> errors;    // the config is refused
  std::vector<std::string> warnings;  // "file:line: warning: ..." (certificates expiring soon)
  bool ok() const { return errors.empty(); }
};

// Resolves the upstream host of every worker with a ForwardOptions (unix:// upstreams have
// none; IP literals are answered without DNS). Each distinct host is looked up once, and the
// call blocks for as long as the lookups take. An error is at the line of `upstream`:
// "worker NAME: upstream host 'x.invalid' cannot be resolved: Name or service not known".
std::vector<ConfigError> checkUpstreams(const Config& config);

// checkTls() and checkUpstreams(), errors in that order.
PreflightResult preflight(const Config& config);

}  // namespace wman::daemon
