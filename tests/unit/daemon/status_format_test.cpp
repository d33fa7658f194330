#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "json_doc.h"
#include "status_format.h"

using wman::daemon::formatBytes;
using wman::daemon::formatConnections;
using wman::daemon::formatDuration;
using wman::daemon::formatStatus;
using wman::daemon::Json;
using wman::daemon::parseJson;

namespace {

using Cells = std::vector<std::string>;

const Cells kWorkerHeaders = {"pid",    "name",        "slot",     "gen",      "listen",
                              "memory", "connections", "messages", "qps",      "send_fail",
                              "errors", "accept_fail", "timers",   "restarts", "state"};
const Cells kConnHeaders = {"worker", "slot",     "pid",       "id",         "protocol", "local",
                            "remote", "bytes_in", "bytes_out", "send_queue", "state"};

Json parse(std::string_view text) {
  std::string error;
  auto v = parseJson(text, &error);
  INFO(error);
  REQUIRE(v.has_value());
  return *v;
}

// The schema the master produces, with one short-named and one long-named worker.
Json sampleStatus() {
  return parse(R"({"version":"0.1.0","pid":4242,"config":"/etc/wman/wman.toml",
    "start_time":1764086400,"uptime_s":3723,"generation":2,"workers_total":3,
    "last_reload":{"ok":true,"time":1764090000,"message":"generation 2 ready"},
    "load":[0.1,0.2,0.3],
    "workers":[
     {"pid":4243,"name":"echo","slot":0,"generation":2,"listen":"text://127.0.0.1:8081",
      "memory_kb":5120,"connections":12,"messages":3400,"qps":12.5,"send_fail":0,"timers":1,
      "restarts":0,"state":"ready"},
     {"pid":4244,"name":"a-much-longer-worker-name","slot":1,"generation":2,
      "listen":"websocket://0.0.0.0:8080","memory_kb":1258,"connections":3,"messages":1,
      "qps":0,"send_fail":2,"timers":0,"restarts":4,"state":"draining"}]})");
}

std::vector<std::string> splitLines(const std::string& text) {
  REQUIRE_FALSE(text.empty());
  REQUIRE(text.back() == '\n');
  std::vector<std::string> out;
  std::size_t from = 0;
  for (std::size_t nl; (nl = text.find('\n', from)) != std::string::npos; from = nl + 1) {
    out.push_back(text.substr(from, nl - from));
  }
  return out;
}

std::size_t indexOfLineStartingWith(const std::vector<std::string>& lines, std::string_view p) {
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].rfind(p, 0) == 0) return i;
  }
  FAIL("no line starts with " << p);
  return 0;
}

// Where each header starts on the header line, which must hold exactly these names in order.
std::vector<std::size_t> columnStarts(const std::string& header, const Cells& names) {
  std::vector<std::size_t> starts;
  std::size_t cursor = 0;
  for (const std::string& name : names) {
    const std::size_t at = header.find(name, cursor);
    REQUIRE(at != std::string::npos);
    starts.push_back(at);
    cursor = at + name.size();
  }
  REQUIRE(starts.front() == 0);
  REQUIRE(cursor == header.size());
  return starts;
}

// Slices `line` at the header's column starts. A cell that spilled into its neighbour, or a
// column that starts elsewhere on this row, shows up as a wrong slice or a missing gap.
Cells cellsAt(const std::string& line, const std::vector<std::size_t>& starts) {
  Cells cells;
  for (std::size_t i = 0; i < starts.size(); ++i) {
    if (i > 0 && starts[i] <= line.size()) {
      INFO("line: " << line << " column " << i);
      CHECK(line.substr(starts[i] - 2, 2) == "  ");
    }
    if (starts[i] >= line.size()) {
      cells.emplace_back();
      continue;
    }
    const std::size_t end = i + 1 < starts.size() ? starts[i + 1] : std::string::npos;
    std::string c = line.substr(starts[i], end == std::string::npos ? end : end - starts[i]);
    c.erase(c.find_last_not_of(' ') + 1);
    cells.push_back(c);
  }
  return cells;
}

