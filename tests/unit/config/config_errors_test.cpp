// Invalid configs: each case asserts the exact `file:line:col: message` the user sees.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "config_test_util.h"
#include "wman/config.h"

using wman::ConfigCheck;
using wman::parseConfig;
using wman::test::runCases;
using wman::test::TempDir;

namespace {

// A valid worker to append so a case only contains the one mistake under test.
const std::string kWorker = "[[worker]]\nlisten = \"text://127.0.0.1:8081\"\napp = \"echo\"\n";

}  // namespace

TEST_CASE("TOML syntax errors carry toml++'s position and description", "[config][errors]") {
  runCases({
      {"unterminated table header",
       "[daemon\nlog_level = \"info\"\n",
       {"bad.toml:1:8: Error while parsing table header: expected ']', saw '\\n'"}},
      {"key without value",
       kWorker + "count =\n",
       {"bad.toml:4:8: Error while parsing key-value pair: expected value, saw '\\n'"}},
      {"duplicate key",
       kWorker + "app = \"echo\"\n",
       {"bad.toml:4:7: Error while parsing key-value pair: cannot redefine existing string "
        "'app'"}},
      {"newline inside toml++'s description is escaped",
       kWorker + "reuse_port = fals\n",
       {"bad.toml:4:18: Error while parsing boolean: expected 'false', saw 'fals\\n'"}},
      {"invalid UTF-8", "\xff = 1\n", {"bad.toml:1:1: Encountered invalid utf-8 sequence"}},
  });
}

TEST_CASE("unknown keys are reported with a suggestion", "[config][errors]") {
  runCases({
      {"top level",
       "workers = 1\n" + kWorker,
       {"bad.toml:1:1: unknown key 'workers' at the top level; did you mean 'worker'?"}},
      {"daemon key at top level",
       "log_level = \"info\"\n" + kWorker,
       {"bad.toml:1:1: unknown key 'log_level' at the top level; it belongs in [daemon]"}},
      {"[daemon] typo",
       "[daemon]\nlog_levle = \"info\"\n" + kWorker,
       {"bad.toml:2:1: unknown key 'log_levle' in [daemon]; did you mean 'log_level'?"}},
      {"[daemon] no close key",
       "[daemon]\nfoo = 1\n" + kWorker,
       {"bad.toml:2:1: unknown key 'foo' in [daemon]"}},
      {"[[worker]] typo",
       kWorker + "cuont = 2\n",
       {"bad.toml:4:1: unknown key 'cuont' in [[worker]]; did you mean 'count'?"}},
      {"limit written in [[worker]]",
       kWorker + "max_connections = 10\n",
       {"bad.toml:4:1: unknown key 'max_connections' in [[worker]]; it belongs in "
        "[worker.limits]"}},
      {"[worker.limits] typo",
       kWorker + "[worker.limits]\nmax_conections = 10\n",
       {"bad.toml:5:1: unknown key 'max_conections' in [worker.limits]; did you mean "
        "'max_connections'?"}},
      {"worker key below [worker.limits]",
       kWorker + "[worker.limits]\ncount = 2\n",
       {"bad.toml:5:1: unknown key 'count' in [worker.limits]; it belongs in [[worker]] "
        "(keys below a [worker.limits] header belong to that table)"}},
      {"[worker.tls]",
       kWorker + "transport = \"tls\"\n[worker.tls]\ncert = \"c\"\nkey = \"k\"\n"
                 "certificate = \"x\"\n",
       {"bad.toml:8:1: unknown key 'certificate' in [worker.tls]"}},
      {"[worker.websocket]",
       "[[worker]]\nlisten = \"ws://127.0.0.1:1\"\napp = \"echo\"\n[worker.websocket]\n"
       "allowed_origin = []\n",
       {"bad.toml:5:1: unknown key 'allowed_origin' in [worker.websocket]; did you mean "
        "'allowed_origins'?"}},
  });
}

