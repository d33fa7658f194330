// The WebSocket codec driven by the connection: handshake answered after asking the
// application, echo, automatic pong, close handshake, and protocol errors with their codes.
#include <catch2/catch.hpp>

#include <cstring>

#include "event_counter.h"
#include "test_client.h"
#include "test_server.h"
#include "wman/serve.h"
#include "ws_test_client.h"

using namespace wman;
using namespace wman::test;

TEST_CASE("websocket handshake, echo, ping and close through the runtime") {
  Worker w("websocket://127.0.0.1:0");
  installBuiltinApp("echo", w);
  EventCounter connects, closes, ws_closes;
  std::string seen_path;
  w.onWebSocketConnect = [&](Connection&, const HandshakeRequest& req, HandshakeAnswer&) {
    seen_path = std::string(req.path);
  };
  w.onConnect = [&](Connection&) { connects.add(); };
  w.onClose = [&](Connection&) { closes.add(); };
  w.onWebSocketClose = [&](Connection&, int code, std::string_view) {
    CHECK(code == 1000);
    ws_closes.add();
  };
  TestServer server({&w});
  TestClient c(w.port());
  c.send(wsUpgrade());
  std::string head = wsReadHead(c);
  CHECK(head.rfind("HTTP/1.1 101", 0) == 0);
  CHECK(head.find("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") != std::string::npos);
  REQUIRE(connects.waitFor(1));
  CHECK(seen_path == "/chat");

  c.send(wsFrame(0x81, "hello"));
  CHECK(c.recvExactly(7) == std::string("\x81\x05hello", 7));
  c.send(wsFrame(0x82, std::string(300, 'b')));
  CHECK(c.recvExactly(4 + 300) == std::string("\x82\x7e\x01\x2c", 4) + std::string(300, 'b'));
  c.send(wsFrame(0x89, "pi"));
  CHECK(c.recvExactly(4) == std::string("\x8a\x02pi", 4));
  c.send(wsFrame(0x88, wsClosePayload(1000)));
  CHECK(c.recvExactly(4) == std::string("\x88\x02\x03\xe8", 4));
  CHECK(c.closedWithin(std::chrono::seconds(5)));
  REQUIRE(closes.waitFor(1));
  CHECK(ws_closes.count() == 1);
}

TEST_CASE("websocket protocol errors close with their code; other connections go on") {
  Worker w("ws://127.0.0.1:0");
  installBuiltinApp("echo", w);
  TestServer server({&w});
  TestClient good(w.port());
  good.send(wsUpgrade());
  REQUIRE(wsReadHead(good).rfind("HTTP/1.1 101", 0) == 0);

  struct Case {
    const char* name;
    std::string bytes;
    std::uint16_t code;
  };
  std::string unmasked("\x81\x02hi", 4);
  std::string bad_utf8 = wsFrame(0x81, "\xc0\xaf");
  std::string reserved_opcode = wsFrame(0x83, "x");
  for (const Case& k : {Case{"unmasked", unmasked, 1002}, Case{"invalid utf-8", bad_utf8, 1007},
                        Case{"reserved opcode", reserved_opcode, 1002}}) {
    INFO(k.name);
    TestClient bad(w.port());
    bad.send(wsUpgrade());
    REQUIRE(wsReadHead(bad).rfind("HTTP/1.1 101", 0) == 0);
    bad.send(k.bytes);
    std::string close = bad.recvExactly(2 + 2);
    CHECK(static_cast<std::uint8_t>(close[0]) == 0x88);
    CHECK(((static_cast<std::uint8_t>(close[2]) << 8) | static_cast<std::uint8_t>(close[3])) ==
          k.code);
    CHECK(bad.closedWithin(std::chrono::seconds(5)));
  }
  good.send(wsFrame(0x81, "still"));
  CHECK(good.recvExactly(7) == std::string("\x81\x05still", 7));
}

TEST_CASE("websocket handshakes refused: bad version, origin, application, timeout") {
  Worker w("ws://127.0.0.1:0");
  installBuiltinApp("echo", w);
  w.websocket.allowed_origins = {"https://good.example"};
  w.limits.handshake_timeout = std::chrono::milliseconds(1000);
  EventCounter connects, closes;
  w.onConnect = [&](Connection&) { connects.add(); };
  w.onClose = [&](Connection&) { closes.add(); };
  w.onWebSocketConnect = [](Connection&, const HandshakeRequest& req, HandshakeAnswer& answer) {
    if (req.query == "deny=1") {
      answer.status = 401;
      answer.reason = "who are you";
    }
  };
  TestServer server({&w});
  {
    TestClient c(w.port());
    std::string req = wsUpgrade("Origin: https://good.example\r\n");
    req.replace(req.find("Version: 13"), 11, "Version: 8");
    c.send(req);
    std::string head = wsReadHead(c);
    CHECK(head.rfind("HTTP/1.1 426", 0) == 0);
    CHECK(head.find("Sec-WebSocket-Version: 13") != std::string::npos);
    CHECK(c.closedWithin(std::chrono::seconds(5)));
  }
  {
    TestClient c(w.port());
    c.send(wsUpgrade("Origin: https://evil.example\r\n"));
    CHECK(wsReadHead(c).rfind("HTTP/1.1 403", 0) == 0);
    CHECK(c.closedWithin(std::chrono::seconds(5)));
  }
  {
    TestClient c(w.port());
    std::string req = wsUpgrade("Origin: https://good.example\r\n");
    req.replace(req.find("/chat?room=1"), 12, "/chat?deny=1");
    c.send(req);
    CHECK(wsReadHead(c).rfind("HTTP/1.1 401", 0) == 0);
    CHECK(c.closedWithin(std::chrono::seconds(5)));
  }
  {
    TestClient c(w.port());
    c.send("GET /chat HTTP/1.1\r\nHost: x\r\n");  // never finishes the request
    CHECK(c.closedWithin(std::chrono::seconds(5)));
  }
  // None of these opened, so the application heard of none of them.
  CHECK(connects.count() == 0);
  CHECK(closes.count() == 0);
  TestClient ok(w.port());
  ok.send(wsUpgrade("Origin: https://good.example\r\n"));
  CHECK(wsReadHead(ok).rfind("HTTP/1.1 101", 0) == 0);
  CHECK(connects.waitFor(1));
}
