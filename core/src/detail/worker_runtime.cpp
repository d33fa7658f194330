#include "detail/worker_runtime.h"

#include <algorithm>
#include <chrono>

#include "detail/connection_impl.h"
#include "detail/dispatch.h"
#include "detail/event_loop.h"
#include "detail/log.h"
#include "detail/tls_context.h"
#include "websocket/websocket_codec.h"

namespace wman::detail {
namespace {
constexpr int kBacklog = 1024;
constexpr std::uint64_t kSweepIntervalMs = 1000;
// The sweep never runs more often than this, however short a deadline.
constexpr std::uint64_t kMinSweepIntervalMs = 25;

std::uint64_t pingIntervalMs(const Worker& w) {
  if (w.protocol() != "websocket") return 0;
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(w.websocket.ping_interval).count());
}

}  // namespace

WorkerRuntime::WorkerRuntime(Worker& worker) : worker_(worker) {}

WorkerRuntime::~WorkerRuntime() {
  closeSweep();
}

void WorkerRuntime::closeSweep() {
  if (!sweep_timer_) return;
  uv_close(reinterpret_cast<uv_handle_t*>(sweep_timer_),
           [](uv_handle_t* h) { delete reinterpret_cast<uv_timer_t*>(h); });
  sweep_timer_ = nullptr;
}

void WorkerRuntime::setupCodecs() {
  codec_limits_ = CodecLimits{worker_.limits.max_package_size};
  if (protocol() != "websocket") {
    codec_factory_ = ProtocolRegistry::factory(protocol());
    return;
  }
  const WebSocketConfig& ws = worker_.websocket;
  WebSocketOptions options;
  options.permessage_deflate = ws.permessage_deflate;
  options.default_kind = ws.binary_type == "binary" ? MessageKind::Binary : MessageKind::Text;
  options.deflate.server_max_window_bits = ws.server_max_window_bits;
  options.deflate.client_max_window_bits = ws.client_max_window_bits;
  options.deflate.mem_level = ws.mem_level;
  codec_limits_.max_package_size = ws.max_message_size;
  codec_factory_ = webSocketCodecFactory(options);
}

std::unique_ptr<Codec> WorkerRuntime::createCodec() const {
  if (codec_factory_) return codec_factory_(codec_limits_);
  // Not started yet (or an unknown protocol): the registry decides.
  return ProtocolRegistry::create(protocol(), codec_limits_);
}

std::error_code WorkerRuntime::setupTls() {
  tls_.reset();
  const bool wanted = worker_.listenUrl().tls || worker_.tls.enabled();
  if (!wanted) return {};
  if (!worker_.tls.enabled()) {
    log().error("worker {}: {} needs a certificate: set tls.cert and tls.key", worker_.name,
                worker_.url());
    return std::make_error_code(std::errc::invalid_argument);
  }
  std::string error;
  tls_ = TlsContext::createServer(worker_.tls, &error);
  if (!tls_) {
    log().error("worker {}: cannot set up TLS: {}", worker_.name, error);
    return std::make_error_code(std::errc::invalid_argument);
  }
  return {};
}

