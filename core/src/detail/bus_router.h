// This process's side of the bus: who is a member of what (uids, groups, channel
// subscriptions), delivery to the local receivers, and the hand-off of everything else to
// the installed BusBackend. One per process, used from the loop's thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "wman/bus.h"
#include "wman/bus_backend.h"
#include "wman/codec.h"
#include "wman/connection.h"
#include "wman/timer.h"

namespace wman::detail {

class WorkerRuntime;

class BusRouter {
 public:
  static BusRouter& get();

  // Identity (client ids). The incarnation is redrawn in a forked child that did not set it.
  void setIdentity(std::string node, std::uint64_t incarnation);
  const std::string& node();
  std::uint64_t incarnation();
  void setBackend(BusBackend* backend) { backend_ = backend; }

  // Runtimes get a small index (part of their connections' client ids) on first use.
  std::uint64_t indexOf(WorkerRuntime& rt);
  void runtimeGone(WorkerRuntime& rt);
  std::string clientId(WorkerRuntime& rt, ConnectionId id);

  // Membership of one connection; all of it is dropped by connectionClosed().
  void bindUid(WorkerRuntime& rt, ConnectionId id, std::string_view uid);
  void unbindUid(WorkerRuntime& rt, ConnectionId id);
  const std::string& uid(WorkerRuntime& rt, ConnectionId id) const;
  void joinGroup(WorkerRuntime& rt, ConnectionId id, std::string_view group);
  void leaveGroup(WorkerRuntime& rt, ConnectionId id, std::string_view group);
  std::vector<std::string> groups(WorkerRuntime& rt, ConnectionId id) const;
  void connectionClosed(WorkerRuntime& rt, ConnectionId id);

  // Serves the local receivers of `e`, then (when `from_here`) hands it to the backend.
  void send(const BusEnvelope& e, bool from_here);

  bus::SubscriptionId subscribe(std::string_view channel,
                                std::function<void(std::string_view, std::string_view)> cb);
  bool unsubscribe(bus::SubscriptionId id);

  void ask(BusQuestion q, std::string_view name, double timeout_seconds,
           std::function<void(BusAnswer, QueryReach)> done);
  void answered(std::uint64_t id, BusAnswer answer, int replied, int asked);
  BusAnswer answerHere(BusQuestion q, std::string_view name) const;
  std::vector<std::pair<BusTarget, std::string>> interests() const;

 private:
  struct Key {
    std::uint64_t index;  // the runtime's index
    ConnectionId id;
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    std::size_t operator()(const Key& k) const noexcept { return k.id * 31 + k.index; }
  };
  using KeySet = std::unordered_set<Key, KeyHash>;
  struct Membership {
    std::string uid;
    std::vector<std::string> groups;
  };
  struct Subscription {
    std::string channel;
    std::function<void(std::string_view, std::string_view)> cb;
  };
  struct Pending {
    std::function<void(BusAnswer, QueryReach)> done;
    BusQuestion question = BusQuestion::AllCount;
    BusAnswer answer;  // without a backend: this process's answer, delivered a pass later
    TimerId timer = 0;
  };

  Key keyOf(WorkerRuntime& rt, ConnectionId id) { return {indexOf(rt), id}; }
  // The key of a runtime that already has an index; nullopt for one never seen (no member).
  std::optional<Key> findKey(const WorkerRuntime& rt, ConnectionId id) const;
  const Membership* membership(const WorkerRuntime& rt, ConnectionId id) const;
  void add(std::unordered_map<std::string, KeySet>& index, BusTarget t, const std::string& name,
           const Key& k);
  void remove(std::unordered_map<std::string, KeySet>& index, BusTarget t, const std::string& name,
              const Key& k);
  void deliverTo(const KeySet& keys, const BusEnvelope& e);
  void deliverKeys(std::vector<Key> keys, const BusEnvelope& e);
  void deliverToAll(const BusEnvelope& e);
  // Connection `k` if it is open here, with its runtime.
  Connection* open(const Key& k, WorkerRuntime** rt = nullptr) const;
  KeySet excluded(const std::vector<std::string>& ids);
  void publishHere(const std::string& channel, std::string_view data);
  void ensureIdentity();

  std::string node_;
  std::uint64_t incarnation_ = 0;
  int identity_pid_ = 0;
  BusBackend* backend_ = nullptr;
  std::vector<WorkerRuntime*> runtimes_;  // index - 1
  // One codec per runtime encodes each message once for all its receivers.
  std::unordered_map<std::uint64_t, std::unique_ptr<Codec>> codecs_;
  std::unordered_map<Key, Membership, KeyHash> members_;
  std::unordered_map<std::string, KeySet> uids_;
  std::unordered_map<std::string, KeySet> groups_;
  std::map<bus::SubscriptionId, Subscription> subs_;
  std::unordered_map<std::string, std::size_t> channel_subs_;  // subscriptions per channel
  bus::SubscriptionId next_sub_ = 0;
  std::map<std::uint64_t, Pending> pending_;
  std::uint64_t next_query_ = 0;
};

}  // namespace wman::detail
