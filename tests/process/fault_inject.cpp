// Fault injection for the process tests, loaded into wman with LD_PRELOAD: while the file
// named by WMAN_FAULT_SOCKETPAIR_FILE exists, socketpair() fails with EMFILE, as it does when
// the master is at its fd limit. Without the variable (or the file) it changes nothing.
#include <dlfcn.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

namespace {

using SocketpairFn = int (*)(int, int, int, int*);

bool faultArmed() {
  const char* path = std::getenv("WMAN_FAULT_SOCKETPAIR_FILE");
  return path != nullptr && *path != '\0' && ::access(path, F_OK) == 0;
}

}  // namespace

extern "C" int socketpair(int domain, int type, int protocol, int sv[2]) {
  if (faultArmed()) {
    errno = EMFILE;
    return -1;
  }
  static auto real = reinterpret_cast<SocketpairFn>(::dlsym(RTLD_NEXT, "socketpair"));
  if (real == nullptr) {
    errno = ENOSYS;
    return -1;
  }
  return real(domain, type, protocol, sv);
}
