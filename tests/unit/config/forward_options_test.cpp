// The built-in `forward` app's [worker.options]: parsed values, defaults, and the exact
// `file:line:col: worker NAME: ...` message for each mistake.
#include <catch2/catch.hpp>
#include <string>

#include "config_test_util.h"
#include "wman/config.h"

using namespace std::chrono_literals;
using wman::ConfigCheck;
using wman::parseConfig;
using wman::test::formatErrors;
using wman::test::noFiles;
using wman::test::runCases;
using wman::test::TempDir;

namespace {

// A forward worker up to its [worker.options] header (lines 1-5); a case appends the options.
const std::string kRelay =
    "[[worker]]\nname = \"relay\"\nlisten = \"text://127.0.0.1:8081\"\napp = \"forward\"\n"
    "[worker.options]\n";

}  // namespace

TEST_CASE("forward options are parsed, with relative paths resolved", "[config][forward]") {
  TempDir dir;
  const std::string ca = dir.write("ca.pem", "ca");
  const std::string text = kRelay +
                           "upstream = \"wss://[::1]/feed?room=1#top\"\n"
                           "upstream_ca = \"ca.pem\"\n"
                           "upstream_tls_verify = false\n"
                           "upstream_connect_timeout = \"2.5s\"\n"
                           "other = 1\n";
  const auto result = parseConfig(text, dir.path() + "/wman.toml");
  INFO(formatErrors(result));
  REQUIRE(result.ok());
  const wman::WorkerConfig& w = result.config->workers.at(0);
  REQUIRE(w.forward.has_value());
  CHECK(w.forward->upstream == "wss://[::1]/feed?room=1#top");
  CHECK(w.forward->url.host == "::1");
  CHECK(w.forward->url.port == 443);
  CHECK(w.forward->url.target == "/feed?room=1");
  CHECK(w.forward->url.protocol == "websocket");
  CHECK(w.forward->url.tls);
  CHECK(w.forward->ca == ca);
  CHECK_FALSE(w.forward->tls_verify);
  CHECK(w.forward->connect_timeout == 2500ms);
  CHECK(w.forward->line == 6);
  // The app reads options as text: it gets the resolved path, and keys it does not know stay.
  CHECK(w.options.at("upstream_ca").text == ca);
  CHECK(w.options.at("upstream").text == "wss://[::1]/feed?room=1#top");
  CHECK(w.options.at("other").text == "1");
}

TEST_CASE("forward options have defaults; other apps' options are not checked",
          "[config][forward]") {
  const auto result =
      parseConfig(kRelay + "upstream = \"unix:///run/app.sock\"\n" +
                      "[[worker]]\nlisten = \"text://127.0.0.1:8082\"\napp = \"echo\"\n"
                      "[worker.options]\nupstream = 5\nupstream_tls_verify = \"maybe\"\n",
                  "ok.toml", noFiles());
  INFO(formatErrors(result));
  REQUIRE(result.ok());
  const wman::WorkerConfig& relay = result.config->workers.at(0);
  REQUIRE(relay.forward.has_value());
  const wman::ForwardOptions defaults;
  CHECK(relay.forward->url.path == "/run/app.sock");
  CHECK(relay.forward->ca.empty());
  CHECK(relay.forward->tls_verify == defaults.tls_verify);
  CHECK(relay.forward->tls_verify);
  CHECK(relay.forward->connect_timeout == 10s);
  CHECK_FALSE(result.config->workers.at(1).forward.has_value());
}

