// Socket activation: listening sockets a service manager opened for us (LISTEN_FDS,
// LISTEN_PID, LISTEN_FDNAMES; fds start at 3). The master serves a listener from an adopted
// socket instead of binding its own, so the port stays open across restarts of wman itself.
#pragma once

#include <string>
#include <vector>

#include "wman/listen_url.h"

namespace wman::daemon {

struct ActivatedSocket {
  int fd = -1;
  std::string name;  // from LISTEN_FDNAMES (FileDescriptorName=), may be empty
};

// Takes the sockets passed to this process and removes LISTEN_* from the environment.
// Nothing is taken when LISTEN_PID names another process. The fds are made close-on-exec.
// Entries of `warnings` explain what was ignored (a count that is not a number, say).
std::vector<ActivatedSocket> takeActivatedSockets(std::vector<std::string>* warnings);

// True if `fd` is a listening stream socket bound to the address of `url`: the same family,
// address and port, or for unix:// the same path.
bool socketMatches(int fd, const ListenUrl& url);

// The address `fd` is bound to, for logs: "127.0.0.1:8080", "[::1]:80", "/run/x.sock".
std::string describeSocket(int fd);

}  // namespace wman::daemon
