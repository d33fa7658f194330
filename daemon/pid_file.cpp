#include "pid_file.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <climits>
#include <ctime>

namespace wman::daemon {
namespace {

std::error_code lastError() {
  return {errno, std::system_category()};
}

// Parses "<digits>\n" (or "<digits>" at end of file) from the start of the file. Stopping at the
// first newline matters: write() overwrites in place before truncating, so a reader may briefly
// see the new pid followed by the tail of a longer old one.
std::optional<pid_t> parsePid(int fd) {
  char buf[32];
  ssize_t n;
  do {
    n = ::pread(fd, buf, sizeof buf, 0);
  } while (n < 0 && errno == EINTR);
  if (n <= 0) return std::nullopt;
  const char* end = buf + n;
  long value = 0;
  auto [ptr, ec] = std::from_chars(buf, end, value);
  if (ec != std::errc() || ptr == buf) return std::nullopt;
  if (ptr != end && *ptr != '\n') return std::nullopt;
  if (value <= 0 || value > INT_MAX) return std::nullopt;
  return static_cast<pid_t>(value);
}

bool sameInode(const struct stat& a, const struct stat& b) {
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

// True when `fd` still is the file at `path`; false once someone unlinked or replaced it.
bool isLinkedAt(int fd, const std::string& path) {
  struct stat by_fd {};
  struct stat by_path {};
  if (::fstat(fd, &by_fd) != 0 || ::lstat(path.c_str(), &by_path) != 0) return false;
  return sameInode(by_fd, by_path);
}

enum class LockState { Acquired, HeldExclusively, Error };

// Takes LOCK_EX without blocking. readPid() probes with a short-lived LOCK_SH, which would make a
// starting master wrongly report "already running"; a shared lock succeeding here proves no
// exclusive holder exists, so the conflict was such a probe and is retried briefly.
LockState lockExclusive(int fd) {
  constexpr int kProbeRetries = 100;
  for (int attempt = 0;; ++attempt) {
    if (::flock(fd, LOCK_EX | LOCK_NB) == 0) return LockState::Acquired;
    if (errno != EWOULDBLOCK) return LockState::Error;
    if (::flock(fd, LOCK_SH | LOCK_NB) != 0) {
      return errno == EWOULDBLOCK ? LockState::HeldExclusively : LockState::Error;
    }
    ::flock(fd, LOCK_UN);
    if (attempt == kProbeRetries) {
      errno = EWOULDBLOCK;
      return LockState::Error;
    }
    const timespec pause{0, 1'000'000};
    ::nanosleep(&pause, nullptr);
  }
}

}  // namespace

PidFile::AcquireResult PidFile::acquire(const std::string& path) {
  if (path.empty()) return std::make_error_code(std::errc::invalid_argument);
  const auto slash = path.rfind('/');
  if (slash != std::string::npos && slash > 0) {
    if (auto ec = ensureDirectory(path.substr(0, slash), 0755)) return ec;
  }

  // Each retry means the previous owner unlinked the file between our open() and flock(); a
  // handful is plenty, more would mean something is deleting the file in a loop.
  constexpr int kAttempts = 8;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    // O_NOFOLLOW: the file is written as root, so a planted symlink must not redirect it.
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0) return lastError();

    struct stat st {};
    if (::fstat(fd, &st) != 0) {
      const auto ec = lastError();
      ::close(fd);
      return ec;
    }
    if (!S_ISREG(st.st_mode)) {
      ::close(fd);
      return std::make_error_code(std::errc::invalid_argument);
    }

    switch (lockExclusive(fd)) {
      case LockState::Acquired:
        break;
      case LockState::HeldExclusively: {
        const pid_t holder = parsePid(fd).value_or(0);
        ::close(fd);
        return PidFileBusy{holder};
      }
      case LockState::Error: {
        const auto ec = lastError();
        ::close(fd);
        return ec;
      }
    }

