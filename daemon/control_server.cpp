#include "control_server.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "wman/codec.h"
#include "wman/logging.h"

namespace wman::daemon {
namespace {

// Refusals at the cap are summed into one warning at most this often, so a flood of
// connections cannot flood the log as well.
constexpr std::uint64_t kRefusedLogEveryMs = 10000;
// Connections the runtime accepts at all: the ones over the cap stay only as long as their
// refusal line takes to flush, so a small multiple is room enough; past it the runtime
// closes new ones at once, without a line, which still keeps the master's fds bounded.
constexpr std::size_t kAcceptHeadroom = 4;

// Why a parsed line is not a request, or "" when it is one.
std::string badRequest(const std::optional<Json>& req, const std::string& parse_error,
                       std::string_view line) {
  if (line.empty()) return "empty line (send one JSON object per line)";
  if (!req) return "not JSON: " + parse_error;
  if (!req->is_object()) return "not a JSON object";
  if (!req->contains("cmd")) return "missing \"cmd\"";
  const Json& cmd = member(*req, "cmd");
  if (!cmd.is_string()) return "\"cmd\" must be a string";
  if (asString(cmd).empty()) return "\"cmd\" is empty";
  return {};
}

}  // namespace

ControlServer::ControlServer(Worker& worker, Loop& loop, ControlLimits limits, Handler handler,
                             CloseHandler on_close)
    : worker_(worker),
      loop_(loop),
      limits_(limits),
      handler_(std::move(handler)),
      on_close_(std::move(on_close)) {
  worker_.setProtocol("text");
  worker_.name = "control";
  worker_.limits.max_package_size = kControlMaxLine;
  worker_.limits.max_connections = limits_.max_connections * kAcceptHeadroom;
  worker_.onConnect = [this](Connection& c) { onConnect(c); };
  worker_.onMessage = [this](Connection& c, Message m) { onLine(c, m.view()); };
  worker_.onError = [this](Connection& c, int code, std::string_view msg) {
    onError(c, code, msg);
  };
  worker_.onClose = [this](Connection& c) {
    if (clients_.erase(c.id()) != 0 && on_close_) on_close_(c.id());
  };
  worker_.onWorkerStart = [this](Worker&) {
    // A quarter of the timeout keeps an idle connection's overstay within 25 %.
    const auto every = std::clamp<std::int64_t>(limits_.idle_timeout.count() / 4, 20, 1000);
    sweep_timer_ = Timer::add(static_cast<double>(every) / 1000.0, [this] { sweep(); });
  };
  worker_.onWorkerStop = [this](Worker&) {
    if (sweep_timer_) Timer::del(sweep_timer_);
    sweep_timer_ = 0;
  };
}

ControlServer::~ControlServer() = default;

std::string ControlServer::errorLine(const std::string& why) {
  return dumpJson(Json::object({{"ok", false}, {"error", why}}));
}

void ControlServer::onConnect(Connection& c) {
  if (clients_.size() >= limits_.max_connections) {
    const std::uint64_t now = loop_.now();
    ++refused_;
    if (refused_logged_ == 0 || now - refused_logged_ >= kRefusedLogEveryMs) {
      wman::logger().warn(
          "control socket: refused {} connection(s) over control_max_connections ({})", refused_,
          limits_.max_connections);
      refused_ = 0;
      refused_logged_ = now;
    }
    // "busy" tells the CLI to retry: the slots free up as answers complete or idle
    // connections time out.
    c.close(dumpJson(Json::object(
        {{"ok", false},
         {"busy", true},
         {"error", "too many control connections (control_max_connections = " +
                       std::to_string(limits_.max_connections) + "); try again later"}})));
    return;
  }
  clients_[c.id()].last_active = loop_.now();
}

void ControlServer::onLine(Connection& c, std::string_view line) {
  auto it = clients_.find(c.id());
  if (it == clients_.end()) return;  // refused at the cap; its close is under way
  it->second.last_active = loop_.now();
  std::string parse_error;
  auto req = line.empty() ? std::nullopt : parseJson(line, &parse_error);
  const std::string why = badRequest(req, parse_error, line);
  if (!why.empty()) {
    c.send(errorLine("bad request: " + why));
    return;
  }
  it->second.in_flight++;
  handler_(c.id(), *req);
}

void ControlServer::onError(Connection& c, int code, std::string_view message) {
  // The codec closes the connection after this returns; the peer learns why first.
  if (code == codec_error::kTooLarge) {
    c.close(errorLine("bad request: line longer than " + std::to_string(kControlMaxLine) +
                      " bytes; closing"));
  } else {
    c.close(errorLine("bad request: " + std::string(message) + "; closing"));
  }
}

void ControlServer::reply(ConnectionId client, const Json& msg) {
  auto it = clients_.find(client);
  if (it == clients_.end()) return;
  if (it->second.in_flight > 0) it->second.in_flight--;
  it->second.last_active = loop_.now();
  worker_.send(client, dumpJson(msg));
}

bool ControlServer::stream(ConnectionId client, const Json& msg) {
  if (!clients_.count(client)) return false;
  const SendStatus s = worker_.send(client, dumpJson(msg));
  return s == SendStatus::Ok || s == SendStatus::Buffered;
}

std::size_t ControlServer::backlog(ConnectionId client) const {
  Connection* c = worker_.connection(client);
  return c ? c->bufferedAmount() : 0;
}

void ControlServer::allowBacklog(ConnectionId client, std::size_t bytes) {
  if (Connection* c = worker_.connection(client))
    c->maxSendBuffer = std::max(c->maxSendBuffer, bytes);
}

void ControlServer::sweep() {
  const std::uint64_t now = loop_.now();
  const auto idle = static_cast<std::uint64_t>(limits_.idle_timeout.count());
  std::vector<ConnectionId> expired;
  for (const auto& [id, client] : clients_) {
    // A client waiting for a reload or stop verdict, or reading a long answer, is not idle.
    if (client.in_flight == 0 && now >= client.last_active && now - client.last_active >= idle) {
      expired.push_back(id);
    }
  }
  for (ConnectionId id : expired) {
    clients_.erase(id);
    if (on_close_) on_close_(id);
    if (Connection* c = worker_.connection(id)) {
      c->close(errorLine("idle for " + std::to_string(idle) +
                         " ms with no request (control_idle_timeout); closing"));
    }
  }
}

}  // namespace wman::daemon
