// TlsContext::createServer refuses what a worker could not serve, with a sentence naming the
// file at fault.
#include <openssl/ssl.h>

#include <catch2/catch.hpp>
#include <string>

#include "tls_test_util.h"

using wman::TlsConfig;
using wman::TlsSniCertificate;
using namespace wman::test;

namespace {

std::string serverError(const TlsConfig& tls) {
  std::string error;
  auto ctx = wman::detail::TlsContext::createServer(tls, &error);
  CHECK_FALSE(ctx);
  return error;
}

}  // namespace

TEST_CASE("certificate and key problems", "[tls][context]") {
  const TestCerts& c = TestCerts::get();
  const std::string server_pem = c.path("server.pem");
  const std::string server_key = c.path("server.key");
  TlsConfig tls = serverConfig();

  SECTION("key of another certificate") {
    tls.key = c.path("other.key");
    CHECK(serverError(tls) ==
          "tls key " + c.path("other.key") + " does not match certificate " + server_pem);
  }
  SECTION("chain in the wrong order") {
    // intermediate first, then the leaf
    const std::string pem = readText(server_pem);
    const std::string end = "-----END CERTIFICATE-----\n";
    const std::size_t split = pem.find(end) + end.size();
    tls.cert = writeText(c.path("reversed.pem"), pem.substr(split) + pem.substr(0, split));
    CHECK(serverError(tls) == "certificate chain " + tls.cert +
                                  " is in the wrong order: the certificate for key " + server_key +
                                  " must come first");
  }
  SECTION("missing certificate file") {
    tls.cert = c.path("missing.pem");
    CHECK(serverError(tls) ==
          "cannot read certificate " + tls.cert + ": No such file or directory");
  }
  SECTION("certificate file that is not PEM") {
    tls.cert = writeText(c.path("garbage.pem"), "not a certificate\n");
    CHECK(serverError(tls) == "cannot read certificate " + tls.cert + ": no PEM certificate found");
  }
  SECTION("damaged PEM certificate") {
    tls.cert = writeText(c.path("damaged.pem"),
                         "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
    CHECK_THAT(serverError(tls), Catch::StartsWith("cannot read certificate " + tls.cert + ": "));
  }
  SECTION("key file that holds a certificate") {
    tls.key = server_pem;
    CHECK(serverError(tls) ==
          "cannot read private key " + server_pem + ": no PEM private key found");
  }
  SECTION("missing key file") {
    tls.key = c.path("missing.key");
    CHECK(serverError(tls) == "cannot read private key " + tls.key + ": No such file or directory");
  }
  SECTION("encrypted key") {
    const std::string encrypted = c.path("encrypted.key");
    const std::string command = "openssl pkey -in '" + server_key + "' -out '" + encrypted +
                                "' -aes256 -passout pass:secret 2>/dev/null";
    REQUIRE(std::system(command.c_str()) == 0);
    tls.key = encrypted;
    CHECK(serverError(tls) == "cannot read private key " + encrypted +
                                  ": the key is encrypted; wman needs an unencrypted key");
  }
  SECTION("SNI entry with a mismatched key") {
    tls.sni = {TlsSniCertificate{"other.test", c.path("other.pem"), server_key}};
    CHECK(serverError(tls) ==
          "tls key " + server_key + " does not match certificate " + c.path("other.pem"));
  }
  SECTION("unreadable CA bundle") {
    tls.ca = c.path("missing-ca.pem");
    CHECK_THAT(serverError(tls), Catch::StartsWith("cannot read CA bundle " + tls.ca + ": "));
  }
}

TEST_CASE("cipher strings that select nothing", "[tls][context]") {
  TlsConfig tls = serverConfig();
  SECTION("ciphers") {
    tls.ciphers = "NO-SUCH-CIPHER";
    CHECK(serverError(tls) == "invalid ciphers 'NO-SUCH-CIPHER': no cipher match");
  }
  SECTION("ciphersuites") {
    tls.ciphersuites = "TLS_NO_SUCH_SUITE";
    CHECK(serverError(tls) == "invalid ciphersuites 'TLS_NO_SUCH_SUITE': no cipher match");
  }
  SECTION("valid custom strings") {
    tls.ciphers = "ECDHE+AESGCM";
    tls.ciphersuites = "TLS_AES_256_GCM_SHA384";
    auto server = makeServer(tls);
    SessionPair p(makeClient(clientOptions()), server);
    REQUIRE(p.handshake());
    CHECK(p.server->cipher() == "TLS_AES_256_GCM_SHA384");
  }
}

TEST_CASE("the default TLS 1.2 ciphers are ECDHE with AEAD only", "[tls][context]") {
  auto server = makeServer(serverConfig());
  auto options = clientOptions();
  options.max_version = "1.2";
  auto client = makeClient(options);
  // A client that only offers CBC or non-ECDHE suites finds nothing in common.
  REQUIRE(SSL_CTX_set_cipher_list(client->native(), "ECDHE-ECDSA-AES128-SHA:AES128-GCM-SHA256") ==
          1);
  SessionPair p(client, server);
  p.pump();
  CHECK(p.server->state() == wman::detail::TlsSession::State::Failed);
  CHECK(p.server->error() == "no shared cipher");
}
