// WebSocket session behaviour owned by the runtime rather than the codec: the worker's
// [worker.websocket] settings reaching each connection's codec, close(code, reason), the
// ping heartbeat, and the close codes a stop or a failing callback sends.
#include <catch2/catch.hpp>

#include <chrono>
#include <stdexcept>
#include <thread>

#include "detail/worker_runtime.h"
#include "event_counter.h"
#include "test_client.h"
#include "test_server.h"
#include "wman/serve.h"
#include "ws_test_client.h"

using namespace wman;
using namespace wman::test;
using namespace std::chrono_literals;

namespace {

// Opens a WebSocket session; returns the 101 response head.
std::string open(TestClient& c, const std::string& extra = "") {
  c.send(wsUpgrade(extra));
  std::string head = wsReadHead(c);
  REQUIRE(head.rfind("HTTP/1.1 101", 0) == 0);
  return head;
}

}  // namespace

TEST_CASE("websocket: max_message_size replaces max_package_size for messages") {
  Worker w("websocket://127.0.0.1:0");
  installBuiltinApp("echo", w);
  w.limits.max_package_size = 1024;        // would refuse anything over 1 KiB
  w.websocket.max_message_size = 100'000;  // but WebSocket messages follow this one
  TestServer server({&w});

  TestClient c(w.port());
  open(c);
  const std::string big(70'000, 'z');
  c.send(wsFrame(0x82, big));
  WsFrame echo = wsReadFrame(c);
  REQUIRE(echo.ok);
  CHECK(echo.opcode() == 2);
  CHECK(echo.payload == big);

  c.send(wsFrame(0x82, std::string(100'001, 'z')));
  WsFrame close = wsReadFrame(c);
  REQUIRE(close.ok);
  CHECK(close.opcode() == 8);
  CHECK(close.closeCode() == 1009);
  CHECK(c.closedWithin(5s));
}

TEST_CASE("websocket: permessage_deflate is negotiated only when the worker enables it") {
  Worker on("websocket://127.0.0.1:0");
  installBuiltinApp("echo", on);
  on.websocket.permessage_deflate = true;
  Worker off("websocket://127.0.0.1:0");
  installBuiltinApp("echo", off);
  TestServer server({&on, &off});
  const std::string offer =
      "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n";

  TestClient a(on.port());
  std::string head = open(a, offer);
  CHECK(head.find("Sec-WebSocket-Extensions: permessage-deflate") != std::string::npos);
  // A compressed reply to a long message carries RSV1.
  a.send(wsFrame(0x81, std::string(4096, 'a')));
  WsFrame echo = wsReadFrame(a);
  REQUIRE(echo.ok);
  CHECK((echo.first & 0x40) != 0);
  CHECK(echo.payload.size() < 4096);

  TestClient b(off.port());
  head = open(b, offer);
  CHECK(head.find("Sec-WebSocket-Extensions") == std::string::npos);
  b.send(wsFrame(0x81, std::string(4096, 'a')));
  echo = wsReadFrame(b);
  REQUIRE(echo.ok);
  CHECK(echo.first == 0x81);
  CHECK(echo.payload == std::string(4096, 'a'));
}

TEST_CASE("websocket: binary_type sets the kind of sends outside onMessage") {
  Worker text("websocket://127.0.0.1:0");
  Worker binary("websocket://127.0.0.1:0");
  binary.websocket.binary_type = "binary";
  for (Worker* w : {&text, &binary}) {
    w->onConnect = [](Connection& c) { c.send("welcome"); };
    w->onMessage = [](Connection& c, Message m) { c.send(m.view()); };
  }
  TestServer server({&text, &binary});

  TestClient t(text.port());
  open(t);
  CHECK(wsReadFrame(t).first == 0x81);
  TestClient b(binary.port());
  open(b);
  WsFrame welcome = wsReadFrame(b);
  CHECK(welcome.first == 0x82);
  CHECK(welcome.payload == "welcome");
  // A reply inside onMessage follows the message answered, whatever binary_type says.
  b.send(wsFrame(0x81, "text in"));
  WsFrame reply = wsReadFrame(b);
  CHECK(reply.first == 0x81);
  CHECK(reply.payload == "text in");
}

TEST_CASE("websocket: close(code, reason), close(data) and a throwing callback") {
  Worker w("websocket://127.0.0.1:0");
  EventCounter closes;
  w.onMessage = [](Connection& c, Message m) {
    if (m.view() == "bye") c.close(4001, "see you");
    if (m.view() == "last") c.close("last words");
    if (m.view() == "throw") throw std::runtime_error("application bug");
  };
  w.onClose = [&](Connection&) { closes.add(); };
  TestServer server({&w});

  TestClient a(w.port());
  open(a);
  a.send(wsFrame(0x81, "bye"));
  WsFrame close = wsReadFrame(a);
  REQUIRE(close.ok);
  CHECK(close.opcode() == 8);
  CHECK(close.closeCode() == 4001);
  CHECK(close.closeReason() == "see you");
  CHECK(a.closedWithin(5s));
  a.close();  // the server lingers until the peer closes its side too

  TestClient b(w.port());
  open(b);
  b.send(wsFrame(0x81, "last"));
  WsFrame words = wsReadFrame(b);
  CHECK(words.first == 0x81);
  CHECK(words.payload == "last words");
  close = wsReadFrame(b);
  CHECK(close.opcode() == 8);
  CHECK(close.closeCode() == 1000);
  CHECK(b.closedWithin(5s));
  b.close();

  TestClient c(w.port());
  open(c);
  c.send(wsFrame(0x81, "throw"));
  close = wsReadFrame(c);
  CHECK(close.opcode() == 8);
  CHECK(close.closeCode() == 1011);
  CHECK(c.closedWithin(5s));
  c.close();
  CHECK(closes.waitFor(3));
}

TEST_CASE("websocket: ping_interval pings quiet peers and closes silent ones") {
  Worker w("websocket://127.0.0.1:0");
  installBuiltinApp("echo", w);
  w.websocket.ping_interval = 100ms;
  EventCounter pongs, closes;
  w.onWebSocketPong = [&](Connection&, Message) { pongs.add(); };
  w.onClose = [&](Connection&) { closes.add(); };
  TestServer server({&w});

  TestClient c(w.port());
  open(c);
  // Quiet for one interval: a ping. Answering it keeps the connection, and the next quiet
  // interval brings the next ping.
  for (int round = 0; round < 2; ++round) {
    WsFrame ping = wsReadFrame(c);
    REQUIRE(ping.ok);
    CHECK(ping.opcode() == 9);
    c.send(wsFrame(0x8a, ping.payload));
    REQUIRE(pongs.waitFor(round + 1));
  }
  // Silent from now on: the next ping goes unanswered and the server closes with 1001.
  WsFrame ping = wsReadFrame(c);
  REQUIRE(ping.ok);
  CHECK(ping.opcode() == 9);
  WsFrame close = wsReadFrame(c);
  REQUIRE(close.ok);
  CHECK(close.opcode() == 8);
  CHECK(close.closeCode() == 1001);
  CHECK(close.closeReason() == "ping timeout");
  CHECK(c.closedWithin(5s));
  c.close();
  CHECK(closes.waitFor(1));
}

TEST_CASE("websocket: a graceful stop sends 1001 going away") {
  Worker w("websocket://127.0.0.1:0");
  installBuiltinApp("echo", w);
  TestServer server({&w});
  TestClient a(w.port());
  open(a);
  TestClient b(w.port());
  open(b);
  // The stop waits for the peers to close their side after the Close frame (or for the
  // close deadline), so the clients answer from this thread while another one stops.
  const auto started = std::chrono::steady_clock::now();
  std::thread stopper([&server] { server.stop(true); });
  for (TestClient* c : {&a, &b}) {
    WsFrame close = wsReadFrame(*c);
    CHECK(close.ok);
    CHECK(close.opcode() == 8);
    CHECK(close.closeCode() == 1001);
    CHECK(c->closedWithin(5s));
    c->close();
  }
  stopper.join();
  // Well before the 10 s deadline: the stop ended because the peers closed.
  CHECK(std::chrono::steady_clock::now() - started <
        std::chrono::milliseconds(detail::WorkerRuntime::kCloseFlushTimeoutMs / 2));
}

TEST_CASE("websocket: a fast stop still tells idle peers 1001 without waiting for them") {
  Worker w("websocket://127.0.0.1:0");
  installBuiltinApp("echo", w);
  TestServer server({&w});
  TestClient a(w.port());
  open(a);
  server.stop(false);  // returns once the connections are gone; no peer has to answer
  WsFrame close = wsReadFrame(a);
  REQUIRE(close.ok);
  CHECK(close.opcode() == 8);
  CHECK(close.closeCode() == 1001);
  CHECK(a.closedWithin(5s));
}

TEST_CASE("websocket: the built-in chat app broadcasts within the worker") {
  Worker w("websocket://127.0.0.1:0");
  REQUIRE(installBuiltinApp("chat", w));
  TestServer server({&w});
  TestClient a(w.port());
  open(a);
  CHECK(wsReadFrame(a).payload == "guest1 joined");
  TestClient b(w.port());
  open(b);
  CHECK(wsReadFrame(a).payload == "guest2 joined");
  CHECK(wsReadFrame(b).payload == "guest2 joined");

  b.send(wsFrame(0x81, "/nick bob"));
  CHECK(wsReadFrame(a).payload == "guest2 is now bob");
  CHECK(wsReadFrame(b).payload == "guest2 is now bob");
  a.send(wsFrame(0x81, "hi bob"));
  for (TestClient* c : {&a, &b}) {
    WsFrame f = wsReadFrame(*c);
    CHECK(f.first == 0x81);
    CHECK(f.payload == "guest1: hi bob");
  }
  b.close();
  CHECK(wsReadFrame(a).payload == "bob left");
}

TEST_CASE("websocket: chat rooms are bus groups and /msg reaches a uid") {
  Worker w("websocket://127.0.0.1:0");
  REQUIRE(installBuiltinApp("chat", w));
  TestServer server({&w});
  TestClient a(w.port()), b(w.port());
  open(a);
  CHECK(wsReadFrame(a).payload == "guest1 joined");
  open(b);
  CHECK(wsReadFrame(a).payload == "guest2 joined");
  CHECK(wsReadFrame(b).payload == "guest2 joined");
  a.send(wsFrame(0x81, "/nick ann"));
  CHECK(wsReadFrame(a).payload == "guest1 is now ann");
  CHECK(wsReadFrame(b).payload == "guest1 is now ann");
  b.send(wsFrame(0x81, "/join den"));
  CHECK(wsReadFrame(a).payload == "guest2 left");
  CHECK(wsReadFrame(b).payload == "guest2 left");
  CHECK(wsReadFrame(b).payload == "guest2 joined");
  // Rooms are apart now: a's line reaches a only, b's line b only.
  a.send(wsFrame(0x81, "in lobby"));
  CHECK(wsReadFrame(a).payload == "ann: in lobby");
  b.send(wsFrame(0x81, "in den"));
  CHECK(wsReadFrame(b).payload == "guest2: in den");
  b.send(wsFrame(0x81, "/msg ann psst"));
  CHECK(wsReadFrame(a).payload == "guest2 (private): psst");
  b.send(wsFrame(0x81, "/msg nobody hello?"));
  b.send(wsFrame(0x81, "still here"));
  CHECK(wsReadFrame(b).payload == "guest2: still here");
}
