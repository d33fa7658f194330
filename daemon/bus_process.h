// The bus process: one per machine, forked and supervised by the master outside reload
// generations. Every worker process links to it over a unix socket the master binds; it
// forwards a message only to the workers that hold a receiver (docs/cluster.md).
#pragma once

#include <sys/types.h>

#include <string>

#include "wman/config.h"

namespace wman::daemon {

struct BusProcessContext {
  int channel_fd = -1;  // this process's end of the socketpair to the master
  int listen_fd = -1;   // the bus socket, bound and listening (the master holds it too)
  DaemonConfig daemon;
  BusConfig bus;
  std::string node;  // resolved: [bus] node, or derived from the host name
  pid_t master_pid = 0;
};

// Runs in a freshly forked child, like runWorkerProcess: detaches from the master's
// signals and fds, dies with the master, drops privileges, serves links until told to
// stop. Never returns.
[[noreturn]] void runBusProcess(const BusProcessContext& ctx);

// Where the bus socket lives in `run_dir`.
std::string busSocketPath(const std::string& run_dir);

}  // namespace wman::daemon
