#include <catch2/catch.hpp>

#include <set>
#include <string>
#include <vector>

#include "connection_pages.h"
#include "connections_query.h"

using wman::ConnectionId;
using wman::daemon::ConnectionPages;
using wman::daemon::ConnectionsQueries;
using wman::daemon::ConnectionsTarget;
using wman::daemon::Json;
using wman::daemon::parseJson;

namespace {

Json request(std::int64_t req, std::int64_t page, std::int64_t page_size) {
  return Json::object()
      .set("t", "conns")
      .set("req", req)
      .set("page", page)
      .set("page_size", page_size);
}

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
    return [this](ConnectionId id) -> std::optional<Json> {
      if (!open.count(id)) return std::nullopt;
      return Json::object().set("id", id).set("pad", padding);
    };
  }
};

Json page(ConnectionPages& pages, FakeWorker& w, std::int64_t req, std::int64_t n,
          std::int64_t size) {
  auto doc = parseJson(pages.answer(request(req, n, size), w.ids(), w.row()));
  REQUIRE(doc);
  return *doc;
}

}  // namespace

TEST_CASE("pages: every connection exactly once, in bounded pages, oldest first") {
  FakeWorker w(2500);
  ConnectionPages pages;
  std::vector<ConnectionId> seen;
  std::vector<std::size_t> sizes;
  for (std::int64_t n = 0;; ++n) {
    Json p = page(pages, w, 7, n, 1000);
    CHECK(p["t"].asString() == "conns");
    CHECK(p["req"].asInt() == 7);
    CHECK(p["page"].asInt() == n);
    sizes.push_back(p["list"].size());
    for (const Json& r : p["list"].items())
      seen.push_back(static_cast<ConnectionId>(r["id"].asInt()));
    if (!p["more"].asBool()) break;
  }
  CHECK(sizes == std::vector<std::size_t>{1000, 1000, 500});
  REQUIRE(seen.size() == 2500);
  for (std::size_t i = 0; i < seen.size(); ++i) CHECK(seen[i] == i + 1);
  CHECK(pages.open() == 0);
}

TEST_CASE("pages: connections closed after the snapshot are skipped, new ones not listed") {
  FakeWorker w(30);
  ConnectionPages pages;
  Json first = page(pages, w, 1, 0, 10);
  CHECK(first["list"].size() == 10);
  w.open.erase(15);
  w.open.insert(31);
  Json second = page(pages, w, 1, 1, 10);
  CHECK(second["list"].size() == 10);  // 11..21 without 15
  for (const Json& r : second["list"].items()) CHECK(r["id"].asInt() != 15);
  Json third = page(pages, w, 1, 2, 10);
  CHECK(third["list"].size() == 9);  // 22..30, not 31
  CHECK_FALSE(third["more"].asBool());
  CHECK(third["list"].items().back()["id"].asInt() == 30);
}

TEST_CASE("pages: a page stops growing at kMaxPageBytes whatever page_size says") {
  FakeWorker w(100);
  w.padding.assign(10000, 'x');  // ~10 KB rows: long unix paths, say
  ConnectionPages pages;
  std::size_t total = 0;
  for (std::int64_t n = 0;; ++n) {
    const std::string text = pages.answer(request(3, n, 10000), w.ids(), w.row());
    CHECK(text.size() < wman::daemon::kMaxPageBytes + 20000);
    auto p = parseJson(text);
    REQUIRE(p);
    CHECK((*p)["list"].size() <= wman::daemon::kMaxPageBytes / 10000 + 1);
    total += (*p)["list"].size();
    if (!(*p)["more"].asBool()) break;
  }
  CHECK(total == 100);
}

TEST_CASE("pages: unknown queries and out-of-order pages end with an error") {
  FakeWorker w(5);
  ConnectionPages pages;
  Json unknown = page(pages, w, 9, 1, 2);
  CHECK(unknown["error"].isString());
  CHECK_FALSE(unknown["more"].asBool());
  CHECK(page(pages, w, 9, 0, 2)["more"].asBool());
  Json skipped = page(pages, w, 9, 2, 2);
  CHECK(skipped["error"].isString());
  pages.cancel(9);
  CHECK(pages.open() == 0);
  for (std::int64_t q = 1; q <= 20; ++q) page(pages, w, q, 0, 1);
  CHECK(pages.open() == wman::daemon::kMaxOpenQueries);
}