TEST_CASE("forward upstream mistakes name the worker and the URL", "[config][forward]") {
  const std::string needs =
      "worker relay: app \"forward\" needs upstream in [worker.options] "
      "(e.g. upstream = \"text://10.0.0.5:9000\")";
  runCases({
      {"no [worker.options]",
       "[[worker]]\nname = \"relay\"\nlisten = \"text://127.0.0.1:8081\"\napp = \"forward\"\n",
       {"bad.toml:1:1: " + needs}},
      {"[worker.options] without upstream",
       kRelay + "upstream_tls_verify = true\n",
       {"bad.toml:1:1: " + needs}},
      {"upstream written in [[worker]]",
       "[[worker]]\nname = \"relay\"\nlisten = \"text://127.0.0.1:8081\"\napp = \"forward\"\n"
       "upstream = \"text://10.0.0.5:9000\"\n",
       {"bad.toml:1:1: " + needs,
        "bad.toml:5:1: unknown key 'upstream' in [[worker]]; it belongs in [worker.options]"}},
      {"the default name is used",
       "[[worker]]\nlisten = \"text://127.0.0.1:8081\"\napp = \"forward\"\n",
       {"bad.toml:1:1: worker forward: app \"forward\" needs upstream in [worker.options] "
        "(e.g. upstream = \"text://10.0.0.5:9000\")"}},
      {"not a string",
       kRelay + "upstream = 9000\n",
       {"bad.toml:6:12: worker relay: upstream must be a string, got integer"}},
      {"empty",
       kRelay + "upstream = \"\"\n",
       {"bad.toml:6:12: worker relay: upstream must not be empty"}},
      {"path on a text:// upstream",
       kRelay + "upstream = \"text://h:1/x\"\n",
       {"bad.toml:6:12: worker relay: upstream 'text://h:1/x': unexpected path '/x' in a text:// "
        "URL (a path is only for ws/wss/http/https)"}},
      {"port 0",
       kRelay + "upstream = \"text://h:0\"\n",
       {"bad.toml:6:12: worker relay: upstream 'text://h:0': port 0 cannot be connected to"}},
      {"missing port",
       kRelay + "upstream = \"frame://h\"\n",
       {"bad.toml:6:12: worker relay: upstream 'frame://h': missing port (expected host:port, "
        "e.g. h:8080); only ws, wss, websocket, http and https have a default port"}},
      {"wildcard host",
       kRelay + "upstream = \"text://0.0.0.0:9000\"\n",
       {"bad.toml:6:12: worker relay: upstream 'text://0.0.0.0:9000': cannot connect to the "
        "wildcard address 0.0.0.0"}},
      {"udp",
       kRelay + "upstream = \"udp://10.0.0.5:53\"\n",
       {"bad.toml:6:12: worker relay: upstream 'udp://10.0.0.5:53': udp:// is not supported for "
        "outbound connections"}},
  });
}

TEST_CASE("a forward upstream's protocol must be registered", "[config][forward]") {
  const auto result = parseConfig(kRelay + "upstream = \"foo://x:1\"\n", "wman.toml");
  REQUIRE(result.errors.size() == 1);
  CHECK_THAT(result.errors[0].format(),
             Catch::StartsWith("wman.toml:6:12: worker relay: upstream 'foo://x:1': unknown "
                               "protocol 'foo' (registered: ") &&
                 Catch::Contains("text"));
}

TEST_CASE("a forward upstream cannot speak a server-only protocol", "[config][forward]") {
  const auto result = parseConfig(kRelay + "upstream = \"https://example.com/\"\n", "wman.toml");
  REQUIRE(result.errors.size() == 1);
  CHECK_THAT(result.errors[0].format(),
             Catch::StartsWith("wman.toml:6:12: worker relay: upstream 'https://example.com/': "
                               "protocol 'http' has no client side in wman"));
}

TEST_CASE("forward option types, ranges and files are checked", "[config][forward]") {
  const std::string upstream = "upstream = \"text://10.0.0.5:9000\"\n";
  runCases({
      {"upstream_ca not a string",
       kRelay + upstream + "upstream_ca = 1\n",
       {"bad.toml:7:15: worker relay: upstream_ca must be a string, got integer"}},
      {"upstream_ca missing",
       kRelay + upstream + "upstream_ca = \"/nonexistent/ca.pem\"\n",
       {"bad.toml:7:15: worker relay: upstream_ca '/nonexistent/ca.pem': No such file or "
        "directory"},
       /*check_files=*/true},
      {"upstream_tls_verify not a boolean",
       kRelay + upstream + "upstream_tls_verify = \"yes\"\n",
       {"bad.toml:7:23: worker relay: upstream_tls_verify must be a boolean (true or false), got "
        "string"}},
      {"upstream_connect_timeout of 0",
       kRelay + upstream + "upstream_connect_timeout = \"0s\"\n",
       {"bad.toml:7:28: worker relay: upstream_connect_timeout must be at least 1ms, got 0ms"}},
      {"upstream_connect_timeout without a valid unit",
       kRelay + upstream + "upstream_connect_timeout = \"5x\"\n",
       {"bad.toml:7:28: worker relay: upstream_connect_timeout: invalid duration '5x' (use a "
        "number with unit ms, s, m or h, e.g. \"250ms\")"}},
      {"upstream_connect_timeout not a duration",
       kRelay + upstream + "upstream_connect_timeout = true\n",
       {"bad.toml:7:28: worker relay: upstream_connect_timeout must be a duration (integer "
        "seconds or a string like \"30s\"), got boolean"}},
      {"[worker.options] not a table: reported once",
       "[[worker]]\nname = \"relay\"\nlisten = \"text://127.0.0.1:8081\"\napp = \"forward\"\n"
       "options = 1\n",
       {"bad.toml:5:11: options must be a table ([worker.options]), got integer"}},
  });
}

TEST_CASE("without a built-in forward app, app = \"forward\" is only an unknown app",
          "[config][forward]") {
  const auto result =
      parseConfig(kRelay + "upstream = 1\n", "bad.toml", ConfigCheck{false, {"echo"}});
  REQUIRE(result.errors.size() == 1);
  CHECK_THAT(result.errors[0].format(), Catch::Contains("unknown app 'forward'"));
}
