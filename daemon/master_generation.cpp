// The generation swap: a reload (or the first start) forks a complete new generation, waits
// until every worker of it is ready, then retires the previous one; or undoes it all.
#include <spdlog/spdlog.h>

#include <signal.h>

#include <algorithm>
#include <cstring>
#include <ctime>
#include <vector>

#include "master.h"
#include "master_internal.h"
#include "preflight.h"
#include "wman/serve.h"
#include "wman/tls.h"

namespace wman::daemon {

using namespace detail;

void Master::beginGeneration(std::shared_ptr<PendingReload> r) {
  r->generation = ++generation_;
  // The workers forked below inherit these keys: a TLS client resumes its session on any
  // worker of this generation, and each reload retires the previous keys.
  rotateTlsTicketKeys();
  r->deadline = loop_.now() + static_cast<std::uint64_t>(ms(r->config->daemon.start_timeout));
  reload_ = r;
  std::size_t n = 0;
  for (auto& g : r->groups) {
    g->generation = r->generation;
    for (int i = 0; i < g->spec.count; ++i, ++n) {
      std::string error;
      if (!spawn(g, i, r->generation, &error)) {
        failGeneration("cannot start worker " + g->spec.name + " slot " + std::to_string(i) + ": " +
                       error);
        return;
      }
    }
  }
  log().info("generation {}: started {} worker process(es), waiting for them to be ready",
             r->generation, n);
  checkGenerationReady();
}

void Master::checkGenerationReady() {
  if (!reload_) return;
  for (auto& g : reload_->groups) {
    for (auto& slot : g->slots) {
      auto it = procs_.find(slot.pid);
      if (it == procs_.end() || it->second.state != ProcState::Ready) return;
    }
  }
  commitGeneration();
}

void Master::commitGeneration() {
  auto r = std::move(reload_);
  reload_.reset();
  // Retire the previous generation now that its replacement accepts.
  const std::string mode = r->graceful ? "drain" : "close";
  const std::int64_t timeout =
      r->graceful ? ms(r->config->daemon.drain_timeout) : ms(r->config->daemon.stop_timeout);
  for (auto& [pid, p] : procs_) {
    if (p.generation < r->generation && !p.retiring) sendStop(p, mode, timeout);
  }
  groups_ = r->groups;
  config_ = r->config;
  applyMetrics(*r);
  // Sockets no group uses any more are closed; the retiring workers hold their own copies.
  for (auto it = sockets_.begin(); it != sockets_.end();) {
    bool used = std::any_of(groups_.begin(), groups_.end(),
                            [&](const auto& g) { return g->sockets == it->second; });
    if (!used) {
      it->second->closeAll();
      it = sockets_.erase(it);
    } else {
      ++it;
    }
  }
  std::size_t workers = 0;
  for (auto& g : groups_) workers += g->slots.size();
  std::string message = "generation " + std::to_string(r->generation) + " ready (" +
                        std::to_string(workers) + " workers)";
  log().info("{}", message);
  if (r->initial) {
    if (opts_.on_started) opts_.on_started(true, message);
    notifyState("READY=1");
    return;
  }
  recordReload(true, message);
  notifyState("READY=1");
  if (r->waiters.empty()) return;
  SwapAnswer answer;
  answer.generation = r->generation;
  answer.deadline = loop_.now() + kRetireAnswerMs;
  answer.reply = Json::object({{"ok", true}, {"generation", r->generation}, {"message", message}});
  answer.waiters = std::move(r->waiters);
  swap_answers_.push_back(std::move(answer));
  answerSwaps(loop_.now());
}

void Master::answerSwaps(std::uint64_t now) {
  for (auto it = swap_answers_.begin(); it != swap_answers_.end();) {
    const bool older_accepting = std::any_of(procs_.begin(), procs_.end(), [&](const auto& e) {
      return e.second.generation < it->generation && e.second.accepting;
    });
    if (older_accepting && now < it->deadline) {
      ++it;
      continue;
    }
    for (ConnectionId w : it->waiters) reply(w, it->reply);
    it = swap_answers_.erase(it);
  }
}

void Master::failGeneration(const std::string& reason) {
  auto r = std::move(reload_);
  reload_.reset();
  if (!r) return;
  for (auto& [pid, p] : procs_) {
    if (p.generation == r->generation && !p.retiring) {
      p.retiring = true;
      ::kill(pid, SIGKILL);
    }
  }
  undoSockets(*r);
  metrics_.close(r->metrics_id);
  log().error("generation {} failed: {}", r->generation, reason);
  if (r->initial) {
    if (opts_.on_started) opts_.on_started(false, reason);
    opts_.notifier.send("STATUS=start failed: " + reason.substr(0, reason.find('\n')));
    // A stop requested while starting is a normal stop; anything else is a failed start.
    if (!stopping_) {
      exit_status_ = 1;
      stop("fast", 0);
    }
    return;
  }
  const std::string message = "reload failed: " + reason + "; " + servingNow();
  recordReload(false, message);
  notifyState("READY=1");
  for (ConnectionId w : r->waiters) {
    reply(w, Json::object({{"ok", false}, {"error", message}}));
  }
}

void Master::notifyState(const std::string& assignments) {
  if (!opts_.notifier.enabled()) return;
  opts_.notifier.send(assignments + (assignments.empty() ? "" : "\n") + "STATUS=" + statusLine());
}

std::string Master::statusLine() const {
  std::size_t total = 0;
  for (const auto& g : groups_) total += g->slots.size();
  const int serving = groups_.empty() ? 0 : groups_.front()->generation;
  const std::size_t ready = servingReady();
  std::string line = std::to_string(ready) + "/" + std::to_string(total) +
                     " workers ready, generation " + std::to_string(serving);
  if (last_reload_.is_object()) {
    const std::string& msg = asString(member(last_reload_, "message"));
    const bool ok = asBool(member(last_reload_, "ok"));
    line += ok ? "; last reload ok" : "; last reload failed: " + msg.substr(0, msg.find('\n'));
  }
  return line;
}

void Master::extendTimeout() {
  last_extend_ms_ = loop_.now();
  std::uint64_t deadline = 0;
  if (stopping_) {
    deadline = stop_deadline_;
  } else if (reload_) {
    deadline = reload_->deadline;
  } else {
    return;
  }
  const std::uint64_t now = loop_.now();
  const std::uint64_t left = deadline > now ? deadline - now : 0;
  opts_.notifier.send("EXTEND_TIMEOUT_USEC=" + std::to_string((left + kExtendMarginMs) * 1000));
}

void Master::recordReload(bool ok, const std::string& message) {
  ++(ok ? reloads_ok_ : reloads_failed_);
  last_reload_ = Json::object(
      {{"ok", ok}, {"time", static_cast<std::int64_t>(std::time(nullptr))}, {"message", message}});
}

void Master::reload(bool graceful, ConnectionId waiter) {
  // Every refusal is logged and recorded as last_reload, and says what serves now.
  auto refuse = [&](const std::string& why, const std::vector<std::string>& details = {}) {
    const std::string message = "reload refused: " + why + "; " + servingNow();
    log().warn("{}", message);
    recordReload(false, message);
    if (!waiter) return;
    Json reply_doc = Json::object({{"ok", false}, {"error", message}});
    if (!details.empty()) reply_doc["errors"] = details;
    reply(waiter, reply_doc);
  };
  if (stopping_) return refuse("the server is stopping");
  if (reload_) return refuse("a reload is already in progress");
  log().info("reload{} requested", graceful ? " -g" : "");
  // Every outcome below ends with READY=1 again: the old generation serves either way.
  opts_.notifier.send("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(monotonicUsec()) +
                      "\nSTATUS=reloading");
  auto r = std::make_shared<PendingReload>();
  r->graceful = graceful;
  if (waiter) r->waiters.push_back(waiter);
  if (!config_->path.empty()) {
    ConfigCheck check;
    check.builtin_apps = builtinAppNames();
    ConfigResult loaded = loadConfig(config_->path, check);
    if (loaded.ok()) {
      // A certificate that cannot be served or an upstream host that does not resolve fails
      // the reload here, before any fork.
      PreflightResult checked = preflight(*loaded.config);
      for (const std::string& w : checked.warnings) log().warn("{}", w);
      loaded.errors = std::move(checked.errors);
    }
    if (!loaded.ok()) {
      // One entry per error: each is a `file:line: what` an operator can act on.
      std::vector<std::string> errors;
      for (const ConfigError& e : loaded.errors) {
        errors.push_back(e.format());
        log().error("reload: {}", errors.back());
      }
      std::string all;
      for (const std::string& e : errors) all += (all.empty() ? "" : "; ") + e;
      refuse(config_->path + " has " + std::to_string(errors.size()) + " error(s): " + all, errors);
      notifyState("READY=1");
      return;
    }
    r->config = std::make_shared<const Config>(std::move(*loaded.config));
  } else {
    r->config = config_;
  }
  std::string error;
  if (!buildGroups(*r, error)) {
    refuse(error);
    notifyState("READY=1");
    return;
  }
  // A new metrics address that cannot be bound refuses the reload; the old one serves on.
  if (!prepareMetrics(*r, &error)) {
    undoSockets(*r);
    refuse(error);
    notifyState("READY=1");
    return;
  }
  beginGeneration(r);
  extendTimeout();
}

std::size_t Master::servingReady() const {
  // The generation serving now; generation_ already counts one still starting.
  const int serving = groups_.empty() ? 0 : groups_.front()->generation;
  std::size_t ready = 0;
  for (const auto& [pid, p] : procs_) {
    if (p.state == ProcState::Ready && !p.retiring && p.generation == serving) ++ready;
  }
  return ready;
}

std::string Master::servingNow() const {
  std::size_t total = 0;
  for (const auto& g : groups_) total += g->slots.size();
  const std::size_t ready = servingReady();
  if (ready == total) return "all " + std::to_string(total) + " old workers keep serving";
  if (ready == 0) {
    return "no worker is serving now (" + std::to_string(total) +
           " slot(s) down or backing off; see `wman status`)";
  }
  return std::to_string(ready) + " of " + std::to_string(total) +
         " workers keep serving (the others are down or backing off)";
}

}  // namespace wman::daemon
