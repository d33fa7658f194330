#include "connection_pages.h"

#include <algorithm>

namespace wman::daemon {
namespace {

std::string encodePage(std::int64_t req, std::int64_t page, const std::string& rows, bool more,
                       const std::string& error = {}) {
  std::string out = R"({"t":"conns","req":)" + std::to_string(req) + R"(,"page":)" +
                    std::to_string(page) + R"(,"list":[)" + rows + "]";
  out += more ? R"(,"more":true)" : R"(,"more":false)";
  if (!error.empty()) {
    out += R"(,"error":)";
    Json(error).dumpTo(out);
  }
  out += "}";
  return out;
}

}  // namespace

std::string ConnectionPages::answer(const Json& request, const IdsFn& ids, const RowFn& row) {
  const std::int64_t req = request["req"].asInt();
  const std::int64_t page = request["page"].asInt();
  const auto asked = request["page_size"].asInt(static_cast<std::int64_t>(kDefaultPageRows));
  const std::size_t page_rows =
      static_cast<std::size_t>(std::clamp<std::int64_t>(asked, 1, kMaxPageRows));
  if (page == 0) {
    if (open_.size() >= kMaxOpenQueries) open_.erase(open_.begin());
    Snapshot s;
    s.ids = ids();
    // Ids grow with age, so the listing comes out oldest connection first.
    std::sort(s.ids.begin(), s.ids.end());
    open_[req] = std::move(s);
  }
  auto it = open_.find(req);
  if (it == open_.end() || it->second.next_page != page) {
    return encodePage(req, page, {}, false, "no such query or page (expired or out of order)");
  }
  Snapshot& s = it->second;
  std::string rows;
  std::size_t n = 0;
  while (s.next < s.ids.size() && n < page_rows && rows.size() < kMaxPageBytes) {
    std::optional<Json> r = row(s.ids[s.next++]);
    if (!r) continue;  // closed since the snapshot
    if (n++ > 0) rows += ',';
    r->dumpTo(rows);
  }
  const bool more = s.next < s.ids.size();
  if (more) {
    s.next_page++;
  } else {
    open_.erase(it);
  }
  return encodePage(req, page, rows, more);
}

}  // namespace wman::daemon
