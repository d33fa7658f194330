// What one peer may take from its worker: bytes queued for it (control frames included),
// time holding an unfinished message, and its share of a loop pass. Each test has a
// hostile peer and a neighbour that must keep being served.
#include <catch2/catch.hpp>

#include <sys/socket.h>

#include <chrono>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "detail/connection_impl.h"
#include "detail/event_loop.h"
#include "event_counter.h"
#include "test_client.h"
#include "test_server.h"
#include "wman/serve.h"
#include "ws_test_client.h"

using namespace wman;
using namespace wman::test;
using namespace std::chrono_literals;

namespace {

void wsOpen(TestClient& c) {
  c.send(wsUpgrade());
  REQUIRE(wsReadHead(c).rfind("HTTP/1.1 101", 0) == 0);
}

void wsEcho(TestClient& c, const std::string& text) {
  c.send(wsFrame(0x81, text));
  WsFrame f = wsReadFrame(c);
  REQUIRE(f.ok);
  CHECK(f.opcode() == 1);
  CHECK(f.payload == text);
}

// The newest connection of `w` (read on the loop thread).
ConnectionId newestId(TestServer& server, Worker& w) {
  return server.onLoop([&w] {
    ConnectionId newest = 0;
    for (const auto& [id, conn] : w.runtime().connections()) newest = std::max(newest, id);
    return newest;
  });
}

// The state and queue of connection `id` of `w`, read on the loop thread.
struct Seen {
  bool present = false;
  ConnectionState state = ConnectionState::Closed;
  std::size_t buffered = 0;
};

Seen look(TestServer& server, Worker& w, ConnectionId id) {
  return server.onLoop([&w, id] {
    Seen s;
    if (Connection* c = w.runtime().find(id)) {
      s.present = true;
      s.state = c->state();
      s.buffered = c->bufferedAmount();
    }
    return s;
  });
}

// A Close frame as the server sends it (unmasked).
std::string serverClose(std::uint16_t code, const std::string& reason) {
  std::string f{static_cast<char>(0x88), static_cast<char>(2 + reason.size())};
  return f + wsClosePayload(code, reason);
}

}  // namespace

TEST_CASE("websocket: pings from a peer that never reads count against max_send_buffer") {
  constexpr std::size_t kMax = 64 * 1024;
  Worker w("websocket://127.0.0.1:0");
  installBuiltinApp("echo", w);
  w.limits.max_send_buffer = kMax;
  TestServer server({&w});

  TestClient neighbour(w.port());
  wsOpen(neighbour);
  TestClient flood(w.port(), 4096);  // a small receive buffer: the server's queue fills soon
  wsOpen(flood);
  const ConnectionId flood_id = newestId(server, w);

  std::string burst;
  for (int i = 0; i < 64; ++i) burst += wsFrame(0x89, std::string(125, 'p'));
  // The kernel's buffers take a few MiB of Pongs first; then the worker's own queue fills.
  // Bounded: 5,000 bursts are 41 MB of Pings, far more than the kernel can hold.
  bool closing = false;
  std::size_t peak = 0;
  for (int i = 0; i < 5000 && !closing; ++i) {
    flood.send(burst);
    const Seen n = look(server, w, flood_id);
    peak = std::max(peak, n.buffered);
    // One control frame may go over the cap, plus the one Close frame.
    REQUIRE(n.buffered <= kMax + 2 * 127);
    closing = !n.present || n.state != ConnectionState::Established;
    if (i % 200 == 0) wsEcho(neighbour, "still served " + std::to_string(i));
  }
  REQUIRE(closing);
  CHECK(peak >= kMax);  // it really was the worker's queue that filled
  CHECK(server.onLoop([&w] { return w.stats().protocol_errors; }) == 1);

  // The peer finally reads: every Pong queued, then Close 1008, then the end of the stream.
  const std::string rest = flood.readUntilClosed(10s);
  const std::string close = serverClose(1008, "send buffer full");
  REQUIRE(rest.size() > close.size());
  CHECK(rest.substr(rest.size() - close.size()) == close);
  wsEcho(neighbour, "after the flood");
}

