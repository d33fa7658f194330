#include "master.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fcntl.h>

#include <algorithm>
#include <csignal>
#include <ctime>
#include <thread>

#include "master_internal.h"
#include "tls_check.h"
#include "wman/logging.h"
#include "wman/serve.h"
#include "wman/timer.h"

namespace wman::daemon {

using namespace detail;

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
          [this](ConnectionId channel, const ipc::Message& msg) {
            channels_.send(channel, ipc::encode(msg));
          },
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
          }}),
      metrics_(loop_, MetricsServer::Hooks{[this] { return metricsText(); },
                                           [this] { return readiness(); }}),
      master_lag_(std::chrono::milliseconds(kTickMs)),
      stall_guard_(kTickMs) {
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
  if (!prepareMetrics(*r, &error) || !startBus(&error)) {
    log().error("{}", error);
    if (opts_.on_started) opts_.on_started(false, error);
    opts_.notifier.send("STATUS=" + error);
    ::unlink(socket_path_.c_str());
    return 1;
  }
  Timer::add(static_cast<double>(kTickMs) / 1000.0, [this] { tick(); });
  stall_guard_.start(monotonicMs());
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

void Master::tick() {
  const std::uint64_t now = loop_.now();
  master_lag_us_ = master_lag_.tick();
  const auto timeout = static_cast<std::uint64_t>(ms(config_->daemon.heartbeat_timeout));
  const std::uint64_t fresh = monotonicMs();
  if (const std::uint64_t stalled = stall_guard_.tick(fresh, timeout); stalled >= 1000) {
    // It could not read the workers' channels meanwhile: their silence may be ours.
    log().warn("the master's loop was blocked for {} ms; workers are not judged for {} ms", stalled,
               stall_guard_.graceUntil() - fresh);
  }
  superviseTick(now);
  if (now - last_extend_ms_ >= kExtendEveryMs) extendTimeout();
  conn_queries_.poll(now);
}

void Master::onChannelMessage(Connection& c, std::string_view frame) {
  if (bus_.channel != 0 && c.id() == bus_.channel) {
    if (auto msg = ipc::decode(frame)) onBusMessage(*msg);
    return;
  }
  auto pid_it = channel_pids_.find(c.id());
  if (pid_it == channel_pids_.end()) return;
  auto it = procs_.find(pid_it->second);
  if (it == procs_.end()) return;
  Proc& p = it->second;
  // Whatever it says, even a frame we cannot read, the worker's loop is running. Stamped
  // with a fresh clock: the loop's cached time is from before this pass's other callbacks.
  p.last_heard = monotonicMs();
  std::string why;
  std::optional<ipc::Message> msg = ipc::decode(frame, &why);
  if (!msg) {
    // Once per process: the worker runs this same build, so one bad frame means a bug, and
    // repeating it with every heartbeat would bury the log.
    if (!p.warned) log().warn("worker pid {} sent an unreadable message: {}", p.pid, why);
    p.warned = true;
    return;
  }
  onWorkerMessage(p, *msg, loop_.now());
}

void Master::onWorkerMessage(Proc& p, const ipc::Message& msg, std::uint64_t now) {
  std::visit(ipc::Overloaded{
                 [&](const ipc::Ready&) {
                   if (p.state == ProcState::Starting) p.state = ProcState::Ready;
                   p.last_messages_at = now;
                   checkGenerationReady();
                   // A respawned worker is back: the manager's status line counts it again.
                   if (!reload_ && !stopping_) notifyState("");
                 },
                 [&](const ipc::Heartbeat& hb) { onHeartbeat(p, hb, now); },
                 [&](const ipc::Retired&) {
                   p.accepting = false;
                   answerSwaps(now);
                 },
                 [&](const ipc::Failed& f) { p.failure = f.error; },
                 [&](const ipc::ConnectionsPage& page) { conn_queries_.onPage(p.pid, page, now); },
                 [&](const auto& other) {
                   if (!p.warned) {
                     log().warn("worker pid {} sent \"{}\", a message only the master sends", p.pid,
                                other.kTag);
                   }
                   p.warned = true;
                 },
             },
             msg);
}

void Master::onHeartbeat(Proc& p, const ipc::Heartbeat& hb, std::uint64_t now) {
  if (p.last_messages_at != 0 && now > p.last_messages_at) {
    p.qps = static_cast<double>(hb.messages - p.last_messages) * 1000.0 /
            static_cast<double>(now - p.last_messages_at);
  }
  p.last_messages = hb.messages;
  p.last_messages_at = now;
  p.stats = hb;
}

void Master::reply(ConnectionId client, const Json& msg) {
  control_server_.reply(client, msg);
}

void Master::onControl(ConnectionId client, const Json& req) {
  const std::string& cmd = asString(member(req, "cmd"));
  const bool graceful = asBool(member(req, "graceful"));
  if (cmd == "status") {
    reply(client, status());
  } else if (cmd == "connections") {
    collectConnections(client, req);
  } else if (cmd == "reload") {
    reload(graceful, client);
  } else if (cmd == "stop") {
    stop(graceful ? "drain" : "fast", client);
  } else if (cmd == "send") {
    sendFromControl(client, req);
  } else if (cmd == "reopen") {
    reopenLogs();
    reply(client, Json::object({{"ok", true}}));
  } else {
    reply(client, Json::object({{"ok", false}, {"error", "unknown command '" + cmd + "'"}}));
  }
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
    reply(client, Json::object({{"ok", false}, {"error", "bad request: " + error}}));
}

void Master::reopenLogs() {
  wman::reopenLogs();
  for (auto& [pid, p] : procs_) sendTo(p, ipc::ReopenLogs{});
  log().info("log reopened");
}

}  // namespace wman::daemon