TEST_CASE("values of the wrong type or out of range", "[config][errors]") {
  runCases({
      {"count as string",
       kWorker + "count = \"2\"\n",
       {"bad.toml:4:9: count must be an integer, got string"}},
      {"negative count",
       kWorker + "count = -1\n",
       {"bad.toml:4:9: count must be between 0 and 1024, got -1"}},
      {"huge count",
       kWorker + "count = 5000\n",
       {"bad.toml:4:9: count must be between 0 and 1024, got 5000"}},
      {"reuse_port as integer",
       kWorker + "reuse_port = 1\n",
       {"bad.toml:4:14: reuse_port must be a boolean (true or false), got integer"}},
      {"listen as array",
       "[[worker]]\nlisten = [\"text://127.0.0.1:1\"]\napp = \"echo\"\n",
       {"bad.toml:2:10: listen must be a string, got array"}},
      {"daemon as value",
       "daemon = 5\n" + kWorker,
       {"bad.toml:1:10: daemon must be a table ([daemon]), got integer"}},
      {"[worker] instead of [[worker]]",
       "[worker]\nlisten = \"text://127.0.0.1:1\"\n",
       {"bad.toml:1:1: worker must be an array of tables ([[worker]]), got table; write "
        "[[worker]], not [worker]"}},
      {"limits as value",
       kWorker + "limits = 5\n",
       {"bad.toml:4:10: limits must be a table ([worker.limits]), got integer"}},
      {"bad log_level",
       "[daemon]\nlog_level = \"verbose\"\n" + kWorker,
       {"bad.toml:2:13: invalid log_level 'verbose' (expected one of: trace, debug, info, "
        "warn, error, critical, off)"}},
      {"bad transport",
       kWorker + "transport = \"quic\"\n",
       {"bad.toml:4:13: invalid transport 'quic' (expected one of: tcp, tls)"}},
      {"empty name",
       kWorker + "name = \"\"\n",
       {"bad.toml:4:8: invalid worker name '' (1-64 letters, digits, '.', '_' or '-')"}},
      {"name with a space",
       kWorker + "name = \"my app\"\n",
       {"bad.toml:4:8: invalid worker name 'my app' (1-64 letters, digits, '.', '_' or '-')"}},
      {"rlimit_nofile negative",
       "[daemon]\nrlimit_nofile = -5\n" + kWorker,
       {"bad.toml:2:17: rlimit_nofile must be at least 0, got -5"}},
      {"control_max_connections zero",
       "[daemon]\ncontrol_max_connections = 0\n" + kWorker,
       {"bad.toml:2:27: control_max_connections must be between 1 and 100000, got 0"}},
      {"origin not a string",
       "[[worker]]\nlisten = \"ws://127.0.0.1:1\"\napp = \"echo\"\n[worker.websocket]\n"
       "allowed_origins = [\"https://a\", 7]\n",
       {"bad.toml:5:33: allowed_origins[1] must be a non-empty string, got integer"}},
      {"binary_type unknown",
       "[[worker]]\nlisten = \"ws://127.0.0.1:1\"\napp = \"echo\"\n[worker.websocket]\n"
       "binary_type = \"blob\"\n",
       {"bad.toml:5:15: invalid binary_type 'blob' (expected one of: text, binary)"}},
      {"server_max_window_bits below 8",
       "[[worker]]\nlisten = \"ws://127.0.0.1:1\"\napp = \"echo\"\n[worker.websocket]\n"
       "server_max_window_bits = 7\n",
       {"bad.toml:5:26: server_max_window_bits must be between 8 and 15, got 7"}},
      {"client_max_window_bits above 15",
       "[[worker]]\nlisten = \"ws://127.0.0.1:1\"\napp = \"echo\"\n[worker.websocket]\n"
       "client_max_window_bits = 16\n",
       {"bad.toml:5:26: client_max_window_bits must be between 8 and 15, got 16"}},
      {"mem_level 0",
       "[[worker]]\nlisten = \"ws://127.0.0.1:1\"\napp = \"echo\"\n[worker.websocket]\n"
       "mem_level = 0\n",
       {"bad.toml:5:13: mem_level must be between 1 and 9, got 0"}},
      {"mem_level as string",
       "[[worker]]\nlisten = \"ws://127.0.0.1:1\"\napp = \"echo\"\n[worker.websocket]\n"
       "mem_level = \"4\"\n",
       {"bad.toml:5:13: mem_level must be an integer, got string"}},
      {"message_timeout not a duration",
       kWorker + "[worker.limits]\nmessage_timeout = \"soon\"\n",
       {"bad.toml:5:19: message_timeout: invalid duration 'soon' (use a number with unit ms, s, "
        "m or h, e.g. \"250ms\")"}},
  });
}

