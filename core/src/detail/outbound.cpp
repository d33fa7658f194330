#include "detail/outbound.h"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <stdexcept>

#include "detail/connection_impl.h"
#include "detail/dispatch.h"
#include "detail/event_loop.h"
#include "detail/log.h"
#include "detail/outbound_host.h"
#include "detail/random_pool.h"
#include "detail/resolver.h"
#include "detail/tls_context.h"
#include "detail/worker_runtime.h"
#include "wman/protocol_registry.h"
#include "wman/worker_limits.h"

namespace wman::detail {
namespace {

std::uint64_t toMs(double seconds) {
  return static_cast<std::uint64_t>(std::llround(seconds * 1000.0));
}

// "10", "0.5": seconds as a person writes them (std::to_string gives "10.000000").
std::string secondsText(double seconds) {
  std::ostringstream out;
  out << seconds;
  return out.str();
}

void checkOptions(const AsyncConnectionOptions& o) {
  auto positive = [](double v) { return std::isfinite(v) && v > 0; };
  if (!positive(o.connect_timeout)) throw std::invalid_argument("connect_timeout must be > 0");
  if (!std::isfinite(o.reconnect_min) || o.reconnect_min < 0 || !std::isfinite(o.reconnect_max) ||
      o.reconnect_max < o.reconnect_min) {
    throw std::invalid_argument("reconnect bounds need 0 <= reconnect_min <= reconnect_max");
  }
  if (o.transport != "tcp" && o.transport != "tls") {
    throw std::invalid_argument("transport must be \"tcp\" or \"tls\", not \"" + o.transport +
                                "\"");
  }
}

}  // namespace

Outbound::Outbound(AsyncConnection& face, std::string url, AsyncConnectionOptions options)
    : face_(face),
      url_(std::move(url)),
      options_(std::move(options)),
      rng_(std::random_device{}()) {
  try {
    std::string error;
    auto parsed = parseConnectUrl(url_, &error);
    if (!parsed) throw std::invalid_argument(error);
    target_ = std::move(*parsed);
    checkOptions(options_);
    setupCodec();
    setupTls();
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument("wman::AsyncConnection " + url_ + ": " + e.what());
  }
  face_.outbound_ = true;
  face_.state_ = ConnectionState::Closed;
  face_.maxSendBuffer = WorkerLimits{}.max_send_buffer;
}

Outbound::~Outbound() {
  if (host_) host_->remove(*this);
  detach();
}

void Outbound::setupCodec() {
  if (!options_.protocol.empty() && target_.isUnix()) target_.protocol = options_.protocol;
  if (!ProtocolRegistry::contains(target_.protocol)) {
    throw std::invalid_argument("unknown protocol '" + target_.protocol + "'");
  }
  if (ProtocolRegistry::serverOnly(target_.protocol)) {
    throw std::invalid_argument("protocol '" + target_.protocol + "' has no client side in wman");
  }
  // Every protocol gets every setting and takes what concerns it (the handshake ones only
  // the session protocols), so nothing here depends on which protocol the URL named.
  ClientSettings s;
  s.limits = CodecLimits{options_.max_message_size};
  s.host = target_.host;
  s.port = target_.port;
  s.secure = target_.tls || options_.transport == "tls";
  s.target = target_.target;
  s.origin = options_.origin;
  s.subprotocols = options_.subprotocols;
  s.headers = options_.headers;
  s.permessage_deflate = options_.permessage_deflate;
  s.client_max_window_bits = options_.client_max_window_bits;
  s.random = fillRandom;
  codec_factory_ = ProtocolRegistry::configuredClient(target_.protocol, s);
  default_kind_ = codec_factory_()->defaultKind();
}

void Outbound::setupTls() {
  if (!target_.tls && options_.transport != "tls") return;
  const ClientTlsOptions& o = options_.tls;
  TlsClientOptions t;
  t.verify = o.verify;
  t.ca = o.ca;
  t.server_name = o.server_name.empty() ? target_.host : o.server_name;
  t.alpn = o.alpn;
  t.cert = o.cert;
  t.key = o.key.empty() ? o.cert : o.key;
  std::string error;
  tls_ = TlsContext::createClient(t, &error);
  if (!tls_) throw std::invalid_argument(error);
}

bool Outbound::attach() {
  if (host_) return true;
  EventLoop* loop = EventLoop::current();
  if (!loop) throw std::logic_error("wman::AsyncConnection used outside a worker's event loop");
  host_ = loop->outboundHost();
  if (!host_) return false;  // the loop is shutting down
  host_->add(*this);
  face_.worker_ = &host_->worker();
  if (face_.id_ == 0) face_.id_ = host_->nextId();
  connect_timer_ = makeTimer();
  reconnect_timer_ = makeTimer();
  return true;
}

uv_timer_t* Outbound::makeTimer() {
  auto* t = new uv_timer_t;
  uv_timer_init(host_->loop().raw(), t);
  t->data = this;
  return t;
}

void Outbound::stopTimer(uv_timer_t* t) {
  if (t) uv_timer_stop(t);
}

void Outbound::connect() {
  if (attempting_ || link_) return;
  if (!attach()) return;
  app_closed_ = false;
  cancelReconnect();
  startAttempt();
}

void Outbound::startAttempt() {
  attempting_ = true;
  abandoned_ = connected_ = opened_ = false;
  failure_.clear();
  setState(ConnectionState::Connecting);
  if (tls_ && !options_.tls.verify) {
    log().warn(
        "AsyncConnection {}: TLS certificate verification is off; the link can be read "
        "and changed by anyone on its path",
        url_);
  }
  uv_timer_start(
      connect_timer_,
      [](uv_timer_t* t) {
        auto* self = static_cast<Outbound*>(t->data);
        self->failAttempt("connect timeout: not connected within " +
                          secondsText(self->options_.connect_timeout) + " s");
      },
      toMs(options_.connect_timeout), 0);
  addresses_.clear();
  next_address_ = 0;
  if (target_.isUnix()) {
    connectNext();
    return;
  }
  if (!resolver_) resolver_ = std::make_unique<AsyncResolver>(*host_->loop().raw());
  ResolveOptions ro;
  ro.family = options_.family;
  auto ec = resolver_->start(target_.host, target_.port, ro,
                             [this](ResolveResult r) { resolved(std::move(r)); });
  if (ec) failAttempt("cannot resolve host '" + target_.host + "': " + ec.message());
}

void Outbound::resolved(ResolveResult result) {
  if (!attempting_ || abandoned_) return;
  if (!result.ok()) {
    failAttempt(result.message);
    return;
  }
  addresses_ = std::move(result.addresses);
  connectNext();
}

void Outbound::connectNext() {
  // Each address in the resolver's order, until one connects or the connect timeout ends
  // the attempt; the last address's failure is the one reported.
  while (true) {
    const bool unix_socket = target_.isUnix();
    const SocketAddress* addr = unix_socket ? nullptr : &addresses_[next_address_];
    ++next_address_;
    address_ = addr ? addr->toString() : target_.path;
    failure_.clear();
    std::error_code ec;
    link_ = ConnectionImpl::connect(host_->runtime(), *this, host_->nextId(),
                                    addr ? addr->get() : nullptr, target_.path, codec_factory_(),
                                    tls_, ec);
    if (link_) {
      host_->runtime().adoptLink(*link_);
      return;
    }
    failure_ = "connect to " + address_ + " failed: " + ec.message();
    if (unix_socket || next_address_ >= addresses_.size()) {
      failAttempt(failure_);
      return;
    }
  }
}

void Outbound::failAttempt(std::string why) {
  if (!attempting_ || abandoned_) return;
  failure_ = std::move(why);
  abandoned_ = true;
  stopTimer(connect_timer_);
  if (resolver_) resolver_->cancel();
  if (link_) {
    link_->destroy();  // linkClosed() reports the failure
  } else {
    reportFailure();
  }
}

void Outbound::noteFailure(std::string_view why) {
  // The first reason of a link wins: a TLS alert is followed by the server's close, which
  // says less.
  if (abandoned_ || !failure_.empty()) return;
  // Before the transport connected the reason is the address's ("connection refused").
  failure_ =
      connected_ ? std::string(why) : "connect to " + address_ + " failed: " + std::string(why);
}

void Outbound::linkConnected(ConnectionImpl&) {
  connected_ = true;
}

bool Outbound::linkOpened(ConnectionImpl& link) {
  if (&link != link_) return false;
  opened_ = true;
  attempting_ = false;
  attempt_ = 0;
  stopTimer(connect_timer_);
  setState(ConnectionState::Established);
  // Sends made while connecting go out first, in order, before anything onConnect sends.
  std::vector<Queued> queued;
  queued.swap(queued_);
  queued_bytes_ = 0;
  for (Queued& q : queued) link.queue(q.data, q.kind, q.raw);
  if (face_.paused_) link.pause();
  return link_ == &link && link.state() == ConnectionState::Established;
}

void Outbound::linkClosing(ConnectionImpl& link) {
  if (&link == link_ && opened_) setState(ConnectionState::Closing);
}

void Outbound::linkClosed(ConnectionImpl& link, bool was_open) {
  if (&link != link_) return;
  link_ = nullptr;
  if (was_open) {
    opened_ = false;
    setState(ConnectionState::Closed);
    afterLinkGone();
    dispatch(
        face_.id_, "onClose", face_.onClose, [] {}, face_);
    return;
  }
  // A transport connect that failed: the next address, while the attempt has time left.
  if (attempting_ && !abandoned_ && !connected_ && next_address_ < addresses_.size()) {
    connectNext();
    return;
  }
  reportFailure();
}

void Outbound::reportFailure() {
  attempting_ = false;
  stopTimer(connect_timer_);
  setState(ConnectionState::Closed);
  const std::string why = failure_.empty() ? "connection closed before it opened" : failure_;
  // Rate-limited with the per-peer lines: a relay whose upstream is down fails once per
  // client and per retry.
  if (host_ && host_->runtime().admitLog(PeerCause::ConnectFailure, spdlog::level::warn)) {
    log().warn("AsyncConnection {}: {}", url_, why);
  }
  afterLinkGone();
  dispatch(
      face_.id_, "onError", face_.onError, [] {}, face_, error_code::kConnectFail,
      std::string_view(why));
}

void Outbound::afterLinkGone() {
  // Scheduled before onClose / onError run, so those callbacks see it (reconnectPending(),
  // lastReconnectDelay()) and may cancel or replace it.
  if (attempting_ || link_ || reconnect_pending_ || !host_) return;
  if (reconnect_after_close_ >= 0) {
    const double delay = reconnect_after_close_;
    reconnect_after_close_ = -1;
    scheduleReconnect(delay);
    return;
  }
  if (options_.auto_reconnect && !app_closed_) {
    scheduleReconnect(backoffDelay(options_, attempt_++, rng_));
  }
}

double Outbound::backoffDelay(const AsyncConnectionOptions& o, unsigned attempt,
                              std::mt19937_64& rng) {
  // Full jitter: uniform up to the exponential ceiling, so a fleet that lost its upstream at
  // the same moment spreads its reconnects instead of arriving together; never below the
  // minimum, never above the maximum.
  const double ceiling =
      std::min(o.reconnect_max, o.reconnect_min * std::exp2(std::min(attempt, 62U)));
  if (ceiling <= o.reconnect_min) return o.reconnect_min;
  std::uniform_real_distribution<double> pick(o.reconnect_min, ceiling);
  return pick(rng);
}

void Outbound::scheduleReconnect(double seconds) {
  last_delay_ = seconds;
  reconnect_pending_ = true;
  uv_timer_start(
      reconnect_timer_,
      [](uv_timer_t* t) {
        auto* self = static_cast<Outbound*>(t->data);
        self->reconnect_pending_ = false;
        if (!self->attempting_ && !self->link_) self->startAttempt();
      },
      toMs(seconds), 0);
}

void Outbound::reconnect(double after_seconds) {
  if (!std::isfinite(after_seconds) || after_seconds < 0) {
    throw std::invalid_argument("wman::AsyncConnection::reconnect: delay must be >= 0");
  }
  if (!attach()) return;
  app_closed_ = false;
  cancelReconnect();
  if (link_ && opened_) {
    // onClose fires for this link first; the new attempt starts after the delay.
    reconnect_after_close_ = after_seconds;
    link_->close({});
    return;
  }
  cancelAttempt();
  scheduleReconnect(after_seconds);
}

void Outbound::cancelReconnect() {
  stopTimer(reconnect_timer_);
  reconnect_pending_ = false;
  reconnect_after_close_ = -1;
}

void Outbound::cancelAttempt() {
  if (!attempting_) return;
  attempting_ = false;
  stopTimer(connect_timer_);
  if (resolver_) resolver_->cancel();
  dropLink();
  setState(ConnectionState::Closed);
}

void Outbound::dropLink() {
  if (!link_) return;
  ConnectionImpl* link = link_;
  link_ = nullptr;
  opened_ = connected_ = false;
  link->orphan();
}

SendStatus Outbound::send(std::string_view data, MessageKind kind, bool raw) {
  if (ConnectionImpl* link = openLink()) return link->queue(data, kind, raw);
  if (app_closed_ && !attempting_) return SendStatus::Dropped;  // closed by the application
  if (queued_bytes_ + data.size() > face_.maxSendBuffer) {
    dispatch(
        face_.id_, "onError", face_.onError, [] {}, face_, error_code::kSendFail,
        std::string_view("send buffer full, data dropped"));
    return SendStatus::Dropped;
  }
  queued_.push_back(Queued{std::string(data), kind, raw});
  queued_bytes_ += data.size();
  return SendStatus::Buffered;
}

MessageKind Outbound::replyKind() const {
  if (ConnectionImpl* link = openLink()) return link->replyKind();
  return default_kind_;
}

void Outbound::close(std::string_view data) {
  app_closed_ = true;
  cancelReconnect();
  if (ConnectionImpl* link = openLink()) {
    link->close(data);
    return;
  }
  cancelAttempt();
  queued_.clear();
  queued_bytes_ = 0;
}

void Outbound::close(std::uint16_t code, std::string_view reason) {
  app_closed_ = true;
  cancelReconnect();
  if (ConnectionImpl* link = openLink()) {
    link->close(code, reason);
    return;
  }
  close(std::string_view{});
}

void Outbound::destroy() {
  app_closed_ = true;
  cancelReconnect();
  if (ConnectionImpl* link = openLink()) {
    link->destroy();
    return;
  }
  close(std::string_view{});
}

void Outbound::pause() {
  face_.paused_ = true;
  if (ConnectionImpl* link = openLink()) link->pause();
}

void Outbound::resume() {
  face_.paused_ = false;
  if (ConnectionImpl* link = openLink()) link->resume();
}

std::size_t Outbound::buffered() const {
  if (ConnectionImpl* link = openLink()) return link->buffered();
  return queued_bytes_;
}

std::string Outbound::subprotocol() const {
  ConnectionImpl* link = openLink();
  return link ? std::string(link->codec().subprotocol()) : std::string();
}

void Outbound::detach() {
  dropLink();
  resolver_.reset();
  attempting_ = reconnect_pending_ = false;
  for (uv_timer_t** t : {&connect_timer_, &reconnect_timer_}) {
    if (!*t) continue;
    uv_close(reinterpret_cast<uv_handle_t*>(*t),
             [](uv_handle_t* h) { delete reinterpret_cast<uv_timer_t*>(h); });
    *t = nullptr;
  }
  host_ = nullptr;
  face_.state_ = ConnectionState::Closed;
}

}  // namespace wman::detail
