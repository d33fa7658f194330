// App module for bench/run_fanout: the built-in `chat` app's relay without its join and leave
// notices. Every connection joins group "lobby" on connect and each text message goes to the
// whole group as "<nick>: <text>", as chat sends it. Chat announces every new connection to
// the whole group, so opening N subscribers costs it N^2/2 notices (50 million for 10,000);
// the benchmark measures the relay, not that.
#include <any>
#include <string>

#include "wman/app_module.h"
#include "wman/bus.h"

namespace {

constexpr const char* kGroup = "lobby";

void setup(wman::Worker& w) {
  w.onConnect = [&w](wman::Connection& c) {
    c.joinGroup(kGroup);
    c.context = "guest" + std::to_string(w.id()) + "-" + std::to_string(c.id());
  };
  w.onMessage = [](wman::Connection& c, wman::Message m) {
    const auto* nick = std::any_cast<std::string>(&c.context);
    wman::sendToGroup(kGroup, (nick ? *nick : std::string("guest")) + ": " + std::string(m.view()));
  };
}

}  // namespace

WMAN_APP(setup)
