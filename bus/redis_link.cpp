#include "redis_link.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <deque>
#include <exception>
#include <set>
#include <stdexcept>
#include <utility>
#include <vector>

#include "wman/logging.h"
#include "wman/redis_codec.h"
#include "wman/redis_url.h"

namespace wman::bus {
namespace {

// The error a pending command's callback receives when its connection goes away; the
// prefix lets callers tell it from an error Redis sent.
constexpr std::string_view kLinkDown = "WMANDOWN redis link is down";

// Runs a user callback; an exception is logged and swallowed so it cannot take the link's
// connection down with it (the core would close the connection it was dispatched on).
template <typename F, typename... Args>
void notify(const char* what, const F& f, Args&&... args) {
  if (!f) return;
  try {
    f(std::forward<Args>(args)...);
  } catch (const std::exception& e) {
    logger().error("redis link: {} callback threw: {}", what, e.what());
  } catch (...) {
    logger().error("redis link: {} callback threw a non-exception", what);
  }
}

}  // namespace

const char* toString(RedisLinkState state) {
  switch (state) {
    case RedisLinkState::Down:
      return "down";
    case RedisLinkState::Connecting:
      return "connecting";
    case RedisLinkState::Up:
      return "up";
  }
  return "down";
}

AsyncConnectionOptions RedisLinkOptions::defaultConnectionOptions() {
  AsyncConnectionOptions o;
  o.connect_timeout = 5.0;
  o.reconnect_min = 0.1;
  o.reconnect_max = 5.0;
  return o;
}

struct RedisLink::Impl {
  // A command sent and not answered yet. A null handler is a PUBLISH whose reply only
  // matters when it is an error.
  struct Pending {
    ReplyHandler handler;
    std::size_t bytes = 0;
  };
  // One of the two connections and what rides on it.
  struct Side {
    explicit Side(const char* n) : name(n) {}
    const char* name;
    std::unique_ptr<AsyncConnection> conn;
    bool ready = false;  // open, authenticated (and, for the subscriber, the set sent)
    std::deque<Pending> pending;
    std::size_t pending_bytes = 0;
    std::string error;  // a protocol error reported just before the close
  };

  RedisLink& face;
  RedisLinkOptions options;
  RedisUrl url;
  Side sub{"subscriber"};
  Side cmd{"command"};
  std::set<std::string, std::less<>> channels;
  RedisLinkCounters counters;
  bool started = false;
  bool was_up = false;

  Impl(RedisLink& f, RedisLinkOptions o) : face(f), options(std::move(o)) {
    std::string error;
    auto parsed = parseRedisUrl(options.url, &error);
    if (!parsed) throw std::invalid_argument("wman::bus::RedisLink: " + error);
    url = std::move(*parsed);
    if (!options.password.empty()) url.password = options.password;
    if (options.subscribe_batch == 0) options.subscribe_batch = 1;
    registerRedisProtocol();
    AsyncConnectionOptions c = options.connection;
    c.auto_reconnect = true;
    c.transport = url.tls ? "tls" : "tcp";
    const std::string target = "redis://" + url.authority();
    for (Side* s : {&sub, &cmd}) {
      s->conn = std::make_unique<AsyncConnection>(target, c);
      wire(*s);
    }
    // Commands are bounded by max_pending_bytes here; the connection's own cap must not
    // drop them earlier.
    cmd.conn->maxSendBuffer = std::max(cmd.conn->maxSendBuffer, options.max_pending_bytes);
  }

  void wire(Side& s) {
    s.conn->onConnect = [this, &s](Connection&) { connected(s); };
    s.conn->onClose = [this, &s](Connection&) {
      lost(s, s.error.empty() ? "connection to redis " + url.authority() + " closed" : s.error);
      s.error.clear();
    };
    s.conn->onError = [this, &s](Connection&, int code, std::string_view why) {
      if (code == error_code::kConnectFail) {
        lost(s, why);
      } else if (code != error_code::kSendFail) {
        s.error = "redis protocol error: " + std::string(why);
      }
    };
    s.conn->onMessage = [this, &s](Connection&, Message m) { received(s, m.bytes()); };
  }

