// [worker.http]: every key read, the defaults, the WebSocket paths in both spellings, the
// static-file root check, which listeners take the table, and each error message.
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <string>
#include <vector>

#include "config_test_util.h"
#include "wman/config.h"

using namespace std::chrono_literals;
using wman::ConfigCheck;
using wman::HttpConfig;
using wman::parseConfig;
using wman::test::formatErrors;
using wman::test::noFiles;
using wman::test::runCases;
using wman::test::TempDir;

namespace {

// An http:// worker whose [worker.http] table starts at line 4; its first key is line 5.
const std::string kHttp =
    "[[worker]]\nlisten = \"http://127.0.0.1:8080\"\napp = \"echo\"\n[worker.http]\n";

// Parses `text` without file checks and returns the first worker's [worker.http].
HttpConfig httpOf(const std::string& text) {
  const auto r = parseConfig(text, "/etc/wman/wman.toml", noFiles());
  INFO(formatErrors(r));
  REQUIRE(r.ok());
  return r.config->workers.at(0).http;
}

}  // namespace

TEST_CASE("[worker.http] reads every key", "[config][http]") {
  const HttpConfig h = httpOf(
      "[[worker]]\nlisten = \"https://0.0.0.0:8443\"\napp = \"echo\"\n"
      "[worker.tls]\ncert = \"c.pem\"\nkey = \"k.pem\"\n"
      "[worker.http]\n"
      "root = \"public\"\n"
      "index = [\"index.htm\", \"default.html\"]\n"
      "websocket = [\"/chat\", \"/live/feed\"]\n"
      "max_header_size = \"16KiB\"\n"
      "max_body_size = \"1MiB\"\n"
      "header_timeout = \"5s\"\n"
      "body_timeout = 30\n"
      "keepalive_timeout = \"250ms\"\n"
      "stream_body = true\n");
  CHECK(h.root == "/etc/wman/public");  // relative to the config file
  CHECK(h.index == std::vector<std::string>{"index.htm", "default.html"});
  CHECK(h.websocket == std::vector<std::string>{"/chat", "/live/feed"});
  CHECK(h.max_header_size == 16 * 1024);
  CHECK(h.max_body_size == 1024 * 1024);
  CHECK(h.header_timeout == 5s);
  CHECK(h.body_timeout == 30s);
  CHECK(h.keepalive_timeout == 250ms);
  CHECK(h.stream_body);
}

TEST_CASE("[worker.http] defaults apply with no table and with an empty one", "[config][http]") {
  const HttpConfig d;
  CHECK(d.index == std::vector<std::string>{"index.html"});
  const std::string no_table = "[[worker]]\nlisten = \"http://127.0.0.1:8080\"\napp = \"echo\"\n";
  for (const std::string& text : {no_table, kHttp}) {
    INFO(text);
    const HttpConfig h = httpOf(text);
    CHECK(h.root == d.root);
    CHECK(h.root.empty());
    CHECK(h.index == d.index);
    CHECK(h.websocket.empty());
    CHECK(h.max_header_size == 8 * 1024);
    CHECK(h.max_body_size == 10 * 1024 * 1024);
    CHECK(h.header_timeout == 60s);
    CHECK(h.body_timeout == 60s);
    CHECK(h.keepalive_timeout == 75s);
    CHECK_FALSE(h.stream_body);
  }
}

TEST_CASE("[worker.http] takes the smallest and zero values it documents", "[config][http]") {
  const HttpConfig h = httpOf(kHttp +
                              "root = \"\"\nindex = []\nwebsocket = []\n"
                              "max_header_size = \"1KiB\"\nmax_body_size = 0\n"
                              "header_timeout = \"1ms\"\nbody_timeout = \"1ms\"\n"
                              "keepalive_timeout = 0\n");
  CHECK(h.root.empty());
  CHECK(h.index.empty());
  CHECK(h.websocket.empty());
  CHECK(h.max_header_size == 1024);
  CHECK(h.max_body_size == 0);
  CHECK(h.header_timeout == 1ms);
  CHECK(h.body_timeout == 1ms);
  CHECK(h.keepalive_timeout == 0ms);
  CHECK(httpOf(kHttp + "max_header_size = \"1MiB\"\n").max_header_size == 1024 * 1024);
}

