#include "metrics_server.h"

#include <spdlog/spdlog.h>

#include <cctype>

#include "metrics_format.h"
#include "ops_request_codec.h"
#include "tls_check.h"
#include "wman/logging.h"

namespace wman::daemon {
namespace {

// A scraper or a probe needs a few connections at once; past this the runtime closes new
// ones at once, which keeps the master's fds bounded.
constexpr std::size_t kMaxConnections = 64;
// A request head: a Prometheus scrape sends about 300 bytes.
constexpr std::size_t kMaxHead = 8 * 1024;
// A head must arrive within this (counted from its first byte), and a connection that sends
// nothing is closed after kIdle.
constexpr std::chrono::milliseconds kHeadTimeout{5000};
constexpr std::chrono::milliseconds kIdle{10000};

constexpr std::string_view kText = "text/plain; charset=utf-8";

// Compares without an early exit, so the time taken does not tell how much of a guess
// matched.
bool sameSecret(std::string_view a, std::string_view b) {
  unsigned diff = a.size() == b.size() ? 0u : 1u;
  for (std::size_t i = 0; i < a.size(); ++i) {
    diff |= static_cast<unsigned>(a[i] ^ (i < b.size() ? b[i] : 0));
  }
  return diff == 0;
}

// "Bearer <token>" with the scheme in any case (RFC 7235 2.1); "" when it is not that.
std::string_view bearerToken(std::string_view authorization) {
  constexpr std::string_view kScheme = "bearer ";
  if (authorization.size() < kScheme.size()) return {};
  for (std::size_t i = 0; i < kScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(authorization[i])) != kScheme[i]) return {};
  }
  authorization.remove_prefix(kScheme.size());
  while (!authorization.empty() && authorization.front() == ' ') authorization.remove_prefix(1);
  return authorization;
}

}  // namespace

MetricsEndpoint metricsEndpoint(const DaemonConfig& daemon) {
  return MetricsEndpoint{daemon.metrics, metricsTls(daemon)};
}

MetricsServer::MetricsServer(Loop& loop, Hooks hooks) : loop_(loop), hooks_(std::move(hooks)) {
  registerOpsProtocol();
}

MetricsServer::~MetricsServer() = default;

int MetricsServer::open(const MetricsEndpoint& endpoint, std::string* error) {
  std::erase_if(retired_, [](const auto& r) { return r->stopped; });
  auto worker = std::make_unique<Worker>("tcp://" + endpoint.address);
  worker->setProtocol(std::string(kOpsProtocol));
  worker->name = "metrics";
  worker->limits.max_connections = kMaxConnections;
  worker->limits.max_package_size = kMaxHead;
  worker->limits.message_timeout = kHeadTimeout;
  worker->limits.idle_timeout = kIdle;
  worker->limits.handshake_timeout = kHeadTimeout;  // the TLS handshake
  worker->tls = endpoint.tls;
  worker->onMessage = [this](Connection& c, Message m) { onRequest(c, m.view()); };
  if (std::error_code ec = loop_.startWorker(*worker)) {
    *error = "cannot serve metrics on " + endpoint.address + ": " + ec.message();
    return 0;
  }
  const int id = next_id_++;
  listeners_.emplace(id, Listener{endpoint, std::move(worker)});
  wman::logger().info("metrics: serving /metrics, /healthz and /readyz on {}://{}",
                      endpoint.tls.enabled() ? "https" : "http", boundAddress(id));
  return id;
}

void MetricsServer::use(int id) {
  in_use_ = id;
  std::vector<int> others;
  for (const auto& [key, l] : listeners_) {
    if (key != id) others.push_back(key);
  }
  for (int key : others) close(key);
}

void MetricsServer::close(int id) {
  auto it = listeners_.find(id);
  if (it == listeners_.end()) return;
  if (in_use_ == id) in_use_ = 0;
  // The Worker must outlive its stop, whose end may come on a later pass of the loop: it
  // is kept until then, and freed by the next open() (or with this object).
  Retired* retired = retired_.emplace_back(std::make_unique<Retired>()).get();
  retired->worker = std::move(it->second.worker);
  listeners_.erase(it);
  loop_.stopWorker(*retired->worker, false, [retired] { retired->stopped = true; });
}

void MetricsServer::closeAll() {
  std::vector<int> ids;
  for (const auto& [key, l] : listeners_) ids.push_back(key);
  for (int key : ids) close(key);
}

const MetricsEndpoint* MetricsServer::endpoint() const {
  auto it = listeners_.find(in_use_);
  return it == listeners_.end() ? nullptr : &it->second.endpoint;
}

std::string MetricsServer::boundAddress() const {
  return boundAddress(in_use_);
}

std::string MetricsServer::boundAddress(int id) const {
  auto it = listeners_.find(id);
  if (it == listeners_.end()) return {};
  const std::string& address = it->second.endpoint.address;
  // The configured host with the port actually bound (which differs for port 0).
  return address.substr(0, address.rfind(':') + 1) + std::to_string(it->second.worker->port());
}

void MetricsServer::onRequest(Connection& c, std::string_view message) {
  const OpsRequest req = decodeOpsRequest(message);
  c.close(answer(req.method, req.path, req.authorization));
}

std::string MetricsServer::answer(std::string_view method, std::string_view path,
                                  std::string_view authorization) {
  const bool known = path == "/metrics" || path == "/healthz" || path == "/readyz";
  if (!known) return opsResponse(404, kText, "not found (try /metrics, /healthz or /readyz)\n");
  if (method != "GET") return opsResponse(405, kText, "only GET is served\n", "Allow: GET\r\n");
  if (path == "/healthz") return opsResponse(200, kText, "ok\n");
  if (path == "/readyz") {
    const Readiness r = hooks_.readiness();
    return opsResponse(r.ready ? 200 : 503, kText, r.reason + "\n");
  }
  if (!token_.empty() && !sameSecret(bearerToken(authorization), token_)) {
    return opsResponse(401, kText, "a bearer token is required\n",
                       "WWW-Authenticate: Bearer realm=\"wman metrics\"\r\n");
  }
  return opsResponse(200, kMetricsContentType, hooks_.metrics());
}

}  // namespace wman::daemon