std::string valueOf(const std::vector<std::string>& lines, std::string_view label) {
  const std::string& line = lines[indexOfLineStartingWith(lines, std::string(label) + ":")];
  const std::size_t v = line.find_first_not_of(' ', label.size() + 1);
  return v == std::string::npos ? std::string() : line.substr(v);
}

void checkNoTrailingBlanks(const std::vector<std::string>& lines) {
  for (const std::string& l : lines) {
    INFO("line: '" << l << "'");
    CHECK((l.empty() || l.back() != ' '));
  }
}

}  // namespace

TEST_CASE("status: formatBytes uses binary units with one decimal") {
  CHECK(formatBytes(0) == "0 B");
  CHECK(formatBytes(1023) == "1023 B");
  CHECK(formatBytes(1024) == "1.0 KiB");
  CHECK(formatBytes(1536) == "1.5 KiB");
  CHECK(formatBytes(1258291) == "1.2 MiB");
  CHECK(formatBytes(5ull << 30) == "5.0 GiB");
  // Just under the next unit must not print as "1024.0 KiB".
  CHECK(formatBytes((1ull << 20) - 1) == "1.0 MiB");
  CHECK(formatBytes(UINT64_MAX) == "16.0 EiB");
}

TEST_CASE("status: formatDuration prints days then hh:mm:ss") {
  CHECK(formatDuration(0) == "00:00:00");
  CHECK(formatDuration(59) == "00:00:59");
  CHECK(formatDuration(3723) == "01:02:03");
  CHECK(formatDuration(86399) == "23:59:59");
  CHECK(formatDuration(86400) == "1 day 00:00:00");
  CHECK(formatDuration(2 * 86400 + 3 * 3600 + 4 * 60 + 5) == "2 days 03:04:05");
  CHECK(formatDuration(400 * 86400 + 1) == "400 days 00:00:01");
  CHECK(formatDuration(-5) == "00:00:00");
}

TEST_CASE("status: the global block shows humanized master fields") {
  const std::string out = formatStatus(sampleStatus());
  const auto lines = splitLines(out);
  CHECK(lines.front().find("---- GLOBAL STATUS ----") != std::string::npos);
  CHECK(lines.front().find_first_not_of('-') > 0);
  CHECK(valueOf(lines, "version") == "0.1.0");
  CHECK(valueOf(lines, "master pid") == "4242");
  CHECK(valueOf(lines, "config") == "/etc/wman/wman.toml");
  CHECK(valueOf(lines, "start time") == "2025-11-25 16:00:00 UTC");
  CHECK(valueOf(lines, "uptime") == "01:02:03");
  CHECK(valueOf(lines, "workers") == "3");
  CHECK(valueOf(lines, "generation") == "2");
  CHECK(valueOf(lines, "last reload") == "ok at 2025-11-25 17:00:00 UTC (generation 2 ready)");
  CHECK(valueOf(lines, "load average") == "0.10, 0.20, 0.30");
  // The values of the block start in one column.
  const std::size_t col = lines[indexOfLineStartingWith(lines, "version:")].find("0.1.0");
  CHECK(lines[indexOfLineStartingWith(lines, "load average:")].find("0.10") == col);
  checkNoTrailingBlanks(lines);
}

