#include "tls_check.h"

#include "wman/tls.h"

namespace wman::daemon {

TlsCheckResult checkTls(const Config& config) {
  TlsCheckResult result;
  for (const WorkerConfig& w : config.workers) {
    if (w.transport != "tls") continue;
    std::vector<std::string> warnings;
    std::string error;
    const std::string where = "worker '" + w.name + "': ";
    if (!checkTlsConfig(w.tls, &warnings, &error)) {
      result.errors.push_back(ConfigError{config.path, w.line, 1, where + error});
    }
    for (const std::string& warning : warnings) {
      result.warnings.push_back(config.path + ":" + std::to_string(w.line) + ": warning: " + where +
                                warning);
    }
  }
  return result;
}

}  // namespace wman::daemon
