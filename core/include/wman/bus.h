// Reaching connections wherever they live (GatewayWorker's Gateway API and Workerman's
// Channel): in this worker process, in another worker, on another machine. Connections get
// addresses and memberships on Connection (clientId, bindUid, joinGroup); the functions
// below send to them from any callback, timer or onWorkerStart. Under wman's daemon the
// bus process (and Redis, across machines) carries what this process cannot deliver
// itself; in a process on its own they reach this process's connections only.
// Delivery is at most once, without duplicates, FIFO per (sender, receiver); see
// docs/cluster.md.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace wman {

// Each sends `data` as one message, encoded once per receiving worker by its protocol (a
// WebSocket text message for websocket workers, a line for text://, ...). Nothing is
// returned: a receiver that is gone or unknown is simply not reached.
void sendToClient(std::string_view client_id, std::string_view data);
// Every connection bound to `uid` (Connection::bindUid), on every node.
void sendToUid(std::string_view uid, std::string_view data);
// Every member of `group` but the clients in `exclude` (client ids).
void sendToGroup(std::string_view group, std::string_view data,
                 const std::vector<std::string>& exclude = {});
// Every connection of every worker that accepts connections, but those in `exclude`.
void sendToAll(std::string_view data, const std::vector<std::string>& exclude = {});
// Closes the connection `client_id` after flushing what is queued for it.
void closeClient(std::string_view client_id);

// How many processes answered a query. Under the daemon each worker process of each node
// that was asked is one; a query that met its deadline before all answered is partial.
struct QueryReach {
  int replied = 0;
  int asked = 0;
  bool complete() const { return replied >= asked; }
};

// Asynchronous queries: `done` runs on this loop once every process answered or after
// `timeout_seconds`, whichever comes first, with what was gathered by then. Never blocks.
void isUidOnline(std::string_view uid, std::function<void(bool, QueryReach)> done,
                 double timeout_seconds = 1.0);
void getClientIdCountByGroup(std::string_view group,
                             std::function<void(std::size_t, QueryReach)> done,
                             double timeout_seconds = 1.0);
void getClientIdListByGroup(std::string_view group,
                            std::function<void(std::vector<std::string>, QueryReach)> done,
                            double timeout_seconds = 1.0);
// Connections that accept bus messages (those of workers with a listener), all nodes.
void getAllClientIdCount(std::function<void(std::size_t, QueryReach)> done,
                         double timeout_seconds = 1.0);
// The distinct uids bound by members of `group`.
void getUidListByGroup(std::string_view group,
                       std::function<void(std::vector<std::string>, QueryReach)> done,
                       double timeout_seconds = 1.0);

// Server-side events between processes and nodes (Workerman's Channel): every subscriber
// of `channel` in every process, this one included, gets each published `data`.
namespace bus {

using SubscriptionId = std::uint64_t;

SubscriptionId subscribe(std::string_view channel,
                         std::function<void(std::string_view channel, std::string_view data)> cb);
// Ends one subscription; false if it was not active.
bool unsubscribe(SubscriptionId id);
void publish(std::string_view channel, std::string_view data);

}  // namespace bus
}  // namespace wman
