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
  switch (v.type()) {
    case Json::Type::Null:
      return std::string(kMissing);
    case Json::Type::Bool:
      return v.asBool() ? "yes" : "no";
    case Json::Type::Int:
      return std::to_string(v.asInt());
    case Json::Type::Double:
      return fixed(v.asDouble(), 1);
    case Json::Type::String:
      return v.asString().empty() ? std::string(kMissing) : sanitize(v.asString());
    default:
      return sanitize(v.dump());
  }
}

// Rates always carry one decimal so a column of qps values reads uniformly ("0.0", "12.5").
std::string rateCell(const Json& v) {
  return v.isNumber() ? fixed(v.asDouble(), 1) : cell(v);
}

std::string memoryCell(const Json& kb) {
  // Values that would overflow bytes (or are negative) are not a plausible RSS.
  if (!kb.isInt() || kb.asInt() < 0 || kb.asInt() > (INT64_MAX >> 10)) {
    return std::string(kMissing);
  }
  return formatBytes(static_cast<std::uint64_t>(kb.asInt()) << 10);
}

std::string utcTime(const Json& epoch) {
  if (!epoch.isNumber()) return std::string(kMissing);
  // INT64_MIN for an out-of-range double makes gmtime_r fail instead of printing 1970.
  const auto t = static_cast<std::time_t>(epoch.asInt(INT64_MIN));
  std::tm tm{};
  if (gmtime_r(&t, &tm) == nullptr) return std::string(kMissing);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

std::string uptime(const Json& seconds) {
  return seconds.isNumber() ? formatDuration(seconds.asInt()) : std::string(kMissing);
}

std::string reloadVerdict(const Json& status) {
  const Json* r = status.find("last_reload");
  if (r == nullptr) return std::string(kMissing);
  if (r->isNull()) return "never";
  if (!r->isObject()) return cell(*r);
  const Json& ok = (*r)["ok"];
  std::string out = ok.isBool() ? (ok.asBool() ? "ok" : "FAILED") : std::string(kMissing);
  if ((*r)["time"].isNumber()) out += " at " + utcTime((*r)["time"]);
  if (!(*r)["message"].asString().empty()) out += " (" + sanitize((*r)["message"].asString()) + ")";
  return out;
}

std::string loadAverage(const Json& load) {
  std::string out;
  for (const Json& v : load.items()) {
    if (!out.empty()) out += ", ";
    out += v.isNumber() ? fixed(v.asDouble(), 2) : std::string(kMissing);
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
    if (!v.isNumber()) return;
    seen = true;
    if (v.isInt() && __builtin_add_overflow(i, v.asInt(), &i))
      i = v.asInt() < 0 ? INT64_MIN : INT64_MAX;
    d += v.asDouble();
  }
};

// The state column: "backoff until 12:00:03" for a slot waiting to respawn, "ready, paused"
// for a worker that stopped accepting (fds exhausted or over its memory budget).
std::string stateCell(const Json& w) {
  const std::string& state = w["state"].asString();
  if (state == "backoff" && w["respawn_at"].isNumber()) {
    const std::string at = utcTime(w["respawn_at"]);
    // "2026-12-05 12:00:03 UTC" -> "12:00:03": the date is today's in every real case.
    return "backoff until " + (at.size() > 19 ? at.substr(11, 8) : at);
  }
  if (w["accepting"].isBool() && !w["accepting"].asBool()) return cell(w["state"]) + ", paused";
  return cell(w["state"]);
}

// protocol_errors + callback_errors: one column keeps the table narrow; --json has both.
Json errorCount(const Json& w) {
  Sum s;
  s.add(w["protocol_errors"]);
  s.add(w["callback_errors"]);
  return s.seen ? Json(s.i) : Json();
}

Table workerTable(const Json& workers) {
  Table t({"pid", "name", "slot", "gen", "listen", "memory", "connections", "messages", "qps",
           "send_fail", "errors", "accept_fail", "timers", "restarts", "state"});
  Sum mem, conns, msgs, qps, fails, errors, accept_fail, timers, restarts;
  for (const Json& w : workers.items()) {
    const Json errs = errorCount(w);
    t.addRow({cell(w["pid"]), cell(w["name"]), cell(w["slot"]), cell(w["generation"]),
              cell(w["listen"]), memoryCell(w["memory_kb"]), cell(w["connections"]),
              cell(w["messages"]), rateCell(w["qps"]), cell(w["send_fail"]), cell(errs),
              cell(w["accept_failures"]), cell(w["timers"]), cell(w["restarts"]), stateCell(w)});
    if (w["memory_kb"].isInt() && w["memory_kb"].asInt() >= 0) mem.add(w["memory_kb"]);
    conns.add(w["connections"]);
    msgs.add(w["messages"]);
    qps.add(w["qps"]);
    fails.add(w["send_fail"]);
    errors.add(errs);
    accept_fail.add(w["accept_failures"]);
    timers.add(w["timers"]);
    restarts.add(w["restarts"]);
  }
  if (!t.empty()) {
    auto count = [](const Sum& s) { return s.seen ? std::to_string(s.i) : std::string(kMissing); };
    t.addRow({"total", "", "", "", "", mem.seen ? memoryCell(Json(mem.i)) : std::string(kMissing),
              count(conns), count(msgs), qps.seen ? fixed(qps.d, 1) : std::string(kMissing),
              count(fails), count(errors), count(accept_fail), count(timers), count(restarts), ""});
  }
  return t;
}

// One line per worker or slot with something the table has no room for: how its last process
// ended, a paused listener, connections shed by the memory budget, suppressed log lines.
std::string workerNotes(const Json& workers) {
  std::string out;
  for (const Json& w : workers.items()) {
    std::vector<std::string> notes;
    if (!w["last_exit"].asString().empty()) {
      notes.push_back("last exit: " + sanitize(w["last_exit"].asString()));
    }
    if (w["accepting"].isBool() && !w["accepting"].asBool()) {
      notes.emplace_back("not accepting new connections");
    }
    if (w["shed"].isInt() && w["shed"].asInt() > 0) {
      notes.push_back(std::to_string(w["shed"].asInt()) +
                      " connection(s) shed by the memory budget");
    }
    if (w["log_suppressed"].isInt() && w["log_suppressed"].asInt() > 0) {
      notes.push_back(std::to_string(w["log_suppressed"].asInt()) + " log line(s) suppressed");
    }
    if (notes.empty()) continue;
    std::string line = "worker " + cell(w["name"]) + " slot " + cell(w["slot"]);
    if (w["pid"].isInt()) line += " (pid " + std::to_string(w["pid"].asInt()) + ")";
    for (std::size_t i = 0; i < notes.size(); ++i) line += (i == 0 ? ": " : "; ") + notes[i];
    out += line + "\n";
  }
  return out;
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
      {"version", cell(status["version"])},       {"master pid", cell(status["pid"])},
      {"config", cell(status["config"])},         {"start time", utcTime(status["start_time"])},
      {"uptime", uptime(status["uptime_s"])},     {"workers", cell(status["workers_total"])},
      {"generation", cell(status["generation"])}, {"last reload", reloadVerdict(status)},
  };
  // The load average is optional: a master without getloadavg() omits it.
  if (status["load"].isArray()) fields.emplace_back("load average", loadAverage(status["load"]));
  std::size_t label_width = 0;
  for (const auto& [label, value] : fields) label_width = std::max(label_width, label.size());

  const Table table = workerTable(status["workers"]);
  const std::size_t width = table.totalWidth();
  std::string out = banner("GLOBAL STATUS", width);
  for (const auto& [label, value] : fields) {
    out += std::string(label) + ":" + std::string(label_width - label.size() + 1, ' ') + value;
    out += '\n';
  }
  out += banner("PROCESS STATUS", width);
  table.renderTo(out);
  if (table.empty()) out += "no worker processes\n";
  out += workerNotes(status["workers"]);
  return out;
}

std::string formatConnections(const Json& doc) {
  Table t({"worker", "slot", "pid", "id", "protocol", "local", "remote", "bytes_in", "bytes_out",
           "send_queue", "state"});
  const Json::Array& conns = doc["connections"].items();
  for (const Json& c : conns) {
    t.addRow({cell(c["worker"]), cell(c["slot"]), cell(c["pid"]), cell(c["id"]),
              cell(c["protocol"]), cell(c["local"]), cell(c["remote"]), cell(c["bytes_in"]),
              cell(c["bytes_out"]), cell(c["send_queue"]), cell(c["state"])});
  }
  std::string out;
  t.renderTo(out);
  out += std::to_string(conns.size()) + (conns.size() == 1 ? " connection\n" : " connections\n");
  return out;
}

}  // namespace wman::daemon
