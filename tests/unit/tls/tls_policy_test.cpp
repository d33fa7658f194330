// What a server context enforces: versions, ALPN, SNI, client certificates and resumption.
#include <openssl/ssl.h>

#include <catch2/catch.hpp>
#include <string>

#include "tls_test_util.h"
#include "wman/tls.h"

using wman::TlsConfig;
using wman::TlsSniCertificate;
using wman::detail::TlsSession;
using namespace wman::test;
using State = TlsSession::State;

TEST_CASE("min_version 1.3 refuses a TLS 1.2 client", "[tls][policy]") {
  TlsConfig tls = serverConfig();
  tls.min_version = "1.3";
  auto options = clientOptions();
  options.max_version = "1.2";
  SessionPair p(makeClient(options), makeServer(tls));
  p.pump();
  CHECK(p.server->state() == State::Failed);
  CHECK(p.server->error() == "unsupported protocol");
  CHECK(p.client->state() == State::Failed);
  CHECK(p.client->error() == "tlsv1 alert protocol version");

  // The same client is welcome at the default minimum.
  SessionPair q(makeClient(options), makeServer(serverConfig()));
  CHECK(q.handshake());
}

TEST_CASE("TLS 1.1 is never accepted", "[tls][policy]") {
  auto client = makeClient(clientOptions());
  // Force the client down to TLS 1.1, which needs security level 0 in OpenSSL 3.
  SSL_CTX* raw = client->native();
  SSL_CTX_set_security_level(raw, 0);
  REQUIRE(SSL_CTX_set_cipher_list(raw, "DEFAULT:@SECLEVEL=0") == 1);
  REQUIRE(SSL_CTX_set_min_proto_version(raw, TLS1_1_VERSION) == 1);
  REQUIRE(SSL_CTX_set_max_proto_version(raw, TLS1_1_VERSION) == 1);
  SessionPair p(client, makeServer(serverConfig()));
  p.pump();
  CHECK(p.server->state() == State::Failed);
  CHECK(p.server->error() == "unsupported protocol");
  CHECK(p.client->state() == State::Failed);
}

TEST_CASE("ALPN picks the server's preferred common protocol", "[tls][policy]") {
  TlsConfig tls = serverConfig();
  tls.alpn = {"x-chat", "http/1.1"};
  auto server = makeServer(tls);

  auto offer = [&](std::vector<std::string> protocols) {
    auto options = clientOptions();
    options.alpn = std::move(protocols);
    return SessionPair(makeClient(options), server);
  };

  SessionPair both = offer({"http/1.1", "x-chat"});
  REQUIRE(both.handshake());
  CHECK(both.server->alpn() == "x-chat");
  CHECK(both.client->alpn() == "x-chat");

  SessionPair one = offer({"h2", "http/1.1"});
  REQUIRE(one.handshake());
  CHECK(one.server->alpn() == "http/1.1");

  // A client that offers no ALPN gets none.
  SessionPair none = offer({});
  REQUIRE(none.handshake());
  CHECK(none.server->alpn().empty());

  // A client whose every protocol is unknown is refused (RFC 7301 section 3.2).
  SessionPair other = offer({"h2"});
  other.pump();
  CHECK(other.server->state() == State::Failed);
  CHECK(other.server->error() == "no application protocol");
  CHECK(other.client->state() == State::Failed);
  CHECK(other.client->error() == "tlsv1 alert no application protocol");

  // Without alpn in the config, offers are ignored.
  auto options = clientOptions();
  options.alpn = {"h2"};
  SessionPair plain(makeClient(options), makeServer(serverConfig()));
  REQUIRE(plain.handshake());
  CHECK(plain.server->alpn().empty());
}

TEST_CASE("SNI selects the certificate", "[tls][policy]") {
  const TestCerts& c = TestCerts::get();
  TlsConfig tls = serverConfig();
  // The wildcard comes first to show that an exact name wins wherever it is listed.
  tls.sni = {TlsSniCertificate{"*.other.test", c.path("soon.pem"), c.path("soon.key")},
             TlsSniCertificate{"exact.other.test", c.path("other.pem"), c.path("other.key")},
             TlsSniCertificate{"other.test", c.path("other.pem"), c.path("other.key")}};
  auto server = makeServer(tls);
  const std::string fallback = fileFingerprint(c.path("server.pem"));
  const std::string other = fileFingerprint(c.path("other.pem"));
  const std::string soon = fileFingerprint(c.path("soon.pem"));

  const auto [name, fingerprint] = GENERATE_COPY(table<std::string, std::string>({
      {"", fallback},
      {"localhost", fallback},
      {"other.test", other},
      {"OTHER.Test", other},
      {"exact.other.test", other},
      {"a.other.test", soon},
      {"a.b.other.test", fallback},
      {"unknown.example", fallback},
  }));
  INFO("SNI name '" << name << "'");
  wman::detail::TlsClientOptions options;
  options.verify = false;  // names and certificates differ on purpose
  options.server_name = name;
  SessionPair p(makeClient(options), server);
  REQUIRE(p.handshake());
  CHECK(p.client->peerFingerprint() == fingerprint);
  CHECK(p.server->serverName() == name);
  // The handshake after a switch still carries data.
  REQUIRE(p.client->write("ping"));
  p.pump();
  CHECK(p.server_got == "ping");
}

