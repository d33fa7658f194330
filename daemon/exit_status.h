// Wait statuses in plain words, for the master's "worker 3 (pid 4711) killed by signal 9 ..." log.
#pragma once

#include <string>

namespace wman::daemon {

// Describes a status from waitpid(): "exited with status 3", "killed by signal 9 (SIGKILL:
// Killed)", "killed by signal 11 (SIGSEGV: Segmentation fault), core dumped", and likewise
// "stopped by signal ..." and "continued". Thread-safe; never fails.
std::string describeExit(int wait_status);

// The signal's name and description, e.g. "SIGKILL: Killed", "SIGRTMIN+2: Real-time signal 2";
// for numbers that are no signal, "unknown signal". Thread-safe.
std::string describeSignal(int signo);

}  // namespace wman::daemon
