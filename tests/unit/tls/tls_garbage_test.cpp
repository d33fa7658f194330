// Bytes that are not TLS: a server session fails fast with a reason and never crashes.
#include <catch2/catch.hpp>
#include <random>
#include <string>

#include "tls_test_util.h"

using wman::detail::TlsSession;
using namespace wman::test;
using State = TlsSession::State;

TEST_CASE("plain HTTP on a TLS port fails at once", "[tls][garbage]") {
  TlsSession server(makeServer(serverConfig()));
  const std::string request = "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";
  server.feed(request.data(), request.size());
  char buf[64];
  CHECK(server.read(buf, sizeof buf) == -1);
  CHECK(server.state() == State::Failed);
  CHECK(server.error() == "http request");
}

TEST_CASE("random bytes fail a server session quickly", "[tls][garbage]") {
  auto ctx = makeServer(serverConfig());
  std::mt19937 rng(20261125);
  int failed_at_once = 0;
  constexpr int kRuns = 300;
  for (int run = 0; run < kRuns; ++run) {
    TlsSession server(ctx);
    std::size_t fed = 0;
    // Random chunks, as a socket would deliver them, up to 64 KiB in all.
    while (server.state() == State::Handshaking && fed < 64 * 1024) {
      std::string chunk(1 + rng() % 4096, '\0');
      for (char& c : chunk) c = static_cast<char>(rng());
      server.feed(chunk.data(), chunk.size());
      fed += chunk.size();
      char buf[256];
      server.read(buf, sizeof buf);
      std::string wire;
      server.takeOutput(wire);
      if (fed == chunk.size() && server.state() == State::Failed) ++failed_at_once;
    }
    INFO("run " << run << " fed " << fed);
    CHECK(server.state() == State::Failed);
    CHECK_FALSE(server.error().empty());
  }
  // Nearly every run is rejected on its first record header.
  CHECK(failed_at_once > kRuns * 9 / 10);
}

TEST_CASE("random bytes after the handshake fail the session", "[tls][garbage]") {
  SessionPair p(makeClient(clientOptions()), makeServer(serverConfig()));
  REQUIRE(p.handshake());
  std::mt19937 rng(7);
  std::string junk(1000, '\0');
  for (char& c : junk) c = static_cast<char>(rng());
  p.server->feed(junk.data(), junk.size());
  char buf[64];
  CHECK(p.server->read(buf, sizeof buf) == -1);
  CHECK(p.server->state() == State::Failed);
  CHECK_FALSE(p.server->error().empty());
}

TEST_CASE("an oversized record header fails without waiting for its body", "[tls][garbage]") {
  SessionPair p(makeClient(clientOptions()), makeServer(serverConfig()));
  REQUIRE(p.handshake());
  const std::string header("\x17\x03\x03\xff\xff", 5);  // application data, 65535 bytes
  p.server->feed(header.data(), header.size());
  char buf[64];
  CHECK(p.server->read(buf, sizeof buf) == -1);
  CHECK(p.server->state() == State::Failed);
  CHECK(p.server->error() == "packet length too long");
}

TEST_CASE("a client that stops mid-handshake leaves the server waiting, not spinning",
          "[tls][garbage]") {
  SessionPair p(makeClient(clientOptions()), makeServer(serverConfig()));
  std::string hello;
  p.client->takeOutput(hello);
  REQUIRE(hello.size() > 10);
  p.server->feed(hello.data(), hello.size() / 2);
  char buf[64];
  for (int i = 0; i < 3; ++i) CHECK(p.server->read(buf, sizeof buf) == 0);
  CHECK(p.server->state() == State::Handshaking);
  CHECK_FALSE(p.server->hasOutput());
  // The rest arrives: the handshake goes on.
  p.server->feed(hello.data() + hello.size() / 2, hello.size() - hello.size() / 2);
  CHECK(p.server->read(buf, sizeof buf) == 0);
  CHECK(p.server->hasOutput());
  REQUIRE(p.handshake());
}
