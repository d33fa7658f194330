// What a client context checks before it trusts a server: the chain (against `ca` or the
// system store), the validity dates and the name, and which SNI it sends. Outbound
// connections rely on this being on unless the caller turns it off.
#include <stdlib.h>

#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <catch2/catch.hpp>
#include <optional>
#include <string>

#include "tls_test_util.h"

using wman::TlsConfig;
using wman::detail::TlsSession;
using namespace wman::test;
using State = TlsSession::State;

namespace {

// A server presenting `name`.pem / `name`.key from the test certificates.
std::shared_ptr<TlsContext> serverWith(const std::string& name) {
  const TestCerts& c = TestCerts::get();
  TlsConfig tls;
  tls.cert = c.path(name + ".pem");
  tls.key = c.path(name + ".key");
  return makeServer(tls);
}

// Runs a handshake of a client with `options` against a server presenting `cert`. Returns
// "" when both sides opened, else the client's error; *verify_result gets the client's
// X509_V_* code.
std::string handshakeError(const TlsClientOptions& options, const std::string& cert,
                           long* verify_result = nullptr) {
  SessionPair p(makeClient(options), serverWith(cert));
  const bool open = p.handshake();
  if (verify_result) *verify_result = SSL_get_verify_result(p.client->native());
  if (open) return "";
  // The client refuses the server, not the other way round: the server only hears an alert.
  CHECK(p.client->state() == State::Failed);
  CHECK(p.server->state() == State::Failed);
  return std::string(p.client->error());
}

std::string createError(const TlsClientOptions& options) {
  std::string error;
  CHECK_FALSE(TlsContext::createClient(options, &error));
  return error;
}

// Sets an environment variable for one test and puts the old value back.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    if (const char* old = ::getenv(name)) old_ = old;
    ::setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

}  // namespace

TEST_CASE("verification is on by default", "[tls][verify]") {
  CHECK(TlsClientOptions{}.verify);
  CHECK(makeClient(clientOptions())->verifiesPeer());
}

TEST_CASE("a valid chain for the right name verifies; SNI only for DNS names", "[tls][verify]") {
  const auto [name, sni] = GENERATE(table<std::string, std::string>({
      {"localhost", "localhost"},
      {"LOCALHOST", "LOCALHOST"},   // sent as given; names compare without case
      {"localhost.", "localhost"},  // RFC 6066: no trailing dot in SNI
      {"127.0.0.1", ""},            // RFC 6066: never an address literal
      {"::1", ""},
      {"[::1]", ""},
  }));
  const auto max_version = GENERATE(as<std::string>{}, "1.2", "");
  INFO("server_name '" << name << "', max_version '" << max_version << "'");
  auto options = clientOptions();
  options.server_name = name;
  options.max_version = max_version;
  SessionPair p(makeClient(options), makeServer(serverConfig()));
  REQUIRE(p.handshake());
  CHECK(SSL_get_verify_result(p.client->native()) == X509_V_OK);
  CHECK(p.server->serverName() == sni);
}

TEST_CASE("a certificate for another name fails naming the mismatch", "[tls][verify]") {
  const auto [name, code, reason] = GENERATE(table<std::string, long, std::string>({
      {"other.test", X509_V_ERR_HOSTNAME_MISMATCH, "hostname mismatch"},
      {"localhostx", X509_V_ERR_HOSTNAME_MISMATCH, "hostname mismatch"},
      {"127.0.0.2", X509_V_ERR_IP_ADDRESS_MISMATCH, "IP address mismatch"},
      {"::2", X509_V_ERR_IP_ADDRESS_MISMATCH, "IP address mismatch"},
  }));
  INFO("server_name '" << name << "'");
  auto options = clientOptions();
  options.server_name = name;
  long result = X509_V_OK;
  CHECK(handshakeError(options, "server", &result) == "certificate verify failed (" + reason + ")");
  CHECK(result == code);
}

