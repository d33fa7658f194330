// The worker's side of `wman connections`: the connection ids are snapshotted when a query
// starts and served in pages bounded in rows and in bytes, so no answer outgrows the
// master's channel however many connections the worker holds.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ipc.h"
#include "wman/connection.h"

namespace wman::daemon {

// Rows per page when the request names no page_size, and the most it may name.
inline constexpr std::size_t kDefaultPageRows = 1000;
inline constexpr std::size_t kMaxPageRows = 10000;
// A page stops taking rows once its rows' estimated encoded size reaches this (a row is a few
// hundred bytes at most), far below the channel's 10 MiB frame limit and within a channel's
// 1 MiB send buffer.
inline constexpr std::size_t kMaxPageBytes = 256 * 1024;
// Queries a worker serves at once; a newer one drops the oldest snapshot.
inline constexpr std::size_t kMaxOpenQueries = 8;

class ConnectionPages {
 public:
  // The ids of every connection now, for a new snapshot.
  using IdsFn = std::function<std::vector<ConnectionId>()>;
  // The row for `id`, or nullopt when that connection has closed since the snapshot.
  using RowFn = std::function<std::optional<ipc::ConnectionRow>(ConnectionId)>;

  // Answers the master's request for page K of query R. Page 0 takes a snapshot of ids();
  // page K continues where page K-1 ended. The answer's `more` says whether a page K+1
  // follows; an unknown query or an out-of-order page gets an empty last page with an
  // `error`. Every id of the snapshot still open is in exactly one page.
  ipc::ConnectionsPage answer(const ipc::ConnectionsRequest& request, const IdsFn& ids,
                              const RowFn& row);
  // The master's ConnectionsEnd for query `req`: it ended early; drops its snapshot.
  void cancel(std::int64_t req) { open_.erase(req); }
  // Snapshots held now.
  std::size_t open() const { return open_.size(); }

 private:
  struct Snapshot {
    std::vector<ConnectionId> ids;
    std::size_t next = 0;        // index of the first id not yet served
    std::int64_t next_page = 0;  // the page number the master must ask for next
  };
  std::map<std::int64_t, Snapshot> open_;
};

}  // namespace wman::daemon
