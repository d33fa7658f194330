// Where wman writes its log. Lines look like
// "2026-11-25 10:00:00.123 [info] [pid 4242] conn=7 closed: line exceeds max_package_size".
#pragma once

#include <string>

namespace spdlog {
class logger;
}

namespace wman {

// The logger wman writes to, for the daemon and for applications that want their lines in
// the same log with the same prefix (include <spdlog/spdlog.h> to use it).
spdlog::logger& logger();

// Sends the log to `target` ("stderr" or a file path, appended to) at `level` (trace, debug,
// info, warn, error, critical, off). Returns false and sets `error` if the file cannot be
// opened or the level is unknown; the previous setup then stays in force.
bool configureLogging(const std::string& target, const std::string& level,
                      std::string* error = nullptr);

// Reopens the log file (after logrotate moved it). No-op when logging to stderr.
void reopenLogs();

}  // namespace wman
