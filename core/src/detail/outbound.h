// The machinery behind one AsyncConnection: its parsed URL, codec factory and TLS context,
// the attempt in progress (resolve, connect to each address in turn, handshakes, all under
// one connect timeout), sends queued before the link opens, and reconnect scheduling with
// full-jitter back-off. The socket itself is a ConnectionImpl "link" served by the loop's
// OutboundHost; one link per attempt, so every reconnect starts from fresh state.
#pragma once

#include <uv.h>

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "wman/async_connection.h"
#include "wman/codec.h"
#include "wman/connect_url.h"
#include "wman/protocol_registry.h"

namespace wman::detail {

class AsyncResolver;
class ConnectionImpl;
class OutboundHost;
class TlsContext;

class Outbound {
 public:
  // Throws std::invalid_argument naming the problem (URL, scheme, TLS files).
  Outbound(AsyncConnection& face, std::string url, AsyncConnectionOptions options);
  ~Outbound();
  Outbound(const Outbound&) = delete;
  Outbound& operator=(const Outbound&) = delete;

  static Outbound& of(Connection& c) { return *static_cast<AsyncConnection&>(c).impl_; }

  Connection& face() { return face_; }
  const ConnectionEvents& events() const { return face_; }
  const std::string& url() const { return url_; }
  const AsyncConnectionOptions& options() const { return options_; }

  // The public API (AsyncConnection and Connection's methods on it).
  void connect();
  void reconnect(double after_seconds);
  void cancelReconnect();
  bool reconnectPending() const { return reconnect_pending_; }
  double lastReconnectDelay() const { return last_delay_; }
  SendStatus send(std::string_view data, MessageKind kind, bool raw);
  MessageKind replyKind() const;
  void close(std::string_view data);
  void close(std::uint16_t code, std::string_view reason);
  void destroy();
  void pause();
  void resume();
  std::size_t buffered() const;
  std::string subprotocol() const;
  // The link while it is open (or closing); nullptr while connecting or closed.
  ConnectionImpl* openLink() const { return opened_ ? link_ : nullptr; }

  // From the link (ConnectionImpl).
  void linkConnected(ConnectionImpl& link);
  // Its session opened: queued sends go out; false when the attempt was abandoned meanwhile.
  bool linkOpened(ConnectionImpl& link);
  void linkClosing(ConnectionImpl& link);
  void linkClosed(ConnectionImpl& link, bool was_open);
  void noteFailure(std::string_view why);

  // From the OutboundHost when its loop shuts down: drops the link without callbacks and
  // forgets the loop; connect() on another loop works again.
  void detach();

  // The delay of reconnect number `attempt` (0-based) under `options` with `rng`.
  static double backoffDelay(const AsyncConnectionOptions& options, unsigned attempt,
                             std::mt19937_64& rng);

 private:
  struct Queued {
    std::string data;
    MessageKind kind;
    bool raw;
  };

  void setupCodec();
  void setupTls();
  bool attach();
  void startAttempt();
  void resolved(ResolveResult result);
  void connectNext();
  // Ends the attempt in progress: the failure is reported now, or when the link is closed.
  void failAttempt(std::string why);
  void reportFailure();
  // A link closed or an attempt failed: schedules the reconnect asked for (reconnect(),
  // auto_reconnect), before the application's onClose / onError.
  void afterLinkGone();
  void scheduleReconnect(double seconds);
  void stopTimer(uv_timer_t* t);
  uv_timer_t* makeTimer();
  void cancelAttempt();
  // Drops the link without telling the application (destructor, loop shutdown).
  void dropLink();
  void setState(ConnectionState s) { face_.state_ = s; }

  AsyncConnection& face_;
  std::string url_;
  AsyncConnectionOptions options_;
  ConnectUrl target_;
  ListenerCodecFactory codec_factory_;  // the URL's protocol with the options applied
  MessageKind default_kind_ = MessageKind::Binary;
  std::shared_ptr<TlsContext> tls_;
  OutboundHost* host_ = nullptr;
  std::unique_ptr<AsyncResolver> resolver_;
  uv_timer_t* connect_timer_ = nullptr;
  uv_timer_t* reconnect_timer_ = nullptr;
  std::vector<SocketAddress> addresses_;
  std::size_t next_address_ = 0;
  ConnectionImpl* link_ = nullptr;
  std::vector<Queued> queued_;  // sends made before the link opened
  std::size_t queued_bytes_ = 0;
  std::string failure_;  // why the attempt in progress failed, once it has
  std::string address_;  // the address being connected to, for messages
  std::mt19937_64 rng_;
  unsigned attempt_ = 0;  // failed attempts (and closes) since the last open
  double last_delay_ = 0;
  double reconnect_after_close_ = -1;  // reconnect() on an open link: the delay after it closes
  bool abandoned_ = false;             // the attempt failed already (timeout); no further address
  bool attempting_ = false;  // an attempt is in progress (resolving, connecting, handshakes)
  bool connected_ = false;   // the link's transport connected (its handshakes may go on)
  bool opened_ = false;      // the link's session is open
  bool app_closed_ = false;  // the application closed it: no automatic reconnect
  bool reconnect_pending_ = false;
};

}  // namespace wman::detail
