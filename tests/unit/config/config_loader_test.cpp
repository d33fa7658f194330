// Valid configs: every field lands in the right place, defaults apply, and the shipped
// config files load.
#include <catch2/catch.hpp>
#include <thread>

#include "config_test_util.h"
#include "wman/config.h"
#include "wman/protocol_registry.h"

using namespace std::chrono_literals;
using wman::ConfigCheck;
using wman::Duration;
using wman::parseConfig;
using wman::test::formatErrors;
using wman::test::noFiles;
using wman::test::TempDir;

TEST_CASE("a full config fills every field", "[config][loader]") {
  TempDir dir;
  const std::string cert = dir.write("cert.pem", "cert");
  const std::string key = dir.write("key.pem", "key");
  const std::string ca = dir.write("ca.pem", "ca");
  dir.write("api.pem", "api cert");
  dir.write("api.key", "api key");
  const std::string app = dir.write("libchat.so", "not really an ELF");
  const std::string text = R"(
[daemon]
run_dir = "/var/run/wman-test"
log_file = "/var/log/wman.log"
log_level = "debug"
user = "root"
group = "root"
stop_timeout = "2s"
drain_timeout = 45
start_timeout = "1500ms"
heartbeat_timeout = "1m"
rlimit_nofile = 65536

[[worker]]
name = "chat"
listen = "wss://0.0.0.0:8443"
count = 3
reuse_port = true
app = ")" + app + R"("

[worker.limits]
max_connections = 5000
max_package_size = "64KiB"
max_send_buffer = 2097152
handshake_timeout = "3s"
idle_timeout = "2m"
message_timeout = "45s"

[worker.tls]
cert = ")" + cert + R"("
key = ")" + key + R"("
ca = ")" + ca + R"("
min_version = "1.3"
verify_client = true
ciphers = "ECDHE+AESGCM"
ciphersuites = "TLS_AES_128_GCM_SHA256"
alpn = ["http/1.1", "x-chat"]

[[worker.tls.sni]]
server_name = "api.example.com"
cert = "api.pem"
key = "api.key"

[[worker.tls.sni]]
server_name = "*.example.com"
cert = ")" + cert + R"("
key = ")" + key + R"("

[worker.websocket]
allowed_origins = ["https://a.example", "https://b.example"]
ping_interval = "25s"
permessage_deflate = true
max_message_size = "1MiB"
binary_type = "binary"
server_max_window_bits = 10
client_max_window_bits = 9
mem_level = 4

[worker.options]
room = "lobby"
max_users = 42
ratio = 0.5
debug = true
tags = ["a", "b"]
day = 2024-01-02

[[worker]]
listen = "text://127.0.0.1:8081"
app = "echo"
transport = "tls"
tls = { cert = ")" + cert + R"(", key = ")" +
                           key + R"(" }
)";
  const auto result = parseConfig(text, dir.path() + "/wman.toml");
  INFO(formatErrors(result));
  REQUIRE(result.ok());
  const wman::Config& c = *result.config;
  CHECK(c.path == dir.path() + "/wman.toml");

  CHECK(c.daemon.run_dir == "/var/run/wman-test");
  CHECK(c.daemon.log_file == "/var/log/wman.log");
  CHECK(c.daemon.log_level == "debug");
  CHECK(c.daemon.user == "root");
  CHECK(c.daemon.group == "root");
  CHECK(c.daemon.stop_timeout == 2s);
  CHECK(c.daemon.drain_timeout == 45s);
  CHECK(c.daemon.start_timeout == 1500ms);
  CHECK(c.daemon.heartbeat_timeout == 60s);
  CHECK(c.daemon.rlimit_nofile == 65536);

  REQUIRE(c.workers.size() == 2);
  const wman::WorkerConfig& w = c.workers[0];
  CHECK(w.name == "chat");
  CHECK(w.listen == "wss://0.0.0.0:8443");
  CHECK(w.url.scheme == "wss");
  CHECK(w.url.protocol == "websocket");
  CHECK(w.url.host == "0.0.0.0");
  CHECK(w.url.port == 8443);
  CHECK(w.url.tls);
  CHECK(w.count == 3);
  CHECK(w.reuse_port);
  CHECK(w.app == app);
  CHECK(w.transport == "tls");  // implied by wss://
  CHECK(w.line == 14);
  CHECK(w.limits.max_connections == 5000);
  CHECK(w.limits.max_package_size == 64 * 1024);
  CHECK(w.limits.max_send_buffer == 2097152);
  CHECK(w.limits.handshake_timeout == 3s);
  CHECK(w.limits.idle_timeout == 120s);
  CHECK(w.limits.message_timeout == 45s);
  CHECK(w.tls.cert == cert);
  CHECK(w.tls.key == key);
  CHECK(w.tls.ca == ca);
  CHECK(w.tls.min_version == "1.3");
  CHECK(w.tls.verify_client);
  CHECK(w.tls.ciphers == "ECDHE+AESGCM");
  CHECK(w.tls.ciphersuites == "TLS_AES_128_GCM_SHA256");
  CHECK(w.tls.alpn == std::vector<std::string>{"http/1.1", "x-chat"});
  REQUIRE(w.tls.sni.size() == 2);
  CHECK(w.tls.sni[0].server_name == "api.example.com");
  CHECK(w.tls.sni[0].cert == dir.path() + "/api.pem");  // relative to the config file
  CHECK(w.tls.sni[0].key == dir.path() + "/api.key");
  CHECK(w.tls.sni[1].server_name == "*.example.com");
  CHECK(w.tls.sni[1].cert == cert);
  CHECK(w.tls.sni[1].key == key);
  CHECK(w.tls.enabled());
  CHECK(w.websocket.allowed_origins ==
        std::vector<std::string>{"https://a.example", "https://b.example"});
  CHECK(w.websocket.ping_interval == 25s);
  CHECK(w.websocket.permessage_deflate);
  CHECK(w.websocket.max_message_size == 1024 * 1024);
  CHECK(w.websocket.server_max_window_bits == 10);
  CHECK(w.websocket.client_max_window_bits == 9);
  CHECK(w.websocket.mem_level == 4);
  CHECK(w.websocket.binary_type == "binary");

  REQUIRE(w.options.size() == 6);
  CHECK(w.options.at("room").type == "string");
  CHECK(w.options.at("room").text == "lobby");
  CHECK(w.options.at("max_users").type == "integer");
  CHECK(w.options.at("max_users").text == "42");
  CHECK(w.options.at("ratio").type == "float");
  CHECK(w.options.at("ratio").text == "0.5");
  CHECK(w.options.at("debug").type == "boolean");
  CHECK(w.options.at("debug").text == "true");
  CHECK(w.options.at("tags").type == "array");
  CHECK(w.options.at("tags").text == "[ 'a', 'b' ]");
  CHECK(w.options.at("day").type == "date");
  CHECK(w.options.at("day").text == "2024-01-02");

  const wman::WorkerConfig& t = c.workers[1];
  CHECK(t.name == "echo");  // defaulted from the app, which no other worker uses
  CHECK(t.url.protocol == "text");
  CHECK(t.transport == "tls");
  CHECK(t.tls.cert == cert);
  CHECK(t.tls.ca.empty());
  CHECK_FALSE(t.tls.verify_client);
  CHECK(t.tls.sni.empty());
  CHECK(t.line == 67);
}

