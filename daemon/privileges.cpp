#include "privileges.h"

#include <grp.h>
#include <pwd.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <vector>

namespace wman::daemon {
namespace {

void setReason(std::string* reason, std::string text) {
  if (reason) *reason = std::move(text);
}

std::string errnoText(int err) {
  return std::strerror(err);
}

std::error_code fail(std::string* reason, int err, std::string text) {
  setReason(reason, std::move(text));
  return {err, std::system_category()};
}

// The *_r lookups want a caller-sized buffer; sysconf() gives only a hint (or -1), so grow on
// ERANGE. Returns 0 (with `found` false for "no such entry") or an errno value.
template <typename Entry, typename Lookup>
int lookupEntry(Lookup lookup, const std::string& name, Entry& entry, bool& found,
                std::vector<char>& buf, int sysconf_name) {
  const long hint = ::sysconf(sysconf_name);
  buf.resize(hint > 0 ? static_cast<size_t>(hint) : 1024);
  // Bound the growth: an entry larger than 1 MiB means something is wrong with NSS.
  while (buf.size() <= (1u << 20)) {
    Entry* result = nullptr;
    const int rc = lookup(name.c_str(), &entry, buf.data(), buf.size(), &result);
    if (rc == ERANGE) {
      buf.resize(buf.size() * 2);
      continue;
    }
    found = result != nullptr;
    // glibc reports "not found" as 0 with a null result; some NSS modules use ENOENT & co.
    if (rc == ENOENT || rc == ESRCH || rc == EBADF || rc == EPERM) return 0;
    return rc;
  }
  return ERANGE;
}

}  // namespace

std::error_code dropPrivileges(const std::string& user, const std::string& group,
                               std::string* reason) {
  if (user.empty() && group.empty()) return {};
  if (user.empty()) {
    return fail(
        reason, EINVAL,
        "group '" + group + "' is set but user is not; set user as well to drop privileges");
  }

  passwd pw{};
  bool found = false;
  std::vector<char> pw_buf;
  if (const int rc = lookupEntry(::getpwnam_r, user, pw, found, pw_buf, _SC_GETPW_R_SIZE_MAX)) {
    return fail(reason, rc, "looking up user '" + user + "' failed: " + errnoText(rc));
  }
  if (!found) return fail(reason, EINVAL, "unknown user '" + user + "'");
  const uid_t uid = pw.pw_uid;
  gid_t gid = pw.pw_gid;
  const std::string group_name =
      group.empty() ? "the primary group of '" + user + "'" : "'" + group + "'";

  if (!group.empty()) {
    struct group gr {};
    std::vector<char> gr_buf;
    if (const int rc = lookupEntry(::getgrnam_r, group, gr, found, gr_buf, _SC_GETGR_R_SIZE_MAX)) {
      return fail(reason, rc, "looking up group '" + group + "' failed: " + errnoText(rc));
    }
    if (!found) return fail(reason, EINVAL, "unknown group '" + group + "'");
    gid = gr.gr_gid;
  }

  if (::geteuid() != 0) {
    // Without root nothing can be switched; already being that user is fine (e.g. a unit file
    // with User= and the same name in wman.toml).
    if (::getuid() == uid && ::geteuid() == uid && ::getgid() == gid && ::getegid() == gid) {
      return {};
    }
    return fail(reason, EPERM,
                "cannot switch to user '" + user + "' and group " + group_name +
                    ": wman runs as uid " + std::to_string(::geteuid()) +
                    ", and only root can change its user or group");
  }

  // Supplementary groups first: setgroups()/initgroups() need root, which setuid() gives up.
  if (::initgroups(user.c_str(), gid) != 0) {
    const int err = errno;
    return fail(reason, err, "initgroups for user '" + user + "' failed: " + errnoText(err));
  }
  if (::setgid(gid) != 0) {
    const int err = errno;
    return fail(reason, err,
                "setgid(" + std::to_string(gid) + ") for group " + group_name +
                    " failed: " + errnoText(err));
  }
  if (::setuid(uid) != 0) {
    const int err = errno;
    return fail(
        reason, err,
        "setuid(" + std::to_string(uid) + ") for user '" + user + "' failed: " + errnoText(err));
  }

  // A drop that could be undone is no drop (e.g. a saved set-user-ID left at 0).
  if (uid != 0 && (::setuid(0) == 0 || ::seteuid(0) == 0)) {
    return fail(reason, EPERM,
                "privileges of user '" + user + "' could be raised back to root after the drop");
  }
  if (gid != 0 && uid != 0 && (::setgid(0) == 0 || ::setegid(0) == 0)) {
    return fail(reason, EPERM,
                "group " + group_name + " could be switched back to gid 0 after the drop");
  }
  return {};
}

std::error_code setOpenFileLimit(std::uint64_t n, std::string* reason) {
  if (n == 0) return {};
  rlimit current{};
  if (::getrlimit(RLIMIT_NOFILE, &current) != 0) {
    const int err = errno;
    return fail(reason, err, "getrlimit(RLIMIT_NOFILE) failed: " + errnoText(err));
  }
  const std::string hard =
      current.rlim_max == RLIM_INFINITY ? "unlimited" : std::to_string(current.rlim_max);
  if (current.rlim_max != RLIM_INFINITY && n > current.rlim_max && ::geteuid() != 0) {
    return fail(reason, EPERM,
                "max_open_files " + std::to_string(n) + " exceeds the hard limit " + hard +
                    "; only root can raise it");
  }

  const rlimit wanted{static_cast<rlim_t>(n), static_cast<rlim_t>(n)};
  if (::setrlimit(RLIMIT_NOFILE, &wanted) != 0) {
    const int err = errno;
    std::string text = "setrlimit(RLIMIT_NOFILE, " + std::to_string(n) +
                       ") failed: " + errnoText(err) + " (hard limit " + hard;
    // Root's ceiling is the kernel's fs.nr_open, the usual cause of EPERM here.
    std::ifstream nr_open("/proc/sys/fs/nr_open");
    std::uint64_t kernel_max = 0;
    if (err == EPERM && nr_open >> kernel_max) {
      text += ", kernel maximum fs.nr_open " + std::to_string(kernel_max);
    }
    return fail(reason, err, text + ")");
  }
  return {};
}

}  // namespace wman::daemon

namespace wman::daemon {

std::error_code chownToAccount(const std::string& path, const std::string& user,
                               const std::string& group) {
  if (user.empty()) return {};
  passwd pw{};
  bool found = false;
  std::vector<char> buf;
  if (const int rc = lookupEntry(::getpwnam_r, user, pw, found, buf, _SC_GETPW_R_SIZE_MAX)) {
    return {rc, std::system_category()};
  }
  if (!found) return std::make_error_code(std::errc::invalid_argument);
  gid_t gid = pw.pw_gid;
  const uid_t uid = pw.pw_uid;
  if (!group.empty()) {
    struct group gr {};
    std::vector<char> gr_buf;
    if (const int rc = lookupEntry(::getgrnam_r, group, gr, found, gr_buf, _SC_GETGR_R_SIZE_MAX)) {
      return {rc, std::system_category()};
    }
    if (!found) return std::make_error_code(std::errc::invalid_argument);
    gid = gr.gr_gid;
  }
  if (::chown(path.c_str(), uid, gid) != 0) return {errno, std::system_category()};
  return {};
}

}  // namespace wman::daemon