std::error_code WorkerRuntime::start(EventLoop& loop, int inherited_fd) {
  loop_ = &loop;
  stopping_ = false;
  setupCodecs();
  if (auto ec = setupTls()) return abandonStart(ec);
  std::error_code ec;
  if (worker_.hasListener()) {
    listener_ = std::make_unique<Listener>(
        loop, worker_.listenUrl(),
        [this](uv_stream_t* server, bool is_pipe) { accept(server, is_pipe); });
    ec = inherited_fd >= 0 ? listener_->adopt(inherited_fd) : listener_->bind();
    if (ec) return abandonStart(ec);
  }
  // onWorkerStart runs before the first accept: an application sets up its state (timers,
  // upstream connections) before any client can reach it.
  if (worker_.onWorkerStart) {
    try {
      worker_.onWorkerStart(worker_);
    } catch (const std::exception& e) {
      log().error("worker {}: onWorkerStart threw: {}", worker_.name, e.what());
      return abandonStart(std::make_error_code(std::errc::operation_canceled));
    } catch (...) {
      log().error("worker {}: onWorkerStart threw a non-standard exception", worker_.name);
      return abandonStart(std::make_error_code(std::errc::operation_canceled));
    }
  }
  if (listener_ && (ec = listener_->listen(kBacklog))) return abandonStart(ec);
  sweep_timer_ = new uv_timer_t;
  uv_timer_init(loop.raw(), sweep_timer_);
  sweep_timer_->data = this;
  // Deadlines are checked a quarter of the shortest one apart (at most once a second), so
  // a ping or a handshake timeout fires at most a quarter late.
  std::uint64_t period = kSweepIntervalMs;
  const auto handshake = static_cast<std::uint64_t>(worker_.limits.handshake_timeout.count());
  const auto message = static_cast<std::uint64_t>(worker_.limits.message_timeout.count());
  for (std::uint64_t deadline : {pingIntervalMs(worker_), handshake, message}) {
    if (deadline > 0) period = std::min(period, std::max(deadline / 4, kMinSweepIntervalMs));
  }
  uv_timer_start(
      sweep_timer_, [](uv_timer_t* t) { static_cast<WorkerRuntime*>(t->data)->sweep(); }, period,
      period);
  // The sweep never keeps a process alive on its own.
  uv_unref(reinterpret_cast<uv_handle_t*>(sweep_timer_));
  if (listener_) {
    log().info("worker {} listening on {} ({})", worker_.name, worker_.url(), protocol());
  }
  return {};
}

std::error_code WorkerRuntime::abandonStart(std::error_code ec) {
  if (listener_) {
    listener_->close();
    listener_.reset();
  }
  loop_ = nullptr;
  return ec;
}

std::error_code WorkerRuntime::addListener(int fd) {
  if (!loop_ || !listener_ || stopping_) return std::make_error_code(std::errc::not_connected);
  auto extra = std::make_unique<Listener>(
      *loop_, worker_.listenUrl(),
      [this](uv_stream_t* server, bool is_pipe) { accept(server, is_pipe); });
  if (auto ec = extra->adopt(fd)) return ec;
  if (auto ec = extra->listen(kBacklog)) {
    extra->close();
    return ec;
  }
  extra_listeners_.push_back(std::move(extra));
  return {};
}

Connection* WorkerRuntime::adopt(int fd, std::error_code& ec) {
  if (!loop_) {
    ec = std::make_error_code(std::errc::not_connected);
    return nullptr;
  }
  ConnectionImpl* c = ConnectionImpl::open(*this, fd, next_id_ + 1, ec);
  if (!c) return nullptr;
  ++next_id_;
  conns_.emplace(c->id(), c);
  c->start();
  return c;
}

void WorkerRuntime::accept(uv_stream_t* server, bool is_pipe) {
  ConnectionImpl* c = ConnectionImpl::accept(*this, server, is_pipe, next_id_ + 1);
  if (!c) return;
  ++next_id_;
  if (stopping_ || conns_.size() >= worker_.limits.max_connections) {
    // Accept-and-close keeps the listen queue moving; the peer sees a prompt close rather
    // than a hang. Logged at most once a second.
    if (loop_->now() - refused_logged_at_ >= 1000 || refused_logged_at_ == 0) {
      refused_logged_at_ = loop_->now();
      log().warn("worker {}: refusing connection, {} open (max_connections {})", worker_.name,
                 conns_.size(), worker_.limits.max_connections);
    }
    c->reject();
    return;
  }
  conns_.emplace(c->id(), c);
  stats_.accepted++;
  c->start();
}

Connection* WorkerRuntime::find(ConnectionId id) const {
  auto it = conns_.find(id);
  return it == conns_.end() ? nullptr : it->second;
}

void WorkerRuntime::forget(ConnectionImpl& c) {
  conns_.erase(c.id());
  closing_.erase(c.id());
  checkStopped();
}

void WorkerRuntime::watchClosing(ConnectionImpl& c) {
  closing_.emplace(c.id(), &c);
}

void WorkerRuntime::callbackFailed(ConnectionImpl& c) {
  stats_.callback_errors++;
  c.close(kInternalError, "internal error");
}