TEST_CASE("defaults apply to everything left out", "[config][loader]") {
  const auto result =
      parseConfig("[[worker]]\nlisten = \"tcp://127.0.0.1:0\"\napp = \"echo\"\n", "min.toml");
  INFO(formatErrors(result));
  REQUIRE(result.ok());
  const wman::Config& c = *result.config;
  const wman::DaemonConfig d;
  CHECK(c.daemon.run_dir == "/run/wman");
  CHECK(c.daemon.log_file == "stderr");
  CHECK(c.daemon.log_level == "info");
  CHECK(c.daemon.user.empty());
  CHECK(c.daemon.group.empty());
  CHECK(c.daemon.stop_timeout == 5s);
  CHECK(c.daemon.drain_timeout == 30s);
  CHECK(c.daemon.start_timeout == 10s);
  CHECK(c.daemon.heartbeat_timeout == 30s);
  CHECK(c.daemon.rlimit_nofile == 0);
  CHECK(c.daemon.control_max_connections == 64);
  CHECK(c.daemon.control_idle_timeout == 10s);

  CHECK(c.bus.enabled);
  CHECK(c.bus.node.empty());
  CHECK(c.bus.redis.empty());
  CHECK(c.bus.max_queue == 16 * 1024 * 1024);
  CHECK(c.bus.query_timeout == 5s);

  REQUIRE(c.workers.size() == 1);
  const wman::WorkerConfig& w = c.workers[0];
  CHECK(w.name == "echo");
  CHECK(w.count == 1);
  CHECK_FALSE(w.reuse_port);
  CHECK(w.transport == "tcp");
  CHECK(w.line == 1);
  CHECK(w.limits.max_connections == 100000);
  CHECK(w.limits.max_package_size == 10 * 1024 * 1024);
  CHECK(w.limits.max_send_buffer == 1024 * 1024);
  CHECK(w.limits.handshake_timeout == 10s);
  CHECK(w.limits.idle_timeout == 0s);
  CHECK(w.limits.message_timeout == 30s);
  CHECK_FALSE(w.tls.enabled());
  CHECK(w.tls.min_version == "1.2");
  CHECK_FALSE(w.tls.verify_client);
  CHECK(w.tls.ciphers.empty());
  CHECK(w.tls.ciphersuites.empty());
  CHECK(w.tls.alpn.empty());
  CHECK(w.tls.sni.empty());
  CHECK(w.websocket.allowed_origins.empty());
  CHECK(w.websocket.ping_interval == 0s);
  CHECK_FALSE(w.websocket.permessage_deflate);
  CHECK(w.websocket.max_message_size == 16 * 1024 * 1024);
  CHECK(w.websocket.server_max_window_bits == 15);
  CHECK(w.websocket.client_max_window_bits == 15);
  CHECK(w.websocket.mem_level == 8);
  CHECK(w.options.empty());
}

