// A blocking TCP client with deadlines, for tests. Every wait is bounded, so a server bug
// fails a test instead of hanging it.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>

namespace wman::test {

using namespace std::chrono_literals;

class TestClient {
 public:
  TestClient() = default;
  explicit TestClient(std::uint16_t port, int rcvbuf = 0) { connect(port, rcvbuf); }
  ~TestClient() { close(); }
  TestClient(TestClient&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  TestClient& operator=(TestClient&& o) noexcept {
    if (this != &o) {
      close();
      fd_ = o.fd_;
      o.fd_ = -1;
    }
    return *this;
  }

  // Connects to 127.0.0.1:port. A non-zero `rcvbuf` shrinks the receive buffer first, so a
  // client that stops reading pushes back on the server quickly.
  void connect(std::uint16_t port, int rcvbuf = 0) {
    close();
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
    if (rcvbuf > 0) ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      throw std::runtime_error(std::string("connect: ") + std::strerror(errno));
    }
  }

  int fd() const { return fd_; }

  void send(std::string_view data) {
    while (!data.empty()) {
      if (!waitFor(POLLOUT, 5s)) throw std::runtime_error("send: timed out");
      ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EINTR || errno == EAGAIN) continue;
        throw std::runtime_error(std::string("send: ") + std::strerror(errno));
      }
      data.remove_prefix(static_cast<std::size_t>(n));
    }
  }

  // Reads exactly `n` bytes; throws on timeout or EOF.
  std::string recvExactly(std::size_t n, std::chrono::milliseconds timeout = 5s) {
    std::string out;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (out.size() < n) {
      std::string chunk = recvSome(n - out.size(), remaining(deadline));
      if (chunk.empty()) {
        throw std::runtime_error("recvExactly: got " + std::to_string(out.size()) + " of " +
                                 std::to_string(n) + " bytes before EOF or timeout");
      }
      out += chunk;
    }
    return out;
  }

  // Reads up to a "\n" (included); throws on timeout or EOF.
  std::string recvLine(std::chrono::milliseconds timeout = 5s) {
    std::string out;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (out.empty() || out.back() != '\n') {
      std::string c = recvSome(1, remaining(deadline));
      if (c.empty()) throw std::runtime_error("recvLine: EOF or timeout after '" + out + "'");
      out += c;
    }
    return out;
  }

  // Up to `max` bytes; empty on EOF, error or timeout.
  std::string recvSome(std::size_t max, std::chrono::milliseconds timeout = 5s) {
    if (!waitFor(POLLIN, timeout)) return {};
    // One read takes what the socket holds: a buffer of `max` bytes per call would make
    // reading a large message in small pieces cost its square.
    std::string buf(std::min<std::size_t>(max, 256 * 1024), '\0');
    ssize_t n = ::recv(fd_, buf.data(), buf.size(), 0);
    if (n <= 0) return {};
    buf.resize(static_cast<std::size_t>(n));
    return buf;
  }

  // Reads and discards until the server closes; returns the bytes read, or throws if the
  // connection is still open at the deadline.
  std::string readUntilClosed(std::chrono::milliseconds timeout = 5s) {
    std::string out;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      if (!waitFor(POLLIN, remaining(deadline))) {
        throw std::runtime_error("readUntilClosed: still open after " + std::to_string(out.size()) +
                                 " bytes");
      }
      char buf[65536];
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n == 0) return out;
      if (n < 0) {
        if (errno == EINTR || errno == EAGAIN) continue;
        return out;  // ECONNRESET also means closed
      }
      out.append(buf, static_cast<std::size_t>(n));
    }
  }

  // True once the peer closed (EOF/reset) within `timeout`; data that arrives is discarded.
  bool closedWithin(std::chrono::milliseconds timeout) {
    try {
      readUntilClosed(timeout);
      return true;
    } catch (const std::runtime_error&) {
      return false;
    }
  }

  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  static std::chrono::milliseconds remaining(std::chrono::steady_clock::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    return left.count() > 0 ? left : 0ms;
  }

  bool waitFor(short events, std::chrono::milliseconds timeout) {
    pollfd p{fd_, events, 0};
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      int rc = ::poll(&p, 1, static_cast<int>(remaining(deadline).count()));
      if (rc > 0) return true;
      if (rc == 0) return false;
      if (errno != EINTR) return false;
    }
  }

  int fd_ = -1;
};

// "frame" protocol encoding, for building test input.
inline std::string frameOf(std::string_view body) {
  std::uint32_t len = static_cast<std::uint32_t>(body.size() + 4);
  std::string out(4, '\0');
  out[0] = static_cast<char>(len >> 24);
  out[1] = static_cast<char>(len >> 16);
  out[2] = static_cast<char>(len >> 8);
  out[3] = static_cast<char>(len);
  out.append(body);
  return out;
}

}  // namespace wman::test
