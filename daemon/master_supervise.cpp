// Process supervision: forking workers, reaping them, respawning crashed ones with back-off,
// heartbeats, the `status` document and the stop of the whole tree.
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <ctime>

#include "exit_status.h"
#include "master.h"
#include "master_internal.h"
#include "worker_process.h"

namespace wman::daemon {

using namespace detail;

bool Master::spawn(const std::shared_ptr<Group>& group, int slot, int generation) {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) return false;
  WorkerProcessContext ctx;
  ctx.spec = group->spec;
  ctx.slot = slot;
  ctx.generation = generation;
  if (group->sockets) ctx.listen_fds = group->sockets->fdsForSlot(slot, group->spec.count);
  ctx.channel_fd = sv[1];
  ctx.daemon = config_->daemon;
  ctx.master_pid = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(sv[0]);
    ::close(sv[1]);
    return false;
  }
  if (pid == 0) runWorkerProcess(ctx);
  ::close(sv[1]);
  std::error_code ec;
  Connection* c = loop_.adopt(channels_, sv[0], ec);
  Proc p;
  p.pid = pid;
  p.group = group;
  p.slot = slot;
  p.generation = generation;
  p.started_at = p.last_heartbeat = loop_.now();
  if (c) {
    p.channel = c->id();
    channel_pids_[c->id()] = pid;
  } else {
    ::close(sv[0]);
  }
  group->slots[static_cast<std::size_t>(slot)].pid = pid;
  procs_.emplace(pid, std::move(p));
  log().info("worker {} slot {} generation {} started, pid {}", group->spec.name, slot, generation,
             pid);
  return true;
}

void Master::reap() {
  int status = 0;
  pid_t pid;
  while ((pid = ::waitpid(-1, &status, WNOHANG)) > 0) onExit(pid, status);
}

void Master::onExit(pid_t pid, int status) {
  auto it = procs_.find(pid);
  if (it == procs_.end()) return;
  Proc p = std::move(it->second);
  procs_.erase(it);
  const std::string how = describeExit(status);
  auto& slot = p.group->slots[static_cast<std::size_t>(p.slot)];
  const bool current_slot = slot.pid == pid;
  if (current_slot) slot.pid = 0;
  if (p.retiring || stopping_) {
    log().info("worker {} slot {} pid {} {}", p.group->spec.name, p.slot, pid, how);
    if (stopping_ && procs_.empty()) finishStop();
    return;
  }
  log().warn("worker {} slot {} pid {} {} unexpectedly{}", p.group->spec.name, p.slot, pid, how,
             p.failure.empty() ? "" : ": " + p.failure);
  if (!reload_) notifyState("");
  if (reload_ && p.generation == reload_->generation && p.state == ProcState::Starting) {
    failGeneration("worker " + p.group->spec.name + " slot " + std::to_string(p.slot) + " " + how +
                   " during start-up" + (p.failure.empty() ? "" : ": " + p.failure));
    return;
  }
  if (!current_slot) return;
  slot.restarts++;
  if (loop_.now() - p.started_at >= kHealthyResetMs) slot.crashes = 0;
  slot.crashes++;
  std::uint64_t delay = backoffMs(slot.crashes);
  if (delay == 0) {
    spawn(p.group, p.slot, p.group->generation);
  } else {
    slot.respawn_at = loop_.now() + delay;
    log().info("worker {} slot {} crashed {} times in a row; respawning in {} ms",
               p.group->spec.name, p.slot, slot.crashes, delay);
  }
}

void Master::superviseTick(std::uint64_t now) {
  if (!stopping_) {
    for (auto& g : groups_) {
      for (std::size_t i = 0; i < g->slots.size(); ++i) {
        auto& slot = g->slots[i];
        if (slot.respawn_at != 0 && now >= slot.respawn_at && slot.pid == 0) {
          slot.respawn_at = 0;
          spawn(g, static_cast<int>(i), g->generation);
        }
      }
    }
  }
  const auto heartbeat = static_cast<std::uint64_t>(ms(config_->daemon.heartbeat_timeout));
  for (auto& [pid, p] : procs_) {
    if (p.abort_sent_at != 0) {
      if (now - p.abort_sent_at >= kAbortGraceMs) ::kill(pid, SIGKILL);
      continue;
    }
    if (heartbeat > 0 && p.state == ProcState::Ready && now - p.last_heartbeat > heartbeat) {
      log().error("worker {} slot {} pid {} sent no heartbeat for {} ms; aborting it",
                  p.group->spec.name, p.slot, pid, now - p.last_heartbeat);
      p.abort_sent_at = now;
      ::kill(pid, SIGABRT);
    }
  }
  if (reload_ && now >= reload_->deadline) {
    failGeneration("new workers not ready within start_timeout (" +
                   std::to_string(ms(reload_->config->daemon.start_timeout)) + " ms)");
  }
  if (stopping_ && stop_deadline_ != 0 && now >= stop_deadline_) {
    log().warn("workers still running at the stop deadline; killing them");
    for (auto& [pid, p] : procs_) ::kill(pid, SIGKILL);
    stop_deadline_ = 0;
  }
}