  // The connection opened: authenticate (and select the db for commands) before use.
  void connected(Side& s) {
    s.ready = false;
    std::vector<std::vector<std::string>> steps;
    if (!url.password.empty()) {
      steps.push_back(url.username.empty()
                          ? std::vector<std::string>{"AUTH", url.password}
                          : std::vector<std::string>{"AUTH", url.username, url.password});
    }
    // Pub/sub channels are global to the server, so only the command side selects a db.
    if (&s == &cmd && url.db != 0) steps.push_back({"SELECT", std::to_string(url.db)});
    // The PONG proves the server answers and accepts this client (no NOAUTH) before the
    // link reports Up.
    steps.push_back({"PING"});
    for (std::size_t i = 0; i < steps.size(); ++i) {
      const bool last = i + 1 == steps.size();
      const std::string what = steps[i][0];
      std::vector<std::string_view> argv(steps[i].begin(), steps[i].end());
      send(s, formatRedisCommand(argv), [this, &s, last, what](const RedisReply& r) {
        // After the first refusal the rest of the handshake fails too; one report is enough.
        if (!s.error.empty()) return;
        if (r.isError()) {
          if (r.str.rfind("WMANDOWN", 0) != 0) refused(s, what + " failed: " + r.str);
        } else if (last) {
          ready(s);
        }
      });
    }
  }

  // Redis refused AUTH or SELECT: a configuration problem that retrying at once will not
  // fix, so the connection closes and tries again after the longest back-off.
  void refused(Side& s, const std::string& why) {
    s.error = why;  // what the close that follows reports
    // Every retry meets the same refusal: log it when it first appears, not every time.
    const auto level = counters.last_error == why ? spdlog::level::debug : spdlog::level::err;
    logger().log(level, "redis link {} {}: {}", url.authority(), s.name, why);
    s.conn->reconnect(options.connection.reconnect_max);
  }

  void ready(Side& s) {
    s.ready = true;
    if (&s == &sub) resubscribe();
    if (sub.ready && cmd.ready) setState(RedisLinkState::Up);
  }

  void lost(Side& s, std::string_view why) {
    s.ready = false;
    if (&s == &sub) counters.confirmed = 0;
    failPending(s);
    if (!started) return;
    counters.last_error = std::string(why);
    if (counters.state != RedisLinkState::Down) {
      logger().warn("redis link {} down ({}): {}", url.authority(), s.name, why);
    } else {
      logger().debug("redis link {} {}: {}", url.authority(), s.name, why);
    }
    setState(RedisLinkState::Down);
  }

  void setState(RedisLinkState next) {
    if (counters.state == next) return;
    counters.state = next;
    if (next == RedisLinkState::Up) {
      if (was_up) counters.reconnects++;
      was_up = true;
      logger().info("redis link {} up ({} channels)", url.authority(), channels.size());
    }
    notify("onStateChange", face.onStateChange, next);
  }

  void failPending(Side& s) {
    std::deque<Pending> failed;
    failed.swap(s.pending);
    s.pending_bytes = 0;
    RedisReply down;
    down.type = RedisReply::Type::Error;
    down.str = kLinkDown;
    for (Pending& p : failed) notify("command reply", p.handler, down);
  }

  // Sends one command whose reply comes back in order; false if it does not fit.
  bool send(Side& s, const std::string& wire, ReplyHandler handler) {
    if (s.pending_bytes + wire.size() > options.max_pending_bytes) return false;
    if (s.conn->sendRaw(wire) == SendStatus::Dropped) return false;
    s.pending.push_back({std::move(handler), wire.size()});
    s.pending_bytes += wire.size();
    return true;
  }

  // Sends a (UN)SUBSCRIBE, answered by pushes rather than a FIFO reply. The subscriber's
  // send cap grows to fit: the channel set is the application's, not the peer's.
  void sendSubscription(const std::string& wire) {
    AsyncConnection& c = *sub.conn;
    c.maxSendBuffer = std::max(c.maxSendBuffer, c.bufferedAmount() + wire.size() + 1);
    c.sendRaw(wire);
  }

  void resubscribe() {
    std::vector<std::string_view> argv{"SUBSCRIBE"};
    for (const std::string& channel : channels) {
      argv.push_back(channel);
      if (argv.size() > options.subscribe_batch) {
        sendSubscription(formatRedisCommand(argv));
        argv.resize(1);
      }
    }
    if (argv.size() > 1) sendSubscription(formatRedisCommand(argv));
  }

