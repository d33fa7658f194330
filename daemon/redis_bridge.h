// The bus process's way to other nodes: bus envelopes as Redis PUBLISH on documented
// channels, SUBSCRIBE to exactly the channels this node has receivers for (its node
// channel, "all", the query channel, and each uid, group and channel a local worker holds),
// and queries asked of every node. Channel names and envelopes: docs/cluster.md.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "bus_table.h"
#include "ipc.h"
#include "redis_link.h"
#include "wman/bus_backend.h"
#include "wman/config.h"

namespace wman::daemon {

class RedisBridge {
 public:
  // Subscribes to what `table` says this node holds, now and as it changes.
  RedisBridge(const BusConfig& config, std::string node, bus::BusTable& table);
  ~RedisBridge();

  void start();
  // A message sent on this node: published where other nodes' receivers listen (not for a
  // client of this node). Dropped and counted while Redis is down.
  void publish(const BusEnvelope& e);
  // Asks every other node; their answers go into the table's query `id`.
  void ask(std::uint64_t id, BusQuestion q, const std::string& name, std::uint64_t ms);
  void fill(ipc::BusStats& s) const;

  // An envelope another node (or any Redis client) published for receivers here.
  std::function<void(const BusEnvelope&)> onArrival;
  // Another node asks; `answer(merged, processes_replied)` must be called once.
  std::function<void(BusQuestion, const std::string& name, std::uint64_t ms,
                     std::function<void(const BusAnswer&, int)> answer)>
      onRemoteAsk;
  // A query of this node got every answer it waited for.
  std::function<void(const bus::BusTable::Done&)> onQueryDone;

  // The Redis channel for a target, e.g. "wman:group:lobby".
  static std::string channelFor(BusTarget t, const std::string& name);

 private:
  void arrived(std::string_view channel, std::string_view payload);
  void remoteQuery(std::string_view payload);
  void remoteReply(std::string_view payload);

  std::string node_;
  bus::BusTable& table_;
  std::unique_ptr<bus::RedisLink> link_;
};

}  // namespace wman::daemon
