// Serves one Worker inside one process: its listener, its connections (by id), its
// counters, its rate-limited peer log and its periodic sweep (the connections' deadlines
// from a timer wheel in bounded batches, the memory budget, returning freed memory to the
// OS).
#pragma once

#include <uv.h>

#include <functional>
#include <memory>
#include <string>
#include <system_error>
#include <unordered_map>
#include <vector>

#include "detail/deadline_wheel.h"
#include "detail/listener.h"
#include "detail/log.h"
#include "detail/log_limiter.h"
#include "detail/static_files.h"
#include "wman/codec.h"
#include "wman/connection.h"
#include "wman/connection_map.h"
#include "wman/protocol_registry.h"
#include "wman/request_session.h"
#include "wman/worker.h"

namespace wman::detail {

class EventLoop;
class ConnectionImpl;
class TlsContext;
class UdpEndpoint;
class StaticRoot;

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
  // only tries one non-blocking write of it). A graceful stop never drops a connection still
  // in its handshake: it may finish (within handshake_timeout) and is then closed like the
  // others, right after its 101 / TLS handshake. `done` runs once the last connection is
  // gone; calling again with a null `done` (to escalate to a fast stop) keeps the earlier one.
  void stop(bool graceful, std::function<void()> done);

  // Stops accepting and runs onWorkerStop, but lets connections end by themselves; `done`
  // runs once the last one is gone. stop() cuts a drain short.
  void drain(std::function<void()> done);

  // Outbound links (OutboundHost's runtime): a fresh connection id, and a link to serve
  // like an accepted connection until it closes.
  ConnectionId takeId() { return ++next_id_; }
  void adoptLink(ConnectionImpl& c);
  // Closes the sweep's handles now (after stop(), for a loop about to close its handles).
  void releaseHandles() { closeSweep(); }

  bool running() const { return loop_ != nullptr; }
  // True once stop() or drain() began: a connection finishing its handshake now is closed.
  bool stopping() const { return stopping_; }
  EventLoop& loop() { return *loop_; }
  Worker& worker() { return worker_; }
  WorkerStats& stats() { return stats_; }
  const std::string& protocol() const { return worker_.protocol(); }
  // A fresh codec for one connection of this worker (nullptr if its protocol is unknown).
  // WebSocket codecs get the worker's [worker.websocket] settings, fixed at start().
  std::unique_ptr<Codec> createCodec() const;
  // The worker's TLS context, or nullptr for plain TCP (fixed at start()).
  const std::shared_ptr<TlsContext>& tlsContext() const { return tls_; }
  std::uint16_t port() const;
  // A udp:// worker's sockets (udp_endpoint.h), nullptr for other workers.
  UdpEndpoint* udp() const { return udp_.get(); }

  const ConnectionMap& connections() const { return conns_; }
  Connection* find(ConnectionId id) const;

  // Request/response protocols (worker_runtime_http.cpp). A request for the application:
  // onRequest, or the static files when it is unset; `failed` runs if onRequest throws.
  void serveRequest(ConnectionImpl& c, Request& req, Response& res,
                    const std::function<void()>& failed);
  // Answers the current request of `c` from [worker.http] root (404 without one).
  SendStatus serveStatic(ConnectionImpl& c);
  // The Date header's value, formatted at most once a second.
  std::string_view httpDate();
  // Counts a response by status class for stats().http_responses.
  void countResponse(int status);
  // A file body being sent (ConnectionImpl::sendFileBody), kept here rather than in every
  // connection since few connections ever send one.
  struct FileBody {
    UniqueFd fd;
    std::uint64_t offset = 0;
    std::uint64_t remaining = 0;
  };
  FileBody& fileBody(ConnectionImpl& c);
  FileBody* findFileBody(ConnectionId id);
  void dropFileBody(ConnectionId id) { file_bodies_.erase(id); }

