// [daemon] metrics keys: what is read, and every mistake refused with `file:line:col: what`.
#include <catch2/catch.hpp>
#include <string>

#include "config_test_util.h"
#include "wman/config.h"

using wman::parseConfig;
using wman::test::noFiles;
using wman::test::runCases;

namespace {

const std::string kWorker = "[[worker]]\nlisten = \"text://127.0.0.1:8081\"\napp = \"echo\"\n";

}  // namespace

TEST_CASE("metrics is off unless [daemon] names an address", "[config][metrics]") {
  const auto off = parseConfig(kWorker, "m.toml", noFiles());
  REQUIRE(off.ok());
  CHECK(off.config->daemon.metrics.empty());
  CHECK(off.config->daemon.metrics_token.empty());

  const auto on = parseConfig(
      "[daemon]\nmetrics = \"127.0.0.1:9100\"\nmetrics_token = \"s3cr.t-_~+/==\"\n"
      "metrics_cert = \"/tls/m.pem\"\nmetrics_key = \"/tls/m.key\"\n" +
          kWorker,
      "m.toml", noFiles());
  INFO(wman::test::formatErrors(on));
  REQUIRE(on.ok());
  const wman::DaemonConfig& d = on.config->daemon;
  CHECK(d.metrics == "127.0.0.1:9100");
  CHECK(d.metrics_token == "s3cr.t-_~+/==");
  CHECK(d.metrics_cert == "/tls/m.pem");
  CHECK(d.metrics_key == "/tls/m.key");
  CHECK(d.metrics_line == 2);

  const auto v6 = parseConfig("[daemon]\nmetrics = \"[::1]:0\"\n" + kWorker, "m.toml", noFiles());
  REQUIRE(v6.ok());
  CHECK(v6.config->daemon.metrics == "[::1]:0");
}

TEST_CASE("malformed metrics keys are refused at their line", "[config][metrics]") {
  runCases({
      {"a URL instead of host:port",
       "[daemon]\nmetrics = \"http://127.0.0.1:9100\"\n" + kWorker,
       {"bad.toml:2:11: metrics 'http://127.0.0.1:9100' is host:port without a scheme (e.g. "
        "\"127.0.0.1:9100\")"}},
      {"no port",
       "[daemon]\nmetrics = \"127.0.0.1\"\n" + kWorker,
       {"bad.toml:2:11: invalid metrics address '127.0.0.1': missing port (expected host:port, "
        "e.g. 127.0.0.1:8080)"}},
      {"port out of range",
       "[daemon]\nmetrics = \"0.0.0.0:70000\"\n" + kWorker,
       {"bad.toml:2:11: invalid metrics address '0.0.0.0:70000': port 70000 is out of range "
        "(0-65535)"}},
      {"a path after the port",
       "[daemon]\nmetrics = \"127.0.0.1:9100/metrics\"\n" + kWorker,
       {"bad.toml:2:11: invalid metrics address '127.0.0.1:9100/metrics': unexpected path "
        "'/metrics' after the port (a listen URL is scheme://host:port)"}},
      {"not a string",
       "[daemon]\nmetrics = 9100\n" + kWorker,
       {"bad.toml:2:11: metrics must be a string, got integer"}},
      {"a token with a space",
       "[daemon]\nmetrics = \"127.0.0.1:0\"\nmetrics_token = \"two words\"\n" + kWorker,
       {"bad.toml:3:17: metrics_token may hold only letters, digits and -._~+/ (then = "
        "padding), as an Authorization: Bearer header carries it"}},
      {"a certificate without its key",
       "[daemon]\nmetrics = \"127.0.0.1:0\"\nmetrics_cert = \"/tls/m.pem\"\n" + kWorker,
       {"bad.toml:3:16: [daemon] needs both metrics_cert and metrics_key"}},
      {"a token with no address to serve",
       "[daemon]\nmetrics_token = \"abc\"\n" + kWorker,
       {"bad.toml:2:17: metrics_token needs metrics = \"host:port\" (the address to serve "
        "/metrics on)"}},
      {"an unreadable certificate",
       "[daemon]\nmetrics = \"127.0.0.1:0\"\nmetrics_cert = \"/nonexistent/m.pem\"\n"
       "metrics_key = \"/nonexistent/m.key\"\n" +
           kWorker,
       {"bad.toml:3:16: metrics_cert '/nonexistent/m.pem': No such file or directory",
        "bad.toml:4:15: metrics_key '/nonexistent/m.key': No such file or directory"},
       true},
  });
}