    // The old owner unlinks before it unlocks, so we may now hold the lock of an inode that
    // is no longer reachable by name; a lock on it would exclude nobody.
    if (!isLinkedAt(fd, path)) {
      ::close(fd);
      continue;
    }

    PidFile file(path, fd, ::getpid());
    if (auto ec = file.write(file.owner_)) return ec;
    return file;
  }
  return std::make_error_code(std::errc::resource_unavailable_try_again);
}

std::optional<pid_t> PidFile::readPid(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return std::nullopt;
  std::optional<pid_t> pid;
  if (::flock(fd, LOCK_SH | LOCK_NB) != 0) {
    // Only an exclusive holder blocks a shared lock: that is a live master.
    if (errno == EWOULDBLOCK) pid = parsePid(fd);
  }
  // Closing the descriptor drops the probe's shared lock, if it got one.
  ::close(fd);
  return pid;
}

PidFile::PidFile(PidFile&& other) noexcept
    : path_(std::move(other.path_)), fd_(other.fd_), owner_(other.owner_) {
  other.fd_ = -1;
}

PidFile& PidFile::operator=(PidFile&& other) noexcept {
  if (this != &other) {
    reset();
    path_ = std::move(other.path_);
    fd_ = other.fd_;
    owner_ = other.owner_;
    other.fd_ = -1;
  }
  return *this;
}

PidFile::~PidFile() {
  reset();
}

void PidFile::reset() noexcept {
  if (fd_ < 0) return;
  // Unlink first and only then unlock: a starter blocked on this inode then sees it unlinked
  // and retries with a fresh file. The inode check spares a file someone else created after
  // ours was deleted by hand.
  if (owner_ == ::getpid() && isLinkedAt(fd_, path_)) ::unlink(path_.c_str());
  ::close(fd_);
  fd_ = -1;
}

std::error_code PidFile::write(pid_t pid) {
  if (fd_ < 0) return std::make_error_code(std::errc::bad_file_descriptor);
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf - 1, static_cast<long>(pid));
  if (ec != std::errc()) return std::make_error_code(ec);
  *end++ = '\n';
  const size_t len = static_cast<size_t>(end - buf);

  // Overwrite, then truncate: truncating first would expose an empty file to readPid().
  size_t done = 0;
  while (done < len) {
    const ssize_t n = ::pwrite(fd_, buf + done, len - done, static_cast<off_t>(done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return lastError();
    }
    done += static_cast<size_t>(n);
  }
  if (::ftruncate(fd_, static_cast<off_t>(len)) != 0) return lastError();
  return {};
}

std::error_code PidFile::claimForThisProcess() {
  if (fd_ < 0) return std::make_error_code(std::errc::bad_file_descriptor);
  owner_ = ::getpid();
  return write(owner_);
}

void PidFile::detachAfterFork() {
  if (fd_ < 0) return;
  // Only close: the lock belongs to the shared open file description and stays with the owner.
  ::close(fd_);
  fd_ = -1;
}

std::error_code ensureDirectory(const std::string& dir, mode_t mode) {
  if (dir.empty()) return std::make_error_code(std::errc::invalid_argument);
  size_t pos = 0;
  while (pos <= dir.size()) {
    size_t next = dir.find('/', pos);
    if (next == std::string::npos) next = dir.size();
    const std::string partial = dir.substr(0, next);
    pos = next + 1;
    // Skips the root and the empty components of "a//b" or a trailing slash.
    if (partial.empty() || partial.back() == '/') continue;
    if (::mkdir(partial.c_str(), mode) == 0) continue;
    if (errno != EEXIST) return lastError();
    // EEXIST also covers a regular file in the way, which mkdir -p must reject.
    struct stat st {};
    if (::stat(partial.c_str(), &st) != 0) return lastError();
    if (!S_ISDIR(st.st_mode)) return std::make_error_code(std::errc::not_a_directory);
  }
  return {};
}

}  // namespace wman::daemon
