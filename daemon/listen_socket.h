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
  // Served from a socket the service manager passed (socket activation): never re-bound,
  // never cloned for reuse_port.
  bool adopted = false;
  std::vector<int> fds;

  // The sockets the worker in `slot` of `count` accepts from: the shared socket, or with
  // reuse_port clone `slot` plus any clone beyond `count` left from a larger count (still
  // in the kernel's group, so it must keep being served: closing it would reset what is
  // queued on it).
  std::vector<int> fdsForSlot(int slot, int count) const;
  void closeAll();
};

// Binds and listens `url` until `out` holds `count` sockets with SO_REUSEPORT when
// `reuse_port`, else one (udp:// sockets are bound only: datagrams need no listen). Sockets already
// in `out` are kept (a reload that raises count adds clones to the same SO_REUSEPORT group). Port 0
// picks a free port, shared by all clones. On failure only the sockets this call added are closed,
// and `reason` says what failed
// ("bind 127.0.0.1:8081: Address already in use", or for a host that does not resolve
// "bind x.invalid:8081: cannot resolve host 'x.invalid': Name or service not known").
// Host names go through wman::resolve(); the first address it returns is bound.
std::error_code bindListenSockets(const ListenUrl& url, bool reuse_port, int count,
                                  ListenSocketSet& out, std::string* reason);

// Closes the clones beyond the first `count`: undoes a failed reload's additions.
void shrinkListenSockets(ListenSocketSet& set, std::size_t count);

// The identity used to keep sockets across reloads.
std::string listenKey(const std::string& listen, bool reuse_port);

// The port a bound TCP socket listens on (0 for unix sockets or on error).
int boundPort(int fd);

}  // namespace wman::daemon