TEST_CASE("status: every worker row starts its columns where the header does") {
  const auto lines = splitLines(formatStatus(sampleStatus()));
  const std::size_t h = indexOfLineStartingWith(lines, "pid ");
  CHECK(lines[h - 1].find(" PROCESS STATUS ") != std::string::npos);
  const auto starts = columnStarts(lines[h], kWorkerHeaders);
  REQUIRE(lines.size() == h + 4);
  CHECK(cellsAt(lines[h + 1], starts) == Cells{"4243", "echo", "0", "2", "text://127.0.0.1:8081",
                                               "5.0 MiB", "12", "3400", "12.5", "0", "-", "-", "1",
                                               "0", "ready"});
  CHECK(cellsAt(lines[h + 2], starts) == Cells{"4244", "a-much-longer-worker-name", "1", "2",
                                               "websocket://0.0.0.0:8080", "1.2 MiB", "3", "1",
                                               "0.0", "2", "-", "-", "0", "4", "draining"});
  CHECK(cellsAt(lines[h + 3], starts) == Cells{"total", "", "", "", "", "6.2 MiB", "15", "3401",
                                               "12.5", "2", "-", "-", "1", "4", ""});
  checkNoTrailingBlanks(lines);
}

TEST_CASE("status: column widths follow the data") {
  Json status = sampleStatus();
  const auto wide = splitLines(formatStatus(status));
  const auto wide_starts =
      columnStarts(wide[indexOfLineStartingWith(wide, "pid ")], kWorkerHeaders);

  Json narrow = Json::object({{"workers", Json::array({status["workers"].at(0)})}});
  const auto lines = splitLines(formatStatus(narrow));
  const auto starts = columnStarts(lines[indexOfLineStartingWith(lines, "pid ")], kWorkerHeaders);
  // Dropping the 25-character name pulls "slot" left, right after "echo" plus the gap.
  CHECK(starts[2] == starts[1] + 4 + 2);
  CHECK(wide_starts[2] == wide_starts[1] + 25 + 2);
  // The banners grow with the table so they still frame it.
  auto tableWidth = [](const std::vector<std::string>& out) {
    std::size_t w = 0;
    for (std::size_t i = indexOfLineStartingWith(out, "pid "); i < out.size(); ++i) {
      w = std::max(w, out[i].size());
    }
    return w;
  };
  CHECK(tableWidth(wide) > 60);
  CHECK(wide.front().size() == tableWidth(wide));
  CHECK(lines.front().size() == std::max<std::size_t>(60, tableWidth(lines)));
  CHECK(lines.front().size() < wide.front().size());
}

TEST_CASE("status: the operations endpoint's address shows when it is on") {
  Json status = sampleStatus();
  for (const std::string& l : splitLines(formatStatus(status))) CHECK(l.rfind("metrics", 0) != 0);
  status["metrics"] = "127.0.0.1:9100";
  CHECK(valueOf(splitLines(formatStatus(status)), "metrics") == "127.0.0.1:9100");
}

TEST_CASE("status: missing and mistyped fields render as a dash") {
  const Json status = parse(R"({"pid":4242,"uptime_s":"soon","last_reload":null,
    "workers":[{"pid":4250,"name":"bare"},{"pid":4251,"memory_kb":-1,"qps":"fast","slot":true}]})");
  const auto lines = splitLines(formatStatus(status));
  CHECK(valueOf(lines, "version") == "-");
  CHECK(valueOf(lines, "master pid") == "4242");
  CHECK(valueOf(lines, "start time") == "-");
  CHECK(valueOf(lines, "uptime") == "-");
  CHECK(valueOf(lines, "last reload") == "never");
  // No "load" key: the line is left out rather than printed empty.
  for (const std::string& l : lines) CHECK(l.rfind("load average", 0) == std::string::npos);

  const std::size_t h = indexOfLineStartingWith(lines, "pid ");
  const auto starts = columnStarts(lines[h], kWorkerHeaders);
  CHECK(cellsAt(lines[h + 1], starts) ==
        Cells{"4250", "bare", "-", "-", "-", "-", "-", "-", "-", "-", "-", "-", "-", "-", "-"});
  CHECK(cellsAt(lines[h + 2], starts) ==
        Cells{"4251", "-", "yes", "-", "-", "-", "-", "-", "fast", "-", "-", "-", "-", "-", "-"});
  // Nothing was reported, so the totals are unknown, not zero.
  CHECK(cellsAt(lines[h + 3], starts) ==
        Cells{"total", "", "", "", "", "-", "-", "-", "-", "-", "-", "-", "-", "-", ""});
}

