// The WebSocket codec driven by the connection: handshake answered after asking the
// application, echo, automatic pong, close handshake, and protocol errors with their codes.
#include <catch2/catch.hpp>

#include <sys/resource.h>

#include <cstring>
#include <random>
#include <vector>

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
  w.websocket.max_message_size = 2048;
  TestServer server({&w});
  TestClient good(w.port());
  good.send(wsUpgrade());
  REQUIRE(wsReadHead(good).rfind("HTTP/1.1 101", 0) == 0);

  struct Case {
    const char* name;
    std::string bytes;
    std::uint16_t code;
  };
  const std::string text_start = wsFrame(0x01, "a");  // a text message's first fragment
  const std::vector<Case> cases = {
      {"unmasked frame", std::string("\x81\x02hi", 4), 1002},
      {"RSV1 without an extension", wsFrame(0xc1, "x"), 1002},
      {"RSV2", wsFrame(0xa2, "x"), 1002},
      {"reserved data opcode", wsFrame(0x83, "x"), 1002},
      {"reserved control opcode", wsFrame(0x8b, ""), 1002},
      {"control frame over 125 bytes", wsFrame(0x89, std::string(126, 'p')), 1002},
      {"fragmented control frame", wsFrame(0x09, "p"), 1002},
      {"continuation without a message", wsFrame(0x80, "x"), 1002},
      {"new message inside a fragmented one", text_start + wsFrame(0x81, "b"), 1002},
      {"invalid utf-8", wsFrame(0x81, "\xc0\xaf"), 1007},
      {"invalid utf-8 inside fragments", text_start + wsFrame(0x00, "\xed\xa0\x80"), 1007},
      {"truncated utf-8 at the end", wsFrame(0x81, "ok\xe2\x82"), 1007},
      {"close code 1005 sent", wsFrame(0x88, wsClosePayload(1005)), 1002},
      {"close code 999", wsFrame(0x88, wsClosePayload(999)), 1002},
      {"one-byte close payload", wsFrame(0x88, "x"), 1002},
      {"close reason not utf-8", wsFrame(0x88, wsClosePayload(1000, "\xff")), 1007},
      {"message over max_message_size", wsFrame(0x82, std::string(2049, 'm')), 1009},
  };
  for (const Case& k : cases) {
    INFO(k.name);
    TestClient bad(w.port());
    bad.send(wsUpgrade());
    REQUIRE(wsReadHead(bad).rfind("HTTP/1.1 101", 0) == 0);
    bad.send(k.bytes);
    // The Close frame with the code arrives, then the end of the stream, within a second.
    WsFrame close = wsReadFrame(bad, std::chrono::seconds(1));
    REQUIRE(close.ok);
    CHECK(close.first == 0x88);
    CHECK(close.closeCode() == k.code);
    CHECK(bad.closedWithin(std::chrono::seconds(1)));
  }
  good.send(wsFrame(0x81, "still"));
  CHECK(good.recvExactly(7) == std::string("\x81\x05still", 7));
}

TEST_CASE("1,000 connections sending garbage leave the worker healthy") {
  // Enough descriptors for both ends of every connection in this one process.
  rlimit nofile{};
  ::getrlimit(RLIMIT_NOFILE, &nofile);
  if (nofile.rlim_cur < 4096 && nofile.rlim_max >= 4096) {
    nofile.rlim_cur = 4096;
    ::setrlimit(RLIMIT_NOFILE, &nofile);
  }
  Worker w("ws://127.0.0.1:0");
  installBuiltinApp("echo", w);
  EventCounter connects, closes;
  w.onConnect = [&](Connection&) { connects.add(); };
  w.onClose = [&](Connection&) { closes.add(); };
  TestServer server({&w});

  // Half send garbage instead of a handshake, half garbage frames after a good one. Every
  // piece of garbage starts with a byte that is invalid where it lands (no HTTP method
  // starts with 0x00; an unmasked client frame is refused at its second byte), so each
  // connection fails at once rather than waiting for more.
  constexpr int kClients = 1000;
  std::mt19937 rng(20261125);
  std::vector<TestClient> clients;
  clients.reserve(kClients);
  int opened = 0;
  for (int i = 0; i < kClients; ++i) {
    std::string junk(64 + rng() % 512, '\0');
    for (char& ch : junk) ch = static_cast<char>(rng());
    clients.emplace_back(w.port());
    TestClient& c = clients.back();
    if (i % 2 == 0) {
      junk[0] = '\0';
      c.send(junk);
    } else {
      c.send(wsUpgrade());
      REQUIRE(wsReadHead(c).rfind("HTTP/1.1 101", 0) == 0);
      ++opened;
      junk[0] = static_cast<char>(0x82);
      junk[1] = static_cast<char>(junk[1] & 0x7f);  // mask bit clear
      c.send(junk);
    }
  }
  for (int i = 0; i < kClients; ++i) {
    INFO("client " << i);
    std::string reply = clients[i].readUntilClosed(std::chrono::seconds(10));
    if (i % 2 == 0) {
      CHECK(reply.rfind("HTTP/1.1 400", 0) == 0);
    } else {
      // One Close frame with code 1002, and nothing else.
      REQUIRE(reply.size() >= 4);
      CHECK(reply[0] == '\x88');
      CHECK(static_cast<std::size_t>(reply[1]) == reply.size() - 2);
      CHECK(reply.substr(2, 2) == wsClosePayload(1002));
    }
    clients[i].close();
  }
  REQUIRE(closes.waitFor(opened, std::chrono::seconds(10)));
  CHECK(connects.count() == opened);
  CHECK(server.onLoop([&] { return w.stats().protocol_errors; }) == kClients);
  CHECK(server.onLoop([&] { return w.connections().size(); }) == 0);

  // The worker still serves.
  TestClient ok(w.port());
  ok.send(wsUpgrade());
  REQUIRE(wsReadHead(ok).rfind("HTTP/1.1 101", 0) == 0);
  ok.send(wsFrame(0x81, "healthy"));
  WsFrame echo = wsReadFrame(ok);
  CHECK(echo.first == 0x81);
  CHECK(echo.payload == "healthy");
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
