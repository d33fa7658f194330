// Per-worker bounds on everything a peer controls. Shared by the config loader
// ([worker.limits]) and by wman::Worker in library mode.
#pragma once

#include <chrono>
#include <cstddef>

namespace wman {

struct WorkerLimits {
  // Accepted connections per worker process; further accepts are closed at once.
  std::size_t max_connections = 100000;
  // Largest incoming message (line, frame, ...) in bytes; bigger closes the connection.
  // Workerman's default, 10 MiB.
  std::size_t max_package_size = 10 * 1024 * 1024;
  // Hard cap on bytes queued for sending to one peer; a send beyond it is Dropped.
  // onBufferFull fires when the queue reaches this, onBufferDrain when it empties.
  std::size_t max_send_buffer = 1024 * 1024;
  // Longest a protocol handshake (WebSocket upgrade, TLS) may take. 0 = unbounded.
  std::chrono::milliseconds handshake_timeout{10000};
  // A connection that receives nothing for this long is closed. 0 = never.
  std::chrono::milliseconds idle_timeout{0};
  // Resident memory (RSS) budget of one worker process in bytes. Past it the worker stops
  // accepting and closes the connections holding the largest buffers. 0 = no budget.
  std::size_t max_memory = 1024UL * 1024 * 1024;
  // Longest a peer may hold an unfinished message (a partial line or frame, a fragmented
  // WebSocket message) before the connection is closed (WebSocket: 1008). Without it a peer
  // pins up to max_package_size per connection for ever. 30 s lets a client on a slow link
  // (about 550 KB/s) still send a 16 MiB message. 0 = unbounded.
  std::chrono::milliseconds message_timeout{30000};
};

}  // namespace wman
