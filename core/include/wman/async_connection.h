// An outbound connection (Workerman's AsyncTcpConnection): it connects to a URL such as
// "ws://match.internal:9000/feed" with any protocol a Worker listens with, optionally over
// TLS, and reports to the same callbacks a Worker has, so one handler serves both
// directions. Create and use it on a worker's loop thread (onWorkerStart, any callback,
// library mode after the Loop exists). See docs/clients.md.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "wman/connection.h"
#include "wman/connection_events.h"
#include "wman/resolve.h"

namespace wman {

namespace detail {
class Outbound;
}

// How the server's certificate is checked when the link runs over TLS (wss://, or
// transport = "tls").
struct ClientTlsOptions {
  // Check the chain (against `ca`, or the system store) and the server's name. Turning it
  // off is logged as a warning on every connect: anyone on the path can then read and
  // change the traffic.
  bool verify = true;
  std::string ca;                 // PEM bundle to trust instead of the system store
  std::string server_name;        // SNI and the name checked; "" = the URL's host
  std::vector<std::string> alpn;  // protocols to offer, in preference order
  std::string cert;               // client certificate chain (PEM), "" = none
  std::string key;                // its private key ("" = in `cert`)
};

struct AsyncConnectionOptions {
  // Seconds from connect() to onConnect: resolving, connecting, TLS and protocol
  // handshakes together. Past it the attempt fails with "connect timeout".
  double connect_timeout = 10.0;
  // Reconnect by itself after a failed attempt or a close the application did not ask for,
  // waiting a random delay in [0, min(reconnect_max, reconnect_min * 2^attempt)] (full
  // jitter), but at least reconnect_min; onConnect resets the attempt count.
  bool auto_reconnect = false;
  double reconnect_min = 1.0;
  double reconnect_max = 30.0;
  // The protocol of a unix:// link ("" = tcp, raw bytes), e.g. "frame" or "text".
  std::string protocol;
  // "tls" runs any protocol over TLS; wss:// implies it.
  std::string transport = "tcp";
  ClientTlsOptions tls;
  // Which address families a host name may resolve to; each address is tried in turn.
  AddressFamily family = AddressFamily::Any;
  // Largest incoming message in bytes; bigger closes the connection (WebSocket: 1009).
  std::size_t max_message_size = 10 * 1024 * 1024;
  // WebSocket (ws://, wss://): offered subprotocols, extra request headers, Origin, and
  // permessage-deflate (client_max_window_bits bounds our compressor's window).
  std::vector<std::string> subprotocols;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string origin;
  bool permessage_deflate = false;
  int client_max_window_bits = 15;
};

class AsyncConnection : public Connection, public ConnectionEvents {
 public:
  // Parses `url` ("scheme://host:port[/path]" or "unix:///path"; the port may be left out
  // for ws:// and wss://). Throws std::invalid_argument naming the problem for a malformed
  // URL, an unknown scheme, or TLS options that cannot be used (unreadable files). Nothing
  // is opened until connect().
  explicit AsyncConnection(std::string url, AsyncConnectionOptions options = {});
  // Closes the link at once (no callbacks) and cancels a pending reconnect.
  ~AsyncConnection();

  // Starts connecting on the calling thread's loop (throws std::logic_error without one).
  // Sends made before onConnect are queued (up to maxSendBuffer) and go out first. Calling
  // it while connecting or connected does nothing.
  void connect();
  // Closes the current link (if any) and connects again `after_seconds` from now; onClose
  // fires for the old link, onConnect for the new one. Workerman's reconnect().
  void reconnect(double after_seconds = 0);
  // Cancels a scheduled reconnect (manual or automatic); the connection stays Closed.
  void cancelReconnect();
  // True while a reconnect is scheduled; lastReconnectDelay() is the delay in seconds of
  // the reconnect scheduled last (manual or automatic).
  bool reconnectPending() const;
  double lastReconnectDelay() const;

  const std::string& url() const;
  const AsyncConnectionOptions& options() const;
  // The WebSocket subprotocol the server chose ("" = none, or not WebSocket).
  std::string subprotocol() const;

 private:
  friend class detail::Outbound;
  std::unique_ptr<detail::Outbound> impl_;
};

// Workerman's name for it.
using AsyncTcpConnection = AsyncConnection;

}  // namespace wman