TEST_CASE("[worker.http] websocket is one path or an array of paths", "[config][http]") {
  CHECK(httpOf(kHttp + "websocket = \"/ws\"\n").websocket == std::vector<std::string>{"/ws"});
  CHECK(httpOf(kHttp + "websocket = [\"/ws\"]\n").websocket == std::vector<std::string>{"/ws"});
  CHECK(httpOf(kHttp + "websocket = [\"/\", \"/a/b/\", \"/%7Euser\"]\n").websocket ==
        std::vector<std::string>{"/", "/a/b/", "/%7Euser"});
}

TEST_CASE("[worker.websocket] configures the sessions of an http worker", "[config][http]") {
  for (const char* listen : {"http://127.0.0.1:8080", "HTTP://127.0.0.1:8080"}) {
    const auto r = parseConfig(std::string("[[worker]]\nlisten = \"") + listen +
                                   "\"\napp = \"echo\"\n"
                                   "[worker.http]\nwebsocket = \"/chat\"\n"
                                   "[worker.websocket]\nping_interval = \"20s\"\n"
                                   "max_message_size = \"1MiB\"\n",
                               "http.toml", noFiles());
    INFO(formatErrors(r));
    REQUIRE(r.ok());
    const wman::WorkerConfig& w = r.config->workers.at(0);
    CHECK(w.url.protocol == "http");
    CHECK(w.http.websocket == std::vector<std::string>{"/chat"});
    CHECK(w.websocket.ping_interval == 20s);
    CHECK(w.websocket.max_message_size == 1024 * 1024);
  }
  // https:// too, with its TLS.
  const auto r = parseConfig(
      "[[worker]]\nlisten = \"https://127.0.0.1:8443\"\napp = \"echo\"\n"
      "[worker.tls]\ncert = \"c.pem\"\nkey = \"k.pem\"\n"
      "[worker.websocket]\npermessage_deflate = true\n",
      "https.toml", noFiles());
  INFO(formatErrors(r));
  REQUIRE(r.ok());
  CHECK(r.config->workers.at(0).websocket.permessage_deflate);
}

TEST_CASE("[worker.http] root must be a readable directory", "[config][http]") {
  TempDir dir;
  std::filesystem::create_directory(dir.path() + "/www");
  const std::string file = dir.write("page.html", "<p>hi</p>");
  const std::string config = dir.path() + "/wman.toml";
  ConfigCheck check;  // check_files on, as `wman check` runs

  SECTION("an existing directory, relative to the config file") {
    const auto r = parseConfig(kHttp + "root = \"www\"\n", config, check);
    INFO(formatErrors(r));
    REQUIRE(r.ok());
    CHECK(r.config->workers.at(0).http.root == dir.path() + "/www");
  }
  SECTION("absolute, with a trailing slash") {
    const auto r = parseConfig(kHttp + "root = \"" + dir.path() + "/www/\"\n", config, check);
    INFO(formatErrors(r));
    CHECK(r.ok());
  }
  SECTION("missing, a file, or only checked on request") {
    runCases({
        {"missing directory",
         kHttp + "root = \"" + dir.path() + "/missing\"\n",
         {"bad.toml:5:8: http root '" + dir.path() + "/missing': No such file or directory"},
         /*check_files=*/true},
        {"a file instead of a directory",
         kHttp + "root = \"" + file + "\"\n",
         {"bad.toml:5:8: http root '" + file + "' is not a directory"},
         /*check_files=*/true},
    });
    CHECK(parseConfig(kHttp + "root = \"/no/such/dir\"\n", "t.toml", noFiles()).ok());
  }
  SECTION("a directory that cannot be listed") {
    // root reads every directory, so only an ordinary user sees the refusal.
    if (::geteuid() == 0) return;
    const std::string locked = dir.path() + "/locked";
    std::filesystem::create_directory(locked);
    ::chmod(locked.c_str(), 0);
    runCases({{"mode 000",
               kHttp + "root = \"" + locked + "\"\n",
               {"bad.toml:5:8: http root '" + locked +
                "' is not a readable directory: Permission denied"},
               /*check_files=*/true}});
    ::chmod(locked.c_str(), 0700);
  }
}