TEST_CASE("status: the memory total ignores values it cannot show") {
  const Json status = parse(R"({"workers":[{"pid":1,"memory_kb":1024},{"pid":2,"memory_kb":-1},
    {"pid":3,"memory_kb":"lots"},{"pid":4,"memory_kb":2.5}]})");
  const auto lines = splitLines(formatStatus(status));
  const std::size_t h = indexOfLineStartingWith(lines, "pid ");
  const auto starts = columnStarts(lines[h], kWorkerHeaders);
  CHECK(cellsAt(lines[h + 1], starts)[5] == "1.0 MiB");
  CHECK(cellsAt(lines[h + 2], starts)[5] == "-");
  CHECK(cellsAt(lines[h + 3], starts)[5] == "-");
  CHECK(cellsAt(lines[h + 4], starts)[5] == "-");
  CHECK(cellsAt(lines[h + 5], starts)[5] == "1.0 MiB");
}

TEST_CASE("status: a failed reload and a missing verdict read plainly") {
  Json failed = sampleStatus();
  failed["last_reload"] = parse(R"({"ok":false,"time":1764090000,"message":"bad port"})");
  CHECK(valueOf(splitLines(formatStatus(failed)), "last reload") ==
        "FAILED at 2025-11-25 17:00:00 UTC (bad port)");
  Json untimed = sampleStatus();
  untimed["last_reload"] = parse(R"({"ok":true})");
  CHECK(valueOf(splitLines(formatStatus(untimed)), "last reload") == "ok");
  CHECK(valueOf(splitLines(formatStatus(Json::object())), "last reload") == "-");
}

TEST_CASE("status: an empty worker list prints the header and says so") {
  Json status = sampleStatus();
  status["workers"] = Json::array();
  const auto lines = splitLines(formatStatus(status));
  const std::size_t h = indexOfLineStartingWith(lines, "pid ");
  columnStarts(lines[h], kWorkerHeaders);
  REQUIRE(lines.size() == h + 2);
  CHECK(lines[h + 1] == "no worker processes");

  // Not even an object: every field is unknown, and nothing crashes.
  const auto bare = splitLines(formatStatus(Json(42)));
  CHECK(valueOf(bare, "version") == "-");
  CHECK(bare.back() == "no worker processes");
}

TEST_CASE("status: control characters in names cannot break the layout") {
  Json status = sampleStatus();
  status["workers"] =
      Json::array({Json::object({{"pid", 1}, {"name", "evil\nname\x1b[2J"}, {"state", "ready"}})});
  status["config"] = "/tmp/a\r\nb.toml";
  const auto lines = splitLines(formatStatus(status));
  const std::size_t h = indexOfLineStartingWith(lines, "pid ");
  REQUIRE(lines.size() == h + 3);
  CHECK(cellsAt(lines[h + 1], columnStarts(lines[h], kWorkerHeaders))[1] == "evil?name?[2J");
  CHECK(valueOf(lines, "config") == "/tmp/a??b.toml");
}

TEST_CASE("status: UTF-8 names are measured in characters, not bytes") {
  // Ten bytes but five characters: byte-based widths would push the next column five cells right.
  Json workers = Json::array(
      {Json::object(
           {{"pid", 1}, {"name", "\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9"}, {"slot", 7}}),
       Json::object({{"pid", 2}, {"name", "abcde"}, {"slot", 8}})});
  const auto lines = splitLines(formatStatus(Json::object({{"workers", workers}})));
  const std::size_t h = indexOfLineStartingWith(lines, "pid ");
  auto column = [](const std::string& line, std::size_t byte) {
    std::size_t col = 0;
    for (std::size_t i = 0; i < byte; ++i)
      col += (static_cast<unsigned char>(line[i]) & 0xC0) != 0x80;
    return col;
  };
  const std::size_t slot = column(lines[h], lines[h].find("slot"));
  CHECK(slot == column(lines[h + 1], lines[h + 1].find("  7") + 2));
  CHECK(slot == column(lines[h + 2], lines[h + 2].find("  8") + 2));
}

