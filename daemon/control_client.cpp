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

using Clock = std::chrono::steady_clock;

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

// Reads the next line from `fd` into `line` (bytes past it stay in `buffer`), waiting up to
// `wait`. Returns false with `error` set on timeout, EOF or a read error; `eof_error`
// replaces the EOF message when there is a better one.
bool readLine(int fd, std::string& buffer, std::chrono::milliseconds wait, std::string& line,
              const std::string& eof_error, std::string* error) {
  const auto deadline = Clock::now() + wait;
  std::size_t scanned = 0;  // bytes of `buffer` known to hold no newline
  for (;;) {
    if (auto nl = buffer.find('\n', scanned); nl != std::string::npos) {
      line = buffer.substr(0, nl);
      buffer.erase(0, nl + 1);
      return true;
    }
    scanned = buffer.size();
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
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
      if (error)
        *error =
            eof_error.empty() ? "the master closed the connection without answering" : eof_error;
      return false;
    }
    buffer.append(buf, static_cast<std::size_t>(n));
  }
}

enum class Outcome { Done, Failed, Busy };

// One connection's conversation; Busy when the master refused it at its connection cap.
Outcome converseOnce(const std::string& socket_path, const std::string& request,
                     std::chrono::milliseconds first_wait, const LineHandler& on_line,
                     std::string* error) {
  int fd = connectTo(socket_path, error);
  if (fd < 0) return Outcome::Failed;
  // A master at its cap may have refused and closed before the request went out; its
  // refusal line is still there to read, so a failed send is reported only without one.
  std::string send_error;
  if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(request.size())) {
    send_error = std::string("send: ") + std::strerror(errno);
  }
  std::string buffer, text;
  std::chrono::milliseconds wait = first_wait;
  Outcome outcome = Outcome::Failed;
  for (bool first = true; readLine(fd, buffer, wait, text, send_error, error); first = false) {
    std::string perr;
    auto doc = parseJson(text, &perr);
    if (!doc) {
      if (error) *error = "unreadable answer from the master: " + perr;
      break;
    }
    if (first && asBool(member(*doc, "busy"))) {
      if (error) *error = asString(member(*doc, "error"));
      outcome = Outcome::Busy;
      break;
    }
    auto next = on_line(std::move(*doc));
    if (!next) {
      outcome = Outcome::Done;
      break;
    }
    wait = *next;
  }
  ::close(fd);
  return outcome;
}

}  // namespace

bool controlConversation(const std::string& socket_path, const Json& request,
                         std::chrono::milliseconds first_wait, const LineHandler& on_line,
                         std::string* error) {
  const std::string line = dumpJson(request) + "\n";
  const auto deadline = Clock::now() + first_wait;
  auto pause = std::chrono::milliseconds(20);
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    Outcome o = converseOnce(socket_path, line, std::max(left, std::chrono::milliseconds(1)),
                             on_line, error);
    if (o != Outcome::Busy) return o == Outcome::Done;
    // Every slot is taken: they free up as answers complete or idle connections time out,
    // neither of which this process can be told about, so it retries with back-off.
    if (Clock::now() + pause >= deadline) return false;
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(500));
  }
}

std::optional<Json> controlRequest(const std::string& socket_path, const Json& request,
                                   std::chrono::milliseconds timeout, std::string* error) {
  std::optional<Json> answer;
  auto first = [&answer](Json line) -> std::optional<std::chrono::milliseconds> {
    answer = std::move(line);
    return std::nullopt;
  };
  if (!controlConversation(socket_path, request, timeout, first, error)) return std::nullopt;
  return answer;
}

}  // namespace wman::daemon
