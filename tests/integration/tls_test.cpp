// TLS under the connection: the runtime's TLS transport carrying text and WebSocket, the
// application hearing of a connection only after its handshake, close_notify, plain HTTP
// and garbage on a TLS port, a stalled handshake, and a worker refusing a bad certificate.
#include <catch2/catch.hpp>

#include <chrono>
#include <memory>
#include <string>

#include "event_counter.h"
#include "held_bytes.h"
#include "test_client.h"
#include "test_server.h"
#include "tls_test_util.h"
#include "wman/serve.h"
#include "ws_test_client.h"

using namespace wman;
using namespace wman::test;
using namespace std::chrono_literals;

namespace {

// A blocking TLS client over a TestClient, trusting the test CA.
class TlsTestClient {
 public:
  explicit TlsTestClient(std::uint16_t port) : tcp_(port), session_(makeClient(clientOptions())) {}

  // Runs the handshake; false if the server closed or failed it.
  bool handshake(std::chrono::milliseconds timeout = 5s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (session_.state() == TlsSession::State::Handshaking) {
      pushOutput();
      if (!pull(deadline)) return false;
    }
    pushOutput();
    return session_.state() == TlsSession::State::Open;
  }

  void send(std::string_view plain) {
    session_.write(plain);
    pushOutput();
  }

  // Exactly `n` plaintext bytes; throws on timeout, close or failure.
  std::string recv(std::size_t n, std::chrono::milliseconds timeout = 5s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (plain_.size() < n) {
      if (!pull(deadline))
        throw std::runtime_error("tls recv: got " + std::to_string(plain_.size()));
    }
    std::string out = plain_.substr(0, n);
    plain_.erase(0, n);
    return out;
  }

  // True once the server's close_notify arrived (plaintext before it is kept).
  bool closeNotifyWithin(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (session_.state() != TlsSession::State::Closed) {
      if (!pull(deadline)) return session_.state() == TlsSession::State::Closed;
    }
    return true;
  }

  TestClient& tcp() { return tcp_; }
  TlsSession& session() { return session_; }

 private:
  void pushOutput() {
    std::string wire;
    session_.takeOutput(wire);
    if (!wire.empty()) tcp_.send(wire);
  }
  // Reads once from the socket and decrypts; false on EOF, timeout or a failed session.
  bool pull(std::chrono::steady_clock::time_point deadline) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    std::string wire = tcp_.recvSome(65536, left);
    if (wire.empty()) return false;
    session_.feed(wire.data(), wire.size());
    drain(session_, plain_);
    pushOutput();
    return session_.state() != TlsSession::State::Failed;
  }

  TestClient tcp_;
  TlsSession session_;
  std::string plain_;
};

}  // namespace

