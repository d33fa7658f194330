// A WebSocket chat room in library mode: every text message goes to everyone connected to
// the same worker process; `/nick NAME` renames the sender.
//   build/bin/example_websocket_chat start
// then open two browser consoles and run in each:
//   ws = new WebSocket("ws://127.0.0.1:9002/"); ws.onmessage = e => console.log(e.data);
//   ws.send("hello");
#include <wman/run.h>
#include <wman/worker.h>

#include <chrono>
#include <string>

int main(int argc, char** argv) {
  wman::Worker chat{"websocket://127.0.0.1:9002"};
  chat.name = "chat";
  chat.websocket.ping_interval = std::chrono::seconds(30);  // drop peers that vanished
  chat.websocket.allowed_origins = {};                      // any page may connect

  chat.onWebSocketConnect = [](wman::Connection& c, const wman::HandshakeRequest& req,
                               wman::HandshakeAnswer& answer) {
    if (req.path != "/") {
      answer.status = 404;
      answer.reason = "no such room";
      return;
    }
    c.context = std::string("guest") + std::to_string(c.id());
  };
  auto broadcast = [&chat](const std::string& line) {
    for (auto& [id, peer] : chat.connections()) peer->send(line, wman::MessageKind::Text);
  };
  chat.onConnect = [&](wman::Connection& c) {
    broadcast(std::any_cast<std::string&>(c.context) + " joined");
  };
  chat.onMessage = [&](wman::Connection& c, wman::Message m) {
    auto& nick = std::any_cast<std::string&>(c.context);
    if (!m.isText()) {
      c.close(1003, "text only");  // RFC 6455 7.4.1: unsupported data
      return;
    }
    if (m.view().starts_with("/nick ") && m.size() > 6) {
      std::string old = nick;
      nick = std::string(m.view().substr(6));
      broadcast(old + " is now " + nick);
      return;
    }
    broadcast(nick + ": " + m.str());
  };
  chat.onClose = [&](wman::Connection& c) {
    broadcast(std::any_cast<std::string&>(c.context) + " left");
  };
  return wman::runAll(argc, argv);
}
