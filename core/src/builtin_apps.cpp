#include <any>
#include <string>
#include <string_view>
#include <vector>

#include "detail/forward_app.h"
#include "wman/serve.h"

namespace wman {
namespace {

// The chat demo: every text message goes to every connection of the same worker process,
// prefixed with the sender's name; "/nick NAME" renames the sender. With count > 1 each
// process is its own room.
void installChat(Worker& worker) {
  auto broadcast = [&worker](std::string_view line) {
    for (auto& [id, peer] : worker.connections()) peer->send(line, MessageKind::Text);
  };
  worker.onConnect = [broadcast](Connection& c) {
    c.context = "guest" + std::to_string(c.id());
    broadcast(std::any_cast<const std::string&>(c.context) + " joined");
  };
  worker.onMessage = [broadcast](Connection& c, Message m) {
    auto* nick = std::any_cast<std::string>(&c.context);
    if (!nick) return;
    constexpr std::string_view kNick = "/nick ";
    const std::string_view text = m.view();
    if (text.starts_with(kNick) && text.size() > kNick.size() && text.size() <= 64) {
      const std::string old = *nick;
      *nick = std::string(text.substr(kNick.size()));
      broadcast(old + " is now " + *nick);
      return;
    }
    broadcast(*nick + ": " + std::string(text));
  };
  worker.onClose = [broadcast](Connection& c) {
    if (const auto* nick = std::any_cast<std::string>(&c.context)) broadcast(*nick + " left");
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
