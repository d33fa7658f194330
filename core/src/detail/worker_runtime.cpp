#include "detail/worker_runtime.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>

#include "detail/bus_router.h"
#include "detail/connection_impl.h"
#include "detail/dispatch.h"
#include "detail/event_loop.h"
#include "detail/log.h"
#include "detail/static_files.h"
#include "detail/tls_context.h"
#include "detail/udp_endpoint.h"
#include "wman/process_memory.h"

namespace wman::detail {
namespace {
constexpr int kBacklog = 1024;
constexpr std::uint64_t kSweepIntervalMs = 1000;
// The sweep never runs more often than this, however short a deadline.
constexpr std::uint64_t kMinSweepIntervalMs = 25;
// Most slots of the deadline wheel (16 bytes each): with a 1 s tick, deadlines up to an hour
// away are visited once, later ones once per turn.
constexpr std::size_t kMaxWheelSlots = 4096;

}  // namespace

WorkerRuntime::WorkerRuntime(Worker& worker) : worker_(worker) {}

WorkerRuntime::~WorkerRuntime() {
  BusRouter::get().runtimeGone(*this);
  closeSweep();
}

template <class Handle>
void WorkerRuntime::closeHandle(Handle*& h) {
  if (!h) return;
  uv_close(reinterpret_cast<uv_handle_t*>(h),
           [](uv_handle_t* closed) { delete reinterpret_cast<Handle*>(closed); });
  h = nullptr;
}

void WorkerRuntime::closeSweep() {
  closeHandle(sweep_timer_);
  closeHandle(soon_check_);
  closeHandle(soon_idle_);
  closeHandle(accept_timer_);
}

void WorkerRuntime::setupCodecs() {
  // Every protocol's settings go to the registry, which applies those of the worker's
  // protocol: the runtime does not need to know which one it is.
  codec_limits_ = CodecLimits{worker_.limits.max_package_size};
  const WebSocketConfig& ws = worker_.websocket;
  const HttpConfig& http = worker_.http;
  ProtocolOptions options;
  options.limits = codec_limits_;
  options.websocket.permessage_deflate = ws.permessage_deflate;
  options.websocket.default_kind =
      ws.binary_type == "binary" ? MessageKind::Binary : MessageKind::Text;
  options.websocket.server_max_window_bits = ws.server_max_window_bits;
  options.websocket.client_max_window_bits = ws.client_max_window_bits;
  options.websocket.mem_level = ws.mem_level;
  options.websocket.max_message_size = ws.max_message_size;
  options.http.max_header_size = http.max_header_size;
  options.http.max_body_size = http.max_body_size;
  options.http.stream_body = http.stream_body;
  options.http.websocket_paths = http.websocket;
  codec_factory_ = ProtocolRegistry::configured(protocol(), options);
}

std::unique_ptr<Codec> WorkerRuntime::createCodec() const {
  if (codec_factory_) return codec_factory_();
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

std::unique_ptr<Listener> WorkerRuntime::makeListener() {
  return std::make_unique<Listener>(
      *loop_, worker_.listenUrl(), [this](int fd, bool is_pipe) { accept(fd, is_pipe); },
      [this](int uv_error) { acceptFailed(uv_error); });
}

std::error_code WorkerRuntime::start(EventLoop& loop, int inherited_fd) {
  loop_ = &loop;
  stopping_ = false;
  paused_ = 0;
  stats_.accepting = true;
  peer_log_.setOwner("worker " + worker_.name);
  // Opens /proc/self/statm now and keeps it: the memory budget and the heartbeat still read
  // it when this process has run out of fds.
  residentKiB();
  setupCodecs();
  if (auto ec = setupTls()) return abandonStart(ec);
  if (auto ec = setupStatic()) return abandonStart(ec);
  std::error_code ec;
  if (worker_.hasListener() && worker_.listenUrl().udp) {
    udp_ = std::make_unique<UdpEndpoint>(*this);
    if ((ec = udp_->open(inherited_fd))) return abandonStart(ec);
  } else if (worker_.hasListener()) {
    listener_ = makeListener();
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
  if (udp_ && (ec = udp_->start())) return abandonStart(ec);
  startTimers(loop);
  if (listener_ || udp_) {
    log().info("worker {} listening on {} ({})", worker_.name, worker_.url(), protocol());
  }
  return {};
}

void WorkerRuntime::startTimers(EventLoop& loop) {
  auto make = [&loop, this] {
    auto* t = new uv_timer_t;
    uv_timer_init(loop.raw(), t);
    t->data = this;
    // Housekeeping timers never keep a process alive on their own.
    uv_unref(reinterpret_cast<uv_handle_t*>(t));
    return t;
  };
  sweep_timer_ = make();
  accept_timer_ = make();
  soon_check_ = new uv_check_t;
  uv_check_init(loop.raw(), soon_check_);
  soon_check_->data = this;
  uv_unref(reinterpret_cast<uv_handle_t*>(soon_check_));
  soon_idle_ = new uv_idle_t;
  uv_idle_init(loop.raw(), soon_idle_);
  uv_unref(reinterpret_cast<uv_handle_t*>(soon_idle_));
  const std::uint64_t period = setupDeadlines(loop.now());
  uv_timer_start(
      sweep_timer_,
      [](uv_timer_t* t) {
        auto* self = static_cast<WorkerRuntime*>(t->data);
        // While a follow-up batch waits for the poll, this tick would be a second batch
        // without I/O in between; the follow-up does the same work a moment later.
        if (!uv_is_active(reinterpret_cast<uv_handle_t*>(self->soon_check_))) self->sweep();
      },
      period, period);
}

std::uint64_t WorkerRuntime::setupDeadlines(std::uint64_t now) {
  // Deadlines are checked a quarter of the shortest one apart (at most once a second), so
  // a ping or a handshake timeout fires at most a quarter late.
  const Worker& w = worker_;
  auto ms = [](auto d) {
    return static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(d).count());
  };
  // Pings go only to sessions whose codec has them (Codec::pings()).
  deadlines_ = Deadlines{
      ms(w.limits.handshake_timeout),
      ms(w.limits.idle_timeout),
      ms(w.websocket.ping_interval),
      ms(w.limits.message_timeout),
      {ms(w.http.keepalive_timeout), ms(w.http.header_timeout), ms(w.http.body_timeout), 0}};
  std::uint64_t period = kSweepIntervalMs;
  for (std::uint64_t deadline : {deadlines_.ping, deadlines_.handshake, deadlines_.message,
                                 deadlines_.request[1], deadlines_.request[2]}) {
    if (deadline > 0) period = std::min(period, std::max(deadline / 4, kMinSweepIntervalMs));
  }
  // An unanswered ping closes after two intervals.
  const std::uint64_t longest = std::max(
      {kCloseFlushTimeoutMs, deadlines_.handshake, deadlines_.idle, 2 * deadlines_.ping,
       deadlines_.message, deadlines_.request[0], deadlines_.request[1], deadlines_.request[2]});
  wheel_ = std::make_unique<DeadlineWheel>(
      period, std::min<std::size_t>(longest / period + 2, kMaxWheelSlots), now);
  return period;
}

std::error_code WorkerRuntime::abandonStart(std::error_code ec) {
  udp_.reset();
  if (listener_) {
    listener_->close();
    listener_.reset();
  }
  loop_ = nullptr;
  return ec;
}

std::error_code WorkerRuntime::addListener(int fd) {
  if (!loop_ || !(listener_ || udp_) || stopping_)
    return std::make_error_code(std::errc::not_connected);
  if (udp_) return udp_->add(fd);
  auto extra = makeListener();
  if (auto ec = extra->adopt(fd)) return ec;
  if (auto ec = extra->listen(kBacklog)) {
    extra->close();
    return ec;
  }
  if (paused_ != 0) extra->pause(false);
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
  conns_.insert(c);
  c->start();
  trackDeadlines(*c);
  return c;
}

void WorkerRuntime::accept(int fd, bool is_pipe) {
  std::error_code ec;
  ConnectionImpl* c = ConnectionImpl::open(*this, fd, next_id_ + 1, ec);
  if (!c) {
    ::close(fd);
    stats_.accept_failures++;
    if (admitLog(PeerCause::AcceptFailure, spdlog::level::warn)) {
      log().warn("worker {}: cannot set up an accepted connection: {}", worker_.name, ec.message());
    }
    return;
  }
  ++next_id_;
  if (stopping_ || conns_.size() >= worker_.limits.max_connections) {
    // Accept-and-close keeps the listen queue moving; the peer sees a prompt close rather
    // than a hang.
    if (admitLog(PeerCause::AcceptFailure, spdlog::level::warn)) {
      log().warn("worker {}: refusing connection from {}, {} open (max_connections {})",
                 worker_.name, c->remoteAddress(), conns_.size(), worker_.limits.max_connections);
    }
    c->reject();
    return;
  }
  conns_.insert(c);
  stats_.accepted++;
  c->start();
  trackDeadlines(*c);
}

void WorkerRuntime::adoptLink(ConnectionImpl& c) {
  conns_.insert(&c);
  trackDeadlines(c);
}

void WorkerRuntime::acceptFailed(int uv_error) {
  stats_.accept_failures++;
  const bool out_of_fds = uv_error == UV_EMFILE || uv_error == UV_ENFILE ||
                          uv_error == UV_ENOBUFS || uv_error == UV_ENOMEM;
  if (admitLog(PeerCause::AcceptFailure, spdlog::level::warn)) {
    log().warn("worker {}: accept on {} failed: {} ({} connections open){}", worker_.name,
               worker_.url(), uv_strerror(uv_error), conns_.size(),
               out_of_fds ? "; pausing accepts" : "");
  }
  if (!out_of_fds || stopping_) return;
  // The pending connections stay queued (or, with reuse_port, go to the other workers) while
  // this worker cannot take them; it retries after a short delay instead of spinning.
  pauseAccepting(kPauseFds);
  retryAcceptingIn(kAcceptRetryMs);
}

void WorkerRuntime::retryAcceptingIn(std::uint64_t delay_ms) {
  uv_timer_start(
      accept_timer_,
      [](uv_timer_t* t) {
        auto* self = static_cast<WorkerRuntime*>(t->data);
        // Rejoining while still out of fds would only take connections to reset them when
        // the next accept fails: stay out until one fd can be opened.
        const int probe = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (probe < 0) return self->retryAcceptingIn(kAcceptRetryMs);
        ::close(probe);
        self->resumeAccepting(kPauseFds);
      },
      delay_ms, 0);
}

void WorkerRuntime::forEachListener(const std::function<void(Listener&)>& fn) {
  if (listener_) fn(*listener_);
  for (auto& extra : extra_listeners_) fn(*extra);
}

void WorkerRuntime::pauseAccepting(PauseReason why) {
  const bool was_accepting = paused_ == 0;
  paused_ |= why;
  stats_.accepting = false;
  if (!was_accepting || stopping_) return;
  // With reuse_port and other workers in the group, leave it so the kernel sends new
  // connections to them; a single worker (or a shared socket) keeps its queue.
  const bool leave = worker_.reusePort && worker_.count != 1;
  forEachListener([leave](Listener& l) { l.pause(leave); });
}

void WorkerRuntime::resumeAccepting(PauseReason why) {
  if ((paused_ & why) == 0) return;
  paused_ &= ~static_cast<unsigned>(why);
  if (paused_ != 0 || stopping_) return;
  stats_.accepting = true;
  forEachListener([this](Listener& l) {
    if (auto ec = l.resume()) {
      log().error("worker {}: cannot resume accepting on {}: {}", worker_.name, worker_.url(),
                  ec.message());
    }
  });
}

bool WorkerRuntime::admitLog(PeerCause cause, spdlog::level::level_enum level) {
  const bool ok = peer_log_.admit(cause, level, loop_ ? loop_->now() : 0);
  stats_.log_suppressed = peer_log_.suppressed();
  return ok;
}

void WorkerRuntime::handshakeStarted(ConnectionImpl& c) {
  ++handshaking_;
  trackDeadlines(c);
}

std::uint16_t WorkerRuntime::port() const {
  return listener_ ? listener_->port() : udp_ ? udp_->port() : 0;
}

Connection* WorkerRuntime::find(ConnectionId id) const {
  return conns_.find(id);
}

void WorkerRuntime::forget(ConnectionImpl& c) {
  // Its fd is about to be freed: a worker paused for lack of fds tries again at once.
  if ((paused_ & kPauseFds) != 0 && !stopping_) retryAcceptingIn(0);
  released_bytes_ += c.heldBytes();
  if (!file_bodies_.empty()) file_bodies_.erase(c.id());
  conns_.erase(c.id());
  c.unlink();  // from the deadline wheel
  checkStopped();
}

void WorkerRuntime::callbackFailed(ConnectionImpl& c) {
  stats_.callback_errors++;
  c.close(kInternalError, "internal error");
}

void WorkerRuntime::stopAccepting() {
  if (stopping_) return;
  stopping_ = true;
  stats_.accepting = false;
  if (accept_timer_) uv_timer_stop(accept_timer_);
  forEachListener([](Listener& l) { l.close(); });
  if (worker_.onWorkerStop) {
    try {
      worker_.onWorkerStop(worker_);
    } catch (const std::exception& e) {
      log().error("worker {}: onWorkerStop threw: {}", worker_.name, e.what());
    } catch (...) {
      log().error("worker {}: onWorkerStop threw a non-standard exception", worker_.name);
    }
  }
  // After onWorkerStop, which may still send datagrams: close() sends them, then closes.
  if (udp_) udp_->close();
}

void WorkerRuntime::drain(std::function<void()> done) {
  if (done) stopped_ = std::move(done);
  stopAccepting();
  // Request connections end by themselves only at a response that says Connection: close:
  // idle ones close now, busy ones after the response in progress.
  std::vector<ConnectionImpl*> requests;
  for (const auto& [id, conn] : conns_) {
    if (ConnectionImpl::from(*conn)->requests()) requests.push_back(ConnectionImpl::from(*conn));
  }
  for (ConnectionImpl* c : requests) c->finishRequests();
  checkStopped();
}

void WorkerRuntime::stop(bool graceful, std::function<void()> done) {
  if (done) stopped_ = std::move(done);
  stopAccepting();
  std::vector<ConnectionImpl*> all;
  all.reserve(conns_.size());
  for (const auto& [id, conn] : conns_) all.push_back(ConnectionImpl::from(*conn));
  for (ConnectionImpl* c : all) {
    if (graceful && c->requests()) {
      // Idle request connections close now; one being answered gets its response, with
      // Connection: close, then closes.
      c->finishRequests();
      continue;
    }
    if (graceful && c->handshaking() && c->state() == ConnectionState::Established) {
      // Dropping it would lose a client that did nothing wrong (its upgrade request may
      // already be on its way): it finishes its handshake, bounded by handshake_timeout
      // (the sweep keeps running), and opened() then closes it with 1001 after the 101.
      continue;
    }
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
