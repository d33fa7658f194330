// The process-wide logger. Every line carries the pid (spdlog's %P), so lines of different
// worker processes in one log stay apart; connection lines add "conn=<id>".
#pragma once

#include <spdlog/spdlog.h>

namespace wman::detail {

// The logger every wman component writes to ("wman"); stderr until configureLogging().
spdlog::logger& log();

}  // namespace wman::detail
