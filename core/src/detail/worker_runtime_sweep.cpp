// WorkerRuntime's periodic sweep: the connections' deadlines (handshake, idle, ping,
// unfinished message, flush on close) from the deadline wheel in bounded batches, the memory
// budget, and handing freed memory back to the OS.
#include <malloc.h>
#include <sys/ioctl.h>

#include <algorithm>

#include "detail/connection_impl.h"
#include "detail/event_loop.h"
#include "detail/log.h"
#include "detail/worker_runtime.h"
#include "wman/process_memory.h"

namespace wman::detail {
namespace {

// True when the kernel holds bytes from the peer that this worker has not read yet. A
// worker starved of CPU (or busy for seconds in one pass) reads late, so its last processed
// input says nothing about whether the peer is alive; bytes waiting in the socket say it is.
// One ioctl, asked only of a connection about to be closed as silent.
bool inputWaiting(ConnectionImpl& c) {
  const int fd = c.fd();
  int unread = 0;
  return fd >= 0 && ::ioctl(fd, FIONREAD, &unread) == 0 && unread > 0;
}

}  // namespace

void WorkerRuntime::sweep() {
  const std::uint64_t now = loop_->now();
  peer_log_.flush(now);
  stats_.log_suppressed = peer_log_.suppressed();
  std::size_t visits = 0;
  std::size_t closed = 0;
  const bool more = wheel_ && wheel_->advance(now, [&](DeadlineLink& link) {
    auto& c = static_cast<ConnectionImpl&>(link);
    closed += expire(c, now) ? 1 : 0;
    return DeadlineVisit{nextDeadline(c, now), ++visits == kSweepVisits || closed == kSweepBatch};
  });
  sweepMemory(now);
  if (more) scheduleSweepSoon();
}

void WorkerRuntime::trackDeadlines(ConnectionImpl& c) {
  if (!wheel_) return;
  const std::uint64_t due = nextDeadline(c, loop_->now());
  if (due == 0) {
    c.unlink();
  } else {
    wheel_->schedule(c, due);
  }
}

std::uint64_t WorkerRuntime::nextDeadline(const ConnectionImpl& c, std::uint64_t now) const {
  if (c.state() == ConnectionState::Closing) return c.closingSince() + kCloseFlushTimeoutMs;
  if (c.state() != ConnectionState::Established) return 0;
  std::uint64_t due = 0;
  auto earliest = [&due](std::uint64_t at) { due = due == 0 ? at : std::min(due, at); };
  const Deadlines& d = deadlines_;
  if (const RequestSession* s = c.requests()) {
    const std::uint64_t wait = requestTimeout(s->wait());
    if (wait > 0 && c.partialSince() != 0) earliest(c.partialSince() + wait);
    if (d.idle > 0) earliest(c.lastActive() + d.idle);
    return due;
  }
  if (c.handshaking() && d.handshake > 0) earliest(c.handshakeSince() + d.handshake);
  if (c.partialSince() != 0 && d.message > 0) earliest(c.partialSince() + d.message);
  if (d.idle > 0) earliest(c.lastActive() + d.idle);
  // Heartbeat: a peer quiet for one interval is pinged; one that stays quiet for a second
  // interval (no pong, no data) is closed. A ping that could not go out (the peer reads
  // nothing) is not retried: the second interval closes the peer all the same. A ping still
  // in the output gets one more interval to go out (pingWritten() then starts its peer's
  // interval afresh).
  if (d.ping > 0 && !c.handshaking() && c.codec().pings()) {
    const std::uint64_t pinged_at = c.lastActive() + d.ping;
    const std::uint64_t close_at = pinged_at + (c.pingQueued() ? 2 : 1) * d.ping;
    earliest(c.pingSent() || now >= pinged_at ? close_at : pinged_at);
  }
  return due;
}

bool WorkerRuntime::expire(ConnectionImpl& c, std::uint64_t now) {
  const Deadlines& d = deadlines_;
  if (c.state() == ConnectionState::Closing) {
    if (now - c.closingSince() < kCloseFlushTimeoutMs) return false;
    peerLog(PeerCause::Timeout, spdlog::level::info, c,
            "did not flush within {} ms of close; dropping it", kCloseFlushTimeoutMs);
    c.destroy();
    return true;
  }
  if (c.state() != ConnectionState::Established) return false;
  if (const RequestSession* s = c.requests()) return expireRequest(c, *s, now);
  if (c.handshaking() && d.handshake > 0 && now - c.handshakeSince() >= d.handshake) {
    peerLog(PeerCause::Timeout, spdlog::level::info, c, "handshake not done within {} ms; closing",
            d.handshake);
    c.destroy();
    return true;
  }
  if (c.partialSince() != 0 && d.message > 0 && now - c.partialSince() >= d.message) {
    c.messageTimedOut(d.message);
    return true;
  }
  const std::uint64_t quiet = now - c.lastActive();
  const bool idle_due = d.idle > 0 && quiet >= d.idle;
  const bool ping_due = d.ping > 0 && !c.handshaking() && quiet >= 2 * d.ping;
  if ((idle_due || ping_due) && inputWaiting(c)) {
    // Its input (a pong, say) arrived while this worker could not read: not silent. Counted
    // as active now, its deadlines move on; the read that follows delivers the input.
    c.noteActive(now);
    return false;
  }
  if (idle_due) {
    peerLog(PeerCause::Timeout, spdlog::level::debug, c, "idle for {} ms; closing", d.idle);
    c.close({});
    return true;
  }
  if (d.ping == 0 || c.handshaking() || !c.codec().pings() || quiet < d.ping) return false;
  if (!c.pingSent()) {
    c.ping();
    if (c.pingSent()) {
      // However late this visit comes (a starved worker reaches its deadlines late), the
      // peer gets a whole interval from its ping to answer: its quiet time is counted as
      // one interval from here, so the close is due one interval after the ping.
      c.noteActive(std::max(c.lastActive(), now - d.ping));
      return false;
    }
    // No ping could go out (the peer reads nothing): closed after two quiet intervals.
  }
  // A ping held in the output by a long flush (a message to every connection) or a peer
  // slow to read is not the peer's silence yet, for one more interval.
  if (quiet < (c.pingQueued() ? 3 : 2) * d.ping) return false;
  peerLog(PeerCause::Timeout, spdlog::level::debug, c, "answered no ping within {} ms; closing",
          d.ping);
  c.close(kGoingAway, "ping timeout");
  return true;
}

void WorkerRuntime::pingWritten(ConnectionImpl& c) {
  const std::uint64_t now = loop_->now();
  const std::uint64_t ping = deadlines_.ping;
  // The close is due one interval after the ping went out (its quiet time counts as one
  // interval from here); the wheel finds the later deadline when the earlier one comes.
  if (ping > 0 && now > ping) c.noteActive(std::max(c.lastActive(), now - ping));
}

std::uint64_t WorkerRuntime::requestTimeout(RequestSession::Wait wait) const {
  const std::uint64_t timeout = deadlines_.request[static_cast<std::size_t>(wait)];
  if (!stopping_ || wait != RequestSession::Wait::Idle) return timeout;
  return timeout == 0 ? kStopIdleGraceMs : std::min(timeout, kStopIdleGraceMs);
}

bool WorkerRuntime::expireRequest(ConnectionImpl& c, const RequestSession& s, std::uint64_t now) {
  const RequestSession::Wait wait = s.wait();
  const std::uint64_t timeout = requestTimeout(wait);
  if (timeout > 0 && c.partialSince() != 0 && now - c.partialSince() >= timeout) {
    c.requestTimedOut(wait, timeout);
    return true;
  }
  if (deadlines_.idle > 0 && now - c.lastActive() >= deadlines_.idle) {
    peerLog(PeerCause::Timeout, spdlog::level::debug, c, "idle for {} ms; closing",
            deadlines_.idle);
    c.close({});
    return true;
  }
  return false;
}

void WorkerRuntime::scheduleSweepSoon() {
  // The rest runs in the check phase, after this iteration's poll has served the neighbours'
  // I/O; the idle handle keeps that poll from blocking. A zero-timeout timer would not do:
  // started from the sweep (itself a timer), libuv runs it in the same timer pass, so every
  // batch would close back to back with no I/O in between.
  if (!soon_check_ || uv_is_active(reinterpret_cast<uv_handle_t*>(soon_check_))) return;
  uv_idle_start(soon_idle_, [](uv_idle_t*) {});
  uv_check_start(soon_check_, [](uv_check_t* h) {
    auto* self = static_cast<WorkerRuntime*>(h->data);
    uv_check_stop(h);
    uv_idle_stop(self->soon_idle_);
    self->sweep();
  });
}

void WorkerRuntime::sweepMemory(std::uint64_t now) {
  const std::size_t budget = worker_.limits.max_memory;
  if (budget > 0) {
    const std::size_t rss = residentKiB() * 1024;
    if (rss > budget) {
      if ((paused_ & kPauseMemory) == 0) {
        log().warn(
            "worker {}: {} MiB resident, over max_memory ({} MiB); pausing accepts and "
            "shedding the largest buffers",
            worker_.name, rss >> 20, budget >> 20);
      }
      pauseAccepting(kPauseMemory);
      loop_->buffers().release();
      shedLargest();
    } else if ((paused_ & kPauseMemory) != 0 && rss <= budget / 10 * 9) {
      // Resume only well below the budget, so a worker at the edge does not flap.
      log().info("worker {}: {} MiB resident, back under max_memory; accepting again", worker_.name,
                 rss >> 20);
      resumeAccepting(kPauseMemory);
    }
  }
  // glibc keeps freed memory for reuse; after closed connections released large buffers,
  // hand it back (bounded rate: malloc_trim walks the free lists).
  if (released_bytes_ >= kTrimAfterBytes && now - trimmed_at_ >= kTrimIntervalMs) {
    released_bytes_ = 0;
    trimmed_at_ = now;
    ::malloc_trim(0);
  }
}

void WorkerRuntime::shedLargest() {
  std::vector<std::pair<std::size_t, ConnectionImpl*>> holders;
  for (const auto& [id, conn] : conns_) {
    auto* c = ConnectionImpl::from(*conn);
    const std::size_t held = c->heldBytes();
    if (held >= kShedMinBytes && c->state() != ConnectionState::Closed)
      holders.emplace_back(held, c);
  }
  const std::size_t n = std::min(holders.size(), kShedBatch);
  std::partial_sort(holders.begin(), holders.begin() + static_cast<std::ptrdiff_t>(n),
                    holders.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  for (std::size_t i = 0; i < n; ++i) {
    ConnectionImpl* c = holders[i].second;
    stats_.shed++;
    peerLog(PeerCause::Shed, spdlog::level::warn, *c,
            "holds {} KiB of buffers; closed by the memory budget", holders[i].first >> 10);
    // At once, not after a flush: waiting for a peer that does not read would keep the
    // memory. A WebSocket peer hears 1013 if the Close frame fits without waiting.
    c->abort(kTryAgainLater, "server over memory budget");
  }
}

}  // namespace wman::detail
