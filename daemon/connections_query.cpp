#include "connections_query.h"

#include <algorithm>
#include <optional>

#include "connection_pages.h"

namespace wman::daemon {
namespace {

// A page line carries up to kMaxPageBytes of rows plus the worker, slot and pid the master
// adds to each row; twice the page size is room for both.
constexpr std::size_t kPageRoom = 2 * kMaxPageBytes;

// The integer member `key` of `request`, `fallback` when absent, or nullopt when it is not an
// integer in [min, max].
std::optional<std::int64_t> intParam(const Json& request, std::string_view key,
                                     std::int64_t fallback, std::int64_t min, std::int64_t max) {
  if (!request.is_object()) return fallback;
  auto v = request.find(key);
  if (v == request.end()) return fallback;
  const std::optional<std::int64_t> i = exactInt(*v);
  if (!i || *i < min || *i > max) return std::nullopt;
  return i;
}

}  // namespace

std::string ConnectionsQueries::begin(ConnectionId client, const Json& request,
                                      std::vector<ConnectionsTarget> targets, std::uint64_t now) {
  const auto max_rows = static_cast<std::int64_t>(kMaxPageRows);
  auto page_size =
      intParam(request, "page_size", static_cast<std::int64_t>(kDefaultPageRows), 1, max_rows);
  if (!page_size) return "page_size must be an integer from 1 to " + std::to_string(max_rows);
  auto timeout =
      intParam(request, "timeout_ms", kConnectionsTimeoutMs, 1, kConnectionsMaxTimeoutMs);
  if (!timeout) {
    return "timeout_ms must be an integer from 1 to " + std::to_string(kConnectionsMaxTimeoutMs);
  }
  const std::int64_t id = ++next_id_;
  Query& q = queries_[id];
  q.client = client;
  q.page_size = *page_size;
  q.timeout_ms = *timeout;
  q.deadline = now + static_cast<std::uint64_t>(*timeout);
  for (ConnectionsTarget& t : targets) {
    Part p;
    p.target = std::move(t);
    q.parts.push_back(std::move(p));
  }
  // Every worker may have one page on its way to the client besides what waits there.
  hooks_.allow_backlog(client, kClientHighWater + q.parts.size() * kPageRoom);
  for (Part& p : q.parts) ask(id, q, p);
  finishIfDone(queries_.find(id));
  return {};
}

void ConnectionsQueries::ask(std::int64_t id, Query& q, Part& p) {
  p.state = PartState::Waiting;
  hooks_.to_worker(p.target.channel, ipc::ConnectionsRequest{id, p.next_page, q.page_size});
}

void ConnectionsQueries::askOrPark(std::int64_t id, Query& q, Part& p) {
  if (hooks_.backlog(q.client) < kClientHighWater) {
    ask(id, q, p);
  } else {
    p.state = PartState::Parked;  // poll() asks once the client has read its backlog
  }
}

void ConnectionsQueries::onPage(pid_t pid, const ipc::ConnectionsPage& page, std::uint64_t now) {
  auto it = queries_.find(page.req);
  if (it == queries_.end()) return;  // ended already (deadline or client gone)
  Query& q = it->second;
  auto p = std::find_if(q.parts.begin(), q.parts.end(),
                        [pid](const Part& part) { return part.target.pid == pid; });
  if (p == q.parts.end() || p->state != PartState::Waiting || page.page != p->next_page) {
    return;
  }
  Json rows = Json::array();
  for (const ipc::ConnectionRow& row : page.list) {
    Json r = ipc::toValue(row);
    r["worker"] = p->target.worker;
    r["slot"] = p->target.slot;
    r["pid"] = static_cast<std::int64_t>(pid);
    rows.push_back(std::move(r));
  }
  p->rows += rows.size();
  q.rows += rows.size();
  if (!rows.empty()) {
    hooks_.to_client(q.client, Json::object({{"connections", std::move(rows)}}), false);
  }
  if (!page.error.empty()) {
    p->state = PartState::Missing;
    p->reason = page.error;
  } else if (page.more && now < q.deadline) {
    p->next_page++;
    askOrPark(it->first, q, *p);
  } else if (!page.more) {
    p->state = PartState::Done;
  }
  finishIfDone(it);
}

void ConnectionsQueries::workerGone(pid_t pid) {
  for (auto it = queries_.begin(); it != queries_.end();) {
    auto next = std::next(it);
    for (Part& p : it->second.parts) {
      if (p.target.pid != pid || p.state == PartState::Done || p.state == PartState::Missing) {
        continue;
      }
      p.state = PartState::Missing;
      p.reason = "exited after " + std::to_string(p.rows) + " row(s)";
    }
    finishIfDone(it);
    it = next;
  }
}

void ConnectionsQueries::clientGone(ConnectionId client) {
  for (auto it = queries_.begin(); it != queries_.end();) {
    if (it->second.client != client) {
      ++it;
      continue;
    }
    for (Part& p : it->second.parts) {
      if (p.state == PartState::Waiting || p.state == PartState::Parked) {
        hooks_.to_worker(p.target.channel, ipc::ConnectionsEnd{it->first});
      }
    }
    it = queries_.erase(it);
  }
}

void ConnectionsQueries::poll(std::uint64_t now) {
  for (auto it = queries_.begin(); it != queries_.end();) {
    auto next = std::next(it);
    Query& q = it->second;
    if (now >= q.deadline) {
      for (Part& p : q.parts) {
        if (p.state != PartState::Waiting && p.state != PartState::Parked) continue;
        hooks_.to_worker(p.target.channel, ipc::ConnectionsEnd{it->first});
        p.reason = p.state == PartState::Parked
                       ? "the client read too slowly to finish within the deadline"
                   : p.rows == 0 ? "no answer within " + std::to_string(q.timeout_ms) + " ms"
                                 : "sent " + std::to_string(p.rows) +
                                       " row(s), then no answer within the deadline";
        p.state = PartState::Missing;
      }
    } else {
      for (Part& p : q.parts) {
        if (p.state == PartState::Parked) askOrPark(it->first, q, p);
      }
    }
    finishIfDone(it);
    it = next;
  }
}

bool ConnectionsQueries::finishIfDone(std::map<std::int64_t, Query>::iterator it) {
  Query& q = it->second;
  Json missing = Json::array();
  std::size_t answered = 0;
  for (const Part& p : q.parts) {
    if (p.state == PartState::Waiting || p.state == PartState::Parked) return false;
    if (p.state == PartState::Done) {
      ++answered;
      continue;
    }
    missing.push_back(Json::object({{"worker", p.target.worker},
                                    {"slot", p.target.slot},
                                    {"pid", static_cast<std::int64_t>(p.target.pid)},
                                    {"rows", p.rows},
                                    {"reason", p.reason}}));
  }
  const bool complete = missing.empty();
  hooks_.to_client(q.client,
                   Json::object({{"done", true},
                                 {"ok", complete},
                                 {"total", q.rows},
                                 {"workers", q.parts.size()},
                                 {"answered", answered},
                                 {"timeout_ms", q.timeout_ms},
                                 {"missing", std::move(missing)}}),
                   true);
  queries_.erase(it);
  return true;
}

}  // namespace wman::daemon
