// WorkerRuntime's periodic sweep: close deadlines (flush on close, unfinished message,
// handshake, idle, ping) in
// bounded batches, the memory budget, and handing freed memory back to the OS.
#include <malloc.h>

#include <algorithm>
#include <chrono>

#include "detail/connection_impl.h"
#include "detail/event_loop.h"
#include "detail/log.h"
#include "detail/worker_runtime.h"
#include "wman/process_memory.h"

namespace wman::detail {
namespace {

std::uint64_t pingMs(const Worker& w) {
  if (w.protocol() != "websocket") return 0;
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(w.websocket.ping_interval).count());
}

}  // namespace

void WorkerRuntime::sweep() {
  const std::uint64_t now = loop_->now();
  peer_log_.flush(now);
  stats_.log_suppressed = peer_log_.suppressed();
  bool more = sweepClosing(now);
  more = expireUnfinishedMessages(now) || more;
  more = sweepHandshakes(now) || more;
  more = sweepIdle(now) || more;
  sweepMemory(now);
  if (more) scheduleSweepSoon();
}

bool WorkerRuntime::expireUnfinishedMessages(std::uint64_t now) {
  // The list is oldest first, so this costs only the connections it closes.
  return partials_.expire(now, static_cast<std::uint64_t>(worker_.limits.message_timeout.count()),
                          kSweepBatch);
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

bool WorkerRuntime::sweepClosing(std::uint64_t now) {
  if (closing_.empty()) return false;
  std::vector<ConnectionImpl*> expired;
  bool more = false;
  for (auto& [id, c] : closing_) {
    if (now - c->closingSince() < kCloseFlushTimeoutMs) continue;
    if (expired.size() == kSweepBatch) {
      more = true;
      break;
    }
    expired.push_back(c);
  }
  for (ConnectionImpl* c : expired) {
    peerLog(PeerCause::Timeout, spdlog::level::info, *c,
            "did not flush within {} ms of close; dropping it", kCloseFlushTimeoutMs);
    closing_.erase(c->id());
    c->destroy();
  }
  return more;
}

bool WorkerRuntime::sweepHandshakes(std::uint64_t now) {
  const auto timeout = static_cast<std::uint64_t>(worker_.limits.handshake_timeout.count());
  std::size_t closed = 0;
  while (!handshake_queue_.empty()) {
    const auto [id, accepted_at] = handshake_queue_.front();
    auto it = conns_.find(id);
    auto* c = it == conns_.end() ? nullptr : ConnectionImpl::from(*it->second);
    if (!c || !c->handshaking() || c->state() != ConnectionState::Established) {
      handshake_queue_.pop_front();  // finished, closed or closing: no deadline left
      continue;
    }
    if (timeout == 0 || now - accepted_at < timeout) return false;  // the rest are younger
    if (closed == kSweepBatch) return true;
    handshake_queue_.pop_front();
    ++closed;
    peerLog(PeerCause::Timeout, spdlog::level::info, *c, "handshake not done within {} ms; closing",
            timeout);
    c->destroy();
  }
  return false;
}

bool WorkerRuntime::sweepIdle(std::uint64_t now) {
  const auto idle = static_cast<std::uint64_t>(worker_.limits.idle_timeout.count());
  const std::uint64_t ping = pingMs(worker_);
  if (idle == 0 && ping == 0) return false;
  std::vector<ConnectionImpl*> expired;
  std::vector<ConnectionImpl*> unanswered;
  bool more = false;
  for (auto& [id, conn] : conns_) {
    auto* c = ConnectionImpl::from(*conn);
    if (c->state() != ConnectionState::Established) continue;
    const std::uint64_t quiet = now - c->lastActive();
    // Heartbeat: a peer quiet for one interval is pinged; one that stays quiet for a second
    // interval (no pong, no data) is closed.
    const bool idle_expired = idle > 0 && quiet >= idle;
    const bool pinged = ping > 0 && !c->handshaking();
    const bool ping_expired = !idle_expired && pinged && quiet >= 2 * ping;
    if (idle_expired || ping_expired) {
      if (expired.size() + unanswered.size() == kSweepBatch) {
        more = true;
        continue;
      }
      (idle_expired ? expired : unanswered).push_back(c);
    } else if (pinged && quiet >= ping) {
      c->ping();
    }
  }
  for (ConnectionImpl* c : unanswered) {
    peerLog(PeerCause::Timeout, spdlog::level::debug, *c, "answered no ping within {} ms; closing",
            ping);
    c->close(kGoingAway, "ping timeout");
  }
  for (ConnectionImpl* c : expired) {
    peerLog(PeerCause::Timeout, spdlog::level::debug, *c, "idle for {} ms; closing", idle);
    c->close({});
  }
  return more;
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
  for (auto& [id, conn] : conns_) {
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
