// Listening sockets the master binds and holds for its whole life; workers inherit them
// across fork. Plain POSIX: the master never accepts, so it needs no event loop for them.
#pragma once

#include <string>
#include <system_error>
#include <vector>

#include "wman/listen_url.h"

namespace wman::daemon {

// The sockets behind one listen address: one shared by every worker slot, or with
// reuse_port one SO_REUSEPORT socket per slot (slot i always gets fds[i]).
struct ListenSocketSet {
  std::string key;  // identity across reloads: URL + reuse_port + count when reuse_port
  ListenUrl url;
  bool reuse_port = false;
  std::vector<int> fds;

  // The fd a worker in `slot` adopts.
  int fdForSlot(int slot) const {
    return reuse_port ? fds[static_cast<std::size_t>(slot)] : fds[0];
  }
  void closeAll();
};

// Binds and listens `url` until `out` holds `count` sockets with SO_REUSEPORT when
// `reuse_port`, else one. Sockets already in `out` are kept (a reload that raises count adds
// clones to the same SO_REUSEPORT group). Port 0 picks a free port, shared by all clones.
// On failure only the sockets this call added are closed, and `reason` says what failed
// ("bind 127.0.0.1:8081: Address already in use").
std::error_code bindListenSockets(const ListenUrl& url, bool reuse_port, int count,
                                  ListenSocketSet& out, std::string* reason);

// Closes the clones beyond the first `count` (a reload that lowered count). Connections
// queued on them are reset unless the kernel migrates them (net.ipv4.tcp_migrate_req = 1).
void shrinkListenSockets(ListenSocketSet& set, std::size_t count);

// The identity used to keep sockets across reloads.
std::string listenKey(const std::string& listen, bool reuse_port);

// The port a bound TCP socket listens on (0 for unix sockets or on error).
int boundPort(int fd);

}  // namespace wman::daemon
