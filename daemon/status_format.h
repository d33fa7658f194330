// Text rendering of the master's control-socket documents for `wman status` and
// `wman connections`, in the style of Workerman's `php start.php status`.
#pragma once

#include <cstdint>
#include <string>

#include "json_doc.h"

namespace wman::daemon {

// Renders the master's status document (version, pid, config, start_time, uptime_s, generation,
// workers_total, last_reload, load, workers[]) as a GLOBAL STATUS block
// and a PROCESS STATUS table with one row per worker process or idle slot plus a total row,
// then one note line per worker with a last exit, a paused listener, shed connections,
// suppressed log lines or (udp:// workers) datagram counters. Missing or mistyped fields print as
// "-"; times are UTC; every line ends with '\n' and has no trailing spaces.
std::string formatStatus(const Json& status);

// Renders {"connections":[...]} as one table row per connection, then a line
// "N connections". Missing fields print as "-".
std::string formatConnections(const Json& doc);

// Binary units with one decimal above bytes: "0 B", "1023 B", "1.0 KiB", "1.2 MiB".
std::string formatBytes(std::uint64_t bytes);

// "03:04:05" below one day, then "1 day 00:00:00", "2 days 03:04:05". Negative input
// (clock skew between master and CLI) prints as "00:00:00".
std::string formatDuration(std::int64_t seconds);

}  // namespace wman::daemon
