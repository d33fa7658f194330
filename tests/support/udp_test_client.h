// A UDP client for tests: one socket on the loopback address (IPv4 or IPv6), sending to a
// server port and receiving with a deadline, so a lost datagram fails a test instead of
// hanging it.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>

namespace wman::test {

class UdpClient {
 public:
  // A socket bound to the loopback address of `family` (AF_INET or AF_INET6), port chosen by
  // the kernel, sending to that address's `port`.
  explicit UdpClient(std::uint16_t port, int family = AF_INET) : family_(family) {
    fd_ = ::socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
    if (family == AF_INET6) {
      auto* a = reinterpret_cast<sockaddr_in6*>(&server_);
      a->sin6_family = AF_INET6;
      a->sin6_addr = in6addr_loopback;
      a->sin6_port = htons(port);
      len_ = sizeof *a;
    } else {
      auto* a = reinterpret_cast<sockaddr_in*>(&server_);
      a->sin_family = AF_INET;
      a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      a->sin_port = htons(port);
      len_ = sizeof *a;
    }
    sockaddr_storage local = server_;
    reinterpret_cast<sockaddr_in*>(&local)->sin_port = 0;  // same offset for both families
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&local), len_) != 0)
      throw std::runtime_error(std::string("bind: ") + std::strerror(errno));
  }
  ~UdpClient() { ::close(fd_); }
  UdpClient(const UdpClient&) = delete;
  UdpClient& operator=(const UdpClient&) = delete;

  int fd() const { return fd_; }

  void send(std::string_view data) {
    if (::sendto(fd_, data.data(), data.size(), 0, reinterpret_cast<sockaddr*>(&server_), len_) < 0)
      throw std::runtime_error(std::string("sendto: ") + std::strerror(errno));
  }

  // The next datagram, or nullopt when none arrives within `timeout`.
  std::optional<std::string> recv(std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) != 1) return std::nullopt;
    std::string buf(65536, '\0');
    const ssize_t n = ::recv(fd_, buf.data(), buf.size(), 0);
    if (n < 0) return std::nullopt;
    buf.resize(static_cast<std::size_t>(n));
    return buf;
  }

  // This socket's address as the server sees it: "127.0.0.1:port" or "[::1]:port".
  std::string address() const {
    sockaddr_storage a{};
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    char ip[INET6_ADDRSTRLEN] = {};
    if (family_ == AF_INET6) {
      const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&a);
      ::inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof ip);
      return "[" + std::string(ip) + "]:" + std::to_string(ntohs(in6->sin6_port));
    }
    const auto* in = reinterpret_cast<const sockaddr_in*>(&a);
    ::inet_ntop(AF_INET, &in->sin_addr, ip, sizeof ip);
    return std::string(ip) + ":" + std::to_string(ntohs(in->sin_port));
  }

 private:
  int fd_ = -1;
  int family_;
  sockaddr_storage server_{};
  socklen_t len_ = 0;
};

// Packets every CPU's backlog queue dropped (/proc/net/softnet_stat, second column): loopback
// traffic lost before any socket saw it, which no socket counter includes.
inline std::uint64_t softnetDrops() {
  std::ifstream in("/proc/net/softnet_stat");
  std::uint64_t total = 0;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string processed, dropped;
    if (fields >> processed >> dropped) total += std::stoull(dropped, nullptr, 16);
  }
  return total;
}

}  // namespace wman::test
