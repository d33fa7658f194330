// A node's link to Redis pub/sub for the bus (DESIGN.md section 8): one connection in
// subscribe mode, one for commands, both AsyncConnections that reconnect by themselves.
// At most once: what cannot be handed to Redis now (link down, command queue full) is
// dropped and counted, never queued for later. Create and use it on a loop thread, like
// AsyncConnection. See docs/redis.md.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "wman/async_connection.h"
#include "wman/redis_reply.h"

namespace wman::bus {

// Down: not usable (not started, stopped, or lost and retrying in the background).
// Connecting: started, first attempt not finished. Up: both connections open and
// authenticated, the subscriptions sent.
enum class RedisLinkState : std::uint8_t { Down, Connecting, Up };

// "down", "connecting", "up".
const char* toString(RedisLinkState state);

struct RedisLinkOptions {
  // "redis://[[user]:password@]host[:port][/db]" (port 6379, db 0); "rediss://" for TLS,
  // verified as `connection.tls` says.
  std::string url = "redis://127.0.0.1:6379";
  // AUTH password; overrides one in the URL. "" = the URL's, or no AUTH.
  std::string password;
  // Used for both connections: connect_timeout, reconnect_min/max (full-jitter back-off),
  // tls, family, max_message_size (largest reply). auto_reconnect is always on and the
  // transport follows the URL's scheme.
  AsyncConnectionOptions connection = defaultConnectionOptions();
  // Bytes of commands sent and not yet answered; a command past it is dropped and counted,
  // so a stalled Redis costs at most this much memory here.
  std::size_t max_pending_bytes = 8 * 1024 * 1024;
  // Channels per SUBSCRIBE when the whole set is sent again after a reconnect.
  std::size_t subscribe_batch = 1000;

  // A bus link wants to come back quickly: 5 s to connect, back-off from 0.1 s to 5 s.
  static AsyncConnectionOptions defaultConnectionOptions();
};

// What `wman status` shows for the link.
struct RedisLinkCounters {
  std::uint64_t published = 0;   // PUBLISH commands handed to the connection
  std::uint64_t dropped = 0;     // publishes and commands refused: link down or queue full
  std::uint64_t received = 0;    // messages delivered to onMessage
  std::uint64_t reconnects = 0;  // times the link came Up again after being Up
  std::size_t subscribed = 0;    // channels in the local set
  std::size_t confirmed = 0;     // channels Redis last said the subscriber holds
  RedisLinkState state = RedisLinkState::Down;
  std::string last_error;  // why the link last went down or failed, "" if never
};

class RedisLink {
 public:
  using MessageHandler = std::function<void(std::string_view channel, std::string_view payload)>;
  using StateHandler = std::function<void(RedisLinkState state)>;
  using ReplyHandler = std::function<void(const RedisReply& reply)>;
  using CountHandler = std::function<void(std::size_t count)>;

  // Validates the options. Throws std::invalid_argument naming the problem (a bad URL, TLS
  // files that cannot be read). Nothing is opened until start().
  explicit RedisLink(RedisLinkOptions options);
  // Closes both connections at once, without callbacks. Must not run inside this link's
  // own callbacks.
  ~RedisLink();
  RedisLink(const RedisLink&) = delete;
  RedisLink& operator=(const RedisLink&) = delete;

  // Connects both connections (state Connecting) on the calling thread's loop; throws
  // std::logic_error without one. Does nothing while started.
  void start();
  // Closes both connections and stops reconnecting; state Down. Pending command callbacks
  // get an error reply. The channel set is kept for a later start().
  void stop();

  // Hands PUBLISH channel payload (both binary-safe) to Redis. Returns false, counting it as
  // dropped, when the command connection is not up or max_pending_bytes is reached.
  bool publish(std::string_view channel, std::string_view payload);
  // Adds / removes a channel in the local set; while the subscriber is up the change goes
  // to Redis at once, otherwise with the whole set on the next connect.
  void subscribe(std::string_view channel);
  void unsubscribe(std::string_view channel);
  bool isSubscribed(std::string_view channel) const;

  // Sends any command (argv[0] is its name) on the command connection; `on_reply` runs
  // with its reply, in the order the commands were sent, or with an error reply starting
  // "WMANDOWN" if the link goes down first. Returns false (no callback, counted as dropped)
  // when not up or the queue is full. Commands that change the connection's mode
  // (SUBSCRIBE, MONITOR) are not for this connection.
  bool command(std::span<const std::string_view> argv, ReplyHandler on_reply);

  RedisLinkState state() const;
  RedisLinkCounters counters() const;

  // A message on a subscribed channel. Views are valid during the call only.
  MessageHandler onMessage;
  // The state changed.
  StateHandler onStateChange;
  // Redis confirmed a SUBSCRIBE or UNSUBSCRIBE; `count` is the number of channels the
  // subscriber connection now holds.
  CountHandler onSubscriptionCount;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace wman::bus
