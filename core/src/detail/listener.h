// A listening socket on a worker's loop: either one this process binds itself (single
// process mode, tests) or an already bound fd inherited from the master, adopted as is.
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <string>
#include <system_error>

#include "wman/listen_url.h"

namespace wman::detail {

class EventLoop;

class Listener {
 public:
  // Called once per pending connection with the listening stream to accept from.
  using AcceptFn = std::function<void(uv_stream_t* server, bool is_pipe)>;

  Listener(EventLoop& loop, ListenUrl url, AcceptFn on_accept);
  ~Listener();
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  // Binds the URL's address (SO_REUSEADDR; a stale unix socket file is replaced).
  std::error_code bind();
  // Takes over `fd`, a socket already bound (and possibly listening) by another process.
  std::error_code adopt(int fd);
  // Starts accepting. Separate from bind/adopt so onWorkerStart runs before any accept.
  std::error_code listen(int backlog);
  // Stops accepting and closes this process's copy of the socket. The pending queue stays
  // intact if another process still holds the socket.
  void close();

  bool isOpen() const { return handle_ != nullptr; }
  std::uint16_t port() const;
  const ListenUrl& url() const { return url_; }

 private:
  static void onConnection(uv_stream_t* server, int status);
  std::error_code init();

  EventLoop& loop_;
  ListenUrl url_;
  AcceptFn on_accept_;
  union Handle {
    uv_handle_t handle;
    uv_stream_t stream;
    uv_tcp_t tcp;
    uv_pipe_t pipe;
  };
  Handle* handle_ = nullptr;
  bool listening_ = false;
};

}  // namespace wman::detail
