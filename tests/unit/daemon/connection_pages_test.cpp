#include <catch2/catch.hpp>

#include <set>
#include <string>
#include <vector>

#include "connection_pages.h"
#include "connections_query.h"
#include "ipc.h"

using wman::ConnectionId;
using wman::daemon::ConnectionPages;
using wman::daemon::ConnectionsQueries;
using wman::daemon::ConnectionsTarget;
using wman::daemon::Json;
namespace ipc = wman::daemon::ipc;

namespace {

// A worker's connections: ids 1..n, each open unless erased from `open`.
struct FakeWorker {
  std::set<ConnectionId> open;
  std::string padding;  // makes each row this much longer
  explicit FakeWorker(ConnectionId n) {
    for (ConnectionId i = 1; i <= n; ++i) open.insert(i);
  }
  ConnectionPages::IdsFn ids() {
    return [this] { return std::vector<ConnectionId>(open.rbegin(), open.rend()); };
  }
  ConnectionPages::RowFn row() {
    return [this](ConnectionId id) -> std::optional<ipc::ConnectionRow> {
      if (!open.count(id)) return std::nullopt;
      ipc::ConnectionRow r;
      r.id = static_cast<std::int64_t>(id);
      r.remote = padding;
      return r;
    };
  }
};

// The page as the master receives it: through the channel's encoder and decoder.
ipc::ConnectionsPage page(ConnectionPages& pages, FakeWorker& w, std::int64_t req, std::int64_t n,
                          std::int64_t size) {
  const std::string frame = ipc::encode(pages.answer({req, n, size}, w.ids(), w.row()));
  auto msg = ipc::decode(frame);
  REQUIRE(msg);
  REQUIRE(std::holds_alternative<ipc::ConnectionsPage>(*msg));
  return std::get<ipc::ConnectionsPage>(*msg);
}

}  // namespace

TEST_CASE("pages: every connection exactly once, in bounded pages, oldest first") {
  FakeWorker w(2500);
  ConnectionPages pages;
  std::vector<ConnectionId> seen;
  std::vector<std::size_t> sizes;
  for (std::int64_t n = 0;; ++n) {
    ipc::ConnectionsPage p = page(pages, w, 7, n, 1000);
    CHECK(p.req == 7);
    CHECK(p.page == n);
    sizes.push_back(p.list.size());
    for (const ipc::ConnectionRow& r : p.list) seen.push_back(static_cast<ConnectionId>(r.id));
    if (!p.more) break;
  }
  CHECK(sizes == std::vector<std::size_t>{1000, 1000, 500});
  REQUIRE(seen.size() == 2500);
  for (std::size_t i = 0; i < seen.size(); ++i) CHECK(seen[i] == i + 1);
  CHECK(pages.open() == 0);
}

TEST_CASE("pages: connections closed after the snapshot are skipped, new ones not listed") {
  FakeWorker w(30);
  ConnectionPages pages;
  CHECK(page(pages, w, 1, 0, 10).list.size() == 10);
  w.open.erase(15);
  w.open.insert(31);
  ipc::ConnectionsPage second = page(pages, w, 1, 1, 10);
  CHECK(second.list.size() == 10);  // 11..21 without 15
  for (const ipc::ConnectionRow& r : second.list) CHECK(r.id != 15);
  ipc::ConnectionsPage third = page(pages, w, 1, 2, 10);
  CHECK(third.list.size() == 9);  // 22..30, not 31
  CHECK_FALSE(third.more);
  CHECK(third.list.back().id == 30);
}

TEST_CASE("pages: a page stops growing at kMaxPageBytes whatever page_size says") {
  FakeWorker w(100);
  w.padding.assign(10000, 'x');  // ~10 KB rows: long unix paths, say
  ConnectionPages pages;
  std::size_t total = 0;
  for (std::int64_t n = 0;; ++n) {
    const std::string frame = ipc::encode(pages.answer({3, n, 10000}, w.ids(), w.row()));
    CHECK(frame.size() < wman::daemon::kMaxPageBytes + 20000);
    auto msg = ipc::decode(frame);
    REQUIRE(msg);
    const auto& p = std::get<ipc::ConnectionsPage>(*msg);
    CHECK(p.list.size() <= wman::daemon::kMaxPageBytes / 10000 + 1);
    total += p.list.size();
    if (!p.more) break;
  }
  CHECK(total == 100);
}

TEST_CASE("pages: unknown queries and out-of-order pages end with an error") {
  FakeWorker w(5);
  ConnectionPages pages;
  ipc::ConnectionsPage unknown = page(pages, w, 9, 1, 2);
  CHECK_FALSE(unknown.error.empty());
  CHECK_FALSE(unknown.more);
  CHECK(page(pages, w, 9, 0, 2).more);
  CHECK_FALSE(page(pages, w, 9, 2, 2).error.empty());
  pages.cancel(9);
  CHECK(pages.open() == 0);
  for (std::int64_t q = 1; q <= 20; ++q) page(pages, w, q, 0, 1);
  CHECK(pages.open() == wman::daemon::kMaxOpenQueries);
}