TEST_CASE("connections: one aligned row per connection and a count") {
  const Json doc = parse(R"({"connections":[
    {"worker":"echo","slot":0,"pid":4243,"id":7,"protocol":"text","local":"127.0.0.1:8081",
     "remote":"127.0.0.1:50312","bytes_in":120,"bytes_out":120,"send_queue":0,
     "state":"established"},
    {"worker":"chat-websocket","slot":11,"pid":4300,"id":123456,"protocol":"websocket",
     "local":"[::1]:8080","remote":"[::1]:61000","bytes_in":1048576,"bytes_out":5,
     "send_queue":65536,"state":"closing"}]})");
  const auto lines = splitLines(formatConnections(doc));
  REQUIRE(lines.size() == 4);
  const auto starts = columnStarts(lines[0], kConnHeaders);
  CHECK(cellsAt(lines[1], starts) == Cells{"echo", "0", "4243", "7", "text", "127.0.0.1:8081",
                                           "127.0.0.1:50312", "120", "120", "0", "established"});
  CHECK(cellsAt(lines[2], starts) == Cells{"chat-websocket", "11", "4300", "123456", "websocket",
                                           "[::1]:8080", "[::1]:61000", "1048576", "5", "65536",
                                           "closing"});
  CHECK(lines[3] == "2 connections");
  checkNoTrailingBlanks(lines);
}

TEST_CASE("connections: singular, empty and partial documents") {
  const auto one = splitLines(formatConnections(parse(R"({"connections":[{"id":1}]})")));
  REQUIRE(one.size() == 3);
  CHECK(cellsAt(one[1], columnStarts(one[0], kConnHeaders)) ==
        Cells{"-", "-", "-", "1", "-", "-", "-", "-", "-", "-", "-"});
  CHECK(one[2] == "1 connection");

  const auto none = splitLines(formatConnections(parse(R"({"connections":[]})")));
  REQUIRE(none.size() == 2);
  columnStarts(none[0], kConnHeaders);
  CHECK(none[1] == "0 connections");

  CHECK(splitLines(formatConnections(Json())).back() == "0 connections");
}

TEST_CASE("status: a slot without a process shows its back-off, restarts and last exit") {
  Json status = sampleStatus();
  // 1764090003 is 2025-11-25 17:00:03 UTC.
  status["workers"] = parse(R"([
     {"pid":4243,"name":"echo","slot":0,"generation":2,"restarts":0,"state":"ready"},
     {"pid":null,"name":"echo","slot":1,"generation":2,"restarts":3,"state":"backoff",
      "respawn_in_ms":2000,"respawn_at":1764090003,
      "last_exit":"cannot start a process: socketpair: Too many open files"}])");
  const auto lines = splitLines(formatStatus(status));
  const std::size_t h = indexOfLineStartingWith(lines, "pid ");
  const auto starts = columnStarts(lines[h], kWorkerHeaders);
  const Cells row = cellsAt(lines[h + 2], starts);
  CHECK(row[0] == "-");
  CHECK(row[13] == "3");
  CHECK(row[14] == "backoff until 17:00:03");
  // The reason is too long for the table: it follows it, one line per slot.
  CHECK(lines[h + 4] ==
        "worker echo slot 1: last exit: cannot start a process: socketpair: Too many open files");
  REQUIRE(lines.size() == h + 5);
  for (const std::string& l : lines) CHECK(l != "no worker processes");
}

