#include "master.h"

#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcntl.h>

#include <algorithm>
#include <csignal>
#include <cstring>
#include <ctime>
#include <thread>

#include "exit_status.h"
#include "tls_check.h"
#include "wman/logging.h"
#include "wman/serve.h"
#include "wman/timer.h"
#include "wman/tls.h"
#include "worker_process.h"

namespace wman::daemon {
namespace {

constexpr std::uint64_t kTickMs = 200;
constexpr std::uint64_t kCrashBackoffCapMs = 15000;
constexpr std::uint64_t kHealthyResetMs = 30000;
constexpr std::uint64_t kAbortGraceMs = 5000;
// EXTEND_TIMEOUT_USEC is re-sent this often, asking for what is left of our own deadline
// plus this margin.
constexpr std::uint64_t kExtendEveryMs = 1000;
constexpr std::uint64_t kExtendMarginMs = 5000;

spdlog::logger& log() {
  return wman::logger();
}

// 0 for the first crash (respawn at once), then 1 s, 2 s, 4 s... capped at 15 s.
std::uint64_t backoffMs(int crashes) {
  if (crashes <= 1) return 0;
  std::uint64_t d = 1000ull << std::min(crashes - 2, 10);
  return std::min(d, kCrashBackoffCapMs);
}

std::int64_t ms(Duration d) {
  return static_cast<std::int64_t>(d.count());
}

}  // namespace

std::string Master::controlSocketPath(const std::string& run_dir) {
  return run_dir + "/wman.sock";
}

Master::Master(MasterOptions options)
    : opts_(std::move(options)),
      config_(opts_.config),
      control_("unix://" + controlSocketPath(opts_.config->daemon.run_dir)),
      control_server_(
          control_, loop_,
          ControlLimits{config_->daemon.control_max_connections,
                        config_->daemon.control_idle_timeout},
          [this](ConnectionId client, const Json& req) { onControl(client, req); },
          [this](ConnectionId client) { conn_queries_.clientGone(client); }),
      conn_queries_(ConnectionsQueries::Hooks{
          [this](ConnectionId channel, const Json& msg) { channels_.send(channel, msg.dump()); },
          [this](ConnectionId client, const Json& line, bool last) {
            if (last) {
              control_server_.reply(client, line);
            } else {
              control_server_.stream(client, line);
            }
          },
          [this](ConnectionId client) { return control_server_.backlog(client); },
          [this](ConnectionId client, std::size_t bytes) {
            control_server_.allowBacklog(client, bytes);
          }}) {
  channels_.setProtocol("frame");
  channels_.name = "channels";
  channels_.onMessage = [this](Connection& c, Message m) { onChannelMessage(c, m.view()); };
  channels_.onClose = [this](Connection& c) {
    // A worker that goes mid-query is reported as not answering rather than waited for.
    if (auto it = channel_pids_.find(c.id()); it != channel_pids_.end()) {
      conn_queries_.workerGone(it->second);
    }
    channel_pids_.erase(c.id());
  };
  socket_path_ = controlSocketPath(config_->daemon.run_dir);
  activated_used_.assign(opts_.activated.size(), false);
}

Master::~Master() {
  for (auto& [key, set] : sockets_) set->closeAll();
  for (const ActivatedSocket& a : opts_.activated) ::close(a.fd);
}

int Master::run() {
  start_time_ = static_cast<std::int64_t>(std::time(nullptr));
  started_ms_ = loop_.now();
  // The control socket is for the owner only: nobody else may stop or reload us.
  mode_t old_mask = ::umask(0177);
  std::error_code ec = loop_.startWorker(control_);
  ::umask(old_mask);
  if (ec) {
    std::string why = "cannot open control socket " + socket_path_ + ": " + ec.message();
    log().error("{}", why);
    if (opts_.on_started) opts_.on_started(false, why);
    opts_.notifier.send("STATUS=" + why);
    return 1;
  }
  loop_.startWorker(channels_);

  loop_.onSignal(SIGCHLD, [this](int) { reap(); });
  loop_.onSignal(SIGTERM, [this](int) { stop("drain", 0); });
  loop_.onSignal(SIGQUIT, [this](int) { stop("drain", 0); });
  loop_.onSignal(SIGINT, [this](int) { stop("fast", 0); });
  loop_.onSignal(SIGHUP, [this](int) { reload(false, 0); });
  loop_.onSignal(SIGUSR2, [this](int) { reload(true, 0); });
  loop_.onSignal(SIGUSR1, [this](int) { reopenLogs(); });

  auto r = std::make_shared<PendingReload>();
  r->initial = true;
  r->config = config_;
  std::string error;
  if (!buildGroups(*r, error)) {
    log().error("{}", error);
    if (opts_.on_started) opts_.on_started(false, error);
    opts_.notifier.send("STATUS=" + error);
    ::unlink(socket_path_.c_str());
    return 1;
  }
  closeUnusedActivated();
  Timer::add(static_cast<double>(kTickMs) / 1000.0, [this] { tick(); });
  if (auto every = opts_.notifier.watchdogInterval(); every.count() > 0) {
    log().info("systemd watchdog: pinging every {} ms", every.count() / 1000);
    Timer::add(static_cast<double>(every.count()) / 1e6,
               [this] { opts_.notifier.send("WATCHDOG=1"); });
  }
  beginGeneration(r);
  loop_.run();
  ::unlink(socket_path_.c_str());
  log().info("master {} exits with status {}", ::getpid(), exit_status_);
  return exit_status_;
}

bool Master::buildGroups(PendingReload& r, std::string& error) {
  std::vector<WorkerSpec> specs;
  for (Worker* w : opts_.code_workers) {
    WorkerSpec s;
    s.name = w->name;
    s.listen = w->url();
    s.url = w->listenUrl();
    s.count = w->count > 0 ? w->count
                           : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    s.reuse_port = w->reusePort;
    s.code = w;
    specs.push_back(std::move(s));
  }
  for (const WorkerConfig& wc : r.config->workers) {
    WorkerSpec s;
    s.name = wc.name;
    s.listen = wc.listen;
    s.url = wc.url;
    s.count = wc.count;
    s.reuse_port = wc.reuse_port;
    s.config = r.config;
    s.table = &wc;
    specs.push_back(std::move(s));
  }
  for (WorkerSpec& s : specs) {
    auto g = std::make_shared<Group>();
    std::string key = listenKey(s.listen, s.reuse_port);
    std::shared_ptr<ListenSocketSet> set;
    auto it = sockets_.find(key);
    if (it != sockets_.end()) {
      set = it->second;
    } else if (!s.listen.empty()) {
      set = std::make_shared<ListenSocketSet>();
      set->key = key;
      if (int fd = adoptActivated(s); fd >= 0) {
        set->url = s.url;
        set->adopted = true;
        set->fds.push_back(fd);
      }
    }
    if (set) {
      const std::size_t had = set->fds.size();
      std::string reason;
      if (set->adopted) {
        // An activated socket is one shared socket: every slot accepts from it.
        s.reuse_port = false;
      } else if (bindListenSockets(s.url, s.reuse_port, s.count, *set, &reason)) {
        error = "worker " + s.name + ": " + reason;
        undoSockets(r);
        return false;
      }
      if (it == sockets_.end()) {
        sockets_[key] = set;
        r.new_socket_keys.push_back(key);
      } else if (set->fds.size() > had) {
        r.grown.emplace_back(set, had);
      }
      g->sockets = set;
    }
    g->spec = std::move(s);
    g->slots.resize(static_cast<std::size_t>(g->spec.count));
    r.groups.push_back(std::move(g));
  }
  return true;
}

void Master::undoSockets(PendingReload& r) {
  for (const std::string& k : r.new_socket_keys) {
    auto it = sockets_.find(k);
    if (it != sockets_.end()) {
      it->second->closeAll();
      sockets_.erase(it);
    }
  }
  r.new_socket_keys.clear();
  for (auto& [set, had] : r.grown) shrinkListenSockets(*set, had);
  r.grown.clear();
}

int Master::adoptActivated(const WorkerSpec& spec) {
  auto take = [&](std::size_t i) {
    activated_used_[i] = true;
    const ActivatedSocket& a = opts_.activated[i];
    log().info("worker {}: serving {} from the socket passed by the service manager (fd {}{})",
               spec.name, describeSocket(a.fd), a.fd, a.name.empty() ? "" : ", " + a.name);
    // A copy: the set closes its fds when its listener goes, the original stays ours for a
    // later reload that brings the listener back.
    return ::fcntl(a.fd, F_DUPFD_CLOEXEC, 0);
  };
  for (std::size_t i = 0; i < opts_.activated.size(); ++i) {
    if (!opts_.activated[i].name.empty() && opts_.activated[i].name == spec.name) return take(i);
  }
  for (std::size_t i = 0; i < opts_.activated.size(); ++i) {
    if (socketMatches(opts_.activated[i].fd, spec.url)) return take(i);
  }
  return -1;
}

void Master::closeUnusedActivated() {
  for (std::size_t i = 0; i < opts_.activated.size(); ++i) {
    if (activated_used_[i]) continue;
    const ActivatedSocket& a = opts_.activated[i];
    log().warn("socket activation: fd {} ({}{}) matches no worker's name or listen address", a.fd,
               describeSocket(a.fd), a.name.empty() ? "" : ", name " + a.name);
  }
}

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
      if (!spawn(g, i, r->generation)) {
        failGeneration("cannot fork a worker: " + std::string(std::strerror(errno)));
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
  for (ConnectionId w : r->waiters) {
    reply(w,
          Json::object().set("ok", true).set("generation", r->generation).set("message", message));
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
  recordReload(false, reason);
  notifyState("READY=1");
  for (ConnectionId w : r->waiters) {
    reply(w, Json::object()
                 .set("ok", false)
                 .set("error", "reload failed, old workers keep serving: " + reason));
  }
}

void Master::notifyState(const std::string& assignments) {
  if (!opts_.notifier.enabled()) return;
  opts_.notifier.send(assignments + (assignments.empty() ? "" : "\n") + "STATUS=" + statusLine());
}

std::string Master::statusLine() const {
  std::size_t total = 0;
  for (const auto& g : groups_) total += g->slots.size();
  // The generation serving now; generation_ already counts one still starting.
  const int serving = groups_.empty() ? 0 : groups_.front()->generation;
  std::size_t ready = 0;
  for (const auto& [pid, p] : procs_) {
    if (p.state == ProcState::Ready && !p.retiring && p.generation == serving) ++ready;
  }
  std::string line = std::to_string(ready) + "/" + std::to_string(total) +
                     " workers ready, generation " + std::to_string(serving);
  if (last_reload_.isObject()) {
    const std::string& msg = last_reload_["message"].asString();
    const bool ok = last_reload_["ok"].asBool();
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
  last_reload_ = Json::object()
                     .set("ok", ok)
                     .set("time", static_cast<std::int64_t>(std::time(nullptr)))
                     .set("message", message);
}

void Master::reload(bool graceful, ConnectionId waiter) {
  auto refuse = [&](const std::string& why) {
    log().warn("reload refused: {}", why);
    if (waiter) reply(waiter, Json::object().set("ok", false).set("error", why));
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
      // A certificate that cannot be served fails the reload here, before any fork.
      TlsCheckResult tls = checkTls(*loaded.config);
      for (const std::string& w : tls.warnings) log().warn("{}", w);
      loaded.errors = std::move(tls.errors);
    }
    if (!loaded.ok()) {
      std::string all;
      for (const ConfigError& e : loaded.errors) all += (all.empty() ? "" : "\n") + e.format();
      recordReload(false, all);
      notifyState("READY=1");
      return refuse("config refused, old workers keep serving:\n" + all);
    }
    r->config = std::make_shared<const Config>(std::move(*loaded.config));
  } else {
    r->config = config_;
  }
  std::string error;
  if (!buildGroups(*r, error)) {
    recordReload(false, error);
    notifyState("READY=1");
    return refuse(error);
  }
  beginGeneration(r);
  extendTimeout();
}

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

void Master::tick() {
  const std::uint64_t now = loop_.now();
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
  if (now - last_extend_ms_ >= kExtendEveryMs) extendTimeout();
  conn_queries_.poll(now);
}

void Master::sendTo(const Proc& p, const Json& msg) {
  if (p.channel) channels_.send(p.channel, msg.dump());
}

void Master::sendStop(Proc& p, const std::string& mode, std::int64_t timeout_ms) {
  p.retiring = true;
  p.state = ProcState::Stopping;
  sendTo(p, Json::object().set("t", "stop").set("mode", mode).set("timeout_ms", timeout_ms));
}

void Master::onChannelMessage(Connection& c, std::string_view text) {
  auto pid_it = channel_pids_.find(c.id());
  if (pid_it == channel_pids_.end()) return;
  auto it = procs_.find(pid_it->second);
  if (it == procs_.end()) return;
  Proc& p = it->second;
  std::string error;
  auto msg = parseJson(text, &error);
  if (!msg) {
    log().warn("worker pid {} sent an unreadable message: {}", p.pid, error);
    return;
  }
  const std::string& t = (*msg)["t"].asString();
  const std::uint64_t now = loop_.now();
  p.last_heartbeat = now;
  if (t == "ready") {
    if (p.state == ProcState::Starting) p.state = ProcState::Ready;
    p.last_messages_at = now;
    checkGenerationReady();
    // A respawned worker is back: the manager's status line counts it again.
    if (!reload_ && !stopping_) notifyState("");
  } else if (t == "hb") {
    std::int64_t messages = (*msg)["messages"].asInt();
    if (p.last_messages_at != 0 && now > p.last_messages_at) {
      p.qps = static_cast<double>(messages - p.last_messages) * 1000.0 /
              static_cast<double>(now - p.last_messages_at);
    }
    p.last_messages = messages;
    p.last_messages_at = now;
    p.stats = std::move(*msg);
  } else if (t == "failed") {
    p.failure = (*msg)["error"].asString();
  } else if (t == "conns") {
    conn_queries_.onPage(p.pid, *msg, now);
  }
}

void Master::reply(ConnectionId client, const Json& msg) {
  control_server_.reply(client, msg);
}

void Master::onControl(ConnectionId client, const Json& req) {
  const std::string& cmd = req["cmd"].asString();
  const bool graceful = req["graceful"].asBool();
  if (cmd == "status") {
    reply(client, status());
  } else if (cmd == "connections") {
    collectConnections(client, req);
  } else if (cmd == "reload") {
    reload(graceful, client);
  } else if (cmd == "stop") {
    stop(graceful ? "drain" : "fast", client);
  } else if (cmd == "reopen") {
    reopenLogs();
    reply(client, Json::object().set("ok", true));
  } else {
    reply(client, Json::object().set("ok", false).set("error", "unknown command '" + cmd + "'"));
  }
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

void Master::collectConnections(ConnectionId client, const Json& req) {
  // Draining workers of an old generation still hold connections, so they are asked too.
  std::vector<ConnectionsTarget> targets;
  for (auto& [pid, p] : procs_) {
    if (p.state == ProcState::Starting || !p.channel || !channel_pids_.count(p.channel)) continue;
    targets.push_back(ConnectionsTarget{pid, p.group->spec.name, p.slot, p.channel});
  }
  std::string error = conn_queries_.begin(client, req, std::move(targets), loop_.now());
  if (!error.empty())
    reply(client, Json::object().set("ok", false).set("error", "bad request: " + error));
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

void Master::reopenLogs() {
  wman::reopenLogs();
  for (auto& [pid, p] : procs_) sendTo(p, Json::object().set("t", "reopen"));
  log().info("log reopened");
}

}  // namespace wman::daemon
