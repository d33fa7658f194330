#include "child_setup.h"

#include <dirent.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <vector>

#include "wman/logging.h"

namespace wman::daemon {
namespace {

// The master's signal handlers (libuv's) must not fire in the child: they would wake the
// master's loop through an inherited pipe. Terminal signals go to the master only; it
// stops its children over their channels.
void resetSignals() {
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    std::signal(sig, SIG_DFL);
  }
  for (int sig : {SIGPIPE, SIGINT, SIGQUIT, SIGHUP, SIGUSR1, SIGUSR2}) std::signal(sig, SIG_IGN);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
}

// Other children's channels and the control socket must not stay open here, or the master
// would never see them close.
void closeInheritedFds(const std::set<int>& keep) {
  std::vector<int> fds;
  if (DIR* dir = ::opendir("/proc/self/fd")) {
    int dir_fd = ::dirfd(dir);
    while (dirent* e = ::readdir(dir)) {
      char* end = nullptr;
      long fd = std::strtol(e->d_name, &end, 10);
      if (*end != '\0' || e->d_name[0] == '.') continue;
      if (fd != dir_fd && !keep.count(static_cast<int>(fd))) fds.push_back(static_cast<int>(fd));
    }
    ::closedir(dir);
  }
  for (int fd : fds) ::close(fd);
}

}  // namespace

void detachChild(pid_t master_pid, const std::set<int>& keep) {
  resetSignals();
  // Children never outlive the master, even when it is killed with SIGKILL.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != master_pid) std::_Exit(1);
  closeInheritedFds(keep);
  reopenLogs();
}

}  // namespace wman::daemon
