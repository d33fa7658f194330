// Process supervision: forking workers, reaping them, respawning crashed ones with back-off,
// heartbeats, the `status` document and the stop of the whole tree.
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <vector>

#include "exit_status.h"
#include "master.h"
#include "master_internal.h"
#include "worker_process.h"

namespace wman::daemon {

using namespace detail;

bool Master::spawn(const std::shared_ptr<Group>& group, int slot, int generation,
                   std::string* error) {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    if (error) *error = std::string("socketpair: ") + std::strerror(errno);
    return false;
  }
  WorkerProcessContext ctx;
  ctx.spec = group->spec;
  ctx.slot = slot;
  ctx.generation = generation;
  if (group->sockets) ctx.listen_fds = group->sockets->fdsForSlot(slot, group->spec.count);
  ctx.channel_fd = sv[1];
  ctx.daemon = config_->daemon;
  ctx.master_pid = ::getpid();
  if (bus_.listen_fd >= 0) {
    ctx.bus_socket = bus_.socket;
    ctx.bus_node = bus_.node;
    ctx.bus_max_queue = config_->bus.max_queue;
  }
  pid_t pid = ::fork();
  if (pid < 0) {
    const int err = errno;
    ::close(sv[0]);
    ::close(sv[1]);
    if (error) *error = std::string("fork: ") + std::strerror(err);
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
  p.started_at = loop_.now();
  p.last_heard = monotonicMs();
  if (c) {
    p.channel = c->id();
    channel_pids_[c->id()] = pid;
  } else {
    ::close(sv[0]);
  }
  auto& s = group->slots[static_cast<std::size_t>(slot)];
  s.pid = pid;
  s.respawn_at = 0;
  procs_.emplace(pid, std::move(p));
  log().info("worker {} slot {} generation {} started, pid {}", group->spec.name, slot, generation,
             pid);
  return true;
}

void Master::respawn(const std::shared_ptr<Group>& group, int slot_index) {
  auto& slot = group->slots[static_cast<std::size_t>(slot_index)];
  std::string error;
  if (spawn(group, slot_index, group->generation, &error)) return;
  // The cause (the master at its fd or process limit) rarely clears within milliseconds, so
  // a failed spawn always waits at least the second step of the back-off before retrying.
  slot.crashes++;
  const std::uint64_t delay = backoffMs(std::max(slot.crashes, 2));
  slot.respawn_at = loop_.now() + delay;
  slot.last_exit = "cannot start a process: " + error;
  log().error("worker {} slot {}: cannot start a process: {}; retrying in {} ms", group->spec.name,
              slot_index, error, delay);
  notifyState("");
}

void Master::reap() {
  int status = 0;
  pid_t pid;
  while ((pid = ::waitpid(-1, &status, WNOHANG)) > 0) onExit(pid, status);
}

void Master::onExit(pid_t pid, int status) {
  if (busExited(pid, describeExit(status))) return;
  auto it = procs_.find(pid);
  if (it == procs_.end()) return;
  Proc p = std::move(it->second);
  procs_.erase(it);
  const std::string how = describeExit(status);
  auto& slot = p.group->slots[static_cast<std::size_t>(p.slot)];
  const bool current_slot = slot.pid == pid;
  if (current_slot) slot.pid = 0;
  answerSwaps(loop_.now());
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
  slot.last_exit = how + (p.failure.empty() ? "" : ": " + p.failure);
  if (loop_.now() - p.started_at >= kHealthyResetMs) slot.crashes = 0;
  slot.crashes++;
  std::uint64_t delay = backoffMs(slot.crashes);
  if (delay == 0) {
    respawn(p.group, p.slot);
  } else {
    slot.respawn_at = loop_.now() + delay;
    log().info("worker {} slot {} crashed {} times in a row; respawning in {} ms",
               p.group->spec.name, p.slot, slot.crashes, delay);
  }
}

void Master::superviseTick(std::uint64_t now) {
  if (!stopping_) {
    // The serving generation's slots, and those of a generation still starting (a worker
    // that crashed after reporting ready, or whose respawn failed, waits here too).
    std::vector<std::shared_ptr<Group>> groups = groups_;
    if (reload_) groups.insert(groups.end(), reload_->groups.begin(), reload_->groups.end());
    for (auto& g : groups) {
      for (std::size_t i = 0; i < g->slots.size(); ++i) {
        auto& slot = g->slots[i];
        if (slot.respawn_at != 0 && now >= slot.respawn_at && slot.pid == 0) {
          slot.respawn_at = 0;
          respawn(g, static_cast<int>(i));
        }
      }
    }
  }
  abortHungWorkers(now);
  answerSwaps(now);
  superviseBus(now);
  if (reload_ && now >= reload_->deadline) {
    failGeneration("new workers not ready within start_timeout (" +
                   std::to_string(ms(reload_->config->daemon.start_timeout)) + " ms)");
  }
  if (stopping_ && stop_deadline_ != 0 && now >= stop_deadline_) {
    log().warn("{} worker(s) still running at the stop deadline; killing them", procs_.size());
    for (auto& [pid, p] : procs_) ::kill(pid, SIGKILL);
    killed_at_stop_ += procs_.size();
    stop_deadline_ = 0;
  }
  if (stopping_ && now - last_stop_report_ms_ >= kStopReportEveryMs) {
    last_stop_report_ms_ = now;
    for (ConnectionId w : stop_waiters_) reportStopProgress(w);
  }
}

void Master::abortHungWorkers(std::uint64_t now) {
  const auto timeout = static_cast<std::uint64_t>(ms(config_->daemon.heartbeat_timeout));
  // Read now, not the loop's time from before this pass: a silence is never overstated.
  const std::uint64_t fresh = monotonicMs();
  for (auto& [pid, p] : procs_) {
    if (p.abort_sent_at != 0) {
      if (now - p.abort_sent_at >= kAbortGraceMs) ::kill(pid, SIGKILL);
      continue;
    }
    if (p.state != ProcState::Ready ||
        judgeWorker(p.last_heard, fresh, timeout, stall_guard_.graceUntil()) != Liveness::Hung) {
      continue;
    }
    log().error("worker {} slot {} pid {} sent no heartbeat for {} ms; aborting it",
                p.group->spec.name, p.slot, pid, fresh - p.last_heard);
    p.abort_sent_at = now;
    ::kill(pid, SIGABRT);
  }
}

void Master::sendTo(const Proc& p, const ipc::Message& msg) {
  if (p.channel) channels_.send(p.channel, ipc::encode(msg));
}

void Master::sendStop(Proc& p, const std::string& mode, std::int64_t timeout_ms) {
  p.retiring = true;
  p.state = ProcState::Stopping;
  sendTo(p, ipc::Stop{mode, timeout_ms});
}

Json Master::processRow(const Proc& p) const {
  const char* state = p.state == ProcState::Ready      ? "ready"
                      : p.state == ProcState::Starting ? "starting"
                                                       : "stopping";
  const auto& slot = p.group->slots[static_cast<std::size_t>(p.slot)];
  const bool current = slot.pid == p.pid;
  Json row = Json::object({{"pid", static_cast<std::int64_t>(p.pid)},
                           {"name", p.group->spec.name},
                           {"slot", p.slot},
                           {"generation", p.generation},
                           {"listen", p.group->spec.listen},
                           {"qps", p.qps}});
  // The heartbeat's counters, in its field order. Before the first heartbeat they are absent,
  // never a made-up 0.
  if (p.stats) ipc::writeFields(*p.stats, row);
  // Restarts and the last exit belong to the slot; a retiring process no longer holds it.
  row["restarts"] = current ? slot.restarts : 0;
  if (current && !slot.last_exit.empty()) row["last_exit"] = slot.last_exit;
  row["state"] = state;
  return row;
}

Json Master::slotRow(const Group& g, std::size_t index) const {
  const auto& slot = g.slots[index];
  Json row = Json::object({{"pid", nullptr},
                           {"name", g.spec.name},
                           {"slot", static_cast<std::int64_t>(index)},
                           {"generation", g.generation},
                           {"listen", g.spec.listen},
                           {"restarts", slot.restarts}});
  if (!slot.last_exit.empty()) row["last_exit"] = slot.last_exit;
  if (slot.respawn_at == 0) {
    row["state"] = "down";
    return row;
  }
  const std::uint64_t now = loop_.now();
  const std::uint64_t left = slot.respawn_at > now ? slot.respawn_at - now : 0;
  row["state"] = "backoff";
  row["respawn_in_ms"] = static_cast<std::int64_t>(left);
  row["respawn_at"] =
      static_cast<std::int64_t>(std::time(nullptr)) + static_cast<std::int64_t>(left / 1000);
  return row;
}

Json Master::status() const {
  Json workers = Json::array();
  for (const auto& [pid, p] : procs_) workers.push_back(processRow(p));
  // Every configured slot appears: one without a process (backing off after crashes or a
  // failed fork) is a row of its own, so its restarts and last exit stay visible. While the
  // tree stops, slots whose worker has finished are simply gone.
  for (const auto& g : stopping_ ? decltype(groups_){} : groups_) {
    for (std::size_t i = 0; i < g->slots.size(); ++i) {
      if (procs_.count(g->slots[i].pid) == 0) workers.push_back(slotRow(*g, i));
    }
  }
  Json load = Json::array();
  double avg[3];
  if (::getloadavg(avg, 3) == 3) {
    for (double a : avg) load.push_back(a);
  }
  std::size_t total = 0;
  for (const auto& g : groups_) total += g->slots.size();
  Json doc =
      Json::object({{"version", WMAN_VERSION},
                    {"pid", static_cast<std::int64_t>(::getpid())},
                    {"config", config_->path},
                    {"start_time", start_time_},
                    {"uptime_s", static_cast<std::int64_t>((loop_.now() - started_ms_) / 1000)},
                    {"generation", generation_},
                    {"workers_total", static_cast<std::int64_t>(total)},
                    {"last_reload", last_reload_},
                    {"load", std::move(load)},
                    {"workers", std::move(workers)},
                    {"bus", busStatus()}});
  if (std::string metrics = metrics_.boundAddress(); !metrics.empty()) doc["metrics"] = metrics;
  return doc;
}

void Master::stop(const std::string& mode, ConnectionId waiter) {
  if (waiter) stop_waiters_.push_back(waiter);
  if (stopping_ && mode != "fast") {
    // A stop already runs towards its deadline; this caller waits for the same verdict.
    reportStopProgress(waiter);
    return;
  }
  const bool first = !stopping_;
  stopping_ = true;
  stop_mode_ = mode;
  if (first) {
    log().info("stopping ({})", mode);
    opts_.notifier.send("STOPPING=1\nSTATUS=stopping (" + mode + ")");
    closeListeners();
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
  if (procs_.empty()) {
    finishStop();
    return;
  }
  // Everyone waiting learns the (possibly shortened) deadline.
  for (ConnectionId w : stop_waiters_) reportStopProgress(w);
}

void Master::closeListeners() {
  // The master's copies would keep every listening socket open through a drain: the kernel
  // would complete handshakes nobody accepts, and reset them at the end. Closed here and in
  // each worker as it starts its drain, new clients are refused at once and a load balancer
  // fails over. Sockets passed by a service manager stay open in the manager, which queues
  // new connections for the next start.
  std::size_t n = 0;
  for (auto& [key, set] : sockets_) {
    n += set->fds.size();
    set->closeAll();
  }
  if (n > 0) log().info("closed {} listening socket(s): new connections are refused", n);
}

void Master::reportStopProgress(ConnectionId waiter) {
  if (!waiter) return;
  const std::uint64_t now = loop_.now();
  // deadline_ms: time left until the master kills what still runs; 0 once it has.
  const std::uint64_t left = stop_deadline_ > now ? stop_deadline_ - now : 0;
  // A progress line keeps the request in flight, so the idle timeout never cuts a waiting client.
  control_server_.stream(waiter,
                         Json::object({{"ok", true},
                                       {"stopping", true},
                                       {"mode", stop_mode_},
                                       {"deadline_ms", static_cast<std::int64_t>(left)},
                                       {"workers", static_cast<std::int64_t>(procs_.size())}}));
}

void Master::finishStop() {
  log().info("all workers stopped");
  // Last: draining workers used the bus until they were gone.
  stopBus();
  const Json verdict = Json::object({{"ok", exit_status_ == 0},
                                     {"exit_status", exit_status_},
                                     {"killed", static_cast<std::int64_t>(killed_at_stop_)}});
  for (ConnectionId w : stop_waiters_) reply(w, verdict);
  stop_waiters_.clear();
  metrics_.closeAll();
  // Flush the replies, then let the loop end.
  loop_.stopWorker(control_, true,
                   [this] { loop_.stopWorker(channels_, false, [this] { loop_.shutdown(); }); });
}

}  // namespace wman::daemon
