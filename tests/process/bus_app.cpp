// App module for the bus process tests (tests/process/bus_test.py): every line is a command
// for the bus, answered on the same connection.
//   cid | pid                      -> this connection's client id | the worker's pid
//   join G | leave G | bind U      -> membership (answers "ok")
//   group G DATA | groupx G DATA   -> sendToGroup (groupx excludes the sender)
//   uid U DATA | client ID DATA | all DATA | close ID
//   count G | online U | uids G | total -> "<answer> <replied>/<asked>"
//   seq U N                        -> N messages "seq I" (I = 0..N-1) to uid U
//   sub CH | pub CH DATA           -> bus::subscribe (events arrive as "ch CH DATA") / publish
#include <unistd.h>

#include <string>
#include <string_view>

#include "wman/app_module.h"
#include "wman/bus.h"

namespace {

// The first word of `line` (moved past), for "verb arg rest" commands.
std::string_view word(std::string_view& line) {
  const auto space = line.find(' ');
  std::string_view w = line.substr(0, space);
  line = space == std::string_view::npos ? std::string_view{} : line.substr(space + 1);
  return w;
}

std::string reach(const wman::QueryReach& r) {
  return " " + std::to_string(r.replied) + "/" + std::to_string(r.asked);
}

void query(wman::Worker& w, wman::ConnectionId id, std::string_view verb, std::string arg) {
  auto answer = [&w, id](std::string text) { w.send(id, text); };
  if (verb == "count") {
    wman::getClientIdCountByGroup(arg, [answer](std::size_t n, wman::QueryReach r) {
      answer("count " + std::to_string(n) + reach(r));
    });
  } else if (verb == "online") {
    wman::isUidOnline(arg, [answer](bool on, wman::QueryReach r) {
      answer(std::string("online ") + (on ? "1" : "0") + reach(r));
    });
  } else if (verb == "uids") {
    wman::getUidListByGroup(arg, [answer](std::vector<std::string> v, wman::QueryReach r) {
      std::string list;
      for (const auto& u : v) list += (list.empty() ? "" : ",") + u;
      answer("uids " + (list.empty() ? "-" : list) + reach(r));
    });
  } else {
    wman::getAllClientIdCount([answer](std::size_t n, wman::QueryReach r) {
      answer("total " + std::to_string(n) + reach(r));
    });
  }
}

void command(wman::Worker& w, wman::Connection& c, std::string_view line) {
  const std::string_view verb = word(line);
  const std::string arg(word(line));
  const std::string rest(line);
  if (verb == "cid") return void(c.send(c.clientId()));
  if (verb == "pid") return void(c.send(std::to_string(::getpid())));
  if (verb == "join") c.joinGroup(arg);
  if (verb == "leave") c.leaveGroup(arg);
  if (verb == "bind") c.bindUid(arg);
  if (verb == "join" || verb == "leave" || verb == "bind") return void(c.send("ok"));
  if (verb == "group") return wman::sendToGroup(arg, rest);
  if (verb == "groupx") return wman::sendToGroup(arg, rest, {c.clientId()});
  if (verb == "uid") return wman::sendToUid(arg, rest);
  if (verb == "client") return wman::sendToClient(arg, rest);
  if (verb == "all") return wman::sendToAll(arg + (rest.empty() ? "" : " " + rest));
  if (verb == "close") return wman::closeClient(arg);
  if (verb == "count" || verb == "online" || verb == "uids" || verb == "total") {
    return query(w, c.id(), verb, arg);
  }
  if (verb == "seq") {
    const long n = std::stol(rest);
    for (long i = 0; i < n; ++i) wman::sendToUid(arg, "seq " + std::to_string(i));
    return;
  }
  if (verb == "sub") {
    const wman::ConnectionId id = c.id();
    wman::bus::subscribe(arg, [&w, id](std::string_view ch, std::string_view data) {
      w.send(id, "ch " + std::string(ch) + " " + std::string(data));
    });
    return void(c.send("ok"));
  }
  if (verb == "pub") return wman::bus::publish(arg, rest);
  c.send("unknown " + std::string(verb));
}

void setup(wman::Worker& w) {
  w.onMessage = [&w](wman::Connection& c, wman::Message m) { command(w, c, m.view()); };
}

}  // namespace

WMAN_APP(setup)
