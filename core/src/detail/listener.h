// A listening socket on a worker's loop: either one this process binds itself (single
// process mode, tests) or an already bound fd inherited from the master, adopted as is.
// It accepts with accept4() itself (a uv_poll_t watches the fd) rather than through
// uv_listen: libuv answers EMFILE by accepting and closing every pending connection
// silently, where wman wants to log it, pause and leave them to other workers.
#pragma once

#include <sys/socket.h>
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
  // Called with each accepted connection: a non-blocking, close-on-exec fd the callee owns.
  using AcceptFn = std::function<void(int fd, bool is_pipe)>;
  // Called when accept() failed for a reason other than "nothing pending" (a libuv error
  // code such as UV_EMFILE); the rest of the queue waits for the next wake-up.
  using ErrorFn = std::function<void(int uv_error)>;

  Listener(EventLoop& loop, ListenUrl url, AcceptFn on_accept, ErrorFn on_error);
  ~Listener();
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  // Binds the URL's address (SO_REUSEADDR; a stale unix socket file is replaced).
  std::error_code bind();
  // Takes over `fd`, a socket already bound (and possibly listening) by another process.
  std::error_code adopt(int fd);
  // Starts accepting. Separate from bind/adopt so onWorkerStart runs before any accept.
  std::error_code listen(int backlog);
  // Stops taking connections; they stay queued for other processes sharing the socket.
  // With `leave_group`, a TCP socket with SO_REUSEPORT also leaves its group (shutdown()),
  // so the kernel sends new connections to the group's other sockets; connections already
  // in its queue are reset. It leaves only if it can bind its port again on resume().
  void pause(bool leave_group);
  // Accepts again after pause(), rejoining the SO_REUSEPORT group if it left it.
  std::error_code resume();
  // Stops accepting and closes this process's copy of the socket. The pending queue stays
  // intact if another process still holds the socket.
  void close();

  bool isOpen() const { return fd_ >= 0; }
  std::uint16_t port() const;
  const ListenUrl& url() const { return url_; }

  // Most connections accepted per wake-up, so one burst cannot hold the loop (1 when several
  // processes share one socket: each takes one and yields, which spreads them).
  static constexpr int kAcceptBatch = 64;

 private:
  static void onReadable(uv_poll_t* handle, int status, int events);
  void acceptSome();
  std::error_code startPolling();
  std::error_code rejoin();

  EventLoop& loop_;
  ListenUrl url_;
  AcceptFn on_accept_;
  ErrorFn on_error_;
  int fd_ = -1;
  uv_poll_t* handle_ = nullptr;
  int backlog_ = 0;
  int batch_ = kAcceptBatch;
  bool polling_ = false;
  bool can_rejoin_ = false;  // this process may bind the port again after leaving
  bool left_group_ = false;  // shut down out of its SO_REUSEPORT group by pause()
  sockaddr_storage addr_{};  // the bound address, to rejoin the group
  socklen_t addr_len_ = 0;
};

}  // namespace wman::detail