namespace {

// ConnectionsQueries wired to recorders instead of sockets.
struct Harness {
  std::vector<std::pair<ConnectionId, ipc::Message>> to_worker;
  std::vector<Json> lines;
  bool ended = false;
  std::size_t backlog = 0;
  ConnectionsQueries queries{ConnectionsQueries::Hooks{
      [this](ConnectionId ch, const ipc::Message& m) { to_worker.emplace_back(ch, m); },
      [this](ConnectionId, const Json& line, bool last) {
        lines.push_back(line);
        ended = ended || last;
      },
      [this](ConnectionId) { return backlog; }, [](ConnectionId, std::size_t) {}}};
  static std::vector<ConnectionsTarget> targets() {
    return {ConnectionsTarget{101, "echo", 0, 1}, ConnectionsTarget{102, "echo", 1, 2}};
  }
  static ipc::ConnectionsPage answer(std::int64_t req, std::int64_t page, int rows, bool more) {
    ipc::ConnectionsPage p{req, page, {}, more, {}};
    for (int i = 0; i < rows; ++i) p.list.emplace_back().id = i + 1;
    return p;
  }
  // The request sent to a worker, which must be a ConnectionsRequest.
  const ipc::ConnectionsRequest& asked(std::size_t i) const {
    return std::get<ipc::ConnectionsRequest>(to_worker.at(i).second);
  }
};

}  // namespace

TEST_CASE("query: pages stream to the client, the summary ends it") {
  Harness h;
  CHECK(h.queries.begin(5, Json::object({{"page_size", 2}}), Harness::targets(), 0).empty());
  REQUIRE(h.to_worker.size() == 2);
  const std::int64_t req = h.asked(0).req;
  CHECK(h.asked(0).page_size == 2);
  h.queries.onPage(101, Harness::answer(req, 0, 2, true), 1);
  REQUIRE(h.to_worker.size() == 3);  // page 1 asked of pid 101
  CHECK(h.asked(2).page == 1);
  h.queries.onPage(102, Harness::answer(req, 0, 1, false), 1);
  h.queries.onPage(101, Harness::answer(req, 1, 1, false), 1);
  REQUIRE(h.ended);
  REQUIRE(h.lines.size() == 4);
  CHECK(h.lines[0].at("connections").at(0).at("pid").get<std::int64_t>() == 101);
  CHECK(h.lines[0].at("connections").at(0).at("worker").get<std::string>() == "echo");
  const Json& summary = h.lines.back();
  CHECK(summary.at("done").get<bool>());
  CHECK(summary.at("ok").get<bool>());
  CHECK(summary.at("total").get<std::int64_t>() == 4);
  CHECK(summary.at("answered").get<std::int64_t>() == 2);
  CHECK(summary.at("missing").size() == 0);
  CHECK(h.queries.size() == 0);
}

TEST_CASE("query: a worker silent past the deadline is named, and told to stop") {
  Harness h;
  CHECK(h.queries.begin(5, Json::object({{"timeout_ms", 100}}), Harness::targets(), 0).empty());
  const std::int64_t req = h.asked(0).req;
  h.queries.onPage(101, Harness::answer(req, 0, 3, false), 10);
  h.queries.poll(99);
  CHECK_FALSE(h.ended);
  h.queries.poll(100);
  REQUIRE(h.ended);
  const Json& summary = h.lines.back();
  CHECK_FALSE(summary.at("ok").get<bool>());
  CHECK(summary.at("timeout_ms").get<std::int64_t>() == 100);
  REQUIRE(summary.at("missing").size() == 1);
  CHECK(summary.at("missing").at(0).at("pid").get<std::int64_t>() == 102);
  CHECK(summary.at("missing").at(0).at("reason").get<std::string>() == "no answer within 100 ms");
  CHECK(std::holds_alternative<ipc::ConnectionsEnd>(h.to_worker.back().second));
}

TEST_CASE("query: a slow client parks the next page; bad parameters are refused") {
  Harness h;
  h.queries.begin(5, Json::object(), {ConnectionsTarget{101, "echo", 0, 1}}, 0);
  const std::int64_t req = h.asked(0).req;
  h.backlog = wman::daemon::kClientHighWater;
  h.queries.onPage(101, Harness::answer(req, 0, 1, true), 1);
  CHECK(h.to_worker.size() == 1);
  h.backlog = 0;
  h.queries.poll(2);
  CHECK(h.to_worker.size() == 2);
  h.queries.workerGone(101);
  CHECK(h.ended);
  CHECK(h.lines.back().at("missing").at(0).at("reason").get<std::string>() ==
        "exited after 1 row(s)");

  Harness bad;
  CHECK_FALSE(bad.queries.begin(5, Json::object({{"page_size", 0}}), {}, 0).empty());
  CHECK_FALSE(bad.queries.begin(5, Json::object({{"timeout_ms", "1s"}}), {}, 0).empty());
  CHECK(bad.lines.empty());
  CHECK(bad.queries.begin(5, Json::object(), {}, 0).empty());
  CHECK(bad.lines.back().at("total").get<std::int64_t>() == 0);
}
