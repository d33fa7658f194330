#include <any>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "detail/forward_app.h"
#include "wman/bus.h"
#include "wman/serve.h"

namespace wman {
namespace {

// The chat demo, on the bus so that it is one chat across every worker process and node:
// each connection starts in room (group) "lobby"; "/nick NAME" renames the sender and binds
// uid NAME; "/join ROOM" moves it to another room; "/msg NAME TEXT" reaches every
// connection of uid NAME; any other text goes to the sender's room as "nick: text".
struct ChatUser {
  std::string nick;
  std::string room = "lobby";
};

constexpr std::size_t kMaxName = 64;

bool validName(std::string_view name) {
  return !name.empty() && name.size() <= kMaxName && name.find(' ') == std::string_view::npos;
}

void chatCommand(Connection& c, ChatUser& u, std::string_view text) {
  auto arg = [&](std::string_view cmd) -> std::string_view {
    return text.starts_with(cmd) ? text.substr(cmd.size()) : std::string_view{};
  };
  if (auto name = arg("/nick "); validName(name)) {
    const std::string old = std::exchange(u.nick, std::string(name));
    c.bindUid(u.nick);
    sendToGroup(u.room, old + " is now " + u.nick);
  } else if (auto room = arg("/join "); validName(room)) {
    sendToGroup(u.room, u.nick + " left");
    c.leaveGroup(u.room);
    u.room = std::string(room);
    c.joinGroup(u.room);
    sendToGroup(u.room, u.nick + " joined");
  } else if (auto rest = arg("/msg "); rest.find(' ') != std::string_view::npos) {
    const std::string_view to = rest.substr(0, rest.find(' '));
    sendToUid(to, u.nick + " (private): " + std::string(rest.substr(to.size() + 1)));
  } else {
    sendToGroup(u.room, u.nick + ": " + std::string(text));
  }
}

void installChat(Worker& worker) {
  worker.onConnect = [&worker](Connection& c) {
    const std::string id = std::to_string(c.id());
    ChatUser u;
    u.nick = worker.id() == 0 ? "guest" + id : "guest" + std::to_string(worker.id()) + "-" + id;
    c.joinGroup(u.room);
    sendToGroup(u.room, u.nick + " joined");
    c.context = std::move(u);
  };
  worker.onMessage = [](Connection& c, Message m) {
    if (auto* u = std::any_cast<ChatUser>(&c.context)) chatCommand(c, *u, m.view());
  };
  worker.onClose = [](Connection& c) {
    if (const auto* u = std::any_cast<ChatUser>(&c.context))
      sendToGroup(u->room, u->nick + " left");
  };
}

}  // namespace

bool installBuiltinApp(std::string_view name, Worker& worker) {
  if (name == "echo") {
    // Echo answers every message with itself, same kind, through the worker's protocol.
    worker.onMessage = [](Connection& c, Message m) { c.send(m); };
    return true;
  }
  if (name == "chat") {
    installChat(worker);
    return true;
  }
  if (name == "forward") {
    detail::installForward(worker);
    return true;
  }
  return false;
}

std::vector<std::string> builtinAppNames() {
  return {"chat", "echo", "forward"};
}

}  // namespace wman
