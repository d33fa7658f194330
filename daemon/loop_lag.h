// How late a periodic timer fires: the event-loop lag a process reports in its heartbeat.
// A callback that blocks the loop delays every timer behind it, so the lateness of a timer
// that should fire every `interval` is how long the loop was unable to run anything.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>

namespace wman::daemon {

class LoopLag {
 public:
  explicit LoopLag(std::chrono::milliseconds interval) : interval_(interval) {}

  // Call from the timer's callback. Returns how much later than `interval` after the
  // previous call this one came, in microseconds (0 on the first call, never negative).
  std::int64_t tick() {
    const auto now = std::chrono::steady_clock::now();
    std::int64_t lag = 0;
    if (last_ != std::chrono::steady_clock::time_point{}) {
      const auto late = now - last_ - interval_;
      lag = std::max<std::int64_t>(
          0, std::chrono::duration_cast<std::chrono::microseconds>(late).count());
    }
    last_ = now;
    return lag;
  }

 private:
  std::chrono::milliseconds interval_;
  std::chrono::steady_clock::time_point last_{};
};

}  // namespace wman::daemon
