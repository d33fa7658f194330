// wman's configuration model and the TOML loader that fills it. The loader validates
// everything it can without touching the network and reports each problem as
// `file:line:col: message`.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "wman/connect_url.h"
#include "wman/listen_url.h"
#include "wman/worker_limits.h"

namespace wman {

using Duration = std::chrono::milliseconds;

// [daemon]: process-wide settings.
struct DaemonConfig {
  std::string run_dir = "/run/wman";  // pid file and control socket live here
  std::string log_file = "stderr";    // "stderr" or a file path
  std::string log_level = "info";     // trace, debug, info, warn, error, critical, off
  std::string user;                   // drop workers to this user after binding ("" = keep)
  std::string group;                  // and this group ("" = the user's primary group)
  Duration stop_timeout{5000};        // fast stop: SIGKILL workers still alive after this
  Duration drain_timeout{30000};      // graceful stop/reload: longest wait for connections
  Duration start_timeout{10000};      // reload: longest wait for a new worker to be ready
  Duration heartbeat_timeout{30000};  // a worker silent this long is killed
  std::uint64_t rlimit_nofile = 0;    // RLIMIT_NOFILE to set (0 = leave as is)
  // Control socket: connections open at once (more are refused with a JSON error), and how
  // long one with no request in flight may stay silent before it is closed.
  std::size_t control_max_connections = 64;
  Duration control_idle_timeout{10000};
  // The operations endpoint the master serves (/metrics, /healthz, /readyz): "host:port",
  // "" = off. Port 0 takes a free port, which `wman status` shows.
  std::string metrics;
  std::string metrics_token;  // bearer token /metrics requires ("" = none)
  std::string metrics_cert;   // PEM certificate chain: HTTPS when set (with metrics_key)
  std::string metrics_key;    // PEM private key for metrics_cert
  int metrics_line = 0;       // line of `metrics` in the file, for errors found later
};

// One [[worker.tls.sni]] entry: a certificate served to clients that ask for `server_name`.
struct TlsSniCertificate {
  std::string server_name;  // "api.example.com", or "*.example.com" for one label under it
  std::string cert;         // PEM certificate chain, leaf first
  std::string key;          // PEM private key for `cert`
};

// [worker.tls]
struct TlsConfig {
  std::string cert;                 // PEM certificate chain, leaf first; the default certificate
  std::string key;                  // PEM private key
  std::string ca;                   // PEM CA bundle to verify client certificates ("" = none)
  std::string min_version = "1.2";  // "1.2" or "1.3"; TLS 1.0 and 1.1 are never accepted
  // Require every client to present a certificate signed by `ca`. With `ca` set and this
  // false, a client certificate is optional but must verify when one is sent.
  bool verify_client = false;
  std::string ciphers;            // TLS 1.2 cipher list ("" = ECDHE with AES-GCM or ChaCha20 only)
  std::string ciphersuites;       // TLS 1.3 suites ("" = OpenSSL's default)
  std::vector<std::string> alpn;  // protocols in preference order, e.g. {"http/1.1"}
  std::vector<TlsSniCertificate> sni;  // extra certificates picked by the client's SNI name
  bool enabled() const { return !cert.empty(); }
};

// [worker.websocket]
struct WebSocketConfig {
  std::vector<std::string> allowed_origins;  // empty = any origin
  Duration ping_interval{0};                 // 0 = no server pings
  bool permessage_deflate = false;
  std::size_t max_message_size = 16 * 1024 * 1024;
  // permessage-deflate memory per connection (RFC 7692 7.1.2). The largest window (2^bits
  // bytes) our compressor uses, 8..15; announced to clients when below 15.
  int server_max_window_bits = 15;
  // Largest window clients may compress with (sizes our inflater), 8..15. Below 15 an offer
  // without client_max_window_bits is declined (the RFC lets us ask only clients that offer).
  int client_max_window_bits = 15;
  // zlib memLevel 1..9: the compressor's hash tables take 2^(mem_level + 9) bytes. zlib's
  // default 8 (128 KiB); lower saves memory at some cost in ratio.
  int mem_level = 8;
  // Frame type of a send() that names no kind outside onMessage: "text" (Workerman's
  // BINARY_TYPE_BLOB) or "binary" (BINARY_TYPE_ARRAYBUFFER). Inside onMessage a reply
  // follows the kind of the message being answered.
  std::string binary_type = "text";
};

// [worker.http]: http:// and https:// listeners (docs/http.md). The loader enforces the
// bounds noted here (docs/config.md#workerhttp).
struct HttpConfig {
  // Directory of static files served to requests the application leaves unanswered ("" =
  // none: such requests get 404). Absolute after loading (relative to the config file); a
  // readable directory when ConfigCheck::check_files is on.
  std::string root;
  // File names tried, in order, for a directory path under `root` (each one name: no '/',
  // not "." or ".."). Empty = none, so a directory path finds no file.
  std::vector<std::string> index = {"index.html"};
  // Paths whose upgrade requests become WebSocket sessions of the worker's app, with every
  // [worker.websocket] setting ("/chat"; exact match, query excluded). Each starts with '/'
  // and has no '?', '#', space or control character; no duplicates. Empty = no upgrades.
  std::vector<std::string> websocket;
  // Request line + headers: 431 beyond. 1 KiB..1 MiB (0 is refused).
  std::size_t max_header_size = 8 * 1024;
  // De-chunked body: 413 beyond. 0 is a limit like any other: any request with a non-empty
  // body gets 413. No upper bound.
  std::size_t max_body_size = 10 * 1024 * 1024;
  // A started head must be complete within: 408. > 0 (0 is refused: no slow-head protection).
  Duration header_timeout{60000};
  // A body must be complete within, from its head: 408. > 0 (0 is refused).
  Duration body_timeout{60000};
  // An idle keep-alive connection is closed after this. 0 = no keep-alive limit: an idle
  // connection stays open (only [worker.limits] idle_timeout, if set, closes it).
  Duration keepalive_timeout{75000};
  // Bodies reach the application in pieces (onRequestBody) instead of whole.
  bool stream_body = false;
};

// A scalar from [worker.options], kept as text plus its TOML type name, so apps can read it
// without depending on the TOML library.
struct OptionValue {
  std::string type;  // "string", "integer", "float", "boolean", "array", "table", "date"...
  std::string text;  // strings unquoted; everything else in TOML syntax
};

// The [worker.options] keys of the built-in `forward` app (docs/clients.md#the-forward-app),
// checked and parsed by the loader. The app itself may read them from WorkerConfig::options
// instead, where upstream_ca holds the same absolute path as `ca` here.
struct ForwardOptions {
  std::string upstream;    // `upstream`, the URL as written (required)
  ConnectUrl url;          // `upstream` parsed; its protocol is registered
  std::string ca;          // `upstream_ca`: absolute path of a PEM CA bundle ("" = not set)
  bool tls_verify = true;  // `upstream_tls_verify`: verify a TLS upstream's certificate
  Duration connect_timeout{10000};  // `upstream_connect_timeout`: > 0
  int line = 0;                     // where `upstream` is written, for messages of later checks
};

// One [[worker]] table.
struct WorkerConfig {
  std::string name;          // defaults to the app name
  std::string listen;        // the URL as written
  ListenUrl url;             // the URL parsed
  int count = 1;             // processes; 0 in the file = number of CPUs (resolved by loader)
  bool reuse_port = false;   // one SO_REUSEPORT socket per worker slot
  std::string app = "echo";  // built-in app name, or a path to an app module (.so)
  // The codec of a udp:// or unix:// listener ("" = its scheme's: raw bytes, "tcp"); the URL's
  // protocol (url.protocol) already holds the choice.
  std::string protocol;
  std::string transport = "tcp";  // "tcp" or "tls"
  WorkerLimits limits;
  TlsConfig tls;
  WebSocketConfig websocket;
  HttpConfig http;
  std::map<std::string, OptionValue> options;
  std::optional<ForwardOptions> forward;  // set when app is the built-in "forward"
  int line = 0;                           // where the table starts in the file, for later messages
};

// [bus]: messaging between worker processes and nodes (docs/cluster.md).
struct BusConfig {
  bool enabled = true;  // a bus process links the workers; false = each process on its own
  std::string node;     // this machine's name in client ids ("" = from the host name)
  // "" = this machine only; "redis://host:port/db" or "rediss://..." links the nodes.
  std::string redis;
  std::string password;                      // Redis AUTH ("" = none)
  std::size_t max_queue = 16 * 1024 * 1024;  // bytes queued per link before dropping
  Duration query_timeout{5000};              // longest a query may wait for answers
  int line = 0;                              // where [bus] is, for later messages
};

struct Config {
  std::string path;  // file it was loaded from ("" for configs built in code)
  DaemonConfig daemon;
  BusConfig bus;
  std::vector<WorkerConfig> workers;
};

// One problem found while loading. format() gives `file:line:col: message`; line and column
// are 1-based, 0 when unknown (then the form is `file: message`).
struct ConfigError {
  std::string file;
  int line = 0;
  int column = 0;
  std::string message;
  std::string format() const;
};

struct ConfigResult {
  std::optional<Config> config;     // set when errors is empty
  std::vector<ConfigError> errors;  // every problem found, in file order
  bool ok() const { return config.has_value() && errors.empty(); }
};

// Options for how strictly to check.
struct ConfigCheck {
  // Check that files named in the config (tls cert/key/ca, app modules) exist and are
  // readable. `wman check` and `wman start` both do; unit tests may not.
  bool check_files = true;
  // Names of built-in apps; an `app` that is not one of these must be a path ending in ".so".
  std::vector<std::string> builtin_apps = {"chat", "echo", "forward"};
};

// Parses and validates `text` as if read from `file_name`.
ConfigResult parseConfig(std::string_view text, std::string file_name,
                         const ConfigCheck& check = {});

// Reads `path` and parses it. A missing or unreadable file is one error.
ConfigResult loadConfig(const std::string& path, const ConfigCheck& check = {});

// "10MiB", "512", "4k" -> bytes. Accepts B, K/KB/KiB, M/MB/MiB, G/GB/GiB (all powers of 1024,
// case-insensitive). Returns nullopt on anything else or on overflow.
std::optional<std::uint64_t> parseSize(std::string_view text);

// "30s", "250ms", "2m", "1h", "1.5s" -> milliseconds. A bare number is seconds.
// Returns nullopt on anything else, negative values or overflow.
std::optional<Duration> parseDuration(std::string_view text);

}  // namespace wman
