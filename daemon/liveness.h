// How the master decides that a worker is hung, as pure functions of times in milliseconds
// (one monotonic clock, read fresh), so the decision is testable without processes.
//
// A worker is hung when the master has heard nothing from it (any message counts, not only
// heartbeats) for longer than heartbeat_timeout, and the master itself was in a position to
// hear: its own loop blocked, it reads the channels late, and the silence may be its own.
// So after a stall of the master's loop (a supervision tick more than one tick late), no
// worker is judged for a grace period; a worker silent for twice heartbeat_timeout is hung
// whatever the master's state, so a master that keeps stalling still kills a stopped worker.
#pragma once

#include <cstdint>

namespace wman::daemon {

// Milliseconds of the monotonic clock, read now (not a loop's cached time).
std::uint64_t monotonicMs();

// The shortest grace after a stall of the master: two heartbeat periods, so a worker starved
// along with the master gets a heartbeat through. Longer stalls get as long again, up to one
// heartbeat_timeout.
inline constexpr std::uint64_t kStallGraceMinMs = 2000;

// The master's own timeliness, from its periodic supervision tick.
class MasterStallGuard {
 public:
  // `tick_ms`: the supervision tick's period (> 0).
  explicit MasterStallGuard(std::uint64_t tick_ms) : tick_ms_(tick_ms) {}

  // The tick timer starts at `now`: a stall before the first tick counts too.
  void start(std::uint64_t now) { last_tick_ = now; }

  // Records a tick at `now`. Returns how long the master's loop was blocked beyond one
  // tick (0 when the tick came on time, or for a first tick without start()). After a
  // stall of S ms, no worker is judged until `now` + max(kStallGraceMinMs, min(S, timeout_ms)).
  std::uint64_t tick(std::uint64_t now, std::uint64_t timeout_ms);

  // No verdict before this time (0: none pending).
  std::uint64_t graceUntil() const { return grace_until_; }

 private:
  std::uint64_t tick_ms_;
  std::uint64_t last_tick_ = 0;
  std::uint64_t grace_until_ = 0;
};

enum class Liveness { Alive, Hung };

// The verdict on one worker at `now`: `last_heard` is when the master last read anything
// from it (or when it started), `timeout_ms` is heartbeat_timeout (0: never hung),
// `grace_until` is MasterStallGuard::graceUntil().
Liveness judgeWorker(std::uint64_t last_heard, std::uint64_t now, std::uint64_t timeout_ms,
                     std::uint64_t grace_until);

}  // namespace wman::daemon
