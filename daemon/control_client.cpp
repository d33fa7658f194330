#include "control_client.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace wman::daemon {

std::optional<Json> controlRequest(const std::string& socket_path, const Json& request,
                                   std::chrono::milliseconds timeout, std::string* error) {
  auto fail = [&](std::string why) -> std::optional<Json> {
    if (error) *error = std::move(why);
    return std::nullopt;
  };
  sockaddr_un addr{};
  if (socket_path.size() >= sizeof addr.sun_path) return fail("control socket path too long");
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail(std::string("socket: ") + std::strerror(errno));
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, socket_path.c_str(), socket_path.size());
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    int err = errno;
    ::close(fd);
    if (err == ENOENT || err == ECONNREFUSED) {
      return fail("wman is not running (no master at " + socket_path + ")");
    }
    return fail("cannot reach " + socket_path + ": " + std::strerror(err));
  }
  std::string line = request.dump() + "\n";
  if (::send(fd, line.data(), line.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(line.size())) {
    ::close(fd);
    return fail(std::string("send: ") + std::strerror(errno));
  }
  std::string answer;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      ::close(fd);
      return fail("no answer from the master within " + std::to_string(timeout.count()) + " ms");
    }
    pollfd p{fd, POLLIN, 0};
    int rc = ::poll(&p, 1, static_cast<int>(left.count()));
    if (rc < 0 && errno == EINTR) continue;
    if (rc <= 0) continue;
    char buf[65536];
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ::close(fd);
      return fail("the master closed the connection without answering");
    }
    answer.append(buf, static_cast<std::size_t>(n));
    auto nl = answer.find('\n');
    if (nl != std::string::npos) {
      ::close(fd);
      std::string perr;
      auto doc = parseJson(std::string_view(answer).substr(0, nl), &perr);
      if (!doc) return fail("unreadable answer from the master: " + perr);
      return doc;
    }
  }
}

}  // namespace wman::daemon
