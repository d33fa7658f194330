// Serves one Worker inside one process: its listener, its connections (by id), its
// counters and its periodic sweep (idle connections, connections stuck flushing on close).
#pragma once

#include <uv.h>

#include <functional>
#include <memory>
#include <string>
#include <system_error>
#include <unordered_map>
#include <vector>

#include "detail/listener.h"
#include "detail/partial_input.h"
#include "wman/codec.h"
#include "wman/connection.h"
#include "wman/protocol_registry.h"
#include "wman/worker.h"

namespace wman::detail {

class EventLoop;
class ConnectionImpl;
class TlsContext;

class WorkerRuntime {
 public:
  explicit WorkerRuntime(Worker& worker);
  ~WorkerRuntime();

  // Opens the listener on `loop` (binding it, or adopting `inherited_fd` when >= 0), runs
  // onWorkerStart, then starts accepting. A Worker without a listener only runs
  // onWorkerStart. On error nothing is left open.
  std::error_code start(EventLoop& loop, int inherited_fd = -1);

  // Accepts from one more inherited listening socket (a started worker with a listener
  // only), for a process that serves several SO_REUSEPORT sockets of one group.
  std::error_code addListener(int fd);

  // Makes `fd`, a connected stream socket (TCP or unix), a connection of this worker, as if
  // accepted; the runtime must be started. Returns nullptr and sets `ec` on failure (the fd
  // is then still the caller's to close).
  Connection* adopt(int fd, std::error_code& ec);

  // Stops accepting, runs onWorkerStop and closes every connection: flushing first when
  // `graceful`, at once otherwise (WebSocket peers get a Close 1001 either way; a fast stop
  // only tries one non-blocking write of it). `done` runs once the last connection is gone; calling
  // again with a null `done` (to escalate to a fast stop) keeps the earlier one.
  void stop(bool graceful, std::function<void()> done);

  // Stops accepting and runs onWorkerStop, but lets connections end by themselves; `done`
  // runs once the last one is gone. stop() cuts a drain short.
  void drain(std::function<void()> done);

  bool running() const { return loop_ != nullptr; }
  EventLoop& loop() { return *loop_; }
  Worker& worker() { return worker_; }
  WorkerStats& stats() { return stats_; }
  const std::string& protocol() const { return worker_.protocol(); }
  // A fresh codec for one connection of this worker (nullptr if its protocol is unknown).
  // WebSocket codecs get the worker's [worker.websocket] settings, fixed at start().
  std::unique_ptr<Codec> createCodec() const;
  // The worker's TLS context, or nullptr for plain TCP (fixed at start()).
  const std::shared_ptr<TlsContext>& tlsContext() const { return tls_; }
  std::uint16_t port() const { return listener_ ? listener_->port() : 0; }

  const std::unordered_map<ConnectionId, Connection*>& connections() const { return conns_; }
  Connection* find(ConnectionId id) const;

  // Called by ConnectionImpl.
  void forget(ConnectionImpl& c);
  void watchClosing(ConnectionImpl& c);
  void callbackFailed(ConnectionImpl& c);
  // Connections of handshake protocols that have not completed their handshake.
  void handshakeStarted() { ++handshaking_; }
  void handshakeEnded() { --handshaking_; }
  // Connections holding an unfinished message, for limits.message_timeout.
  PartialInputList& partials() { return partials_; }

  // A connection closing with unsent data gets this long to flush before it is dropped.
  static constexpr std::uint64_t kCloseFlushTimeoutMs = 10000;
  // RFC 6455 7.4.1: what a connection closed by a stop, reload or heartbeat failure hears.
  static constexpr std::uint16_t kGoingAway = 1001;
  // RFC 6455 7.4.1: what a connection hears when a callback of its own threw.
  static constexpr std::uint16_t kInternalError = 1011;

 private:
  void accept(uv_stream_t* server, bool is_pipe);
  void stopAccepting();
  std::error_code abandonStart(std::error_code ec);
  void sweep();
  void checkStopped();
  void setupCodecs();
  std::error_code setupTls();
  void closeSweep();
  // limits.message_timeout: closes connections whose unfinished message is too old.
  void expireUnfinishedMessages(std::uint64_t now);

  Worker& worker_;
  EventLoop* loop_ = nullptr;
  std::unique_ptr<Listener> listener_;
  std::shared_ptr<TlsContext> tls_;
  CodecFactory codec_factory_;  // set by start(); the registry's factory otherwise
  CodecLimits codec_limits_;
  std::vector<std::unique_ptr<Listener>> extra_listeners_;
  std::unordered_map<ConnectionId, Connection*> conns_;
  std::unordered_map<ConnectionId, ConnectionImpl*> closing_;
  WorkerStats stats_;
  ConnectionId next_id_ = 0;
  std::size_t handshaking_ = 0;
  PartialInputList partials_;
  uv_timer_t* sweep_timer_ = nullptr;
  std::function<void()> stopped_;
  bool stopping_ = false;
  std::uint64_t refused_logged_at_ = 0;
};

}  // namespace wman::detail
