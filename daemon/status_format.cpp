// Workerman-style tables for `wman status` / `wman connections`. Column widths come from the
// data so long worker names or listen URLs never break the alignment.
#include "status_format.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <string_view>
#include <vector>

namespace wman::daemon {
namespace {

constexpr std::string_view kMissing = "-";
constexpr std::size_t kColumnGap = 2;
constexpr std::size_t kMinBannerWidth = 60;

// Terminal columns taken by `s`, counted as UTF-8 code points. East Asian wide glyphs count
// as one, which misaligns them slightly; worker names are expected to be ASCII.
std::size_t displayWidth(std::string_view s) {
  return static_cast<std::size_t>(std::count_if(
      s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

// A newline or escape sequence inside a worker name would break the one-line-per-row layout
// or drive the operator's terminal, so control characters print as '?'.
std::string sanitize(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    const auto b = static_cast<unsigned char>(c);
    if (b < 0x20 || b == 0x7F) c = '?';
  }
  return out;
}

std::string fixed(double v, int decimals) {
  if (!std::isfinite(v)) return std::string(kMissing);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

// Generic cell text for a field of unknown shape: the producer may be a newer master.
std::string cell(const Json& v) {
  if (v.is_null()) return std::string(kMissing);
  if (v.is_boolean()) return asBool(v) ? "yes" : "no";
  if (isInt(v)) return std::to_string(asInt(v));
  if (v.is_number()) return fixed(asDouble(v), 1);
  if (v.is_string()) return asString(v).empty() ? std::string(kMissing) : sanitize(asString(v));
  return sanitize(dumpJson(v));
}

// Rates always carry one decimal so a column of qps values reads uniformly ("0.0", "12.5").
std::string rateCell(const Json& v) {
  return v.is_number() ? fixed(asDouble(v), 1) : cell(v);
}

std::string memoryCell(const Json& kb) {
  // Values that would overflow bytes (or are negative) are not a plausible RSS.
  if (!isInt(kb) || asInt(kb) < 0 || asInt(kb) > (INT64_MAX >> 10)) {
    return std::string(kMissing);
  }
  return formatBytes(static_cast<std::uint64_t>(asInt(kb)) << 10);
}

std::string utcTime(const Json& epoch) {
  if (!epoch.is_number()) return std::string(kMissing);
  // INT64_MIN for an out-of-range double makes gmtime_r fail instead of printing 1970.
  const auto t = static_cast<std::time_t>(asInt(epoch, INT64_MIN));
  std::tm tm{};
  if (gmtime_r(&t, &tm) == nullptr) return std::string(kMissing);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

std::string uptime(const Json& seconds) {
  return seconds.is_number() ? formatDuration(asInt(seconds)) : std::string(kMissing);
}

std::string reloadVerdict(const Json& status) {
  if (!status.is_object() || !status.contains("last_reload")) return std::string(kMissing);
  const Json* r = &member(status, "last_reload");
  if (r->is_null()) return "never";
  if (!r->is_object()) return cell(*r);
  const Json& ok = member(*r, "ok");
  std::string out = ok.is_boolean() ? (asBool(ok) ? "ok" : "FAILED") : std::string(kMissing);
  if (member(*r, "time").is_number()) out += " at " + utcTime(member(*r, "time"));
  if (!asString(member(*r, "message")).empty())
    out += " (" + sanitize(asString(member(*r, "message"))) + ")";
  return out;
}

std::string loadAverage(const Json& load) {
  std::string out;
  for (const Json& v : elements(load)) {
    if (!out.empty()) out += ", ";
    out += v.is_number() ? fixed(asDouble(v), 2) : std::string(kMissing);
  }
  return out;
}

// Left-aligned columns, each as wide as its widest cell, separated by kColumnGap spaces.
class Table {
 public:
  explicit Table(std::vector<std::string> headers) { rows_.push_back(std::move(headers)); }

  void addRow(std::vector<std::string> cells) {
    cells.resize(rows_.front().size());
    rows_.push_back(std::move(cells));
  }

  bool empty() const { return rows_.size() == 1; }

  std::vector<std::size_t> widths() const {
    std::vector<std::size_t> w(rows_.front().size(), 0);
    for (const auto& row : rows_) {
      for (std::size_t i = 0; i < row.size(); ++i) w[i] = std::max(w[i], displayWidth(row[i]));
    }
    return w;
  }

  std::size_t totalWidth() const {
    const std::vector<std::size_t> w = widths();
    std::size_t total = 0;
    for (std::size_t x : w) total += x;
    return total + kColumnGap * (w.empty() ? 0 : w.size() - 1);
  }

  void renderTo(std::string& out) const {
    const std::vector<std::size_t> w = widths();
    for (const auto& row : rows_) {
      std::string line;
      for (std::size_t i = 0; i < row.size(); ++i) {
        if (i > 0) line.append(kColumnGap, ' ');
        line += row[i];
        line.append(w[i] - displayWidth(row[i]), ' ');
      }
      // Padding only serves the columns that follow; trailing blanks are noise in logs.
      line.erase(line.find_last_not_of(' ') + 1);
      out += line;
      out += '\n';
    }
  }

 private:
  std::vector<std::vector<std::string>> rows_;
};

std::string banner(std::string_view title, std::size_t width) {
  width = std::max(width, kMinBannerWidth);
  const std::size_t dashes = width - title.size() - 2;
  return std::string(dashes / 2, '-') + " " + std::string(title) + " " +
         std::string(dashes - dashes / 2, '-') + "\n";
}

// Sums the integer (or, with `as_double`, numeric) values of one worker field; "-" when no
// worker reported it, so a total never pretends missing data was zero.
// Integer sums saturate: a corrupt document must not be undefined behaviour in the CLI.
struct Sum {
  bool seen = false;
  std::int64_t i = 0;
  double d = 0;
  void add(const Json& v) {
    if (!v.is_number()) return;
    seen = true;
    if (isInt(v) && __builtin_add_overflow(i, asInt(v), &i))
      i = asInt(v) < 0 ? INT64_MIN : INT64_MAX;
    d += asDouble(v);
  }
};

// The state column: "backoff until 12:00:03" for a slot waiting to respawn, "ready, paused"
// for a worker that stopped accepting (fds exhausted or over its memory budget).
std::string stateCell(const Json& w) {
  const std::string& state = asString(member(w, "state"));
  if (state == "backoff" && member(w, "respawn_at").is_number()) {
    const std::string at = utcTime(member(w, "respawn_at"));
    // "2026-12-05 12:00:03 UTC" -> "12:00:03": the date is today's in every real case.
    return "backoff until " + (at.size() > 19 ? at.substr(11, 8) : at);
  }
  if (member(w, "accepting").is_boolean() && !asBool(member(w, "accepting")))
    return cell(member(w, "state")) + ", paused";
  return cell(member(w, "state"));
}

// protocol_errors + callback_errors: one column keeps the table narrow; --json has both.
Json errorCount(const Json& w) {
  Sum s;
  s.add(member(w, "protocol_errors"));
  s.add(member(w, "callback_errors"));
  return s.seen ? Json(s.i) : Json();
}

Table workerTable(const Json& workers) {
  Table t({"pid", "name", "slot", "gen", "listen", "memory", "connections", "messages", "qps",
           "send_fail", "errors", "accept_fail", "timers", "restarts", "state"});
  Sum mem, conns, msgs, qps, fails, errors, accept_fail, timers, restarts;
  for (const Json& w : elements(workers)) {
    const Json errs = errorCount(w);
    t.addRow({cell(member(w, "pid")), cell(member(w, "name")), cell(member(w, "slot")),
              cell(member(w, "generation")), cell(member(w, "listen")),
              memoryCell(member(w, "memory_kb")), cell(member(w, "connections")),
              cell(member(w, "messages")), rateCell(member(w, "qps")), cell(member(w, "send_fail")),
              cell(errs), cell(member(w, "accept_failures")), cell(member(w, "timers")),
              cell(member(w, "restarts")), stateCell(w)});
    if (isInt(member(w, "memory_kb")) && asInt(member(w, "memory_kb")) >= 0)
      mem.add(member(w, "memory_kb"));
    conns.add(member(w, "connections"));
    msgs.add(member(w, "messages"));
    qps.add(member(w, "qps"));
    fails.add(member(w, "send_fail"));
    errors.add(errs);
    accept_fail.add(member(w, "accept_failures"));
    timers.add(member(w, "timers"));
    restarts.add(member(w, "restarts"));
  }
  if (!t.empty()) {
    auto count = [](const Sum& s) { return s.seen ? std::to_string(s.i) : std::string(kMissing); };
    t.addRow({"total", "", "", "", "", mem.seen ? memoryCell(Json(mem.i)) : std::string(kMissing),
              count(conns), count(msgs), qps.seen ? fixed(qps.d, 1) : std::string(kMissing),
              count(fails), count(errors), count(accept_fail), count(timers), count(restarts), ""});
  }
  return t;
}

// A udp:// worker's datagram counters; nothing for other workers or before a heartbeat.
std::string datagramNote(const Json& w) {
  if (!asString(member(w, "listen")).starts_with("udp://") || !isInt(member(w, "udp_in")))
    return {};
  return "datagrams in " + cell(member(w, "udp_in")) + ", out " + cell(member(w, "udp_out")) +
         ", dropped " + cell(member(w, "udp_dropped"));
}

// An http:// or https:// worker's responses by status class; nothing before a heartbeat.
std::string responseNote(const Json& w) {
  const std::string_view listen = asString(member(w, "listen"));
  if (!(listen.starts_with("http://") || listen.starts_with("https://")) ||
      !isInt(member(w, "http_2xx")))
    return {};
  std::string note = "responses";
  for (const char* code : {"1xx", "2xx", "3xx", "4xx", "5xx"}) {
    note += std::string(code[0] == '1' ? " " : ", ") + code + " " +
            cell(member(w, std::string("http_") + code));
  }
  return note;
}

// One line per worker or slot with something the table has no room for: how its last process
// ended, a paused listener, connections shed by the memory budget, suppressed log lines, a
// udp:// worker's datagram counters.
std::string workerNotes(const Json& workers) {
  std::string out;
  for (const Json& w : elements(workers)) {
    std::vector<std::string> notes;
    if (std::string udp = datagramNote(w); !udp.empty()) notes.push_back(std::move(udp));
    if (std::string http = responseNote(w); !http.empty()) notes.push_back(std::move(http));
    if (!asString(member(w, "last_exit")).empty()) {
      notes.push_back("last exit: " + sanitize(asString(member(w, "last_exit"))));
    }
    if (member(w, "accepting").is_boolean() && !asBool(member(w, "accepting"))) {
      notes.emplace_back("not accepting new connections");
    }
    if (isInt(member(w, "shed")) && asInt(member(w, "shed")) > 0) {
      notes.push_back(std::to_string(asInt(member(w, "shed"))) +
                      " connection(s) shed by the memory budget");
    }
    if (isInt(member(w, "bus_dropped")) && asInt(member(w, "bus_dropped")) > 0) {
      notes.push_back(std::to_string(asInt(member(w, "bus_dropped"))) +
                      " bus message(s) dropped while the bus was unreachable");
    }
    if (isInt(member(w, "log_suppressed")) && asInt(member(w, "log_suppressed")) > 0) {
      notes.push_back(std::to_string(asInt(member(w, "log_suppressed"))) +
                      " log line(s) suppressed");
    }
    if (notes.empty()) continue;
    std::string line = "worker " + cell(member(w, "name")) + " slot " + cell(member(w, "slot"));
    if (isInt(member(w, "pid"))) line += " (pid " + std::to_string(asInt(member(w, "pid"))) + ")";
    for (std::size_t i = 0; i < notes.size(); ++i) line += (i == 0 ? ": " : "; ") + notes[i];
    out += line + "\n";
  }
  return out;
}

// The bus process and its Redis link, two lines under their own banner.
std::string busSection(const Json& bus, std::size_t width) {
  if (!bus.is_object()) return {};
  std::string out = banner("BUS STATUS", width);
  if (!asBool(member(bus, "enabled"))) return out + "bus: off ([bus] enabled = false)\n";
  const Json& st = member(bus, "stats");
  out += "bus: " + cell(member(bus, "state")) + ", node " + cell(member(bus, "node"));
  if (isInt(member(bus, "pid")) && asInt(member(bus, "pid")) > 0)
    out += ", pid " + cell(member(bus, "pid"));
  out += ", restarts " + cell(member(bus, "restarts"));
  if (st.is_object()) {
    out += ", memory " + memoryCell(member(st, "memory_kb")) + ", links " +
           cell(member(st, "links")) + ", interests " + cell(member(st, "interests")) +
           ", routed " + cell(member(st, "routed")) + ", delivered " +
           cell(member(st, "delivered")) + ", dropped " + cell(member(st, "dropped")) +
           ", queries " + cell(member(st, "queries")) + ", queued " +
           formatBytes(
               static_cast<std::uint64_t>(std::max<std::int64_t>(asInt(member(st, "queued")), 0)));
  }
  if (member(bus, "last_exit").is_string()) out += ", last exit: " + cell(member(bus, "last_exit"));
  out += "\n";
  if (!st.is_object()) return out;
  out += "redis: " + cell(member(st, "redis"));
  if (asString(member(st, "redis")) != "off") {
    out += ", published " + cell(member(st, "redis_published")) + ", received " +
           cell(member(st, "redis_received")) + ", dropped " + cell(member(st, "redis_dropped")) +
           ", reconnects " + cell(member(st, "redis_reconnects")) + ", channels " +
           cell(member(st, "redis_channels"));
    if (!asString(member(st, "redis_error")).empty())
      out += ", last error: " + cell(member(st, "redis_error"));
  }
  return out + "\n";
}

}  // namespace

std::string formatBytes(std::uint64_t bytes) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  if (bytes < 1024) return std::to_string(bytes) + " B";
  double v = static_cast<double>(bytes);
  std::size_t unit = 0;
  // 1023.95 and up would print as "1024.0", so it moves to the next unit instead.
  while (v >= 1023.95 && unit + 1 < std::size(kUnits)) {
    v /= 1024;
    ++unit;
  }
  return fixed(v, 1) + " " + kUnits[unit];
}

std::string formatDuration(std::int64_t seconds) {
  seconds = std::max<std::int64_t>(seconds, 0);
  const std::int64_t days = seconds / 86400;
  char hms[32];
  std::snprintf(hms, sizeof hms, "%02d:%02d:%02d", static_cast<int>(seconds % 86400 / 3600),
                static_cast<int>(seconds % 3600 / 60), static_cast<int>(seconds % 60));
  if (days == 0) return hms;
  return std::to_string(days) + (days == 1 ? " day " : " days ") + hms;
}

std::string formatStatus(const Json& status) {
  std::vector<std::pair<std::string_view, std::string>> fields = {
      {"version", cell(member(status, "version"))},
      {"master pid", cell(member(status, "pid"))},
      {"config", cell(member(status, "config"))},
      {"start time", utcTime(member(status, "start_time"))},
      {"uptime", uptime(member(status, "uptime_s"))},
      {"workers", cell(member(status, "workers_total"))},
      {"generation", cell(member(status, "generation"))},
      {"last reload", reloadVerdict(status)},
  };
  // The load average is optional: a master without getloadavg() omits it.
  if (member(status, "load").is_array())
    fields.emplace_back("load average", loadAverage(member(status, "load")));
  // The operations endpoint, when [daemon] metrics turns it on.
  if (member(status, "metrics").is_string())
    fields.emplace_back("metrics", cell(member(status, "metrics")));
  std::size_t label_width = 0;
  for (const auto& [label, value] : fields) label_width = std::max(label_width, label.size());

  const Table table = workerTable(member(status, "workers"));
  const std::size_t width = table.totalWidth();
  std::string out = banner("GLOBAL STATUS", width);
  for (const auto& [label, value] : fields) {
    out += std::string(label) + ":" + std::string(label_width - label.size() + 1, ' ') + value;
    out += '\n';
  }
  out += banner("PROCESS STATUS", width);
  table.renderTo(out);
  if (table.empty()) out += "no worker processes\n";
  out += workerNotes(member(status, "workers"));
  out += busSection(member(status, "bus"), width);
  return out;
}

std::string formatConnections(const Json& doc) {
  Table t({"worker", "slot", "pid", "id", "protocol", "local", "remote", "bytes_in", "bytes_out",
           "send_queue", "state"});
  const Json& conns = elements(member(doc, "connections"));
  for (const Json& c : conns) {
    t.addRow({cell(member(c, "worker")), cell(member(c, "slot")), cell(member(c, "pid")),
              cell(member(c, "id")), cell(member(c, "protocol")), cell(member(c, "local")),
              cell(member(c, "remote")), cell(member(c, "bytes_in")), cell(member(c, "bytes_out")),
              cell(member(c, "send_queue")), cell(member(c, "state"))});
  }
  std::string out;
  t.renderTo(out);
  out += std::to_string(conns.size()) + (conns.size() == 1 ? " connection\n" : " connections\n");
  return out;
}

}  // namespace wman::daemon
