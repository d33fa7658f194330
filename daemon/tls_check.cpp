#include "tls_check.h"

#include "wman/tls.h"

namespace wman::daemon {

namespace {

// One TLS setting, reported at `line` with `where` ("worker 'x': ") before each message.
void checkOne(const Config& config, const TlsConfig& tls, int line, const std::string& where,
              TlsCheckResult& result) {
  std::vector<std::string> warnings;
  std::string error;
  if (!checkTlsConfig(tls, &warnings, &error)) {
    result.errors.push_back(ConfigError{config.path, line, 1, where + error});
  }
  for (const std::string& warning : warnings) {
    result.warnings.push_back(config.path + ":" + std::to_string(line) + ": warning: " + where +
                              warning);
  }
}

}  // namespace

TlsConfig metricsTls(const DaemonConfig& daemon) {
  TlsConfig tls;
  tls.cert = daemon.metrics_cert;
  tls.key = daemon.metrics_key;
  return tls;
}

TlsCheckResult checkTls(const Config& config) {
  TlsCheckResult result;
  for (const WorkerConfig& w : config.workers) {
    if (w.transport == "tls") checkOne(config, w.tls, w.line, "worker '" + w.name + "': ", result);
  }
  const TlsConfig metrics = metricsTls(config.daemon);
  if (!config.daemon.metrics.empty() && metrics.enabled())
    checkOne(config, metrics, config.daemon.metrics_line, "metrics: ", result);
  return result;
}

}  // namespace wman::daemon