TEST_CASE("sizes and durations", "[config][errors]") {
  runCases({
      {"bad size unit",
       kWorker + "[worker.limits]\nmax_package_size = \"10MX\"\n",
       {"bad.toml:5:20: max_package_size: invalid size '10MX' (use bytes with an optional unit "
        "B, KiB, MiB or GiB, e.g. \"64KiB\")"}},
      {"size as float",
       kWorker + "[worker.limits]\nmax_send_buffer = 1.5\n",
       {"bad.toml:5:19: max_send_buffer must be a size (integer bytes or a string like "
        "\"64KiB\"), got float"}},
      {"negative size",
       kWorker + "[worker.limits]\nmax_send_buffer = -1\n",
       {"bad.toml:5:19: max_send_buffer must not be negative, got -1"}},
      {"zero size",
       kWorker + "[worker.limits]\nmax_package_size = 0\n",
       {"bad.toml:5:20: max_package_size must be at least 1 bytes, got 0"}},
      {"bad duration unit",
       kWorker + "[worker.limits]\nidle_timeout = \"5d\"\n",
       {"bad.toml:5:16: idle_timeout: invalid duration '5d' (use a number with unit ms, s, m "
        "or h, e.g. \"250ms\")"}},
      {"duration as float",
       "[daemon]\nstop_timeout = 0.5\n" + kWorker,
       {"bad.toml:2:16: stop_timeout must be a duration (integer seconds or a string like "
        "\"30s\"), got float"}},
      {"negative duration",
       "[daemon]\ndrain_timeout = -3\n" + kWorker,
       {"bad.toml:2:17: drain_timeout must be between 0 and 9223372036854775 seconds, got -3"}},
      {"NUL in a path",
       kWorker + "transport = \"tls\"\n[worker.tls]\ncert = \"/c\\u0000x\"\n"
                 "key = \"/k\"\n",
       {"bad.toml:6:8: cert must not contain NUL characters"}},
      {"zero start_timeout",
       "[daemon]\nstart_timeout = \"0ms\"\n" + kWorker,
       {"bad.toml:2:17: start_timeout must be at least 1ms, got 0ms"}},
  });
}

TEST_CASE("listen URLs", "[config][errors]") {
  const auto worker = [](const std::string& listen) {
    return "[[worker]]\nlisten = \"" + listen + "\"\napp = \"echo\"\n";
  };
  runCases({
      {"missing port",
       worker("text://127.0.0.1"),
       {"bad.toml:2:10: invalid listen URL 'text://127.0.0.1': missing port (expected "
        "host:port, e.g. 127.0.0.1:8080)"}},
      {"port out of range",
       worker("tcp://0.0.0.0:70000"),
       {"bad.toml:2:10: invalid listen URL 'tcp://0.0.0.0:70000': port 70000 is out of range "
        "(0-65535)"}},
      {"relative unix path",
       worker("unix://wman.sock"),
       {"bad.toml:2:10: invalid listen URL 'unix://wman.sock': unix socket path must be "
        "absolute (unix:///path/to/socket)"}},
      {"missing listen",
       "[daemon]\n\n[[worker]]\napp = \"echo\"\n",
       {"bad.toml:3:1: missing required key 'listen' in [[worker]] (e.g. listen = "
        "\"text://0.0.0.0:8081\")"}},
      {"duplicate listen",
       kWorker + "[[worker]]\nname = \"b\"\nlisten = \"text://127.0.0.1:8081\"\napp = \"echo\"\n",
       {"bad.toml:6:10: listen address 127.0.0.1:8081 is already used by the worker at line 1 "
        "('echo-1')"}},
      {"overlapping wildcard",
       kWorker + "[[worker]]\nname = \"b\"\nlisten = \"frame://0.0.0.0:8081\"\napp = \"echo\"\n",
       {"bad.toml:6:10: listen address 0.0.0.0:8081 overlaps 127.0.0.1:8081 by the worker at "
        "line 1 ('echo-1')"}},
      {"duplicate unix path",
       worker("unix:///tmp/w.sock") + "[[worker]]\nname = \"b\"\nlisten = \"unix:///tmp/w.sock\"\n"
                                      "app = \"echo\"\n",
       {"bad.toml:6:10: listen address /tmp/w.sock is already used by the worker at line 1 "
        "('echo-1')"}},
      {"reuse_port on a unix socket",
       worker("unix:///tmp/w.sock") + "reuse_port = true\n",
       {"bad.toml:4:14: reuse_port cannot be used with unix:// sockets"}},
  });
}

