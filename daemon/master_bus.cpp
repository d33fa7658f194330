// The master's side of the bus: the bus socket it binds and holds, the bus process it forks
// and respawns with back-off (outside reload generations: it keeps serving the old and the
// new workers alike), `wman send`, and the bus's part of `status`.
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>

#include "bus_process.h"
#include "exit_status.h"
#include "master.h"
#include "master_internal.h"
#include "privileges.h"
#include "wman/bus_backend.h"

namespace wman::daemon {

using namespace detail;

namespace {

// A listening unix socket at `path` for the owner (and the workers' account) only.
int bindBusSocket(const std::string& path, std::string* error) {
  sockaddr_un addr{};
  if (path.size() >= sizeof addr.sun_path) {
    *error = "bus socket path too long: " + path;
    return -1;
  }
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *error = std::string("socket: ") + std::strerror(errno);
    return -1;
  }
  ::unlink(path.c_str());  // left by a master that was killed; the pid file lock is ours
  const mode_t old_mask = ::umask(0177);
  const int rc = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  ::umask(old_mask);
  if (rc != 0 || ::listen(fd, 1024) != 0) {
    *error = "cannot bind the bus socket " + path + ": " + std::strerror(errno);
    ::close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

bool Master::startBus(std::string* error) {
  if (!config_->bus.enabled) return true;
  bus_.node = config_->bus.node.empty() ? busNode() : config_->bus.node;
  bus_.socket = busSocketPath(config_->daemon.run_dir);
  bus_.listen_fd = bindBusSocket(bus_.socket, error);
  if (bus_.listen_fd < 0) return false;
  // Workers drop to [daemon] user/group before they connect.
  if (auto ec = chownToAccount(bus_.socket, config_->daemon.user, config_->daemon.group)) {
    *error = "cannot hand the bus socket " + bus_.socket + " to the workers' user: " + ec.message();
    stopBus();
    return false;
  }
  return spawnBus(error);
}

bool Master::spawnBus(std::string* error) {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    if (error) *error = std::string("socketpair: ") + std::strerror(errno);
    return false;
  }
  BusProcessContext ctx;
  ctx.channel_fd = sv[1];
  ctx.listen_fd = bus_.listen_fd;
  ctx.daemon = config_->daemon;
  ctx.bus = config_->bus;
  ctx.node = bus_.node;
  ctx.master_pid = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    if (error) *error = std::string("fork: ") + std::strerror(errno);
    ::close(sv[0]);
    ::close(sv[1]);
    return false;
  }
  if (pid == 0) runBusProcess(ctx);
  ::close(sv[1]);
  std::error_code ec;
  Connection* c = loop_.adopt(channels_, sv[0], ec);
  bus_.pid = pid;
  bus_.channel = c ? c->id() : 0;
  if (!c) ::close(sv[0]);
  bus_.started_at = loop_.now();
  bus_.respawn_at = 0;
  bus_.stats.reset();
  log().info("bus process started, pid {}, node {}", pid, bus_.node);
  return true;
}

bool Master::busExited(pid_t pid, const std::string& how) {
  if (pid == 0 || pid != bus_.pid) return false;
  bus_.pid = 0;
  bus_.channel = 0;
  bus_.last_exit = how;
  if (stopping_) return true;
  log().warn("bus process pid {} {}; workers keep serving their own connections meanwhile", pid,
             how);
  bus_.restarts++;
  if (loop_.now() - bus_.started_at >= kHealthyResetMs) bus_.crashes = 0;
  bus_.crashes++;
  bus_.respawn_at = loop_.now() + backoffMs(bus_.crashes);
  return true;
}

void Master::superviseBus(std::uint64_t now) {
  if (stopping_ || bus_.listen_fd < 0 || bus_.pid != 0 || now < bus_.respawn_at) return;
  std::string error;
  if (!spawnBus(&error)) {
    log().error("cannot start the bus process: {}", error);
    bus_.respawn_at = now + backoffMs(std::max(++bus_.crashes, 2));
  }
}

void Master::stopBus() {
  if (bus_.pid > 0) ::kill(bus_.pid, SIGTERM);
  if (bus_.listen_fd >= 0) {
    ::close(bus_.listen_fd);
    ::unlink(bus_.socket.c_str());
    bus_.listen_fd = -1;
  }
}

void Master::onBusMessage(const ipc::Message& msg) {
  if (const auto* s = std::get_if<ipc::BusStats>(&msg)) {
    bus_.stats = *s;
  } else if (std::holds_alternative<ipc::Ready>(msg)) {
    bus_.ready = true;
  }
}

// {"cmd":"send","target":"uid|group|client|all|channel","name":...,"data":...}
void Master::sendFromControl(ConnectionId client, const Json& req) {
  static const std::map<std::string, BusTarget> kTargets = {
      {"client", BusTarget::Client}, {"uid", BusTarget::Uid},         {"group", BusTarget::Group},
      {"all", BusTarget::All},       {"channel", BusTarget::Channel},
  };
  auto t = kTargets.find(asString(member(req, "target")));
  if (t == kTargets.end()) {
    return reply(client, Json::object({{"ok", false},
                                       {"error",
                                        "send needs a target: client, uid, group, all "
                                        "or channel"}}));
  }
  if (bus_.channel == 0) {
    const char* why = config_->bus.enabled ? "the bus process is not running"
                                           : "the bus is off ([bus] enabled = false)";
    return reply(client, Json::object({{"ok", false}, {"error", why}}));
  }
  BusEnvelope e;
  e.target = t->second;
  e.name = asString(member(req, "name"));
  e.data = asString(member(req, "data"));
  channels_.send(bus_.channel, ipc::encode(ipc::toRoute(e)));
  reply(client, Json::object({{"ok", true}}));
}

Json Master::busStatus() const {
  Json row = Json::object();
  row["enabled"] = config_->bus.enabled;
  if (!config_->bus.enabled) return row;
  row["node"] = bus_.node;
  row["pid"] = bus_.pid;
  row["state"] = bus_.pid == 0 ? "down" : bus_.stats ? "up" : "starting";
  row["restarts"] = bus_.restarts;
  if (!bus_.last_exit.empty()) row["last_exit"] = bus_.last_exit;
  if (bus_.stats) row["stats"] = ipc::toJson(*bus_.stats);
  return row;
}

}  // namespace wman::daemon
