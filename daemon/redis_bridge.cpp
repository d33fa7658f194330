#include "redis_bridge.h"

#include <array>

#include <spdlog/spdlog.h>
#include "json_doc.h"

#include "wman/logging.h"

namespace wman::daemon {
namespace {

constexpr std::string_view kPrefix = "wman:";
const std::string kAll = "wman:all";
const std::string kQuery = "wman:query";

std::string nodeChannel(const std::string& node) {
  return std::string(kPrefix) + "node:" + node;
}

// Envelopes between buses are MessagePack maps (binary-safe); a program that is not a bus
// may publish a JSON object with "data" (and "exclude") or the bare message.
std::string pack(const Json& doc) {
  std::vector<std::uint8_t> out = Json::to_msgpack(doc);
  return std::string(out.begin(), out.end());
}

std::optional<Json> unpack(std::string_view payload) {
  if (payload.empty()) return std::nullopt;
  const auto first = static_cast<unsigned char>(payload.front());
  if (first == '{') return parseJson(payload);
  const bool map = (first & 0xf0) == 0x80 || first == 0xde || first == 0xdf;
  if (map) return parseMsgpack(payload);
  return std::nullopt;
}

std::string text(const Json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_binary()) return std::string(v.get_binary().begin(), v.get_binary().end());
  return {};
}

}  // namespace

std::string RedisBridge::channelFor(BusTarget t, const std::string& name) {
  switch (t) {
    case BusTarget::Client: {
      ClientAddress a;
      return parseClientId(name, a) ? nodeChannel(a.node) : std::string();
    }
    case BusTarget::Uid:
      return std::string(kPrefix) + "uid:" + name;
    case BusTarget::Group:
      return std::string(kPrefix) + "group:" + name;
    case BusTarget::All:
      return kAll;
    case BusTarget::Channel:
      return std::string(kPrefix) + "ch:" + name;
  }
  return {};
}

RedisBridge::RedisBridge(const BusConfig& config, std::string node, bus::BusTable& table)
    : node_(std::move(node)), table_(table) {
  bus::RedisLinkOptions o;
  o.url = config.redis;
  o.password = config.password;
  o.max_pending_bytes = config.max_queue;
  // Remote delivery should resume within a second or two of Redis returning, whatever the
  // outage's length: retry often (Redis is a local service of the cluster).
  o.connection.reconnect_min = 0.05;
  o.connection.reconnect_max = 1.0;
  link_ = std::make_unique<bus::RedisLink>(o);
  link_->onMessage = [this](std::string_view channel, std::string_view payload) {
    arrived(channel, payload);
  };
  link_->onStateChange = [](bus::RedisLinkState s) {
    logger().info("bus: redis link {}", bus::toString(s));
  };
  table_.onNodeInterest = [this](BusTarget t, const std::string& name, bool on) {
    if (t == BusTarget::All || t == BusTarget::Client) return;
    const std::string channel = channelFor(t, name);
    if (on) {
      link_->subscribe(channel);
    } else {
      link_->unsubscribe(channel);
    }
  };
}

RedisBridge::~RedisBridge() {
  table_.onNodeInterest = nullptr;
}

void RedisBridge::start() {
  link_->subscribe(nodeChannel(node_));
  link_->subscribe(kAll);
  link_->subscribe(kQuery);
  for (const auto& [t, name] : table_.nodeInterests()) {
    if (t != BusTarget::All && t != BusTarget::Client) link_->subscribe(channelFor(t, name));
  }
  link_->start();
}

void RedisBridge::publish(const BusEnvelope& e) {
  const std::string channel = channelFor(e.target, e.name);
  if (channel.empty() || channel == nodeChannel(node_)) return;  // for this node only
  Json doc = Json::object();
  doc["from"] = node_;
  doc["data"] = Json::binary_t(std::vector<std::uint8_t>(e.data.begin(), e.data.end()));
  if (e.target == BusTarget::Client) doc["client"] = e.name;
  if (!e.exclude.empty()) doc["exclude"] = e.exclude;
  if (e.close) doc["close"] = true;
  link_->publish(channel, pack(doc));
}

