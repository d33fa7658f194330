// udp:// workers in config files: what is accepted (count, reuse_port, a codec chosen with
// `protocol`) and every setting refused because UDP has no connections and no TLS.
#include <catch2/catch.hpp>
#include <string>

#include "config_test_util.h"
#include "wman/config.h"

using wman::parseConfig;
using wman::test::formatErrors;
using wman::test::noFiles;
using wman::test::runCases;

namespace {

std::string udpWorker(const std::string& extra = {}) {
  return "[[worker]]\nlisten = \"udp://0.0.0.0:9292\"\napp = \"echo\"\n" + extra;
}

}  // namespace

TEST_CASE("udp:// workers are accepted with count, reuse_port and a protocol", "[config][udp]") {
  const auto r = parseConfig(udpWorker("count = 2\nreuse_port = true\nprotocol = \"text\"\n") +
                                 "[worker.limits]\nmax_package_size = \"1KiB\"\n",
                             "udp.toml", noFiles());
  INFO(formatErrors(r));
  REQUIRE(r.ok());
  const wman::WorkerConfig& w = r.config->workers.at(0);
  CHECK(w.url.udp);
  CHECK(w.url.host == "0.0.0.0");
  CHECK(w.url.port == 9292);
  CHECK(w.url.protocol == "text");
  CHECK(w.count == 2);
  CHECK(w.reuse_port);
  CHECK(w.limits.max_package_size == 1024);
}

TEST_CASE("udp:// speaks raw bytes unless told otherwise, over IPv4 or IPv6", "[config][udp]") {
  const auto r = parseConfig(udpWorker() +
                                 "[[worker]]\nname = \"v6\"\nlisten = \"udp://[::1]:9293\"\n"
                                 "app = \"echo\"\nprotocol = \"frame\"\n",
                             "udp.toml", noFiles());
  INFO(formatErrors(r));
  REQUIRE(r.ok());
  CHECK(r.config->workers.at(0).url.protocol == "tcp");
  CHECK(r.config->workers.at(1).url.host == "::1");
  CHECK(r.config->workers.at(1).url.protocol == "frame");
}

TEST_CASE("a UDP and a TCP listener may share a port number", "[config][udp]") {
  const auto r = parseConfig(udpWorker() +
                                 "[[worker]]\nname = \"tcp\"\nlisten = \"text://0.0.0.0:9292\"\n"
                                 "app = \"echo\"\n",
                             "udp.toml", noFiles());
  INFO(formatErrors(r));
  CHECK(r.ok());
}

TEST_CASE("settings that make no sense for udp:// are refused", "[config][udp][errors]") {
  runCases({
      {"TLS transport",
       udpWorker("transport = \"tls\"\n"),
       {"bad.toml:4:13: udp:// cannot use TLS (DTLS is not supported)"}},
      {"a [worker.tls] table",
       udpWorker("[worker.tls]\ncert = \"c.pem\"\nkey = \"k.pem\"\n"),
       {"bad.toml:4:1: [worker.tls] does not apply to udp:// (DTLS is not supported)"}},
      {"a [worker.websocket] table",
       udpWorker("[worker.websocket]\nping_interval = \"5s\"\n"),
       {"bad.toml:4:1: [worker.websocket] only applies to websocket://, ws://, wss://, "
        "http:// and https:// listeners, not udp://"}},
      {"connection limits",
       udpWorker("[worker.limits]\nmax_connections = 10\nidle_timeout = \"5s\"\n"),
       {"bad.toml:5:19: max_connections does not apply to udp:// (no connections, nothing "
        "queued)",
        "bad.toml:6:16: idle_timeout does not apply to udp:// (no connections, nothing queued)"}},
      {"an app that needs connections",
       "[[worker]]\nlisten = \"udp://0.0.0.0:9292\"\napp = \"chat\"\n",
       {"bad.toml:3:7: app 'chat' needs connections; a udp:// worker runs \"echo\" or an app "
        "module"}},
      {"a session protocol",
       udpWorker("protocol = \"websocket\"\n"),
       {"bad.toml:4:12: protocol 'websocket' needs a stream connection; udp:// takes tcp, text, "
        "frame or a custom codec"}},
      {"protocol on a scheme that names one",
       "[[worker]]\nlisten = \"text://0.0.0.0:9292\"\napp = \"echo\"\nprotocol = \"frame\"\n",
       {"bad.toml:4:12: protocol only applies to unix:// and udp:// listeners; text:// already "
        "names its protocol"}},
      {"two udp:// workers on one port",
       udpWorker() + "[[worker]]\nname = \"b\"\nlisten = \"udp://127.0.0.1:9292\"\n"
                     "app = \"echo\"\n",
       {"bad.toml:6:10: listen address 127.0.0.1:9292 overlaps 0.0.0.0:9292 by the worker at "
        "line 1 ('echo-1')"}},
  });
}

TEST_CASE("an unknown protocol names the registered ones", "[config][udp][errors]") {
  const auto r = parseConfig(udpWorker("protocol = \"smtp\"\n"), "bad.toml", noFiles());
  REQUIRE(r.errors.size() == 1);
  // Other tests register custom protocols, which the list then names too.
  CHECK_THAT(r.errors[0].format(),
             Catch::StartsWith("bad.toml:4:12: unknown protocol 'smtp' (registered: "));
  CHECK_THAT(r.errors[0].format(), Catch::Contains("frame") && Catch::Contains("text"));
}
