// The built-in `forward` app: each accepted connection gets its own upstream AsyncConnection
// to [worker.options] upstream, and messages are relayed both ways, each side encoding with
// its own protocol (a ws:// client in front of a text:// service gets one line per message).
// Back-pressure crosses over: the side whose peer cannot take more stops being read. A close
// on either side closes the other; a WebSocket client hears 1014 when the upstream cannot be
// reached and 1001 when it goes away.
#include "detail/forward_app.h"

#include <any>
#include <memory>
#include <stdexcept>
#include <string>
#include <unordered_map>

#include "detail/log.h"
#include "wman/async_connection.h"
#include "wman/config.h"
#include "wman/timer.h"

namespace wman::detail {
namespace {

// RFC 6455 7.4.1 / IANA registry: what a WebSocket client hears when its upstream fails.
constexpr int kBadGateway = 1014;
constexpr int kGoingAway = 1001;

struct Pair {
  ConnectionId client = 0;
  std::unique_ptr<AsyncConnection> up;
  bool client_gone = false;
  bool up_gone = false;
};

struct ForwardState {
  Worker* worker = nullptr;
  std::string upstream;
  AsyncConnectionOptions options;
  std::unordered_map<ConnectionId, std::shared_ptr<Pair>> pairs;

  Connection* client(const Pair& p) const {
    return p.client_gone ? nullptr : worker->connection(p.client);
  }
  // Frees a pair once both sides are closed; later, because its AsyncConnection may be the
  // one whose callback is running.
  void release(const std::shared_ptr<ForwardState>& self, const std::shared_ptr<Pair>& p) {
    if (!p->client_gone || !p->up_gone) return;
    const ConnectionId id = p->client;
    Timer::delay(0, [self, id] { self->pairs.erase(id); });
  }
};

std::string optionText(const Worker& w, const std::string& key, const std::string& fallback) {
  auto it = w.options.find(key);
  return it == w.options.end() ? fallback : it->second.text;
}

AsyncConnectionOptions upstreamOptions(const Worker& w) {
  AsyncConnectionOptions o;
  o.tls.ca = optionText(w, "upstream_ca", "");
  o.tls.verify = optionText(w, "upstream_tls_verify", "true") != "false";
  if (auto d = parseDuration(optionText(w, "upstream_connect_timeout", "10s"))) {
    o.connect_timeout = static_cast<double>(d->count()) / 1000.0;
  }
  // Frames relayed from the client are bounded by the client side's own limit already.
  o.max_message_size = w.limits.max_package_size;
  return o;
}

void wireUpstream(const std::shared_ptr<ForwardState>& state, const std::shared_ptr<Pair>& pair) {
  AsyncConnection& up = *pair->up;
  const std::weak_ptr<Pair> weak = pair;
  up.onConnect = [state, weak](Connection&) {
    auto p = weak.lock();
    if (Connection* c = p ? state->client(*p) : nullptr) c->resumeRecv();
  };
  up.onMessage = [state, weak](Connection&, Message m) {
    auto p = weak.lock();
    if (Connection* c = p ? state->client(*p) : nullptr) c->send(m.view(), m.kind());
  };
  // The upstream cannot take more: stop reading the client until it drains.
  up.onBufferFull = [state, weak](Connection&) {
    auto p = weak.lock();
    if (Connection* c = p ? state->client(*p) : nullptr) c->pauseRecv();
  };
  up.onBufferDrain = [state, weak](Connection&) {
    auto p = weak.lock();
    if (Connection* c = p ? state->client(*p) : nullptr) c->resumeRecv();
  };
  up.onError = [state, weak](Connection&, int code, std::string_view) {
    auto p = weak.lock();
    if (!p || code != error_code::kConnectFail) return;
    p->up_gone = true;
    if (Connection* c = state->client(*p)) c->close(kBadGateway, "upstream unreachable");
    state->release(state, p);
  };
  up.onClose = [state, weak](Connection&) {
    auto p = weak.lock();
    if (!p) return;
    p->up_gone = true;
    if (Connection* c = state->client(*p)) c->close(kGoingAway, "upstream went away");
    state->release(state, p);
  };
}

}  // namespace

void installForward(Worker& worker) {
  auto state = std::make_shared<ForwardState>();
  state->worker = &worker;
  state->upstream = optionText(worker, "upstream", "");
  state->options = upstreamOptions(worker);
  // Fails the worker's set-up (and so `start`) with the reason if the URL is unusable; the
  // config check reports the same problems earlier with file:line.
  AsyncConnection probe(state->upstream, state->options);

  worker.onConnect = [state](Connection& c) {
    auto pair = std::make_shared<Pair>();
    pair->client = c.id();
    pair->up = std::make_unique<AsyncConnection>(state->upstream, state->options);
    pair->up->maxSendBuffer = c.maxSendBuffer;
    wireUpstream(state, pair);
    state->pairs[c.id()] = pair;
    // Nothing is read from the client until the upstream is open, so nothing piles up.
    c.pauseRecv();
    pair->up->connect();
  };
  worker.onMessage = [state](Connection& c, Message m) {
    auto it = state->pairs.find(c.id());
    if (it != state->pairs.end()) it->second->up->send(m.view(), m.kind());
  };
  // The client cannot take more: stop reading the upstream until the client drains.
  worker.onBufferFull = [state](Connection& c) {
    auto it = state->pairs.find(c.id());
    if (it != state->pairs.end()) it->second->up->pauseRecv();
  };
  worker.onBufferDrain = [state](Connection& c) {
    auto it = state->pairs.find(c.id());
    if (it != state->pairs.end()) it->second->up->resumeRecv();
  };
  worker.onClose = [state](Connection& c) {
    auto it = state->pairs.find(c.id());
    if (it == state->pairs.end()) return;
    std::shared_ptr<Pair> pair = it->second;
    pair->client_gone = true;
    // What the client sent is flushed to the upstream before it closes.
    if (!pair->up_gone) {
      pair->up->close();
      if (pair->up->state() == ConnectionState::Closed) pair->up_gone = true;
    }
    state->release(state, pair);
  };
}

}  // namespace wman::detail
