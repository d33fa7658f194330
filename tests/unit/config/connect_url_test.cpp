// parseConnectUrl: the accepted forms, defaults filled in, and a one-line reason for each
// rejected form.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "config_test_util.h"

#include "wman/connect_url.h"

using wman::parseConnectUrl;
using wman::test::checkRejected;
using wman::test::RejectedUrl;

TEST_CASE("parseConnectUrl accepts host URLs and fills in defaults", "[config][url]") {
  struct Row {
    const char* url;
    const char* scheme;
    const char* protocol;
    const char* host;
    int port;
    const char* target;
    bool tls;
  };
  const Row rows[] = {
      {"text://10.0.0.5:9000", "text", "text", "10.0.0.5", 9000, "", false},
      {"tcp://localhost:1", "tcp", "tcp", "localhost", 1, "", false},
      {"frame://a-b.example_1.org:65535", "frame", "frame", "a-b.example_1.org", 65535, "", false},
      {"TEXT://Host:7", "text", "text", "Host", 7, "", false},
      {"tcp://[2001:db8::1]:9000", "tcp", "tcp", "2001:db8::1", 9000, "", false},
      {"ws://[::1]:8080/chat", "ws", "websocket", "::1", 8080, "/chat", false},
      {"ws://[fe80::1:2]/", "ws", "websocket", "fe80::1:2", 80, "/", false},
      {"ws://example.com", "ws", "websocket", "example.com", 80, "/", false},
      {"wss://example.com", "wss", "websocket", "example.com", 443, "/", true},
      {"websocket://h", "websocket", "websocket", "h", 80, "/", false},
      {"http://h", "http", "http", "h", 80, "/", false},
      {"https://h:8443/api/v1", "https", "http", "h", 8443, "/api/v1", true},
      {"ws://h/feed?room=1&x=%20", "ws", "websocket", "h", 80, "/feed?room=1&x=%20", false},
      {"ws://h:81?room=1", "ws", "websocket", "h", 81, "/?room=1", false},
      {"wss://h/feed?room=1#top", "wss", "websocket", "h", 443, "/feed?room=1", true},
      {"ws://h#top", "ws", "websocket", "h", 80, "/", false},
      {"myproto://127.0.0.1:4000", "myproto", "myproto", "127.0.0.1", 4000, "", false},
      {"tcp://127.0.0.1:00080", "tcp", "tcp", "127.0.0.1", 80, "", false},
  };
  for (const Row& row : rows) {
    INFO("url: " << row.url);
    std::string error;
    const auto u = parseConnectUrl(row.url, &error);
    REQUIRE(u.has_value());
    CHECK(error.empty());
    CHECK(u->scheme == row.scheme);
    CHECK(u->protocol == row.protocol);
    CHECK(u->host == row.host);
    CHECK(u->port == row.port);
    CHECK(u->target == row.target);
    CHECK(u->tls == row.tls);
    CHECK(u->path.empty());
    CHECK_FALSE(u->isUnix());
  }
}

TEST_CASE("parseConnectUrl accepts absolute unix socket paths", "[config][url]") {
  const auto u = parseConnectUrl("unix:///run/app.sock");
  REQUIRE(u.has_value());
  CHECK(u->scheme == "unix");
  CHECK(u->protocol == "tcp");
  CHECK(u->path == "/run/app.sock");
  CHECK(u->host.empty());
  CHECK(u->port == 0);
  CHECK(u->target.empty());
  CHECK(u->isUnix());
  CHECK_FALSE(u->tls);
}

TEST_CASE("parseConnectUrl rejects what cannot be connected to, with a reason", "[config][url]") {
  const std::vector<RejectedUrl> rows = {
      {"", "empty connect URL"},
      {"10.0.0.5:9000", "missing '://'"},
      {"://10.0.0.5:9000", "missing scheme before '://' (e.g. text://127.0.0.1:8081)"},
      {"1tcp://h:1", "invalid scheme '1tcp'"},
      {"udp://10.0.0.5:53", "udp:// is not supported for outbound connections"},
      {"text://h:0", "port 0 cannot be connected to"},
      {"ws://h:0/", "port 0 cannot be connected to"},
      {"text://h", "missing port (expected host:port, e.g. h:8080); only ws, wss"},
      {"tcp://[::1]", "missing port (expected host:port, e.g. [::1]:8080)"},
      {"text://h:", "missing port after ':'"},
      {"text://h:70000", "port 70000 is out of range (0-65535)"},
      {"text://h:x", "port 'x' is not a number"},
      {"text://0.0.0.0:9000", "cannot connect to the wildcard address 0.0.0.0"},
      {"ws://[::]:80", "cannot connect to the wildcard address ::"},
      {"ws://[0:0::0]", "cannot connect to the wildcard address 0:0::0"},
      {"text://h:1/x", "a path is only for ws/wss/http/https"},
      {"tcp://h:1?x=1", "unexpected path '?x=1' in a tcp:// URL"},
      {"frame://h:1/", "a path is only for ws/wss/http/https"},
      {"text://:9000", "empty host (expected host:port, e.g. 127.0.0.1:8080)"},
      {"text://::1:9000", "IPv6 addresses must be in brackets"},
      {"ws://[::1:80/", "missing ']'"},
      {"ws://[zz::1]/", "invalid IPv6 address 'zz::1'"},
      {"ws://[::1]x/", "unexpected 'x' after the host '::1'"},
      {"ws://user@h/", "invalid character '@' in host"},
      {"ws://h/a b", "path '/a b' has a space, control or non-ASCII character"},
      {"ws://h/caf\xc3\xa9", "non-ASCII character (percent-encode it)"},
      {"ws://h/a\tb", "path '/a?b' has a space"},
      {"unix://run/app.sock", "must be absolute"},
      {"unix:///run/", "names a directory"},
      {"unix:///" + std::string(107, 'a'), "at most 107"},
  };
  checkRejected(parseConnectUrl, rows);
}

TEST_CASE("parseConnectUrl tolerates a null error pointer", "[config][url]") {
  CHECK_FALSE(parseConnectUrl("text://h:0").has_value());
  CHECK(parseConnectUrl("text://h:1").has_value());
}
