#include "wman/process_memory.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>

namespace wman {

std::size_t residentKiB() {
  // /proc/self resolves when opened, so an fd opened before a fork reads the parent: each
  // process opens its own. The parent's fd number is not closed here, since a child may
  // already have closed it and reused the number.
  static int fd = -1;
  static pid_t owner = 0;
  if (owner != ::getpid()) {
    owner = ::getpid();
    fd = ::open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
  }
  if (fd < 0) return 0;
  char buf[128];
  const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
  if (n <= 0) return 0;
  buf[n] = '\0';
  long pages = 0;
  long resident = 0;
  if (std::sscanf(buf, "%ld %ld", &pages, &resident) != 2) return 0;
  return static_cast<std::size_t>(resident) *
         static_cast<std::size_t>(::sysconf(_SC_PAGESIZE) / 1024);
}

std::size_t openFds() {
  DIR* dir = ::opendir("/proc/self/fd");
  if (!dir) return 0;
  std::size_t n = 0;
  while (const dirent* e = ::readdir(dir)) {
    if (e->d_name[0] != '.') ++n;
  }
  ::closedir(dir);
  return n > 0 ? n - 1 : 0;  // the directory's own fd
}

}  // namespace wman
