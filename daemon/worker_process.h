// The worker side of the process model: what a forked child does with its slot.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "wman/config.h"
#include "worker_spec.h"

namespace wman::daemon {

struct WorkerProcessContext {
  WorkerSpec spec;
  int slot = 0;
  int generation = 0;
  std::vector<int> listen_fds;  // inherited listening sockets this slot accepts from
  int channel_fd = -1;          // this process's end of the socketpair to the master
  DaemonConfig daemon;
  pid_t master_pid = 0;
  // The bus ("" = none): its socket, this node's name, the link's queue bound in bytes.
  std::string bus_socket;
  std::string bus_node;
  std::size_t bus_max_queue = 0;
};

// Runs in a freshly forked child: detaches from everything the master had (signal
// handlers, fds other than its own), dies with the master, drops privileges, builds the
// Worker on a fresh loop, reports ready over the channel and serves until the master says
// stop or goes away. Never returns.
[[noreturn]] void runWorkerProcess(const WorkerProcessContext& ctx);

}  // namespace wman::daemon