TEST_CASE("certificates outside their validity fail naming it", "[tls][verify]") {
  const auto [cert, reason] = GENERATE(table<std::string, std::string>({
      {"expired", "certificate has expired"},
      {"future", "certificate is not yet valid"},
  }));
  INFO(cert << ".pem");
  CHECK(handshakeError(clientOptions(), cert) == "certificate verify failed (" + reason + ")");
}

TEST_CASE("a chain to an unknown CA fails naming it", "[tls][verify]") {
  SECTION("the server's CA is not the one trusted") {
    auto options = clientOptions();
    options.ca = TestCerts::get().path("rogue-ca.pem");
    CHECK(handshakeError(options, "server") ==
          "certificate verify failed (unable to get local issuer certificate)");
  }
  SECTION("a self-signed certificate") {
    CHECK(handshakeError(clientOptions(), "selfsigned") ==
          "certificate verify failed (self-signed certificate)");
  }
}

TEST_CASE("without ca the system store decides, not nobody", "[tls][verify]") {
  auto options = clientOptions();
  options.ca.clear();
  SECTION("the test CA is not in the system store") {
    CHECK(handshakeError(options, "server") ==
          "certificate verify failed (unable to get local issuer certificate)");
    CHECK(handshakeError(options, "selfsigned") ==
          "certificate verify failed (self-signed certificate)");
  }
  SECTION("SSL_CERT_FILE, OpenSSL's override of the system bundle, is what is read") {
    const ScopedEnv env("SSL_CERT_FILE", TestCerts::get().path("ca.pem"));
    CHECK(handshakeError(options, "server").empty());
  }
}

TEST_CASE("verify = false accepts what verification refuses", "[tls][verify]") {
  const auto [cert, name, ca] = GENERATE(table<std::string, std::string, std::string>({
      {"server", "other.test", "ca.pem"},
      {"server", "127.0.0.2", "ca.pem"},
      {"server", "localhost", "rogue-ca.pem"},
      {"server", "localhost", ""},
      {"server", "", ""},
      {"expired", "localhost", "ca.pem"},
      {"future", "localhost", "ca.pem"},
      {"selfsigned", "localhost", ""},
  }));
  INFO(cert << ".pem for '" << name << "', ca '" << ca << "'");
  TlsClientOptions options;
  options.verify = false;
  options.server_name = name;
  if (!ca.empty()) options.ca = TestCerts::get().path(ca);
  auto client = makeClient(options);
  CHECK_FALSE(client->verifiesPeer());
  SessionPair p(client, serverWith(cert));
  REQUIRE(p.handshake());
  REQUIRE(p.client->write("ping"));
  p.pump();
  CHECK(p.server_got == "ping");
}

TEST_CASE("no SNI for an address literal, even without verification", "[tls][verify]") {
  TlsClientOptions options;
  options.verify = false;
  options.server_name = GENERATE(as<std::string>{}, "127.0.0.1", "::1", "[::1]", "fe80::1%lo");
  SessionPair p(makeClient(options), makeServer(serverConfig()));
  REQUIRE(p.handshake());
  CHECK(p.server->serverName().empty());
}

TEST_CASE("createClient refuses to verify without a usable name", "[tls][verify]") {
  auto options = clientOptions();
  SECTION("none") {
    options.server_name.clear();
    CHECK(createError(options) == "TLS verification needs a server name");
  }
  SECTION("a lone dot or empty brackets") {
    options.server_name = GENERATE(as<std::string>{}, ".", "[]");
    CHECK(createError(options) == "TLS verification needs a server name");
  }
  SECTION("an address that does not parse") {
    options.server_name = "::zz";
    CHECK(createError(options) == "invalid server name '::zz': not a DNS name or IP address");
  }
  SECTION("a CA bundle that cannot be read") {
    options.ca = TestCerts::get().path("missing.pem");
    CHECK_THAT(createError(options), Catch::StartsWith("cannot read CA bundle " + options.ca));
  }
}