void RedisBridge::ask(std::uint64_t id, BusQuestion q, const std::string& name, std::uint64_t ms) {
  Json doc = Json::object();
  doc["from"] = node_;
  doc["id"] = id;
  doc["q"] = static_cast<int>(q);
  doc["name"] = name;
  doc["ms"] = ms;
  const std::string payload = pack(doc);
  std::array<std::string_view, 3> argv{"PUBLISH", kQuery, payload};
  // PUBLISH answers how many subscribers got it: every live node, this one included.
  const bool sent = link_->command(argv, [this, id](const RedisReply& reply) {
    const long long reached = reply.type == RedisReply::Type::Integer ? reply.integer : 1;
    if (auto done = table_.queryExtend(id, static_cast<int>(std::max(0LL, reached - 1)))) {
      if (onQueryDone) onQueryDone(*done);
    }
  });
  if (sent) table_.queryAwaitRemote(id);
}

void RedisBridge::arrived(std::string_view channel, std::string_view payload) {
  if (channel == kQuery) return remoteQuery(payload);
  auto doc = unpack(payload);
  if (doc && doc->is_object() && doc->contains("reply")) return remoteReply(payload);
  if (doc && doc->is_object() && text((*doc)["from"]) == node_) return;  // our own echo
  BusEnvelope e;
  const std::string_view rest = channel.substr(std::min(channel.size(), kPrefix.size()));
  if (rest == "all") {
    e.target = BusTarget::All;
  } else if (rest.starts_with("uid:")) {
    e.target = BusTarget::Uid;
    e.name = std::string(rest.substr(4));
  } else if (rest.starts_with("group:")) {
    e.target = BusTarget::Group;
    e.name = std::string(rest.substr(6));
  } else if (rest.starts_with("ch:")) {
    e.target = BusTarget::Channel;
    e.name = std::string(rest.substr(3));
  } else if (rest.starts_with("node:")) {
    e.target = BusTarget::Client;
  } else {
    return;
  }
  if (doc && doc->is_object() && doc->contains("data")) {
    e.data = text((*doc)["data"]);
    if (e.target == BusTarget::Client) e.name = text((*doc)["client"]);
    if (const auto& ex = (*doc)["exclude"]; ex.is_array()) {
      for (const auto& id : ex) e.exclude.push_back(text(id));
    }
    e.close = doc->value("close", false);
  } else {
    if (e.target == BusTarget::Client) return;  // a client needs an envelope naming it
    e.data = std::string(payload);
  }
  if (onArrival) onArrival(e);
}

void RedisBridge::remoteQuery(std::string_view payload) {
  auto doc = unpack(payload);
  if (!doc || !doc->is_object()) return;
  const std::string from = text((*doc)["from"]);
  if (from.empty() || from == node_ || !onRemoteAsk) return;
  const int q = doc->value("q", -1);
  if (q < 0 || q > static_cast<int>(BusQuestion::GroupUids)) return;
  const auto id = doc->value("id", std::uint64_t{0});
  const auto ms = std::min<std::uint64_t>(doc->value("ms", std::uint64_t{1000}), 60000);
  onRemoteAsk(static_cast<BusQuestion>(q), text((*doc)["name"]), ms,
              [this, from, id](const BusAnswer& a, int replied) {
                Json reply = Json::object();
                reply["reply"] = id;
                reply["from"] = node_;
                reply["count"] = a.count;
                reply["items"] = a.items;
                reply["replied"] = replied;
                link_->publish(nodeChannel(from), pack(reply));
              });
}

void RedisBridge::remoteReply(std::string_view payload) {
  auto doc = unpack(payload);
  if (!doc) return;
  BusAnswer a;
  a.count = doc->value("count", std::size_t{0});
  if (const auto& items = (*doc)["items"]; items.is_array()) {
    for (const auto& i : items) a.items.push_back(text(i));
  }
  if (auto done = table_.queryAnswered(doc->value("reply", std::uint64_t{0}), 0, a)) {
    if (onQueryDone) onQueryDone(*done);
  }
}

void RedisBridge::fill(ipc::BusStats& s) const {
  const auto c = link_->counters();
  s.redis = bus::toString(c.state);
  s.redis_published = static_cast<std::int64_t>(c.published);
  s.redis_received = static_cast<std::int64_t>(c.received);
  s.redis_dropped = static_cast<std::int64_t>(c.dropped);
  s.redis_reconnects = static_cast<std::int64_t>(c.reconnects);
  s.redis_channels = static_cast<std::int64_t>(c.subscribed);
  s.redis_error = c.last_error;
}

}  // namespace wman::daemon