TEST_CASE("unknown scheme", "[config][errors]") {
  const auto result =
      parseConfig("[[worker]]\nlisten = \"smtp://0.0.0.0:25\"\napp = \"echo\"\n", "bad.toml");
  REQUIRE(result.errors.size() == 1);
  // Other tests register custom protocols, which the list of known schemes then names too.
  CHECK_THAT(result.errors[0].format(),
             Catch::StartsWith("bad.toml:2:10: invalid listen URL 'smtp://0.0.0.0:25': unknown "
                               "scheme 'smtp' (known: tcp, text, frame, websocket, ws, wss, "
                               "http, https, unix, udp"));
}

TEST_CASE("apps", "[config][errors]") {
  runCases({
      {"missing app",
       "[[worker]]\nlisten = \"text://127.0.0.1:1\"\n",
       {"bad.toml:1:1: missing required key 'app' in [[worker]] (e.g. app = \"echo\")"}},
      {"unknown app",
       "[[worker]]\nlisten = \"text://127.0.0.1:1\"\napp = \"chatroom\"\n",
       {"bad.toml:3:7: unknown app 'chatroom' (built-in apps: chat, echo, forward; or a path to a "
        ".so "
        "module)"}},
      {".so that does not exist",
       "[[worker]]\nlisten = \"text://127.0.0.1:1\"\napp = \"/nonexistent/libx.so\"\n",
       {"bad.toml:3:7: app module '/nonexistent/libx.so': No such file or directory"},
       true},
      {"duplicate name",
       "[[worker]]\nname = \"a\"\nlisten = \"text://127.0.0.1:1\"\napp = \"echo\"\n"
       "[[worker]]\nname = \"a\"\nlisten = \"text://127.0.0.1:2\"\napp = \"echo\"\n",
       {"bad.toml:6:8: duplicate worker name 'a' (first used by the worker at line 1)"}},
      {"default name already taken",
       "[[worker]]\nname = \"echo\"\nlisten = \"text://127.0.0.1:1\"\napp = \"/x/libecho.so\"\n"
       "[[worker]]\nlisten = \"text://127.0.0.1:2\"\napp = \"echo\"\n",
       {"bad.toml:5:1: default worker name 'echo' is already taken (first used by the worker "
        "at line 1); set name = \"...\""}},
  });
}