void Master::sendTo(const Proc& p, const Json& msg) {
  if (p.channel) channels_.send(p.channel, msg.dump());
}

void Master::sendStop(Proc& p, const std::string& mode, std::int64_t timeout_ms) {
  p.retiring = true;
  p.state = ProcState::Stopping;
  sendTo(p, Json::object().set("t", "stop").set("mode", mode).set("timeout_ms", timeout_ms));
}

Json Master::status() const {
  Json workers = Json::array();
  for (const auto& [pid, p] : procs_) {
    const char* state = p.state == ProcState::Ready      ? "ready"
                        : p.state == ProcState::Starting ? "starting"
                                                         : "stopping";
    const auto& slot = p.group->slots[static_cast<std::size_t>(p.slot)];
    workers.push_back(Json::object()
                          .set("pid", static_cast<std::int64_t>(pid))
                          .set("name", p.group->spec.name)
                          .set("slot", p.slot)
                          .set("generation", p.generation)
                          .set("listen", p.group->spec.listen)
                          .set("memory_kb", p.stats["memory_kb"])
                          .set("connections", p.stats["connections"])
                          .set("messages", p.stats["messages"])
                          .set("qps", p.qps)
                          .set("send_fail", p.stats["send_fail"])
                          .set("timers", p.stats["timers"])
                          .set("restarts", slot.pid == pid ? slot.restarts : 0)
                          .set("state", state));
  }
  Json load = Json::array();
  double avg[3];
  if (::getloadavg(avg, 3) == 3) {
    for (double a : avg) load.push_back(a);
  }
  std::size_t total = 0;
  for (const auto& g : groups_) total += g->slots.size();
  return Json::object()
      .set("version", WMAN_VERSION)
      .set("pid", static_cast<std::int64_t>(::getpid()))
      .set("config", config_->path)
      .set("start_time", start_time_)
      .set("uptime_s", static_cast<std::int64_t>((loop_.now() - started_ms_) / 1000))
      .set("generation", generation_)
      .set("workers_total", static_cast<std::int64_t>(total))
      .set("last_reload", last_reload_)
      .set("load", std::move(load))
      .set("workers", std::move(workers));
}

void Master::stop(const std::string& mode, ConnectionId waiter) {
  if (waiter) stop_waiters_.push_back(waiter);
  if (stopping_ && mode != "fast") return;
  const bool first = !stopping_;
  stopping_ = true;
  stop_mode_ = mode;
  if (first) {
    log().info("stopping ({})", mode);
    opts_.notifier.send("STOPPING=1\nSTATUS=stopping (" + mode + ")");
  }
  if (reload_) failGeneration("the server is stopping");
  const std::int64_t timeout =
      mode == "drain" ? ms(config_->daemon.drain_timeout) : ms(config_->daemon.stop_timeout);
  for (auto& [pid, p] : procs_) sendStop(p, mode, timeout);
  // Workers close what is left at `timeout`; whatever still runs then is killed (a drain
  // gets stop_timeout more to close its connections after drain_timeout).
  std::uint64_t deadline = static_cast<std::uint64_t>(timeout);
  if (mode == "drain") deadline += static_cast<std::uint64_t>(ms(config_->daemon.stop_timeout));
  stop_deadline_ = loop_.now() + deadline;
  extendTimeout();
  if (procs_.empty()) finishStop();
}

void Master::finishStop() {
  log().info("all workers stopped");
  for (ConnectionId w : stop_waiters_) reply(w, Json::object().set("ok", true));
  stop_waiters_.clear();
  // Flush the replies, then let the loop end.
  loop_.stopWorker(control_, true,
                   [this] { loop_.stopWorker(channels_, false, [this] { loop_.shutdown(); }); });
}

}  // namespace wman::daemon
