#include "connection_pages.h"

#include <algorithm>

namespace wman::daemon {
namespace {

// What a row adds to the encoded page besides its strings: eight short keys and five
// integers stay under this in MessagePack.
constexpr std::size_t kRowOverhead = 96;

std::size_t rowBytes(const ipc::ConnectionRow& r) {
  return kRowOverhead + r.protocol.size() + r.local.size() + r.remote.size() + r.state.size();
}

}  // namespace

ipc::ConnectionsPage ConnectionPages::answer(const ipc::ConnectionsRequest& request,
                                             const IdsFn& ids, const RowFn& row) {
  ipc::ConnectionsPage out;
  out.req = request.req;
  out.page = request.page;
  const std::int64_t asked =
      request.page_size > 0 ? request.page_size : static_cast<std::int64_t>(kDefaultPageRows);
  const std::size_t page_rows =
      static_cast<std::size_t>(std::clamp<std::int64_t>(asked, 1, kMaxPageRows));
  if (request.page == 0) {
    if (open_.size() >= kMaxOpenQueries) open_.erase(open_.begin());
    Snapshot s;
    s.ids = ids();
    // Ids grow with age, so the listing comes out oldest connection first.
    std::sort(s.ids.begin(), s.ids.end());
    open_[request.req] = std::move(s);
  }
  auto it = open_.find(request.req);
  if (it == open_.end() || it->second.next_page != request.page) {
    out.error = "no such query or page (expired or out of order)";
    return out;
  }
  Snapshot& s = it->second;
  std::size_t bytes = 0;
  while (s.next < s.ids.size() && out.list.size() < page_rows && bytes < kMaxPageBytes) {
    std::optional<ipc::ConnectionRow> r = row(s.ids[s.next++]);
    if (!r) continue;  // closed since the snapshot
    bytes += rowBytes(*r);
    out.list.push_back(std::move(*r));
  }
  out.more = s.next < s.ids.size();
  if (out.more) {
    s.next_page++;
  } else {
    open_.erase(it);
  }
  return out;
}

}  // namespace wman::daemon
