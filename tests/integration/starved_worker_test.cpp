// A worker too busy to read (starved of CPU, or one long pass over thousands of sockets)
// must not close a peer as silent while that peer's input waits in the kernel: the ping
// and idle deadlines count input that arrived, not only input that was processed.
//
// Deterministic: the loop is held (TestServer::whileLoopHeld) while the peer sends, and is
// let go only after the deadline and a sweep tick have passed. The sweep is a timer, and
// libuv runs timers before it polls, so the sweep sees the deadline before the read.
#include <catch2/catch.hpp>

#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include "test_client.h"
#include "test_server.h"
#include "wman/serve.h"
#include "ws_test_client.h"

using namespace wman;
using namespace wman::test;
using namespace std::chrono_literals;

namespace {

using Clock = std::chrono::steady_clock;

// Stands for the starvation under test: the loop cannot run until `until`. Not a wait for
// an event; no event says "the worker was busy long enough".
void busyUntil(Clock::time_point until) {
  std::this_thread::sleep_until(until);
}

// The next frame that is not a ping (one may go out before the loop is held on a slow
// machine; it needs no answer here).
WsFrame nextNonPing(TestClient& c) {
  for (;;) {
    WsFrame f = wsReadFrame(c);
    if (!f.ok || f.opcode() != 9) return f;
  }
}

// An echo WebSocket worker that pings every `ping`, and one client whose upgrade is done.
struct PingedSession {
  Worker w{"websocket://127.0.0.1:0"};
  std::unique_ptr<TestServer> server;  // stopped before `w` goes
  TestClient c;
  explicit PingedSession(std::chrono::milliseconds ping) {
    installBuiltinApp("echo", w);
    w.websocket.ping_interval = ping;
    server = std::make_unique<TestServer>(std::vector<Worker*>{&w});
    c.connect(w.port());
    c.send(wsUpgrade());
    REQUIRE(wsReadHead(c).rfind("HTTP/1.1 101", 0) == 0);
  }
};

}  // namespace

TEST_CASE("starved worker: a pong waiting unread does not close the peer for ping timeout") {
  constexpr auto kPing = 500ms;
  PingedSession session(kPing);
  TestServer& server = *session.server;
  TestClient& c = session.c;
  // The worker read the upgrade before this point: its last input is older than this.
  const Clock::time_point last_input = Clock::now();
  server.whileLoopHeld([&] {
    c.send(wsFrame(0x81, "still here"));
    // Two intervals of silence as far as the worker processed input, plus a sweep tick
    // (a quarter of the interval) and a margin.
    busyUntil(last_input + 2 * kPing + kPing / 4 + 200ms);
  });
  WsFrame f = nextNonPing(c);
  REQUIRE(f.ok);
  INFO("close code " << f.closeCode() << " " << f.closeReason());
  CHECK(f.opcode() == 1);
  CHECK(f.payload == "still here");

  // Input that was read keeps the heartbeat going as before: a ping, a pong, no close.
  WsFrame ping = wsReadFrame(c);
  REQUIRE(ping.ok);
  REQUIRE(ping.opcode() == 9);
  c.send(wsFrame(0x8a, ping.payload));
  c.send(wsFrame(0x81, "after the pong"));
  f = nextNonPing(c);
  REQUIRE(f.ok);
  CHECK(f.payload == "after the pong");
}

TEST_CASE("starved worker: a peer silent for real is still closed for ping timeout") {
  constexpr auto kPing = 200ms;
  PingedSession session(kPing);
  TestServer& server = *session.server;
  TestClient& c = session.c;
  server.whileLoopHeld([&] { busyUntil(Clock::now() + 2 * kPing + kPing / 4 + 200ms); });
  WsFrame close = nextNonPing(c);
  REQUIRE(close.ok);
  CHECK(close.opcode() == 8);
  CHECK(close.closeCode() == 1001);
  CHECK(close.closeReason() == "ping timeout");
}