TEST_CASE("[worker.http] applies to http:// and https:// only", "[config][http][errors]") {
  const auto worker = [](const std::string& listen) {
    return "[[worker]]\nlisten = \"" + listen + "\"\napp = \"echo\"\n[worker.http]\n" +
           "root = \"\"\n";
  };
  runCases({
      {"websocket://",
       worker("websocket://127.0.0.1:1"),
       {"bad.toml:4:1: [worker.http] only applies to http:// and https:// listeners, not "
        "websocket://"}},
      {"ws://",
       worker("ws://127.0.0.1:1"),
       {"bad.toml:4:1: [worker.http] only applies to http:// and https:// listeners, not ws://"}},
      {"text://",
       worker("text://127.0.0.1:1"),
       {"bad.toml:4:1: [worker.http] only applies to http:// and https:// listeners, not "
        "text://"}},
      {"udp://",
       worker("udp://127.0.0.1:1"),
       {"bad.toml:4:1: [worker.http] only applies to http:// and https:// listeners, not udp://"}},
  });
}

TEST_CASE("[worker.http] value errors", "[config][http][errors]") {
  runCases({
      {"root of the wrong type",
       kHttp + "root = 5\n",
       {"bad.toml:5:8: root must be a string, got integer"}},
      {"index not an array",
       kHttp + "index = \"index.html\"\n",
       {"bad.toml:5:9: index must be an array of file names, got string"}},
      {"index entries that are not file names",
       kHttp + "index = [\"a/b.html\", \"\", \".\", 3, \"..\"]\n",
       {"bad.toml:5:10: index[0] 'a/b.html' must be a file name (no '/', not '.' or '..')",
        "bad.toml:5:22: index[1] must be a non-empty string, got an empty string",
        "bad.toml:5:26: index[2] '.' must be a file name (no '/', not '.' or '..')",
        "bad.toml:5:31: index[3] must be a non-empty string, got integer",
        "bad.toml:5:34: index[4] '..' must be a file name (no '/', not '.' or '..')"}},
      {"max_header_size below 1KiB",
       kHttp + "max_header_size = 1023\n",
       {"bad.toml:5:19: max_header_size must be at least 1024 bytes, got 1023"}},
      {"max_header_size above 1MiB",
       kHttp + "max_header_size = \"2MiB\"\n",
       {"bad.toml:5:19: max_header_size must be at most 1048576 bytes, got 2097152"}},
      {"max_header_size zero",
       kHttp + "max_header_size = 0\n",
       {"bad.toml:5:19: max_header_size must be at least 1024 bytes, got 0"}},
      {"negative max_body_size",
       kHttp + "max_body_size = -1\n",
       {"bad.toml:5:17: max_body_size must not be negative, got -1"}},
      {"max_body_size without a unit it knows",
       kHttp + "max_body_size = \"1TB\"\n",
       {"bad.toml:5:17: max_body_size: invalid size '1TB' (use bytes with an optional unit B, "
        "KiB, MiB or GiB, e.g. \"64KiB\")"}},
      {"header_timeout zero",
       kHttp + "header_timeout = 0\n",
       {"bad.toml:5:18: header_timeout must be at least 1ms, got 0ms"}},
      {"body_timeout zero",
       kHttp + "body_timeout = \"0s\"\n",
       {"bad.toml:5:16: body_timeout must be at least 1ms, got 0ms"}},
      {"keepalive_timeout not a duration",
       kHttp + "keepalive_timeout = \"soon\"\n",
       {"bad.toml:5:21: keepalive_timeout: invalid duration 'soon' (use a number with unit ms, "
        "s, m or h, e.g. \"250ms\")"}},
      {"keepalive_timeout negative",
       kHttp + "keepalive_timeout = -5\n",
       {"bad.toml:5:21: keepalive_timeout must be between 0 and 9223372036854775 seconds, got "
        "-5"}},
      {"stream_body not a boolean",
       kHttp + "stream_body = \"yes\"\n",
       {"bad.toml:5:15: stream_body must be a boolean (true or false), got string"}},
      {"http not a table",
       "[[worker]]\nlisten = \"http://127.0.0.1:8080\"\napp = \"echo\"\nhttp = true\n",
       {"bad.toml:4:8: http must be a table ([worker.http]), got boolean"}},
  });
}