TEST_CASE("[bus] names the node and the Redis that links the nodes", "[config][loader]") {
  const auto result = parseConfig(
      "[bus]\nnode = \"web-1.dc2\"\nredis = \"rediss://[::1]:6380/3\"\npassword = \"s\"\n"
      "max_queue = \"1MiB\"\nquery_timeout = \"2s\"\nenabled = false\n"
      "[[worker]]\nlisten = \"tcp://127.0.0.1:1\"\napp = \"echo\"\n",
      "b.toml");
  INFO(formatErrors(result));
  REQUIRE(result.ok());
  const wman::BusConfig& b = result.config->bus;
  CHECK_FALSE(b.enabled);
  CHECK(b.node == "web-1.dc2");
  CHECK(b.redis == "rediss://[::1]:6380/3");
  CHECK(b.password == "s");
  CHECK(b.max_queue == 1024 * 1024);
  CHECK(b.query_timeout == 2s);
  CHECK(b.line == 1);
}

TEST_CASE("count = 0 means one worker per CPU", "[config][loader]") {
  const auto result = parseConfig(
      "[[worker]]\nlisten = \"tcp://127.0.0.1:1\"\napp = \"echo\"\ncount = 0\n", "c.toml");
  REQUIRE(result.ok());
  const unsigned cpus = std::max(1u, std::thread::hardware_concurrency());
  CHECK(result.config->workers[0].count == static_cast<int>(cpus));
}

