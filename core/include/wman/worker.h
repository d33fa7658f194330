// A Worker listens on one address with one protocol and routes its connections' events to
// the callbacks below (Workerman's Worker). Define Workers, then call wman::runAll().
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "wman/config.h"
#include "wman/connection.h"
#include "wman/connection_events.h"
#include "wman/connection_map.h"
#include "wman/http_server.h"
#include "wman/message.h"
#include "wman/resolve.h"
#include "wman/worker_limits.h"

namespace wman {

namespace detail {
class WorkerRuntime;
}

// Counters one worker process keeps for `wman status`.
struct WorkerStats {
  std::uint64_t accepted = 0;      // connections accepted since start
  std::uint64_t messages = 0;      // messages delivered to onMessage
  std::uint64_t messages_out = 0;  // sends queued (not Dropped), fan-out copies included
  std::uint64_t bytes_in = 0;      // bytes read from peers (TLS records as received)
  std::uint64_t bytes_out = 0;     // bytes the kernel took for peers
  std::uint64_t send_fail = 0;     // sends dropped because a buffer was full
  // Peers closed for bad input: protocol and TLS errors, refused handshakes.
  std::uint64_t protocol_errors = 0;
  std::uint64_t callback_errors = 0;  // exceptions thrown by user callbacks
  std::uint64_t accept_failures = 0;  // accept() failures (fd limit) and refused set-ups
  std::uint64_t log_suppressed = 0;   // per-peer log lines the rate limit suppressed
  std::uint64_t shed = 0;             // connections closed by the memory budget
  // udp:// workers only. Datagrams received, datagrams sent, and datagrams lost: received
  // but not decodable or larger than limits.max_package_size, not sent (the kernel refused,
  // EAGAIN included), or dropped by the kernel because the socket's receive queue was full.
  std::uint64_t udp_in = 0;
  std::uint64_t udp_out = 0;
  std::uint64_t udp_dropped = 0;
  // http:// workers only: responses sent, by status class (1xx, 2xx, 3xx, 4xx, 5xx; a
  // refused request's 400/408/413/431 included).
  std::uint64_t http_responses[5] = {0, 0, 0, 0, 0};
  // False while the worker's listener is paused (out of fds, over max_memory) or stopping.
  bool accepting = true;
};

// The connection callbacks (onConnect, onMessage, onClose, onError, onBufferFull,
// onBufferDrain, onWebSocketPing/Pong/Close) come from ConnectionEvents.
class Worker : public ConnectionEvents {
 public:
  // `url` is a listen address such as "text://0.0.0.0:8081" (see docs/config.md).
  // Throws std::invalid_argument if it cannot be parsed. The Worker registers itself for
  // wman::runAll() and must outlive it.
  explicit Worker(std::string url);
  // A Worker without a listener (Workerman's `new Worker()`): it runs onWorkerStart and
  // timers, and serves connections handed to it with Loop::adopt() (protocol "tcp" unless
  // setProtocol() says otherwise).
  Worker();
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  std::string name = "none";  // shown in logs and status
  int count = 1;              // processes for this worker (0 = number of CPUs)
  bool reusePort = false;     // one SO_REUSEPORT socket per process
  WorkerLimits limits;        // bounds on what peers may do
  // TLS ([worker.tls]): a cert (and key) turns TLS on for any protocol; wss:// requires one.
  // Read when the worker starts; a bad file fails the start. See docs/tls.md.
  TlsConfig tls;
  std::map<std::string, OptionValue> options;  // [worker.options] from the config

  // Called in the worker process once its loop runs and its listener is open, before it
  // accepts. Timers may be added here.
  std::function<void(Worker&)> onWorkerStart;
  // Called when the worker process stops, before its connections are closed.
  std::function<void(Worker&)> onWorkerStop;
  // WebSocket only: runs before the upgrade is answered. Leave `answer` alone to accept;
  // set answer.status (e.g. 403) and answer.reason to refuse; set answer.subprotocol or add
  // answer.headers to shape the 101 response. onConnect follows an accepted handshake.
  std::function<void(Connection&, const HandshakeRequest&, HandshakeAnswer&)> onWebSocketConnect;
  // WebSocket only: [worker.websocket] (allowed_origins, ping_interval, permessage_deflate,
  // max_message_size, binary_type). max_message_size replaces limits.max_package_size for
  // WebSocket messages. Read when the worker starts.
  WebSocketConfig websocket;

  // http:// and https:// only (docs/http.md). One request, in order per connection; answer
  // it through `res` now or later. Unset: the static files of http.root answer, or 404.
  // Connections of an http:// worker reach onConnect, onMessage and onClose only once a
  // WebSocket path (http.websocket) opened a session on them.
  std::function<void(Request& req, Response& res)> onRequest;
  // With http.stream_body: onRequest runs at the head of a request with a body (req.body
  // empty), then this runs for each piece as it arrives; `last` is true on the final call
  // (whose piece may be empty).
  std::function<void(Response& res, std::string_view piece, bool last)> onRequestBody;
  // [worker.http] (root, index, websocket paths, limits and timeouts). Read when the worker
  // starts.
  HttpConfig http;

  const std::string& url() const { return url_; }
  const ListenUrl& listenUrl() const { return listen_; }
  bool hasListener() const { return !url_.empty(); }
  // The codec name of this worker's connections.
  const std::string& protocol() const { return listen_.protocol; }
  // For a Worker without a listener: the protocol of adopted connections; for a unix://
  // listener (raw bytes by default): the protocol it speaks. Call before it starts. Throws
  // std::invalid_argument for a name the ProtocolRegistry does not know.
  void setProtocol(std::string name);

  // The connections this worker process holds now, by id.
  const ConnectionMap& connections() const;
  // The connection with `id`, or nullptr once it is gone.
  Connection* connection(ConnectionId id) const;
  // Sends to a connection by id; NotConnected if it is gone.
  SendStatus send(ConnectionId id, std::string_view data);
  // udp:// workers: sends `data`, encoded by the worker's protocol, as one datagram to
  // `address` ("ip:port" or "[v6]:port", a literal: names are not resolved here). Datagrams
  // sent in one loop iteration go out together. Ok once queued (a later kernel refusal counts
  // in stats().udp_dropped); Dropped for a bad address or a datagram over 64 KiB;
  // NotConnected when this worker has no UDP socket open.
  SendStatus sendTo(std::string_view address, std::string_view data);
  SendStatus sendTo(const SocketAddress& address, std::string_view data);

  // This process's slot among the worker's `count` processes, 0..count-1 (Workerman's
  // $worker->id), e.g. to run a job in slot 0 only. Stable for the slot: a process that
  // replaces a crashed or reloaded one of the same slot has the same id. Under wman's
  // master it is set before any of the worker's code runs (an app module's setup function
  // included); with serveInProcess, and in the master, it is 0.
  int id() const { return id_; }
  // For process models only (wman's master calls it in each forked worker): says which
  // slot this process serves, before the worker's code runs. Applications read id().
  void setId(int id) { id_ = id; }

  // The port actually bound (useful with port 0), 0 before listening.
  std::uint16_t port() const;
  const WorkerStats& stats() const;

  // Every Worker constructed so far and not destroyed, in construction order.
  static const std::vector<Worker*>& all();

  // Internal: the runtime that serves this worker in the current process.
  detail::WorkerRuntime& runtime() const { return *runtime_; }

 private:
  std::string url_;
  ListenUrl listen_;
  std::unique_ptr<detail::WorkerRuntime> runtime_;
  int id_ = 0;
};

}  // namespace wman
