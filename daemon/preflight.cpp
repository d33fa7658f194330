// preflight(): the machine-dependent checks that follow loadConfig() in check, start and reload.
#include "preflight.h"

#include <map>
#include <utility>

#include "tls_check.h"
#include "wman/resolve.h"

namespace wman::daemon {

std::vector<ConfigError> checkUpstreams(const Config& config) {
  std::vector<ConfigError> errors;
  std::map<std::string, std::string> failed;  // host -> reason, "" once it resolved
  for (const WorkerConfig& w : config.workers) {
    if (!w.forward || w.forward->url.isUnix()) continue;
    const ConnectUrl& url = w.forward->url;
    auto [it, fresh] = failed.try_emplace(url.host);
    if (fresh) {
      // The app resolves again at each connect; this lookup only catches a name that cannot
      // work at all (a typo, a missing /etc/hosts entry) before workers start. It blocks the
      // master during a reload too, which is bounded by the resolver's own timeouts.
      const ResolveResult result = resolve(url.host, url.port);
      if (!result.ok()) it->second = result.error.message();
    }
    if (it->second.empty()) continue;
    const int line = w.forward->line > 0 ? w.forward->line : w.line;
    errors.push_back(ConfigError{config.path, line, 0,
                                 "worker " + w.name + ": upstream host '" + url.host +
                                     "' cannot be resolved: " + it->second});
  }
  return errors;
}

PreflightResult preflight(const Config& config) {
  TlsCheckResult tls = checkTls(config);
  PreflightResult result{std::move(tls.errors), std::move(tls.warnings)};
  std::vector<ConfigError> upstream = checkUpstreams(config);
  result.errors.insert(result.errors.end(), std::make_move_iterator(upstream.begin()),
                       std::make_move_iterator(upstream.end()));
  return result;
}

}  // namespace wman::daemon
