#include "control_client.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <thread>

namespace wman::daemon {
namespace {

// A connected socket to `socket_path`, or -1 with `error` set.
int connectTo(const std::string& socket_path, std::string* error) {
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
  return fd;
}

}  // namespace

namespace {

enum class Outcome { Done, Failed, Busy };

// One connection's exchange; Busy when the master refused it at its connection cap.
Outcome exchangeOnce(const std::string& socket_path, const std::string& line,
                     std::chrono::steady_clock::time_point deadline,
                     std::chrono::milliseconds timeout,
                     const std::function<bool(Json line)>& on_line, std::string* error) {
  int fd = connectTo(socket_path, error);
  if (fd < 0) return Outcome::Failed;
  auto fail = [&](std::string why) {
    ::close(fd);
    if (error) *error = std::move(why);
    return Outcome::Failed;
  };
  // A master at its cap may have refused and closed before the request went out; its
  // refusal line is still there to read, so a failed send is reported only without one.
  std::string send_error;
  if (::send(fd, line.data(), line.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(line.size())) {
    send_error = std::string("send: ") + std::strerror(errno);
  }
  std::string answer;
  std::size_t scanned = 0;  // bytes of `answer` known to hold no newline
  bool first = true;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
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
      return fail(send_error.empty() ? "the master closed the connection without answering"
                                     : send_error);
    }
    answer.append(buf, static_cast<std::size_t>(n));
    std::size_t start = 0;
    for (std::size_t nl; (nl = answer.find('\n', scanned)) != std::string::npos;) {
      std::string perr;
      auto doc = parseJson(std::string_view(answer).substr(start, nl - start), &perr);
      if (!doc) return fail("unreadable answer from the master: " + perr);
      start = scanned = nl + 1;
      if (first && (*doc)["busy"].asBool()) {
        ::close(fd);
        if (error) *error = (*doc)["error"].asString();
        return Outcome::Busy;
      }
      first = false;
      if (on_line(std::move(*doc))) {
        ::close(fd);
        return Outcome::Done;
      }
    }
    answer.erase(0, start);
    scanned = answer.size();
  }
}

}  // namespace

bool controlExchange(const std::string& socket_path, const Json& request,
                     std::chrono::milliseconds timeout,
                     const std::function<bool(Json line)>& on_line, std::string* error) {
  const std::string line = request.dump() + "\n";
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto pause = std::chrono::milliseconds(20);
  for (;;) {
    Outcome o = exchangeOnce(socket_path, line, deadline, timeout, on_line, error);
    if (o != Outcome::Busy) return o == Outcome::Done;
    // Every slot is taken: they free up as answers complete or idle connections time out,
    // neither of which this process can be told about, so it retries with back-off.
    if (std::chrono::steady_clock::now() + pause >= deadline) return false;
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(500));
  }
}

std::optional<Json> controlRequest(const std::string& socket_path, const Json& request,
                                   std::chrono::milliseconds timeout, std::string* error) {
  std::optional<Json> answer;
  auto first = [&answer](Json line) {
    answer = std::move(line);
    return true;
  };
  if (!controlExchange(socket_path, request, timeout, first, error)) return std::nullopt;
  return answer;
}

}  // namespace wman::daemon
