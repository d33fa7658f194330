#include "detail/outbound_host.h"

#include <algorithm>
#include <vector>

#include "detail/event_loop.h"
#include "detail/log.h"
#include "detail/outbound.h"
#include "detail/worker_registry.h"
#include "detail/worker_runtime.h"
#include "wman/worker.h"

namespace wman::detail {

OutboundHost::OutboundHost(EventLoop& loop) : loop_(loop), worker_(std::make_unique<Worker>()) {
  // The hidden worker serves links only: runAll(), status and the daemon never see it.
  auto& all = registeredWorkers();
  all.erase(std::remove(all.begin(), all.end(), worker_.get()), all.end());
  worker_->name = "outbound";
  // Each AsyncConnection bounds its own handshakes with its connect timeout, and a link
  // is never shed: the process's budget is enforced by the workers that accept.
  worker_->limits.handshake_timeout = std::chrono::milliseconds(0);
  worker_->limits.max_memory = 0;
  if (auto ec = worker_->runtime().start(loop_)) {
    log().error("cannot start the outbound connection runtime: {}", ec.message());
  }
}

OutboundHost::~OutboundHost() = default;

WorkerRuntime& OutboundHost::runtime() {
  return worker_->runtime();
}

ConnectionId OutboundHost::nextId() {
  return worker_->runtime().takeId();
}

void OutboundHost::shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  const std::vector<Outbound*> members(members_.begin(), members_.end());
  for (Outbound* o : members) o->detach();
  members_.clear();
  worker_->runtime().stop(false, nullptr);
  worker_->runtime().releaseHandles();
}

}  // namespace wman::detail