TEST_CASE("message_timeout closes peers that hold an unfinished message") {
  SECTION("text: a line without its newline") {
    Worker w("text://127.0.0.1:0");
    installBuiltinApp("echo", w);
    w.limits.message_timeout = 300ms;
    TestServer server({&w});
    TestClient neighbour(w.port());
    TestClient holder(w.port());
    holder.send(std::string(1000, 'x'));  // never finished
    neighbour.send("a\n");
    CHECK(neighbour.recvLine() == "a\n");
    CHECK(holder.closedWithin(5s));
    // A connection that finishes its messages is not touched by the deadline.
    neighbour.send("b\n");
    CHECK(neighbour.recvLine() == "b\n");
    CHECK(server.onLoop([&w] { return w.stats().protocol_errors; }) == 1);
  }
  SECTION("websocket: a fragmented message, and half a frame header") {
    Worker w("websocket://127.0.0.1:0");
    installBuiltinApp("echo", w);
    w.limits.message_timeout = 300ms;
    TestServer server({&w});
    TestClient neighbour(w.port());
    wsOpen(neighbour);
    TestClient fragments(w.port());
    wsOpen(fragments);
    fragments.send(wsFrame(0x01, "first fragment, no FIN"));
    // Control frames between fragments do not finish the message.
    fragments.send(wsFrame(0x89, "ping"));
    WsFrame pong = wsReadFrame(fragments);
    REQUIRE(pong.ok);
    CHECK(pong.opcode() == 0xA);
    TestClient half(w.port());
    wsOpen(half);
    half.send(wsFrame(0x81, "hello").substr(0, 3));
    for (TestClient* c : {&fragments, &half}) {
      WsFrame close = wsReadFrame(*c);
      REQUIRE(close.ok);
      CHECK(close.opcode() == 8);
      CHECK(close.closeCode() == 1008);
      CHECK(close.closeReason() == "message timeout");
      CHECK(c->closedWithin(5s));
    }
    wsEcho(neighbour, "still here");
  }
}

TEST_CASE("a connection with a burst of input yields to its neighbours within one pass") {
  // Deterministic, no timing: the loop is held while A writes its whole burst and B then
  // writes one message, so both are readable when the loop goes on. Without a per-pass
  // budget A's callback reads and delivers its whole burst before B is looked at.
  constexpr int kBurst = 5000;
  Worker w("text://127.0.0.1:0");
  std::vector<std::pair<ConnectionId, std::string>> delivered;  // loop thread only
  EventCounter connects, messages;
  w.onConnect = [&](Connection&) { connects.add(); };
  w.onMessage = [&](Connection& c, const Message& m) {
    delivered.emplace_back(c.id(), std::string(m.view()));
    messages.add();
  };
  TestServer server({&w});
  TestClient a(w.port());
  REQUIRE(connects.waitFor(1));
  TestClient b(w.port());
  REQUIRE(connects.waitFor(2));
  const ConnectionId a_id = server.onLoop([&w] {
    ConnectionId lowest = ~ConnectionId{0};
    for (const auto& [id, conn] : w.runtime().connections()) lowest = std::min(lowest, id);
    return lowest;
  });

  std::string burst;
  for (int i = 0; i < kBurst; ++i) burst += "a" + std::to_string(i) + "\n";
  server.whileLoopHeld([&] {
    a.send(burst);  // about 29 KB: fits the socket buffers while the loop is held
    b.send("b\n");
  });

  REQUIRE(messages.waitFor(kBurst + 1, 10s));
  server.onLoop([&] {
    std::size_t b_at = delivered.size();
    std::size_t a_last = 0;
    int next = 0;
    for (std::size_t i = 0; i < delivered.size(); ++i) {
      if (delivered[i].first == a_id) {
        // Nothing lost or reordered within A.
        CHECK(delivered[i].second == "a" + std::to_string(next++));
        a_last = i;
      } else {
        CHECK(delivered[i].second == "b");
        b_at = i;
      }
    }
    CHECK(next == kBurst);
    CHECK(b_at < a_last);
    return 0;
  });
}

TEST_CASE("a connection paused after it yielded leaves its loop idle") {
  // More input than one pass's share makes A yield, and its socket stays in the poll set
  // until it reads on. Pausing it in a later pass, with input still unread in the socket,
  // must take the socket out: else that input wakes the loop on every pass, for nothing.
  constexpr int kBurst = 20000;  // about 130 KB: more than one 64 KiB read
  constexpr int kPauseAt = 1500;
  Worker w("text://127.0.0.1:0");
  EventCounter connects, paused;
  int seen = 0;  // loop thread only
  w.onConnect = [&](Connection&) { connects.add(); };
  w.onMessage = [&](Connection& c, const Message&) {
    if (++seen != kPauseAt) return;
    c.pauseRecv();
    paused.add();
  };
  TestServer server({&w});
  TestClient a(w.port());
  REQUIRE(connects.waitFor(1));

  std::string burst;
  for (int i = 0; i < kBurst; ++i) burst += "a" + std::to_string(i) + "\n";
  a.send(burst);
  REQUIRE(paused.waitFor(1));
  CHECK(server.onLoop([&] { return seen; }) == kPauseAt);

  // An idle loop runs a pass per wake-up (this probe's, a timer's); one woken by a readable
  // socket it does not read runs thousands in this time.
  const std::uint64_t before = server.onLoop([&w] { return w.runtime().loop().pass(); });
  std::this_thread::sleep_for(200ms);
  const std::uint64_t after = server.onLoop([&w] { return w.runtime().loop().pass(); });
  CHECK(after - before < 50);
}
