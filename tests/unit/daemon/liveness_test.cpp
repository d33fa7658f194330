// The master's verdict on a worker's liveness (daemon/liveness.h): heartbeat_timeout of
// silence is hung, unless the master's own loop stalled and could not hear the worker.
#include <catch2/catch.hpp>

#include <cstdint>

#include "liveness.h"

using wman::daemon::judgeWorker;
using wman::daemon::kStallGraceMinMs;
using wman::daemon::Liveness;
using wman::daemon::MasterStallGuard;

namespace {

constexpr std::uint64_t kTick = 200;
constexpr std::uint64_t kTimeout = 30000;
constexpr std::uint64_t kStart = 1'000'000;  // an arbitrary monotonic clock reading

// Ticks `guard` every `every` ms from `from` up to `to` (inclusive of the last whole step).
std::uint64_t tickEvery(MasterStallGuard& guard, std::uint64_t from, std::uint64_t to,
                        std::uint64_t every) {
  std::uint64_t t = from;
  for (; t + every <= to; t += every) guard.tick(t + every, kTimeout);
  return t;
}

}  // namespace

TEST_CASE("liveness: silent for heartbeat_timeout is hung, anything shorter is alive") {
  CHECK(judgeWorker(kStart, kStart, kTimeout, 0) == Liveness::Alive);
  CHECK(judgeWorker(kStart, kStart + kTimeout, kTimeout, 0) == Liveness::Alive);
  CHECK(judgeWorker(kStart, kStart + kTimeout + 1, kTimeout, 0) == Liveness::Hung);
  // A message stamped after the verdict's clock was read is no silence at all.
  CHECK(judgeWorker(kStart + 5, kStart, kTimeout, 0) == Liveness::Alive);
}

TEST_CASE("liveness: heartbeat_timeout 0 never judges a worker hung") {
  CHECK(judgeWorker(kStart, kStart + 10 * kTimeout, 0, 0) == Liveness::Alive);
}

TEST_CASE("liveness: ticks on time open no grace") {
  MasterStallGuard guard(kTick);
  CHECK(guard.tick(kStart, kTimeout) == 0);  // the first tick has nothing to compare with
  CHECK(guard.tick(kStart + kTick, kTimeout) == 0);
  // One period late is scheduling noise, not a stall.
  CHECK(guard.tick(kStart + 3 * kTick, kTimeout) == 0);
  CHECK(guard.graceUntil() == 0);
  // So a master that ran on time judges a silent worker at heartbeat_timeout, not later.
  MasterStallGuard steady(kTick);
  const std::uint64_t end = tickEvery(steady, kStart, kStart + kTimeout + kTick, kTick);
  CHECK(judgeWorker(kStart, end, kTimeout, steady.graceUntil()) == Liveness::Hung);
}

TEST_CASE("liveness: after a stall of the master, workers get a grace before a verdict") {
  MasterStallGuard guard(kTick);
  guard.tick(kStart, kTimeout);
  // The worker's last message was read at kStart; the master's loop is then blocked 31 s,
  // its heartbeats waiting unread in the channel.
  const std::uint64_t resumed = kStart + 31000;
  CHECK(guard.tick(resumed, kTimeout) == 31000 - kTick);
  CHECK(guard.graceUntil() == resumed + kTimeout);  // as long as the stall, at most a timeout
  CHECK(judgeWorker(kStart, resumed, kTimeout, guard.graceUntil()) == Liveness::Alive);
  // Heard in the poll that follows: alive, and judged from that message on.
  CHECK(judgeWorker(resumed + 1, resumed + 5000, kTimeout, guard.graceUntil()) == Liveness::Alive);
}

TEST_CASE("liveness: a stall before the first tick counts from the start") {
  MasterStallGuard guard(kTick);
  guard.start(kStart);
  CHECK(guard.tick(kStart + 3000, kTimeout) == 3000 - kTick);
  CHECK(guard.graceUntil() == kStart + 3000 + 3000 - kTick);
}

TEST_CASE("liveness: the grace is at least two heartbeat periods, and it ends") {
  MasterStallGuard guard(kTick);
  guard.tick(kStart, kTimeout);
  const std::uint64_t resumed = kStart + 3 * kTick;  // blocked for a little over a tick
  CHECK(guard.tick(resumed, kTimeout) == 2 * kTick);
  CHECK(guard.graceUntil() == resumed + kStallGraceMinMs);
  const std::uint64_t last_heard = resumed - kTimeout - 100;  // silent for longer already
  CHECK(judgeWorker(last_heard, resumed, kTimeout, guard.graceUntil()) == Liveness::Alive);
  CHECK(judgeWorker(last_heard, resumed + kStallGraceMinMs - 1, kTimeout, guard.graceUntil()) ==
        Liveness::Alive);
  // A worker that stays silent through the grace (stopped, or spinning in a callback) is hung.
  CHECK(judgeWorker(last_heard, resumed + kStallGraceMinMs, kTimeout, guard.graceUntil()) ==
        Liveness::Hung);
}

TEST_CASE("liveness: a master that keeps stalling still kills a stopped worker") {
  MasterStallGuard guard(kTick);
  guard.tick(kStart, kTimeout);
  // Every tick comes a second apart: each one is a stall that renews the grace.
  const std::uint64_t at_timeout = tickEvery(guard, kStart, kStart + kTimeout + 1000, 1000);
  CHECK(guard.graceUntil() > at_timeout);
  CHECK(judgeWorker(kStart, at_timeout, kTimeout, guard.graceUntil()) == Liveness::Alive);
  // Silent for twice heartbeat_timeout: hung, whatever the master's own state.
  const std::uint64_t later = tickEvery(guard, at_timeout, kStart + 2 * kTimeout + 1000, 1000);
  CHECK(guard.graceUntil() > later);
  CHECK(judgeWorker(kStart, later, kTimeout, guard.graceUntil()) == Liveness::Hung);
}