TEST_CASE("workers sharing an app get numbered default names", "[config][loader]") {
  const auto result = parseConfig(R"(
[[worker]]
listen = "text://127.0.0.1:1"
app = "echo"
[[worker]]
listen = "frame://127.0.0.1:2"
app = "echo"
[[worker]]
listen = "tcp://127.0.0.1:3"
app = "/opt/wman/libchat.so"
[[worker]]
listen = "tcp://127.0.0.1:4"
app = "plugins/my app.so"
)",
                                  "/etc/wman/names.toml", noFiles());
  INFO(formatErrors(result));
  REQUIRE(result.ok());
  const auto& w = result.config->workers;
  REQUIRE(w.size() == 4);
  CHECK(w[0].name == "echo-1");
  CHECK(w[1].name == "echo-2");
  CHECK(w[2].name == "chat");
  CHECK(w[3].name == "my-app");
  // Relative paths are taken from the config file's directory.
  CHECK(w[3].app == "/etc/wman/plugins/my app.so");
}

TEST_CASE("listeners on distinct addresses or port 0 do not conflict", "[config][loader]") {
  const auto result = parseConfig(R"(
[[worker]]
listen = "tcp://127.0.0.1:0"
app = "echo"
[[worker]]
listen = "tcp://127.0.0.1:0"
app = "echo"
[[worker]]
listen = "tcp://127.0.0.1:9000"
app = "echo"
[[worker]]
listen = "tcp://127.0.0.2:9000"
app = "echo"
[[worker]]
listen = "tcp://[::1]:9000"
app = "echo"
[[worker]]
listen = "unix:///tmp/a.sock"
app = "echo"
[[worker]]
listen = "unix:///tmp/b.sock"
app = "echo"
)",
                                  "p.toml");
  INFO(formatErrors(result));
  CHECK(result.ok());
}

TEST_CASE("relative daemon paths are resolved against the config directory", "[config][loader]") {
  const auto result = parseConfig(
      "[daemon]\nrun_dir = \"run\"\nlog_file = \"logs/../wman.log\"\n"
      "[[worker]]\nlisten = \"tcp://127.0.0.1:1\"\napp = \"echo\"\n",
      "/srv/wman/conf/wman.toml");
  INFO(formatErrors(result));
  REQUIRE(result.ok());
  CHECK(result.config->daemon.run_dir == "/srv/wman/conf/run");
  CHECK(result.config->daemon.log_file == "/srv/wman/conf/wman.log");
}

TEST_CASE("listen URLs may name registered custom protocols", "[config][loader]") {
  const std::string text =
      "[[worker]]\nlisten = \"cfgtestproto://127.0.0.1:7000\"\napp = \"echo\"\n";
  CHECK_FALSE(parseConfig(text, "custom.toml").ok());
  REQUIRE(wman::ProtocolRegistry::add(
      "cfgtestproto", [](const wman::CodecLimits&) { return std::unique_ptr<wman::Codec>{}; }));
  const auto result = parseConfig(text, "custom.toml");
  INFO(formatErrors(result));
  REQUIRE(result.ok());
  CHECK(result.config->workers[0].url.protocol == "cfgtestproto");
  CHECK(result.config->workers[0].url.port == 7000);
}

TEST_CASE("ConfigError::format", "[config][loader]") {
  CHECK(wman::ConfigError{"a.toml", 3, 7, "boom"}.format() == "a.toml:3:7: boom");
  CHECK(wman::ConfigError{"a.toml", 3, 0, "boom"}.format() == "a.toml:3: boom");
  CHECK(wman::ConfigError{"a.toml", 0, 0, "boom"}.format() == "a.toml: boom");
  CHECK(wman::ConfigError{"", 1, 1, "boom"}.format() == "<config>:1:1: boom");
}

