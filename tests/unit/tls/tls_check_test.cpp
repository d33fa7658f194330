// checkTlsConfig: the context checks plus certificate validity dates.
#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <vector>

#include "tls_test_util.h"
#include "wman/tls.h"

using wman::checkTlsConfig;
using wman::TlsConfig;
using wman::TlsSniCertificate;
using namespace wman::test;
using namespace std::chrono_literals;

TEST_CASE("a good configuration passes without warnings", "[tls][check]") {
  std::vector<std::string> warnings;
  std::string error;
  CHECK(checkTlsConfig(serverConfig(), &warnings, &error));
  CHECK(error.empty());
  CHECK(warnings.empty());
}

TEST_CASE("a mismatched key fails the check, naming both files", "[tls][check]") {
  const TestCerts& c = TestCerts::get();
  TlsConfig tls = serverConfig();
  tls.key = c.path("other.key");
  std::vector<std::string> warnings;
  std::string error;
  CHECK_FALSE(checkTlsConfig(tls, &warnings, &error));
  CHECK(error ==
        "tls key " + c.path("other.key") + " does not match certificate " + c.path("server.pem"));
}

TEST_CASE("a certificate expiring within 30 days is a warning", "[tls][check]") {
  const TestCerts& c = TestCerts::get();
  TlsConfig tls = serverConfig();
  tls.cert = c.path("soon.pem");
  tls.key = c.path("soon.key");
  std::vector<std::string> warnings;
  std::string error;
  CHECK(checkTlsConfig(tls, &warnings, &error));
  REQUIRE(warnings.size() == 1);
  // soon.pem was made moments ago for 10 days.
  CHECK_THAT(warnings[0], Catch::StartsWith("tls certificate " + c.path("soon.pem") +
                                            " [CN=localhost,O=wman test] expires on "));
  CHECK_THAT(warnings[0], Catch::EndsWith(" UTC, in 10 days"));
}

TEST_CASE("an expired certificate is an error", "[tls][check]") {
  const TestCerts& c = TestCerts::get();
  TlsConfig tls = serverConfig();
  tls.cert = c.path("expired.pem");
  tls.key = c.path("expired.key");
  std::string error;
  CHECK_FALSE(checkTlsConfig(tls, nullptr, &error));
  CHECK(error == "tls certificate " + c.path("expired.pem") +
                     " [CN=localhost] expired on 2020-02-01 00:00:00 UTC");

  SECTION("in an SNI entry too") {
    TlsConfig sni = serverConfig();
    sni.sni = {TlsSniCertificate{"old.test", c.path("expired.pem"), c.path("expired.key")}};
    error.clear();
    CHECK_FALSE(checkTlsConfig(sni, nullptr, &error));
    CHECK(error == "tls certificate " + c.path("expired.pem") +
                       " [CN=localhost] expired on 2020-02-01 00:00:00 UTC");
  }
}

TEST_CASE("dates are judged against the time given", "[tls][check]") {
  const TestCerts& c = TestCerts::get();
  const auto now = std::chrono::system_clock::now();
  std::vector<std::string> warnings;
  std::string error;
  // server.pem is valid for 365 days.
  CHECK(checkTlsConfig(serverConfig(), &warnings, &error, now + 24h * 350));
  REQUIRE(warnings.size() == 1);
  CHECK_THAT(warnings[0], Catch::StartsWith("tls certificate " + c.path("server.pem") +
                                            " [CN=localhost,O=wman test] expires on "));
  warnings.clear();
  CHECK_FALSE(checkTlsConfig(serverConfig(), &warnings, &error, now + 24h * 366));
  CHECK_THAT(error, Catch::StartsWith("tls certificate " + c.path("server.pem") +
                                      " [CN=localhost,O=wman test] expired on "));
  // Before the leaf and its intermediate were issued.
  warnings.clear();
  CHECK(checkTlsConfig(serverConfig(), &warnings, &error, now - 24h));
  REQUIRE(warnings.size() == 2);
  CHECK_THAT(warnings[0], Catch::StartsWith("tls certificate " + c.path("server.pem") +
                                            " [CN=localhost,O=wman test] is not valid before "));
  CHECK_THAT(warnings[1],
             Catch::StartsWith("tls certificate " + c.path("server.pem") +
                               " (chain certificate 1) [CN=wman test intermediate CA,O=wman "
                               "test] is not valid before "));
}

TEST_CASE("gen_test_certs --days and --cn", "[tls][check]") {
  const TestCerts& c = TestCerts::get();
  const std::string dir = c.generate("short", "--days 3 --cn example.test");
  TlsConfig tls;
  tls.cert = dir + "/server.pem";
  tls.key = dir + "/server.key";
  std::vector<std::string> warnings;
  std::string error;
  CHECK(checkTlsConfig(tls, &warnings, &error));
  REQUIRE(warnings.size() == 1);
  CHECK_THAT(warnings[0], Catch::StartsWith("tls certificate " + tls.cert +
                                            " [CN=example.test,O=wman test] expires on "));
  CHECK_THAT(warnings[0], Catch::EndsWith(" UTC, in 3 days"));
}
