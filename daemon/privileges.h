// Process credentials and limits the master applies from config: `user`/`group` and
// `max_open_files`. Plain POSIX calls; the caller logs the reason on failure.
#pragma once

#include <cstdint>
#include <string>
#include <system_error>

namespace wman::daemon {

// As root, switches for good to `user` and `group` (empty = the user's primary group) with
// initgroups(), setgid(), setuid() in that order, then verifies setuid(0) fails. Both names empty:
// no-op; a group without a user: EINVAL; without root: EPERM unless already that user and group;
// unknown names: EINVAL. On failure `reason` (if non-null) gets one plain sentence.
std::error_code dropPrivileges(const std::string& user, const std::string& group,
                               std::string* reason);

// Gives `path` to `user` (and `group`, or the user's primary group), so processes that
// dropped to that account can use it. No-op without a user.
std::error_code chownToAccount(const std::string& path, const std::string& user,
                               const std::string& group);

// Sets RLIMIT_NOFILE to soft = hard = `n`; 0 leaves the limits alone. Raising the hard limit
// needs root (and n <= fs.nr_open), so without root an `n` above the current hard limit fails
// with EPERM and `reason` names that hard limit. Lowering the hard limit cannot be undone.
std::error_code setOpenFileLimit(std::uint64_t n, std::string* reason);

}  // namespace wman::daemon
