// parseListenUrl: the accepted forms and a one-line reason for each rejected one.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "config_test_util.h"

#include "wman/listen_url.h"
#include "wman/protocol_registry.h"

using wman::parseListenUrl;
using wman::test::checkRejected;
using wman::test::RejectedUrl;

TEST_CASE("parseListenUrl accepts host:port URLs for every scheme", "[config][url]") {
  struct Row {
    const char* url;
    const char* scheme;
    const char* protocol;
    const char* host;
    int port;
    bool tls;
  };
  const Row rows[] = {
      {"tcp://0.0.0.0:9000", "tcp", "tcp", "0.0.0.0", 9000, false},
      {"text://127.0.0.1:8081", "text", "text", "127.0.0.1", 8081, false},
      {"frame://localhost:8082", "frame", "frame", "localhost", 8082, false},
      {"websocket://0.0.0.0:8080", "websocket", "websocket", "0.0.0.0", 8080, false},
      {"ws://[::1]:80", "ws", "websocket", "::1", 80, false},
      {"wss://[::]:443", "wss", "websocket", "::", 443, true},
      {"http://example.com:80", "http", "http", "example.com", 80, false},
      {"https://a-b.example_1.org:8443", "https", "http", "a-b.example_1.org", 8443, true},
      {"TEXT://127.0.0.1:1", "text", "text", "127.0.0.1", 1, false},
      {"Ws://h:2", "ws", "websocket", "h", 2, false},
      {"tcp://127.0.0.1:0", "tcp", "tcp", "127.0.0.1", 0, false},
      {"tcp://127.0.0.1:65535", "tcp", "tcp", "127.0.0.1", 65535, false},
      {"tcp://127.0.0.1:00080", "tcp", "tcp", "127.0.0.1", 80, false},
      {"http://0.0.0.0:80/", "http", "http", "0.0.0.0", 80, false},
      {"https://0.0.0.0:443/", "https", "http", "0.0.0.0", 443, true},
      {"ws://0.0.0.0:80/", "ws", "websocket", "0.0.0.0", 80, false},
      {"ws://[fe80::1:2]:80/", "ws", "websocket", "fe80::1:2", 80, false},
      {"udp://0.0.0.0:9000", "udp", "tcp", "0.0.0.0", 9000, false},
  };
  for (const Row& row : rows) {
    INFO("url: " << row.url);
    std::string error;
    const auto u = parseListenUrl(row.url, &error);
    REQUIRE(u.has_value());
    CHECK(error.empty());
    CHECK(u->scheme == row.scheme);
    CHECK(u->protocol == row.protocol);
    CHECK(u->host == row.host);
    CHECK(u->port == row.port);
    CHECK(u->tls == row.tls);
    CHECK(u->udp == (u->scheme == "udp"));
    CHECK(u->path.empty());
    CHECK_FALSE(u->isUnix());
  }
}

TEST_CASE("parseListenUrl accepts absolute unix socket paths", "[config][url]") {
  const auto u = parseListenUrl("unix:///run/wman/app.sock");
  REQUIRE(u.has_value());
  CHECK(u->scheme == "unix");
  CHECK(u->protocol == "tcp");
  CHECK(u->path == "/run/wman/app.sock");
  CHECK(u->host.empty());
  CHECK(u->port == 0);
  CHECK(u->isUnix());
  CHECK_FALSE(u->tls);

  // sun_path holds 107 bytes plus the NUL.
  const std::string longest = "/" + std::string(106, 'a');
  CHECK(parseListenUrl("unix://" + longest).has_value());
}

TEST_CASE("parseListenUrl rejects malformed URLs with a reason", "[config][url]") {
  const std::vector<RejectedUrl> rows = {
      {"", "empty listen URL"},
      {"127.0.0.1:8080", "missing '://'"},
      {"://127.0.0.1:80", "missing scheme"},
      {"foo://127.0.0.1:80", "unknown scheme 'foo' (known: tcp, text, frame"},
      {"1tcp://127.0.0.1:80", "unknown scheme '1tcp'"},
      {"tcp://127.0.0.1", "missing port"},
      {"tcp://127.0.0.1:", "missing port after ':'"},
      {"tcp://:80", "empty host"},
      {"tcp://127.0.0.1:http", "port 'http' is not a number"},
      {"tcp://127.0.0.1:-1", "port '-1' is not a number"},
      {"tcp://127.0.0.1:+80", "port '+80' is not a number"},
      {"tcp://127.0.0.1:65536", "port 65536 is out of range (0-65535)"},
      {"tcp://127.0.0.1:70000", "port 70000 is out of range (0-65535)"},
      {"tcp://127.0.0.1:99999999999999999999999", "is out of range (0-65535)"},
      {"tcp://::1:80", "IPv6 addresses must be in brackets"},
      {"tcp://[::1]", "missing port"},
      {"tcp://[::1:80", "missing ']'"},
      {"tcp://[]:80", "empty IPv6 address"},
      {"tcp://[zz::1]:80", "invalid IPv6 address 'zz::1'"},
      {"tcp://[127.0.0.1]:80", "invalid IPv6 address"},
      {"tcp://host name:80", "invalid character ' ' in host"},
      {"tcp://user@host:80", "invalid character '@' in host"},
      {"tcp://0.0.0.0:80/", "unexpected path '/' after the port"},
      {"text://0.0.0.0:80/chat", "unexpected path '/chat'"},
      {"http://0.0.0.0:80/api", "unexpected path '/api'"},
      {"ws://0.0.0.0:80//", "unexpected path '//'"},
      {"tcp://host/x:80", "missing port"},
      {"unix://relative.sock", "must be absolute"},
      {"unix://", "must be absolute"},
      {"unix:///", "names a directory"},
      {"unix:///run/wman/", "names a directory"},
      {"unix:///" + std::string(107, 'a'), "at most 107"},
      {std::string("unix:///a\0b", 11), "NUL byte"},
  };
  checkRejected(parseListenUrl, rows);
}

TEST_CASE("parseListenUrl tolerates a null error pointer", "[config][url]") {
  CHECK_FALSE(parseListenUrl("nope").has_value());
  CHECK(parseListenUrl("tcp://1.2.3.4:5").has_value());
}

TEST_CASE("parseListenUrl accepts schemes of registered custom protocols", "[config][url]") {
  std::string error;
  CHECK_FALSE(parseListenUrl("urltestproto://0.0.0.0:9000", &error).has_value());
  CHECK_THAT(error, Catch::Contains("unknown scheme 'urltestproto'"));

  REQUIRE(wman::ProtocolRegistry::add(
      "urltestproto", [](const wman::CodecLimits&) { return std::unique_ptr<wman::Codec>{}; }));
  const auto u = parseListenUrl("UrlTestProto://0.0.0.0:9000", &error);
  REQUIRE(u.has_value());
  CHECK(u->scheme == "urltestproto");
  CHECK(u->protocol == "urltestproto");
  CHECK(u->port == 9000);

  // The list of known schemes in messages now names it too.
  CHECK_FALSE(parseListenUrl("nope://0.0.0.0:1", &error).has_value());
  CHECK_THAT(error, Catch::Contains("urltestproto"));
}