  // Called by ConnectionImpl.
  void forget(ConnectionImpl& c);
  void callbackFailed(ConnectionImpl& c);
  // Connections of handshake protocols that have not completed their handshake.
  void handshakeStarted(ConnectionImpl& c);
  // Its handshake deadline is gone: `c` moves on to its other deadlines (if any).
  void handshakeEnded(ConnectionImpl& c) {
    --handshaking_;
    trackDeadlines(c);
  }
  // Places `c` in the deadline wheel at the earliest of its deadlines (handshake, idle,
  // ping, unfinished message, flush on close). Needed only when a deadline may have moved
  // earlier (accepted, handshake started, message started, closing); activity that moves
  // one later is found when the old one comes due, so reads never touch the wheel.
  void trackDeadlines(ConnectionImpl& c);
  void watchClosing(ConnectionImpl& c) { trackDeadlines(c); }
  // A heartbeat ping of `c` was handed to the kernel: the peer has one whole interval from
  // now to answer, however long the ping waited behind other output (a broadcast to every
  // connection, a peer slow to read).
  void pingWritten(ConnectionImpl& c);

  // Writes one per-peer failure line naming the worker, the connection and its remote
  // address, unless the cause's rate limit suppressed it (then only counted).
  template <typename... Args>
  void peerLog(PeerCause cause, spdlog::level::level_enum level, const Connection& c,
               spdlog::format_string_t<Args...> fmt, Args&&... args) {
    if (!admitLog(cause, level)) return;
    log().log(level, "worker {}: conn={} from {}: {}", worker_.name, c.id(), c.remoteAddress(),
              fmt::format(fmt, std::forward<Args>(args)...));
  }
  // The rate limiter behind peerLog, for lines without a connection (accept failures).
  bool admitLog(PeerCause cause, spdlog::level::level_enum level);

  // A stop or reload leaves an idle request connection this long for the request its
  // client may be sending right then (answered with Connection: close), then closes it.
  static constexpr std::uint64_t kStopIdleGraceMs = 1000;
  // A connection closing with unsent data gets this long to flush before it is dropped.
  static constexpr std::uint64_t kCloseFlushTimeoutMs = 10000;
  // RFC 6455 7.4.1: what a connection closed by a stop, reload or heartbeat failure hears.
  static constexpr std::uint16_t kGoingAway = 1001;
  // RFC 6455 7.4.1: what a connection hears when a callback of its own threw.
  static constexpr std::uint16_t kInternalError = 1011;
  // RFC 6455 7.4.1: what a connection shed by the memory budget hears.
  static constexpr std::uint16_t kTryAgainLater = 1013;
  // Most connections one sweep pass closes; the rest follow in the next loop iteration, so a
  // mass expiry never stalls the loop for the neighbours.
  static constexpr std::size_t kSweepBatch = 64;
  // Most deadlines one sweep pass looks at (a ping is a write): a million connections
  // accepted in the same second are pinged over many passes, with I/O in between.
  static constexpr std::size_t kSweepVisits = 1024;
  // After accept() failed for lack of fds, accepting pauses until a connection of this
  // worker closes, or until a probe this often finds a free fd.
  static constexpr std::uint64_t kAcceptRetryMs = 200;
  // Connections holding less than this are never shed by the memory budget.
  static constexpr std::size_t kShedMinBytes = 64 * 1024;
  // Most connections shed per sweep pass.
  static constexpr std::size_t kShedBatch = 16;
  // Freed memory is handed back to the OS (malloc_trim) after this many bytes of closed
  // connections' buffers were released, at most once per kTrimIntervalMs.
  static constexpr std::size_t kTrimAfterBytes = 4 * 1024 * 1024;
  static constexpr std::uint64_t kTrimIntervalMs = 1000;

 private:
  // Why accepting is paused (bits); accepting resumes once none is left.
  enum PauseReason : unsigned { kPauseFds = 1, kPauseMemory = 2 };

