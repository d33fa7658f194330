// The master's operations endpoint ([daemon] metrics): /metrics, /healthz and /readyz over
// HTTP/1.1 (or HTTPS), served on the master's loop by a Worker speaking the ops request
// codec (ops_request_codec.h). Every answer is built from what the master already holds, so
// a scrape never waits on a worker; each response closes its connection.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "wman/config.h"
#include "wman/loop.h"
#include "wman/worker.h"

namespace wman::daemon {

// Where and how the endpoint is served; from [daemon] metrics, metrics_cert, metrics_key.
struct MetricsEndpoint {
  std::string address;  // "host:port"
  TlsConfig tls;        // enabled() for HTTPS
  bool operator==(const MetricsEndpoint& o) const {
    return address == o.address && tls.cert == o.tls.cert && tls.key == o.tls.key;
  }
};

// The endpoint from a [daemon] section; an empty address when metrics is off.
MetricsEndpoint metricsEndpoint(const DaemonConfig& daemon);

// Readiness for /readyz: whether a load balancer should send new clients, and why (the body).
struct Readiness {
  bool ready = false;
  std::string reason;
};

class MetricsServer {
 public:
  struct Hooks {
    std::function<std::string()> metrics;  // the /metrics body
    std::function<Readiness()> readiness;
  };

  // Serves on `loop`, which must outlive this object.
  MetricsServer(Loop& loop, Hooks hooks);
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  // Binds `endpoint` and starts serving it beside any listener open now (a reload's new
  // address answers before the swap). Returns its id, or 0 with the reason in `error`.
  int open(const MetricsEndpoint& endpoint, std::string* error);
  // Makes listener `id` (from open(), or 0 for none) the one in use and closes the others.
  void use(int id);
  // Closes listener `id` (opened for a reload that failed).
  void close(int id);
  // Closes every listener; their connections are cut.
  void closeAll();

  // The bearer token /metrics requires from now on ("" = none).
  void setToken(std::string token) { token_ = std::move(token); }
  // The endpoint in use, and the address it is bound to ("127.0.0.1:9100", the real port
  // when the config says 0); empty when none.
  const MetricsEndpoint* endpoint() const;
  std::string boundAddress() const;

 private:
  struct Listener {
    MetricsEndpoint endpoint;
    std::unique_ptr<Worker> worker;
  };

  std::string boundAddress(int id) const;
  void onRequest(Connection& c, std::string_view message);
  std::string answer(std::string_view method, std::string_view path,
                     std::string_view authorization);

  struct Retired {
    std::unique_ptr<Worker> worker;
    bool stopped = false;
  };

  Loop& loop_;
  Hooks hooks_;
  std::vector<std::unique_ptr<Retired>> retired_;
  std::string token_;
  std::map<int, Listener> listeners_;
  int next_id_ = 1;
  int in_use_ = 0;
};

}  // namespace wman::daemon