TEST_CASE("starved worker: input waiting unread does not close the peer for idle_timeout") {
  constexpr auto kIdle = 300ms;
  constexpr auto kSweepTick = 1000ms;  // idle_timeout alone: the sweep runs once a second
  Worker w("text://127.0.0.1:0");
  installBuiltinApp("echo", w);
  w.limits.idle_timeout = kIdle;
  TestServer server({&w});

  TestClient c(w.port());
  c.send("hello\n");
  REQUIRE(c.recvLine() == "hello\n");
  const Clock::time_point last_input = Clock::now();
  server.whileLoopHeld([&] {
    c.send("late\n");
    busyUntil(last_input + kIdle + kSweepTick + 200ms);
  });
  CHECK(c.recvLine() == "late\n");
}

TEST_CASE("starved worker: a late sweep pings before it closes, and a peer that answers stays") {
  constexpr auto kPing = 200ms;
  PingedSession session(kPing);
  TestServer& server = *session.server;
  TestClient& c = session.c;
  // The worker cannot run for more than two intervals: its first visit to this peer comes
  // after the ping and the close were both due, and no ping went out yet.
  server.whileLoopHeld([&] { busyUntil(Clock::now() + 2 * kPing + kPing / 4 + 200ms); });
  WsFrame ping = wsReadFrame(c);
  REQUIRE(ping.ok);
  INFO("close code " << ping.closeCode() << " " << ping.closeReason());
  REQUIRE(ping.opcode() == 9);
  c.send(wsFrame(0x8a, ping.payload));
  c.send(wsFrame(0x81, "answered"));
  WsFrame f = nextNonPing(c);
  REQUIRE(f.ok);
  CHECK(f.opcode() == 1);
  CHECK(f.payload == "answered");
}

TEST_CASE("heartbeat: a ping written late, behind output, gives the peer an interval from then") {
  // A broadcast to every connection, or a peer slow to read, can hold a ping in the output
  // for seconds. The peer must get a whole interval to answer from when the ping went out,
  // not from when it was queued.
  constexpr auto kPing = 1500ms;
  constexpr std::size_t kReply = 8u << 20;  // far more than the sockets' buffers hold
  Worker w("websocket://127.0.0.1:0");
  w.websocket.ping_interval = kPing;
  w.limits.max_send_buffer = 64u << 20;
  w.onMessage = [](Connection& c, Message) { c.send(std::string(kReply, 'x')); };
  TestServer server({&w});
  TestClient c(w.port(), /*rcvbuf=*/4096);
  c.send(wsUpgrade());
  REQUIRE(wsReadHead(c).rfind("HTTP/1.1 101", 0) == 0);

  const Clock::time_point asked = Clock::now();
  c.send(wsFrame(0x82, "go"));
  // The peer reads nothing for a while (its behaviour under test, not a synchronisation):
  // the reply stays in the worker's output, and the ping due one interval after "go"
  // queues behind it. Queued pings used to count from then: the close came one interval
  // later, before this peer even saw the ping.
  std::this_thread::sleep_until(asked + kPing + 1200ms);
  WsFrame reply = wsReadFrame(c);
  REQUIRE(reply.ok);
  REQUIRE(reply.payload.size() == kReply);
  WsFrame ping = wsReadFrame(c);
  REQUIRE(ping.ok);
  INFO("close code " << ping.closeCode() << " " << ping.closeReason());
  REQUIRE(ping.opcode() == 9);
  // The answer comes late but within the interval from the ping's write, and after the
  // close the old rule set (the ping was queued at least 1.2 s before it was read).
  std::this_thread::sleep_for(1100ms);
  c.send(wsFrame(0x8a, ping.payload));
  c.send(wsFrame(0x81, "answered"));
  WsFrame f = nextNonPing(c);
  REQUIRE(f.ok);
  INFO("close code " << f.closeCode() << " " << f.closeReason());
  CHECK(f.opcode() == 1);  // the reply to "answered", as text (the default kind)
  CHECK(f.payload.size() == kReply);
}
