// The memory and file descriptors the calling process holds, as the OS counts them.
#pragma once

#include <cstddef>

namespace wman {

// Resident set size of the calling process in KiB (/proc/self/statm), 0 if unknown. The
// file stays open after the first call in a process (a forked child reopens its own), so
// this still answers when the process has used up its fds.
std::size_t residentKiB();

// Open file descriptors of the calling process (entries of /proc/self/fd, less the one this
// count uses), 0 if unknown: also when the process has run out of fds.
std::size_t openFds();

}  // namespace wman
