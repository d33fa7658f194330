// The master's side of `wman connections`: asks every worker process for its connections
// page by page, streams each page to the control client as one line, and ends with a summary
// line that names every worker that did not finish before the query's deadline.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "ipc.h"
#include "json_doc.h"
#include "wman/connection.h"

namespace wman::daemon {

// How long a query waits for every worker unless the request names timeout_ms, and the most
// it may name.
inline constexpr std::int64_t kConnectionsTimeoutMs = 10000;
inline constexpr std::int64_t kConnectionsMaxTimeoutMs = 600000;
// The next page is asked for only while fewer bytes than this wait for the client, so a
// client that reads slowly holds up its own answer instead of growing the master.
inline constexpr std::size_t kClientHighWater = 1024 * 1024;

// One worker process a query asks.
struct ConnectionsTarget {
  pid_t pid = 0;
  std::string worker;  // the [[worker]] name
  int slot = 0;
  ConnectionId channel = 0;  // its channel connection in the master
};

class ConnectionsQueries {
 public:
  struct Hooks {
    std::function<void(ConnectionId channel, const ipc::Message& msg)> to_worker;
    // One line of the answer to `client`; `last` ends the request.
    std::function<void(ConnectionId client, const Json& line, bool last)> to_client;
    // Bytes queued for `client` and not yet read by it.
    std::function<std::size_t(ConnectionId client)> backlog;
    // Lets `client` queue up to this many bytes.
    std::function<void(ConnectionId client, std::size_t bytes)> allow_backlog;
  };

  explicit ConnectionsQueries(Hooks hooks) : hooks_(std::move(hooks)) {}

  // Starts the query {"cmd":"connections","page_size":N,"timeout_ms":T} of `client` over
  // `targets`. Returns why the request is refused ("" once started; a query with no target
  // is answered at once).
  std::string begin(ConnectionId client, const Json& request,
                    std::vector<ConnectionsTarget> targets, std::uint64_t now);
  // A worker's page of a query.
  void onPage(pid_t pid, const ipc::ConnectionsPage& page, std::uint64_t now);
  // The worker `pid` has gone: the queries that wait for it report it as not answering.
  void workerGone(pid_t pid);
  // The client has gone: its queries end and their workers drop their snapshots.
  void clientGone(ConnectionId client);
  // Ends queries past their deadline and asks for pages the client now has room for.
  void poll(std::uint64_t now);
  // Queries in flight.
  std::size_t size() const { return queries_.size(); }

 private:
  enum class PartState { Waiting, Parked, Done, Missing };
  struct Part {
    ConnectionsTarget target;
    PartState state = PartState::Waiting;
    std::int64_t next_page = 0;
    std::size_t rows = 0;
    std::string reason;  // why a Missing part did not finish
  };
  struct Query {
    ConnectionId client = 0;
    std::int64_t page_size = 0;
    std::int64_t timeout_ms = 0;
    std::uint64_t deadline = 0;
    std::size_t rows = 0;
    std::vector<Part> parts;
  };

  void ask(std::int64_t id, Query& q, Part& p);
  void askOrPark(std::int64_t id, Query& q, Part& p);
  // Sends the summary line when no part is still pending; true when the query ended.
  bool finishIfDone(std::map<std::int64_t, Query>::iterator it);

  Hooks hooks_;
  std::map<std::int64_t, Query> queries_;
  std::int64_t next_id_ = 0;
};

}  // namespace wman::daemon