TEST_CASE("status: the heartbeat's error counters and a paused listener are shown") {
  Json status = sampleStatus();
  status["workers"] = parse(R"([
     {"pid":10,"name":"a","slot":0,"state":"ready","protocol_errors":5,"callback_errors":2,
      "accept_failures":7,"log_suppressed":120,"shed":3,"accepting":false,"bus_dropped":2},
     {"pid":11,"name":"a","slot":1,"state":"ready","protocol_errors":1,"callback_errors":0,
      "accept_failures":0,"log_suppressed":0,"shed":0,"accepting":true}])");
  const auto lines = splitLines(formatStatus(status));
  const std::size_t h = indexOfLineStartingWith(lines, "pid ");
  const auto starts = columnStarts(lines[h], kWorkerHeaders);
  const Cells paused = cellsAt(lines[h + 1], starts);
  CHECK(paused[10] == "7");
  CHECK(paused[11] == "7");
  CHECK(paused[14] == "ready, paused");
  const Cells fine = cellsAt(lines[h + 2], starts);
  CHECK(fine[10] == "1");
  CHECK(fine[11] == "0");
  CHECK(fine[14] == "ready");
  const Cells total = cellsAt(lines[h + 3], starts);
  CHECK(total[10] == "8");
  CHECK(total[11] == "7");
  REQUIRE(lines.size() == h + 5);
  CHECK(lines[h + 4] ==
        "worker a slot 0 (pid 10): not accepting new connections; 3 connection(s) shed by the "
        "memory budget; 2 bus message(s) dropped while the bus was unreachable; 120 log line(s) "
        "suppressed");
  checkNoTrailingBlanks(lines);
}

TEST_CASE("status: a udp:// worker's datagram counters get a note line") {
  Json status = sampleStatus();
  status["workers"] = parse(R"([
     {"pid":10,"name":"u","slot":0,"listen":"udp://0.0.0.0:9292","state":"ready",
      "udp_in":100,"udp_out":98,"udp_dropped":2},
     {"pid":11,"name":"t","slot":0,"listen":"text://0.0.0.0:9292","state":"ready",
      "udp_in":0,"udp_out":0,"udp_dropped":0},
     {"pid":null,"name":"u","slot":1,"listen":"udp://0.0.0.0:9292","state":"down"}])");
  const auto lines = splitLines(formatStatus(status));
  const std::size_t h = indexOfLineStartingWith(lines, "pid ");
  REQUIRE(lines.size() == h + 6);
  // Only the udp:// worker that sent a heartbeat: the TCP worker and the empty slot have none.
  CHECK(lines[h + 5] == "worker u slot 0 (pid 10): datagrams in 100, out 98, dropped 2");
  checkNoTrailingBlanks(lines);
}

TEST_CASE("status: the bus and its Redis link get their own section") {
  Json st = sampleStatus();
  st["bus"] = parse(R"({"enabled":true,"node":"web-1","pid":77,"state":"up","restarts":2,
    "last_exit":"killed by signal 9","stats":{"node":"web-1","memory_kb":2048,"links":4,
    "interests":3,"routed":10,"delivered":30,"dropped":1,"queries":2,"queued":2048,"redis":"down",
    "redis_published":5,"redis_received":6,"redis_dropped":7,"redis_reconnects":8,
    "redis_channels":9,"redis_error":"connection refused"}})");
  const std::string out = formatStatus(st);
  CHECK(out.find("BUS STATUS") != std::string::npos);
  CHECK(out.find("bus: up, node web-1, pid 77, restarts 2, memory 2.0 MiB, links 4, interests 3, "
                 "routed 10, delivered 30, dropped 1, queries 2, queued 2.0 KiB, last exit: killed "
                 "by signal "
                 "9\n") != std::string::npos);
  CHECK(out.find("redis: down, published 5, received 6, dropped 7, reconnects 8, channels 9, "
                 "last error: connection refused\n") != std::string::npos);
  st["bus"] = parse(R"({"enabled":false})");
  CHECK(formatStatus(st).find("bus: off") != std::string::npos);
}