TEST_CASE("tls: text over TLS echoes; onConnect follows the handshake") {
  Worker w("text://127.0.0.1:0");
  w.tls = serverConfig();
  installBuiltinApp("echo", w);
  EventCounter connects, closes;
  w.onConnect = [&](Connection&) { connects.add(); };
  w.onClose = [&](Connection&) { closes.add(); };
  TestServer server({&w});

  TlsTestClient c(w.port());
  // Before the client's first flight the server has only a TCP connection: nothing to tell.
  CHECK(connects.count() == 0);
  REQUIRE(c.handshake());
  REQUIRE(connects.waitFor(1));
  c.send("hello over tls\n");
  CHECK(c.recv(15) == "hello over tls\n");
  const std::string big(300'000, 'x');
  c.send(big + "\n");
  CHECK(c.recv(big.size() + 1) == big + "\n");

  // The client's close_notify closes the connection; the server answers with its own.
  c.session().shutdown();
  std::string wire;
  c.session().takeOutput(wire);
  c.tcp().send(wire);
  CHECK(c.tcp().closedWithin(5s));
  CHECK(closes.waitFor(1));
}

TEST_CASE("tls: an idle TLS connection holds no buffers between messages") {
  Worker w("text://127.0.0.1:0");
  w.tls = serverConfig();
  installBuiltinApp("echo", w);
  TestServer server({&w});
  TlsTestClient c(w.port());
  REQUIRE(c.handshake());
  c.send("hello over tls\n");
  CHECK(c.recv(15) == "hello over tls\n");
  // The echo went out whole, so the connection's buffers were given back with it.
  CHECK(heldByConnections(server, w) == 0);
}

TEST_CASE("tls: the server's close() ends the stream with close_notify") {
  Worker w("text://127.0.0.1:0");
  w.tls = serverConfig();
  w.onMessage = [](Connection& c, Message m) { c.close("bye " + m.str()); };
  TestServer server({&w});

  TlsTestClient c(w.port());
  REQUIRE(c.handshake());
  c.send("you\n");
  CHECK(c.recv(8) == "bye you\n");
  CHECK(c.closeNotifyWithin(5s));
  CHECK(c.tcp().closedWithin(5s));
}

TEST_CASE("tls: wss carries the WebSocket handshake and frames") {
  Worker w("wss://127.0.0.1:0");
  w.tls = serverConfig();
  installBuiltinApp("echo", w);
  TestServer server({&w});

  TlsTestClient c(w.port());
  REQUIRE(c.handshake());
  c.send(wsUpgrade());
  std::string head;
  while (head.find("\r\n\r\n") == std::string::npos) head += c.recv(1);
  CHECK(head.rfind("HTTP/1.1 101", 0) == 0);
  c.send(wsFrame(0x81, "secure hello"));
  CHECK(c.recv(14) == std::string("\x81\x0csecure hello", 14));
  const std::string payload(70'000, 'b');
  c.send(wsFrame(0x82, payload));
  CHECK(c.recv(10 + payload.size()).substr(10) == payload);
}

TEST_CASE("tls: plain HTTP, garbage and a stalled handshake lose only their connection") {
  Worker w("wss://127.0.0.1:0");
  w.tls = serverConfig();
  w.limits.handshake_timeout = 300ms;
  installBuiltinApp("echo", w);
  EventCounter connects, closes;
  w.onConnect = [&](Connection&) { connects.add(); };
  w.onClose = [&](Connection&) { closes.add(); };
  TestServer server({&w});

  TlsTestClient good(w.port());
  REQUIRE(good.handshake());
  good.send(wsUpgrade());
  std::string head;
  while (head.find("\r\n\r\n") == std::string::npos) head += good.recv(1);
  REQUIRE(connects.waitFor(1));

  {
    TestClient http(w.port());
    http.send("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n");
    std::string reply = http.readUntilClosed(5s);
    CHECK(reply.rfind("HTTP/1.1 400 Bad Request", 0) == 0);
    CHECK(reply.find("speaks TLS") != std::string::npos);
  }
  {
    TestClient junk(w.port());
    junk.send(std::string("\x16\x03\x01\x00\x05garbage-not-a-client-hello", 32));
    CHECK(junk.closedWithin(5s));
  }
  {
    TestClient stalled(w.port());
    stalled.send(std::string("\x16\x03\x01\x02\x00", 5));  // a record header, then nothing
    CHECK(stalled.closedWithin(5s));
  }
  // None of those reached the application, and the good session still echoes.
  CHECK(connects.count() == 1);
  CHECK(closes.count() == 0);
  CHECK(server.onLoop([&] { return w.stats().protocol_errors; }) == 2);
  good.send(wsFrame(0x81, "still here"));
  CHECK(good.recv(12) == std::string("\x81\x0astill here", 12));
}

TEST_CASE("tls: handshake_timeout closes a client that sent half a ClientHello") {
  // A stalled handshake holds the TLS session's buffers (tens of KiB); handshake_timeout is
  // what bounds how long.
  Worker w("text://127.0.0.1:0");
  w.tls = serverConfig();
  w.limits.handshake_timeout = 300ms;
  installBuiltinApp("echo", w);
  EventCounter connects;
  w.onConnect = [&](Connection&) { connects.add(); };
  TestServer server({&w});

  TlsSession client(makeClient(clientOptions()));
  std::string hello;
  client.takeOutput(hello);
  REQUIRE(hello.size() > 100);
  TestClient stalled(w.port());
  stalled.send(hello.substr(0, hello.size() / 2));
  CHECK(stalled.closedWithin(5s));
  CHECK(connects.count() == 0);
  // The socket is closed before the loop's close phase forgets the connection, and a busy
  // machine can run this check in between: wait for that phase instead of racing it.
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  std::size_t left = 1;
  while (left != 0 && std::chrono::steady_clock::now() < deadline) {
    left = server.onLoop([&w] { return w.runtime().connections().size(); });
  }
  CHECK(left == 0);
}

TEST_CASE("tls: a worker whose certificate cannot be loaded does not start") {
  Worker w("wss://127.0.0.1:0");
  w.tls = serverConfig();
  w.tls.key = TestCerts::get().path("other.key");  // does not match server.pem
  CHECK_THROWS(TestServer({&w}));
  Worker bare("wss://127.0.0.1:0");  // wss:// without any certificate
  CHECK_THROWS(TestServer({&bare}));
}