TEST_CASE("loadConfig reads a file and reports unreadable ones", "[config][loader]") {
  TempDir dir;
  const std::string path =
      dir.write("ok.toml", "[[worker]]\nlisten = \"text://127.0.0.1:1\"\napp = \"echo\"\n");
  const auto ok = wman::loadConfig(path);
  INFO(formatErrors(ok));
  REQUIRE(ok.ok());
  CHECK(ok.config->path == path);

  const auto missing = wman::loadConfig(dir.path() + "/missing.toml");
  REQUIRE(missing.errors.size() == 1);
  CHECK(missing.errors[0].format() ==
        dir.path() + "/missing.toml: cannot open: No such file or directory");
  CHECK_FALSE(missing.config.has_value());

  const auto directory = wman::loadConfig(dir.path());
  REQUIRE(directory.errors.size() == 1);
  CHECK(directory.errors[0].format() == dir.path() + ": is a directory, not a file");
}

TEST_CASE("the shipped config/wman.toml is valid", "[config][loader]") {
  const auto result = wman::loadConfig(WMAN_SOURCE_DIR "/config/wman.toml");
  INFO(formatErrors(result));
  REQUIRE(result.ok());
  auto w = result.config->workers;
  REQUIRE(w.size() == 5);
  CHECK(result.config->daemon.run_dir == "/tmp/wman");
  CHECK(result.config->daemon.log_file == "stderr");
  // The demo page and its chat socket on one port.
  CHECK(w[0].url.protocol == "http");
  CHECK(w[0].url.port == 8080);
  CHECK(w[0].app == "chat");
  CHECK(w[0].http.websocket == std::vector<std::string>{"/chat"});
  CHECK(w[0].http.root == WMAN_SOURCE_DIR "/docs/demo");
  w.erase(w.begin());
  CHECK(w[0].url.protocol == "websocket");
  CHECK(w[0].url.port == 8084);
  CHECK(w[0].app == "echo");
  CHECK(w[0].websocket.permessage_deflate);
  CHECK(w[1].url.protocol == "websocket");
  CHECK(w[1].url.port == 8083);
  CHECK(w[1].app == "chat");
  // count = 0: one process per CPU, one chat across them all through the bus
  CHECK(w[1].count == static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
  CHECK(result.config->bus.enabled);
  CHECK(w[2].url.protocol == "text");
  CHECK(w[2].url.host == "127.0.0.1");
  CHECK(w[2].url.port == 8081);
  CHECK(w[2].app == "echo");
  CHECK(w[2].count == 2);
  CHECK(w[3].url.protocol == "frame");
  CHECK(w[3].url.port == 8082);
  CHECK(w[3].app == "echo");
  CHECK(w[3].count == 2);
}

TEST_CASE("config/examples/full.toml is valid and spells out the defaults", "[config][loader]") {
  // It names certificate files that only exist on a real install.
  const auto result = wman::loadConfig(WMAN_SOURCE_DIR "/config/examples/full.toml", noFiles());
  INFO(formatErrors(result));
  REQUIRE(result.ok());
  const wman::Config& c = *result.config;
  const wman::DaemonConfig d;
  CHECK(c.daemon.run_dir == d.run_dir);
  CHECK(c.daemon.log_file == d.log_file);
  CHECK(c.daemon.log_level == d.log_level);
  CHECK(c.daemon.stop_timeout == d.stop_timeout);
  CHECK(c.daemon.drain_timeout == d.drain_timeout);
  CHECK(c.daemon.start_timeout == d.start_timeout);
  CHECK(c.daemon.heartbeat_timeout == d.heartbeat_timeout);
  CHECK(c.daemon.rlimit_nofile == d.rlimit_nofile);
  CHECK(c.daemon.control_max_connections == d.control_max_connections);
  CHECK(c.daemon.control_idle_timeout == d.control_idle_timeout);
  CHECK(c.daemon.metrics == d.metrics);
  CHECK(c.daemon.metrics_token == d.metrics_token);
  const wman::BusConfig b;
  CHECK(c.bus.enabled == b.enabled);
  CHECK(c.bus.node == "web-1");  // the one value set: the default is the host name
  CHECK(c.bus.redis == b.redis);
  CHECK(c.bus.max_queue == b.max_queue);
  CHECK(c.bus.query_timeout == b.query_timeout);
  REQUIRE(c.workers.size() == 4);
  CHECK(c.workers[2].url.udp);
  CHECK(c.workers[2].url.protocol == "tcp");
  // The fourth worker shows [worker.http], every key at its default.
  const wman::WorkerConfig& web = c.workers[3];
  const wman::HttpConfig h;
  CHECK(web.url.protocol == "http");
  CHECK(web.http.root == h.root);
  CHECK(web.http.index == h.index);
  CHECK(web.http.websocket == h.websocket);
  CHECK(web.http.max_header_size == h.max_header_size);
  CHECK(web.http.max_body_size == h.max_body_size);
  CHECK(web.http.header_timeout == h.header_timeout);
  CHECK(web.http.body_timeout == h.body_timeout);
  CHECK(web.http.keepalive_timeout == h.keepalive_timeout);
  CHECK(web.http.stream_body == h.stream_body);
  const wman::WorkerConfig& w = c.workers[0];
  const wman::WorkerLimits l;
  CHECK(w.limits.max_connections == l.max_connections);
  CHECK(w.limits.max_package_size == l.max_package_size);
  CHECK(w.limits.max_send_buffer == l.max_send_buffer);
  CHECK(w.limits.handshake_timeout == l.handshake_timeout);
  CHECK(w.limits.idle_timeout == l.idle_timeout);
  CHECK(w.limits.message_timeout == l.message_timeout);
  const wman::WebSocketConfig ws;
  CHECK(w.websocket.ping_interval == ws.ping_interval);
  CHECK(w.websocket.permessage_deflate == ws.permessage_deflate);
  CHECK(w.websocket.max_message_size == ws.max_message_size);
  CHECK(w.websocket.binary_type == "text");
  CHECK(w.websocket.server_max_window_bits == ws.server_max_window_bits);
  CHECK(w.websocket.client_max_window_bits == ws.client_max_window_bits);
  CHECK(w.websocket.mem_level == ws.mem_level);
  const wman::TlsConfig tls;
  CHECK(w.tls.min_version == tls.min_version);
  CHECK(w.tls.verify_client == tls.verify_client);
  CHECK(w.tls.ciphers == tls.ciphers);
  CHECK(w.tls.ciphersuites == tls.ciphersuites);
  CHECK(w.tls.alpn == tls.alpn);
  // The example shows one SNI entry; the default is none.
  REQUIRE(w.tls.sni.size() == 1);
  CHECK(w.tls.sni[0].server_name == "*.example.com");
  CHECK(w.count == 1);
  CHECK_FALSE(w.reuse_port);
  CHECK_FALSE(w.forward.has_value());
  // The second worker shows the forward app's options.
  const wman::WorkerConfig& relay = c.workers[1];
  REQUIRE(relay.forward.has_value());
  const wman::ForwardOptions f;
  CHECK(relay.forward->url.host == "10.0.0.5");
  CHECK(relay.forward->ca == f.ca);
  CHECK(relay.forward->tls_verify == f.tls_verify);
  CHECK(relay.forward->connect_timeout == f.connect_timeout);
}

TEST_CASE("the control socket's cap and idle timeout are read from [daemon]", "[config][loader]") {
  const auto result = parseConfig(
      "[daemon]\ncontrol_max_connections = 8\ncontrol_idle_timeout = \"500ms\"\n"
      "[[worker]]\nlisten = \"tcp://127.0.0.1:0\"\napp = \"echo\"\n",
      "control.toml");
  REQUIRE(result.ok());
  CHECK(result.config->daemon.control_max_connections == 8);
  CHECK(result.config->daemon.control_idle_timeout == 500ms);
}