  std::unique_ptr<Listener> makeListener();
  void accept(int fd, bool is_pipe);
  void acceptFailed(int uv_error);
  void pauseAccepting(PauseReason why);
  void resumeAccepting(PauseReason why);
  // Ends an fd pause in `delay_ms` if a probe then finds a free fd, else probes again later.
  void retryAcceptingIn(std::uint64_t delay_ms);
  void forEachListener(const std::function<void(Listener&)>& fn);
  void stopAccepting();
  std::error_code abandonStart(std::error_code ec);
  // The sweep (worker_runtime_sweep.cpp): visits the deadlines that came due (at most
  // kSweepVisits, closing at most kSweepBatch) and schedules itself soon when it left some.
  void sweep();
  void scheduleSweepSoon();
  // The deadlines of [worker.limits] and ping_interval in ms (0 = off), fixed at start().
  struct Deadlines {
    std::uint64_t handshake = 0;
    std::uint64_t idle = 0;
    std::uint64_t ping = 0;
    std::uint64_t message = 0;
    // Request sessions: by what they wait for (RequestSession::Wait order; 0 = none).
    std::uint64_t request[4] = {0, 0, 0, 0};
  };
  // When the next deadline of `c` comes (0 = none).
  std::uint64_t nextDeadline(const ConnectionImpl& c, std::uint64_t now) const;
  // Acts on what is due for `c` at `now` (a ping, a close); true if it closed `c`.
  bool expire(ConnectionImpl& c, std::uint64_t now);
  // The deadline of what a request session waits for (0 = none); while stopping, an idle
  // one gets at most kStopIdleGraceMs.
  std::uint64_t requestTimeout(RequestSession::Wait wait) const;
  // expire() for a request session: the deadline of what it waits for, idle_timeout.
  bool expireRequest(ConnectionImpl& c, const RequestSession& s, std::uint64_t now);
  void sweepMemory(std::uint64_t now);
  void shedLargest();
  void startTimers(EventLoop& loop);
  // Reads the deadlines from the worker's config and makes the wheel; returns the sweep
  // period (the wheel's tick).
  std::uint64_t setupDeadlines(std::uint64_t now);
  void checkStopped();
  void setupCodecs();
  // Opens [worker.http] root; an error when it is set but unusable.
  std::error_code setupStatic();
  std::error_code setupTls();
  void closeSweep();
  template <class Handle>
  static void closeHandle(Handle*& h);

  Worker& worker_;
  EventLoop* loop_ = nullptr;
  std::unique_ptr<Listener> listener_;
  std::unique_ptr<UdpEndpoint> udp_;  // instead of listener_ for udp://
  std::shared_ptr<TlsContext> tls_;
  ListenerCodecFactory codec_factory_;  // set by start(); the registry's factory otherwise
  CodecLimits codec_limits_;
  std::unique_ptr<StaticRoot> static_root_;  // [worker.http] root, opened at start()
  std::unordered_map<ConnectionId, FileBody> file_bodies_;
  // Files up to this size are read and sent with their head in one write.
  static constexpr std::uint64_t kInlineFileMax = 16 * 1024;
  std::string inline_file_;  // their bytes, reused from one request to the next
  std::string http_date_;
  std::int64_t http_date_second_ = -1;
  std::vector<std::unique_ptr<Listener>> extra_listeners_;
  ConnectionMap conns_;
  WorkerStats stats_;
  ConnectionId next_id_ = 0;
  std::size_t handshaking_ = 0;
  Deadlines deadlines_;
  // Every connection with a deadline sits here once, at its earliest one (created at start()).
  std::unique_ptr<DeadlineWheel> wheel_;
  uv_timer_t* sweep_timer_ = nullptr;
  uv_check_t* soon_check_ = nullptr;    // re-runs the sweep after the next poll for the rest
  uv_idle_t* soon_idle_ = nullptr;      // keeps that poll from blocking meanwhile
  uv_timer_t* accept_timer_ = nullptr;  // retries accepting after an fd shortage
  std::function<void()> stopped_;
  bool stopping_ = false;
  unsigned paused_ = 0;  // PauseReason bits
  LogLimiter peer_log_;
  std::size_t released_bytes_ = 0;  // buffer bytes freed since the last malloc_trim
  std::uint64_t trimmed_at_ = 0;
};

}  // namespace wman::detail
