// A WebSocket chat in library mode, on the bus: one chat across all worker processes (and
// all nodes sharing a Redis, see docs/cluster.md). The URL path picks the room
// (ws://127.0.0.1:9002/lobby); `/nick NAME` renames the sender and binds uid NAME;
// `/msg NAME TEXT` reaches every connection of that uid, wherever it is.
//   build/bin/example_websocket_chat start
// then open two browser consoles and run in each:
//   ws = new WebSocket("ws://127.0.0.1:9002/lobby"); ws.onmessage = e => console.log(e.data);
//   ws.send("hello");
#include <wman/bus.h>
#include <wman/run.h>
#include <wman/worker.h>

#include <chrono>
#include <string>

namespace {

struct User {
  std::string nick;
  std::string room;
};

}  // namespace

int main(int argc, char** argv) {
  wman::Worker chat{"websocket://127.0.0.1:9002"};
  chat.name = "chat";
  chat.count = 0;                                           // one process per CPU, one chat
  chat.websocket.ping_interval = std::chrono::seconds(30);  // drop peers that vanished
  chat.websocket.allowed_origins = {};                      // any page may connect

  chat.onWebSocketConnect = [](wman::Connection& c, const wman::HandshakeRequest& req,
                               wman::HandshakeAnswer& answer) {
    const std::string room(req.path.substr(1));
    if (room.empty() || room.size() > 64) {
      answer.status = 404;
      answer.reason = "name a room: ws://host:9002/ROOM";
      return;
    }
    c.context = User{"guest-" + c.clientId(), room};
  };
  chat.onConnect = [](wman::Connection& c) {
    auto& u = std::any_cast<User&>(c.context);
    c.joinGroup(u.room);
    wman::sendToGroup(u.room, u.nick + " joined");
  };
  chat.onMessage = [](wman::Connection& c, wman::Message m) {
    auto& u = std::any_cast<User&>(c.context);
    if (!m.isText()) {
      c.close(1003, "text only");  // RFC 6455 7.4.1: unsupported data
      return;
    }
    const std::string_view text = m.view();
    if (text.starts_with("/nick ") && text.size() > 6 && text.size() <= 70) {
      std::string old = u.nick;
      u.nick = std::string(text.substr(6));
      c.bindUid(u.nick);
      wman::sendToGroup(u.room, old + " is now " + u.nick);
    } else if (text.starts_with("/msg ") && text.find(' ', 5) != std::string_view::npos) {
      const auto space = text.find(' ', 5);
      wman::sendToUid(text.substr(5, space - 5),
                      u.nick + " (private): " + std::string(text.substr(space + 1)));
    } else {
      wman::sendToGroup(u.room, u.nick + ": " + m.str());
    }
  };
  chat.onClose = [](wman::Connection& c) {
    const auto& u = std::any_cast<User&>(c.context);
    wman::sendToGroup(u.room, u.nick + " left");
  };
  return wman::runAll(argc, argv);
}
