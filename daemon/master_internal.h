// Constants and small helpers shared by the master's source files (master*.cpp).
#pragma once

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdint>

#include "wman/logging.h"
#include "wman/timer.h"

namespace wman::daemon::detail {

inline constexpr std::uint64_t kTickMs = 200;
inline constexpr std::uint64_t kCrashBackoffCapMs = 15000;
inline constexpr std::uint64_t kHealthyResetMs = 30000;
inline constexpr std::uint64_t kAbortGraceMs = 5000;
// EXTEND_TIMEOUT_USEC is re-sent this often, asking for what is left of our own deadline
// plus this margin.
inline constexpr std::uint64_t kExtendEveryMs = 1000;
inline constexpr std::uint64_t kExtendMarginMs = 5000;
// A reload is answered when the old generation closed its listeners, or after this long.
inline constexpr std::uint64_t kRetireAnswerMs = 2000;
// Clients waiting for a stop get a progress line this often.
inline constexpr std::uint64_t kStopReportEveryMs = 1000;

inline spdlog::logger& log() {
  return wman::logger();
}

// 0 for the first crash (respawn at once), then 1 s, 2 s, 4 s... capped at 15 s.
inline std::uint64_t backoffMs(int crashes) {
  if (crashes <= 1) return 0;
  std::uint64_t d = 1000ull << std::min(crashes - 2, 10);
  return std::min(d, kCrashBackoffCapMs);
}

inline std::int64_t ms(Duration d) {
  return static_cast<std::int64_t>(d.count());
}

}  // namespace wman::daemon::detail