namespace {

// ConnectionsQueries wired to recorders instead of sockets.
struct Harness {
  std::vector<std::pair<ConnectionId, Json>> to_worker;
  std::vector<Json> lines;
  bool ended = false;
  std::size_t backlog = 0;
  ConnectionsQueries queries{ConnectionsQueries::Hooks{
      [this](ConnectionId ch, const Json& m) { to_worker.emplace_back(ch, m); },
      [this](ConnectionId, const Json& line, bool last) {
        lines.push_back(line);
        ended = ended || last;
      },
      [this](ConnectionId) { return backlog; }, [](ConnectionId, std::size_t) {}}};
  static std::vector<ConnectionsTarget> targets() {
    return {ConnectionsTarget{101, "echo", 0, 1}, ConnectionsTarget{102, "echo", 1, 2}};
  }
  static Json answer(std::int64_t req, std::int64_t page, int rows, bool more) {
    Json list = Json::array();
    for (int i = 0; i < rows; ++i) list.push_back(Json::object().set("id", i + 1));
    return Json::object().set("req", req).set("page", page).set("list", list).set("more", more);
  }
};

}  // namespace

TEST_CASE("query: pages stream to the client, the summary ends it") {
  Harness h;
  CHECK(h.queries.begin(5, Json::object().set("page_size", 2), Harness::targets(), 0).empty());
  REQUIRE(h.to_worker.size() == 2);
  const std::int64_t req = h.to_worker[0].second["req"].asInt();
  CHECK(h.to_worker[0].second["page_size"].asInt() == 2);
  h.queries.onPage(101, Harness::answer(req, 0, 2, true), 1);
  REQUIRE(h.to_worker.size() == 3);  // page 1 asked of pid 101
  CHECK(h.to_worker[2].second["page"].asInt() == 1);
  h.queries.onPage(102, Harness::answer(req, 0, 1, false), 1);
  h.queries.onPage(101, Harness::answer(req, 1, 1, false), 1);
  REQUIRE(h.ended);
  REQUIRE(h.lines.size() == 4);
  CHECK(h.lines[0]["connections"].at(0)["pid"].asInt() == 101);
  CHECK(h.lines[0]["connections"].at(0)["worker"].asString() == "echo");
  const Json& summary = h.lines.back();
  CHECK(summary["done"].asBool());
  CHECK(summary["ok"].asBool());
  CHECK(summary["total"].asInt() == 4);
  CHECK(summary["answered"].asInt() == 2);
  CHECK(summary["missing"].size() == 0);
  CHECK(h.queries.size() == 0);
}

TEST_CASE("query: a worker silent past the deadline is named, and told to stop") {
  Harness h;
  CHECK(h.queries.begin(5, Json::object().set("timeout_ms", 100), Harness::targets(), 0).empty());
  const std::int64_t req = h.to_worker[0].second["req"].asInt();
  h.queries.onPage(101, Harness::answer(req, 0, 3, false), 10);
  h.queries.poll(99);
  CHECK_FALSE(h.ended);
  h.queries.poll(100);
  REQUIRE(h.ended);
  const Json& summary = h.lines.back();
  CHECK_FALSE(summary["ok"].asBool());
  CHECK(summary["timeout_ms"].asInt() == 100);
  REQUIRE(summary["missing"].size() == 1);
  CHECK(summary["missing"].at(0)["pid"].asInt() == 102);
  CHECK(summary["missing"].at(0)["reason"].asString() == "no answer within 100 ms");
  CHECK(h.to_worker.back().second["t"].asString() == "conns_end");
}

TEST_CASE("query: a slow client parks the next page; bad parameters are refused") {
  Harness h;
  h.queries.begin(5, Json::object(), {ConnectionsTarget{101, "echo", 0, 1}}, 0);
  const std::int64_t req = h.to_worker[0].second["req"].asInt();
  h.backlog = wman::daemon::kClientHighWater;
  h.queries.onPage(101, Harness::answer(req, 0, 1, true), 1);
  CHECK(h.to_worker.size() == 1);
  h.backlog = 0;
  h.queries.poll(2);
  CHECK(h.to_worker.size() == 2);
  h.queries.workerGone(101);
  CHECK(h.ended);
  CHECK(h.lines.back()["missing"].at(0)["reason"].asString() == "exited after 1 row(s)");

  Harness bad;
  CHECK_FALSE(bad.queries.begin(5, Json::object().set("page_size", 0), {}, 0).empty());
  CHECK_FALSE(bad.queries.begin(5, Json::object().set("timeout_ms", "1s"), {}, 0).empty());
  CHECK(bad.lines.empty());
  CHECK(bad.queries.begin(5, Json::object(), {}, 0).empty());
  CHECK(bad.lines.back()["total"].asInt() == 0);
}
