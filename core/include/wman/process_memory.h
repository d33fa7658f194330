// The memory the calling process holds, as the OS counts it.
#pragma once

#include <cstddef>

namespace wman {

// Resident set size of the calling process in KiB (/proc/self/statm), 0 if unknown. The
// file stays open after the first call in a process (a forked child reopens its own), so
// this still answers when the process has used up its fds.
std::size_t residentKiB();

}  // namespace wman
