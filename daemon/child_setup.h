// What every process the master forks (workers, the bus) does first.
#pragma once

#include <sys/types.h>

#include <set>

namespace wman::daemon {

// Puts the master's signal handling back to defaults (terminal signals ignored: the master
// stops its children over their channels), makes the child die with the master, exits at
// once if the master is already gone, closes every inherited fd but `keep`, and reopens the
// log.
void detachChild(pid_t master_pid, const std::set<int>& keep);

}  // namespace wman::daemon
