#include "control_client.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace wman::daemon {
namespace {

// Connects to the master's control socket and sends `request` as one line. Returns the
// connected fd, or -1 with `error` set.
int connectAndSend(const std::string& socket_path, const Json& request, std::string* error) {
  auto fail = [&](std::string why) {
    if (error) *error = std::move(why);
    return -1;
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
    const int err = errno;
    ::close(fd);
    return fail(std::string("send: ") + std::strerror(err));
  }
  return fd;
}

// Reads the next line from `fd` into `line` (bytes past it stay in `buffer`), waiting up to
// `wait`. Returns false with `error` set on timeout, EOF or a read error.
bool readLine(int fd, std::string& buffer, std::chrono::milliseconds wait, std::string& line,
              std::string* error) {
  const auto deadline = std::chrono::steady_clock::now() + wait;
  for (;;) {
    if (auto nl = buffer.find('\n'); nl != std::string::npos) {
      line = buffer.substr(0, nl);
      buffer.erase(0, nl + 1);
      return true;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      if (error)
        *error = "no answer from the master within " + std::to_string(wait.count()) + " ms";
      return false;
    }
    pollfd p{fd, POLLIN, 0};
    int rc = ::poll(&p, 1, static_cast<int>(left.count()));
    if (rc <= 0) continue;  // EINTR or the deadline: the loop decides
    char buf[65536];
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (error) *error = "the master closed the connection without answering";
      return false;
    }
    buffer.append(buf, static_cast<std::size_t>(n));
  }
}

}  // namespace

std::optional<Json> controlRequest(const std::string& socket_path, const Json& request,
                                   std::chrono::milliseconds timeout, std::string* error) {
  return controlConversation(
      socket_path, request, timeout,
      [](const Json&) -> std::optional<std::chrono::milliseconds> { return std::nullopt; }, error);
}

std::optional<Json> controlConversation(const std::string& socket_path, const Json& request,
                                        std::chrono::milliseconds first_wait,
                                        const ProgressHandler& on_progress, std::string* error) {
  int fd = connectAndSend(socket_path, request, error);
  if (fd < 0) return std::nullopt;
  std::string buffer, line;
  std::chrono::milliseconds wait = first_wait;
  for (;;) {
    if (!readLine(fd, buffer, wait, line, error)) break;
    std::string perr;
    auto doc = parseJson(line, &perr);
    if (!doc) {
      if (error) *error = "unreadable answer from the master: " + perr;
      break;
    }
    auto next = on_progress(*doc);
    if (!next) {
      ::close(fd);
      return doc;
    }
    wait = *next;
  }
  ::close(fd);
  return std::nullopt;
}

}  // namespace wman::daemon