TEST_CASE("[worker.http] websocket path errors", "[config][http][errors]") {
  runCases({
      {"not a string or an array",
       kHttp + "websocket = 1\n",
       {"bad.toml:5:13: websocket must be a path or an array of paths, got integer"}},
      {"relative path",
       kHttp + "websocket = \"chat\"\n",
       {"bad.toml:5:13: websocket path 'chat' must start with '/'"}},
      {"empty path",
       kHttp + "websocket = \"\"\n",
       {"bad.toml:5:13: websocket path '' must start with '/'"}},
      {"query",
       kHttp + "websocket = \"/chat?room=1\"\n",
       {"bad.toml:5:13: websocket path '/chat?room=1' must not contain '?' or '#' (the query is "
        "not part of the match)"}},
      {"fragment",
       kHttp + "websocket = [\"/ok\", \"/chat#top\"]\n",
       {"bad.toml:5:21: websocket path '/chat#top' must not contain '?' or '#' (the query is "
        "not part of the match)"}},
      {"space",
       kHttp + "websocket = [\"/a b\"]\n",
       {"bad.toml:5:14: websocket path '/a b' must not contain spaces or control characters"}},
      {"element of the wrong type",
       kHttp + "websocket = [\"/ok\", 7]\n",
       {"bad.toml:5:21: websocket[1] must be a string, got integer"}},
      {"duplicate",
       kHttp + "websocket = [\n  \"/chat\",\n  \"/feed\",\n  \"/chat\",\n]\n",
       {"bad.toml:8:3: duplicate websocket path '/chat' (first given at line 6)"}},
  });
}

TEST_CASE("[worker.http] keys written elsewhere get a hint", "[config][http][errors]") {
  const std::string worker = "[[worker]]\nlisten = \"http://127.0.0.1:8080\"\napp = \"echo\"\n";
  runCases({
      {"typo in [worker.http]",
       kHttp + "keepalive_timout = 5\n",
       {"bad.toml:5:1: unknown key 'keepalive_timout' in [worker.http]; did you mean "
        "'keepalive_timeout'?"}},
      {"a limit in [worker.http]",
       kHttp + "idle_timeout = 5\n",
       {"bad.toml:5:1: unknown key 'idle_timeout' in [worker.http]; it belongs in "
        "[worker.limits]"}},
      {"root in [[worker]]",
       worker + "root = \"www\"\n",
       {"bad.toml:4:1: unknown key 'root' in [[worker]]; it belongs in [worker.http]"}},
      {"a worker key below [worker.http]",
       kHttp + "count = 2\n",
       {"bad.toml:5:1: unknown key 'count' in [worker.http]; it belongs in [[worker]] (keys "
        "below a [worker.http] header belong to that table)"}},
      {"websocket paths in [[worker]]",
       worker + "websocket = \"/ws\"\n",
       {"bad.toml:4:13: websocket must be a table ([worker.websocket]), got string; the "
        "WebSocket paths of an http worker go in [worker.http]"}},
      {"websocket path array in [[worker]]",
       worker + "websocket = [\"/ws\"]\n",
       {"bad.toml:4:13: websocket must be a table ([worker.websocket]), got array; the "
        "WebSocket paths of an http worker go in [worker.http]"}},
  });
}