TEST_CASE("TLS and protocol-specific tables", "[config][errors]") {
  TempDir dir;
  const std::string cert = dir.write("cert.pem", "x");
  runCases({
      {"tls without cert",
       kWorker + "transport = \"tls\"\n",
       {"bad.toml:4:13: TLS needs a certificate: set cert and key in [worker.tls]"}},
      {"wss without cert",
       "[[worker]]\nlisten = \"wss://127.0.0.1:1\"\napp = \"echo\"\n",
       {"bad.toml:2:10: TLS needs a certificate: set cert and key in [worker.tls]"}},
      {"tls table without cert",
       kWorker + "transport = \"tls\"\n[worker.tls]\nmin_version = \"1.3\"\n",
       {"bad.toml:5:1: TLS needs a certificate: set cert and key in [worker.tls]"}},
      {"key without cert",
       kWorker + "transport = \"tls\"\n[worker.tls]\nkey = \"/k.pem\"\n",
       {"bad.toml:5:1: [worker.tls] needs both cert and key"}},
      {"bad min_version",
       kWorker + "transport = \"tls\"\n[worker.tls]\ncert = \"/c\"\nkey = \"/k\"\nmin_version = "
                 "\"1.4\"\n",
       {"bad.toml:8:15: invalid min_version '1.4' (expected one of: 1.2, 1.3)"}},
      {"tls table with tcp transport",
       kWorker + "[worker.tls]\ncert = \"/c\"\nkey = \"/k\"\n",
       {"bad.toml:4:1: [worker.tls] is set but transport is \"tcp\"; add transport = \"tls\" "
        "(or listen on wss:// or https://)"}},
      {"wss with transport tcp",
       "[[worker]]\nlisten = \"wss://127.0.0.1:1\"\napp = \"echo\"\ntransport = \"tcp\"\n",
       {"bad.toml:4:13: transport \"tcp\" conflicts with wss:// (which always uses TLS)"}},
      {"unreadable key file",
       kWorker + "transport = \"tls\"\n[worker.tls]\ncert = \"" + cert + "\"\nkey = \"" +
           dir.path() + "/nokey.pem\"\n",
       {"bad.toml:7:7: tls key '" + dir.path() + "/nokey.pem': No such file or directory"},
       true},
      {"cert is a directory",
       kWorker + "transport = \"tls\"\n[worker.tls]\ncert = \"" + dir.path() + "\"\nkey = \"" +
           cert + "\"\n",
       {"bad.toml:6:8: tls cert '" + dir.path() + "' is not a regular file"},
       true},
      {"websocket table on a text listener",
       kWorker + "[worker.websocket]\nping_interval = 5\n",
       {"bad.toml:4:1: [worker.websocket] only applies to websocket://, ws://, wss://, "
        "http:// and https:// listeners, not text://"}},
  });
}

TEST_CASE("[worker.tls] options", "[config][errors]") {
  // A TLS worker whose [worker.tls] table is open for one more key.
  const std::string tls =
      kWorker + "transport = \"tls\"\n[worker.tls]\ncert = \"/c\"\nkey = \"/k\"\n";
  runCases({
      {"TLS 1.1",
       tls + "min_version = \"1.1\"\n",
       {"bad.toml:8:15: min_version '1.1': TLS 1.0 and 1.1 are not supported (use \"1.2\" or "
        "\"1.3\")"}},
      {"TLS 1.0",
       tls + "min_version = \"1.0\"\n",
       {"bad.toml:8:15: min_version '1.0': TLS 1.0 and 1.1 are not supported (use \"1.2\" or "
        "\"1.3\")"}},
      {"min_version as a number",
       tls + "min_version = 1.2\n",
       {"bad.toml:8:15: min_version must be a string, got float"}},
      {"verify_client without ca",
       tls + "verify_client = true\n",
       {"bad.toml:8:17: verify_client = true needs ca (the PEM bundle of the CAs that sign "
        "client certificates)"}},
      {"verify_client with an empty ca",
       tls + "ca = \"\"\nverify_client = true\n",
       {"bad.toml:9:17: verify_client = true needs ca (the PEM bundle of the CAs that sign "
        "client certificates)"}},
      {"verify_client as a string",
       tls + "ca = \"/ca\"\nverify_client = \"yes\"\n",
       {"bad.toml:9:17: verify_client must be a boolean (true or false), got string"}},
      {"ciphers as an array",
       tls + "ciphers = [\"ECDHE+AESGCM\"]\n",
       {"bad.toml:8:11: ciphers must be a string, got array"}},
      {"ciphersuites as an integer",
       tls + "ciphersuites = 1\n",
       {"bad.toml:8:16: ciphersuites must be a string, got integer"}},
      {"alpn as a string",
       tls + "alpn = \"http/1.1\"\n",
       {"bad.toml:8:8: alpn must be an array of strings, got string"}},
      {"empty alpn protocol",
       tls + "alpn = [\"h2\", \"\"]\n",
       {"bad.toml:8:15: alpn[1] must be a non-empty string, got an empty string"}},
      {"alpn protocol over 255 bytes",
       tls + "alpn = [\"" + std::string(256, 'x') + "\"]\n",
       {"bad.toml:8:9: alpn[0] must be at most 255 bytes, got 256"}},
      {"sni key written in [worker.tls]",
       tls + "server_name = \"a.example\"\n",
       {"bad.toml:8:1: unknown key 'server_name' in [worker.tls]; it belongs in "
        "[[worker.tls.sni]]"}},
  });
}

