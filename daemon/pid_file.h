// The master's pid file: an flock()ed file whose lock, not its mere existence, says "running".
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <variant>

namespace wman::daemon {

// Another live process holds the pid file's lock. `pid` is what the file says, 0 when it is
// empty or unparsable (the holder may be between creating the file and writing it).
struct PidFileBusy {
  pid_t pid = 0;
};

// An acquired pid file: open, exclusively flock()ed, containing "<pid>\n". Move-only. Only the
// process that acquired (or claimed) it unlinks the file on destruction; a forked child that
// destroys its copy just closes its descriptor, which leaves the lock with the owner.
class PidFile {
 public:
  using AcquireResult = std::variant<PidFile, PidFileBusy, std::error_code>;

  // Creates the parent directory if needed (mode 0755), opens or creates `path` (mode 0644,
  // O_CLOEXEC, no symlink following) and takes flock(LOCK_EX | LOCK_NB). On success the file is
  // rewritten with getpid(), so a stale file left by a killed process is taken over. Returns
  // PidFileBusy when another open file description holds the lock, an error_code otherwise.
  static AcquireResult acquire(const std::string& path);

  // The pid of the process holding the lock on `path`, or nullopt when the file is missing,
  // not locked (stale: the writer is gone) or unparsable. Does not modify the file.
  static std::optional<pid_t> readPid(const std::string& path);

  PidFile(PidFile&& other) noexcept;
  PidFile& operator=(PidFile&& other) noexcept;
  PidFile(const PidFile&) = delete;
  PidFile& operator=(const PidFile&) = delete;

  // In the owning process: unlinks the file, then releases the lock. Elsewhere: closes only.
  ~PidFile();

  // Replaces the file's contents with "<pid>\n" (EBADF once detached). The content is never
  // empty while this runs, so a concurrent readPid() sees the old or the new pid.
  std::error_code write(pid_t pid);

  // Makes the calling process the owner (the one whose destructor unlinks) and writes its pid.
  // The daemonized master calls this once after daemonize(), whose forks changed the pid;
  // workers must never call it.
  std::error_code claimForThisProcess();

  // Closes this copy's descriptor without unlinking, for a forked worker that must not keep
  // the lock alive after the master dies. Idempotent; the object is inert afterwards.
  void detachAfterFork();

  // The path given to acquire().
  const std::string& path() const { return path_; }

  // The pid of the process that will unlink the file on destruction.
  pid_t owner() const { return owner_; }

 private:
  PidFile(std::string path, int fd, pid_t owner) : path_(std::move(path)), fd_(fd), owner_(owner) {}
  void reset() noexcept;

  std::string path_;
  int fd_ = -1;
  pid_t owner_ = 0;
};

// mkdir -p: creates `dir` and every missing parent with `mode` (the umask applies). Succeeds when
// the directory already exists; fails with ENOTDIR when a path component is not a directory.
std::error_code ensureDirectory(const std::string& dir, mode_t mode);

}  // namespace wman::daemon
