#include "liveness.h"

#include <algorithm>
#include <chrono>

namespace wman::daemon {

std::uint64_t monotonicMs() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::steady_clock::now().time_since_epoch())
                                        .count());
}

std::uint64_t MasterStallGuard::tick(std::uint64_t now, std::uint64_t timeout_ms) {
  const std::uint64_t previous = last_tick_;
  last_tick_ = now;
  if (previous == 0 || now <= previous) return 0;
  const std::uint64_t gap = now - previous;
  // A tick is due every tick_ms_; one more period of lateness is ordinary scheduling noise.
  if (gap <= 2 * tick_ms_) return 0;
  const std::uint64_t stalled = gap - tick_ms_;
  const std::uint64_t grace = std::max(kStallGraceMinMs, std::min(stalled, timeout_ms));
  grace_until_ = std::max(grace_until_, now + grace);
  return stalled;
}

Liveness judgeWorker(std::uint64_t last_heard, std::uint64_t now, std::uint64_t timeout_ms,
                     std::uint64_t grace_until) {
  if (timeout_ms == 0 || now <= last_heard) return Liveness::Alive;
  const std::uint64_t silent = now - last_heard;
  if (silent <= timeout_ms) return Liveness::Alive;
  // The master could not hear it lately: the benefit of the doubt, but bounded.
  if (now < grace_until && silent <= 2 * timeout_ms) return Liveness::Alive;
  return Liveness::Hung;
}

}  // namespace wman::daemon