TEST_CASE("[[worker.tls.sni]] entries", "[config][errors]") {
  TempDir dir;
  const std::string cert = dir.write("cert.pem", "x");
  const std::string tls =
      kWorker + "transport = \"tls\"\n[worker.tls]\ncert = \"/c\"\nkey = \"/k\"\n";
  const auto entry = [](const std::string& name) {
    return "[[worker.tls.sni]]\nserver_name = \"" + name + "\"\ncert = \"/a\"\nkey = \"/b\"\n";
  };
  runCases({
      {"single table instead of an array",
       tls + "[worker.tls.sni]\nserver_name = \"a.example\"\n",
       {"bad.toml:8:1: sni must be an array of tables ([[worker.tls.sni]]), got table; write "
        "[[worker.tls.sni]], not [worker.tls.sni]"}},
      {"sni as a string",
       tls + "sni = \"a.example\"\n",
       {"bad.toml:8:7: sni must be an array of tables ([[worker.tls.sni]]), got string"}},
      {"an array of strings",
       tls + "sni = [\"a.example\"]\n",
       {"bad.toml:8:8: each sni entry must be a table ([[worker.tls.sni]]), got string"}},
      {"missing keys",
       tls + "[[worker.tls.sni]]\nserver_name = \"a.example\"\n",
       {"bad.toml:8:1: missing required key 'cert' in [[worker.tls.sni]] (e.g. cert = "
        "\"/etc/wman/tls/api.pem\")",
        "bad.toml:8:1: missing required key 'key' in [[worker.tls.sni]] (e.g. key = "
        "\"/etc/wman/tls/api.key\")"}},
      {"missing server_name",
       tls + "[[worker.tls.sni]]\ncert = \"/a\"\nkey = \"/b\"\n",
       {"bad.toml:8:1: missing required key 'server_name' in [[worker.tls.sni]] (e.g. "
        "server_name = \"api.example.com\")"}},
      {"space in server_name",
       tls + entry("a b.example"),
       {"bad.toml:9:15: invalid server_name 'a b.example' (a host name like "
        "\"api.example.com\" or a wildcard like \"*.example.com\")"}},
      {"wildcard in the middle",
       tls + entry("api.*.example"),
       {"bad.toml:9:15: invalid server_name 'api.*.example' (a host name like "
        "\"api.example.com\" or a wildcard like \"*.example.com\")"}},
      {"bare wildcard",
       tls + entry("*."),
       {"bad.toml:9:15: invalid server_name '*.' (a host name like \"api.example.com\" or a "
        "wildcard like \"*.example.com\")"}},
      {"empty label",
       tls + entry("a..example"),
       {"bad.toml:9:15: invalid server_name 'a..example' (a host name like "
        "\"api.example.com\" or a wildcard like \"*.example.com\")"}},
      {"duplicate server_name, case-insensitive",
       tls + entry("*.Example.com") + entry("*.example.COM"),
       {"bad.toml:13:15: duplicate server_name '*.example.COM' (first used at line 8)"}},
      {"[worker.tls] key below [[worker.tls.sni]]",
       tls + entry("a.example") + "min_version = \"1.3\"\n",
       {"bad.toml:12:1: unknown key 'min_version' in [[worker.tls.sni]]; it belongs in "
        "[worker.tls] (keys below a [[worker.tls.sni]] header belong to that table)"}},
      {"sni cert that does not exist",
       tls + "[[worker.tls.sni]]\nserver_name = \"a.example\"\ncert = \"" + dir.path() +
           "/none.pem\"\nkey = \"" + cert + "\"\n",
       {"bad.toml:6:8: tls cert '/c': No such file or directory",
        "bad.toml:7:7: tls key '/k': No such file or directory",
        "bad.toml:10:8: tls sni cert '" + dir.path() + "/none.pem': No such file or directory"},
       true},
  });
}