  void received(Side& s, ByteSpan bytes) {
    std::string error;
    const auto reply = parseRedisReply(bytes, &error);
    if (!reply) {
      logger().error("redis link {} {}: unreadable reply: {}", url.authority(), s.name, error);
      return;
    }
    if (&s == &sub && isPush(*reply)) return push(*reply);
    if (s.pending.empty()) {
      // On the subscriber this is Redis refusing a SUBSCRIBE (NOAUTH, say): the link
      // would look up and deliver nothing, so it is treated like a refused AUTH.
      if (reply->isError()) return refused(s, "redis refused: " + reply->str);
      logger().warn("redis link {} {}: reply without a command", url.authority(), s.name);
      return;
    }
    Pending p = std::move(s.pending.front());
    s.pending.pop_front();
    s.pending_bytes -= p.bytes;
    if (p.handler) {
      notify("command reply", p.handler, *reply);
    } else if (reply->isError()) {
      counters.last_error = reply->str;
      logger().warn("redis link {}: PUBLISH failed: {}", url.authority(), reply->str);
    }
  }

  static bool isPush(const RedisReply& r) {
    return r.isArray() && r.elements.size() == 3 &&
           (r.elements[0].is("message") || r.elements[0].is("subscribe") ||
            r.elements[0].is("unsubscribe"));
  }

  void push(const RedisReply& r) {
    const std::string& channel = r.elements[1].str;
    if (r.elements[0].is("message")) {
      // A message may still arrive for a channel unsubscribed a moment ago.
      if (channels.find(channel) == channels.end()) return;
      counters.received++;
      notify("onMessage", face.onMessage, std::string_view(channel),
             std::string_view(r.elements[2].str));
      return;
    }
    counters.confirmed = static_cast<std::size_t>(std::max(0LL, r.elements[2].integer));
    notify("onSubscriptionCount", face.onSubscriptionCount, counters.confirmed);
  }
};

RedisLink::RedisLink(RedisLinkOptions options)
    : impl_(std::make_unique<Impl>(*this, std::move(options))) {}

RedisLink::~RedisLink() = default;

void RedisLink::start() {
  if (impl_->started) return;
  impl_->started = true;
  impl_->setState(RedisLinkState::Connecting);
  impl_->sub.conn->connect();
  impl_->cmd.conn->connect();
}

void RedisLink::stop() {
  if (!impl_->started) return;
  impl_->started = false;
  for (Impl::Side* s : {&impl_->sub, &impl_->cmd}) {
    s->ready = false;
    s->conn->close();
    impl_->failPending(*s);
  }
  impl_->counters.confirmed = 0;
  impl_->setState(RedisLinkState::Down);
}

bool RedisLink::publish(std::string_view channel, std::string_view payload) {
  Impl& i = *impl_;
  if (!i.cmd.ready || !i.send(i.cmd, formatRedisCommand({"PUBLISH", channel, payload}), {})) {
    i.counters.dropped++;
    return false;
  }
  i.counters.published++;
  return true;
}

void RedisLink::subscribe(std::string_view channel) {
  const bool added = impl_->channels.emplace(channel).second;
  if (added && impl_->sub.ready) {
    impl_->sendSubscription(formatRedisCommand({"SUBSCRIBE", channel}));
  }
}

void RedisLink::unsubscribe(std::string_view channel) {
  const auto it = impl_->channels.find(channel);
  if (it == impl_->channels.end()) return;
  impl_->channels.erase(it);
  if (impl_->sub.ready) impl_->sendSubscription(formatRedisCommand({"UNSUBSCRIBE", channel}));
}

bool RedisLink::isSubscribed(std::string_view channel) const {
  return impl_->channels.find(channel) != impl_->channels.end();
}

bool RedisLink::command(std::span<const std::string_view> argv, ReplyHandler on_reply) {
  Impl& i = *impl_;
  if (argv.empty() || !i.cmd.ready) {
    i.counters.dropped++;
    return false;
  }
  // A command without a callback still needs a non-null handler, which marks it as not a
  // PUBLISH.
  if (!on_reply) on_reply = [](const RedisReply&) {};
  if (!i.send(i.cmd, formatRedisCommand(argv), std::move(on_reply))) {
    i.counters.dropped++;
    return false;
  }
  return true;
}

RedisLinkState RedisLink::state() const {
  return impl_->counters.state;
}

RedisLinkCounters RedisLink::counters() const {
  RedisLinkCounters c = impl_->counters;
  c.subscribed = impl_->channels.size();
  return c;
}

}  // namespace wman::bus
