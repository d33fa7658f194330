// The callbacks a connection reports to: a Worker holds them for the connections it
// accepts, an AsyncConnection for the one it opens, so one handler serves both directions.
#pragma once

#include <functional>
#include <string_view>

#include "wman/connection.h"
#include "wman/message.h"

namespace wman {

struct ConnectionEvents {
  // The connection is open: accepted (or connected), and for handshake protocols (WebSocket,
  // TLS) its handshake completed.
  std::function<void(Connection&)> onConnect;
  // One decoded message. The Message view is valid only during the call.
  std::function<void(Connection&, Message)> onMessage;
  // The connection is closed; sends are Dropped here. An accepted connection is freed after
  // this returns; an AsyncConnection may connect again.
  std::function<void(Connection&)> onClose;
  // A protocol error, a dropped send (code = error_code::kSendFail), or for an
  // AsyncConnection a failed connect (error_code::kConnectFail, with the reason).
  std::function<void(Connection&, int code, std::string_view message)> onError;
  // bufferedAmount() reached maxSendBuffer; sends are Dropped until onBufferDrain.
  std::function<void(Connection&)> onBufferFull;
  // The send buffer became empty after onBufferFull.
  std::function<void(Connection&)> onBufferDrain;

  // WebSocket only: a ping arrived (the pong is sent automatically) / a pong arrived.
  std::function<void(Connection&, Message)> onWebSocketPing;
  std::function<void(Connection&, Message)> onWebSocketPong;
  // WebSocket only: the peer sent a close frame with `code` (1005 = none) and `reason`.
  std::function<void(Connection&, int code, std::string_view reason)> onWebSocketClose;
};

}  // namespace wman