void WorkerRuntime::expireUnfinishedMessages(std::uint64_t now) {
  // The list is oldest first, so this costs only the connections it closes; the batch
  // bound keeps one sweep short when many expire together.
  constexpr std::size_t kMaxBatch = 256;
  partials_.expire(now, static_cast<std::uint64_t>(worker_.limits.message_timeout.count()),
                   kMaxBatch);
}

void WorkerRuntime::sweep() {
  const std::uint64_t now = loop_->now();
  expireUnfinishedMessages(now);
  if (!closing_.empty()) {
    std::vector<ConnectionImpl*> expired;
    for (auto& [id, c] : closing_) {
      if (now - c->closingSince() >= kCloseFlushTimeoutMs) expired.push_back(c);
    }
    for (ConnectionImpl* c : expired) {
      log().info("conn={} did not flush within {} ms of close; dropping it", c->id(),
                 kCloseFlushTimeoutMs);
      closing_.erase(c->id());
      c->destroy();
    }
  }
  const auto idle = static_cast<std::uint64_t>(worker_.limits.idle_timeout.count());
  const auto handshake = static_cast<std::uint64_t>(worker_.limits.handshake_timeout.count());
  const bool check_handshakes = handshake > 0 && handshaking_ > 0;
  const std::uint64_t ping = pingIntervalMs(worker_);
  if (idle == 0 && !check_handshakes && ping == 0) return;
  std::vector<ConnectionImpl*> expired;
  std::vector<ConnectionImpl*> unanswered;
  for (auto& [id, conn] : conns_) {
    auto* c = ConnectionImpl::from(*conn);
    if (c->state() != ConnectionState::Established) continue;
    const std::uint64_t quiet = now - c->lastActive();
    if ((idle > 0 && quiet >= idle) ||
        (check_handshakes && c->handshaking() && now - c->acceptedAt() >= handshake)) {
      expired.push_back(c);
    } else if (ping > 0 && !c->handshaking() && quiet >= ping) {
      // Heartbeat: a peer quiet for one interval is pinged; one that stays quiet for a
      // second interval (no pong, no data) is closed.
      if (quiet >= 2 * ping) {
        unanswered.push_back(c);
      } else {
        c->ping();
      }
    }
  }
  for (ConnectionImpl* c : unanswered) {
    log().debug("conn={} answered no ping within {} ms; closing", c->id(), ping);
    c->close(kGoingAway, "ping timeout");
  }
  for (ConnectionImpl* c : expired) {
    log().debug("conn={} {} timed out; closing", c->id(), c->handshaking() ? "handshake" : "idle");
    if (c->handshaking()) {
      c->destroy();
    } else {
      c->close({});
    }
  }
}

void WorkerRuntime::stopAccepting() {
  if (stopping_) return;
  stopping_ = true;
  if (listener_) listener_->close();
  for (auto& extra : extra_listeners_) extra->close();
  if (worker_.onWorkerStop) {
    try {
      worker_.onWorkerStop(worker_);
    } catch (const std::exception& e) {
      log().error("worker {}: onWorkerStop threw: {}", worker_.name, e.what());
    } catch (...) {
      log().error("worker {}: onWorkerStop threw a non-standard exception", worker_.name);
    }
  }
}

void WorkerRuntime::drain(std::function<void()> done) {
  if (done) stopped_ = std::move(done);
  stopAccepting();
  checkStopped();
}

void WorkerRuntime::stop(bool graceful, std::function<void()> done) {
  if (done) stopped_ = std::move(done);
  stopAccepting();
  std::vector<ConnectionImpl*> all;
  all.reserve(conns_.size());
  for (auto& [id, conn] : conns_) all.push_back(ConnectionImpl::from(*conn));
  for (ConnectionImpl* c : all) {
    if (graceful) {
      c->close(kGoingAway, "server going away");
    } else {
      c->abort(kGoingAway, "server going away");
    }
  }
  checkStopped();
}

void WorkerRuntime::checkStopped() {
  if (!stopping_ || !conns_.empty() || !stopped_) return;
  closeSweep();
  auto done = std::move(stopped_);
  stopped_ = nullptr;
  done();
}

}  // namespace wman::detail