TEST_CASE("SNI with verification: the other certificate verifies for its name", "[tls][policy]") {
  const TestCerts& c = TestCerts::get();
  TlsConfig tls = serverConfig();
  tls.sni = {TlsSniCertificate{"other.test", c.path("other.pem"), c.path("other.key")}};
  auto options = clientOptions();
  options.server_name = "other.test";
  SessionPair p(makeClient(options), makeServer(tls));
  REQUIRE(p.handshake());
  CHECK(p.client->peerSubject() == "CN=other.test,O=wman test");
}

TEST_CASE("verify_client requires a certificate signed by ca", "[tls][policy]") {
  const TestCerts& c = TestCerts::get();
  TlsConfig tls = serverConfig();
  tls.ca = c.path("ca.pem");
  tls.verify_client = true;
  auto server = makeServer(tls);
  const std::string max_version = GENERATE(std::string("1.2"), std::string(""));
  INFO("client max_version " << max_version);

  auto options = clientOptions();
  options.max_version = max_version;
  SECTION("a client certificate from the CA is accepted") {
    options.cert = c.path("client.pem");
    options.key = c.path("client.key");
    SessionPair p(makeClient(options), server);
    REQUIRE(p.handshake());
    CHECK(p.server->peerSubject() == "CN=wman test client,O=wman test");
    CHECK(p.server->peerFingerprint() == fileFingerprint(c.path("client.pem")));
    REQUIRE(p.client->write("authenticated"));
    p.pump();
    CHECK(p.server_got == "authenticated");
  }
  SECTION("a client without a certificate is refused") {
    SessionPair p(makeClient(options), server);
    p.pump();
    CHECK(p.server->state() == State::Failed);
    CHECK(p.server->error() == "peer did not return a certificate");
    CHECK(p.client->state() == State::Failed);
  }
  SECTION("a certificate from another CA is refused") {
    options.cert = c.path("rogue.pem");
    options.key = c.path("rogue.key");
    SessionPair p(makeClient(options), server);
    p.pump();
    CHECK(p.server->state() == State::Failed);
    CHECK(p.server->error() ==
          "certificate verify failed (unable to get local issuer certificate)");
    CHECK(p.client->state() == State::Failed);
  }
}

TEST_CASE("ca without verify_client makes client certificates optional", "[tls][policy]") {
  const TestCerts& c = TestCerts::get();
  TlsConfig tls = serverConfig();
  tls.ca = c.path("ca.pem");
  auto server = makeServer(tls);

  SessionPair anonymous(makeClient(clientOptions()), server);
  REQUIRE(anonymous.handshake());
  CHECK(anonymous.server->peerSubject().empty());

  auto options = clientOptions();
  options.cert = c.path("client.pem");
  options.key = c.path("client.key");
  SessionPair known(makeClient(options), server);
  REQUIRE(known.handshake());
  CHECK(known.server->peerSubject() == "CN=wman test client,O=wman test");

  options.cert = c.path("rogue.pem");
  options.key = c.path("rogue.key");
  SessionPair rogue(makeClient(options), server);
  rogue.pump();
  CHECK(rogue.server->state() == State::Failed);
}

TEST_CASE("sessions resume", "[tls][policy]") {
  const std::string max_version = GENERATE(std::string("1.2"), std::string(""));
  const bool verify_client = GENERATE(false, true);
  INFO("client max_version " << max_version << ", verify_client " << verify_client);
  const TestCerts& c = TestCerts::get();
  TlsConfig tls = serverConfig();
  auto options = clientOptions();
  options.max_version = max_version;
  options.reuse_sessions = true;
  if (verify_client) {
    tls.ca = c.path("ca.pem");
    tls.verify_client = true;
    options.cert = c.path("client.pem");
    options.key = c.path("client.key");
  }
  auto server = makeServer(tls);
  auto client = makeClient(options);

  SessionPair first(client, server);
  REQUIRE(first.handshake());
  CHECK_FALSE(first.server->resumed());
  REQUIRE(client->cachedSession() != nullptr);  // TLS 1.3: from the NewSessionTicket

  SessionPair second(client, server);
  REQUIRE(second.handshake());
  CHECK(second.server->resumed());
  CHECK(second.client->resumed());
  if (verify_client) CHECK(second.server->peerSubject() == "CN=wman test client,O=wman test");
  REQUIRE(second.client->write("resumed"));
  second.pump();
  CHECK(second.server_got == "resumed");

  // Another server context (another worker generation, say) cannot resume it.
  SessionPair elsewhere(client, makeServer(tls));
  REQUIRE(elsewhere.handshake());
  CHECK_FALSE(elsewhere.server->resumed());
}

TEST_CASE("sessions resume across contexts of one ticket-key generation", "[tls][policy]") {
  // Worker processes of one generation build their contexts separately; the keys drawn by
  // rotateTlsTicketKeys() before they fork let a client resume on any of them.
  TlsConfig tls = serverConfig();
  auto options = clientOptions();
  options.reuse_sessions = true;
  auto client = makeClient(options);

  wman::rotateTlsTicketKeys();
  auto worker_a = makeServer(tls);
  auto worker_b = makeServer(tls);
  SessionPair first(client, worker_a);
  REQUIRE(first.handshake());
  CHECK_FALSE(first.server->resumed());
  SessionPair second(client, worker_b);
  REQUIRE(second.handshake());
  CHECK(second.server->resumed());

  // The next generation has new keys: the old ticket no longer opens a session.
  wman::rotateTlsTicketKeys();
  SessionPair next(client, makeServer(tls));
  REQUIRE(next.handshake());
  CHECK_FALSE(next.server->resumed());
  wman::detail::setTicketKeys(false);  // leave other tests one key per context
}
