// TlsSession against TlsSession: handshakes, data both ways, close_notify, corrupted
// records, renegotiation and key updates, all in memory.
#include <openssl/ssl.h>

#include <catch2/catch.hpp>
#include <random>
#include <string>

#include "tls_test_util.h"

using wman::detail::TlsSession;
using namespace wman::test;
using State = TlsSession::State;

namespace {

std::string randomBytes(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

// A client capped at `max_version` ("" = TLS 1.3) against the default test server.
SessionPair connected(const std::string& max_version) {
  auto options = clientOptions();
  options.max_version = max_version;
  return SessionPair(makeClient(options), makeServer(serverConfig()));
}

}  // namespace

TEST_CASE("handshake, then data both ways", "[tls][session]") {
  const auto [max_version, protocol] = GENERATE(table<std::string, std::string>({
      {"1.2", "TLSv1.2"},
      {"", "TLSv1.3"},
  }));
  INFO("client max_version " << max_version);
  SessionPair p = connected(max_version);
  CHECK(p.server->state() == State::Handshaking);
  CHECK_FALSE(p.server->handshakeDone());
  CHECK(p.client->hasOutput());  // the ClientHello
  // The client verifies the chain up to ca.pem, so this also proves the server sent the
  // intermediate from server.pem.
  REQUIRE(p.handshake());
  CHECK(p.server->handshakeDone());
  CHECK(p.client->handshakeDone());
  CHECK(p.server->protocol() == protocol);
  CHECK(p.client->protocol() == protocol);
  CHECK(p.server->cipher() == p.client->cipher());
  CHECK(p.server->error().empty());
  CHECK(p.server->serverName() == "localhost");
  CHECK(p.server->alpn().empty());
  CHECK_FALSE(p.server->resumed());
  CHECK(p.server->peerSubject().empty());  // no client certificate asked for
  CHECK(p.client->peerSubject() == "CN=localhost,O=wman test");
  CHECK(p.client->peerFingerprint() == fileFingerprint(TestCerts::get().path("server.pem")));

  REQUIRE(p.client->write("hello from the client"));
  p.pump();
  CHECK(p.server_got == "hello from the client");
  REQUIRE(p.server->write("hello from the server"));
  p.pump();
  CHECK(p.client_got == "hello from the server");

  SECTION("1 MiB each way") {
    const std::string up = randomBytes(1 << 20, 1);
    const std::string down = randomBytes(1 << 20, 2);
    p.server_got.clear();
    p.client_got.clear();
    REQUIRE(p.client->write(up));
    REQUIRE(p.server->write(down));
    p.pump();
    CHECK(p.server_got.size() == up.size());
    CHECK(p.server_got == up);
    CHECK(p.client_got.size() == down.size());
    CHECK(p.client_got == down);
    // Both directions drained: nothing is kept in the sessions' buffers.
    CHECK(p.server->bufferedInput() == 0);
    CHECK_FALSE(p.server->hasOutput());
  }

  SECTION("a small read buffer gets everything, in order") {
    const std::string up = randomBytes(100000, 3);
    REQUIRE(p.client->write(up));
    std::string wire;
    p.client->takeOutput(wire);
    p.server->feed(wire.data(), wire.size());
    std::string got;
    char buf[7];
    std::ptrdiff_t n;
    while ((n = p.server->read(buf, sizeof buf)) > 0) {
      CHECK(n <= 7);
      got.append(buf, static_cast<std::size_t>(n));
    }
    CHECK(n == 0);
    CHECK(got == up);
  }
}

TEST_CASE("ciphertext delivered one byte at a time", "[tls][session]") {
  const std::string max_version = GENERATE(std::string("1.2"), std::string(""));
  INFO("client max_version " << max_version);
  SessionPair p = connected(max_version);
  p.pump(1);
  REQUIRE(p.client->state() == State::Open);
  REQUIRE(p.server->state() == State::Open);
  REQUIRE(p.client->write("split everywhere"));
  p.pump(1);
  CHECK(p.server_got == "split everywhere");
}

TEST_CASE("plaintext written during the handshake is sent when it completes", "[tls][session]") {
  const std::string max_version = GENERATE(std::string("1.2"), std::string(""));
  INFO("client max_version " << max_version);
  SessionPair p = connected(max_version);
  REQUIRE(p.server->write("early "));
  REQUIRE(p.server->write("server data"));
  REQUIRE(p.client->write("early client data"));
  REQUIRE(p.handshake());
  CHECK(p.server_got == "early client data");
  CHECK(p.client_got == "early server data");
}

TEST_CASE("close_notify closes both sides", "[tls][session]") {
  const std::string max_version = GENERATE(std::string("1.2"), std::string(""));
  INFO("client max_version " << max_version);
  SessionPair p = connected(max_version);
  REQUIRE(p.handshake());
  // Data sent just before the close_notify still arrives.
  REQUIRE(p.client->write("last words"));
  p.client->shutdown();
  CHECK(p.client->state() == State::Closed);
  CHECK_FALSE(p.client->write("too late"));
  p.pump();
  CHECK(p.server_got == "last words");
  CHECK(p.server->state() == State::Closed);
  CHECK(p.server->error().empty());
  char buf[16];
  CHECK(p.server->read(buf, sizeof buf) == -1);
  CHECK_FALSE(p.server->write("too late"));
  // The server answered with its own close_notify, which the client ignores once closed.
  CHECK(p.client->state() == State::Closed);
  CHECK(p.client->error().empty());

  SECTION("the server side closes first") {
    SessionPair q = connected(max_version);
    REQUIRE(q.handshake());
    q.server->shutdown();
    q.pump();
    CHECK(q.client->state() == State::Closed);
    CHECK(q.client->error().empty());
  }
}

TEST_CASE("shutdown during the handshake closes without a close_notify", "[tls][session]") {
  SessionPair p = connected("");
  REQUIRE(p.server->write("never sent"));
  p.server->shutdown();
  CHECK(p.server->state() == State::Closed);
  std::string wire;
  p.client->takeOutput(wire);
  p.server->feed(wire.data(), wire.size());
  char buf[16];
  CHECK(p.server->read(buf, sizeof buf) == -1);
  CHECK_FALSE(p.server->hasOutput());
}

TEST_CASE("a corrupted record fails the session with a reason", "[tls][session]") {
  const auto [max_version, reason] = GENERATE(table<std::string, std::string>({
      {"1.2", "decryption failed or bad record mac"},
      {"", "decryption failed or bad record mac"},
  }));
  INFO("client max_version " << max_version);
  SessionPair p = connected(max_version);
  REQUIRE(p.handshake());
  REQUIRE(p.client->write("this record will be damaged in transit"));
  std::string wire;
  p.client->takeOutput(wire);
  REQUIRE(wire.size() > 20);
  wire[wire.size() / 2] ^= 0x01;
  p.server->feed(wire.data(), wire.size());
  char buf[64];
  CHECK(p.server->read(buf, sizeof buf) == -1);
  CHECK(p.server->state() == State::Failed);
  CHECK(p.server->error() == reason);
  CHECK_FALSE(p.server->write("x"));
  // The server queued a bad_record_mac alert; the client learns why.
  REQUIRE(p.server->hasOutput());
  p.pump();
  CHECK(p.client->state() == State::Failed);
  CHECK(p.client->error() == "sslv3 alert bad record mac");
  // A failed session ignores further input.
  p.server->feed("more", 4);
  CHECK(p.server->bufferedInput() == 0);
}

TEST_CASE("renegotiation is refused", "[tls][session]") {
  SessionPair p = connected("1.2");
  REQUIRE(p.handshake());
  SSL* client = p.client->native();
  REQUIRE(SSL_renegotiate(client) == 1);
  SSL_do_handshake(client);  // queues the new ClientHello
  p.pump();
  // The server answers no_renegotiation; the client gives up on the connection.
  CHECK(p.client->state() == State::Failed);
  CHECK(p.client->error() == "no renegotiation");
  CHECK(p.server->state() != State::Handshaking);
}

TEST_CASE("TLS 1.3 key updates are followed", "[tls][session]") {
  SessionPair p = connected("");
  REQUIRE(p.handshake());
  REQUIRE(SSL_key_update(p.client->native(), SSL_KEY_UPDATE_REQUESTED) == 1);
  REQUIRE(p.client->write("after the key update"));
  p.pump();
  CHECK(p.server_got == "after the key update");
  REQUIRE(p.server->write("reply with new keys"));
  p.pump();
  CHECK(p.client_got == "reply with new keys");
  CHECK(p.server->state() == State::Open);
}