TEST_CASE("whole-file problems", "[config][errors]") {
  runCases({
      {"empty file", "", {"bad.toml: no [[worker]] defined"}},
      {"only comments", "# nothing here\n\n", {"bad.toml: no [[worker]] defined"}},
      {"daemon but no workers",
       "[daemon]\nlog_level = \"info\"\n",
       {"bad.toml: no [[worker]] defined"}},
      {"empty worker array", "worker = []\n", {"bad.toml: no [[worker]] defined"}},
      {"user that does not exist",
       "[daemon]\nuser = \"wman-no-such-user\"\ngroup = \"wman-no-such-group\"\n" + kWorker,
       {"bad.toml:2:8: user 'wman-no-such-user' does not exist",
        "bad.toml:3:9: group 'wman-no-such-group' does not exist"},
       true},
  });
}

TEST_CASE("all errors are collected, in file order", "[config][errors]") {
  const std::string text = R"([daemon]
log_level = "loud"
stop_timeout = "soon"

[[worker]]
listen = "text://127.0.0.1:99999"
count = "many"
app = "nope"
[worker.limits]
max_package_size = "1XB"
zzz = 1

[[worker]]
listen = "frame://127.0.0.1:1"
)";
  const auto result = parseConfig(text, "multi.toml", ConfigCheck{false, {"echo"}});
  std::vector<std::string> got;
  for (const auto& e : result.errors) got.push_back(e.format());
  const std::vector<std::string> want = {
      "multi.toml:2:13: invalid log_level 'loud' (expected one of: trace, debug, info, warn, "
      "error, critical, off)",
      "multi.toml:3:16: stop_timeout: invalid duration 'soon' (use a number with unit ms, s, m "
      "or h, e.g. \"250ms\")",
      "multi.toml:6:10: invalid listen URL 'text://127.0.0.1:99999': port 99999 is out of range "
      "(0-65535)",
      "multi.toml:7:9: count must be an integer, got string",
      "multi.toml:8:7: unknown app 'nope' (built-in apps: echo; or a path to a .so module)",
      "multi.toml:10:20: max_package_size: invalid size '1XB' (use bytes with an optional unit "
      "B, KiB, MiB or GiB, e.g. \"64KiB\")",
      "multi.toml:11:1: unknown key 'zzz' in [worker.limits]",
      "multi.toml:13:1: missing required key 'app' in [[worker]] (e.g. app = \"echo\")",
  };
  CHECK(got == want);
  CHECK_FALSE(result.config.has_value());
}

TEST_CASE("control characters in values cannot break the one-line format", "[config][errors]") {
  const auto result = parseConfig(
      "[[worker]]\nlisten = \"text://127.0.0.1:1\"\napp = \"a\\nb\\u0007c\"\n", "ctl.toml");
  REQUIRE(result.errors.size() == 1);
  CHECK(result.errors[0].format() ==
        "ctl.toml:3:7: unknown app 'a?b?c' (built-in apps: chat, echo, forward; or a path to a .so "
        "module)");
}

TEST_CASE("[bus]", "[config][errors]") {
  runCases({
      {"node with a colon",
       "[bus]\nnode = 'a:b'\n" + kWorker,
       {"bad.toml:2:8: node must be 1-64 letters, digits, '.', '_' or '-', got 'a:b'"}},
      {"redis with another scheme",
       "[bus]\nredis = \"http://127.0.0.1:6379\"\n" + kWorker,
       {"bad.toml:2:9: redis 'http://127.0.0.1:6379' must start with redis:// or rediss://"}},
      {"redis port out of range",
       "[bus]\nredis = \"redis://127.0.0.1:70000/0\"\n" + kWorker,
       {"bad.toml:2:9: redis 'redis://127.0.0.1:70000/0' port must be 1..65535, got '70000'"}},
      {"redis database not a number",
       "[bus]\nredis = \"redis://h/x\"\n" + kWorker,
       {"bad.toml:2:9: redis 'redis://h/x' database must be a number, got 'x'"}},
      {"bus as value",
       "bus = 1\n" + kWorker,
       {"bad.toml:1:7: bus must be a table ([bus]), got integer"}},
  });
}
